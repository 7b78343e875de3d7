//! `vigie audio simulate|listen|locate`: flags and wiring; the work is in `vigie-audio`.

mod live;

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use vigie_audio::pipeline::run_buffer;
use vigie_audio::simulate::{Scenario, ScenarioConfig};
use vigie_audio::stages::decode::decode_file;
use vigie_audio::stages::health::HealthStatus;
use vigie_audio::stages::locate::{associate, locate, to_detection};
use vigie_audio::{Listener, ListenerConfig, LocateConfig, Microphone, OnsetReport, Output};
use vigie_model::detection::TimeBounds;
use vigie_model::{Kind, SensorId};

use crate::UsageError;
use crate::commands::publish::{PublishArgs, publish_and_report};

#[derive(Subcommand)]
pub enum AudioCommand {
    /// Synthesise multi-sensor recordings (WAV) of events with ground truth (JSON).
    Simulate(SimulateArgs),
    /// Analyse audio (files, or live streams through FFmpeg): band levels, event
    /// detections, health; optionally publish.
    Listen(Box<ListenArgs>),
    /// Fuse sensor detections (NDJSON from `listen`) into detections at the source (TDOA).
    Locate(LocateArgs),
}

#[derive(Args)]
pub struct SimulateArgs {
    /// Output folder (created).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 4)]
    events: usize,
    #[arg(long, default_value_t = 8)]
    sensors: usize,
    #[arg(long, default_value_t = 8.0)]
    sensors_per_km2: f64,
    /// Comma-separated kinds (audio.gunshot,audio.explosion,…).
    #[arg(long, default_value = "audio.gunshot,audio.explosion")]
    classes: String,
    #[arg(long, default_value_t = 40.0)]
    snr_at_100m_db: f64,
    #[arg(long, default_value_t = 1.0)]
    jitter_ms: f64,
    #[arg(long, default_value_t = 0.25)]
    nlos_share: f64,
    #[arg(long, default_value_t = 15.0)]
    temperature_c: f64,
}

#[derive(Args)]
pub struct ListenArgs {
    /// Audio file; one channel per `--mic`. WAV, FLAC and Ogg/Vorbis are read in process,
    /// any other format (MP3, AAC, …) through FFmpeg.
    #[arg(long, conflicts_with_all = ["manifest", "url"])]
    input: Option<PathBuf>,
    /// A live input through FFmpeg: `rtsp://`, `http(s)://`, `srt://`… (reconnected with
    /// back-off, stamped on arrival by this host's clock), or a device with `--input-format`
    /// (`--input-format alsa --url hw:0`).
    #[arg(long, conflicts_with = "manifest")]
    url: Option<String>,
    /// FFmpeg input format before `-i` (`alsa`, `pulse`, …), for `--url`.
    #[arg(long, requires = "url")]
    input_format: Option<String>,
    /// Read a `--url` that is a file at its own pace, as a live sender would.
    #[arg(long)]
    realtime: bool,
    /// A stream sending nothing for this long is killed, reported and reconnected.
    #[arg(long, default_value_t = 5.0)]
    stall_timeout_secs: f64,
    /// The FFmpeg program.
    #[arg(long, default_value = "ffmpeg")]
    ffmpeg: PathBuf,
    /// The deployer's ONNX audio-tagging model (AudioSet-style labels), run inside the
    /// sensor instead of the rules; none ships with Vigie.
    #[arg(long, requires = "labels")]
    model: Option<PathBuf>,
    /// The model's labels: one per line, or AudioSet's `class_labels_indices.csv`.
    #[arg(long, requires = "model")]
    labels: Option<PathBuf>,
    /// TOML `"label" = "audio.kind"` lines replacing the default AudioSet map.
    #[arg(long, requires = "model")]
    label_map: Option<PathBuf>,
    /// A mapped label needs at least this score, else the rules decide.
    #[arg(long, default_value_t = 0.3, requires = "model")]
    model_min_score: f64,
    /// The model's outputs are logits.
    #[arg(long, requires = "model")]
    model_logits: bool,
    /// `libonnxruntime.so` (default: `ORT_DYLIB_PATH`).
    #[arg(long, requires = "model")]
    onnxruntime: Option<PathBuf>,
    /// `id:lon:lat[:channel]`, repeatable (channel defaults to the order given).
    #[arg(long)]
    mic: Vec<String>,
    /// Time stamp of the first sample (RFC 3339, from the disciplined clock); default: now.
    #[arg(long)]
    start: Option<DateTime<Utc>>,
    /// NDJSON lines `{"file","mic","lon","lat","start"}` (as written by `simulate`).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Detections (NDJSON); default stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Band levels every 125 ms (NDJSON).
    #[arg(long)]
    bands_out: Option<PathBuf>,
    #[command(flatten)]
    publish: PublishArgs,
    #[arg(long, default_value_t = 0.0)]
    clock_offset_ms: f64,
    #[arg(long, default_value_t = 5.0)]
    clock_max_offset_ms: f64,
    #[arg(long, default_value_t = 120.0)]
    calibration_db: f64,
    #[arg(long, default_value_t = 9.0)]
    threshold_db: f64,
}

