//! Stage `onset`: finds impulsive and salient events in one channel and times their onset.
//!
//! Method (documented in `docs/audio.md`):
//! 1. a first-order high-pass (default 100 Hz) removes rumble;
//! 2. the energy of 2-ms blocks is compared with a background estimate (an exponential mean
//!    of block energy over ~1.5 s, frozen during events): an event starts when a block rises
//!    `threshold_db` above it (energy-ratio onset), and ends after `hangover_ms` below
//!    `end_db`, or after `max_event_ms` (long sounds such as sirens are then muted until they
//!    stop); an event whose loudest block stays under `confirm_db` above the background is
//!    dropped (noise bursts that only just cross the trigger);
//! 3. the onset is re-picked to the sample with the Akaike information criterion (AIC)
//!    picker used for seismic first arrivals, on the 100 ms before the trigger, then refined
//!    by a parabola to a fraction of a sample (62.5 µs at 16 kHz): sub-millisecond.
//!
//! The samples of an event stay in memory to compute features and are then dropped.

/// Settings of the onset detector.
#[derive(Debug, Clone)]
pub struct OnsetConfig {
    pub block_ms: f64,
    /// Rise above the background, dB, that starts an event.
    pub threshold_db: f64,
    /// The loudest 2-ms block of an event must reach this far above the background, dB, or
    /// the event is dropped: the onset is timed from the `threshold_db` trigger, but noise
    /// bursts that only just cross it (babble, traffic swells) are not reported.
    pub confirm_db: f64,
    /// Level above the background, dB, that keeps an event open.
    pub end_db: f64,
    pub hangover_ms: f64,
    pub max_event_ms: f64,
    /// Audio kept before the trigger (background spectrum, AIC window).
    pub pre_ms: f64,
    pub aic_ms: f64,
    pub noise_tau_s: f64,
    /// No event is started before the background is known.
    pub warmup_ms: f64,
    pub highpass_hz: f64,
    /// A sound louder than the background for this long becomes the new background.
    pub suppress_max_s: f64,
}

impl Default for OnsetConfig {
    fn default() -> Self {
        OnsetConfig {
            block_ms: 2.0,
            threshold_db: 9.0,
            confirm_db: 11.5,
            end_db: 4.0,
            hangover_ms: 150.0,
            max_event_ms: 3000.0,
            pre_ms: 300.0,
            aic_ms: 100.0,
            noise_tau_s: 1.5,
            warmup_ms: 400.0,
            highpass_hz: 100.0,
            suppress_max_s: 30.0,
        }
    }
}

/// An event found in one channel, with its audio (which never leaves the process).
#[derive(Debug, Clone)]
pub struct RawEvent {
    /// Onset, in samples since the start of the stream (fractional).
    pub onset_sample: f64,
    pub trigger_sample: u64,
    /// End of the last block above the end level.
    pub end_sample: u64,
    /// Background block level before the event, dB re full scale (high-passed).
    pub noise_db: f64,
    /// Loudest block, dB re full scale (high-passed).
    pub peak_block_db: f64,
    /// Raw samples from `offset` (before the onset) to `end_sample`.
    pub samples: Vec<f32>,
    pub offset: u64,
    /// The event was cut at `max_event_ms`.
    pub cut: bool,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Idle,
    Active { trigger: u64, last_above: u64, peak_db: f64 },
    Suppress { since: u64, last_above: u64 },
}

pub struct OnsetDetector {
    cfg: OnsetConfig,
    block: usize,
    hp_a: f32,
    hp_prev_x: f32,
    hp_prev_y: f32,
    acc: f64,
    acc_n: usize,
    pos: u64,
    noise: f64,
    noise_blocks: u64,
    /// Block energy smoothed over ~20 ms: decides when an event ends.
    smooth: f64,
    raw: Vec<f32>,
    hp: Vec<f32>,
    hist_start: u64,
    state: State,
    sr: f64,
    pre: u64,
    aic: u64,
    hangover: u64,
    max_event: u64,
    warmup: u64,
}

fn db(e: f64) -> f64 {
    10.0 * (e + 1e-20).log10()
}

