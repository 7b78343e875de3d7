//! The hub consuming from an external broker (a throw-away Mosquitto): every detection
//! published QoS 1 is stored exactly once, including those published while the hub was
//! down, which its persistent session receives when it comes back.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{MqttClient, detection, new_id};
use vigie_hub::mqtt::ExternalBroker;
use vigie_hub::store::{DetectionQuery, Store};
use vigie_hub::{Hub, MqttMode};
use vigie_model::SensorId;

/// The sensor of the counted detections; probes come from another one.
const SENSOR: &str = "cam-fire-01";
const PROBE_SENSOR: &str = "cam-gare-02";

fn ids_of(store: &dyn Store, sensor: &str) -> Vec<String> {
    let q = DetectionQuery { sensor: Some(SensorId::new(sensor).expect("valid")), limit: 10_000, ..Default::default() };
    store.detections(&q).expect("list detections").iter().map(|d| d.detection.id.to_string()).collect()
}

/// `n` crowd-density detections from [`SENSOR`], as (topic, payload), and their ids.
fn batch(n: usize) -> (Vec<(String, Vec<u8>)>, Vec<String>) {
    let now = chrono::Utc::now();
    let mut messages = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = new_id();
        let d = detection(&id, SENSOR, "video.crowd_density", now - chrono::Duration::milliseconds(i as i64), 0.7);
        messages.push((format!("vigie/v1/detections/{SENSOR}"), d.to_string().into_bytes()));
        ids.push(id);
    }
    (messages, ids)
}

/// Publishes probes until the hub stores one: then its subscription is in place.
async fn wait_until_consuming(hub: &Hub, producer: &mut MqttClient) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let probe = detection(&new_id(), PROBE_SENSOR, "video.tamper", chrono::Utc::now(), 0.9);
        producer.publish_acked(&format!("vigie/v1/detections/{PROBE_SENSOR}"), probe.to_string(), false).await;
        let settle = Instant::now() + Duration::from_millis(500);
        while Instant::now() < settle {
            if !ids_of(hub.store.as_ref(), PROBE_SENSOR).is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(Instant::now() < deadline, "the hub never consumed from the external broker");
    }
}

async fn wait_for_stored(hub: &Hub, expected: &[String], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let stored = ids_of(hub.store.as_ref(), SENSOR);
        if stored.len() >= expected.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} detections stored after {timeout:?}",
            stored.len(),
            expected.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stored = ids_of(hub.store.as_ref(), SENSOR);
    let unique: HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "a detection stored twice");
    assert_eq!(unique, expected.iter().collect::<HashSet<_>>(), "exactly the published detections are stored");
}

/// Waits until Mosquitto's log says `client_id` went away after it last connected.
async fn wait_for_disconnect(log: &std::path::Path, client_id: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let connected = text.rfind(&format!(" as {client_id} "));
        let gone = [format!("Client {client_id} closed its connection"), format!("Client {client_id} disconnected")]
            .iter()
            .filter_map(|m| text.rfind(m.as_str()))
            .max();
        if let (Some(c), Some(g)) = (connected, gone)
            && g > c
        {
            return;
        }
        assert!(Instant::now() < deadline, "the stopped hub is still connected to the broker:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_detection_is_stored_once_across_a_hub_restart() {
    let broker =
        vigie_testkit::MosquittoServer::start().expect("start a throw-away Mosquitto (scripts/test installs it)");
    let broker_addr: SocketAddr = ([127, 0, 0, 1], broker.port()).into();
    let mut external = ExternalBroker::parse(&broker.url()).expect("broker URL");
    external.client_id = "vigie-hub-restart-test".into();
    let dir = tempfile::tempdir().expect("temporary folder");
    let db = dir.path().join("vigie.db");
    let clock = vigie_hub::ingest::system_clock;

    let hub = common::start_hub(&db, MqttMode::External(external.clone()), clock()).await;
    let mut producer = MqttClient::connect(broker_addr, "producer-1", None).await;
    wait_until_consuming(&hub, &mut producer).await;

    let (first, mut expected) = batch(500);
    producer.publish_all_acked(first).await;
    wait_for_stored(&hub, &expected, Duration::from_secs(60)).await;

    let store = hub.store.clone();
    hub.stop().await;
    wait_for_disconnect(broker.log_path(), &external.client_id).await;
    let (second, ids) = batch(300);
    producer.publish_all_acked(second).await;
    assert_eq!(ids_of(store.as_ref(), SENSOR).len(), 500, "nothing is consumed while the hub is down");
    drop(store);
    expected.extend(ids);

    let hub = common::start_hub(&db, MqttMode::External(external.clone()), clock()).await;
    wait_for_stored(&hub, &expected, Duration::from_secs(60)).await;
    assert_eq!(expected.len(), 800);
    hub.stop().await;
}
