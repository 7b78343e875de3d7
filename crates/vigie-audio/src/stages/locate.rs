//! Stage `locate`: onset reports of several sensors → one detection at the source.
//!
//! 1. **Associate**: reports sorted by onset are grouped while they fall within
//!    `max_baseline_m / c` (+ margin) of the group's first one; a sensor counts once per group
//!    (a second report of it, an echo, goes to the next open group and never splits the event).
//! 2. **Solve** (≥ `min_sensors`, default 3, sensors with a disciplined clock): unknowns are
//!    the source position and the emission time (as a range offset `tau`), in a local metric
//!    frame; residual `r_i = c·(t_i − t_ref) + tau − d_i`. A non-line-of-sight (NLOS) path only
//!    ever adds delay, so at the source line-of-sight sensors have `r ≈ 0` and NLOS ones
//!    `r > 0`; a residual well below zero (an arrival earlier than the direct path allows) is
//!    physically impossible. Candidates come from three sources over a grid covering the
//!    sensors (+ margin): (a) Cauchy IRLS Gauss–Newton from the best grid points of a Cauchy
//!    cost; (b) an asymmetric grid score (how many sensors lie within 1.5 grid steps below the
//!    largest `d_i − rng_i`), refit on those sensors; (c) RANSAC over minimal subsets: every
//!    sensor triple (up to 12 sensors) fitted from the grid point where it agrees best. Each
//!    candidate is polished by least squares on its inliers (`|r| ≤ outlier_m`, default 2 m),
//!    and scored by consensus minus twice the number of impossible early arrivals
//!    (`r < −outlier_m`), ties broken by the inliers' squared residuals.
//!    Speed of sound: `c = 331.3·sqrt(1 + T/273.15)`.
//! 3. **Uncertainty**: 2.45 σ along the worst axis of the position covariance (95 % in 2-D),
//!    σ being the inliers' residual scale (at least `min_sigma_m`), floored at `min_uncertainty_m`;
//!    raised when few inliers remain or the fix lies far outside the array, and widened to
//!    the distance of any other candidate as good (or, with ≤ 4 inliers, fitting one sensor
//!    fewer): with most paths NLOS the consensus alone cannot tell them apart.
//! 4. Fewer than `min_sensors` usable reports: the detection is placed at the sensor that
//!    heard it first, with `lone_uncertainty_m` — never at a made-up point.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use vigie_model::{Detection, DetectionId, Kind, Location, SensorId, geo::metres_per_degree};

use super::emit::{OnsetAttributes, raw_json};

#[derive(Debug, Clone)]
pub struct LocateConfig {
    pub temperature_c: f64,
    /// Largest distance between two sensors hearing the same event.
    pub max_baseline_m: f64,
    pub min_sensors: usize,
    pub loss_scale_m: f64,
    pub outlier_m: f64,
    pub grid_step_m: f64,
    pub grid_margin_m: f64,
    pub min_sigma_m: f64,
    pub min_uncertainty_m: f64,
    /// Level cue: weight (in sensors of consensus) of each sensor whose level disagrees with
    /// the fit, and the tolerance, dB, around the expected `1/r` level (0 weight: no cue).
    pub level_weight: f64,
    pub level_tolerance_db: f64,
    pub lone_uncertainty_m: f64,
    /// Sensor id of the emitted (fused) detections.
    pub sensor_id: SensorId,
}

impl Default for LocateConfig {
    fn default() -> Self {
        LocateConfig {
            temperature_c: 15.0,
            max_baseline_m: 2000.0,
            min_sensors: 3,
            loss_scale_m: 2.0,
            outlier_m: 2.0,
            grid_step_m: 10.0,
            grid_margin_m: 300.0,
            min_sigma_m: 0.5,
            min_uncertainty_m: 2.0,
            level_weight: 1.5,
            level_tolerance_db: 3.0,
            lone_uncertainty_m: 1000.0,
            sensor_id: SensorId::new("audio-tdoa").expect("valid id"),
        }
    }
}

