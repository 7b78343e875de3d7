//! Kleinberg's two-state burst automaton (Kleinberg 2002, "Bursty and hierarchical
//! structure in streams", the batched/binomial form), run online.
//!
//! Each bin t holds r_t relevant posts out of d_t posts in all. State 0 emits relevant posts
//! at the base share p0, state 1 at s·p0; a bin costs −ln of its binomial likelihood, and
//! entering state 1 costs γ·ln n. The forward pass keeps the cheapest cost of ending in each
//! state; the stream is "bursting" while ending in state 1 is cheaper. This is the exact
//! filtering half of the Viterbi recursion, so an alert needs no look-ahead, and weak but
//! sustained rises add up until they pay the entry cost.
//!
//! The base share is an exponentially weighted ratio of relevant to all posts, learnt only
//! outside bursts (slowly inside one, so that a lasting change becomes the new normal).

#[derive(Debug, Clone)]
pub struct KleinbergConfig {
    /// Rate multiplier of the burst state (s > 1).
    pub s: f64,
    /// Weight of the entry cost γ·ln(n).
    pub gamma: f64,
    /// n of the entry cost: the number of bins of the horizon considered.
    pub horizon_bins: f64,
    /// Span of the base share's moving average, bins.
    pub baseline_bins: f64,
    /// Floor on the expected relevant posts per bin (a key that is never mentioned must
    /// not burst on one post).
    pub min_expected: f64,
}

impl Default for KleinbergConfig {
    fn default() -> Self {
        KleinbergConfig { s: 3.0, gamma: 1.0, horizon_bins: 1440.0, baseline_bins: 720.0, min_expected: 0.25 }
    }
}

impl KleinbergConfig {
    pub fn entry_cost(&self) -> f64 {
        self.gamma * self.horizon_bins.max(2.0).ln()
    }
}

#[derive(Debug, Clone)]
pub struct Kleinberg {
    /// Cheapest cost of ending in state 0 / 1, shifted so that the smaller is 0.
    cost: [f64; 2],
    /// Bin at which the cheapest path into state 1 entered it.
    entered: i64,
    ewma_r: f64,
    ewma_d: f64,
    seen: u32,
}

/// Bins during which the base share is learnt at full speed even inside a burst (the
/// first estimates are poor; a burst seen then must not freeze them).
const LEARNING_BINS: u32 = 60;

impl Default for Kleinberg {
    fn default() -> Self {
        // The stream starts in the base state: being in the burst state at once costs the
        // entry (γ·ln n is added on the first step).
        Kleinberg { cost: [0.0, f64::INFINITY], entered: 0, ewma_r: 0.0, ewma_d: 0.0, seen: 0 }
    }
}

/// One bin's outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KleinbergStep {
    pub bursting: bool,
    /// cost(state 0) − cost(state 1), in units of the entry cost (> 0 while bursting).
    pub strength: f64,
    /// Bin at which the current burst began.
    pub since_bin: i64,
    /// Expected relevant posts in this bin under the base share.
    pub expected: f64,
}

fn bin_cost(r: f64, d: f64, p: f64) -> f64 {
    -(r * p.ln() + (d - r) * (1.0 - p).ln())
}

impl Kleinberg {
    pub fn step(&mut self, cfg: &KleinbergConfig, bin: i64, r: u32, d: u32) -> KleinbergStep {
        let (r, d) = (f64::from(r), f64::from(d.max(r)));
        let share = if self.ewma_d > 0.0 { self.ewma_r / self.ewma_d } else { 0.0 };
        let expected = (share * d).max(cfg.min_expected);
        let tau = cfg.entry_cost();
        let (c0, c1) = if d > 0.0 {
            let p0 = (expected / d.max(expected)).clamp(1e-12, 0.5);
            let p1 = (cfg.s * p0).min(0.999_999);
            (bin_cost(r, d, p0), bin_cost(r, d, p1))
        } else {
            (0.0, 0.0)
        };
        let enter = self.cost[0] + tau;
        let (into1, entered) = if enter < self.cost[1] { (enter, bin) } else { (self.cost[1], self.entered) };
        let new1 = into1 + c1;
        let new0 = self.cost[0].min(self.cost[1]) + c0;
        let m = new0.min(new1);
        self.cost = [new0 - m, new1 - m];
        self.entered = entered;
        let bursting = self.cost[1] < self.cost[0];
        // Learn the base share: fully outside bursts, a tenth as fast inside.
        self.seen = self.seen.saturating_add(1);
        let mut alpha = (1.0 / f64::from(self.seen)).max(1.0 / cfg.baseline_bins);
        if bursting && self.seen > LEARNING_BINS {
            alpha /= 10.0;
        }
        self.ewma_r += alpha * (r - self.ewma_r);
        self.ewma_d += alpha * (d - self.ewma_d);
        KleinbergStep { bursting, strength: (self.cost[0] - self.cost[1]) / tau, since_bin: self.entered, expected }
    }

    pub fn bins_seen(&self) -> u32 {
        self.seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(k: &mut Kleinberg, cfg: &KleinbergConfig, from: i64, rs: &[u32], d: u32) -> Vec<KleinbergStep> {
        rs.iter().enumerate().map(|(i, &r)| k.step(cfg, from + i as i64, r, d)).collect()
    }

    #[test]
    fn quiet_stream_never_bursts_and_a_rise_does() {
        let cfg = KleinbergConfig::default();
        let mut k = Kleinberg::default();
        // 1 relevant post in 1000 per bin, with noise.
        let quiet: Vec<u32> = (0..600).map(|i| [0, 1, 2, 1, 0, 3][i % 6]).collect();
        // (After the first two hours, as the tracker's warm-up does.)
        let steps = run(&mut k, &cfg, 0, &quiet, 1000);
        let b: Vec<_> = steps.iter().enumerate().skip(120).filter(|(_, s)| s.bursting).take(3).collect();
        assert!(b.is_empty(), "{b:?}");
        let rise = run(&mut k, &cfg, 600, &[4, 6, 9, 12, 15], 1000);
        let first = rise.iter().position(|s| s.bursting).expect("the rise is a burst");
        assert!(first <= 2, "found at bin {first}");
        assert!((599..=602).contains(&rise[first].since_bin), "{:?}", rise[first]);
        // It ends when the rate goes back.
        let after = run(&mut k, &cfg, 605, &[1; 30], 1000);
        assert!(!after.last().unwrap().bursting);
    }

    #[test]
    fn sustained_weak_rise_adds_up() {
        let cfg = KleinbergConfig::default();
        let mut k = Kleinberg::default();
        run(&mut k, &cfg, 0, &[1; 600], 1000);
        let steps = run(&mut k, &cfg, 600, &[4; 10], 1000);
        assert!(!steps[0].bursting && steps.iter().any(|s| s.bursting));
    }

    #[test]
    fn follows_the_share_not_the_volume() {
        let cfg = KleinbergConfig::default();
        let mut k = Kleinberg::default();
        run(&mut k, &cfg, 0, &[2; 300], 1000);
        // Ten times the traffic at the same share (the evening peak): no burst.
        assert!(run(&mut k, &cfg, 300, &[20; 60], 10_000).iter().all(|s| !s.bursting));
    }
}
