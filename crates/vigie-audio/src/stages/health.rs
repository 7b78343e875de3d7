//! Stage `health`: sensor health, published on `vigie/v1/status/{sensor}`, never as audio.
//!
//! - `silent`: the input stayed below `silence_dbfs` for `silence_secs` (a dead or
//!   unplugged microphone, digital zeros); `ok` when sound returns;
//! - `clock_unsynchronised`: the disciplined clock's offset (PTP/NTP/GNSS, measured by the
//!   host) exceeds `clock_max_offset_ms`: onsets are then flagged `clock_ok = false` and
//!   `locate` leaves them out of the TDOA solution;
//! - `input_truncated`, `input_corrupt`: the decoder stopped early or skipped packets.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthEvent {
    pub sensor: String,
    pub time: String,
    pub status: &'static str,
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
}
