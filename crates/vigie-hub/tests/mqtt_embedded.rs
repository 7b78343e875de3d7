//! The hub with its embedded broker on 127.0.0.1:0, driven by rumqttc clients: detections
//! in (PUBACK after the commit), refusals counted, incidents out, last wills turned into
//! `system.sensor_offline` detections.

mod common;

use std::time::Duration;

use common::{MqttClient, detection, get, new_id};
use rumqttc::{LastWill, Packet, QoS};
use serde_json::Value;
use vigie_hub::store::DetectionQuery;
use vigie_hub::{Hub, MqttMode};
use vigie_model::{DetectionId, Kind, SensorId};

async fn start() -> (Hub, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let hub = common::start_hub(
        &dir.path().join("vigie.db"),
        MqttMode::Embedded("127.0.0.1:0".parse().expect("valid address")),
        vigie_hub::ingest::system_clock(),
    )
    .await;
    (hub, dir)
}

fn fresh(sensor: &str, kind: &str) -> Value {
    detection(&new_id(), sensor, kind, chrono::Utc::now() - chrono::Duration::seconds(5), 0.9)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_detection_is_stored_before_its_puback_and_announces_its_incident() {
    let (hub, _dir) = start().await;
    let mqtt = hub.mqtt_addr.expect("the embedded broker listens");

    let mut watcher = MqttClient::connect(mqtt, "watcher", None).await;
    watcher.subscribe("vigie/v1/incidents/#").await;

    let mut camera = MqttClient::connect(mqtt, "cam-fire-01", None).await;
    let fire = fresh("cam-fire-01", "video.fire");
    camera.publish_acked("vigie/v1/detections/cam-fire-01", fire.to_string(), false).await;
    // The PUBACK leaves after the commit: no waiting needed.
    let id = DetectionId::parse(fire["id"].as_str().expect("id")).expect("ULID");
    let stored = hub.store.detection(id).expect("read the store").expect("stored when acknowledged");
    assert_eq!(stored.detection.kind, Kind::VideoFire);
    let incident = stored.incident.expect("the fire opened an incident");

    let Packet::Publish(msg) =
        watcher.expect("incident message", Duration::from_secs(5), |p| matches!(p, Packet::Publish(_))).await
    else {
        unreachable!()
    };
    assert_eq!(msg.topic, format!("vigie/v1/incidents/{incident}"));
    let body: Value = serde_json::from_slice(&msg.payload).expect("JSON payload");
    assert_eq!(body["type"], "new", "{body}");
    assert_eq!(body["incident"]["id"], incident.to_string());
    assert_eq!(body["incident"]["incident_type"], "safety.fire");

    // Published again (a redelivery): acknowledged, stored once.
    camera.publish_acked("vigie/v1/detections/cam-fire-01", fire.to_string(), false).await;
    let q =
        DetectionQuery { sensor: Some(SensorId::new("cam-fire-01").expect("valid")), limit: 100, ..Default::default() };
    assert_eq!(hub.store.detections(&q).expect("list").len(), 1);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detection_from_another_sensor_than_its_topic_is_refused_and_counted() {
    let (hub, _dir) = start().await;
    let mqtt = hub.mqtt_addr.expect("the embedded broker listens");
    let mut client = MqttClient::connect(mqtt, "cam-gare-02", None).await;

    let forged = fresh("cam-fire-01", "video.crowd_density");
    // MQTT 3.1.1 has no reason codes: the refusal still gets its PUBACK, so the device does
    // not resend it forever.
    client.publish_acked("vigie/v1/detections/cam-gare-02", forged.to_string(), false).await;
    let id = DetectionId::parse(forged["id"].as_str().expect("id")).expect("ULID");
    assert!(hub.store.detection(id).expect("read").is_none(), "a refused detection is not stored");

    let metrics = get(hub.http_addr, "/metrics").await.text();
    let series = "vigie_ingest_detections_refused_total{transport=\"mqtt\",reason=\"sensor_mismatch\"}";
    assert_eq!(common::metric(&metrics, series), Some(1), "{series}");
    let report = get(hub.http_addr, "/api/v1/detections/refused").await.json();
    assert_eq!(report["counts"]["sensor_mismatch"].as_u64(), Some(1));
    assert_eq!(report["recent"][0]["transport"], "mqtt");
    assert_eq!(report["recent"][0]["topic"], "vigie/v1/detections/cam-gare-02");

    // The same payload on its own topic is accepted.
    client.publish_acked("vigie/v1/detections/cam-fire-01", forged.to_string(), false).await;
    assert!(hub.store.detection(id).expect("read").is_some());
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sensor_whose_connection_dies_is_reported_offline() {
    let (hub, _dir) = start().await;
    let mqtt = hub.mqtt_addr.expect("the embedded broker listens");
    let sensor = "mic-bouffay-03";
    let status_topic = format!("vigie/v1/status/{sensor}");

    let will = LastWill::new(status_topic.clone(), "offline", QoS::AtLeastOnce, true);
    let mut device = MqttClient::connect(mqtt, sensor, Some(will)).await;
    device.publish_acked(&status_topic, "online", true).await;
    let http = hub.http_addr;
    let status = common::eventually("the hub sees the sensor online", Duration::from_secs(5), move || async move {
        let s = get(http, &format!("/api/v1/sensors/{sensor}")).await.json();
        (s["health"]["status"] == "online").then_some(s)
    })
    .await;
    assert_eq!(status["id"], sensor);
    let offline = DetectionQuery {
        sensor: Some(SensorId::new(sensor).expect("valid")),
        kind: Some(Kind::SystemSensorOffline),
        limit: 100,
        ..Default::default()
    };
    assert!(hub.store.detections(&offline).expect("list").is_empty(), "online is not an alarm");

    device.kill().await;
    let stored = common::eventually("a system.sensor_offline detection", Duration::from_secs(10), || {
        let found = hub.store.detections(&offline).expect("list");
        std::future::ready((!found.is_empty()).then_some(found))
    })
    .await;
    assert_eq!(stored.len(), 1, "one offline detection: {stored:?}");
    let config = common::config();
    let declared = config.sensor(sensor).expect("declared");
    assert_eq!((stored[0].detection.location.lon, stored[0].detection.location.lat), (declared.lon, declared.lat));
    let s = get(hub.http_addr, &format!("/api/v1/sensors/{sensor}")).await.json();
    assert_eq!(s["health"]["status"], "offline");
    hub.stop().await;
}
