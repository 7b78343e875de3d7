//! The mean + k·σ baseline, the classic control-chart alarm, beside Kleinberg's automaton.
//!
//! The count of the last `window_bins` bins is compared with the exponentially weighted
//! mean and variance of that windowed count; an alarm needs `count ≥ mean + k·σ` and at
//! least `min_count` posts. Counts are first adjusted to the overall volume (a bin's count
//! times the usual volume over this bin's volume), so that the city's daily cycle, which
//! lifts every series at once in the morning, is not taken for a burst. σ is floored at the Poisson value √mean (sparse keys have a
//! near-zero sample variance) and at `min_sigma`. The baseline is learnt outside alarms
//! only (slowly inside one).

use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct SigmaConfig {
    pub k: f64,
    /// Bins summed into one count (a short sliding window smooths single-bin noise).
    pub window_bins: usize,
    /// Span of the moving mean and variance, bins.
    pub span_bins: f64,
    pub min_count: u32,
    pub min_sigma: f64,
}

impl Default for SigmaConfig {
    fn default() -> Self {
        SigmaConfig { k: 6.0, window_bins: 5, span_bins: 180.0, min_count: 6, min_sigma: 1.0 }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Sigma {
    /// (raw count, volume-adjusted count) of the last bins.
    window: VecDeque<(u32, f64)>,
    /// Moving mean of the overall volume per bin.
    volume: f64,
    mean: f64,
    var: f64,
    seen: u32,
    alarm_since: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SigmaStep {
    pub alarm: bool,
    /// (volume-adjusted count − mean) / σ.
    pub z: f64,
    /// Raw posts in the window.
    pub count: u32,
    pub mean: f64,
    pub since_bin: i64,
}

impl Sigma {
    /// `r`: the series' posts in the bin; `d`: all posts in the bin.
    pub fn step(&mut self, cfg: &SigmaConfig, bin: i64, r: u32, d: u32) -> SigmaStep {
        let vol_alpha = (1.0 / f64::from(self.seen.saturating_add(1))).max(1.0 / cfg.span_bins);
        // The volume of everything else: a burst must not dilute itself.
        let others = f64::from(d.saturating_sub(r));
        self.volume += vol_alpha * (others - self.volume);
        // A quiet bin is not scaled up by more than 2 (night-time noise).
        let scale = if others < 1.0 { 1.0 } else { (self.volume / others).clamp(0.5, 2.0) };
        self.window.push_back((r, f64::from(r) * scale));
        while self.window.len() > cfg.window_bins.max(1) {
            self.window.pop_front();
        }
        let count: u32 = self.window.iter().map(|w| w.0).sum();
        let c: f64 = self.window.iter().map(|w| w.1).sum();
        let sigma = self.var.sqrt().max(self.mean.sqrt()).max(cfg.min_sigma);
        let z = (c - self.mean) / sigma;
        let alarm = self.seen as usize >= cfg.window_bins && count >= cfg.min_count && z >= cfg.k;
        self.seen = self.seen.saturating_add(1);
        let mut alpha = (1.0 / f64::from(self.seen)).max(1.0 / cfg.span_bins);
        if alarm {
            alpha /= 10.0;
        }
        let mean_before = self.mean;
        let delta = c - self.mean;
        self.mean += alpha * delta;
        self.var = (1.0 - alpha) * (self.var + alpha * delta * delta);
        // The alarm began at the first bin of the window well above the per-bin mean.
        let per_bin = mean_before / self.window.len() as f64;
        let since = match (alarm, self.alarm_since) {
            (true, Some(s)) => s,
            (true, None) => {
                let first =
                    self.window.iter().position(|w| w.1 >= (per_bin + 2.0 * per_bin.sqrt()).max(1.0)).unwrap_or(0);
                bin + 1 - (self.window.len() - first) as i64
            }
            (false, _) => bin,
        };
        self.alarm_since = alarm.then_some(since);
        SigmaStep { alarm, z, count, mean: self.mean, since_bin: since }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarms_on_a_jump_only() {
        let cfg = SigmaConfig::default();
        let mut s = Sigma::default();
        let quiet: Vec<u32> = (0..500).map(|i| [0, 1, 0, 2, 1, 0, 0, 1][i % 8]).collect();
        assert!(quiet.iter().enumerate().all(|(i, &r)| !s.step(&cfg, i as i64, r, 100).alarm));
        let a = s.step(&cfg, 500, 3, 100);
        let b = s.step(&cfg, 501, 12, 100);
        assert!(!a.alarm && b.alarm, "{a:?} {b:?}");
        assert_eq!(b.since_bin, 500, "the rise began with the 3");
    }

    #[test]
    fn follows_the_volume() {
        let cfg = SigmaConfig::default();
        let mut s = Sigma::default();
        for i in 0..500 {
            s.step(&cfg, i, (i % 3 == 0) as u32 * 2, 100);
        }
        // The morning: five times the traffic, five times the posts: no alarm.
        assert!((500..560).all(|i| !s.step(&cfg, i, (i % 3 == 0) as u32 * 10, 500).alarm));
    }

    #[test]
    fn needs_a_minimum_count() {
        let cfg = SigmaConfig::default();
        let mut s = Sigma::default();
        for i in 0..500 {
            s.step(&cfg, i, 0, 100);
        }
        assert!(!s.step(&cfg, 500, 2, 100).alarm, "2 posts where there were none is not a burst");
    }
}
