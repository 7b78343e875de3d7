//! `video.crowd_density`: persons per m² in a crowd zone above `max_persons_per_m2` for
//! `min_duration_secs`. One event per episode; the episode ends when the density stays
//! under `clear_ratio` × the threshold for `clear_secs`.
//!
//! Persons are counted by the object detector when it runs (its person boxes whose foot is
//! in the zone); otherwise estimated from the foreground: the ground area the foreground
//! covers in the zone (each pixel weighted by its ground area through the calibration),
//! divided by `occupied_m2_per_person`, the ground-plane area one person's foreground
//! covers at this camera (measured once on a frame with counted people). Needs a calibration.

use serde::Deserialize;
use vigie_model::Kind;

use super::{Event, Position, Rule, Scene, ZoneKind, round2, secs_between};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrowdDensityConfig {
    pub max_persons_per_m2: f64,
    pub min_duration_secs: f64,
    pub clear_ratio: f64,
    pub clear_secs: f64,
    pub occupied_m2_per_person: f64,
    pub smoothing_secs: f64,
}

impl Default for CrowdDensityConfig {
    fn default() -> Self {
        CrowdDensityConfig {
            max_persons_per_m2: 2.0,
            min_duration_secs: 3.0,
            clear_ratio: 0.7,
            clear_secs: 5.0,
            occupied_m2_per_person: 0.6,
            smoothing_secs: 1.0,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct ZoneState {
    /// Per-pixel ground areas (m²) of the zone's cells, at the current detect size.
    cells: Vec<(usize, f64)>,
    size: (u32, u32),
    density: Option<f64>,
    above_since: Option<DateTime<Utc>>,
    below_since: Option<DateTime<Utc>>,
    in_episode: bool,
    peak: f64,
}

pub struct CrowdDensity {
    cfg: CrowdDensityConfig,
    zones: Vec<ZoneState>,
}

impl CrowdDensity {
    pub fn new(cfg: CrowdDensityConfig) -> CrowdDensity {
        CrowdDensity { cfg, zones: Vec::new() }
    }

    /// Current smoothed density of each crowd zone (for tests and the bench).
    pub fn densities(&self) -> Vec<Option<f64>> {
        self.zones.iter().map(|z| z.density).collect()
    }
}

impl Rule for CrowdDensity {
    fn kind(&self) -> Kind {
        Kind::VideoCrowdDensity
    }

    fn observe(&mut self, s: &Scene<'_>) -> Vec<Event> {
        let view = s.view;
        if self.zones.len() != view.zones.len() {
            self.zones = vec![ZoneState::default(); view.zones.len()];
        }
        let mut out = Vec::new();
        let alpha = (1.0 / (self.cfg.smoothing_secs * s.fps).max(1.0)).min(1.0);
        for (zi, zone) in view.zones.iter().enumerate() {
            if zone.kind != ZoneKind::Crowd {
                continue;
            }
            let Some(area) = zone.area_m2.filter(|a| *a > 0.0) else { continue };
            let st = &mut self.zones[zi];
            if st.size != (view.width, view.height) {
                st.size = (view.width, view.height);
                let r = view.raster(zi);
                st.cells = (0..r.cells.len())
                    .filter(|&i| r.cells[i])
                    .filter_map(|i| {
                        let (x, y) = ((i as u32 % view.width) as f64 + 0.5, (i as u32 / view.width) as f64 + 0.5);
                        view.pixel_area_m2((x, y)).map(|a| (i, a))
                    })
                    .collect();
            }
            let persons = if s.detector_ran {
                s.objects
                    .iter()
                    .filter(|o| o.is_person && zone.polygon.contains(view.relative(o.bbox.foot_px())))
                    .count() as f64
            } else {
                let fg = &s.motion.foreground;
                let covered: f64 = st.cells.iter().filter(|(i, _)| fg[*i] != 0).map(|(_, a)| a).sum();
                covered / self.cfg.occupied_m2_per_person
            };
            let d_now = persons / area;
            let d = match st.density {
                Some(prev) => prev + alpha * (d_now - prev),
                None => d_now,
            };
            st.density = Some(d);
            if d >= self.cfg.max_persons_per_m2 {
                st.below_since = None;
                let since = *st.above_since.get_or_insert(s.time);
                st.peak = st.peak.max(d);
                if !st.in_episode && secs_between(since, s.time) >= self.cfg.min_duration_secs {
                    st.in_episode = true;
                    let c = zone.polygon.centroid();
                    let pos = match view.ground.as_ref().and_then(|g| g.ground(c)) {
                        Some(g) => Position::Ground(g),
                        None => Position::Image(c),
                    };
                    let conf = (0.55 + 0.4 * (d / self.cfg.max_persons_per_m2 - 1.0)).clamp(0.55, 0.95);
                    out.push(
                        Event::new(Kind::VideoCrowdDensity, since, conf, pos)
                            .attr("zone", zone.name.clone())
                            .attr("persons_per_m2", round2(d))
                            .attr("persons_estimated", round2(persons))
                            .attr("zone_area_m2", round2(area))
                            .attr("threshold_persons_per_m2", self.cfg.max_persons_per_m2)
                            .attr("counted_by", if s.detector_ran { "detector" } else { "foreground" }),
                    );
                }
            } else {
                st.above_since = None;
                if d < self.cfg.max_persons_per_m2 * self.cfg.clear_ratio {
                    let since = *st.below_since.get_or_insert(s.time);
                    if secs_between(since, s.time) >= self.cfg.clear_secs {
                        st.in_episode = false;
                        st.peak = 0.0;
                    }
                }
            }
        }
        out
    }

    fn reset(&mut self) {
        self.zones.clear();
    }
}
