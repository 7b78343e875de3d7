//! `video.wrong_way`: a track in a one-way zone moving against the zone's direction: speed
//! at least `min_speed_mps` over `window_secs`, `min_distance_m` covered, heading more than
//! `max_angle_deg` off the allowed direction. One event per track and zone, and one per
//! place and zone within `repeat_secs` (reachable at the measured speed: a broken track is
//! not a second offender).
//!
//! Without a ground calibration speeds and distances are in frame heights per second and
//! frame heights (and the direction is measured from image "up").

use std::collections::HashSet;

use serde::Deserialize;
use vigie_model::Kind;

use super::{Event, Position, Recent, Rule, Scene, ZoneKind, round2, secs_between};
use crate::geometry::Point;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WrongWayConfig {
    pub min_speed_mps: f64,
    pub min_distance_m: f64,
    pub window_secs: f64,
    pub max_angle_deg: f64,
    pub repeat_secs: f64,
}

impl Default for WrongWayConfig {
    fn default() -> Self {
        WrongWayConfig {
            min_speed_mps: 0.5,
            min_distance_m: 2.0,
            window_secs: 3.0,
            max_angle_deg: 110.0,
            repeat_secs: 4.0,
        }
    }
}

pub struct WrongWay {
    cfg: WrongWayConfig,
    reported: HashSet<(u32, usize)>,
    recent: Recent,
}

impl WrongWay {
    pub fn new(cfg: WrongWayConfig) -> WrongWay {
        WrongWay { cfg, reported: HashSet::new(), recent: Recent::default() }
    }
}

impl Rule for WrongWay {
    fn kind(&self) -> Kind {
        Kind::VideoWrongWay
    }

    fn observe(&mut self, s: &Scene<'_>) -> Vec<Event> {
        let mut out = Vec::new();
        for t in s.tracks.iter().filter(|t| t.confirmed && t.missed == 0) {
            for z in s.view.zones_at(&t.bbox, ZoneKind::OneWay) {
                if self.reported.contains(&(t.id, z)) {
                    continue;
                }
                let zone = &s.view.zones[z];
                let Some(dir_deg) = zone.direction_deg else { continue };
                let Some(past) = t.sample_ago(s.time, self.cfg.window_secs) else { continue };
                let dt = secs_between(past.time, s.time);
                if dt < self.cfg.window_secs * 0.6 {
                    continue;
                }
                let (a, b) = (s.view.position(&past.bbox), s.view.position(&t.bbox));
                let d = match (a, b) {
                    (Position::Ground(a), Position::Ground(b)) => Point::new(b.x - a.x, b.y - a.y),
                    // Image: y grows downward; measure in frame heights, "north" = up.
                    (a, b) => {
                        let aspect = s.view.width as f64 / s.view.height as f64;
                        let (a, b) = (a.point(), b.point());
                        Point::new((b.x - a.x) * aspect, -(b.y - a.y))
                    }
                };
                let dist = (d.x * d.x + d.y * d.y).sqrt();
                let speed = dist / dt;
                if dist < self.cfg.min_distance_m || speed < self.cfg.min_speed_mps {
                    continue;
                }
                let heading = d.x.atan2(d.y).to_degrees().rem_euclid(360.0);
                let off = ((heading - dir_deg).rem_euclid(360.0)).min((dir_deg - heading).rem_euclid(360.0));
                if off > self.cfg.max_angle_deg {
                    self.reported.insert((t.id, z));
                    let reach = speed * self.cfg.repeat_secs + 2.0;
                    if self.recent.seen(s.view, s.time, b, Some(z), self.cfg.repeat_secs, reach) {
                        continue;
                    }
                    let conf = (0.5 + (off - self.cfg.max_angle_deg) / 140.0 + 0.05 * speed).min(0.95);
                    out.push(
                        Event::new(Kind::VideoWrongWay, s.time, conf, b)
                            .with_box(t.bbox)
                            .attr("zone", zone.name.clone())
                            .attr("heading_deg", round2(heading))
                            .attr("allowed_deg", round2(dir_deg))
                            .attr("speed_mps", round2(speed)),
                    );
                }
            }
        }
        let alive: HashSet<u32> = s.tracks.iter().map(|t| t.id).collect();
        self.reported.retain(|(id, _)| alive.contains(id));
        out
    }

    fn reset(&mut self) {
        self.reported.clear();
        self.recent.clear();
    }
}
