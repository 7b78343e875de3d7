//! kill -9 of the hub while 200 000 detections are being published over QoS 1 (through an
//! external Mosquitto) and over HTTP: after a restart, every acknowledged detection is
//! stored exactly once.
//!
//! Acknowledged means: over MQTT, the broker PUBACKed the publish (the hub's persistent
//! session holds it until the hub PUBACKs after its commit); over HTTP, the hub answered
//! `accepted` or `duplicate` for the line (it answers after the commit).

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{detection_line, device_token, http, http_with, spawn_vigie, wait_healthy, write_config};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use vigie_testkit::{MosquittoServer, free_port};

const MQTT_DETECTIONS: usize = 100_000;
const HTTP_DETECTIONS: usize = 100_000;
const HTTP_BATCH: usize = 1000;

fn publish_mqtt(port: u16, acked: Arc<Mutex<Vec<String>>>, progress: Arc<AtomicU64>) {
    let mut opts = MqttOptions::new("crash-test-publisher", "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_inflight(200);
    let (client, mut conn) = Client::new(opts, 1000);
    let ids: Vec<String> = (0..MQTT_DETECTIONS).map(|_| ulid::Ulid::new().to_string()).collect();
    let by_pkid = Arc::new(Mutex::new(std::collections::VecDeque::<String>::new()));
    let sender_ids = ids.clone();
    let pending = by_pkid.clone();
    let sender = std::thread::spawn(move || {
        for (i, id) in sender_ids.iter().enumerate() {
            let sensor = format!("cam-{}", i % 8);
            pending.lock().unwrap().push_back(id.clone());
            client
                .publish(
                    format!("vigie/v1/detections/{sensor}"),
                    QoS::AtLeastOnce,
                    false,
                    detection_line(id, &sensor, "video.crowd_density"),
                )
                .unwrap();
        }
    });
    // Mosquitto acknowledges QoS 1 publishes of one connection in order: the n-th PUBACK
    // is for the n-th publish.
    let mut n = 0;
    for ev in conn.iter() {
        match ev {
            Ok(Event::Incoming(Packet::PubAck(_))) => {
                let id = by_pkid.lock().unwrap().pop_front().expect("an ack for a publish");
                acked.lock().unwrap().push(id);
                progress.fetch_add(1, Relaxed);
                n += 1;
                if n == MQTT_DETECTIONS {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => panic!("the publisher lost Mosquitto (which is never killed): {e}"),
        }
    }
    sender.join().unwrap();
}

fn publish_http(
    addr: std::net::SocketAddr,
    token: String,
    acked: Arc<Mutex<Vec<String>>>,
    progress: Arc<AtomicU64>,
    failures: Arc<AtomicU64>,
) {
    let mut batches: Vec<Vec<String>> = (0..HTTP_DETECTIONS / HTTP_BATCH)
        .map(|_| (0..HTTP_BATCH).map(|_| ulid::Ulid::new().to_string()).collect())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(240);
    while let Some(batch) = batches.first().cloned() {
        assert!(Instant::now() < deadline, "HTTP publishing did not finish");
        let body: String = batch
            .iter()
            .enumerate()
            .map(|(i, id)| detection_line(id, &format!("cam-{}", i % 8), "video.fire") + "\n")
            .collect();
        let bearer = format!("Bearer {token}");
        match http_with(addr, "POST", "/api/v1/detections", &[("Authorization", &bearer)], body.as_bytes()) {
            Ok((200, resp)) => {
                let v: serde_json::Value = serde_json::from_str(&resp).expect("JSON answer");
                let results = v["results"].as_array().expect("results");
                assert_eq!(results.len(), batch.len());
                let mut a = acked.lock().unwrap();
                for r in results {
                    let status = r["status"].as_str().unwrap();
                    assert!(status == "accepted" || status == "duplicate", "{r}");
                    a.push(r["id"].as_str().unwrap().to_owned());
                }
                progress.fetch_add(batch.len() as u64, Relaxed);
                batches.remove(0);
            }
            // The hub is down or answered 503: nothing acknowledged, send again.
            Ok(_) | Err(_) => {
                failures.fetch_add(1, Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

#[test]
fn kill_9_during_ingest_loses_no_acknowledged_detection() {
    let mosquitto = MosquittoServer::start().expect("mosquitto");
    let dir = tempfile_dir();
    let config = write_config(&dir);
    let http_port = free_port();
    let http_addr: std::net::SocketAddr = format!("127.0.0.1:{http_port}").parse().unwrap();
    let args: Vec<String> = [
        "up",
        "--config",
        config.to_str().unwrap(),
        "--data",
        dir.join("data").to_str().unwrap(),
        "--http",
        &http_addr.to_string(),
        "--mqtt-broker",
        &mosquitto.url(),
        "--mqtt-client-id",
        "hub-under-test",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let log = dir.join("hub.log");
    // The HTTP publisher is a device: its token is issued before the hub first starts.
    let token = device_token(&dir.join("data"));
    let mut hub = spawn_vigie(&args, &log);
    wait_healthy(http_addr, Duration::from_secs(30));

    let mqtt_acked = Arc::new(Mutex::new(Vec::new()));
    let http_acked = Arc::new(Mutex::new(Vec::new()));
    let progress = Arc::new(AtomicU64::new(0));
    let http_failures = Arc::new(AtomicU64::new(0));
    let mqtt = {
        let (a, p, port) = (mqtt_acked.clone(), progress.clone(), mosquitto.port());
        std::thread::spawn(move || publish_mqtt(port, a, p))
    };
    let web = {
        let (a, p, f, t) = (http_acked.clone(), progress.clone(), http_failures.clone(), token.clone());
        std::thread::spawn(move || publish_http(http_addr, t, a, p, f))
    };

    // Kill the hub mid-flight: once a fifth of the detections are acknowledged.
    let until = Instant::now() + Duration::from_secs(120);
    while progress.load(Relaxed) < ((MQTT_DETECTIONS + HTTP_DETECTIONS) / 5) as u64 {
        assert!(Instant::now() < until, "publishing did not progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    hub.kill9();
    let killed_at = progress.load(Relaxed);
    std::thread::sleep(Duration::from_millis(500));
    let mut hub = spawn_vigie(&args, &log);
    wait_healthy(http_addr, Duration::from_secs(30));
    mqtt.join().expect("MQTT publisher");
    web.join().expect("HTTP publisher");
    assert!(killed_at < (MQTT_DETECTIONS + HTTP_DETECTIONS) as u64, "the kill happened before the end");
    assert!(http_failures.load(Relaxed) > 0 || killed_at > 0);

    // Wait until the hub has drained Mosquitto's queue for its session.
    let expected: HashSet<String> =
        mqtt_acked.lock().unwrap().iter().chain(http_acked.lock().unwrap().iter()).cloned().collect();
    assert_eq!(mqtt_acked.lock().unwrap().len(), MQTT_DETECTIONS);
    let until = Instant::now() + Duration::from_secs(120);
    let done = AtomicBool::new(false);
    while Instant::now() < until {
        let (_, body) = http(http_addr, "GET", "/api/v1/health", b"").unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if v["detections"].as_u64().unwrap_or(0) >= expected.len() as u64 {
            done.store(true, Relaxed);
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    hub.kill9();
    eprintln!(
        "killed after {killed_at} acknowledgements; {} HTTP retries; {} expected ids",
        http_failures.load(Relaxed),
        expected.len()
    );
    let db = rusqlite::Connection::open(dir.join("data").join("vigie.db")).unwrap();
    let total: i64 = db.query_row("SELECT count(*) FROM detections", [], |r| r.get(0)).unwrap();
    let distinct: i64 = db.query_row("SELECT count(DISTINCT id) FROM detections", [], |r| r.get(0)).unwrap();
    assert_eq!(total, distinct, "a detection stored twice");
    let mut stmt = db.prepare("SELECT id FROM detections").unwrap();
    let stored: HashSet<String> = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect();
    let missing: Vec<&String> = expected.iter().filter(|id| !stored.contains(*id)).take(5).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged detections missing after the crash, e.g. {missing:?} (drained: {}); hub log: {}",
        expected.iter().filter(|id| !stored.contains(*id)).count(),
        done.load(Relaxed),
        log.display()
    );
    assert_eq!(stored.len(), expected.len(), "only acknowledged detections were published, each stored once");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("vigie-crash-{}-{}", std::process::id(), ulid::Ulid::new()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
