//! `vigie bench console`: the operator console in headless Chromium against a hub in this
//! process (SQLite, no MQTT) holding the bench city of 15 000 sensors and 2 000 open
//! incidents.
//!
//! 1. The hub starts; 2 000 `video.fire` detections from 2 000 distinct cameras (each at
//!    least 280 m from the others, beyond the fire rule's 150 m) open 2 000 incidents.
//! 2. `console/bench/console-bench.mjs` (playwright-core, Debian's Chromium) opens the
//!    console and reads the time from navigation start to `window.__vigieReady` (the queue
//!    rendered with its incidents and the map drawn, painted).
//! 3. When the script says `measuring`, this process submits detections that join existing
//!    incidents at `--rate` per second (so `update` events flow on the live stream) while
//!    the page records `requestAnimationFrame` deltas for `--seconds`.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use tokio::io::{AsyncBufReadExt, BufReader};
use vigie_hub::auth::Role;
use vigie_hub::metrics::Transport;
use vigie_hub::{Hub, HubOptions, MqttMode};

use super::ingest::{CAMERAS, MICROPHONES, bench_config};
use super::percentile;
use super::publisher::sensor_position;

#[derive(Args)]
pub struct ConsoleArgs {
    /// Seconds of frame-time measurement.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Open incidents created before the console loads.
    #[arg(long, default_value_t = 2000)]
    incidents: usize,
    /// Incident updates per second while frames are measured.
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// A short run for CI: 3 seconds of frames.
    #[arg(long)]
    smoke: bool,
    /// The Node.js binary.
    #[arg(long, default_value = "node")]
    node: String,
    /// The page script (by default console/bench/console-bench.mjs of this source tree).
    #[arg(long)]
    script: Option<PathBuf>,
    /// Chromium for the page script (its CHROMIUM variable; /usr/bin/chromium by default).
    #[arg(long)]
    chromium: Option<PathBuf>,
}

fn default_script() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../console/bench/console-bench.mjs"))
}

pub fn run(args: ConsoleArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(bench(args))
}

/// A `video.fire` detection from camera `cam` at its own position, as JSON.
fn fire(cam: usize, confidence: f64) -> String {
    let (lon, lat) = sensor_position(cam, CAMERAS);
    let id = ulid::Ulid::new();
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    format!(
        r#"{{"id":"{id}","sensor":"cam-{cam:05}","kind":"video.fire","time":"{time}","location":{{"lon":{lon},"lat":{lat},"uncertainty_m":5}},"confidence":{confidence}}}"#
    )
}