#[derive(Args)]
pub struct LocateArgs {
    /// Sensor detections (NDJSON), `-` for stdin.
    #[arg(long, default_value = "-")]
    input: String,
    #[arg(long, default_value_t = 15.0)]
    temperature_c: f64,
    #[arg(long, default_value = "audio-tdoa")]
    sensor_id: String,
    #[command(flatten)]
    publish: PublishArgs,
}

#[derive(Serialize, Deserialize)]
struct ManifestLine {
    file: String,
    mic: String,
    lon: f64,
    lat: f64,
    start: DateTime<Utc>,
}

pub fn run(cmd: AudioCommand) -> anyhow::Result<()> {
    match cmd {
        AudioCommand::Simulate(a) => simulate(a),
        AudioCommand::Listen(a) => listen(*a),
        AudioCommand::Locate(a) => locate_cmd(a),
    }
}

fn parse_classes(s: &str) -> anyhow::Result<Vec<Kind>> {
    s.split(',')
        .map(|k| {
            let kind: Kind = k.trim().parse().map_err(|e| UsageError(format!("--classes: {e}")))?;
            if kind.namespace() != "audio" {
                return Err(UsageError(format!("--classes: {kind} is not an audio kind")).into());
            }
            Ok(kind)
        })
        .collect()
}

fn simulate(a: SimulateArgs) -> anyhow::Result<()> {
    if a.sensors == 0 || a.events == 0 || !(0.0..=1.0).contains(&a.nlos_share) {
        return Err(UsageError("--sensors and --events must be > 0, --nlos-share within 0..1".into()).into());
    }
    let cfg = ScenarioConfig {
        seed: a.seed,
        n_sensors: a.sensors,
        n_events: a.events,
        sensors_per_km2: a.sensors_per_km2,
        classes: parse_classes(&a.classes)?,
        snr_at_100m_db: a.snr_at_100m_db,
        jitter_ms: a.jitter_ms,
        nlos_share: a.nlos_share,
        temperature_c: a.temperature_c,
        ..ScenarioConfig::default()
    };
    let sc = Scenario::new(cfg);
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    std::fs::write(a.out.join("truth.json"), sc.truth_json())?;
    let mut manifest = String::new();
    for e in 0..sc.events.len() {
        for s in 0..sc.sensors.len() {
            let rec = sc.recording(e, s);
            let name = format!("event-{e:03}-{}.wav", sc.sensors[s].id);
            vigie_audio::wav::write_pcm16(&a.out.join(&name), sc.config.sample_rate, &[rec.samples])?;
            let line = ManifestLine {
                file: name,
                mic: sc.sensors[s].id.to_string(),
                lon: sc.sensors[s].lon,
                lat: sc.sensors[s].lat,
                start: rec.start,
            };
            manifest.push_str(&serde_json::to_string(&line)?);
            manifest.push('\n');
        }
    }
    std::fs::write(a.out.join("manifest.ndjson"), manifest)?;
    eprintln!(
        "wrote {} recordings, manifest.ndjson and truth.json to {}",
        sc.events.len() * sc.sensors.len(),
        a.out.display()
    );
    Ok(())
}

