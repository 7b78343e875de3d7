//! Evidence leaves only on a requisition (issue 4): the request freezes the incident, a
//! second person decides, the package is watermarked, hashed and signed, downloadable for
//! 24 hours by its requester or a supervisor, then deleted; the register, the audit log and
//! the transparency page count it.

mod common;

use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::{Value, json};
use vigie_hub::MqttMode;
use vigie_hub::auth::Role;

use common::*;

const PW: &str = "Ile-de-Nantes-2026";

fn jpeg(w: u16, h: u16) -> Vec<u8> {
    let pixels: Vec<u8> = (0..usize::from(w) * usize::from(h)).flat_map(|i| [(i % 251) as u8, 90, 160]).collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85).encode(&pixels, w, h, jpeg_encoder::ColorType::Rgb).unwrap();
    out
}

fn requisition(number: &str) -> Value {
    json!({
        "requisition": { "service": "Commissariat central de Nantes", "officer": "Capitaine A. Durand, OPJ", "number": number, "date": "2026-11-22" },
        "reason": "enquête sur l'incendie du Bouffay",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_needs_a_requisition_and_a_second_person() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(t0());
    let hub = start_hub(&dir.path().join("vigie.db"), MqttMode::Off, clock.clock()).await;
    for (name, role) in [
        ("olivia", Role::Operator),
        ("oscar", Role::Operator),
        ("samir", Role::Supervisor),
        ("sophie", Role::Supervisor),
        ("paula", Role::Dpo),
    ] {
        add_user(&hub, name, role, PW);
    }
    let addr = hub.http_addr;
    let (olivia, oscar, samir, sophie, paula) = (
        login(addr, "olivia", PW).await,
        login(addr, "oscar", PW).await,
        login(addr, "samir", PW).await,
        login(addr, "sophie", PW).await,
        login(addr, "paula", PW).await,
    );

    // A fire with a snapshot from the camera.
    let snapshot = jpeg(640, 360);
    let up = request(addr, "POST", "/api/v1/evidence", &[("Content-Type", "image/jpeg")], &snapshot).await;
    assert_eq!(up.status, 201, "{}", up.text());
    let ev = up.json();
    let id = new_id();
    let mut d = detection(&id, "cam-fire-01", "video.fire", clock.now(), 0.9);
    d["evidence"] = json!([ev]);
    assert_eq!(post_ndjson(addr, &[d.to_string()]).await.json()["accepted"], 1);
    let incident = get(addr, &format!("/api/v1/detections/{id}")).await.json()["incident"].as_str().unwrap().to_owned();

    // Malformed requisitions are refused with the field named.
    let mut bad = requisition("2026/118");
    bad["requisition"]["date"] = json!("yesterday");
    let r = session_request(addr, &olivia, "POST", &format!("/api/v1/incidents/{incident}/exports"), Some(&bad)).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("YYYY-MM-DD"), "{}", r.text());

    let r = session_request(
        addr,
        &olivia,
        "POST",
        &format!("/api/v1/incidents/{incident}/exports"),
        Some(&requisition("2026/118")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let export = r.json();
    let export_id = export["id"].as_str().unwrap().to_owned();
    assert_eq!(export["status"], "requested");
    let holds = session_request(addr, &paula, "GET", "/api/v1/registers/holds", None).await.json();
    assert_eq!(holds[0]["incident_id"], incident.as_str(), "the request freezes the incident: {holds}");

    // The requester's role cannot decide; nor can a supervisor decide their own request.
    let approve = json!({ "approve": true, "note": "conforme" });
    let decision = format!("/api/v1/exports/{export_id}/decision");
    assert_eq!(session_request(addr, &olivia, "POST", &decision, Some(&approve)).await.status, 403);
    let own = session_request(
        addr,
        &samir,
        "POST",
        &format!("/api/v1/incidents/{incident}/exports"),
        Some(&requisition("2026/119")),
    )
    .await
    .json();
    let own_id = own["id"].as_str().unwrap().to_owned();
    let r = session_request(addr, &samir, "POST", &format!("/api/v1/exports/{own_id}/decision"), Some(&approve)).await;
    assert_eq!(r.status, 409);
    assert!(r.text().contains("two-person rule"), "{}", r.text());

    // Approved by a second person: the package is built, hashed, signed.
    let r = session_request(addr, &samir, "POST", &decision, Some(&approve)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let decided = r.json();
    assert_eq!((decided["status"].clone(), decided["files"].clone()), (json!("approved"), json!(1)));
    assert_eq!(session_request(addr, &sophie, "POST", &decision, Some(&approve)).await.status, 409, "decided once");

    // Downloaded by its requester (not by another operator), checked as its recipient would.
    let package_path = format!("/api/v1/exports/{export_id}/package");
    assert_eq!(session_request(addr, &oscar, "GET", &package_path, None).await.status, 403);
    let zip = session_request(addr, &olivia, "GET", &package_path, None).await;
    assert_eq!(zip.status, 200, "{}", zip.text());
    assert_eq!(zip.header("content-type"), Some("application/zip"));
    let sha: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&zip.body).iter().map(|b| format!("{b:02x}")).collect()
    };
    assert_eq!(Some(sha.as_str()), decided["package_sha256"].as_str());
    let checked = vigie_hub::exports::package::verify(&zip.body, None).expect("an intact package verifies");
    assert_eq!((checked.export_id.as_str(), checked.files), (export_id.as_str(), 1));
    let public_key = std::fs::read_to_string(dir.path().join("exports").join("export.pub")).unwrap();
    vigie_hub::exports::package::verify(&zip.body, Some(&public_key)).expect("with the hub's published key");
    let entries = vigie_hub::exports::zip::read(&zip.body).unwrap();
    let image = &entries.iter().find(|(n, _)| n.starts_with("evidence/")).unwrap().1;
    assert!(image.starts_with(&[0xFF, 0xD8]) && *image != snapshot, "the image is re-encoded with the watermark");
    let manifest: Value =
        serde_json::from_slice(&entries.iter().find(|(n, _)| n == "manifest.json").unwrap().1).unwrap();
    assert_eq!(manifest["files"][0]["watermarked"], true);
    assert_eq!(manifest["files"][0]["source_sha256"], ev["sha256"]);
    assert_eq!(manifest["export"]["requisition"]["number"], "2026/118");

    // Tampering is caught: the manifest, a file, or another key.
    let mut forged = zip.body.clone();
    let at = forged.windows(8).position(|w| w == b"2026/118").unwrap();
    forged[at + 7] = b'9';
    let err = vigie_hub::exports::package::verify(&forged, None).unwrap_err();
    assert!(err.contains("CRC") || err.contains("signature"), "{err}");
    let mut rebuilt: Vec<(String, Vec<u8>)> = entries.clone();
    let img = rebuilt.iter_mut().find(|(n, _)| n.starts_with("evidence/")).unwrap();
    img.1[100] ^= 0x55;
    let rezipped = vigie_hub::exports::zip::write(&rebuilt, clock.now()).unwrap();
    assert!(vigie_hub::exports::package::verify(&rezipped, None).unwrap_err().contains("SHA-256"));
    let elsewhere = tempfile::tempdir().unwrap();
    let other = vigie_audit::LogKey::load_or_create(elsewhere.path(), "vigie/export").unwrap();
    let other_key = vigie_audit::vkey_text("vigie/export", &other.verifying_key());
    let err = vigie_hub::exports::package::verify(&zip.body, Some(&other_key)).unwrap_err();
    assert!(err.contains("signature"), "{err}");

    // Sophie refuses Samir's own request; the incident stays frozen (evidence was handed over).
    let refuse = json!({ "approve": false, "note": "doublon" });
    let r = session_request(addr, &sophie, "POST", &format!("/api/v1/exports/{own_id}/decision"), Some(&refuse)).await;
    assert_eq!(r.json()["status"], "refused", "{}", r.text());
    assert_eq!(
        session_request(addr, &paula, "GET", "/api/v1/registers/holds", None).await.json().as_array().unwrap().len(),
        1
    );

    // After 24 hours (sessions have ended too: sign in again): no more download, and
    // retention deletes the package.
    clock.advance(Duration::hours(25));
    assert_eq!(session_request(addr, &olivia, "GET", &package_path, None).await.status, 401, "a 12 h session");
    let (olivia, paula) = (login(addr, "olivia", PW).await, login(addr, "paula", PW).await);
    let r = session_request(addr, &olivia, "GET", &package_path, None).await;
    assert_eq!(r.status, 409, "{}", r.text());
    let retention = vigie_hub::retention::Retention::new(
        hub.store.clone(),
        None,
        Some(dir.path().join("exports")),
        hub.audit.clone(),
        common::config(),
        clock.clock(),
    );
    assert_eq!(retention.tick().await.unwrap().export_packages, 1);
    assert!(!dir.path().join("exports").join(format!("{export_id}.zip")).exists());

    // The register (CSV for the DPO) and the public transparency page count it.
    let csv = session_request(addr, &paula, "GET", "/api/v1/exports?format=csv", None).await;
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = csv.text();
    assert!(text.contains("2026/118") && text.contains("expired") && text.contains("refused"), "{text}");
    let open = request_anonymous(addr, "GET", "/api/v1/transparency", &[], b"").await.json();
    let month = &open["months"][0];
    assert_eq!(
        (month["exports_requested"].clone(), month["exports_approved"].clone(), month["requisitions"].clone()),
        (json!(2), json!(1), json!(2)),
        "{month}"
    );
    assert!(open["export_public_key"].as_str().unwrap().starts_with("vigie/export+"));
    assert!(open["audit_checkpoint"]["signature"].is_string());

    // Every step is in the audit log, and the DPO finds it.
    tokio::time::sleep(StdDuration::from_millis(50)).await;
    let found = session_request(addr, &paula, "GET", &format!("/api/v1/audit/entries?target=export/{export_id}"), None)
        .await
        .json();
    let actions: Vec<&str> = found.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["export_download", "export_approve", "export_request"], "{found}");
    let by: Vec<&str> = found.as_array().unwrap().iter().map(|e| e["actor"].as_str().unwrap()).collect();
    assert_eq!(by, ["user:olivia", "user:samir", "user:olivia"]);
    hub.stop().await;
}
