//! Stage `anomaly`: a day's published series against a seasonal baseline — the same
//! weekday and time in the previous weeks' releases — with robust statistics (median and
//! MAD), so that one odd week in the baseline does not move it.
//!
//! It reads only published values (the releases' `summary.json` series), so it can
//! reveal nothing the releases did not. A value suppressed today is known only to be
//! under k/market share: it can make a "below" anomaly, never an "above" one.

use serde::Serialize;

use crate::release::Series;

#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyConfig {
    /// Same weekdays looked back at.
    pub baseline_weeks: usize,
    /// Fewer published baseline values than this: no verdict.
    pub min_baseline: usize,
    /// |robust z| from which a value is anomalous.
    pub z_threshold: f64,
    /// …and the relative deviation from the median it must also reach.
    pub min_relative_change: f64,
    /// Floor of the spread, as a share of the median (a baseline that never moves would
    /// otherwise flag the smallest change).
    pub min_spread_ratio: f64,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            baseline_weeks: 4,
            min_baseline: 3,
            z_threshold: 4.0,
            min_relative_change: 0.3,
            min_spread_ratio: 0.08,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Presence,
    Arrivals,
    Departures,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Above,
    Below,
}

/// An episode: consecutive anomalous steps of one zone, metric and direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anomaly {
    pub zone: String,
    pub metric: Metric,
    pub direction: Direction,
    /// First step and one past the last (slots for presence, hours for flows).
    pub start: usize,
    pub end: usize,
    /// Length of a step, minutes.
    pub step_minutes: u32,
    pub peak_step: usize,
    pub peak_z: f64,
    /// Published estimate at the peak (None: suppressed, under k).
    pub peak_estimate: Option<u64>,
    pub peak_baseline: f64,
    pub baseline_values: usize,
}

/// Median and the scaled MAD.
pub fn robust(values: &mut [f64]) -> (f64, f64) {
    let med = median(values);
    let mut dev: Vec<f64> = values.iter().map(|v| (v - med).abs()).collect();
    (med, 1.4826 * median(&mut dev))
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// Finds the anomalies of `today` given the releases of the same weekday in earlier weeks
/// (most recent first; only the first `baseline_weeks` are used). `below_k` is the
/// estimate a suppressed value is known to be under (k / market share).
pub fn detect(
    today: &Series,
    history: &[&Series],
    slot_minutes: u32,
    below_k: f64,
    cfg: &AnomalyConfig,
) -> Vec<Anomaly> {
    let hist = &history[..history.len().min(cfg.baseline_weeks)];
    let mut out = Vec::new();
    for (metric, step, pick) in [
        (
            Metric::Presence,
            slot_minutes,
            (|s: &Series| &s.presence) as fn(&Series) -> &std::collections::BTreeMap<String, Vec<Option<u64>>>,
        ),
        (Metric::Arrivals, 60, |s: &Series| &s.arrivals),
        (Metric::Departures, 60, |s: &Series| &s.departures),
    ] {
        for (zone, values) in pick(today) {
            let mut flags: Vec<Option<(Direction, f64, f64, usize)>> = vec![None; values.len()];
            for (i, x) in values.iter().enumerate() {
                let mut base: Vec<f64> = hist
                    .iter()
                    .filter_map(|h| pick(h).get(zone).and_then(|v| v.get(i).copied().flatten()))
                    .map(|v| v as f64)
                    .collect();
                if base.len() < cfg.min_baseline {
                    continue;
                }
                let n = base.len();
                let (med, mad) = robust(&mut base);
                let spread = mad.max(cfg.min_spread_ratio * med).max(med.sqrt()).max(1.0);
                let (value, known) = match x {
                    Some(v) => (*v as f64, true),
                    None => (below_k, false),
                };
                let z = (value - med) / spread;
                let rel = (value - med).abs() / med.max(1.0);
                if z >= cfg.z_threshold && known && rel >= cfg.min_relative_change {
                    flags[i] = Some((Direction::Above, z, med, n));
                } else if z <= -cfg.z_threshold && rel >= cfg.min_relative_change {
                    flags[i] = Some((Direction::Below, z, med, n));
                }
            }
            let mut i = 0;
            while i < flags.len() {
                let Some((dir, ..)) = flags[i] else {
                    i += 1;
                    continue;
                };
                let start = i;
                let mut peak = i;
                while i < flags.len() && flags[i].is_some_and(|f| f.0 == dir) {
                    if flags[i].map(|f| f.1.abs()) > flags[peak].map(|f| f.1.abs()) {
                        peak = i;
                    }
                    i += 1;
                }
                let (_, z, med, n) = flags[peak].unwrap_or((dir, 0.0, 0.0, 0));
                out.push(Anomaly {
                    zone: zone.clone(),
                    metric,
                    direction: dir,
                    start,
                    end: i,
                    step_minutes: step,
                    peak_step: peak,
                    peak_z: z,
                    peak_estimate: values[peak],
                    peak_baseline: med,
                    baseline_values: n,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(zone: &str, presence: Vec<Option<u64>>) -> Series {
        let mut s = Series::default();
        s.presence.insert(zone.into(), presence);
        s
    }

    #[test]
    fn a_gathering_is_one_episode_and_noise_is_not() {
        let base: Vec<Series> =
            (0..4).map(|w| series("a", (0..48).map(|i| Some(1000 + (i * 7 + w * 13) % 60)).collect())).collect();
        let mut today: Vec<Option<u64>> = (0..48).map(|i| Some(1010 + (i * 5) % 50)).collect();
        for v in today.iter_mut().take(44).skip(40) {
            *v = Some(3000);
        }
        let hist: Vec<&Series> = base.iter().collect();
        let found = detect(&series("a", today), &hist, 30, 57.0, &AnomalyConfig::default());
        assert_eq!(found.len(), 1, "{found:?}");
        let a = &found[0];
        assert_eq!((a.start, a.end, a.direction, a.metric), (40, 44, Direction::Above, Metric::Presence));
        assert!(a.peak_z > 10.0);
    }

    #[test]
    fn one_odd_week_does_not_move_the_baseline() {
        let mut base: Vec<Series> = (0..3).map(|_| series("a", vec![Some(500); 48])).collect();
        base.push(series("a", vec![Some(5000); 48]));
        let hist: Vec<&Series> = base.iter().collect();
        assert!(detect(&series("a", vec![Some(520); 48]), &hist, 30, 57.0, &AnomalyConfig::default()).is_empty());
    }

    #[test]
    fn a_suppressed_value_can_only_be_below() {
        let base: Vec<Series> = (0..4).map(|_| series("a", vec![Some(800); 48])).collect();
        let hist: Vec<&Series> = base.iter().collect();
        let mut today = vec![Some(800); 48];
        today[10] = None;
        let found = detect(&series("a", today), &hist, 30, 57.0, &AnomalyConfig::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].direction, Direction::Below);
        assert_eq!(found[0].peak_estimate, None);
    }

    #[test]
    fn too_little_history_gives_no_verdict() {
        let base = [series("a", vec![Some(100); 48])];
        let hist: Vec<&Series> = base.iter().collect();
        assert!(detect(&series("a", vec![Some(900); 48]), &hist, 30, 57.0, &AnomalyConfig::default()).is_empty());
    }
}
