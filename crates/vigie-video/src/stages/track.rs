//! Stage `track`: anonymous tracks inside one camera (property 1: a track is a number local
//! to this process, never stored, never compared across cameras, never sent).
//!
//! SORT-style: a constant-velocity Kalman filter per track predicts its centre; blobs are
//! assigned by the Hungarian method on `1 − IoU` (centre distance as a fallback for small or
//! fast blobs). From OC-SORT: when a track is found again after missed frames its velocity
//! is re-estimated from the two observations (not from the drifting prediction). From
//! ByteTrack: tracks are kept `max_missed_secs` through occlusions before they are dropped.
//! A blob born touching a confirmed track records it as its `parent`: the carrier of an
//! object that was put down.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::geometry::BoxPx;
use crate::stages::blobs::Blob;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackerConfig {
    /// Frames matched before a track is confirmed.
    pub min_hits: u32,
    /// How long a confirmed track survives without a match.
    pub max_missed_secs: f64,
    /// How much history a track keeps for the rules.
    pub history_secs: f64,
    /// Fallback gate: a blob whose centre is within this many of the track's box sizes.
    pub gate_box_sizes: f64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig { min_hits: 3, max_missed_secs: 1.5, history_secs: 15.0, gate_box_sizes: 1.5 }
    }
}

/// One observation of a track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackSample {
    pub time: DateTime<Utc>,
    pub bbox: BoxPx,
}

#[derive(Debug, Clone)]
pub struct Track {
    /// Local, per-camera, per-process number. Never leaves the camera's pipeline.
    pub id: u32,
    /// Last observed box (the predicted one while missed).
    pub bbox: BoxPx,
    pub confirmed: bool,
    pub hits: u32,
    /// Consecutive frames without a match.
    pub missed: u32,
    pub born: DateTime<Utc>,
    /// The box the track was born with (where it appeared).
    pub born_bbox: BoxPx,
    /// The confirmed track this one was born touching (the carrier of a dropped object).
    pub parent: Option<u32>,
    pub history: VecDeque<TrackSample>,
    /// Frames in which the track looked like a standing person (taller than wide).
    pub upright_frames: u32,
    /// Frames in which the object detector saw a person on it.
    pub person_hits: u32,
    /// Box height (pixels) the last time the track stood upright.
    pub standing_height_px: u32,
    /// Already counted in the analyser's statistics.
    pub(crate) counted: bool,
    kf: Kalman,
}

impl Track {
    /// Seconds since the track was born.
    pub fn age_secs(&self, now: DateTime<Utc>) -> f64 {
        (now - self.born).num_milliseconds() as f64 / 1000.0
    }
    /// Looks like a person: the detector said so, or it stood upright for a while.
    pub fn is_person_like(&self) -> bool {
        self.person_hits >= 2 || self.upright_frames >= 5
    }
    pub fn velocity_px(&self) -> (f64, f64) {
        (self.kf.x[2], self.kf.x[3])
    }
    /// The observation closest to `secs` ago (the oldest kept if the track is younger).
    pub fn sample_ago(&self, now: DateTime<Utc>, secs: f64) -> Option<&TrackSample> {
        let target = now - chrono::Duration::milliseconds((secs * 1000.0) as i64);
        self.history.iter().find(|s| s.time >= target).or(self.history.back())
    }
}

/// Constant-velocity Kalman filter on the box centre; state `[x, y, vx, vy]`, per frame.
#[derive(Debug, Clone)]
struct Kalman {
    x: [f64; 4],
    p: [[f64; 4]; 4],
}

impl Kalman {
    fn new(cx: f64, cy: f64) -> Kalman {
        let mut p = [[0.0; 4]; 4];
        p[0][0] = 4.0;
        p[1][1] = 4.0;
        p[2][2] = 25.0;
        p[3][3] = 25.0;
        Kalman { x: [cx, cy, 0.0, 0.0], p }
    }

    fn predict(&mut self) {
        let q = [0.5, 0.5, 0.8, 0.8];
        self.x[0] += self.x[2];
        self.x[1] += self.x[3];
        // P = F P Fᵀ + Q with F = [[1,0,1,0],[0,1,0,1],[0,0,1,0],[0,0,0,1]].
        let p = self.p;
        let mut n = p;
        for i in 0..2 {
            n[i][i] = p[i][i] + 2.0 * p[i][i + 2] + p[i + 2][i + 2];
            n[i][i + 2] = p[i][i + 2] + p[i + 2][i + 2];
            n[i + 2][i] = n[i][i + 2];
        }
        for (i, qi) in q.iter().enumerate() {
            n[i][i] += qi;
        }
        self.p = n;
    }

