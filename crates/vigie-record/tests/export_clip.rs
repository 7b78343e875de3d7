//! An export on a requisition carries the clip of the incident's camera, cut from its
//! recordings (masks already burned in at the recorder), with the export id burned in,
//! hashed in the signed manifest with the segments it was cut from (issue 9, item 5).

mod common;

use std::process::Command;
use std::sync::Arc;

use common::*;
use vigie_hub::retention::RecordingBudget;

/// A state-changing request as a signed-in person (session cookie and its CSRF token).
fn post_as(h: &TestHub, cookie: &str, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let me = get_json(&format!("{}/api/v1/me", h.url), cookie);
    let csrf = me["csrf_token"].as_str().expect("a CSRF token").to_owned();
    let mut r = agent()
        .post(&format!("{}{path}", h.url))
        .header("cookie", cookie)
        .header("x-csrf-token", &csrf)
        .header("origin", &h.url)
        .header("content-type", "application/json")
        .send(body.to_string().as_bytes())
        .expect("post");
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

/// The first frame's luma plane.
fn first_frame_gray(clip: &std::path::Path) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(clip)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .expect("ffmpeg must be installed: scripts/test installs it");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn an_export_carries_the_cameras_clip_cut_from_recordings_and_watermarked() {
    let dir = tempfile::tempdir().unwrap();
    let h = TestHub::start(&dir.path().join("data"), Arc::new(chrono::Utc::now), RecordingBudget::default());
    let device = h.device_token(&["cam-rec-01"]);
    let report = record_masked_clip(&h, dir.path(), &device, 6.0);
    let cam = report.cameras[0].as_ref().expect("camera recorded");
    assert!(cam.segments.len() >= 2, "{report:?}");
    assert_eq!(report.uploaded as usize, cam.segments.len());

    // A detection of the camera during the recording opens an incident.
    let at = cam.segments[1].start + chrono::Duration::milliseconds(500);
    let id = ulid::Ulid::new().to_string();
    let det = serde_json::json!({
        "id": id, "sensor": "cam-rec-01", "kind": "video.crowd_density",
        "time": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "location": { "lon": -1.5592, "lat": 47.2133, "uncertainty_m": 10.0 }, "confidence": 0.9,
        "attributes": { "persons_per_m2": 4.2 },
    });
    let mut r = agent()
        .post(&format!("{}/api/v1/detections", h.url))
        .header("authorization", &format!("Bearer {device}"))
        .header("content-type", "application/x-ndjson")
        .send(format!("{det}\n").as_bytes())
        .expect("post");
    let answer = r.body_mut().read_to_string().unwrap();
    assert!(answer.contains("\"accepted\":1"), "{answer}");
    let olivia = person_cookie(&h, "olivia", vigie_hub::auth::Role::Operator);
    let d = get_json(&format!("{}/api/v1/detections/{id}", h.url), &olivia);
    let incident = d["incident"].as_str().expect("an incident").to_owned();

    // Requested by an operator on a requisition, approved by a supervisor.
    let req = serde_json::json!({
        "requisition": { "service": "Commissariat central de Nantes", "officer": "Capitaine A. Durand, OPJ", "number": "2026/201", "date": "2026-11-30" },
        "reason": "rixe place du Commerce",
    });
    let (s, export) = post_as(&h, &olivia, &format!("/api/v1/incidents/{incident}/exports"), &req);
    assert_eq!(s, 201, "{export}");
    let export_id = export["id"].as_str().unwrap().to_owned();
    let samir = person_cookie(&h, "samir", vigie_hub::auth::Role::Supervisor);
    let (s, decided) = post_as(
        &h,
        &samir,
        &format!("/api/v1/exports/{export_id}/decision"),
        &serde_json::json!({ "approve": true, "note": "conforme" }),
    );
    assert_eq!(s, 200, "{decided}");
    let (s, zip) = get(&format!("{}/api/v1/exports/{export_id}/package", h.url), &olivia);
    assert_eq!(s, 200);
    let checked = vigie_hub::exports::package::verify(&zip, None).expect("the package verifies");
    let entries = vigie_hub::exports::zip::read(&zip).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&entries.iter().find(|(n, _)| n == "manifest.json").unwrap().1).unwrap();
    let files = manifest["files"].as_array().unwrap();
    let clip_entry = files.iter().find(|f| f["media_type"] == "video/mp4").unwrap_or_else(|| panic!("{manifest:#}"));
    assert_eq!(clip_entry["watermarked"], true);
    assert_eq!(clip_entry["recording"]["camera"], "cam-rec-01");
    let segs = clip_entry["recording"]["segments"].as_array().unwrap();
    assert!(!segs.is_empty() && segs.len() <= cam.segments.len(), "{clip_entry}");
    assert!(segs.iter().all(|s| cam.segments.iter().any(|c| c.id == s["id"] && c.sha256 == s["sha256"])));
    assert!(checked.files >= 1, "{checked:?}");

    // The clip plays, carries the export id's band at the bottom and its masks.
    let name = clip_entry["name"].as_str().unwrap();
    let bytes = &entries.iter().find(|(n, _)| n == name).unwrap().1;
    let path = dir.path().join("clip-out.mp4");
    std::fs::write(&path, bytes).unwrap();
    let gray = first_frame_gray(&path);
    assert_eq!(gray.len(), 640 * 360, "a 640×360 clip");
    let px = |x: usize, y: usize| gray[y * 640 + x];
    let band: Vec<u8> = (350..360).flat_map(|y| (0..300).map(move |x| (x, y))).map(|(x, y)| px(x, y)).collect();
    let lit = band.iter().filter(|&&v| v > 180).count();
    let dark = band.iter().filter(|&&v| v < 60).count();
    assert!(lit > 50 && dark > band.len() / 2, "the export id is burned in: {lit} lit, {dark} dark");
    let mask: Vec<u8> = (80..160).flat_map(|y| (380..520).map(move |x| (x, y))).map(|(x, y)| px(x, y)).collect();
    let mean = mask.iter().map(|&v| f64::from(v)).sum::<f64>() / mask.len() as f64;
    assert!(mean < 40.0, "the mask is still there (mean luma {mean:.0})");
    h.stop();
}
