//! Helpers of the integration tests: encode a scenario to a real H.264 file, run the real
//! pipeline (FFmpeg child process included) on it, score the detections.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::mpsc::channel;

use vigie_model::detection::TimeBounds;
use vigie_model::{Detection, Kind};
use vigie_video::Output;
use vigie_video::config::{Camera, parse};
use vigie_video::runner::{CameraSummary, RunOptions, run_camera};
use vigie_video::simulate::encode::{Quality, encode};
use vigie_video::simulate::scenarios::{CAMERA_LAT, CAMERA_LON};
use vigie_video::simulate::{RuleScore, Scenario, score};
use vigie_video::stages::detector::Detector;
use vigie_video::stages::evidence::DirStore;
use vigie_video::stages::health::HealthEvent;

/// A fresh folder under the target's tmp (cleaned at the start of each test that asks).
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vigie-video-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

pub fn encode_scenario(s: &Scenario, dir: &Path) -> PathBuf {
    let path = dir.join(format!("{}.mp4", s.spec.name));
    encode(&s.spec, &path, Quality::Test).expect("ffmpeg (libx264) must be installed: scripts/test installs it");
    path
}

pub fn camera(s: &Scenario, url: &Path, extra_keys: &str, extra_tables: &str) -> Camera {
    let text = s.config_toml(&url.display().to_string(), extra_keys, extra_tables);
    let mut cams = parse(&text, Path::new("."), Path::new("scenario.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut c = cams.remove(0);
    c.input.start_time = Some(Scenario::start());
    c
}

pub struct Run {
    pub detections: Vec<Detection>,
    pub health: Vec<HealthEvent>,
    pub summary: CameraSummary,
}

pub fn run(cam: &Camera, evidence: Option<&Path>, detector: Option<Box<dyn Detector>>) -> Run {
    let (tx, rx) = channel();
    let store = evidence.map(|p| Box::new(DirStore::new(p)) as Box<dyn vigie_video::stages::evidence::EvidenceStore>);
    let summary = run_camera(cam, store, detector, &RunOptions::default(), &tx);
    drop(tx);
    let (mut detections, mut health) = (Vec::new(), Vec::new());
    for (_, o) in rx.iter() {
        match o {
            Output::Detection(d) => detections.push(*d),
            Output::Health(h) => health.push(h),
        }
    }
    Run { detections, health, summary }
}

/// Every detection passes the hub's one door, `vigie_model::decode`.
pub fn assert_contract(dets: &[Detection]) {
    let bounds = TimeBounds::new(Scenario::start() + chrono::Duration::seconds(120), 3600, 86_400);
    for d in dets {
        let json = d.to_json();
        let back = vigie_model::decode(json.as_bytes(), &bounds).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(&back, d);
    }
}

pub fn score_of(s: &Scenario, dets: &[Detection], kind: Kind) -> RuleScore {
    score(kind, dets, &s.truth, Scenario::start(), (CAMERA_LON, CAMERA_LAT), 1.5, 4.0)
}

pub fn describe(dets: &[Detection]) -> String {
    dets.iter()
        .map(|d| {
            format!(
                "{} t={:.1}s {}",
                d.kind,
                (d.time - Scenario::start()).num_milliseconds() as f64 / 1000.0,
                d.attributes.get()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