    /// Position-only measurement update (x and y treated independently).
    fn update(&mut self, zx: f64, zy: f64) {
        let r = 2.0;
        for (axis, z) in [(0usize, zx), (1usize, zy)] {
            let v = axis + 2;
            let s = self.p[axis][axis] + r;
            let k_pos = self.p[axis][axis] / s;
            let k_vel = self.p[v][axis] / s;
            let innov = z - self.x[axis];
            self.x[axis] += k_pos * innov;
            self.x[v] += k_vel * innov;
            let (ppp, pvp, pvv) = (self.p[axis][axis], self.p[v][axis], self.p[v][v]);
            self.p[axis][axis] = (1.0 - k_pos) * ppp;
            self.p[v][axis] = pvp - k_vel * ppp;
            self.p[axis][v] = self.p[v][axis];
            self.p[v][v] = pvv - k_vel * pvp;
        }
    }
}

pub struct Tracker {
    cfg: TrackerConfig,
    fps: f64,
    tracks: Vec<Track>,
    next_id: u32,
}

impl Tracker {
    pub fn new(cfg: TrackerConfig, fps: f64) -> Tracker {
        Tracker { cfg, fps, tracks: Vec::new(), next_id: 1 }
    }

    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    pub fn tracks_mut(&mut self) -> &mut [Track] {
        &mut self.tracks
    }

    /// Forgets every track (the camera moved, the stream restarted).
    pub fn reset(&mut self) {
        self.tracks.clear();
    }

    pub fn update(&mut self, blobs: &[Blob], time: DateTime<Utc>) {
        let before: Vec<(u32, BoxPx)> = self.tracks.iter().map(|t| (t.id, t.bbox)).collect();
        for t in &mut self.tracks {
            t.kf.predict();
        }
        let n_t = self.tracks.len();
        let n_b = blobs.len();
        let forbidden = 1e6;
        let mut cost = vec![vec![forbidden; n_b]; n_t];
        for (i, t) in self.tracks.iter().enumerate() {
            let pred = shifted(&t.bbox, t.kf.x[0], t.kf.x[1]);
            let size = t.bbox.width().max(t.bbox.height()).max(4) as f64;
            for (j, b) in blobs.iter().enumerate() {
                let iou = pred.iou(&b.bbox).max(t.bbox.iou(&b.bbox));
                if iou > 0.05 {
                    cost[i][j] = 1.0 - iou;
                } else {
                    let (bx, by) = b.bbox.centre_px();
                    let d = ((bx - t.kf.x[0]).powi(2) + (by - t.kf.x[1]).powi(2)).sqrt();
                    if d < self.cfg.gate_box_sizes * size {
                        cost[i][j] = 1.0 + d / (self.cfg.gate_box_sizes * size);
                    }
                }
            }
        }
        let assignment = hungarian(&cost);
        let mut blob_used = vec![false; n_b];
        let history_len = (self.cfg.history_secs * self.fps).ceil().max(2.0) as usize;
        for (i, t) in self.tracks.iter_mut().enumerate() {
            match assignment[i] {
                Some(j) if cost[i][j] < forbidden => {
                    blob_used[j] = true;
                    let b = blobs[j].bbox;
                    let (cx, cy) = b.centre_px();
                    if t.missed > 0 {
                        // Observation-centric re-update: velocity from the two observations.
                        let (px, py) = t.bbox.centre_px();
                        let gap = (t.missed + 1) as f64;
                        t.kf.x[2] = (cx - px) / gap;
                        t.kf.x[3] = (cy - py) / gap;
                        t.kf.x[0] = cx;
                        t.kf.x[1] = cy;
                    } else {
                        t.kf.update(cx, cy);
                    }
                    t.bbox = b;
                    t.hits += 1;
                    t.missed = 0;
                    if t.hits >= self.cfg.min_hits {
                        t.confirmed = true;
                    }
                    if b.height() as f64 >= 1.4 * b.width() as f64 {
                        t.upright_frames += 1;
                        t.standing_height_px = b.height();
                    }
                    t.history.push_back(TrackSample { time, bbox: b });
                    while t.history.len() > history_len {
                        t.history.pop_front();
                    }
                }
                _ => {
                    t.missed += 1;
                }
            }
        }
        let max_missed = (self.cfg.max_missed_secs * self.fps).ceil().max(1.0) as u32;
        self.tracks.retain(|t| if t.confirmed { t.missed <= max_missed } else { t.missed == 0 });
        for (j, b) in blobs.iter().enumerate() {
            if blob_used[j] {
                continue;
            }
            // The carrier: a confirmed track touching the new blob now or in the previous
            // frame (a walker moves several pixels per frame away from what it put down).
            let grown = b.bbox.grown(2, u32::MAX, u32::MAX);
            let parent = self
                .tracks
                .iter()
                .filter(|t| t.confirmed)
                .filter(|t| {
                    let prev = before.iter().find(|(id, _)| *id == t.id).map_or(t.bbox, |p| p.1);
                    t.bbox.union(&prev).grown(2, u32::MAX, u32::MAX).iou(&grown) > 0.0
                })
                .max_by_key(|t| t.bbox.area())
                .map(|t| t.id);
            let (cx, cy) = b.bbox.centre_px();
            let mut history = VecDeque::new();
            history.push_back(TrackSample { time, bbox: b.bbox });
            self.tracks.push(Track {
                id: self.next_id,
                bbox: b.bbox,
                confirmed: self.cfg.min_hits <= 1,
                hits: 1,
                missed: 0,
                born: time,
                born_bbox: b.bbox,
                parent,
                history,
                upright_frames: u32::from(b.bbox.height() as f64 >= 1.4 * b.bbox.width() as f64),
                person_hits: 0,
                standing_height_px: b.bbox.height(),
                counted: false,
                kf: Kalman::new(cx, cy),
            });
            self.next_id = self.next_id.wrapping_add(1).max(1);
        }
    }
}