impl OnsetDetector {
    pub fn new(sample_rate: u32, cfg: OnsetConfig) -> OnsetDetector {
        let sr = sample_rate as f64;
        let ms = |v: f64| (v * sr / 1000.0).round().max(1.0) as u64;
        let rc = 1.0 / (std::f64::consts::TAU * cfg.highpass_hz.max(1.0));
        let dt = 1.0 / sr;
        OnsetDetector {
            block: ms(cfg.block_ms) as usize,
            hp_a: (rc / (rc + dt)) as f32,
            hp_prev_x: 0.0,
            hp_prev_y: 0.0,
            acc: 0.0,
            acc_n: 0,
            pos: 0,
            noise: 0.0,
            noise_blocks: 0,
            smooth: 0.0,
            raw: Vec::new(),
            hp: Vec::new(),
            hist_start: 0,
            state: State::Idle,
            sr,
            pre: ms(cfg.pre_ms),
            aic: ms(cfg.aic_ms),
            hangover: ms(cfg.hangover_ms),
            max_event: ms(cfg.max_event_ms),
            warmup: ms(cfg.warmup_ms),
            cfg,
        }
    }

    /// Background level, dB re full scale (high-passed), as currently estimated.
    pub fn noise_db(&self) -> f64 {
        db(self.noise)
    }

    pub fn process(&mut self, samples: &[f32]) -> Vec<RawEvent> {
        let mut out = Vec::new();
        for &x in samples {
            let x = if x.is_finite() { x } else { 0.0 };
            let y = self.hp_a * (self.hp_prev_y + x - self.hp_prev_x);
            self.hp_prev_x = x;
            self.hp_prev_y = y;
            self.raw.push(x);
            self.hp.push(y);
            self.acc += (y as f64) * (y as f64);
            self.acc_n += 1;
            self.pos += 1;
            if self.acc_n == self.block {
                let e = self.acc / self.block as f64;
                self.acc = 0.0;
                self.acc_n = 0;
                if let Some(ev) = self.on_block(e) {
                    out.push(ev);
                }
            }
        }
        out
    }

    /// Closes an event still open at the end of the stream.
    pub fn finish(&mut self) -> Vec<RawEvent> {
        match self.state {
            State::Active { trigger, last_above, peak_db } => {
                self.state = State::Idle;
                if peak_db < db(self.noise) + self.cfg.confirm_db {
                    return Vec::new();
                }
                vec![self.close(trigger, last_above, peak_db, false)]
            }
            _ => Vec::new(),
        }
    }

    fn on_block(&mut self, e: f64) -> Option<RawEvent> {
        let now = self.pos;
        let level = db(e);
        self.smooth += (self.cfg.block_ms / 20.0).min(1.0) * (e - self.smooth);
        let smooth_db = db(self.smooth);
        let noise_db = db(self.noise);
        match self.state {
            State::Idle => {
                if now > self.warmup && self.noise_blocks > 0 && level > noise_db + self.cfg.threshold_db {
                    self.state = State::Active { trigger: now - self.block as u64, last_above: now, peak_db: level };
                    self.smooth = self.smooth.max(e);
                } else {
                    self.noise_blocks += 1;
                    let alpha = if now <= self.warmup {
                        1.0 / self.noise_blocks as f64
                    } else {
                        (self.block as f64 / self.sr / self.cfg.noise_tau_s).min(1.0)
                    };
                    self.noise += alpha * (e - self.noise);
                    self.noise = self.noise.max(1e-12);
                    self.trim(now.saturating_sub(self.pre + self.aic));
                }
                None
            }
            State::Active { trigger, mut last_above, mut peak_db } => {
                if smooth_db > noise_db + self.cfg.end_db {
                    last_above = now;
                }
                peak_db = peak_db.max(level);
                if now - last_above > self.hangover {
                    self.state = State::Idle;
                    if peak_db < noise_db + self.cfg.confirm_db {
                        return None;
                    }
                    return Some(self.close(trigger, last_above, peak_db, false));
                }
                if now - trigger >= self.max_event {
                    self.state = State::Suppress { since: trigger, last_above };
                    return Some(self.close(trigger, now, peak_db, true));
                }
                self.state = State::Active { trigger, last_above, peak_db };
                None
            }
            State::Suppress { since, mut last_above } => {
                if smooth_db > noise_db + self.cfg.end_db {
                    last_above = now;
                }
                if now - last_above > self.hangover {
                    self.state = State::Idle;
                } else if (now - since) as f64 / self.sr > self.cfg.suppress_max_s {
                    self.noise = e;
                    self.state = State::Idle;
                } else {
                    self.state = State::Suppress { since, last_above };
                }
                self.trim(now.saturating_sub(self.pre + self.aic));
                None
            }
        }
    }

