//! Time stamps of a live stream from the arrival of its samples, and the drift of its clock.
//!
//! A live input (a sound card through FFmpeg, an RTSP or HTTP stream) carries no time stamp
//! we trust, so each chunk is stamped on arrival by the host's disciplined clock. Every chunk
//! implies a time for sample 0 of the connection: `arrival − samples_so_far / rate`. Delays
//! (buffering, network jitter, a burst after a hiccup) only ever make a chunk *later*, never
//! earlier, so the **minimum** of these implied times is the estimate:
//!
//! - while settling (the first `settle_secs` of audio and of wall time), the anchor follows
//!   the minimum: the time base is still moving and onsets are flagged;
//! - once settled the anchor is fixed, and the **drift** is the minimum implied time over the
//!   last `window_secs` minus the anchor. A sender whose sample clock runs fast (more samples
//!   per second than it says) drives it below zero, a slow one or a growing buffer above.
//!   The listener corrects its time stamps by the drift and, beyond its
//!   `clock_max_offset_ms`, flags the onsets and reports `clock_unsynchronised`.
//!
//! Precision is that of the arrivals: a few ms for a local sound card, worse over a network
//! (transport latency enters as a constant offset, which `--clock-offset-ms` can correct).

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamClockConfig {
    pub settle_secs: f64,
    pub window_secs: f64,
}

impl Default for StreamClockConfig {
    fn default() -> Self {
        StreamClockConfig { settle_secs: 2.0, window_secs: 5.0 }
    }
}

/// What the clock says after a chunk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockReading {
    /// Time of the connection's sample 0 (UTC).
    pub anchor: DateTime<Utc>,
    pub settled: bool,
    /// Drift of the stream's sample clock since it settled, ms (0 before).
    pub drift_ms: f64,
}

/// One connection's clock (a reconnection starts a new one).
#[derive(Debug, Clone)]
pub struct StreamClock {
    cfg: StreamClockConfig,
    rate: f64,
    frames: u64,
    first_arrival: Option<DateTime<Utc>>,
    anchor: Option<DateTime<Utc>>,
    settled: bool,
    /// (arrival, implied time of sample 0) of the chunks of the last `window_secs`.
    recent: VecDeque<(DateTime<Utc>, DateTime<Utc>)>,
}

impl StreamClock {
    pub fn new(sample_rate: u32, cfg: StreamClockConfig) -> StreamClock {
        StreamClock {
            cfg,
            rate: sample_rate.max(1) as f64,
            frames: 0,
            first_arrival: None,
            anchor: None,
            settled: false,
            recent: VecDeque::new(),
        }
    }

    /// A chunk of `frames` samples (per channel) arrived at `arrival`.
    pub fn observe(&mut self, frames: usize, arrival: DateTime<Utc>) -> ClockReading {
        self.frames += frames as u64;
        let implied = arrival - Duration::nanoseconds((self.frames as f64 / self.rate * 1e9).round() as i64);
        let first = *self.first_arrival.get_or_insert(arrival);
        let anchor = match self.anchor {
            Some(a) if self.settled || a <= implied => a,
            _ => implied,
        };
        self.anchor = Some(anchor);
        let waited = (arrival - first).num_milliseconds() as f64 / 1000.0;
        if !self.settled && waited >= self.cfg.settle_secs && self.frames as f64 / self.rate >= self.cfg.settle_secs {
            self.settled = true;
            // The settled minimum seeds the window, so that the first readings after
            // settling (a window of one late chunk) do not report that chunk's lateness.
            self.recent.push_back((arrival, anchor));
        }
        if !self.settled {
            return ClockReading { anchor, settled: false, drift_ms: 0.0 };
        }
        self.recent.push_back((arrival, implied));
        let horizon = arrival - Duration::milliseconds((self.cfg.window_secs * 1000.0) as i64);
        while self.recent.front().is_some_and(|(t, _)| *t < horizon) {
            self.recent.pop_front();
        }
        let low = self.recent.iter().map(|(_, i)| *i).min().unwrap_or(implied);
        let drift_ms = (low - anchor).num_microseconds().unwrap_or(0) as f64 / 1000.0;
        ClockReading { anchor, settled: true, drift_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        "2026-11-22T21:30:00Z".parse().unwrap()
    }

    /// Chunks of 100 ms at `rate_factor` × real time, each late by up to `jitter_ms`.
    fn run(rate_factor: f64, jitter_ms: &[i64], secs: f64) -> Vec<ClockReading> {
        let mut c = StreamClock::new(16_000, StreamClockConfig::default());
        let chunks = (secs * 10.0) as usize;
        (0..chunks)
            .map(|k| {
                let sent = (k + 1) as f64 * 0.1 / rate_factor;
                let late = jitter_ms[k % jitter_ms.len()];
                let at = t0() + Duration::milliseconds((sent * 1000.0) as i64 + 40 + late);
                c.observe(1600, at)
            })
            .collect()
    }

    #[test]
    fn jitter_and_an_initial_burst_do_not_make_drift() {
        let r = run(1.0, &[0, 7, 30, 2, 0, 90, 5], 20.0);
        let last = r.last().unwrap();
        assert!(last.settled);
        // Sample 0 was captured at t0; the minimum delay was 40 ms.
        assert_eq!(last.anchor, t0() + Duration::milliseconds(40));
        assert!(r.iter().all(|x| x.drift_ms.abs() < 1.0), "{:?}", r.iter().map(|x| x.drift_ms).collect::<Vec<_>>());
        assert!(!r[5].settled);
    }

    #[test]
    fn a_fast_or_slow_sample_clock_is_measured() {
        // 1 % fast: after 20 s, 18 s of settled time: about −180 ms.
        let fast = run(1.01, &[0, 3], 20.0);
        let d = fast.last().unwrap().drift_ms;
        assert!((-200.0..-150.0).contains(&d), "{d}");
        let slow = run(0.99, &[0, 3], 20.0);
        let d = slow.last().unwrap().drift_ms;
        assert!((100.0..200.0).contains(&d), "{d}");
    }
}