/// One sensor's onset of an event.
#[derive(Debug, Clone)]
pub struct OnsetReport {
    pub sensor: SensorId,
    pub lon: f64,
    pub lat: f64,
    pub onset: DateTime<Utc>,
    pub kind: Kind,
    pub confidence: f64,
    pub clock_ok: bool,
    /// Peak level of the sensor's event (dB, same calibration for all sensors), if known:
    /// an NLOS arrival is weaker than `1/r` predicts.
    pub level_db: Option<f64>,
}

impl OnsetReport {
    /// Reads a sensor-level `audio.*` detection as emitted by `listen`.
    pub fn from_detection(d: &Detection) -> Option<OnsetReport> {
        if d.kind.namespace() != "audio" {
            return None;
        }
        let a: OnsetAttributes = serde_json::from_str(d.attributes.get()).ok()?;
        let onset = DateTime::parse_from_rfc3339(&a.onset_time).ok()?.with_timezone(&Utc);
        Some(OnsetReport {
            sensor: d.sensor.clone(),
            lon: a.sensor_lon,
            lat: a.sensor_lat,
            onset,
            kind: d.kind,
            confidence: d.confidence,
            clock_ok: a.clock_ok,
            level_db: a.peak_db.filter(|v| v.is_finite()),
        })
    }
}

/// The result of localising one group.
#[derive(Debug, Clone, Serialize)]
pub struct Fix {
    pub lon: f64,
    pub lat: f64,
    pub uncertainty_m: f64,
    /// `tdoa` or `nearest_sensor`.
    pub method: &'static str,
    pub sensors: usize,
    pub inliers: usize,
    pub residual_rms_m: f64,
    #[serde(skip)]
    pub emission: DateTime<Utc>,
    #[serde(skip)]
    pub kind: Kind,
    pub confidence: f64,
}

/// Groups reports by event (see the module doc).
pub fn associate(mut reports: Vec<OnsetReport>, cfg: &LocateConfig) -> Vec<Vec<OnsetReport>> {
    reports.sort_by_key(|r| r.onset);
    let c = crate::speed_of_sound(cfg.temperature_c);
    let window = Duration::nanoseconds(((cfg.max_baseline_m / c + 0.05) * 1e9) as i64);
    let mut groups: Vec<Vec<OnsetReport>> = Vec::new();
    // Open groups are those whose first report is within the window; a second report of a
    // sensor already in a group (an echo, a tail) goes to the next open group or starts one,
    // and never closes the current group.
    let mut open_from = 0;
    for r in reports {
        while open_from < groups.len() && r.onset - groups[open_from][0].onset > window {
            open_from += 1;
        }
        match groups[open_from..].iter_mut().find(|g| !g.iter().any(|o| o.sensor == r.sensor)) {
            Some(g) => g.push(r),
            None => groups.push(vec![r]),
        }
    }
    groups
}

/// Localises every group; one fix per group.
pub fn locate_all(reports: Vec<OnsetReport>, cfg: &LocateConfig) -> Vec<Fix> {
    associate(reports, cfg).iter().map(|g| locate(g, cfg)).collect()
}

fn vote(group: &[OnsetReport]) -> (Kind, f64) {
    let mut best = (Kind::AudioImpulse, 0.0, 0usize);
    for r in group {
        let score: f64 = group.iter().filter(|o| o.kind == r.kind).map(|o| o.confidence).sum();
        if score > best.1 {
            best = (r.kind, score, group.iter().filter(|o| o.kind == r.kind).count());
        }
    }
    (best.0, (best.1 / best.2.max(1) as f64).clamp(0.0, 1.0))
}

