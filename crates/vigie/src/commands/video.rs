//! `vigie video check|run|simulate`: flags and wiring; the work is in `vigie-video`.
//!
//! `run` analyses every camera of a video config (one FFmpeg child and one analyser
//! thread each) until Ctrl-C (live streams) or the end of the files, writes detections as
//! NDJSON, and publishes them with `--hub`. Camera health goes to stderr as JSON lines and,
//! over MQTT, to the retained status topic (`offline` becomes `system.sensor_offline`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use vigie_model::{Detection, Evidence, Kind};
use vigie_publish::{Publisher, SensorStatus, Target};
use vigie_video::config::{Camera, load};
use vigie_video::runner::{RunOptions, run_cameras};
use vigie_video::simulate::encode::{Quality, encode};
use vigie_video::simulate::scenario;
use vigie_video::stages::evidence::{DirStore, EvidenceStore};
use vigie_video::stages::health::HealthStatus;
use vigie_video::{Output, VideoError};

use super::publish::{PublishArgs, publish_and_report};
use crate::UsageError;

#[derive(Subcommand)]
pub enum VideoCommand {
    /// Check a video config (cameras, masks, zones, calibration, rules) and summarise it.
    Check(CheckArgs),
    /// Analyse the cameras of a video config; detections as NDJSON, optionally published.
    Run(RunArgs),
    /// Render a synthetic scene of one rule (H.264 file), its camera config and its truth.
    Simulate(SimulateArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// The video config (TOML, `[[cameras]]`).
    #[arg(long)]
    config: PathBuf,
}

#[derive(Args)]
pub struct RunArgs {
    #[arg(long)]
    config: PathBuf,
    /// Detections as NDJSON to this file (default: stdout, unless --hub is given).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where evidence snapshots are written (`<dir>/evidence/<sha256>.jpg`) when they are
    /// not uploaded to an `http://` hub.
    #[arg(long, default_value = "vigie-video-out")]
    evidence_dir: PathBuf,
    #[command(flatten)]
    publish: PublishArgs,
}

#[derive(Args)]
pub struct SimulateArgs {
    /// The rule whose scene to render, e.g. `video.abandoned_object`.
    #[arg(long)]
    rule: String,
    /// Output folder (created): `<name>.mp4`, `camera.toml`, `truth.json`.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(cmd: VideoCommand) -> anyhow::Result<()> {
    match cmd {
        VideoCommand::Check(a) => check(a),
        VideoCommand::Run(a) => run_cmd(a),
        VideoCommand::Simulate(a) => simulate(a),
    }
}

fn load_config(path: &std::path::Path) -> anyhow::Result<Vec<Camera>> {
    load(path).map_err(|e| match e {
        VideoError::Read { .. } => anyhow::Error::new(e),
        other => UsageError(other.to_string()).into(),
    })
}

fn check(a: CheckArgs) -> anyhow::Result<()> {
    let cams = load_config(&a.config)?;
    for c in &cams {
        let analytics: Vec<&str> = c.analytics.iter().map(|k| k.as_str()).collect();
        println!(
            "{}: {} ({}, {}x{} at {} fps), {} mask(s), {} zone(s), calibration: {}, detector: {}, analytics: {}",
            c.id,
            vigie_video::stages::input::redact(&c.input.url),
            if c.input.live { "live" } else { "file" },
            c.input.width,
            c.input.height,
            c.input.fps,
            c.masks.len(),
            c.zones.len(),
            if c.ground.is_some() { "yes" } else { "no" },
            c.detector.as_ref().map_or("none".to_owned(), |d| d.model.display().to_string()),
            analytics.join(", ")
        );
    }
    eprintln!("{}: {} camera(s), ok", a.config.display(), cams.len());
    Ok(())
}

/// Evidence uploaded to the hub through `vigie-publish` (one publisher per camera thread).
struct UploadStore(Publisher);

impl EvidenceStore for UploadStore {
    fn store(&mut self, media_type: &str, bytes: &[u8]) -> Result<Evidence, VideoError> {
        self.0.upload_evidence(media_type, bytes).map_err(|e| VideoError::Evidence(e.to_string()))
    }
}

fn run_cmd(a: RunArgs) -> anyhow::Result<()> {
    let cams = load_config(&a.config)?;
    let mut publisher = a.publish.connect("vigie-video")?;
    let uploads = matches!(publisher.as_ref().map(|p| p.target()), Some(Target::Http { .. }));
    let mut out: Box<dyn Write> = match (&a.out, &publisher) {
        (Some(p), _) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        (None, None) => Box::new(std::io::stdout()),
        (None, Some(_)) => Box::new(std::io::sink()),
    };
    let opts = Arc::new(RunOptions::default());
    {
        // Ctrl-C stops every camera cleanly (FFmpeg children are killed, not orphaned).
        let stop = Arc::clone(&opts.stop);
        std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                let _ = rt.block_on(tokio::signal::ctrl_c());
                stop.store(true, Ordering::SeqCst);
            }
        });
    }
    let evidence_dir = a.evidence_dir.clone();
    let publish_args = a.publish.clone();
    let make_store = move |_: &Camera| -> Option<Box<dyn EvidenceStore>> {
        if uploads {
            match publish_args.connect("vigie-video-evidence") {
                Ok(Some(p)) => return Some(Box::new(UploadStore(p))),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "evidence upload unavailable; writing files"),
            }
        }
        Some(Box::new(DirStore::new(evidence_dir.clone())))
    };
    let (tx, rx) = channel();
    let runner = {
        let opts = Arc::clone(&opts);
        std::thread::spawn(move || run_cameras(&cams, &make_store, &opts, tx))
    };
    let mut batch: Vec<Detection> = Vec::new();
    let mut last_flush = Instant::now();
    let mut counts: std::collections::BTreeMap<Kind, u64> = Default::default();
    // Detections the hub could not take: reported as they happen, an error at the end.
    let mut unpublished = 0usize;
    loop {
        let msg = rx.recv_timeout(Duration::from_millis(500));
        match msg {
            Ok((_, Output::Detection(d))) => {
                writeln!(out, "{}", d.to_json())?;
                *counts.entry(d.kind).or_default() += 1;
                batch.push(*d);
            }
            Ok((sensor, Output::Health(h))) => {
                eprintln!("{}", serde_json::to_string(&h)?);
                if let Some(p) = publisher.as_mut() {
                    let status = match h.status {
                        HealthStatus::Online => Some(SensorStatus::Online),
                        HealthStatus::Offline => Some(SensorStatus::Offline),
                        _ => None,
                    };
                    if let Some(s) = status
                        && let Err(e) = p.set_status(&sensor, s)
                    {
                        tracing::warn!(sensor = %sensor, error = %e, "status not published");
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        // Small batches, at least once a second: detections are alerts.
        if !batch.is_empty() && (batch.len() >= 64 || last_flush.elapsed() >= Duration::from_secs(1)) {
            out.flush()?;
            if let Some(p) = publisher.as_mut()
                && let Err(e) = publish_and_report(p, &batch)
            {
                unpublished += batch.len();
                eprintln!("error: publishing {} detection(s): {e:#}", batch.len());
            }
            batch.clear();
            last_flush = Instant::now();
        }
    }
    if !batch.is_empty()
        && let Some(p) = publisher.as_mut()
        && let Err(e) = publish_and_report(p, &batch)
    {
        unpublished += batch.len();
        eprintln!("error: publishing {} detection(s): {e:#}", batch.len());
    }
    out.flush()?;
    let summaries = runner.join().map_err(|_| anyhow::anyhow!("the camera runner panicked"))?;
    for s in &summaries {
        eprintln!(
            "{}: {} frames decoded, {} analysed, {} connection(s), {} decoder errors, {} stalls, {} late frames dropped ({})",
            s.camera,
            s.frames_decoded,
            s.analysis.frames,
            s.connections,
            s.decoder_errors,
            s.stalls,
            s.dropped_late,
            s.end_reason
        );
    }
    let total: u64 = counts.values().sum();
    let per: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    eprintln!("{total} detection(s){}{}", if per.is_empty() { "" } else { ": " }, per.join(", "));
    anyhow::ensure!(unpublished == 0, "{unpublished} detection(s) could not be published (see above)");
    Ok(())
}

fn simulate(a: SimulateArgs) -> anyhow::Result<()> {
    let kind: Kind = a.rule.parse().map_err(|e| UsageError(format!("--rule: {e}")))?;
    if !vigie_video::simulate::scenarios::RULES.contains(&kind) {
        return Err(UsageError(format!("--rule: {kind} is not a video rule")).into());
    }
    let s = scenario(kind, a.seed);
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let file = format!("{}.mp4", s.spec.name);
    encode(&s.spec, &a.out.join(&file), Quality::Test)?;
    let extra = if kind == Kind::VideoWeapon {
        "[cameras.detector]\n# The deployer's YOLO-format model (none ships with Vigie).\nmodel = \"detector.onnx\"\nlabels = [\"person\", \"knife\"]\ninput_size_px = 64\n"
    } else {
        ""
    };
    std::fs::write(a.out.join("camera.toml"), s.config_toml(&file, "", extra))?;
    std::fs::write(a.out.join("truth.json"), serde_json::to_string_pretty(&s.truth)?)?;
    if kind == Kind::VideoWeapon {
        std::fs::write(a.out.join("detector.onnx"), vigie_video::simulate::onnx_model::magenta_detector(64))?;
    }
    eprintln!(
        "wrote {file} ({:.0} s at {} fps), camera.toml and truth.json ({} event(s)) to {}",
        s.spec.duration_secs,
        s.spec.fps,
        s.truth.len(),
        a.out.display()
    );
    Ok(())
}
