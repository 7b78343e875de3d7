//! `vigie bench …`: measured figures, each run ending with one line of JSON.

mod audio;
mod audio_latency;
mod audit;
mod console;
mod flows;
mod ingest;
mod publisher;
mod record;
mod social;
mod sse;
mod video;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Acoustic analytics on simulated scenarios: TDOA localisation error, detection
    /// recall/precision per class and SNR, false events per sensor-hour, channels per core.
    Audio(audio::AudioBenchArgs),
    /// Audit log: durable appends per second, time to integrate a batch into a signed
    /// checkpoint, proof generation/verification speed, reopen and full-verify times.
    Audit(audit::AuditBenchArgs),
    /// The operator console in headless Chromium with 15 000 sensors and 2 000 open
    /// incidents: time to first usable screen, frame times under 50 incident updates/s.
    Console(console::ConsoleArgs),
    /// Mobility flows on a generated metropolitan day (150 M events): all indicators with
    /// the k-threshold vs DuckDB's SQL on the same Parquet, peak memory, accuracy against
    /// the ground truth, a planted gathering found, false anomalies per zone-week.
    Flows(flows::FlowsBenchArgs),
    /// Detections/s accepted, fused and committed over MQTT from a separate process, the
    /// broker's pass-through rate, publish→incident latency on the live stream, peak memory
    /// with a full fusion window.
    Ingest(ingest::IngestArgs),
    /// (internal) The publisher process of `bench ingest`.
    #[command(hide = true)]
    IngestPublisher(publisher::PublisherArgs),
    /// Online-media alerting on generated streams of the demo city: posts/s end to end,
    /// indexing posts/s, planted events found and minutes to alert, false bursts per day,
    /// geoparsing district accuracy, sentiment macro-F1 on the labelled test set.
    Social(social::SocialBenchArgs),
    /// Video analytics: 1280×720 H.264 streams at 5 fps analysed per core (motion path) vs
    /// FFmpeg decode-only of the same file, and precision/recall of each rule on synthetic
    /// scenes with ground truth.
    Video(video::VideoBenchArgs),
    /// Recording and live view: CPU per 1080p stream for stream copy and for masked
    /// re-encoding (streams per core), live-view latency and hub CPU with 1, 10 and 50 viewers.
    Record(record::RecordBenchArgs),
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Audio(a) => audio::run(a),
        BenchCommand::Audit(a) => audit::run(a),
        BenchCommand::Console(a) => console::run(a),
        BenchCommand::Flows(a) => flows::run(a),
        BenchCommand::Ingest(a) => ingest::run(a),
        BenchCommand::IngestPublisher(a) => publisher::run(a),
        BenchCommand::Social(a) => social::run(a),
        BenchCommand::Video(a) => video::run(a),
        BenchCommand::Record(a) => record::run_bench(a),
    }
}

/// Peak resident memory of this process (VmHWM), in MiB.
pub(crate) fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
