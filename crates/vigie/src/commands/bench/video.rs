//! `vigie bench video`: streams of 1280×720 H.264 at 5 fps analysed per core with the motion
//! path against plain FFmpeg decoding of the same file in the same run, and precision and
//! recall of every rule on its synthetic scenes.
//!
//! CPU time, not wall time, is what is compared (the machine is shared): FFmpeg children's
//! time is read from this process's `cutime`/`cstime` after they are reaped, the analysers'
//! from its own `utime`/`stime`. "Streams per core" is analysed frames per CPU-second / 5.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::channel;
use std::time::Instant;

use clap::Args;
use vigie_model::{Detection, Kind};
use vigie_video::Output;
use vigie_video::config::{Camera, parse};
use vigie_video::runner::{RunOptions, run_camera};
use vigie_video::simulate::encode::{Quality, encode};
use vigie_video::simulate::onnx_model::{magenta_detector, onnxruntime_library};
use vigie_video::simulate::scenarios::{CAMERA_LAT, CAMERA_LON, RULES};
use vigie_video::simulate::{RuleScore, Scenario, scenario, score};
use vigie_video::stages::evidence::DirStore;

#[derive(Args)]
pub struct VideoBenchArgs {
    /// A CI-sized run (a few seconds).
    #[arg(long)]
    smoke: bool,
    /// Seeds per rule scene (full run): seed 1 is the tests' scene, the others move each
    /// walker by up to ±0.4 m and change clothes and noise.
    #[arg(long, default_value_t = 5)]
    seeds: u64,
    /// Seconds of 720p video for the throughput part (full run).
    #[arg(long, default_value_t = 120.0)]
    throughput_secs: f64,
    /// Scratch folder (default: a fresh one under the system's temp dir).
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

/// CPU seconds of this process and of its reaped children (`/proc/self/stat`, 100 Hz ticks).
fn cpu_secs() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    // After the command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    let get = |i: usize| f.get(i - 3).copied().unwrap_or(0.0) / 100.0;
    (get(14) + get(15), get(16) + get(17))
}

fn camera_for(s: &Scenario, url: &Path, extra_keys: &str, tables: &str) -> anyhow::Result<Camera> {
    let text = s.config_toml(&url.display().to_string(), extra_keys, tables);
    let mut c = parse(&text, Path::new("."), Path::new("bench.toml"))?.remove(0);
    c.input.start_time = Some(Scenario::start());
    Ok(c)
}

fn run_collect(cam: &Camera, evidence: Option<&Path>) -> (Vec<Detection>, vigie_video::runner::CameraSummary) {
    let (tx, rx) = channel();
    let store = evidence.map(|p| Box::new(DirStore::new(p)) as Box<dyn vigie_video::stages::evidence::EvidenceStore>);
    let summary = run_camera(cam, store, None, &RunOptions::default(), &tx);
    drop(tx);
    let dets = rx
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Detection(d) => Some(*d),
            Output::Health(_) => None,
        })
        .collect();
    (dets, summary)
}