/// Localises one group of reports of the same event.
pub fn locate(group: &[OnsetReport], cfg: &LocateConfig) -> Fix {
    let (kind, conf) = vote(group);
    let first = group.iter().min_by_key(|r| r.onset).expect("non-empty group");
    let usable: Vec<&OnsetReport> = group.iter().filter(|r| r.clock_ok).collect();
    let lone = Fix {
        lon: first.lon,
        lat: first.lat,
        uncertainty_m: cfg.lone_uncertainty_m,
        method: "nearest_sensor",
        sensors: group.len(),
        inliers: 0,
        residual_rms_m: 0.0,
        emission: first.onset,
        kind,
        confidence: conf * 0.8,
    };
    if usable.len() < cfg.min_sensors.max(3) {
        return lone;
    }
    let c = crate::speed_of_sound(cfg.temperature_c);
    let lat0 = usable.iter().map(|r| r.lat).sum::<f64>() / usable.len() as f64;
    let lon0 = usable.iter().map(|r| r.lon).sum::<f64>() / usable.len() as f64;
    let (mx, my) = metres_per_degree(lat0);
    let t_ref = usable.iter().map(|r| r.onset).min().expect("non-empty");
    // Sensor positions (m) and ranges c·(t_i − t_ref) (m).
    let s: Vec<(f64, f64)> = usable.iter().map(|r| ((r.lon - lon0) * mx, (r.lat - lat0) * my)).collect();
    let rng: Vec<f64> =
        usable.iter().map(|r| c * (r.onset - t_ref).num_nanoseconds().unwrap_or(0) as f64 * 1e-9).collect();
    let levels: Option<Vec<f64>> = usable.iter().map(|r| r.level_db).collect();
    let sol = solve(&s, &rng, levels.as_deref(), cfg);
    let Some(sol) = sol else { return lone };
    let nearest = s.iter().map(|p| ((p.0 - sol.x).powi(2) + (p.1 - sol.y).powi(2)).sqrt()).fold(f64::MAX, f64::min);
    let mut unc = sol.radius_m.max(cfg.min_uncertainty_m);
    if sol.inliers < 4 {
        unc = unc.max(50.0);
    }
    if nearest > cfg.max_baseline_m / 2.0 {
        unc = unc.max(nearest / 2.0);
    }
    let unc = unc.min(cfg.lone_uncertainty_m.max(cfg.min_uncertainty_m));
    let emission = t_ref - Duration::nanoseconds((sol.tau / c * 1e9) as i64).min(Duration::seconds(10));
    let emission = if sol.tau >= 0.0 { emission } else { t_ref };
    Fix {
        lon: lon0 + sol.x / mx,
        lat: lat0 + sol.y / my,
        uncertainty_m: unc,
        method: "tdoa",
        sensors: group.len(),
        inliers: sol.inliers,
        residual_rms_m: sol.rms,
        emission,
        kind,
        confidence: (conf * (sol.inliers as f64 / usable.len() as f64).sqrt()).clamp(0.0, 1.0),
    }
}

struct Solution {
    x: f64,
    y: f64,
    /// c·(t_ref − t_emission): range offset, m.
    tau: f64,
    inliers: usize,
    rms: f64,
    radius_m: f64,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) }
}

/// Residuals r_i = rng_i + tau − d_i (m): zero for a perfect fit.
fn residuals(s: &[(f64, f64)], rng: &[f64], x: f64, y: f64, tau: f64) -> Vec<f64> {
    s.iter().zip(rng).map(|(p, r)| r + tau - ((x - p.0).powi(2) + (y - p.1).powi(2)).sqrt()).collect()
}

fn cauchy_cost(res: &[f64], scale: f64) -> f64 {
    res.iter().map(|r| (1.0 + (r / scale).powi(2)).ln()).sum()
}

