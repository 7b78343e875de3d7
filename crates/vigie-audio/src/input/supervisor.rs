//! The FFmpeg child process of one input, supervised (the child's plumbing — pipes, log
//! thread, stall watchdog, exit reasons, back-off — is `vigie-ffmpeg`'s, shared with video
//! analysis and recording).
//!
//! A corrupt stream or a decoder crash kills a child process, not the listener. The
//! supervisor:
//! - reads whole chunks of `f32le` samples from stdout, stamping each on arrival; a watchdog
//!   kills a child that sends nothing for `stall_timeout_secs` (a stream that stalls);
//! - reads stderr (`-loglevel level+info`): the source's channel count (checked against the
//!   microphones' channels), decoder errors (corrupt data, counted), the last error line;
//! - respawns live inputs with exponential back-off (`reconnect_min_secs` doubling up to
//!   `reconnect_max_secs`); a file ends at its end, and a file that cannot be decoded is
//!   reported once.
//!
//! Health: `online` at the first audio of each connection, `offline` once per outage,
//! `input_corrupt` (at most every 10 s) while the decoder reports errors.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use vigie_ffmpeg::log::is_problem;
use vigie_ffmpeg::{Backoff, Supervised};

use super::command::{ffmpeg_args, is_decoder_error, parse_channels, redact};
use super::{InputConfig, InputStats, SourceEvent};
use crate::error::AudioError;
use crate::stages::health::HealthStatus;

/// What the log says of the source.
#[derive(Debug, Default)]
struct SourceLog {
    /// The input stream's description and channel count.
    source: Option<(String, Option<usize>)>,
    /// The output section of the log started (stream lines after it are ours).
    in_output: bool,
}

/// Runs one input until it ends or `stop` is set.
pub struct FfmpegSource {
    cfg: InputConfig,
    pub stats: Arc<InputStats>,
}

struct Connection {
    reason: String,
    /// A failure that the next attempt would repeat (a channel the source lacks).
    permanent: bool,
}

impl FfmpegSource {
    pub fn new(cfg: InputConfig) -> FfmpegSource {
        FfmpegSource { cfg, stats: Arc::new(InputStats::default()) }
    }

    fn health(&self, status: HealthStatus, detail: String) -> SourceEvent {
        SourceEvent::Health { status, detail, time: Utc::now() }
    }

