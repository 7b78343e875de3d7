//! The lawful-by-construction properties on real output: privacy masks burned in before
//! analysis and evidence (property 5), no identifier of a person or a track in what leaves
//! (property 1), and every detection valid against the contract's JSON Schema.

mod common;

use std::process::Command;

use common::*;
use vigie_model::{DETECTION_SCHEMA_V1, Kind};
use vigie_video::simulate::scenario;

/// The evidence JPEG decoded by FFmpeg to grey levels (`width`×`height` bytes).
fn grey_pixels(jpeg: &std::path::Path) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(jpeg)
        .args(["-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .expect("ffmpeg");
    assert!(out.status.success());
    out.stdout
}

const MASK_OVER_NORTH_WALK: &str =
    "masks = [ { name = \"fenetres\", points = [[0.0, 0.0], [1.0, 0.0], [1.0, 0.25], [0.0, 0.25]] } ]";

#[test]
fn masks_are_burned_into_evidence_and_hide_what_is_behind_them() {
    let s = scenario(Kind::VideoIntrusion, 1);
    let dir = temp_dir("privacy-mask");
    let video = encode_scenario(&s, &dir);
    // 1. A mask over the top quarter (windows of homes): evidence is black there.
    let r = run(&camera(&s, &video, MASK_OVER_NORTH_WALK, ""), Some(&dir), None);
    let ev: Vec<_> = r.detections.iter().flat_map(|d| d.evidence.iter()).collect();
    assert!(!ev.is_empty());
    for e in ev {
        let px = grey_pixels(&dir.join(&e.uri));
        assert_eq!(px.len(), 320 * 180);
        // Rows 0..40 of 180 are under the mask (JPEG rounding aside).
        let masked: Vec<u8> =
            (2..40).flat_map(|y| (0..320).map(move |x| (y, x))).map(|(y, x)| px[y * 320 + x]).collect();
        let max = *masked.iter().max().unwrap();
        assert!(max <= 40, "masked area not black in {}: max grey {max}", e.uri);
        let below: u64 =
            (60..180).flat_map(|y| (0..320).map(move |x| (y, x))).map(|(y, x)| px[y * 320 + x] as u64).sum();
        assert!(below / (120 * 320) > 60, "the rest of the view must stay visible");
    }
    // 2. A mask over the forbidden zone: nothing is analysed there, so no intrusion.
    let zone_mask = "masks = [ { name = \"cour\", points = [[0.3, 0.25], [0.7, 0.25], [0.7, 0.75], [0.3, 0.75]] } ]";
    let r = run(&camera(&s, &video, zone_mask, ""), None, None);
    assert!(r.detections.iter().all(|d| d.kind != Kind::VideoIntrusion), "{}", describe(&r.detections));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn nothing_that_leaves_identifies_a_person_or_a_track_and_all_fits_the_schema() {
    let schema: serde_json::Value = serde_json::from_str(DETECTION_SCHEMA_V1).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let forbidden = ["track", "id", "face", "plate", "person_id", "embedding", "reid", "identity"];
    let mut n = 0;
    for kind in [Kind::VideoAbandonedObject, Kind::VideoWrongWay, Kind::VideoPersonDown] {
        let s = scenario(kind, 1);
        let dir = temp_dir(&format!("privacy-{}", s.spec.name));
        let video = encode_scenario(&s, &dir);
        let r = run(&camera(&s, &video, "", ""), Some(&dir), None);
        for d in &r.detections {
            let v: serde_json::Value = serde_json::from_str(&d.to_json()).unwrap();
            assert!(validator.is_valid(&v), "schema: {v}");
            let attrs = v["attributes"].as_object().unwrap();
            for (k, val) in attrs {
                assert!(!forbidden.iter().any(|f| k.contains(f)), "attribute {k} could identify");
                assert!(!val.is_array() && !val.is_object(), "attribute {k} is not a plain measurement");
            }
            n += 1;
        }
        let _ = std::fs::remove_dir_all(dir);
    }
    assert!(n >= 6);
}
