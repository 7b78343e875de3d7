//! Stage `health`: sensor health, published on `vigie/v1/status/{sensor}`, never as audio.
//!
//! - `silent`: the input stayed below `silence_dbfs` for `silence_secs` (a dead or
//!   unplugged microphone, digital zeros); `sound_restored` when sound returns;
//! - `clock_unsynchronised`: the clock's offset from UTC exceeds `clock_max_offset_ms` —
//!   measured by the host (PTP/NTP/GNSS) and given to the listener, or, on a live stream,
//!   the drift between the samples' count and their arrival (see `input::clock`): onsets
//!   are then flagged `clock_ok = false` and `locate` leaves them out of the TDOA solution;
//!   `clock_synchronised` when it is back within bounds;
//! - `online` / `offline`: a live input's connection is up / lost (refused, died, stalled);
//!   `offline` is what the hub turns into `system.sensor_offline`;
//! - `input_truncated`, `input_corrupt`, `input_unreadable`: the decoder stopped early,
//!   skipped corrupt packets, or could not read the input at all;
//! - `classifier_failed`: the optional ONNX tagger failed on an event (the rules took over).

use serde::Serialize;

/// What a health event says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Online,
    Offline,
    Silent,
    SoundRestored,
    ClockUnsynchronised,
    ClockSynchronised,
    InputTruncated,
    InputCorrupt,
    InputUnreadable,
    ClassifierFailed,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Online => "online",
            HealthStatus::Offline => "offline",
            HealthStatus::Silent => "silent",
            HealthStatus::SoundRestored => "sound_restored",
            HealthStatus::ClockUnsynchronised => "clock_unsynchronised",
            HealthStatus::ClockSynchronised => "clock_synchronised",
            HealthStatus::InputTruncated => "input_truncated",
            HealthStatus::InputCorrupt => "input_corrupt",
            HealthStatus::InputUnreadable => "input_unreadable",
            HealthStatus::ClassifierFailed => "classifier_failed",
        }
    }
}

impl std::fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthEvent {
    pub sensor: String,
    /// UTC, RFC 3339 with milliseconds.
    pub time: String,
    pub status: HealthStatus,
    pub detail: String,
}

/// Watches the level of one channel for silence.
#[derive(Debug, Clone)]
pub struct SilenceWatch {
    block: usize,
    threshold: f64,
    needed_blocks: u64,
    acc: f64,
    n: usize,
    quiet_blocks: u64,
    silent: bool,
}

impl SilenceWatch {
    pub fn new(sample_rate: u32, silence_dbfs: f64, silence_secs: f64) -> SilenceWatch {
        let block = (sample_rate as usize / 10).max(1);
        SilenceWatch {
            block,
            threshold: 10f64.powf(silence_dbfs / 10.0),
            needed_blocks: (silence_secs * 10.0).ceil().max(1.0) as u64,
            acc: 0.0,
            n: 0,
            quiet_blocks: 0,
            silent: false,
        }
    }

    /// Feeds samples; returns `(sample offset in the slice, now_silent)` on each change.
    pub fn process(&mut self, samples: &[f32]) -> Vec<(usize, bool)> {
        let mut out = Vec::new();
        for (i, &x) in samples.iter().enumerate() {
            self.acc += (x as f64) * (x as f64);
            self.n += 1;
            if self.n == self.block {
                let quiet = self.acc / self.block as f64 <= self.threshold;
                self.acc = 0.0;
                self.n = 0;
                self.quiet_blocks = if quiet { self.quiet_blocks + 1 } else { 0 };
                let now_silent = self.quiet_blocks >= self.needed_blocks;
                if now_silent != self.silent && (now_silent || !quiet) {
                    self.silent = now_silent;
                    out.push((i, now_silent));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_silence_then_recovery_once_each() {
        let mut w = SilenceWatch::new(1000, -90.0, 2.0);
        let loud: Vec<f32> = (0..3000).map(|i| (i as f32 * 0.3).sin() * 0.1).collect();
        assert!(w.process(&loud).is_empty());
        let changes = w.process(&vec![0.0; 5000]);
        assert_eq!(changes.len(), 1);
        assert!(changes[0].1);
        let back = w.process(&loud);
        assert_eq!(back.len(), 1);
        assert!(!back[0].1);
    }

    #[test]
    fn statuses_serialise_as_their_names() {
        for s in [HealthStatus::Offline, HealthStatus::ClockUnsynchronised, HealthStatus::SoundRestored] {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.as_str()));
        }
    }
}
