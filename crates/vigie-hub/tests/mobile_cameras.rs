//! Mobile cameras (issue 9): a drone over the Loire publishes its position over HTTP and
//! MQTT; its detections take the telemetry position at their time (interpolated), and so
//! do the incidents they open; a bad fix is refused with its reason and counted; the
//! sensors API, the track and the live stream show where it is.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use common::*;
use serde_json::{Value, json};
use vigie_hub::{Hub, MqttMode};
use vigie_model::config::Config;
use vigie_model::{DetectionId, SensorId};

const DRONE: &str = "drone-loire-01";
const DEVICE_TOKEN: &str = "vgt_drone-loire-01-device-token-for-tests";

fn config() -> Arc<Config> {
    let drone = r#"
[[sensors]]
id = "drone-loire-01"
type = "camera"
name = "Drone Loire"
lon = -1.5530
lat = 47.2100
analytics = ["video.fire", "video.crowd_density"]
heading_deg = 90
fov_deg = 80
range_m = 150
mobile = true
"#;
    let text = format!("{CONFIG_TOML}{drone}");
    Arc::new(Config::from_toml(&text, Path::new("mobile.toml"), None).expect("the test config is valid"))
}

async fn start(clock: &ManualClock) -> (Hub, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mqtt = MqttMode::Embedded("127.0.0.1:0".parse().expect("valid address"));
    let hub = start_hub_with(&dir.path().join("vigie.db"), mqtt, clock.clock(), config()).await;
    hub.auth
        .create_token_with_secret(
            "drone",
            None,
            vigie_hub::store::SensorScope::Only(vec![DRONE.into()]),
            "tests",
            DEVICE_TOKEN,
        )
        .expect("the drone's token is created");
    (hub, dir)
}

fn fix(t: DateTime<chrono::Utc>, lon: f64, lat: f64, heading: f64) -> String {
    json!({ "time": rfc3339(t), "lon": lon, "lat": lat, "heading_deg": heading, "accuracy_m": 4.0 }).to_string()
}

