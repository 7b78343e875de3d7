//! `POST /api/v1/reports`: a citizen report with a photo is stored without its metadata and
//! becomes a `citizen.report` detection; the photo size limit, the per-address rate limit
//! and the field checks answer 413, 429 and 400.

mod common;

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use common::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigie_hub::{Hub, HubOptions, MqttMode};
use vigie_model::config::Config;

/// The shared test config plus a citizen sensor.
fn citizen_config() -> Arc<Config> {
    let toml = format!(
        "{CONFIG_TOML}\n[[sensors]]\nid = \"citizen-portal\"\ntype = \"citizen\"\nname = \"Portail\"\nlon = -1.5530\nlat = 47.2185\nanalytics = [\"citizen.report\"]\n"
    );
    Arc::new(Config::from_toml(&toml, Path::new("tests.toml"), None).expect("the test config is valid"))
}

async fn start(dir: &Path) -> Hub {
    let hub = Hub::start_with_audit(
        HubOptions {
            config: citizen_config(),
            http_listen: "127.0.0.1:0".parse().expect("valid address"),
            store_url: dir.join("vigie.db").display().to_string(),
            mqtt: MqttMode::Off,
            clock: vigie_hub::ingest::system_clock(),
        },
        Some(dir.join("audit")),
    )
    .await
    .expect("the hub starts");
    common::install_test_token(&hub);
    hub
}

fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(body);
    s
}

/// A minimal baseline JPEG with an EXIF segment holding GPS coordinates.
fn jpeg_with_gps() -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    exif.extend_from_slice(&[0, 1, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0x1a, 0, 0, 0, 0]);
    exif.extend_from_slice(b"GPS 47.2155 -1.5555");
    j.extend(segment(0xE1, &exif));
    j.extend(segment(0xDB, &[&[0u8][..], &[1u8; 64][..]].concat()));
    j.extend(segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
    j.extend(segment(0xC4, &[&[0x00u8][..], &[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[0]].concat()));
    j.extend(segment(0xC4, &[&[0x10u8][..], &[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[0]].concat()));
    j.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
    j.extend_from_slice(&[0x00, 0x3F]);
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

fn report(photo: Option<&[u8]>) -> Value {
    let mut r = json!({
        "category": "lighting",
        "description": "Lampadaire éteint devant le numéro 12",
        "lon": -1.5555,
        "lat": 47.2155,
    });
    if let Some(p) = photo {
        r["photo"] = json!({
            "media_type": "image/jpeg",
            "data_base64": base64::engine::general_purpose::STANDARD.encode(p),
        });
    }
    r
}

fn has_app1(j: &[u8]) -> bool {
    j.windows(2).any(|w| w == [0xFF, 0xE1])
}

#[tokio::test]
async fn a_report_with_a_photo_is_stored_without_its_exif() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hub = start(dir.path()).await;
    let src = jpeg_with_gps();
    assert!(has_app1(&src));
    let r = post_json(hub.http_addr, "/api/v1/reports", &report(Some(&src))).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let reference = r.json()["reference"].as_str().expect("a reference").to_string();

    let d = get(hub.http_addr, &format!("/api/v1/detections/{reference}")).await;
    assert_eq!(d.status, 200, "{}", d.text());
    let d = d.json();
    assert_eq!(d["sensor"], "citizen-portal");
    assert_eq!(d["kind"], "citizen.report");
    assert_eq!(d["attributes"]["category"], "lighting");
    assert_eq!(d["attributes"]["description"], "Lampadaire éteint devant le numéro 12");
    assert!(d["attributes"].get("name").is_none() && d["attributes"].get("author").is_none());
    let ev = &d["evidence"][0];
    assert_eq!(ev["media_type"], "image/jpeg");
    let sha = ev["sha256"].as_str().expect("a sha256");
    assert_eq!(ev["uri"], format!("evidence/{sha}.jpg"));

    let stored = std::fs::read(dir.path().join("evidence").join(format!("{sha}.jpg"))).expect("the photo is stored");
    assert!(!has_app1(&stored), "no APP1 (EXIF) segment left");
    assert!(!stored.windows(3).any(|w| w == b"GPS"), "no GPS left");
    assert!(stored.starts_with(&[0xFF, 0xD8, 0xFF, 0xE0]) && stored.ends_with(&[0xFF, 0xD9]));
    let digest: String = Sha256::digest(&stored).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(digest, sha, "the name is the stored file's SHA-256");
    hub.stop().await;
}

#[tokio::test]
async fn a_photo_over_5_mib_is_refused_with_413() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hub = start(dir.path()).await;
    let mut big = jpeg_with_gps();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let r = post_json(hub.http_addr, "/api/v1/reports", &report(Some(&big))).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "payload_too_large");
    let files = std::fs::read_dir(dir.path().join("evidence")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(files, 0, "nothing stored");
    hub.stop().await;
}

#[tokio::test]
async fn the_sixth_report_from_one_address_gets_429() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hub = start(dir.path()).await;
    for k in 0..5 {
        let r = post_json(hub.http_addr, "/api/v1/reports", &report(None)).await;
        assert_eq!(r.status, 201, "report {k}: {}", r.text());
    }
    let r = post_json(hub.http_addr, "/api/v1/reports", &report(None)).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "too_many_requests");
    let wait: u64 = r.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=600).contains(&wait), "Retry-After {wait}");
    hub.stop().await;
}

#[tokio::test]
async fn bad_fields_are_refused_with_400() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hub = start(dir.path()).await;
    let mut bad = report(None);
    bad["category"] = json!("people");
    let r = post_json(hub.http_addr, "/api/v1/reports", &bad).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("category"), "{}", r.text());
    let mut empty = report(None);
    empty["description"] = json!("   ");
    assert_eq!(post_json(hub.http_addr, "/api/v1/reports", &empty).await.status, 400);
    let mut far = report(None);
    far["lat"] = json!(91.0);
    assert_eq!(post_json(hub.http_addr, "/api/v1/reports", &far).await.status, 400);
    let mut named = report(None);
    named["name"] = json!("Jean Dupont");
    assert_eq!(post_json(hub.http_addr, "/api/v1/reports", &named).await.status, 400, "no name field");
    let mut long = report(None);
    long["description"] = json!("x".repeat(2001));
    assert_eq!(post_json(hub.http_addr, "/api/v1/reports", &long).await.status, 400);
    hub.stop().await;
}

#[tokio::test]
async fn without_an_evidence_folder_a_photo_gets_503() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hub = Hub::start(HubOptions {
        config: citizen_config(),
        http_listen: "127.0.0.1:0".parse().expect("valid address"),
        store_url: dir.path().join("vigie.db").display().to_string(),
        mqtt: MqttMode::Off,
        clock: vigie_hub::ingest::system_clock(),
    })
    .await
    .expect("the hub starts");
    common::install_test_token(&hub);
    let r = post_json(hub.http_addr, "/api/v1/reports", &report(Some(&jpeg_with_gps()))).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("evidence"), "{}", r.text());
    assert_eq!(post_json(hub.http_addr, "/api/v1/reports", &report(None)).await.status, 201);
    hub.stop().await;
}
