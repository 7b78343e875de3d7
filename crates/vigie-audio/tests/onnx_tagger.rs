//! The audio tagger for real: ONNX Runtime (loaded at run time from the PyPI wheel's library)
//! runs a small AudioSet-style tagging model that the test writes itself, on the events the
//! listener finds in simulated recordings.
//!
//! The model ("vigie-test-crest") takes a 0.975-s window of 16-kHz waveform `[1, 15600]`, as
//! YAMNet does, and gives two scores `[1, 2]` for the labels of an AudioSet
//! `class_labels_indices.csv`: `Speech` and `Gunshot, gunfire`. Both come from the window's
//! crest factor `c = max|x| / sqrt(mean(x²) + ε)`, the ratio that sets an impulse (a short
//! loud peak over a quiet window) apart from a sustained or tonal sound:
//!
//! ```text
//! x → Abs → ReduceMax ────────────────────── peak ┐
//! x → Mul(x, x) → ReduceMean → Add ε → Sqrt ─ rms ┴→ Div → c
//! c → Mul [-k, k] → Add [k·T, -k·T] → Sigmoid → scores [1, 2]
//! ```
//!
//! so that `Gunshot, gunfire` = σ(k·(c − T)) and `Speech` = σ(k·(T − c)), T = 8, k = 1. The
//! simulator's gunshots give windows of crest factor above 20 (score ≈ 1), its screams and
//! sirens about 1.4 to 2.1 (Speech ≈ 0.997, Gunshot < 0.01). Other impulses score high on
//! Gunshot too: the model tests the path (runtime, window, output, label map, fallback), it
//! is no classifier. Speech maps to no class: it must never be emitted.

#![cfg(feature = "onnx")]

mod common;

use std::path::Path;

use chrono::{DateTime, Utc};
use common::{assert_contract, temp_dir};
use vigie_audio::pipeline::run_buffer;
use vigie_audio::rng::Rng;
use vigie_audio::simulate::single;
use vigie_audio::stages::classify::onnx::{OnnxModel, load_tagger};
use vigie_audio::stages::classify::tagger::{TagModel, TaggerConfig, parse_labels};
use vigie_audio::stages::health::HealthStatus;
use vigie_audio::{AudioError, Listener, ListenerConfig, Microphone, Output};
use vigie_model::{Detection, Kind};
use vigie_testkit::onnx::{Attr, graph, model, node, required_onnxruntime_library, tensor_f32, value_info};

const SR: u32 = 16_000;
/// The model's window, samples (0.975 s at 16 kHz).
const WINDOW: i64 = 15_600;
/// Crest factor where the two labels score 0.5 each, and the slope of the logits.
const CREST_THRESHOLD: f32 = 8.0;
const CREST_SLOPE: f32 = 1.0;

/// AudioSet's `class_labels_indices.csv` for the model's two outputs, in order.
const LABELS_CSV: &str = "index,mid,display_name\n0,/m/09x0r,\"Speech\"\n1,/m/032s66,\"Gunshot, gunfire\"\n";

/// The crest-factor tagger described above.
fn crest_tagger() -> Vec<u8> {
    let (k, t) = (CREST_SLOPE, CREST_THRESHOLD);
    let g = graph(
        "vigie-test-crest",
        [
            node("Abs", &["waveform"], "abs", &[]),
            node("ReduceMax", &["abs"], "peak", &[Attr::Ints("axes", &[1]), Attr::Int("keepdims", 1)]),
            node("Mul", &["waveform", "waveform"], "square", &[]),
            node("ReduceMean", &["square"], "power", &[Attr::Ints("axes", &[1]), Attr::Int("keepdims", 1)]),
            node("Add", &["power", "epsilon"], "power_eps", &[]),
            node("Sqrt", &["power_eps"], "rms", &[]),
            node("Div", &["peak", "rms"], "crest", &[]),
            node("Mul", &["crest", "slopes"], "sloped", &[]),
            node("Add", &["sloped", "offsets"], "logits", &[]),
            node("Sigmoid", &["logits"], "scores", &[]),
        ],
        [
            tensor_f32("epsilon", &[1], &[1e-10]),
            tensor_f32("slopes", &[1, 2], &[-k, k]),
            tensor_f32("offsets", &[1, 2], &[k * t, -k * t]),
        ],
        [value_info("waveform", &[1, WINDOW])],
        [value_info("scores", &[1, 2])],
    );
    model(g, "vigie-audio tests", 13)
}

