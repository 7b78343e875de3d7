//! `video.person_down`: a person on the ground after a fall. A track that stood upright
//! (or that the detector called a person) becomes at least `min_aspect` times wider than
//! tall, its height under `max_height_ratio` of its standing height, and stays so and still
//! for `min_down_secs`. One event per track. Crouching (short, not wide) and two people
//! side by side (wide, full height) do not qualify.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use vigie_model::Kind;

use super::{Event, Rule, Scene, round2, secs_between};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersonDownConfig {
    pub min_down_secs: f64,
    pub min_aspect: f64,
    pub max_height_ratio: f64,
    /// Largest move of the box centre while down, in box widths.
    pub max_move_widths: f64,
}

impl Default for PersonDownConfig {
    fn default() -> Self {
        PersonDownConfig { min_down_secs: 4.0, min_aspect: 1.3, max_height_ratio: 0.75, max_move_widths: 0.5 }
    }
}

pub struct PersonDown {
    cfg: PersonDownConfig,
    down_since: HashMap<u32, (DateTime<Utc>, (f64, f64))>,
    reported: HashSet<u32>,
}

impl PersonDown {
    pub fn new(cfg: PersonDownConfig) -> PersonDown {
        PersonDown { cfg, down_since: HashMap::new(), reported: HashSet::new() }
    }
}

impl Rule for PersonDown {
    fn kind(&self) -> Kind {
        Kind::VideoPersonDown
    }

    fn observe(&mut self, s: &Scene<'_>) -> Vec<Event> {
        let mut out = Vec::new();
        let mut down_now = HashSet::new();
        for t in s.tracks.iter().filter(|t| t.confirmed && t.missed == 0 && t.is_person_like()) {
            if self.reported.contains(&t.id) {
                continue;
            }
            let (w, h) = (t.bbox.width() as f64, t.bbox.height().max(1) as f64);
            let lying = w >= self.cfg.min_aspect * h && h <= self.cfg.max_height_ratio * t.standing_height_px as f64;
            if !lying {
                continue;
            }
            let centre = t.bbox.centre_px();
            let (since, at) = *self.down_since.entry(t.id).or_insert((s.time, centre));
            let moved = ((centre.0 - at.0).powi(2) + (centre.1 - at.1).powi(2)).sqrt();
            if moved > self.cfg.max_move_widths * w {
                // Still moving (rolling, crawling away): restart the clock here.
                self.down_since.insert(t.id, (s.time, centre));
                down_now.insert(t.id);
                continue;
            }
            down_now.insert(t.id);
            let down = secs_between(since, s.time);
            if down >= self.cfg.min_down_secs {
                self.reported.insert(t.id);
                out.push(
                    Event::new(Kind::VideoPersonDown, since, (0.6 + 0.03 * down).min(0.9), s.view.position(&t.bbox))
                        .with_box(t.bbox)
                        .attr("down_secs", round2(down))
                        .attr("aspect", round2(w / h))
                        .attr("height_ratio", round2(h / t.standing_height_px.max(1) as f64))
                        .attr("seen_by", if t.person_hits >= 2 { "detector" } else { "shape" }),
                );
            }
        }
        self.down_since.retain(|id, _| down_now.contains(id));
        let alive: HashSet<u32> = s.tracks.iter().map(|t| t.id).collect();
        self.reported.retain(|id| alive.contains(id));
        out
    }

    fn reset(&mut self) {
        self.down_since.clear();
        self.reported.clear();
    }
}