fn parse_mic(s: &str, default_channel: usize) -> anyhow::Result<Microphone> {
    let parts: Vec<&str> = s.split(':').collect();
    let bad = || UsageError(format!("--mic {s:?}: expected id:lon:lat[:channel]"));
    if !(3..=4).contains(&parts.len()) {
        return Err(bad().into());
    }
    let id = SensorId::new(parts[0]).map_err(|e| UsageError(format!("--mic: {e}")))?;
    let lon: f64 = parts[1].parse().map_err(|_| bad())?;
    let lat: f64 = parts[2].parse().map_err(|_| bad())?;
    let channel = match parts.get(3) {
        Some(c) => c.parse().map_err(|_| bad())?,
        None => default_channel,
    };
    if !((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)) {
        return Err(UsageError(format!("--mic {s:?}: lon/lat out of range")).into());
    }
    Ok(Microphone { id, lon, lat, channel })
}

/// `--mic` flags, at least one.
fn parse_mics(flags: &[String]) -> anyhow::Result<Vec<Microphone>> {
    if flags.is_empty() {
        return Err(UsageError("give at least one --mic id:lon:lat[:channel]".into()).into());
    }
    flags.iter().enumerate().map(|(i, m)| parse_mic(m, i)).collect()
}

/// Formats symphonia reads in process; FFmpeg takes the others.
fn read_in_process(path: &std::path::Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    matches!(ext.as_str(), "wav" | "wave" | "flac" | "ogg" | "oga")
}

struct Sinks {
    detections: Box<dyn Write>,
    bands: Option<std::io::BufWriter<std::fs::File>>,
    published: Vec<vigie_model::Detection>,
    counts: [usize; 3],
}

impl Sinks {
    fn take(&mut self, outs: Vec<Output>) -> anyhow::Result<()> {
        for o in outs {
            match o {
                Output::Detection(d) => {
                    writeln!(self.detections, "{}", d.to_json())?;
                    self.counts[0] += 1;
                    self.published.push(*d);
                }
                Output::Bands(b) => {
                    self.counts[1] += 1;
                    if let Some(w) = self.bands.as_mut() {
                        writeln!(w, "{}", serde_json::to_string(&b)?)?;
                    }
                }
                Output::Health(h) => {
                    self.counts[2] += 1;
                    eprintln!("{}", serde_json::to_string(&h)?);
                }
            }
        }
        Ok(())
    }
}