/// The model (as `file`) and its labels file in `dir`; the tagger's config for them.
fn tagger_config(dir: &Path, file: &str, model_bytes: &[u8], labels_csv: &str) -> TaggerConfig {
    let model = dir.join(file);
    std::fs::write(&model, model_bytes).unwrap();
    let labels_file = dir.join("class_labels_indices.csv");
    std::fs::write(&labels_file, labels_csv).unwrap();
    let labels = parse_labels(&std::fs::read_to_string(&labels_file).unwrap()).unwrap();
    TaggerConfig { library: Some(required_onnxruntime_library()), ..TaggerConfig::new(model, labels) }
}

fn mic() -> Microphone {
    Microphone { id: "mic-test-01".parse().unwrap(), lon: -1.55, lat: 47.21, channel: 0 }
}

fn t0() -> DateTime<Utc> {
    "2026-11-22T21:30:00Z".parse().unwrap()
}

/// Everything a listener emits for `samples`, with the tagger of `cfg` or the rules alone.
fn listen(samples: &[f32], cfg: Option<&TaggerConfig>) -> Vec<Output> {
    let mut l = Listener::new(mic(), SR, t0(), ListenerConfig::default()).unwrap();
    if let Some(cfg) = cfg {
        l = l.with_classifier(Box::new(load_tagger(cfg.clone()).expect("the test model loads")));
    }
    run_buffer(&mut l, samples)
}

fn detections(outs: &[Output]) -> Vec<Detection> {
    outs.iter().filter_map(|o| if let Output::Detection(d) = o { Some((**d).clone()) } else { None }).collect()
}

fn attribute(d: &Detection, name: &str) -> serde_json::Value {
    let a: serde_json::Value = serde_json::from_str(d.attributes.get()).unwrap();
    a[name].clone()
}

