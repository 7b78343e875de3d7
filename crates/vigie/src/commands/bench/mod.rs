//! `vigie bench …`: measured figures, each run ending with one line of JSON.

mod ingest;
mod publisher;
mod sse;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
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