async fn bench(args: ConsoleArgs) -> anyhow::Result<()> {
    let seconds = if args.smoke { 3.0 } else { args.seconds };
    let incidents = args.incidents.clamp(1, CAMERAS);
    let script = args.script.clone().unwrap_or_else(default_script);
    if !script.exists() {
        bail!("no page script at {} (pass --script)", script.display());
    }
    let tmp = std::env::temp_dir().join(format!("vigie-bench-console-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let db = tmp.join("bench.db");
    println!(
        "bench console: {CAMERAS} cameras, {MICROPHONES} microphones, {incidents} open incidents, {} updates/s, SQLite at {}",
        args.rate,
        db.display()
    );
    let hub = Hub::start(HubOptions {
        config: Arc::new(bench_config()),
        http_listen: "127.0.0.1:0".parse()?,
        store_url: db.display().to_string(),
        mqtt: MqttMode::Off,
        clock: vigie_hub::ingest::system_clock(),
    })
    .await
    .context("cannot start the hub")?;
    let result = measure(&args, &hub, &script, seconds, incidents).await;
    hub.stop().await;
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

async fn measure(
    args: &ConsoleArgs,
    hub: &Hub,
    script: &std::path::Path,
    seconds: f64,
    incidents: usize,
) -> anyhow::Result<()> {
    // 1. The open incidents: one camera each, every camera at least one grid step apart.
    let started = Instant::now();
    let mut waiting = Vec::with_capacity(incidents);
    for cam in 0..incidents {
        let d = hub
            .ingest
            .check(Transport::Internal, fire(cam, 0.9).as_bytes(), None)
            .map_err(|r| anyhow::anyhow!("{r:?}"))?;
        waiting.push(hub.ingest.submit(d));
    }
    for rx in waiting {
        match rx.await {
            Ok(vigie_hub::ingest::Outcome::Accepted) => {}
            other => bail!("a seed detection was not accepted: {other:?}"),
        }
    }
    println!("seeded {incidents} incidents in {:.2} s", started.elapsed().as_secs_f64());

    // 2. An operator signed in (the console's first screen is measured for a session that
    //    is already open, as in a control room), then the page script.
    let (auth, password) = (hub.auth.clone(), "bench-operator-console");
    tokio::task::spawn_blocking(move || {
        auth.create_user_with_password("bench", Role::Operator, "Bench", password, false)
    })
    .await??;
    let cookie = sign_in(hub.http_addr, "bench", password).await?;
    let url = format!("http://{}/", hub.http_addr);
    let mut cmd = tokio::process::Command::new(&args.node);
    cmd.arg(script)
        .args(["--url", &url, "--seconds", &seconds.to_string(), "--incidents", &incidents.to_string()])
        .env("VIGIE_SESSION", &cookie)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if let Some(c) = &args.chromium {
        cmd.env("CHROMIUM", c);
    }
    let mut child = cmd.spawn().with_context(|| format!("cannot start {} {}", args.node, script.display()))?;
    let stdout = child.stdout.take().context("page script stdout")?;
    let mut lines = BufReader::new(stdout).lines();

    // 3. Updates while the page measures.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut updater: Option<(tokio::task::JoinHandle<()>, Instant)> = None;
    let mut page: Option<serde_json::Value> = None;
    while let Some(line) = lines.next_line().await? {
        let line = line.trim();
        if line == "measuring" && updater.is_none() {
            let (ingest, stop, sent, rate) = (hub.ingest.clone(), stop.clone(), sent.clone(), args.rate);
            let task = tokio::spawn(async move {
                let period = Duration::from_secs_f64(1.0 / rate.max(0.1));
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let mut k = 0usize;
                while !stop.load(Relaxed) {
                    tick.tick().await;
                    // Spread over the incidents, the confidence moving so each is a change.
                    let cam = (k * 7919) % incidents;
                    let conf = 0.7 + (k % 29) as f64 / 100.0;
                    if let Ok(d) = ingest.check(Transport::Internal, fire(cam, conf).as_bytes(), None) {
                        drop(ingest.submit(d));
                        sent.fetch_add(1, Relaxed);
                    }
                    k += 1;
                }
            });
            updater = Some((task, Instant::now()));
        } else if line.starts_with('{') {
            page = Some(serde_json::from_str(line).with_context(|| format!("page script printed bad JSON: {line}"))?);
        } else if !line.is_empty() {
            println!("page: {line}");
        }
    }
    stop.store(true, Relaxed);
    let updates_per_s = match updater {
        Some((task, t0)) => {
            let secs = t0.elapsed().as_secs_f64();
            let _ = task.await;
            sent.load(Relaxed) as f64 / secs.max(1e-9)
        }
        None => 0.0,
    };
    let status = child.wait().await?;
    if !status.success() {
        bail!("the page script failed: {status}");
    }
    let page = page.context("the page script printed no result")?;
    let first_screen = page["first_screen_ms"].as_f64().context("no first_screen_ms")?;
    let mut frames: Vec<f64> =
        page["frames_ms"].as_array().context("no frames_ms")?.iter().filter_map(|v| v.as_f64()).collect();
    if frames.is_empty() {
        bail!("the page recorded no frames");
    }
    let shown = page["queue_items"].as_u64().unwrap_or(0);
    let updates_seen = page["updates_seen"].as_u64().unwrap_or(0);
    frames.sort_by(f64::total_cmp);
    let (p50, p99, max) = (percentile(&frames, 0.5), percentile(&frames, 0.99), frames[frames.len() - 1]);
    let over_50 = frames.iter().filter(|f| **f > 50.0).count();
    let r1 = |x: f64| (x * 10.0).round() / 10.0;
    println!(
        "first usable screen: {first_screen:.0} ms (queue of {shown} shown, map drawn); DOMContentLoaded {:.0} ms",
        page["dom_content_loaded_ms"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "frames over {seconds:.0} s at {updates_per_s:.1} updates/s ({updates_seen} live events seen): {} frames, p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms, {over_50} over 50 ms",
        frames.len()
    );
    let json = serde_json::json!({
        "bench": "console",
        "first_screen_ms": first_screen.round(),
        "p50_frame_ms": r1(p50),
        "p99_frame_ms": r1(p99),
        "max_frame_ms": r1(max),
        "frames": frames.len(),
        "frames_over_50ms": over_50,
        "sensors": CAMERAS + MICROPHONES,
        "incidents": incidents,
        "updates_per_s": r1(updates_per_s),
        "updates_seen": updates_seen,
        "seconds": seconds,
        "chromium": page["browser"].clone(),
        "smoke": args.smoke,
    });
    println!("{json}");
    Ok(())
}

/// `POST /api/v1/login`; returns the session cookie's value.
async fn sign_in(addr: std::net::SocketAddr, username: &str, password: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::json!({ "username": username, "password": password }).to_string();
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "POST /api/v1/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(body.as_bytes()).await?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).await?;
    resp.lines()
        .find_map(|l| l.to_ascii_lowercase().starts_with("set-cookie:").then(|| l[11..].trim().to_owned()))
        .and_then(|c| c.split(';').next().and_then(|kv| kv.split_once('=')).map(|(_, v)| v.to_owned()))
        .with_context(|| format!("signing in gave no session: {}", resp.lines().next().unwrap_or("")))
}
