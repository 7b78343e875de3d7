//! `vigie record check|run|simulate|test-camera`: flags and wiring; the work is in
//! `vigie-record`.
//!
//! `run` records every camera of a recording config (one FFmpeg child each: stream copy,
//! or privacy masks burned in and re-encoded) into segment files in the spool, uploads
//! them to `--hub` with the device token and publishes the live view, until Ctrl-C or the
//! end of the files. Without `--hub` the spool is the recording. Exit codes: 0 done,
//! 1 a camera failed or segments were refused or left unsent, 2 usage or config error.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::{Args, Subcommand};
use vigie_record::config::{RecordConfig, load};
use vigie_record::recorder::RecorderOptions;
use vigie_record::runner::{RunOptions, run};
use vigie_record::simulate::camera::{CameraSpec, LiveCamera};
use vigie_record::simulate::media::{ClipSpec, synth_clip};
use vigie_record::upload::UploadTarget;

use crate::UsageError;

#[derive(Subcommand)]
pub enum RecordCommand {
    /// Check a recording config and say how each camera will be recorded.
    Check(CheckArgs),
    /// Record the cameras of a recording config; upload to the hub and publish live view.
    Run(RunArgs),
    /// Write a camera-like test clip with something to hide, and a recording config that
    /// masks it.
    Simulate(SimulateArgs),
    /// Serve a live test camera on localhost whose frames carry their capture time as a
    /// bar code (for measuring live-view latency); prints its URL, runs until Ctrl-C.
    TestCamera(TestCameraArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// The recording config (TOML, `[[cameras]]`).
    #[arg(long)]
    config: PathBuf,
}

#[derive(Args)]
pub struct RunArgs {
    #[arg(long)]
    config: PathBuf,
    /// The hub, `http://host:port`: segments are uploaded to it and the live view sent.
    #[arg(long, value_name = "URL")]
    hub: Option<String>,
    /// The device token the hub issued for these cameras.
    #[arg(long, env = "VIGIE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// After Ctrl-C or the end of the files, keep trying to upload for this long.
    #[arg(long, default_value_t = 30.0)]
    drain_secs: f64,
    #[arg(long, default_value = "ffmpeg")]
    ffmpeg: PathBuf,
    #[arg(long, default_value = "ffprobe")]
    ffprobe: PathBuf,
}

#[derive(Args)]
pub struct SimulateArgs {
    /// Folder for `camera.mp4` and `recording.toml`.
    #[arg(long)]
    out: PathBuf,
    /// The camera's sensor id in the config written.
    #[arg(long, default_value = "cam-commerce-03")]
    camera: String,
    #[arg(long, default_value_t = 1280)]
    width: u32,
    #[arg(long, default_value_t = 720)]
    height: u32,
    #[arg(long, default_value_t = 20.0)]
    secs: f64,
    /// Read the clip in a loop at its own speed, as a live camera (for demos).
    #[arg(long)]
    live: bool,
}

#[derive(Args)]
pub struct TestCameraArgs {
    #[arg(long, default_value_t = 1280)]
    width: u32,
    #[arg(long, default_value_t = 720)]
    height: u32,
    #[arg(long, default_value_t = 25)]
    fps: u32,
}

pub fn run_command(cmd: RecordCommand) -> anyhow::Result<()> {
    match cmd {
        RecordCommand::Check(a) => check(&a.config).map(|_| ()),
        RecordCommand::Run(a) => run_cmd(a),
        RecordCommand::Simulate(a) => simulate(a),
        RecordCommand::TestCamera(a) => test_camera(a),
    }
}

fn load_config(path: &std::path::Path) -> anyhow::Result<RecordConfig> {
    load(path).map_err(|e| UsageError(e.to_string()).into())
}

fn check(path: &std::path::Path) -> anyhow::Result<RecordConfig> {
    let c = load_config(path)?;
    for cam in &c.cameras {
        let how = if cam.masked() {
            format!("masks burned in ({} polygon(s)), re-encoded with {:?}", cam.masks.len(), cam.encoding.encoder)
        } else {
            "stream copy (no masks, no re-encode)".to_owned()
        };
        println!(
            "{}: {how}; {} mode, {} s segments, live view {}; source {}",
            cam.id,
            cam.mode.as_str(),
            cam.segment_secs,
            if cam.live_view { "on" } else { "off" },
            vigie_video::stages::input::redact(&cam.source.url)
        );
    }
    println!("spool: {} (at most {} bytes)", c.spool_dir.display(), c.spool_max_bytes);
    Ok(c)
}

fn run_cmd(a: RunArgs) -> anyhow::Result<()> {
    let config = load_config(&a.config)?;
    let hub = match &a.hub {
        Some(h) if h.starts_with("http://") => {
            Some(UploadTarget { hub: h.trim_end_matches('/').to_owned(), token: a.token.clone() })
        }
        Some(h) => return Err(UsageError(format!("--hub {h}: an http://host:port hub is needed")).into()),
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        // Ctrl-C stops every camera cleanly: segments are closed, FFmpeg children killed.
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                let _ = rt.block_on(tokio::signal::ctrl_c());
                stop.store(true, Ordering::SeqCst);
            }
        });
    }
    let mut recorder = RecorderOptions::new(&config.spool_dir);
    recorder.ffmpeg = a.ffmpeg.clone();
    recorder.ffprobe = a.ffprobe.clone();
    let opts = RunOptions { recorder, hub, drain_secs: a.drain_secs };
    eprintln!("recording {} camera(s); Ctrl-C to stop", config.cameras.len());
    let report = run(&config, &opts, stop).context("recording")?;
    let mut failed = false;
    for c in &report.cameras {
        match c {
            Ok(c) => eprintln!(
                "{}: {} segment(s), {} frame(s) fragments, {} connection(s), {} outage(s); {}",
                c.camera,
                c.segments.len(),
                c.fragments,
                c.connections,
                c.outages.len(),
                c.end
            ),
            Err(e) => {
                failed = true;
                eprintln!("error: {e}");
            }
        }
    }
    eprintln!(
        "recovered after a crash: {}, uploaded: {}, refused by the hub: {}, dropped from a full spool: {}, left in the spool: {}",
        report.recovered, report.uploaded, report.refused, report.dropped, report.left_in_spool
    );
    let unsent = opts.hub.is_some() && report.left_in_spool > 0;
    if failed || report.refused > 0 || unsent {
        std::process::exit(1);
    }
    Ok(())
}

