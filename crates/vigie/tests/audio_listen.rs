//! `vigie audio listen` end to end: a simulated gunshot encoded as AAC (a format only FFmpeg
//! reads) goes through the FFmpeg input and comes out as a detection with event features
//! only; a model without usable labels is a usage error, before any audio is read.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{TempDir, run_vigie};

const TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn an_aac_file_is_read_through_ffmpeg_and_event_detected() {
    let dir = TempDir::new("audio-listen");
    let sim = dir.path().join("sim");
    let f = run_vigie(
        &["audio", "simulate", "--out", sim.to_str().unwrap(), "--events", "1", "--sensors", "3", "--seed", "3"],
        dir.path(),
        TIMEOUT,
    );
    assert_eq!(f.code, Some(0), "{f:#?}");
    let manifest = std::fs::read_to_string(sim.join("manifest.ndjson")).unwrap();
    let first: serde_json::Value = serde_json::from_str(manifest.lines().next().unwrap()).unwrap();
    let wav = sim.join(first["file"].as_str().unwrap());
    let aac = dir.path().join("street.m4a");
    let st = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(&wav)
        .args(["-c:a", "aac", "-b:a", "128k"])
        .arg(&aac)
        .status()
        .expect("ffmpeg must be installed: scripts/test installs it");
    assert!(st.success());

    let out = dir.path().join("dets.ndjson");
    let mic = format!("{}:{}:{}", first["mic"].as_str().unwrap(), first["lon"], first["lat"]);
    let start = first["start"].as_str().unwrap();
    let f = run_vigie(
        &[
            "audio",
            "listen",
            "--input",
            aac.to_str().unwrap(),
            "--mic",
            &mic,
            "--start",
            start,
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
        TIMEOUT,
    );
    assert_eq!(f.code, Some(0), "{f:#?}");
    assert!(f.stderr.contains("1 connection(s)"), "{}", f.stderr);
    let dets: Vec<serde_json::Value> =
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!dets.is_empty(), "no detection: {}", f.stderr);
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sim.join("truth.json")).unwrap()).unwrap();
    let kind = truth["events"][0]["kind"].as_str().unwrap_or("audio.gunshot");
    assert!(dets.iter().any(|d| d["kind"] == kind), "expected {kind}: {dets:#?}");
    for d in &dets {
        assert!(d.get("evidence").is_none_or(|e| e.as_array().is_some_and(|a| a.is_empty())), "no audio leaves: {d}");
        assert_eq!(d["sensor"], first["mic"]);
    }
}

#[test]
fn a_model_whose_labels_map_to_no_class_is_refused_before_listening() {
    let dir = TempDir::new("audio-model");
    let labels = dir.path().join("labels.txt");
    std::fs::write(&labels, "Speech\nMusic\n").unwrap();
    let model = dir.path().join("model.onnx");
    std::fs::write(&model, b"not a model").unwrap();
    let f = run_vigie(
        &[
            "audio",
            "listen",
            "--url",
            "http://127.0.0.1:9/none",
            "--mic",
            "mic-1:-1.55:47.21",
            "--model",
            model.to_str().unwrap(),
            "--labels",
            labels.to_str().unwrap(),
        ],
        dir.path(),
        TIMEOUT,
    );
    assert_eq!(f.code, Some(2), "{f:#?}");
    assert!(f.stderr.contains("none of the model's labels maps to an audio class"), "{}", f.stderr);
}