/// The JSON of everything that leaves the sensor.
fn emitted_json(outs: &[Output]) -> String {
    outs.iter()
        .map(|o| match o {
            Output::Detection(d) => d.to_json(),
            Output::Bands(b) => serde_json::to_string(b).unwrap(),
            Output::Health(h) => serde_json::to_string(h).unwrap(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The model's scores (Speech, Gunshot) on the window the tagger takes for an onset at
/// `onset_secs` (from 50 ms before it, zero-padded).
fn scores(cfg: &TaggerConfig, samples: &[f32], onset_secs: f64) -> (f32, f32) {
    let mut m = OnnxModel::load(cfg).unwrap();
    assert_eq!(m.input_len(), Some(WINDOW as usize));
    let from = ((onset_secs - 0.05) * SR as f64) as usize;
    let mut window = samples[from..].to_vec();
    window.resize(WINDOW as usize, 0.0);
    let (shape, data) = m.run(&window).unwrap();
    assert_eq!(shape, [1, 2]);
    (data[0], data[1])
}

fn classifier_failures(outs: &[Output]) -> usize {
    outs.iter().filter(|o| matches!(o, Output::Health(h) if h.status == HealthStatus::ClassifierFailed)).count()
}

#[test]
fn a_gunshot_is_classified_by_the_onnx_tagger() {
    let dir = temp_dir("tagger-gunshot");
    let cfg = tagger_config(&dir, "tagger.onnx", &crest_tagger(), LABELS_CSV);
    for seed in 1..=3 {
        let (x, lead) = single(Kind::AudioGunshot, 30.0, SR, seed);
        let (speech, gunshot) = scores(&cfg, &x, lead);
        assert!(gunshot > 0.9 && speech < 0.1, "seed {seed}: speech {speech}, gunshot {gunshot}");
        let outs = listen(&x, Some(&cfg));
        let dets = detections(&outs);
        assert!(!dets.is_empty(), "seed {seed}: the gunshot was not heard");
        assert_contract(&dets);
        for d in &dets {
            assert_eq!(d.kind, Kind::AudioGunshot, "seed {seed}: {}", d.to_json());
            assert_eq!(attribute(d, "classifier"), "onnx:tagger", "seed {seed}: {}", d.to_json());
            assert!(d.confidence >= 0.9, "seed {seed}: {}", d.to_json());
        }
        assert_eq!(classifier_failures(&outs), 0, "seed {seed}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn speech_is_never_emitted_and_the_rules_decide_when_it_is_the_best_label() {
    let dir = temp_dir("tagger-speech");
    let cfg = tagger_config(&dir, "tagger.onnx", &crest_tagger(), LABELS_CSV);
    for (kind, seed) in [(Kind::AudioScream, 1), (Kind::AudioScream, 2), (Kind::AudioSiren, 3)] {
        let (x, lead) = single(kind, 30.0, SR, seed);
        // The model's best label is Speech; the only mapped one is below `min_score`.
        let (speech, gunshot) = scores(&cfg, &x, lead);
        assert!(speech > 0.9 && (gunshot as f64) < cfg.min_score, "{kind} {seed}: speech {speech}, gunshot {gunshot}");
        let outs = listen(&x, Some(&cfg));
        let dets = detections(&outs);
        assert!(!dets.is_empty(), "{kind} {seed}: nothing was heard");
        assert_contract(&dets);
        // The rules decided (a fallback, not a failure): the same detections as without a tagger.
        let rules = detections(&listen(&x, None));
        let decided = |ds: &[Detection]| ds.iter().map(|d| (d.kind, d.confidence)).collect::<Vec<_>>();
        assert_eq!(decided(&dets), decided(&rules), "{kind} {seed}");
        for d in &dets {
            assert_eq!(attribute(d, "classifier"), "rules-v1", "{kind} {seed}: {}", d.to_json());
        }
        assert_eq!(classifier_failures(&outs), 0, "{kind} {seed}");
        let json = emitted_json(&outs).to_lowercase();
        assert!(!json.contains("speech"), "{kind} {seed}: speech left the sensor: {json}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_broken_model_file_is_a_clear_error_not_a_panic() {
    let dir = temp_dir("tagger-broken");
    let mut rng = Rng::new(7);
    let junk: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
    let cfg = tagger_config(&dir, "broken.onnx", &junk, LABELS_CSV);
    match load_tagger(cfg) {
        Err(e @ AudioError::Classifier { .. }) => {
            let msg = e.to_string();
            assert!(msg.starts_with("audio tagger ") && msg.contains("broken.onnx"), "{msg}");
        }
        Err(e) => panic!("expected a tagger error, got {e:?}"),
        Ok(_) => panic!("random bytes loaded as a model"),
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_labels_file_that_maps_to_no_class_is_refused() {
    let dir = temp_dir("tagger-unmapped");
    let csv = "index,mid,display_name\n0,/m/09x0r,\"Speech\"\n1,/m/04rlf,\"Music\"\n";
    let cfg = tagger_config(&dir, "tagger.onnx", &crest_tagger(), csv);
    assert_eq!(cfg.labels, ["Speech", "Music"]);
    match load_tagger(cfg) {
        Err(e @ AudioError::Classifier { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("tagger.onnx") && msg.contains("none of the model's labels maps to an audio class"),
                "{msg}"
            );
        }
        Err(e) => panic!("expected a tagger error, got {e:?}"),
        Ok(_) => panic!("a tagger that can emit nothing was accepted"),
    }
    let _ = std::fs::remove_dir_all(dir);
}
