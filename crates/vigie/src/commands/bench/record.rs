//! `vigie bench record`: CPU per 1080p stream for stream-copy recording and for masked
//! re-encoding (streams per core for each), and live-view latency on localhost with 1, 10
//! and 50 viewers of one camera, with the hub's CPU at each.
//!
//! - Recording: one camera-like 1080p H.264 file (test pattern with sensor noise at a
//!   camera's bit rate, 6 Mbit/s) recorded by several recorders at once, as fast as they
//!   go, into segment files (FFmpeg child + splitter + segmenter + disk: the whole path).
//!   CPU time comes from `/proc/self/stat` (this process and its reaped children), so wall
//!   time on the shared machine does not matter; CPU per stream is CPU-seconds per second
//!   of video, streams per core its inverse.
//! - Live view: an in-process hub, a live test camera whose frames carry their capture
//!   time as a bar code, the recorder (masks burned in) publishing to the hub, viewers over
//!   WebSocket; one of them decodes with FFmpeg and reads the bar code of every frame:
//!   glass-to-glass latency (capture → decoded frame, display excluded). The hub's CPU is
//!   that of its own runtime threads (`/proc/self/task`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use vigie_record::config::parse;
use vigie_record::live::{LiveViewer, Received};
use vigie_record::recorder::{RecorderOptions, record_camera};
use vigie_record::runner::{RunOptions, run};
use vigie_record::simulate::camera::{CameraSpec, LiveCamera};
use vigie_record::simulate::media::{ClipSpec, synth_clip};
use vigie_record::simulate::timecode;
use vigie_record::upload::UploadTarget;

use super::percentile;

#[derive(Args)]
pub struct RecordBenchArgs {
    /// A CI-sized run (well under 30 s).
    #[arg(long)]
    smoke: bool,
    /// Seconds of 1080p video per recorder (full run).
    #[arg(long, default_value_t = 60.0)]
    secs: f64,
    /// Recorders at once, stream copy.
    #[arg(long, default_value_t = 4)]
    copy_streams: usize,
    /// Recorders at once, masked re-encode.
    #[arg(long, default_value_t = 2)]
    masked_streams: usize,
    /// libx264 preset of the masked recordings (the recording default is veryfast).
    #[arg(long, default_value = "veryfast")]
    preset: String,
    /// Live test camera size (1280×720 by default: on a 2-core machine a 1080p camera,
    /// its masked re-encode and a decoding viewer do not fit beside each other).
    #[arg(long, default_value_t = 1280)]
    live_width: u32,
    #[arg(long, default_value_t = 720)]
    live_height: u32,
    /// Seconds measured per viewer count (full run).
    #[arg(long, default_value_t = 20.0)]
    live_secs: f64,
    /// Scratch folder (default: a fresh one under the system's temp dir); the 1080p clip
    /// is kept there between runs.
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

/// CPU seconds of this process and of its reaped children (`/proc/self/stat`, 100 Hz).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    let get = |i: usize| f.get(i - 3).copied().unwrap_or(0.0) / 100.0;
    get(14) + get(15) + get(16) + get(17)
}

/// CPU seconds of this process's threads whose name starts with `prefix`.
fn threads_cpu(prefix: &str) -> f64 {
    let Ok(rd) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    rd.flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("stat")).ok())
        .filter(|s| s.split_once('(').and_then(|(_, r)| r.split_once(')')).is_some_and(|(n, _)| n.starts_with(prefix)))
        .map(|s| {
            let after = s.rsplit_once(')').map_or("", |(_, r)| r).to_owned();
            let f: Vec<f64> = after.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
            (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
        })
        .sum()
}

const MASKS: &str = "masks = [ { name = \"fenetres\", points = [[0.55, 0.10], [0.90, 0.10], [0.90, 0.50], [0.55, 0.50]] }, \
                     { name = \"porte\", points = [[0.05, 0.55], [0.20, 0.55], [0.20, 0.95], [0.05, 0.95]] } ]";

struct Recording {
    cpu_per_stream: f64,
    realtime_x: f64,
    segments: usize,
    encoder: String,
}

