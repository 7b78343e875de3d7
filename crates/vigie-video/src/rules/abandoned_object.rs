//! `video.abandoned_object`: static foreground that stays after its carrier left.
//!
//! A candidate is a confirmed track that never looked like a person, no wider than
//! `max_object_width_m` on the ground, and still (moved less than `still_m` over
//! `still_secs`). It must have had a carrier (unless `require_carrier` is false): born
//! touching another track (the blob split off a person's), or moved at least `carried_m`
//! from where it appeared (objects do not walk: someone carried it, seen as a blob of its
//! own). The clock starts when no
//! person-like track is within `attended_radius_m`; after `unattended_secs` the event fires
//! once for that object. The background model keeps such an object foreground for
//! `motion.static_absorb_secs`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use vigie_model::Kind;

use super::{Event, Position, Rule, Scene, round2, secs_between};
use crate::stages::track::Track;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AbandonedObjectConfig {
    pub unattended_secs: f64,
    pub attended_radius_m: f64,
    pub max_object_width_m: f64,
    pub still_secs: f64,
    pub still_m: f64,
    pub carried_m: f64,
    pub require_carrier: bool,
}

impl Default for AbandonedObjectConfig {
    fn default() -> Self {
        AbandonedObjectConfig {
            unattended_secs: 10.0,
            attended_radius_m: 2.5,
            max_object_width_m: 1.2,
            still_secs: 2.0,
            still_m: 0.3,
            carried_m: 1.0,
            require_carrier: true,
        }
    }
}

pub struct AbandonedObject {
    cfg: AbandonedObjectConfig,
    unattended_since: HashMap<u32, DateTime<Utc>>,
    reported: HashSet<u32>,
}

impl AbandonedObject {
    pub fn new(cfg: AbandonedObjectConfig) -> AbandonedObject {
        AbandonedObject { cfg, unattended_since: HashMap::new(), reported: HashSet::new() }
    }

    /// Distances in metres on the ground, or in frame heights without calibration (where
    /// `attended_radius_m` and `still_m` are read as tenths of the frame height).
    fn distance(s: &Scene<'_>, a: Position, b: Position) -> f64 {
        match (a, b) {
            (Position::Ground(a), Position::Ground(b)) => a.dist(b),
            (a, b) => {
                let aspect = s.view.width as f64 / s.view.height as f64;
                let (a, b) = (a.point(), b.point());
                (((a.x - b.x) * aspect).powi(2) + (a.y - b.y).powi(2)).sqrt() * 10.0
            }
        }
    }

    fn is_still(&self, s: &Scene<'_>, t: &Track) -> bool {
        let Some(first) = t.history.front() else { return false };
        if secs_between(first.time, s.time) < self.cfg.still_secs {
            return false;
        }
        let now = s.view.position(&t.bbox);
        t.history
            .iter()
            .filter(|h| secs_between(h.time, s.time) <= self.cfg.still_secs)
            .all(|h| Self::distance(s, s.view.position(&h.bbox), now) <= self.cfg.still_m)
    }

    fn width_ok(&self, s: &Scene<'_>, t: &Track) -> bool {
        let (l, r) = ((t.bbox.x0 as f64, t.bbox.y1 as f64), (t.bbox.x1 as f64, t.bbox.y1 as f64));
        match (s.view.ground_of(l), s.view.ground_of(r)) {
            (Some(a), Some(b)) => a.dist(b) <= self.cfg.max_object_width_m,
            _ => t.bbox.width() as f64 <= s.view.width as f64 * 0.1,
        }
    }
}

impl Rule for AbandonedObject {
    fn kind(&self) -> Kind {
        Kind::VideoAbandonedObject
    }

    fn observe(&mut self, s: &Scene<'_>) -> Vec<Event> {
        let mut out = Vec::new();
        let people: Vec<&Track> = s.tracks.iter().filter(|t| t.confirmed && t.is_person_like()).collect();
        let mut candidates = HashSet::new();
        for t in s.tracks.iter().filter(|t| t.confirmed && t.missed == 0 && !t.is_person_like()) {
            let carried = t.parent.is_some()
                || Self::distance(s, s.view.position(&t.born_bbox), s.view.position(&t.bbox)) >= self.cfg.carried_m;
            if self.reported.contains(&t.id)
                || (self.cfg.require_carrier && !carried)
                || !self.width_ok(s, t)
                || !self.is_still(s, t)
            {
                continue;
            }
            candidates.insert(t.id);
            let here = s.view.position(&t.bbox);
            let attended = people.iter().any(|p| {
                p.id != t.id && Self::distance(s, s.view.position(&p.bbox), here) <= self.cfg.attended_radius_m
            });
            if attended {
                self.unattended_since.remove(&t.id);
                continue;
            }
            let since = *self.unattended_since.entry(t.id).or_insert(s.time);
            let alone = secs_between(since, s.time);
            if alone >= self.cfg.unattended_secs {
                self.reported.insert(t.id);
                let carrier_gone = t.parent.is_some_and(|p| !s.tracks.iter().any(|o| o.id == p));
                out.push(
                    Event::new(
                        Kind::VideoAbandonedObject,
                        s.time,
                        match (t.parent.is_some(), carried) {
                            (true, _) => 0.8,
                            (false, true) => 0.75,
                            (false, false) => 0.6,
                        },
                        here,
                    )
                    .with_box(t.bbox)
                    .attr("unattended_secs", round2(alone))
                    .attr("present_secs", round2(t.age_secs(s.time)))
                    .attr("carrier_seen", t.parent.is_some())
                    .attr("carrier_out_of_view", carrier_gone),
                );
            }
        }
        self.unattended_since.retain(|id, _| candidates.contains(id));
        let alive: HashSet<u32> = s.tracks.iter().map(|t| t.id).collect();
        self.reported.retain(|id| alive.contains(id));
        out
    }

    fn reset(&mut self) {
        self.unattended_since.clear();
        self.reported.clear();
    }
}