    pub fn run(self, tx: SyncSender<SourceEvent>, stop: Arc<AtomicBool>) {
        let mut attempt = 0u32;
        // One `offline` per outage, however many attempts it takes.
        let mut offline_reported = false;
        loop {
            if stop.load(Ordering::Relaxed) {
                let _ = tx.send(SourceEvent::End { reason: "stopped".into() });
                return;
            }
            match self.connect_once(&tx, &stop) {
                Ok(c) if !self.cfg.live => {
                    let _ = tx.send(SourceEvent::Disconnected { reason: c.reason.clone() });
                    let _ = tx.send(SourceEvent::End { reason: c.reason });
                    return;
                }
                Ok(c) => {
                    // A live stream that ran then ended: report it, reconnect soon.
                    attempt = 1;
                    let _ = tx.send(SourceEvent::Disconnected { reason: c.reason.clone() });
                    if !stop.load(Ordering::Relaxed) {
                        let _ = tx.send(self.health(HealthStatus::Offline, c.reason));
                        offline_reported = true;
                    }
                }
                Err(c) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                    if !offline_reported && !stop.load(Ordering::Relaxed) {
                        offline_reported = true;
                        let status = if self.cfg.live { HealthStatus::Offline } else { HealthStatus::InputUnreadable };
                        let _ = tx.send(self.health(status, c.reason.clone()));
                    }
                    let exhausted = c.permanent
                        || match self.cfg.max_attempts {
                            Some(m) => attempt >= m,
                            None => !self.cfg.live,
                        };
                    if exhausted {
                        let _ = tx.send(SourceEvent::End { reason: c.reason });
                        return;
                    }
                }
            }
            if stop.load(Ordering::Relaxed) {
                continue;
            }
            Backoff { min_secs: self.cfg.reconnect_min_secs, max_secs: self.cfg.reconnect_max_secs }
                .wait(attempt, &stop);
        }
    }

    /// One FFmpeg process: spawn, read chunks until it exits or stalls.
    fn connect_once(&self, tx: &SyncSender<SourceEvent>, stop: &Arc<AtomicBool>) -> Result<Connection, Connection> {
        let fail = |reason: String| Connection { reason, permanent: false };
        let state = Arc::new(Mutex::new(SourceLog::default()));
        let reader = {
            let state = Arc::clone(&state);
            move |line: &str| {
                let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
                if line.contains("Output #0") {
                    st.in_output = true;
                }
                if !st.in_output && st.source.is_none() && line.contains("Stream #") && line.contains("Audio:") {
                    let desc = line.split_once("Audio:").map_or("", |(_, d)| d).trim();
                    st.source = Some((desc.chars().take(120).collect(), parse_channels(line)));
                }
                // Complaints before the source is described are about opening it, not its data.
                is_problem(line) && is_decoder_error(line) && st.source.is_some()
            }
        };
        let timeout = Duration::from_secs_f64(self.cfg.stall_timeout_secs.max(0.1));
        let mut child = match Supervised::spawn(&self.cfg.ffmpeg, &ffmpeg_args(&self.cfg), timeout, stop, reader) {
            Ok(c) => c,
            Err(source) => {
                let e = AudioError::Spawn {
                    input: self.cfg.name.clone(),
                    program: self.cfg.ffmpeg.display().to_string(),
                    source,
                };
                return Err(Connection { reason: e.to_string(), permanent: true });
            }
        };
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        let n_ch = self.cfg.channels.len();
        let chunk_bytes = self.cfg.chunk_frames() * n_ch * 4;
        let mut buf = vec![0u8; chunk_bytes];
        let mut chunks = 0u64;
        let mut reported_errors = 0u64;
        let mut last_corrupt_report: Option<Instant> = None;
        let mut refused: Option<String> = None;
        while let Ok(filled) = child.read_full(&mut buf) {
            let more = filled == buf.len();
            let whole = filled - filled % (n_ch * 4);
            if whole == 0 {
                break;
            }
            let arrival = Utc::now();
            if chunks == 0 {
                // The log describes the input before any sample is written; give its
                // reader a moment to catch up, then check the channels.
                let wait_until = Instant::now() + Duration::from_millis(300);
                let mut source = None;
                while Instant::now() < wait_until {
                    source = state.lock().ok().and_then(|s| s.source.clone());
                    if source.is_some() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                let needed = self.cfg.channels.iter().max().map_or(1, |c| c + 1);
                if let Some((_, Some(have))) = &source
                    && *have < needed
                {
                    refused = Some(format!(
                        "{} has {have} channel(s), but a microphone is on channel {}",
                        redact(&self.cfg.url),
                        needed - 1
                    ));
                    break;
                }
                let detail = match &source {
                    Some((desc, _)) => {
                        format!("receiving {desc}; analysing {n_ch} channel(s) at {} Hz", self.cfg.sample_rate)
                    }
                    None => format!("receiving; analysing {n_ch} channel(s) at {} Hz", self.cfg.sample_rate),
                };
                let _ = tx.send(SourceEvent::Connected { detail: detail.clone() });
                let _ = tx.send(self.health(HealthStatus::Online, detail));
            }
            let samples: Vec<f32> = buf[..whole]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .map(|x| if x.is_finite() { x } else { 0.0 })
                .collect();
            chunks += 1;
            self.stats.frames.fetch_add((whole / (n_ch * 4)) as u64, Ordering::Relaxed);
            if tx.send(SourceEvent::Chunk { samples, arrival }).is_err() {
                break;
            }
            let errors = child.decoder_errors();
            if errors > reported_errors && last_corrupt_report.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                let _ = tx.send(self.health(
                    HealthStatus::InputCorrupt,
                    format!("{} decoder errors (corrupt data), analysis goes on", errors - reported_errors),
                ));
                self.stats.decoder_errors.fetch_add(errors - reported_errors, Ordering::Relaxed);
                reported_errors = errors;
                last_corrupt_report = Some(Instant::now());
            }
            if !more {
                break;
            }
        }
        let exit = child.finish();
        if exit.decoder_errors > reported_errors {
            let _ = tx.send(self.health(
                HealthStatus::InputCorrupt,
                format!("{} decoder errors (corrupt data), analysis goes on", exit.decoder_errors - reported_errors),
            ));
            self.stats.decoder_errors.fetch_add(exit.decoder_errors - reported_errors, Ordering::Relaxed);
        }
        if let Some(reason) = refused {
            return Err(Connection { reason, permanent: !self.cfg.live });
        }
        let sample = n_ch as u64 * 4;
        let reason = if let Some(trouble) =
            exit.trouble(&self.cfg.url, self.cfg.stall_timeout_secs, stop.load(Ordering::Relaxed))
        {
            if exit.stalled {
                self.stats.stalls.fetch_add(1, Ordering::Relaxed);
            }
            trouble
        } else if !exit.bytes.is_multiple_of(sample) {
            format!("stream ended inside a sample ({} bytes left over)", exit.bytes % sample)
        } else {
            "end of stream".into()
        };
        if chunks > 0 { Ok(Connection { reason, permanent: false }) } else { Err(fail(reason)) }
    }
}