/// Records `streams` copies of `clip` at once; CPU per second of video per stream.
fn record_many(work: &Path, clip: &Path, streams: usize, secs: f64, extra: &str) -> anyhow::Result<Recording> {
    let spool = work.join(format!("spool-{}", ulid::Ulid::new()));
    let cams: Vec<_> = (0..streams)
        .map(|i| {
            let text = format!(
                "[[cameras]]\nid = \"cam-bench-{i}\"\nurl = \"{}\"\nsegment_secs = 10\n{extra}\n",
                clip.display()
            );
            parse(&text, &work.join("recording.toml")).map(|mut c| c.cameras.remove(0))
        })
        .collect::<Result<_, _>>()?;
    let opts = RecorderOptions::new(&spool);
    let (cpu0, t0) = (cpu_secs(), Instant::now());
    let handles: Vec<_> = cams
        .into_iter()
        .map(|c| {
            let o = opts.clone();
            std::thread::spawn(move || record_camera(c, &o, None, Arc::new(AtomicBool::new(false)), |_| {}))
        })
        .collect();
    let mut segments = 0;
    let mut encoder = String::new();
    for h in handles {
        let r = h.join().map_err(|_| anyhow::anyhow!("a recorder panicked"))??;
        anyhow::ensure!(r.fragments > 0, "camera {} recorded nothing: {}", r.camera, r.end);
        segments += r.segments.len();
        encoder = r.encoder;
    }
    let (cpu, wall) = (cpu_secs() - cpu0, t0.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&spool);
    let video = secs * streams as f64;
    Ok(Recording { cpu_per_stream: cpu / video, realtime_x: video / wall / streams as f64, segments, encoder })
}

struct LiveFigures {
    viewers: usize,
    frames: usize,
    p50_ms: f64,
    p95_ms: f64,
    hub_cpu_share: f64,
    bytes_per_viewer: u64,
}

/// A viewer that only receives (counts bytes).
fn silent_viewer(mut v: LiveViewer, stop: Arc<AtomicBool>, bytes: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        match v.receive() {
            Ok(Received::Media(b)) => {
                bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
            }
            Ok(Received::Text(_)) => {}
            _ => break,
        }
    }
    v.close();
}

/// A viewer that decodes with FFmpeg and reads the time code of each frame.
fn decoding_viewer(mut v: LiveViewer, w: u32, h: u32, secs: f64) -> anyhow::Result<Vec<f64>> {
    let mut ff = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-fflags", "nobuffer", "-flags", "low_delay", "-probesize", "32"])
        .args(["-analyzeduration", "0", "-f", "mp4", "-i", "pipe:0", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the viewer's ffmpeg")?;
    let (Some(mut stdin), Some(mut stdout)) = (ff.stdin.take(), ff.stdout.take()) else {
        anyhow::bail!("ffmpeg pipes");
    };
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = vec![0u8; (w * h) as usize];
        while Instant::now() < until && stdout.read_exact(&mut buf).is_ok() {
            let now = chrono::Utc::now().timestamp_millis() as f64;
            if let Some(ms) = timecode::read(&buf, w, h) {
                out.push(now - ms as f64);
            }
        }
        out
    });
    while !reader.is_finished() {
        match v.receive() {
            Ok(Received::Media(b)) => {
                if stdin.write_all(&b).and_then(|_| stdin.flush()).is_err() {
                    break;
                }
            }
            Ok(Received::Text(_)) => {}
            _ => break,
        }
    }
    drop(stdin);
    let _ = ff.kill();
    let _ = ff.wait();
    v.close();
    reader.join().map_err(|_| anyhow::anyhow!("viewer reader panicked"))
}