async fn post_fixes(addr: std::net::SocketAddr, sensor: &str, token: &str, lines: &[String]) -> Response {
    let body = lines.join("\n") + "\n";
    let auth = format!("Bearer {token}");
    let headers = [("Content-Type", "application/x-ndjson"), ("Authorization", auth.as_str())];
    request(addr, "POST", &format!("/api/v1/sensors/{sensor}/telemetry"), &headers, body.as_bytes()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drone_detection_takes_the_telemetry_position_at_its_time() {
    let clock = ManualClock::at(t0());
    let (hub, _dir) = start(&clock).await;
    let addr = hub.http_addr;
    let mut stream = SseClient::connect(addr, "/api/v1/stream").await;
    let t = |secs: i64| t0() + chrono::Duration::seconds(secs);

    // Over HTTP: two fixes 10 s apart along the Loire, then one 4 km away a second later.
    let lines =
        [fix(t(-20), -1.5560, 47.2090, 80.0), fix(t(-10), -1.5540, 47.2094, 100.0), fix(t(-9), -1.50, 47.21, 90.0)];
    let r = post_fixes(addr, DRONE, DEVICE_TOKEN, &lines).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!((body["accepted"].as_u64(), body["refused"].as_u64()), (Some(2), Some(1)), "{body}");
    assert_eq!(body["results"][2]["reason"], "implausible_jump", "{body}");
    // Redelivered: acknowledged again, stored once.
    let again = post_fixes(addr, DRONE, DEVICE_TOKEN, &lines[..1]).await.json();
    assert_eq!(again["results"][0]["status"], "duplicate", "{again}");

    // Only mobile sensors have telemetry, and only with a token that covers them.
    let fixed = post_fixes(addr, "cam-fire-01", TEST_TOKEN, &[fix(t(-5), -1.5536, 47.2150, 0.0)]).await.json();
    assert_eq!(fixed["results"][0]["reason"], "not_mobile", "{fixed}");
    let foreign = post_fixes(addr, "cam-fire-01", DEVICE_TOKEN, &[fix(t(-5), -1.5536, 47.2150, 0.0)]).await.json();
    assert_eq!(foreign["results"][0]["reason"], "sensor_not_in_token", "{foreign}");

    let ev = stream.wait_for(Duration::from_secs(5), |e| e.event == "sensor_position").await;
    let data: Value = serde_json::from_str(&ev.data).expect("JSON data");
    assert_eq!((data["type"].as_str(), data["sensor"].as_str()), (Some("sensor_position"), Some(DRONE)), "{data}");

    // Over MQTT: a fix 5 s ago, acknowledged once stored.
    let mqtt = hub.mqtt_addr.expect("the embedded broker listens");
    let mut device = MqttClient::connect(mqtt, DRONE, None).await;
    device.publish_acked(&format!("vigie/v1/telemetry/{DRONE}"), fix(t(-5), -1.5530, 47.2096, 110.0), false).await;
    // A jump over MQTT: acknowledged (MQTT 3.1.1 has no reason codes), not stored, counted.
    device.publish_acked(&format!("vigie/v1/telemetry/{DRONE}"), fix(t(-4), -1.40, 47.21, 110.0), false).await;
    // A fixed camera has no telemetry: refused as not mobile, counted.
    device.publish_acked("vigie/v1/telemetry/cam-fire-01", fix(t(-4), -1.5536, 47.2150, 0.0), false).await;
    let stored = hub.store.registry().positions(DRONE, t(-60), t(0), 100).expect("read the fixes");
    assert_eq!(stored.iter().map(|f| f.time).collect::<Vec<_>>(), vec![t(-20), t(-10), t(-5)], "{stored:?}");

    // A fire seen 15 s ago, midway between the first two fixes; the producer put it at the
    // drone's home.
    let fire = detection(&new_id(), DRONE, "video.fire", t(-15), 0.9);
    let r = post_ndjson(addr, &[fire.to_string()]).await.json();
    assert_eq!(r["accepted"], 1, "{r}");
    let id = DetectionId::parse(fire["id"].as_str().expect("id")).expect("ULID");
    let d = hub.store.detection(id).expect("read").expect("stored");
    let loc = d.detection.location;
    assert!((loc.lon - -1.5550).abs() < 1e-9 && (loc.lat - 47.2092).abs() < 1e-9, "interpolated: {loc:?}");
    // The fixes' 4 m plus the producer's own 12 m.
    assert_eq!(loc.uncertainty_m, Some(16.0));
    let attrs: Value = serde_json::from_str(d.detection.attributes.get()).expect("attributes");
    assert_eq!(attrs["position_source"], "telemetry", "{attrs}");
    assert_eq!(attrs["position_method"], "interpolated", "{attrs}");
    assert_eq!(attrs["zone"], "bouffay", "the producer's attributes stay");
    let incident = hub.store.incident(d.incident.expect("the fire opened an incident")).expect("read").expect("stored");
    assert!(
        (incident.incident.lon - loc.lon).abs() < 1e-9 && (incident.incident.lat - loc.lat).abs() < 1e-9,
        "the incident is where the drone was: {:?}",
        incident.incident
    );

    // Long before any fix: the producer's location stays, and says so.
    let mut early = detection(&new_id(), DRONE, "video.crowd_density", t(-100), 0.7);
    early["location"] = json!({ "lon": -1.60, "lat": 47.20 });
    post_ndjson(addr, &[early.to_string()]).await;
    let id = DetectionId::parse(early["id"].as_str().expect("id")).expect("ULID");
    let d = hub.store.detection(id).expect("read").expect("stored");
    assert_eq!((d.detection.location.lon, d.detection.location.lat), (-1.60, 47.20));
    let attrs: Value = serde_json::from_str(d.detection.attributes.get()).expect("attributes");
    assert_eq!(attrs["position_source"], "producer", "{attrs}");

    let metrics = get(addr, "/metrics").await.text();
    let jumps = "vigie_ingest_telemetry_refused_total{transport=\"http\",reason=\"implausible_jump\"}";
    assert_eq!(metric(&metrics, jumps), Some(1), "{jumps}");
    assert_eq!(
        metric(&metrics, "vigie_ingest_telemetry_refused_total{transport=\"http\",reason=\"not_mobile\"}"),
        Some(1)
    );
    let mqtt_jumps = "vigie_ingest_telemetry_refused_total{transport=\"mqtt\",reason=\"implausible_jump\"}";
    assert_eq!(metric(&metrics, mqtt_jumps), Some(1), "{mqtt_jumps}");
    let mqtt_not_mobile = "vigie_ingest_telemetry_refused_total{transport=\"mqtt\",reason=\"not_mobile\"}";
    assert_eq!(metric(&metrics, mqtt_not_mobile), Some(1), "the test token covers every sensor: {mqtt_not_mobile}");
    assert_eq!(metric(&metrics, "vigie_ingest_telemetry_accepted_total"), Some(3));
    assert_eq!(metric(&metrics, "vigie_ingest_telemetry_duplicate_total"), Some(1));
    assert_eq!(metric(&metrics, "vigie_ingest_detections_positioned_total{source=\"telemetry\"}"), Some(1));
    assert_eq!(metric(&metrics, "vigie_ingest_detections_positioned_total{source=\"producer\"}"), Some(1));

    // The sensors API shows where it is now; fixed sensors have no position.
    let sensors = get(addr, "/api/v1/sensors").await.json();
    let drone = sensors.as_array().expect("a list").iter().find(|s| s["id"] == DRONE).expect("the drone").clone();
    assert_eq!(drone["mobile"], true);
    assert_eq!(drone["position"]["time"], rfc3339(t(-5)), "{drone}");
    assert_eq!(
        (drone["position"]["lon"].as_f64(), drone["position"]["heading_deg"].as_f64()),
        (Some(-1.5530), Some(110.0))
    );
    let fixed =
        sensors.as_array().expect("a list").iter().find(|s| s["id"] == "cam-fire-01").expect("a camera").clone();
    assert_eq!(fixed["mobile"], false);
    assert!(fixed.get("position").is_none(), "{fixed}");

    // The public transparency page says it moves (and gives only its home).
    let public = request_anonymous(addr, "GET", "/api/v1/transparency", &[], b"").await.json();
    let listed =
        public["sensors"].as_array().expect("sensors").iter().find(|s| s["id"] == DRONE).expect("listed").clone();
    assert_eq!((listed["mobile"].as_bool(), listed["lon"].as_f64()), (Some(true), Some(-1.5530)), "{listed}");

    // Its track, oldest first.
    let from = rfc3339(t(-60)).replace('+', "%2B");
    let track = get(addr, &format!("/api/v1/sensors/{DRONE}/track?from={from}")).await.json();
    assert_eq!(track["sensor"], DRONE);
    let lons: Vec<f64> = track["fixes"].as_array().expect("fixes").iter().filter_map(|f| f["lon"].as_f64()).collect();
    assert_eq!(lons, vec![-1.5560, -1.5540, -1.5530], "{track}");
    assert_eq!(get(addr, "/api/v1/sensors/cam-fire-01/track").await.status, 404, "a fixed camera has no track");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_hub_still_knows_where_its_drone_was() {
    let clock = ManualClock::at(t0());
    let dir = tempfile::tempdir().expect("temporary folder");
    let db = dir.path().join("vigie.db");
    // Without an audit log: its lock outlives a stopped hub for a moment.
    let start = || async {
        let hub = Hub::start(vigie_hub::HubOptions {
            config: config(),
            http_listen: "127.0.0.1:0".parse().expect("valid address"),
            store_url: db.display().to_string(),
            mqtt: MqttMode::Off,
            clock: clock.clock(),
        })
        .await
        .expect("the hub starts");
        install_test_token(&hub);
        hub
    };
    let hub = start().await;
    let t = |secs: i64| t0() + chrono::Duration::seconds(secs);
    let lines = [fix(t(-4), -1.5560, 47.2090, 350.0), fix(t(-2), -1.5558, 47.2092, 10.0)];
    assert_eq!(post_fixes(hub.http_addr, DRONE, TEST_TOKEN, &lines).await.json()["accepted"], 2);
    hub.stop().await;

    let hub = start().await;
    let drone = SensorId::new(DRONE).expect("valid");
    assert_eq!(hub.ingest.sensor_position(&drone).map(|p| p.time), Some(t(-2)), "rebuilt from the store");
    let fire = detection(&new_id(), DRONE, "video.fire", t(-3), 0.9);
    post_ndjson(hub.http_addr, &[fire.to_string()]).await;
    let id = DetectionId::parse(fire["id"].as_str().expect("id")).expect("ULID");
    let d = hub.store.detection(id).expect("read").expect("stored");
    assert!((d.detection.location.lon - -1.5559).abs() < 1e-9, "{:?}", d.detection.location);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixes_through_an_external_broker_are_stored() {
    let broker =
        vigie_testkit::MosquittoServer::start().expect("start a throw-away Mosquitto (scripts/test installs it)");
    let broker_addr: std::net::SocketAddr = ([127, 0, 0, 1], broker.port()).into();
    let mut external = vigie_hub::mqtt::ExternalBroker::parse(&broker.url()).expect("broker URL");
    external.client_id = "vigie-hub-telemetry-test".into();
    let dir = tempfile::tempdir().expect("temporary folder");
    let db = dir.path().join("vigie.db");
    let hub = start_hub_with(&db, MqttMode::External(external), vigie_hub::ingest::system_clock(), config()).await;
    let mut device = MqttClient::connect(broker_addr, DRONE, None).await;
    let started = chrono::Utc::now();
    // Until the hub's subscription is in place the broker drops fixes: send until one lands.
    let topic = format!("vigie/v1/telemetry/{DRONE}");
    let mut sent = 0;
    let stored = loop {
        let lon = -1.5560 + f64::from(sent) * 1e-5;
        device.publish_acked(&topic, fix(chrono::Utc::now(), lon, 47.2090, 90.0), false).await;
        sent += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = chrono::Utc::now();
        let stored = hub.store.registry().positions(DRONE, started, now, 1000).expect("read the fixes");
        if !stored.is_empty() {
            break stored;
        }
        assert!(sent < 100, "no fix stored through the external broker");
    };
    let drone = SensorId::new(DRONE).expect("valid");
    assert_eq!(hub.ingest.sensor_position(&drone).map(|p| p.time), stored.last().map(|f| f.time));
    hub.stop().await;
}