fn listen(a: ListenArgs) -> anyhow::Result<()> {
    let cfg = ListenerConfig {
        calibration_db: a.calibration_db,
        clock_offset_ms: a.clock_offset_ms,
        clock_max_offset_ms: a.clock_max_offset_ms,
        onset: vigie_audio::stages::onset::OnsetConfig { threshold_db: a.threshold_db, ..Default::default() },
        emit_bands: a.bands_out.is_some(),
        ..ListenerConfig::default()
    };
    cfg.validate().map_err(|e| UsageError(e.to_string()))?;
    let classifiers = live::classifier_factory(&a)?;
    let through_ffmpeg = a.input.as_deref().is_some_and(|p| !read_in_process(p));
    if a.url.is_some() || through_ffmpeg {
        return live::listen_ffmpeg(&a, &cfg, classifiers.as_deref());
    }
    let mut jobs: Vec<(PathBuf, Vec<Microphone>, DateTime<Utc>)> = Vec::new();
    if let Some(m) = &a.manifest {
        let text = std::fs::read_to_string(m).with_context(|| format!("reading {}", m.display()))?;
        let dir = m.parent().map(PathBuf::from).unwrap_or_default();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let l: ManifestLine =
                serde_json::from_str(line).map_err(|e| UsageError(format!("{} line {}: {e}", m.display(), i + 1)))?;
            let mic = parse_mic(&format!("{}:{}:{}:0", l.mic, l.lon, l.lat), 0)?;
            jobs.push((dir.join(&l.file), vec![mic], l.start));
        }
    } else {
        let input =
            a.input.clone().ok_or_else(|| UsageError("give --input FILE, --url URL or --manifest FILE".into()))?;
        jobs.push((input, parse_mics(&a.mic)?, a.start.unwrap_or_else(Utc::now)));
    }
    let detections: Box<dyn Write> = match &a.out {
        Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => Box::new(std::io::stdout()),
    };
    let bands = match &a.bands_out {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => None,
    };
    let mut sinks = Sinks { detections, bands, published: Vec::new(), counts: [0; 3] };
    let mut failures = 0usize;
    for (path, mics, start) in jobs {
        let audio = match decode_file(&path) {
            Ok(a) => a,
            Err(e) => {
                // A bad file is a health event of its microphones, not the end of the run.
                failures += 1;
                for m in &mics {
                    eprintln!(
                        "{}",
                        serde_json::json!({"sensor": m.id.as_str(), "time": Utc::now().to_rfc3339(), "status": "input_unreadable", "detail": e.to_string()})
                    );
                }
                continue;
            }
        };
        for mic in mics {
            let Some(samples) = audio.channels.get(mic.channel) else {
                return Err(UsageError(format!(
                    "--mic {}: channel {} but {} has {} channel(s)",
                    mic.id,
                    mic.channel,
                    path.display(),
                    audio.channels.len()
                ))
                .into());
            };
            let mut l =
                Listener::new(mic, audio.sample_rate, start, cfg.clone()).map_err(|e| UsageError(e.to_string()))?;
            if let Some(make) = &classifiers {
                let classifier = make(l.microphone())?;
                l = l.with_classifier(classifier);
            }
            let mut outs = Vec::new();
            if audio.truncated {
                outs.push(
                    l.health(HealthStatus::InputTruncated, format!("{}: the stream ended early", path.display())),
                );
            }
            if audio.corrupt_packets > 0 {
                outs.push(l.health(
                    HealthStatus::InputCorrupt,
                    format!("{}: {} packets skipped", path.display(), audio.corrupt_packets),
                ));
            }
            outs.extend(run_buffer(&mut l, samples));
            sinks.take(outs)?;
        }
    }
    sinks.detections.flush()?;
    if let Some(b) = sinks.bands.as_mut() {
        b.flush()?;
    }
    if let Some(mut publisher) = a.publish.connect("vigie-audio-listen")? {
        publish_and_report(&mut publisher, &sinks.published)?;
    }
    eprintln!(
        "{} detections, {} band frames, {} health events, {failures} unreadable inputs",
        sinks.counts[0], sinks.counts[1], sinks.counts[2]
    );
    Ok(())
}

fn locate_cmd(a: LocateArgs) -> anyhow::Result<()> {
    let text = if a.input == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(&a.input).with_context(|| format!("reading {}", a.input))?
    };
    let bounds = TimeBounds::new(Utc::now(), u64::MAX, u64::MAX);
    let mut reports = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let d = vigie_model::decode(line.as_bytes(), &bounds)
            .map_err(|e| UsageError(format!("{} line {}: {e}", a.input, i + 1)))?;
        if let Some(r) = OnsetReport::from_detection(&d) {
            reports.push(r);
        }
    }
    let cfg = LocateConfig {
        temperature_c: a.temperature_c,
        sensor_id: SensorId::new(a.sensor_id.clone()).map_err(|e| UsageError(format!("--sensor-id: {e}")))?,
        ..LocateConfig::default()
    };
    let mut out = Vec::new();
    for g in associate(reports, &cfg) {
        let fix = locate(&g, &cfg);
        let d = to_detection(&fix, &g, &cfg);
        println!("{}", d.to_json());
        out.push(d);
    }
    if let Some(mut publisher) = a.publish.connect("vigie-audio-locate")? {
        publish_and_report(&mut publisher, &out)?;
    }
    Ok(())
}