fn live(a: &RecordBenchArgs, work: &Path, counts: &[usize], secs: f64) -> anyhow::Result<Vec<LiveFigures>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("vigie-hub-bench")
        .enable_all()
        .build()?;
    let data = work.join(format!("hub-{}", ulid::Ulid::new()));
    let config = Arc::new(vigie_model::config::Config::from_toml(
        "[[sensors]]\nid = \"cam-bench-live\"\ntype = \"camera\"\nname = \"Banc d'essai\"\nlon = -1.5592\nlat = 47.2133\nanalytics = [\"video.crowd_density\"]\n",
        Path::new("bench.toml"),
        None,
    )?);
    let opts = vigie_hub::HubOptions {
        config,
        http_listen: "127.0.0.1:0".parse()?,
        store_url: data.join("vigie.db").display().to_string(),
        mqtt: vigie_hub::MqttMode::Off,
        clock: Arc::new(chrono::Utc::now),
    };
    std::fs::create_dir_all(&data)?;
    let hub = rt.block_on(vigie_hub::Hub::start_with_recordings(
        opts,
        Some(data.join("audit")),
        Some(data.join("evidence")),
        vigie_hub::retention::RecordingBudget::default(),
    ))?;
    let url = format!("http://{}", hub.http_addr);
    let scope = vigie_hub::store::SensorScope::Only(vec!["cam-bench-live".into()]);
    let (_, device) = hub.auth.create_token("bench recorder", None, scope, "bench")?;
    let pw = "Banc-d-essai-du-mur-video";
    hub.auth.create_user_with_password("operateur", vigie_hub::auth::Role::Operator, "Opérateur", pw, false)?;
    let session = rt.block_on(hub.auth.login("operateur", pw, "127.0.0.1".parse()?))?;
    let cookie = format!("vigie_session={}", session.cookie_value);

    let (w, h) = (a.live_width & !1, a.live_height & !1);
    let camera = LiveCamera::start(CameraSpec { width: w, height: h, fps: 25, gop: 25 })?;
    let text = format!(
        "[[cameras]]\nid = \"cam-bench-live\"\nurl = \"{}\"\nsegment_secs = 10\nkeyframe_secs = 1\npreset = \"{}\"\n{MASKS}\n",
        camera.url, a.preset
    );
    let rec = parse(&text, &work.join("live.toml"))?;
    let run_opts = RunOptions {
        recorder: RecorderOptions::new(&rec.spool_dir),
        hub: Some(UploadTarget { hub: url.clone(), token: Some(device) }),
        drain_secs: 5.0,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let runner = {
        let stop = stop.clone();
        std::thread::spawn(move || run(&rec, &run_opts, stop))
    };
    // Wait for the camera to be live (the recorder probes, then starts).
    let t0 = Instant::now();
    let first = loop {
        match LiveViewer::connect(&url, "cam-bench-live", &[("cookie", &cookie)]) {
            Ok(v) => break v,
            Err(e) if t0.elapsed() < Duration::from_secs(40) && e.starts_with("404") => {
                std::thread::sleep(Duration::from_millis(200))
            }
            Err(e) => anyhow::bail!("live view never opened: {e}"),
        }
    };
    // Warm-up: let the encoder and the decoder settle.
    let _ = decoding_viewer(first, w, h, 2.0)?;
    let mut out = Vec::new();
    for &n in counts {
        let stop_silent = Arc::new(AtomicBool::new(false));
        let bytes = Arc::new(AtomicU64::new(0));
        let silent: Vec<_> = (1..n)
            .map(|_| {
                let v = LiveViewer::connect(&url, "cam-bench-live", &[("cookie", &cookie)])
                    .map_err(|e| anyhow::anyhow!("viewer: {e}"))?;
                let (s, b) = (stop_silent.clone(), bytes.clone());
                Ok(std::thread::spawn(move || silent_viewer(v, s, b)))
            })
            .collect::<anyhow::Result<_>>()?;
        let decoding = LiveViewer::connect(&url, "cam-bench-live", &[("cookie", &cookie)])
            .map_err(|e| anyhow::anyhow!("viewer: {e}"))?;
        let (hub0, t) = (threads_cpu("vigie-hub-bench"), Instant::now());
        let mut lat = decoding_viewer(decoding, w, h, secs)?;
        let hub_cpu = (threads_cpu("vigie-hub-bench") - hub0) / t.elapsed().as_secs_f64();
        stop_silent.store(true, Ordering::Relaxed);
        for s in silent {
            let _ = s.join();
        }
        anyhow::ensure!(lat.len() > 10, "the decoding viewer read {} time codes", lat.len());
        lat.sort_by(f64::total_cmp);
        out.push(LiveFigures {
            viewers: n,
            frames: lat.len(),
            p50_ms: percentile(&lat, 0.5),
            p95_ms: percentile(&lat, 0.95),
            hub_cpu_share: hub_cpu,
            bytes_per_viewer: bytes.load(Ordering::Relaxed) / (n.saturating_sub(1).max(1) as u64),
        });
        eprintln!(
            "live, {n} viewer(s): latency p50 {:.0} ms, p95 {:.0} ms over {} frames; hub CPU {:.1} % of a core",
            out.last().map_or(0.0, |f| f.p50_ms),
            out.last().map_or(0.0, |f| f.p95_ms),
            out.last().map_or(0, |f| f.frames),
            hub_cpu * 100.0
        );
    }
    stop.store(true, Ordering::Relaxed);
    let _ = runner.join();
    drop(camera);
    rt.block_on(hub.stop());
    let _ = std::fs::remove_dir_all(&data);
    Ok(out)
}