pub fn run(a: VideoBenchArgs) -> anyhow::Result<()> {
    let t_all = Instant::now();
    let work = a
        .work_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("vigie-bench-video-{}", std::process::id())));
    std::fs::create_dir_all(&work)?;
    let (tput_secs, seeds, repeats) = if a.smoke { (8.0, 1, 1) } else { (a.throughput_secs, a.seeds.max(1), 3) };

    // 1. Throughput: a busy 1280×720 scene at 5 fps, encoded as a camera would (x264
    //    veryfast, 1.5 Mb/s), then decode-only and the motion path, alternately.
    let mut busy = scenario(Kind::VideoCrowdDensity, 11);
    busy.spec.width = 1280;
    busy.spec.height = 720;
    busy.spec.duration_secs = tput_secs.min(busy.spec.duration_secs * 4.0);
    // Repeat the crowd's comings and goings over a longer clip.
    let period = 90.0;
    let base = busy.spec.walkers.clone();
    let mut k = 1.0;
    while k * period < busy.spec.duration_secs {
        for w in &base {
            let mut w2 = w.clone();
            w2.path.iter_mut().for_each(|p| p.0 += k * period);
            busy.spec.walkers.push(w2);
        }
        k += 1.0;
    }
    let clip = work.join("busy-720p.mp4");
    let t_enc = Instant::now();
    encode(&busy.spec, &clip, Quality::Camera)?;
    eprintln!(
        "encoded {:.0} s of 1280x720 at 5 fps in {:.1} s",
        busy.spec.duration_secs,
        t_enc.elapsed().as_secs_f64()
    );
    let clip_bytes = std::fs::metadata(&clip)?.len();
    let frames_expected = busy.spec.frames() as f64;
    let motion_rules = "\"video.crowd_density\", \"video.crowd_movement\", \"video.abandoned_object\", \"video.fire\", \"video.person_down\", \"video.tamper\"";
    let text = busy.config_toml(&clip.display().to_string(), "", "").replace(
        &format!("analytics = [\"{}\", \"video.tamper\"]", Kind::VideoCrowdDensity),
        &format!("analytics = [{motion_rules}]"),
    );
    let mut cam = parse(&text, Path::new("."), Path::new("bench.toml"))?.remove(0);
    cam.input.start_time = Some(Scenario::start());
    let (mut decode_fps, mut analysis_fps) = (Vec::new(), Vec::new());
    let mut analysis_frames = 0u64;
    let mut busy_dets = 0usize;
    for _ in 0..repeats {
        let (_, c0) = cpu_secs();
        let st = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-threads", "1", "-i"])
            .arg(&clip)
            .args(["-an", "-f", "null", "-"])
            .status()?;
        anyhow::ensure!(st.success(), "ffmpeg decode-only failed");
        let (_, c1) = cpu_secs();
        decode_fps.push(frames_expected / (c1 - c0).max(0.01));
        let (s0, k0) = cpu_secs();
        let (dets, summary) = run_collect(&cam, None);
        let (s1, k1) = cpu_secs();
        analysis_frames = summary.analysis.frames;
        busy_dets = dets.len();
        analysis_fps.push(summary.analysis.frames as f64 / ((s1 - s0) + (k1 - k0)).max(0.01));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (dec, ana) = (median(&mut decode_fps), median(&mut analysis_fps));
    let streams_per_core = ana / 5.0;
    let ratio = ana / dec;
    eprintln!(
        "throughput: decode-only {dec:.0} frames/CPU-s, motion path {ana:.0} frames/CPU-s ({analysis_frames} frames, {busy_dets} detections): {streams_per_core:.1} streams/core, ratio {ratio:.2}"
    );

    // 2. Precision and recall per rule on the synthetic scenes.
    let ort = onnxruntime_library();
    let model = work.join("magenta.onnx");
    std::fs::write(&model, magenta_detector(64))?;
    let mut per_rule: BTreeMap<&'static str, RuleScore> = BTreeMap::new();
    let mut tamper_false = 0usize;
    let mut skipped: Vec<&str> = Vec::new();
    for &kind in &RULES {
        let tables = if kind == Kind::VideoWeapon {
            let Some(lib) = &ort else {
                skipped.push(kind.as_str());
                continue;
            };
            format!(
                "[cameras.detector]\nmodel = \"{}\"\nlibrary = \"{}\"\nlabels = [\"person\", \"knife\"]\ninput_size_px = 64\n",
                model.display(),
                lib.display()
            )
        } else {
            String::new()
        };
        for seed in 1..=seeds {
            let s = scenario(kind, seed);
            let dir = work.join(format!("{}-{seed}", s.spec.name));
            std::fs::create_dir_all(&dir)?;
            let video = dir.join(format!("{}.mp4", s.spec.name));
            encode(&s.spec, &video, Quality::Test)?;
            let cam = camera_for(&s, &video, "", &tables)?;
            let (dets, _) = run_collect(&cam, Some(&dir));
            let sc = score(kind, &dets, &s.truth, Scenario::start(), (CAMERA_LON, CAMERA_LAT), 1.5, 4.0);
            if kind != Kind::VideoTamper {
                tamper_false += dets.iter().filter(|d| d.kind == Kind::VideoTamper).count();
            }
            per_rule.entry(kind.as_str()).and_modify(|r| r.merge(&sc)).or_insert(sc);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let mut rules_json = serde_json::Map::new();
    for (name, r) in &per_rule {
        eprintln!(
            "{name:<24} truths {:>3}  detections {:>3}  precision {:.3}  recall {:.3}  f1 {:.3}",
            r.truths, r.detections, r.precision, r.recall, r.f1
        );
        rules_json.insert(
            name.trim_start_matches("video.").to_owned(),
            serde_json::json!({"precision": r.precision, "recall": r.recall, "f1": r.f1, "truths": r.truths, "detections": r.detections}),
        );
    }
    let min_f1 = per_rule.values().map(|r| r.f1).fold(f64::INFINITY, f64::min);
    let min_p = per_rule.values().map(|r| r.precision).fold(f64::INFINITY, f64::min);
    let min_r = per_rule.values().map(|r| r.recall).fold(f64::INFINITY, f64::min);
    if !skipped.is_empty() {
        eprintln!("not measured (ONNX Runtime not found; run scripts/fetch-video-media): {}", skipped.join(", "));
    }
    if a.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    let line = serde_json::json!({
        "bench": "video",
        "streams_per_core": (streams_per_core * 10.0).round() / 10.0,
        "ratio_vs_decode": (ratio * 1000.0).round() / 1000.0,
        "min_rule_f1": (min_f1 * 1000.0).round() / 1000.0,
        "min_rule_precision": (min_p * 1000.0).round() / 1000.0,
        "min_rule_recall": (min_r * 1000.0).round() / 1000.0,
        "decode_fps_per_core": dec.round(),
        "analysis_fps_per_core": ana.round(),
        "clip": {"width": 1280, "height": 720, "fps": 5, "seconds": busy.spec.duration_secs, "kbit_per_s": (clip_bytes as f64 * 8.0 / busy.spec.duration_secs / 1000.0).round()},
        "seeds": seeds,
        "rules": rules_json,
        "tamper_false_on_other_scenes": tamper_false,
        "not_measured": skipped,
        "gpu": "not measured (no GPU on this machine)",
        "smoke": a.smoke,
        "wall_secs": (t_all.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    });
    println!("{line}");
    Ok(())
}