/// Weighted Gauss–Newton; `weights = None` means Cauchy IRLS weights recomputed each step.
fn refine(
    s: &[(f64, f64)],
    rng: &[f64],
    mut p: [f64; 3],
    scale: f64,
    fixed_w: Option<&[f64]>,
) -> ([f64; 3], [[f64; 3]; 3]) {
    let mut jtj = [[0.0; 3]; 3];
    for _ in 0..30 {
        let res = residuals(s, rng, p[0], p[1], p[2]);
        let mut jtr = [0.0; 3];
        jtj = [[0.0; 3]; 3];
        for (i, (q, r)) in s.iter().zip(&res).enumerate() {
            let w = match fixed_w {
                Some(w) => w[i],
                None => 1.0 / (1.0 + (r / scale).powi(2)),
            };
            let d = ((p[0] - q.0).powi(2) + (p[1] - q.1).powi(2)).sqrt().max(1e-6);
            // ∂r/∂x = −(x − qx)/d, ∂r/∂y = −(y − qy)/d, ∂r/∂tau = 1.
            let j = [-(p[0] - q.0) / d, -(p[1] - q.1) / d, 1.0];
            for a in 0..3 {
                jtr[a] += w * j[a] * r;
                for b in 0..3 {
                    jtj[a][b] += w * j[a] * j[b];
                }
            }
        }
        let mut m = jtj;
        for (a, row) in m.iter_mut().enumerate() {
            row[a] += 1e-9;
        }
        let Some(delta) = solve3(m, [-jtr[0], -jtr[1], -jtr[2]]) else { break };
        p = [p[0] + delta[0], p[1] + delta[1], p[2] + delta[2]];
        if delta.iter().map(|d| d * d).sum::<f64>() < 1e-8 {
            break;
        }
    }
    (p, jtj)
}

/// Sensors whose level disagrees with the fit: an inlier much weaker than the inliers' median
/// source level (`level + 20·log10 d`), or an outlier (late) one that is not weaker.
fn level_misfits(s: &[(f64, f64)], levels: &[f64], p: [f64; 3], res: &[f64], cfg: &LocateConfig) -> f64 {
    let src: Vec<f64> =
        s.iter().zip(levels).map(|(q, l)| l + 20.0 * ((p[0] - q.0).hypot(p[1] - q.1)).max(1.0).log10()).collect();
    let mut inl: Vec<f64> = src.iter().zip(res).filter(|(_, r)| r.abs() <= cfg.outlier_m).map(|(l, _)| *l).collect();
    if inl.is_empty() {
        return 0.0;
    }
    let med = median(&mut inl);
    src.iter()
        .zip(res)
        .filter(|(l, r)| {
            (r.abs() <= cfg.outlier_m && **l < med - cfg.level_tolerance_db)
                || (**r > cfg.outlier_m && **l > med - cfg.level_tolerance_db)
        })
        .count() as f64
}

