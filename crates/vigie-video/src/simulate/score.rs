//! Matching detections to ground truth: precision, recall and F1 per rule.

use chrono::{DateTime, Utc};
use serde::Serialize;
use vigie_model::{Detection, Kind};

/// A true event of a scene: its kind, the time span in which a detection counts (seconds
/// from the start of the scene), and where it is (metres east, north of the camera).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TruthEvent {
    pub kind: Kind,
    pub t0: f64,
    pub t1: f64,
    pub east_m: Option<f64>,
    pub north_m: Option<f64>,
}

impl TruthEvent {
    pub fn new(kind: Kind, t0: f64, t1: f64) -> TruthEvent {
        TruthEvent { kind, t0, t1, east_m: None, north_m: None }
    }
    pub fn at(mut self, east_m: f64, north_m: f64) -> TruthEvent {
        self.east_m = Some(east_m);
        self.north_m = Some(north_m);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleScore {
    pub kind: Kind,
    pub truths: usize,
    pub detections: usize,
    pub true_positives: usize,
    pub false_positives: usize,
    pub missed: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl RuleScore {
    /// Adds another scene's counts.
    pub fn merge(&mut self, o: &RuleScore) {
        self.truths += o.truths;
        self.detections += o.detections;
        self.true_positives += o.true_positives;
        self.false_positives += o.false_positives;
        self.missed += o.missed;
        self.finish();
    }

    fn finish(&mut self) {
        let tp = self.true_positives as f64;
        self.precision = if self.detections == 0 { 1.0 } else { tp / (tp + self.false_positives as f64) };
        self.recall = if self.truths == 0 { 1.0 } else { tp / self.truths as f64 };
        self.f1 = if self.precision + self.recall == 0.0 {
            0.0
        } else {
            2.0 * self.precision * self.recall / (self.precision + self.recall)
        };
    }
}

/// Scores the detections of `kind`: one detection per true event (within `tol_secs` of its
/// span, and within `tol_m` of its place when both are known); the rest are false positives.
pub fn score(
    kind: Kind,
    detections: &[Detection],
    truth: &[TruthEvent],
    start: DateTime<Utc>,
    camera: (f64, f64),
    tol_secs: f64,
    tol_m: f64,
) -> RuleScore {
    let mut dets: Vec<&Detection> = detections.iter().filter(|d| d.kind == kind).collect();
    dets.sort_by_key(|d| d.time);
    let truths: Vec<&TruthEvent> = truth.iter().filter(|t| t.kind == kind).collect();
    let mut matched = vec![false; truths.len()];
    let (m_lon, m_lat) = vigie_model::geo::metres_per_degree(camera.1);
    let mut tp = 0;
    for d in &dets {
        let t = (d.time - start).num_milliseconds() as f64 / 1000.0;
        let (e, n) = ((d.location.lon - camera.0) * m_lon, (d.location.lat - camera.1) * m_lat);
        let hit = truths.iter().enumerate().position(|(i, tr)| {
            !matched[i]
                && t >= tr.t0 - tol_secs
                && t <= tr.t1 + tol_secs
                && match (tr.east_m, tr.north_m) {
                    (Some(te), Some(tn)) => ((te - e).powi(2) + (tn - n).powi(2)).sqrt() <= tol_m,
                    _ => true,
                }
        });
        if let Some(i) = hit {
            matched[i] = true;
            tp += 1;
        }
    }
    let mut s = RuleScore {
        kind,
        truths: truths.len(),
        detections: dets.len(),
        true_positives: tp,
        false_positives: dets.len() - tp,
        missed: truths.len() - tp,
        precision: 0.0,
        recall: 0.0,
        f1: 0.0,
    };
    s.finish();
    s
}