    /// Drops history before `keep_from` (amortised).
    fn trim(&mut self, keep_from: u64) {
        if keep_from > self.hist_start && (keep_from - self.hist_start) as usize > self.raw.len() / 2 + 4096 {
            let n = ((keep_from - self.hist_start) as usize).min(self.raw.len());
            self.raw.drain(..n);
            self.hp.drain(..n);
            self.hist_start += n as u64;
        }
    }

    fn close(&mut self, trigger: u64, end: u64, peak_db: f64, cut: bool) -> RawEvent {
        let idx = |abs: u64, h: u64| (abs.saturating_sub(h) as usize).min(self.raw.len());
        let a0 = idx(trigger.saturating_sub(self.aic), self.hist_start);
        let a1 = idx(trigger + 2 * self.block as u64, self.hist_start);
        let onset = self.hist_start as f64 + a0 as f64 + aic_pick(&self.hp[a0..a1.max(a0)]);
        let s0 = idx((onset as u64).saturating_sub(self.pre), self.hist_start);
        let s1 = idx(end, self.hist_start).max(s0);
        RawEvent {
            onset_sample: onset,
            trigger_sample: trigger,
            end_sample: end,
            noise_db: db(self.noise),
            peak_block_db: peak_db,
            samples: self.raw[s0..s1].to_vec(),
            offset: self.hist_start + s0 as u64,
            cut,
        }
    }
}

/// AIC change-point picker: index (fractional) where `x` changes from one variance to another.
pub fn aic_pick(x: &[f32]) -> f64 {
    let n = x.len();
    if n < 8 {
        return n as f64 / 2.0;
    }
    let mut s1 = vec![0.0f64; n + 1];
    let mut s2 = vec![0.0f64; n + 1];
    for (i, &v) in x.iter().enumerate() {
        s1[i + 1] = s1[i] + v as f64;
        s2[i + 1] = s2[i] + (v as f64) * (v as f64);
    }
    let total_var = (s2[n] / n as f64 - (s1[n] / n as f64).powi(2)).max(1e-30);
    let eps = total_var * 1e-9;
    let aic = |k: usize| {
        let (kf, rf) = (k as f64, (n - k) as f64);
        let v1 = s2[k] / kf - (s1[k] / kf).powi(2);
        let v2 = (s2[n] - s2[k]) / rf - ((s1[n] - s1[k]) / rf).powi(2);
        kf * (v1.max(0.0) + eps).ln() + (rf - 1.0) * (v2.max(0.0) + eps).ln()
    };
    let (mut best, mut best_k) = (f64::INFINITY, 2);
    for k in 2..n - 2 {
        let a = aic(k);
        if a < best {
            best = a;
            best_k = k;
        }
    }
    let (l, c, r) = (aic(best_k.saturating_sub(1).max(1)), best, aic((best_k + 1).min(n - 1)));
    let denom = l - 2.0 * c + r;
    let frac = if denom > 0.0 { (0.5 * (l - r) / denom).clamp(-0.5, 0.5) } else { 0.0 };
    best_k as f64 + frac
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn aic_finds_a_step_in_variance() {
        let mut rng = Rng::new(1);
        let x: Vec<f32> = (0..1000).map(|i| (rng.normal() * if i < 600 { 0.01 } else { 0.5 }) as f32).collect();
        let k = aic_pick(&x);
        assert!((k - 600.0).abs() <= 2.0, "{k}");
    }

    #[test]
    fn finds_a_click_in_noise_to_the_sample() {
        let mut rng = Rng::new(2);
        let mut x: Vec<f32> = (0..32_000).map(|_| (rng.normal() * 0.003) as f32).collect();
        for i in 0..40 {
            x[20_000 + i] += 0.3 * (1.0 - i as f32 / 20.0);
        }
        let mut d = OnsetDetector::new(16_000, OnsetConfig::default());
        let mut evs = Vec::new();
        for chunk in x.chunks(777) {
            evs.extend(d.process(chunk));
        }
        evs.extend(d.finish());
        assert_eq!(evs.len(), 1, "{evs:?}");
        assert!((evs[0].onset_sample - 20_000.0).abs() < 2.0, "{}", evs[0].onset_sample);
        assert!(evs[0].offset < 20_000 && evs[0].offset + evs[0].samples.len() as u64 >= 20_040);
    }

    #[test]
    fn steady_noise_and_silence_make_no_event() {
        let mut rng = Rng::new(3);
        let x: Vec<f32> = (0..160_000).map(|i| if i < 80_000 { (rng.normal() * 0.01) as f32 } else { 0.0 }).collect();
        let mut d = OnsetDetector::new(16_000, OnsetConfig::default());
        assert!(d.process(&x).is_empty());
    }
}
