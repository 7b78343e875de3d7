//! `video.intrusion`: a confirmed track whose foot stays in a forbidden zone for
//! `min_dwell_secs`. One event per track and zone, and one per place and zone within
//! `repeat_secs` (a broken track is not a second intruder).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use vigie_model::Kind;

use super::{Event, Recent, Rule, Scene, ZoneKind, round2, secs_between};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntrusionConfig {
    pub min_dwell_secs: f64,
    pub repeat_secs: f64,
}

impl Default for IntrusionConfig {
    fn default() -> Self {
        IntrusionConfig { min_dwell_secs: 1.0, repeat_secs: 5.0 }
    }
}

pub struct Intrusion {
    cfg: IntrusionConfig,
    /// (track, zone) → first time seen inside.
    inside_since: HashMap<(u32, usize), DateTime<Utc>>,
    reported: HashSet<(u32, usize)>,
    recent: Recent,
}

impl Intrusion {
    pub fn new(cfg: IntrusionConfig) -> Intrusion {
        Intrusion { cfg, inside_since: HashMap::new(), reported: HashSet::new(), recent: Recent::default() }
    }
}

impl Rule for Intrusion {
    fn kind(&self) -> Kind {
        Kind::VideoIntrusion
    }

    fn observe(&mut self, s: &Scene<'_>) -> Vec<Event> {
        let mut out = Vec::new();
        let mut present = HashSet::new();
        for t in s.tracks.iter().filter(|t| t.confirmed && t.missed == 0) {
            for z in s.view.zones_at(&t.bbox, ZoneKind::Forbidden) {
                present.insert((t.id, z));
                let since = *self.inside_since.entry((t.id, z)).or_insert(s.time);
                let dwell = secs_between(since, s.time);
                if dwell >= self.cfg.min_dwell_secs && self.reported.insert((t.id, z)) {
                    let at = s.view.position(&t.bbox);
                    if self.recent.seen(s.view, s.time, at, Some(z), self.cfg.repeat_secs, 2.0) {
                        continue;
                    }
                    let zone = &s.view.zones[z];
                    out.push(
                        Event::new(
                            Kind::VideoIntrusion,
                            since,
                            (0.6 + 0.1 * dwell).min(0.95),
                            s.view.position(&t.bbox),
                        )
                        .with_box(t.bbox)
                        .attr("zone", zone.name.clone())
                        .attr("dwell_secs", round2(dwell))
                        .attr("person_like", t.is_person_like()),
                    );
                }
            }
        }
        // Tracks that left (or vanished): forget their entry time, keep their report for
        // as long as the track lives so one crossing is one event.
        self.inside_since.retain(|k, _| present.contains(k));
        let alive: HashSet<u32> = s.tracks.iter().map(|t| t.id).collect();
        self.reported.retain(|(id, _)| alive.contains(id));
        out
    }

    fn reset(&mut self) {
        self.inside_since.clear();
        self.reported.clear();
        self.recent.clear();
    }
}