fn simulate(a: SimulateArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let clip = a.out.join("camera.mp4");
    let spec = ClipSpec { secret: Some([0.55, 0.10, 0.90, 0.50]), ..ClipSpec::new(a.width, a.height, a.secs) };
    synth_clip(&clip, &spec)?;
    let live = if a.live { "realtime = true\nloop_file = true\n" } else { "" };
    let toml = format!(
        "# Written by `vigie record simulate`: the bright pattern at the top right is what the\n\
         # mask hides; the recording must show only black there.\n\
         [[cameras]]\nid = \"{}\"\nurl = \"camera.mp4\"\n{live}segment_secs = 6\n\
         masks = [ {{ name = \"fenetres\", points = [[0.55, 0.10], [0.90, 0.10], [0.90, 0.50], [0.55, 0.50]] }} ]\n",
        a.camera
    );
    let cfg = a.out.join("recording.toml");
    std::fs::write(&cfg, toml).with_context(|| format!("writing {}", cfg.display()))?;
    println!("{}\n{}", clip.display(), cfg.display());
    Ok(())
}

fn test_camera(a: TestCameraArgs) -> anyhow::Result<()> {
    if !(64..=3840).contains(&a.width) || !(64..=2160).contains(&a.height) || !(1..=60).contains(&a.fps) {
        return Err(UsageError("--width 64..3840, --height 64..2160, --fps 1..60".into()).into());
    }
    let cam = LiveCamera::start(CameraSpec { width: a.width & !1, height: a.height & !1, fps: a.fps, gop: a.fps })?;
    println!("{}", cam.url);
    if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
        let _ = rt.block_on(tokio::signal::ctrl_c());
    }
    drop(cam);
    Ok(())
}