pub fn run_bench(a: RecordBenchArgs) -> anyhow::Result<()> {
    let work = match &a.work_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join("vigie-bench-record"),
    };
    std::fs::create_dir_all(&work)?;
    let (secs, copy_n, masked_n, live_secs, counts): (f64, usize, usize, f64, Vec<usize>) = if a.smoke {
        (4.0, 1, 1, 3.0, vec![1, 3])
    } else {
        (a.secs, a.copy_streams.max(1), a.masked_streams.max(1), a.live_secs, vec![1, 10, 50])
    };
    let clip = work.join(format!("camera-1080p-{secs}s.mp4"));
    if !clip.exists() {
        eprintln!("making a {secs} s 1080p camera-like clip (6 Mbit/s)…");
        synth_clip(&clip, &ClipSpec::new(1920, 1080, secs))?;
    }
    let copy = record_many(&work, &clip, copy_n, secs, "")?;
    eprintln!(
        "stream copy: {:.4} CPU-s per second of 1080p video per stream ({:.0} streams per core), {:.0}× real time, {} segments",
        copy.cpu_per_stream,
        1.0 / copy.cpu_per_stream,
        copy.realtime_x,
        copy.segments
    );
    let masked = record_many(&work, &clip, masked_n, secs, &format!("preset = \"{}\"\n{MASKS}", a.preset))?;
    eprintln!(
        "masked re-encode ({}, {}): {:.3} CPU-s per second per stream ({:.2} streams per core), {:.1}× real time",
        masked.encoder,
        a.preset,
        masked.cpu_per_stream,
        1.0 / masked.cpu_per_stream,
        masked.realtime_x
    );
    let live = live(&a, &work, &counts, live_secs)?;
    let by = |n: usize| live.iter().find(|f| f.viewers == n);
    let json = serde_json::json!({
        "bench": "record",
        "smoke": a.smoke,
        "copy_streams_per_core": 1.0 / copy.cpu_per_stream,
        "masked_streams_per_core": 1.0 / masked.cpu_per_stream,
        "live_latency_ms": live.first().map(|f| f.p50_ms),
        "copy_cpu_per_stream": copy.cpu_per_stream,
        "masked_cpu_per_stream": masked.cpu_per_stream,
        "masked_encoder": masked.encoder,
        "masked_preset": a.preset,
        "source": "1920x1080 25 fps H.264 6 Mbit/s, test pattern with sensor noise",
        "video_secs_per_stream": secs,
        "copy_streams": copy_n,
        "masked_streams": masked_n,
        "live_size": format!("{}x{}", a.live_width & !1, a.live_height & !1),
        "live": live.iter().map(|f| serde_json::json!({
            "viewers": f.viewers,
            "latency_p50_ms": f.p50_ms,
            "latency_p95_ms": f.p95_ms,
            "frames": f.frames,
            "hub_cpu_share": f.hub_cpu_share,
            "bytes_per_silent_viewer": f.bytes_per_viewer,
        })).collect::<Vec<_>>(),
        "hub_cpu_share_1_viewer": by(1).map(|f| f.hub_cpu_share),
        "hub_cpu_share_10_viewers": by(10).map(|f| f.hub_cpu_share),
        "hub_cpu_share_50_viewers": by(50).map(|f| f.hub_cpu_share),
    });
    println!("{json}");
    Ok(())
}
