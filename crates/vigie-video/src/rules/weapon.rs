//! `video.weapon`: a weapon seen by the deployer's object detector (classes named in
//! `classes`, score ≥ `min_score`) in at least `min_hits` of the last `window_frames`
//! frames on which the detector ran. One event per carrier: the weapon's box is tied to the
//! track that holds it and that track is not reported twice; and within `cooldown_secs` of
//! a report, a weapon that the same carrier could have reached (at `carrier_speed_mps`,
//! plus 2 m) is taken as the same one (tracks break when people run).
//!
//! There is no weapon heuristic without a detector: this rule runs only when the camera's
//! config names a model (the config check refuses `video.weapon` otherwise).

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use vigie_model::Kind;

use super::{Event, Position, Rule, Scene, round2, secs_between};
use crate::stages::detector::ObjectBox;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WeaponConfig {
    pub classes: Vec<String>,
    pub min_score: f64,
    pub min_hits: usize,
    pub window_frames: usize,
    pub cooldown_secs: f64,
    pub carrier_speed_mps: f64,
}

impl Default for WeaponConfig {
    fn default() -> Self {
        WeaponConfig {
            classes: ["knife", "gun", "pistol", "rifle", "handgun"].map(String::from).to_vec(),
            min_score: 0.5,
            min_hits: 3,
            window_frames: 5,
            cooldown_secs: 10.0,
            carrier_speed_mps: 5.0,
        }
    }
}

pub struct Weapon {
    cfg: WeaponConfig,
    recent: VecDeque<Option<ObjectBox>>,
    reports: Vec<(DateTime<Utc>, Position)>,
    reported_tracks: HashSet<u32>,
}

impl Weapon {
    pub fn new(cfg: WeaponConfig) -> Weapon {
        Weapon { cfg, recent: VecDeque::new(), reports: Vec::new(), reported_tracks: HashSet::new() }
    }
}

impl Rule for Weapon {
    fn kind(&self) -> Kind {
        Kind::VideoWeapon
    }

    fn observe(&mut self, s: &Scene<'_>) -> Vec<Event> {
        if !s.detector_ran {
            return Vec::new();
        }
        let best = s
            .objects
            .iter()
            .filter(|o| o.score as f64 >= self.cfg.min_score && self.cfg.classes.contains(&o.label))
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .cloned();
        self.recent.push_back(best);
        while self.recent.len() > self.cfg.window_frames.max(1) {
            self.recent.pop_front();
        }
        let hits: Vec<ObjectBox> = self.recent.iter().flatten().cloned().collect();
        if hits.len() < self.cfg.min_hits {
            return Vec::new();
        }
        let Some(last) = hits.last() else { return Vec::new() };
        // The carrier: the track whose box holds most of the weapon's.
        let holder = s
            .tracks
            .iter()
            .filter(|t| t.confirmed)
            .map(|t| (t.id, containment(&last.bbox, &t.bbox.grown(4, u32::MAX, u32::MAX))))
            .filter(|(_, c)| *c >= 0.5)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(id, _)| id);
        if holder.is_some_and(|id| self.reported_tracks.contains(&id)) {
            return Vec::new();
        }
        let here = s.view.position(&last.bbox);
        let cfg = &self.cfg;
        self.reports.retain(|(t, _)| secs_between(*t, s.time) <= cfg.cooldown_secs);
        let same_carrier = self.reports.iter().any(|(t, p)| {
            let reach = cfg.carrier_speed_mps * secs_between(*t, s.time) + 2.0;
            distance_m(s, *p, here) <= reach
        });
        if let Some(id) = holder {
            self.reported_tracks.insert(id);
        }
        if same_carrier {
            return Vec::new();
        }
        self.reports.push((s.time, here));
        let alive: HashSet<u32> = s.tracks.iter().map(|t| t.id).collect();
        self.reported_tracks.retain(|id| alive.contains(id));
        let mean_score = hits.iter().map(|h| h.score as f64).sum::<f64>() / hits.len() as f64;
        self.recent.clear();
        vec![
            Event::new(Kind::VideoWeapon, s.time, mean_score.min(0.99), s.view.position(&last.bbox))
                .with_box(last.bbox)
                .attr("class", last.label.clone())
                .attr("score", round2(mean_score))
                .attr("frames", hits.len() as u64),
        ]
    }

    fn reset(&mut self) {
        self.recent.clear();
        self.reported_tracks.clear();
    }
}

/// Share of `inner`'s area inside `outer`.
fn containment(inner: &crate::geometry::BoxPx, outer: &crate::geometry::BoxPx) -> f64 {
    let ix = inner.x1.min(outer.x1).saturating_sub(inner.x0.max(outer.x0)) as f64;
    let iy = inner.y1.min(outer.y1).saturating_sub(inner.y0.max(outer.y0)) as f64;
    ix * iy / inner.area().max(1) as f64
}

/// Metres on the ground; without calibration, tenths of the frame height count as metres.
fn distance_m(s: &Scene<'_>, a: Position, b: Position) -> f64 {
    match (a, b) {
        (Position::Ground(a), Position::Ground(b)) => a.dist(b),
        (a, b) => {
            let aspect = s.view.width as f64 / s.view.height as f64;
            let (a, b) = (a.point(), b.point());
            (((a.x - b.x) * aspect).powi(2) + (a.y - b.y).powi(2)).sqrt() * 10.0
        }
    }
}
