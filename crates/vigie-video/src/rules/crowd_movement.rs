//! `video.crowd_movement`: sudden collective motion. In a crowd zone (the whole frame when
//! the camera has none), at least `min_tracks` tracks, of which a share `min_share` or more
//! move at `run_speed_mps` or faster over `window_secs`, while the scene was calm (mean
//! speed under `calm_speed_mps`) just before. One event per episode; it re-arms after
//! `clear_secs` of calm. Attributes say whether the group disperses (moves outward).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use vigie_model::Kind;

use super::{Event, Position, Rule, Scene, ZoneKind, round2, secs_between, speed};
use crate::geometry::Point;
use crate::stages::track::Track;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrowdMovementConfig {
    pub run_speed_mps: f64,
    pub calm_speed_mps: f64,
    pub min_tracks: usize,
    pub min_share: f64,
    pub window_secs: f64,
    pub clear_secs: f64,
}

impl Default for CrowdMovementConfig {
    fn default() -> Self {
        CrowdMovementConfig {
            run_speed_mps: 2.5,
            calm_speed_mps: 1.2,
            min_tracks: 4,
            min_share: 0.6,
            window_secs: 1.0,
            clear_secs: 5.0,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct AreaState {
    calm_mean: Option<f64>,
    in_episode: bool,
    calm_since: Option<DateTime<Utc>>,
}

pub struct CrowdMovement {
    cfg: CrowdMovementConfig,
    areas: Vec<AreaState>,
}

impl CrowdMovement {
    pub fn new(cfg: CrowdMovementConfig) -> CrowdMovement {
        CrowdMovement { cfg, areas: Vec::new() }
    }
}

impl Rule for CrowdMovement {
    fn kind(&self) -> Kind {
        Kind::VideoCrowdMovement
    }

    fn observe(&mut self, s: &Scene<'_>) -> Vec<Event> {
        let view = s.view;
        let crowd_zones: Vec<usize> =
            view.zones.iter().enumerate().filter(|(_, z)| z.kind == ZoneKind::Crowd).map(|(i, _)| i).collect();
        // Area 0 is the whole frame when there is no crowd zone.
        let areas: Vec<Option<usize>> =
            if crowd_zones.is_empty() { vec![None] } else { crowd_zones.into_iter().map(Some).collect() };
        if self.areas.len() != areas.len() {
            self.areas = vec![AreaState::default(); areas.len()];
        }
        let mut out = Vec::new();
        let image_scale = 10.0; // without calibration: tenths of the frame height per second
        for (ai, zone) in areas.iter().enumerate() {
            let members: Vec<(&Track, f64, Point)> = s
                .tracks
                .iter()
                .filter(|t| t.confirmed && t.missed == 0)
                .filter(|t| zone.is_none_or(|z| view.zones[z].polygon.contains(view.relative(t.bbox.foot_px()))))
                .filter_map(|t| {
                    let (v, vel) = speed(view, t, s.time, self.cfg.window_secs)?;
                    let k = if view.position(&t.bbox).is_ground() { 1.0 } else { image_scale };
                    Some((t, v * k, vel))
                })
                .collect();
            let st = &mut self.areas[ai];
            if members.is_empty() {
                continue;
            }
            let mean = members.iter().map(|m| m.1).sum::<f64>() / members.len() as f64;
            let fast = members.iter().filter(|m| m.1 >= self.cfg.run_speed_mps).count();
            let share = fast as f64 / members.len() as f64;
            let sudden = members.len() >= self.cfg.min_tracks
                && share >= self.cfg.min_share
                && st.calm_mean.is_some_and(|c| c < self.cfg.calm_speed_mps);
            if sudden && !st.in_episode {
                st.in_episode = true;
                st.calm_since = None;
                // Outward motion: velocity against the direction from the group's centre.
                let pos: Vec<Point> = members.iter().map(|m| view.position(&m.0.bbox).point()).collect();
                let c = Point::new(
                    pos.iter().map(|p| p.x).sum::<f64>() / pos.len() as f64,
                    pos.iter().map(|p| p.y).sum::<f64>() / pos.len() as f64,
                );
                let outward = members
                    .iter()
                    .zip(&pos)
                    .filter(|((_, _, v), p)| {
                        let r = Point::new(p.x - c.x, p.y - c.y);
                        r.x * v.x + r.y * v.y > 0.0
                    })
                    .count() as f64
                    / members.len() as f64;
                let position = match view.ground {
                    Some(_) if view.position(&members[0].0.bbox).is_ground() => Position::Ground(c),
                    _ => Position::Image(c),
                };
                let mut e = Event::new(Kind::VideoCrowdMovement, s.time, (0.5 + 0.5 * share).min(0.95), position)
                    .attr("tracks", members.len() as u64)
                    .attr("moving_share", round2(share))
                    .attr("mean_speed_mps", round2(mean))
                    .attr("calm_speed_before_mps", round2(st.calm_mean.unwrap_or(0.0)))
                    .attr("dispersing", outward >= 0.7);
                if let Some(z) = zone {
                    e = e.attr("zone", view.zones[*z].name.clone());
                }
                out.push(e);
            }
            if share < self.cfg.min_share / 2.0 {
                // Calm: learn the baseline, re-arm after clear_secs.
                st.calm_mean = Some(match st.calm_mean {
                    Some(c) => c + 0.2 * (mean - c),
                    None => mean,
                });
                let since = *st.calm_since.get_or_insert(s.time);
                if st.in_episode && secs_between(since, s.time) >= self.cfg.clear_secs {
                    st.in_episode = false;
                }
            } else {
                st.calm_since = None;
            }
        }
        out
    }

    fn reset(&mut self) {
        self.areas.clear();
    }
}
