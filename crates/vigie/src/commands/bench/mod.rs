//! `vigie bench …`: measured figures, each run ending with one line of JSON.

mod audio;
mod audit;
mod console;
mod ingest;
mod publisher;
mod sse;

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
    /// Detections/s accepted, fused and committed over MQTT from a separate process, the
    /// broker's pass-through rate, publish→incident latency on the live stream, peak memory
    /// with a full fusion window.
    Ingest(ingest::IngestArgs),
    /// (internal) The publisher process of `bench ingest`.
    #[command(hide = true)]
    IngestPublisher(publisher::PublisherArgs),
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Audio(a) => audio::run(a),
        BenchCommand::Audit(a) => audit::run(a),
        BenchCommand::Console(a) => console::run(a),
        BenchCommand::Ingest(a) => ingest::run(a),
        BenchCommand::IngestPublisher(a) => publisher::run(a),
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
