//! Audio inputs through FFmpeg: live streams (RTSP, HTTP, a sound card…) and any file format
//! FFmpeg reads, as a supervised child process piping raw `f32le` samples.
//!
//! - [`command`]: the FFmpeg command line and what its log says;
//! - [`supervisor`]: the child process — watchdog for stalls, decoder errors counted from its
//!   log, reconnection with exponential back-off, health events;
//! - [`clock`]: time stamps of live streams from the arrival of their samples, and drift.
//!
//! WAV, FLAC and Ogg/Vorbis files are also read in process (`stages::decode`, symphonia);
//! FFmpeg takes everything else.

pub mod clock;
pub mod command;
pub mod supervisor;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};

pub use clock::{ClockReading, StreamClock, StreamClockConfig};
pub use command::redact;
pub use supervisor::FfmpegSource;

use crate::stages::health::HealthStatus;

/// One input: where it comes from and which of its channels are microphones.
#[derive(Debug, Clone, PartialEq)]
pub struct InputConfig {
    /// Names the input in messages (its microphones' ids).
    pub name: String,
    /// A URL (`rtsp://`, `http://`, …), a file, or any input FFmpeg opens (`-f alsa` in
    /// `input_args` with `hw:0`).
    pub url: String,
    /// Source channel of each output channel (one per microphone, in order).
    pub channels: Vec<usize>,
    /// Analysis rate: FFmpeg resamples to it.
    pub sample_rate: u32,
    /// A live stream: arrival-stamped, reconnected with back-off, never "ends".
    pub live: bool,
    /// Read a file at its own pace (`-re`), as a live source would send it.
    pub realtime: bool,
    /// Options before `-i` (input format, device options).
    pub input_args: Vec<String>,
    /// A connection that sends nothing for this long is killed and counted as a stall.
    pub stall_timeout_secs: f64,
    pub reconnect_min_secs: f64,
    pub reconnect_max_secs: f64,
    /// Give up after this many failed connections in a row (`None`: never for live inputs,
    /// once for files).
    pub max_attempts: Option<u32>,
    /// Length of the chunks read from the pipe, ms (the unit of arrival time stamps).
    pub chunk_ms: f64,
    pub ffmpeg: PathBuf,
}

impl InputConfig {
    /// Defaults: 16 kHz, a file (not live), 5-s stall timeout, back-off 1 s doubling to 30 s.
    pub fn new(url: impl Into<String>, channels: Vec<usize>, name: impl Into<String>) -> InputConfig {
        InputConfig {
            name: name.into(),
            url: url.into(),
            channels,
            sample_rate: 16_000,
            live: false,
            realtime: false,
            input_args: Vec::new(),
            stall_timeout_secs: 5.0,
            reconnect_min_secs: 1.0,
            reconnect_max_secs: 30.0,
            max_attempts: None,
            chunk_ms: 100.0,
            ffmpeg: PathBuf::from("ffmpeg"),
        }
    }

    /// A URL with a network scheme is live unless told otherwise.
    pub fn is_network_url(url: &str) -> bool {
        ["rtsp://", "rtsps://", "rtmp://", "http://", "https://", "srt://", "udp://", "rtp://", "tcp://"]
            .iter()
            .any(|s| url.starts_with(s))
    }

    pub fn chunk_frames(&self) -> usize {
        ((self.chunk_ms / 1000.0 * self.sample_rate as f64) as usize).max(1)
    }

    pub fn validate(&self) -> Result<(), crate::AudioError> {
        let bad = |m: String| Err(crate::AudioError::Config(format!("input {}: {m}", self.name)));
        if self.channels.is_empty() || self.channels.len() > 64 {
            return bad("between 1 and 64 channels must be analysed".into());
        }
        if !(8_000..=192_000).contains(&self.sample_rate) {
            return bad(format!("sample rate {} Hz is outside 8..192 kHz", self.sample_rate));
        }
        if !(self.stall_timeout_secs >= 0.2 && self.stall_timeout_secs <= 600.0) {
            return bad("stall_timeout_secs must be within 0.2..600".into());
        }
        if !(self.reconnect_min_secs >= 0.0 && self.reconnect_max_secs >= self.reconnect_min_secs) {
            return bad("reconnect_min_secs must be ≥ 0 and ≤ reconnect_max_secs".into());
        }
        if !(self.chunk_ms >= 5.0 && self.chunk_ms <= 1000.0) {
            return bad("chunk_ms must be within 5..1000".into());
        }
        Ok(())
    }
}

/// What the source sends to the analysis.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    /// A connection delivers audio (its first chunk follows).
    Connected { detail: String },
    /// Interleaved samples (`channels.len()` per frame), stamped on arrival.
    Chunk { samples: Vec<f32>, arrival: DateTime<Utc> },
    /// Health of the input as a whole (every microphone of it).
    Health { status: HealthStatus, detail: String, time: DateTime<Utc> },
    /// The connection ended (a live input will be reconnected).
    Disconnected { reason: String },
    /// The input ended for good: a file's end, attempts exhausted, or stopped.
    End { reason: String },
}

/// Counters of one input, readable while it runs.
#[derive(Debug, Default)]
pub struct InputStats {
    pub frames: AtomicU64,
    pub connections: AtomicU64,
    pub failures: AtomicU64,
    pub decoder_errors: AtomicU64,
    pub stalls: AtomicU64,
}