fn shifted(b: &BoxPx, cx: f64, cy: f64) -> BoxPx {
    let (w, h) = (b.width() as f64, b.height() as f64);
    let x0 = (cx - w / 2.0).max(0.0).round() as u32;
    let y0 = (cy - h / 2.0).max(0.0).round() as u32;
    BoxPx { x0, y0, x1: x0 + b.width(), y1: y0 + b.height() }
}

/// Minimum-cost assignment of rows to columns (Hungarian method, O(n³)); rows beyond the
/// columns (or with only forbidden costs) get `None`.
pub fn hungarian(cost: &[Vec<f64>]) -> Vec<Option<usize>> {
    let rows = cost.len();
    let cols = cost.first().map_or(0, |r| r.len());
    if rows == 0 || cols == 0 {
        return vec![None; rows];
    }
    let n = rows.max(cols);
    let big = 1e6;
    let at = |i: usize, j: usize| if i < rows && j < cols { cost[i][j] } else { big };
    // Potentials u (rows), v (cols); p[j] = row matched to column j (1-based, 0 = none).
    let (mut u, mut v) = (vec![0.0f64; n + 1], vec![0.0f64; n + 1]);
    let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=n {
                if !used[j] {
                    let cur = at(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![None; rows];
    for j in 1..=n {
        let i = p[j];
        if i >= 1 && i <= rows && j <= cols && cost[i - 1][j - 1] < big {
            out[i - 1] = Some(j - 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(x0: u32, y0: u32, w: u32, h: u32) -> Blob {
        Blob { bbox: BoxPx { x0, y0, x1: x0 + w, y1: y0 + h }, pixels: w * h }
    }

    #[test]
    fn hungarian_finds_the_cheapest_assignment() {
        let c = vec![vec![4.0, 1.0, 3.0], vec![2.0, 0.0, 5.0], vec![3.0, 2.0, 2.0]];
        assert_eq!(hungarian(&c), vec![Some(1), Some(0), Some(2)]);
        let rect = vec![vec![1.0, 9.0], vec![9.0, 1.0], vec![5.0, 5.0]];
        let a = hungarian(&rect);
        assert_eq!(&a[..2], &[Some(0), Some(1)]);
        assert_eq!(a[2], None);
    }

    #[test]
    fn two_crossing_walkers_keep_their_numbers() {
        let mut tr = Tracker::new(TrackerConfig::default(), 5.0);
        let t0: DateTime<Utc> = "2026-11-22T21:30:00Z".parse().unwrap();
        let mut ids_left = Vec::new();
        for k in 0..30u32 {
            let t = t0 + chrono::Duration::milliseconds(200 * k as i64);
            // One walks right on row 20, the other left on row 60: they pass each other.
            let a = blob(10 + 4 * k, 20, 8, 16);
            let b = blob(130 - 4 * k, 60, 8, 16);
            tr.update(&[a, b], t);
            let left = tr.tracks().iter().find(|t| t.bbox.y0 == 20).map(|t| t.id);
            ids_left.push(left);
        }
        let first = ids_left[5];
        assert!(ids_left[5..].iter().all(|&i| i == first), "{ids_left:?}");
        assert_eq!(tr.tracks().iter().filter(|t| t.confirmed).count(), 2);
    }

    #[test]
    fn a_dropped_object_remembers_its_carrier() {
        let mut tr = Tracker::new(TrackerConfig::default(), 5.0);
        let t0: DateTime<Utc> = "2026-11-22T21:30:00Z".parse().unwrap();
        for k in 0..5 {
            tr.update(&[blob(50 + k, 20, 8, 20)], t0 + chrono::Duration::milliseconds(200 * k as i64));
        }
        let carrier = tr.tracks()[0].id;
        // The person moves on; a small blob appears at their feet.
        tr.update(&[blob(56, 20, 8, 20), blob(52, 38, 5, 4)], t0 + chrono::Duration::seconds(1));
        let bag = tr.tracks().iter().find(|t| t.bbox.height() == 4).unwrap();
        assert_eq!(bag.parent, Some(carrier));
    }
}