fn solve(s: &[(f64, f64)], rng: &[f64], levels: Option<&[f64]>, cfg: &LocateConfig) -> Option<Solution> {
    let scale = cfg.loss_scale_m;
    let (min_x, max_x) = s.iter().fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.0), a.1.max(p.0)));
    let (min_y, max_y) = s.iter().fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.1), a.1.max(p.1)));
    let step = cfg.grid_step_m.max(1.0);
    let nx = (((max_x - min_x + 2.0 * cfg.grid_margin_m) / step).ceil() as usize).clamp(1, 600);
    let ny = (((max_y - min_y + 2.0 * cfg.grid_margin_m) / step).ceil() as usize).clamp(1, 600);
    let mut cands: Vec<(f64, [f64; 3])> = Vec::with_capacity(nx * ny);
    let mut tmp = vec![0.0; s.len()];
    for ix in 0..=nx {
        for iy in 0..=ny {
            let x = min_x - cfg.grid_margin_m + ix as f64 * step;
            let y = min_y - cfg.grid_margin_m + iy as f64 * step;
            for (k, (q, r)) in s.iter().zip(rng).enumerate() {
                tmp[k] = ((x - q.0).powi(2) + (y - q.1).powi(2)).sqrt() - r;
            }
            let tau = median(&mut tmp.clone());
            let res = residuals(s, rng, x, y, tau);
            cands.push((cauchy_cost(&res, step), [x, y, tau]));
        }
    }
    cands.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut starts: Vec<[f64; 3]> = Vec::new();
    for (_, p) in &cands {
        if starts.iter().all(|q| (q[0] - p[0]).hypot(q[1] - p[1]) > 2.5 * step) {
            starts.push(*p);
        }
        if starts.len() == 24 {
            break;
        }
    }
    let mut tries = Vec::new();
    for st in starts {
        // Each start is refined at the fine scale directly and coarse-to-fine: the coarse
        // scale leaves a grid cell more easily but may be pulled into the outliers' basin.
        tries.push(refine(s, rng, st, scale, None).0);
        let (p, _) = refine(s, rng, st, step, None);
        tries.push(refine(s, rng, p, scale, None).0);
    }
    // Asymmetric starts: a non-line-of-sight path only ever adds delay, so at the source the
    // line-of-sight sensors share the largest `d_i − rng_i` and every other one lies below.
    // Grid points are scored by how many sensors sit within a window under that maximum.
    let gtol = 1.5 * step;
    let mut acands: Vec<(usize, f64, [f64; 3])> = Vec::with_capacity(nx * ny);
    let mut amat: Vec<f64> = Vec::with_capacity((nx + 1) * (ny + 1) * s.len());
    for ix in 0..=nx {
        for iy in 0..=ny {
            let x = min_x - cfg.grid_margin_m + ix as f64 * step;
            let y = min_y - cfg.grid_margin_m + iy as f64 * step;
            for (k, (q, r)) in s.iter().zip(rng).enumerate() {
                tmp[k] = ((x - q.0).powi(2) + (y - q.1).powi(2)).sqrt() - r;
            }
            amat.extend_from_slice(&tmp);
            let top = tmp.iter().copied().fold(f64::MIN, f64::max);
            let (mut count, mut spread) = (0usize, 0.0);
            for a in &tmp {
                if *a >= top - gtol {
                    count += 1;
                    spread += top - a;
                }
            }
            acands.push((count, spread, [x, y, top]));
        }
    }
    acands.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.total_cmp(&b.1)));
    let mut astarts: Vec<[f64; 3]> = Vec::new();
    for (_, _, p) in &acands {
        if astarts.iter().all(|q| (q[0] - p[0]).hypot(q[1] - p[1]) > 2.5 * step) {
            astarts.push(*p);
        }
        if astarts.len() == 40 {
            break;
        }
    }
    for st in astarts {
        let res = residuals(s, rng, st[0], st[1], st[2]);
        let w: Vec<f64> = res.iter().map(|r| if *r <= gtol { 1.0 } else { 0.0 }).collect();
        if w.iter().sum::<f64>() >= 3.0 {
            tries.push(refine(s, rng, st, scale, Some(&w)).0);
        }
        tries.push(st);
    }
    // RANSAC over minimal subsets (all sensor triples when there are few sensors): each
    // triple starts from the grid point where its three `d_i − rng_i` agree best.
    let n = s.len();
    if n <= 12 {
        let cols = ny + 1;
        for i in 0..n {
            for j in i + 1..n {
                for k in j + 1..n {
                    let mut best = (f64::MAX, 0usize);
                    for (g, a) in amat.chunks_exact(n).enumerate() {
                        let (hi, lo) = (a[i].max(a[j]).max(a[k]), a[i].min(a[j]).min(a[k]));
                        if hi - lo < best.0 {
                            best = (hi - lo, g);
                        }
                    }
                    let g = best.1;
                    let a = &amat[g * n..(g + 1) * n];
                    let x = min_x - cfg.grid_margin_m + (g / cols) as f64 * step;
                    let y = min_y - cfg.grid_margin_m + (g % cols) as f64 * step;
                    let tau = a[i].max(a[j]).max(a[k]);
                    let mut w = vec![0.0; n];
                    (w[i], w[j], w[k]) = (1.0, 1.0, 1.0);
                    tries.push(refine(s, rng, [x, y, tau], scale, Some(&w)).0);
                }
            }
        }
    }
    // Every try is polished by least squares on its inliers (a few rounds), then scored:
    // consensus (sensors within `outlier_m`) minus a heavy penalty for each sensor that
    // would have heard the sound before its direct path allowed (residual < −`outlier_m`),
    // ties broken by the inliers' squared residuals.
    let mut scored: Vec<(f64, [f64; 3])> = Vec::new();
    for mut p in tries {
        if !p.iter().all(|v| v.is_finite()) {
            continue;
        }
        for _ in 0..4 {
            let res = residuals(s, rng, p[0], p[1], p[2]);
            let w: Vec<f64> = res.iter().map(|r| if r.abs() <= cfg.outlier_m { 1.0 } else { 0.0 }).collect();
            if w.iter().sum::<f64>() < 3.0 {
                break;
            }
            let q = refine(s, rng, p, scale, Some(&w)).0;
            if !q.iter().all(|v| v.is_finite()) {
                break;
            }
            p = q;
        }
        let res = residuals(s, rng, p[0], p[1], p[2]);
        let consensus = res.iter().filter(|r| r.abs() <= cfg.outlier_m).count() as f64;
        let early = res.iter().filter(|r| **r < -cfg.outlier_m).count() as f64;
        let ss: f64 = res.iter().filter(|r| r.abs() <= cfg.outlier_m).map(|r| r * r).sum();
        let misfit = levels.map_or(0.0, |l| level_misfits(s, l, p, &res, cfg));
        let cost = -1000.0 * (consensus - 2.0 * early - cfg.level_weight * misfit) + ss / (1.0 + ss);
        scored.push((cost, p));
    }
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (best_cost, p) = *scored.first()?;
    // Ambiguity: another solution as good (same score), or, when four sensors or fewer agree,
    // one that fits a single sensor fewer, but far away widens the radius: with most paths
    // non-line-of-sight the consensus alone cannot tell them apart.
    let best_consensus = residuals(s, rng, p[0], p[1], p[2]).iter().filter(|r| r.abs() <= cfg.outlier_m).count();
    let slack = if best_consensus <= 4 { 1500.0 } else { 500.0 };
    let ambiguity = scored
        .iter()
        .skip(1)
        .filter(|(c, _)| c - best_cost < slack)
        .map(|(_, q)| (q[0] - p[0]).hypot(q[1] - p[1]))
        .fold(0.0, f64::max);
    let res = residuals(s, rng, p[0], p[1], p[2]);
    let w: Vec<f64> = res.iter().map(|r| if r.abs() <= cfg.outlier_m { 1.0 } else { 0.0 }).collect();
    let inliers = w.iter().filter(|&&w| w > 0.0).count();
    let (p, jtj) = if inliers >= 3 { refine(s, rng, p, scale, Some(&w)) } else { (p, [[0.0; 3]; 3]) };
    let res = residuals(s, rng, p[0], p[1], p[2]);
    let inl: Vec<f64> = res.iter().zip(&w).filter(|(_, w)| **w > 0.0).map(|(r, _)| *r).collect();
    let dof = inl.len().saturating_sub(3).max(1) as f64;
    let rms = (inl.iter().map(|r| r * r).sum::<f64>() / inl.len().max(1) as f64).sqrt();
    let sigma = (inl.iter().map(|r| r * r).sum::<f64>() / dof).sqrt().max(cfg.min_sigma_m);
    let radius_m = match invert3(jtj) {
        Some(cov) if inliers >= 3 => {
            let (a, b, d) = (cov[0][0], cov[0][1], cov[1][1]);
            let lmax = 0.5 * (a + d) + (0.25 * (a - d).powi(2) + b * b).sqrt();
            2.45 * sigma * lmax.max(0.0).sqrt()
        }
        _ => f64::INFINITY,
    };
    let radius_m = radius_m.max(ambiguity);
    Some(Solution { x: p[0], y: p[1], tau: p[2], inliers, rms, radius_m: radius_m.min(1e5) })
}

