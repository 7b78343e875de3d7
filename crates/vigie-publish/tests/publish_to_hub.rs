//! The publisher against a real hub in this process, with a device token: HTTP NDJSON
//! with a result per line, MQTT QoS 1 through the embedded broker with PUBACKs after the
//! commit, evidence uploads, resends that are never duplicated, and clear errors when the
//! hub cannot be reached or refuses the token.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use vigie_hub::store::SensorScope;
use vigie_hub::{Hub, HubOptions, MqttMode};
use vigie_model::config::Config;
use vigie_model::{Detection, DetectionId, Kind, Location, SensorId};
use vigie_publish::{PublishError, Publisher, PublisherConfig, SensorStatus, Target};

const CONFIG: &str = r#"
[hub]
name = "publish tests"

[[sensors]]
id = "cam-publish-01"
type = "camera"
name = "Place du Bouffay"
lon = -1.5536
lat = 47.2150
analytics = ["video.fire", "video.crowd_density"]
"#;

/// A hub, and a device token for its camera (as an administrator would issue).
async fn hub(dir: &Path, mqtt: MqttMode) -> (Hub, String) {
    let config = Arc::new(Config::from_toml(CONFIG, Path::new("publish.toml"), None).unwrap());
    let hub = Hub::start(HubOptions {
        config,
        http_listen: "127.0.0.1:0".parse().unwrap(),
        store_url: dir.join("vigie.db").display().to_string(),
        mqtt,
        clock: Arc::new(Utc::now),
    })
    .await
    .unwrap();
    let (_, token) = hub
        .auth
        .create_token("publish tests", None, SensorScope::Only(vec!["cam-publish-01".into()]), "tests")
        .unwrap();
    (hub, token)
}

fn detection(kind: &str, confidence: f64) -> Detection {
    Detection {
        id: DetectionId::generate(),
        sensor: SensorId::new("cam-publish-01").unwrap(),
        kind: kind.parse::<Kind>().unwrap(),
        time: Utc::now(),
        location: Location { lon: -1.5536, lat: 47.2150, uncertainty_m: Some(10.0) },
        confidence,
        attributes: serde_json::value::RawValue::from_string(r#"{"zone":"bouffay"}"#.into()).unwrap(),
        evidence: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_answers_per_detection_after_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, token) = hub(dir.path(), MqttMode::Off).await;
    let target: Target = format!("http://{}", hub.http_addr).parse().unwrap();
    let good = detection("video.fire", 0.9);
    // A kind the camera does not run: the hub refuses it with the contract's reason.
    let unconfigured = detection("video.weapon", 0.9);
    let batch = vec![good.clone(), unconfigured.clone()];
    let (first, second) = tokio::task::spawn_blocking(move || {
        let mut p = Publisher::connect(PublisherConfig::new(target, "publish-test").token(Some(token))).unwrap();
        let first = p.publish(&batch).unwrap();
        let second = p.publish(&batch[..1]).unwrap();
        (first, second)
    })
    .await
    .unwrap();
    assert_eq!((first.accepted, first.duplicate, first.refused.len()), (1, 0, 1), "{first:?}");
    assert_eq!(first.refused[0].id, unconfigured.id);
    assert_eq!(first.refused[0].reason, "analytic_not_configured");
    assert_eq!((second.accepted, second.duplicate), (0, 1), "a resend is a duplicate: {second:?}");
    let stored = hub.store.detection(good.id).unwrap().expect("stored once answered");
    assert_eq!(stored.detection.id, good.id);
    assert!(hub.store.detection(unconfigured.id).unwrap().is_none());
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_flush_returns_once_the_hub_committed_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, token) = hub(dir.path(), MqttMode::Embedded("127.0.0.1:0".parse().unwrap())).await;
    let mqtt = hub.mqtt_addr.unwrap();
    let target: Target = format!("mqtt://{mqtt}").parse().unwrap();
    let detections: Vec<Detection> =
        (0..500).map(|i| detection("video.crowd_density", 0.5 + f64::from(i % 40) / 100.0)).collect();
    let ids: Vec<DetectionId> = detections.iter().map(|d| d.id).collect();
    tokio::task::spawn_blocking(move || {
        let sensor = SensorId::new("cam-publish-01").unwrap();
        let config = PublisherConfig::new(target, "publish-test-mqtt").token(Some(token)).last_will(sensor.clone());
        let mut p = Publisher::connect(config).unwrap();
        p.set_status(&sensor, SensorStatus::Online).unwrap();
        let report = p.publish(&detections).unwrap();
        assert_eq!(report.queued, 500);
        p.flush(Duration::from_secs(30)).unwrap();
    })
    .await
    .unwrap();
    // Every PUBACK came after a commit: all 500 are in the store now, no polling needed.
    let stored = hub.store.stored(&ids).unwrap();
    assert_eq!(stored.len(), 500);
    hub.stop().await;
}

#[test]
fn an_unreachable_hub_is_a_clear_error_after_the_retries() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut config = PublisherConfig::new(format!("http://{addr}").parse().unwrap(), "nobody");
    config.max_attempts = 2;
    let mut p = Publisher::connect(config).unwrap();
    let err = p.publish(&[detection("video.fire", 0.9)]).unwrap_err();
    assert!(matches!(err, PublishError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    assert!(err.to_string().contains("after 2 attempts"), "{err}");

    let mut config = PublisherConfig::new(format!("mqtt://{addr}").parse().unwrap(), "nobody");
    config.max_attempts = 1;
    let mut p = Publisher::connect(config).unwrap();
    p.publish(&[detection("video.fire", 0.9)]).unwrap();
    let err = p.flush(Duration::from_millis(500)).unwrap_err();
    assert!(err.to_string().contains(&format!("mqtt://{addr}")), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_goes_up_first_and_a_wrong_token_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = Arc::new(Config::from_toml(CONFIG, Path::new("publish.toml"), None).unwrap());
    let hub = Hub::start_with_audit(
        HubOptions {
            config,
            http_listen: "127.0.0.1:0".parse().unwrap(),
            store_url: dir.path().join("vigie.db").display().to_string(),
            mqtt: MqttMode::Off,
            clock: Arc::new(Utc::now),
        },
        Some(dir.path().join("audit")),
    )
    .await
    .unwrap();
    let (_, token) =
        hub.auth.create_token("cam", None, SensorScope::Only(vec!["cam-publish-01".into()]), "tests").unwrap();
    let target: Target = format!("http://{}", hub.http_addr).parse().unwrap();
    let stored = dir.path().join("evidence");
    let (evidence, wrong) = tokio::task::spawn_blocking(move || {
        let p = Publisher::connect(PublisherConfig::new(target.clone(), "cam").token(Some(token))).unwrap();
        let chart = br#"{"presence":[3,5,8]}"#;
        let evidence = p.upload_evidence("application/json", chart).unwrap();
        let mut d = detection("video.fire", 0.9);
        d.evidence = vec![evidence.clone()];
        let mut p = p;
        assert_eq!(p.publish(&[d]).unwrap().accepted, 1);
        let mut bad = Publisher::connect(PublisherConfig::new(target, "cam").token(Some("vgt_wrong".into()))).unwrap();
        (evidence, bad.publish(&[detection("video.fire", 0.9)]).unwrap_err())
    })
    .await
    .unwrap();
    assert!(stored.join(evidence.uri.trim_start_matches("evidence/")).exists(), "the hub holds the file");
    assert!(matches!(wrong, PublishError::Unauthorized { status: 401, .. }), "{wrong}");
    hub.stop().await;
}