fn det3(m: &[[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

fn invert3(m: [[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let d = det3(&m);
    if !d.is_finite() || d.abs() < 1e-12 {
        return None;
    }
    let mut inv = [[0.0; 3]; 3];
    for (i, row) in inv.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            let (r0, r1) = ((j + 1) % 3, (j + 2) % 3);
            let (c0, c1) = ((i + 1) % 3, (i + 2) % 3);
            *v = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / d;
        }
    }
    Some(inv)
}

fn solve3(m: [[f64; 3]; 3], b: [f64; 3]) -> Option<[f64; 3]> {
    let inv = invert3(m)?;
    Some([0, 1, 2].map(|i| inv[i][0] * b[0] + inv[i][1] * b[1] + inv[i][2] * b[2]))
}

#[derive(Serialize)]
struct FixAttributes<'a> {
    method: &'a str,
    sensors: usize,
    inliers: usize,
    residual_rms_m: f64,
    temperature_c: f64,
    sensor_ids: Vec<&'a str>,
}

/// The detection at the source for one group.
pub fn to_detection(fix: &Fix, group: &[OnsetReport], cfg: &LocateConfig) -> Detection {
    let attrs = FixAttributes {
        method: fix.method,
        sensors: fix.sensors,
        inliers: fix.inliers,
        residual_rms_m: (fix.residual_rms_m * 100.0).round() / 100.0,
        temperature_c: cfg.temperature_c,
        sensor_ids: group.iter().map(|r| r.sensor.as_str()).collect(),
    };
    Detection {
        id: DetectionId::generate(),
        sensor: cfg.sensor_id.clone(),
        kind: fix.kind,
        time: fix.emission,
        location: Location {
            lon: fix.lon,
            lat: fix.lat,
            uncertainty_m: Some((fix.uncertainty_m * 10.0).round() / 10.0),
        },
        confidence: fix.confidence,
        attributes: raw_json(&attrs),
        evidence: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: &str, x: f64, y: f64, t_s: f64) -> OnsetReport {
        let (mx, my) = metres_per_degree(47.2);
        let t0: DateTime<Utc> = "2026-11-22T21:30:00Z".parse().unwrap();
        OnsetReport {
            sensor: SensorId::new(id).unwrap(),
            lon: -1.55 + x / mx,
            lat: 47.2 + y / my,
            onset: t0 + Duration::nanoseconds((t_s * 1e9) as i64),
            kind: Kind::AudioGunshot,
            confidence: 0.9,
            clock_ok: true,
            level_db: None,
        }
    }

    fn scene(src: (f64, f64), sensors: &[(f64, f64)], excess: &[f64]) -> Vec<OnsetReport> {
        let c = crate::speed_of_sound(15.0);
        sensors
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let d = (p.0 - src.0).hypot(p.1 - src.1) + excess.get(i).copied().unwrap_or(0.0);
                report(&format!("m{i}"), p.0, p.1, 1.0 + d / c)
            })
            .collect()
    }

    fn err(fix: &Fix, src: (f64, f64)) -> f64 {
        let (mx, my) = metres_per_degree(47.2);
        ((fix.lon + 1.55) * mx - src.0).hypot((fix.lat - 47.2) * my - src.1)
    }

    const SQUARE: [(f64, f64); 6] =
        [(0.0, 0.0), (400.0, 0.0), (0.0, 400.0), (400.0, 400.0), (200.0, -50.0), (-30.0, 220.0)];

    #[test]
    fn exact_onsets_give_the_source() {
        let fixes = locate_all(scene((130.0, 270.0), &SQUARE, &[]), &LocateConfig::default());
        assert_eq!(fixes.len(), 1);
        assert_eq!(fixes[0].method, "tdoa");
        assert!(err(&fixes[0], (130.0, 270.0)) < 0.5, "{:?}", fixes[0]);
    }

    #[test]
    fn nlos_outliers_are_down_weighted() {
        let fixes =
            locate_all(scene((250.0, 120.0), &SQUARE, &[0.0, 60.0, 0.0, 0.0, 0.0, 0.0]), &LocateConfig::default());
        assert!(err(&fixes[0], (250.0, 120.0)) < 2.0, "{:?}", fixes[0]);
        assert_eq!(fixes[0].inliers, 5);
    }

    const EIGHT: [(f64, f64); 8] = [
        (0.0, 0.0),
        (500.0, 40.0),
        (960.0, 10.0),
        (30.0, 480.0),
        (520.0, 530.0),
        (990.0, 470.0),
        (60.0, 950.0),
        (700.0, 980.0),
    ];

    #[test]
    fn half_the_paths_non_line_of_sight_still_give_the_source() {
        // Four of eight arrivals late by 20–120 m: only positive excess, so the fit keeps the
        // four line-of-sight sensors and rejects fits that would need an early arrival.
        let src = (380.0, 610.0);
        let fixes =
            locate_all(scene(src, &EIGHT, &[0.0, 45.0, 0.0, 120.0, 0.0, 20.0, 0.0, 80.0]), &LocateConfig::default());
        assert!(err(&fixes[0], src) < 1.0, "{:?}", fixes[0]);
        assert_eq!(fixes[0].inliers, 4);
        assert!(fixes[0].uncertainty_m >= err(&fixes[0], src));
    }

    #[test]
    fn levels_pick_the_fit_when_most_paths_are_non_line_of_sight() {
        // Five of eight paths NLOS (6 dB weaker than 1/r): only three sensors fit exactly.
        let src = (420.0, 380.0);
        let excess = [70.0, 0.0, 110.0, 35.0, 0.0, 140.0, 55.0, 0.0];
        let mut r = scene(src, &EIGHT, &excess);
        for (o, (p, e)) in r.iter_mut().zip(EIGHT.iter().zip(excess)) {
            let d = (p.0 - src.0).hypot(p.1 - src.1);
            o.level_db = Some(120.0 - 20.0 * d.log10() - if e > 0.0 { 6.0 } else { 0.0 });
        }
        let fixes = locate_all(r, &LocateConfig::default());
        assert!(err(&fixes[0], src) < 1.0, "{:?}", fixes[0]);
        assert_eq!(fixes[0].inliers, 3);
    }

    #[test]
    fn a_second_report_of_a_sensor_does_not_split_the_event() {
        // Sensor m0 also reports an echo 0.4 s later: the event keeps its eight sensors.
        let mut r = scene((400.0, 400.0), &EIGHT, &[]);
        let mut echo = r[0].clone();
        echo.onset += Duration::milliseconds(400);
        r.insert(1, echo);
        let groups = associate(r, &LocateConfig::default());
        assert_eq!(groups.iter().map(|g| g.len()).max(), Some(8));
    }

    #[test]
    fn fewer_than_three_sensors_stay_at_the_sensor() {
        let fixes = locate_all(scene((100.0, 100.0), &SQUARE[..2], &[]), &LocateConfig::default());
        assert_eq!(fixes[0].method, "nearest_sensor");
        assert_eq!(fixes[0].uncertainty_m, 1000.0);
        assert!(err(&fixes[0], (0.0, 0.0)) < 1e-6);
    }

    #[test]
    fn unsynchronised_clocks_are_left_out() {
        let mut r = scene((100.0, 100.0), &SQUARE[..3], &[]);
        r[2].clock_ok = false;
        assert_eq!(locate_all(r, &LocateConfig::default())[0].method, "nearest_sensor");
    }
}
