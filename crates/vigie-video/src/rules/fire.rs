//! `video.fire`: a fire start — a region of flame colours that flickers in place and holds
//! or grows.
//!
//! On the chroma grid (half the detect size), a cell is flame-coloured when its RGB is
//! bright red-orange-yellow (R ≥ `min_red`, R ≥ G > B, G ≥ 0.25·R, B ≤ 0.7·G; the colour
//! rule of Chen et al. 2004). Regions of such cells are followed over frames. Colour alone
//! fires on orange coats and signs, so the region must also **flicker** (share of its cells
//! that change state between frames, averaged over the window, ≥ `min_flicker`) while its
//! centre **stays in place** (drift ≤ `max_drift_m`), for `min_duration_secs`, with an area
//! of at least `min_area_m2` (a share of the frame without calibration) and an area growth
//! of at least `min_growth` since first seen. Every flame-coloured region is followed as a
//! candidate of its own (an orange sign must not hide a fire starting elsewhere). One event
//! per fire; no second event within 2 m of a reported one for `clear_secs`.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use vigie_model::Kind;

use super::{Event, Position, Rule, Scene, round2, secs_between};
use crate::frame::yuv_to_rgb;
use crate::geometry::{BoxPx, Point};
use crate::stages::blobs::label;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FireConfig {
    pub min_red: u8,
    pub min_flicker: f64,
    pub min_duration_secs: f64,
    pub min_area_m2: f64,
    /// Without calibration: smallest region as a share of the frame.
    pub min_area_share: f64,
    pub max_drift_m: f64,
    pub min_growth: f64,
    pub clear_secs: f64,
}

impl Default for FireConfig {
    fn default() -> Self {
        FireConfig {
            min_red: 170,
            min_flicker: 0.12,
            min_duration_secs: 3.0,
            min_area_m2: 0.25,
            min_area_share: 0.002,
            max_drift_m: 0.6,
            min_growth: 1.0,
            clear_secs: 10.0,
        }
    }
}

#[derive(Debug, Clone)]
struct Sample {
    time: DateTime<Utc>,
    flicker: f64,
    centre: Point,
}

#[derive(Debug, Clone)]
struct Candidate {
    bbox: BoxPx,
    first_cells: u32,
    since: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    samples: VecDeque<Sample>,
    reported: bool,
}

pub struct Fire {
    cfg: FireConfig,
    prev: Vec<u8>,
    prev_luma: Vec<u8>,
    candidates: Vec<Candidate>,
    /// Where and when fires were reported (for the `clear_secs` quiet time).
    reported: Vec<(Point, DateTime<Utc>)>,
}

impl Fire {
    pub fn new(cfg: FireConfig) -> Fire {
        Fire { cfg, prev: Vec::new(), prev_luma: Vec::new(), candidates: Vec::new(), reported: Vec::new() }
    }

    /// Flame-colour mask and mean luma of each chroma cell.
    fn flame_mask(&self, s: &Scene<'_>) -> (Vec<u8>, Vec<u8>, u32, u32) {
        let f = s.frame.frame();
        let (w, h) = (f.width as usize, f.height as usize);
        let (cw, ch) = (w / 2, h / 2);
        let (y, u, v) = (f.y(), f.u(), f.v());
        let mut m = vec![0u8; cw * ch];
        let mut luma = vec![0u8; cw * ch];
        for cy in 0..ch {
            for cx in 0..cw {
                let yy = (y[2 * cy * w + 2 * cx] as u32
                    + y[2 * cy * w + 2 * cx + 1] as u32
                    + y[(2 * cy + 1) * w + 2 * cx] as u32
                    + y[(2 * cy + 1) * w + 2 * cx + 1] as u32)
                    / 4;
                let [r, g, b] = yuv_to_rgb(yy as u8, u[cy * cw + cx], v[cy * cw + cx]);
                let (r, g, b) = (r as u32, g as u32, b as u32);
                let flame = r >= self.cfg.min_red as u32 && r >= g && g > b && 4 * g >= r && 10 * b <= 7 * g;
                m[cy * cw + cx] = flame as u8;
                luma[cy * cw + cx] = yy as u8;
            }
        }
        (m, luma, cw as u32, ch as u32)
    }
}

impl Rule for Fire {
    fn kind(&self) -> Kind {
        Kind::VideoFire
    }

    fn observe(&mut self, s: &Scene<'_>) -> Vec<Event> {
        let (mask, luma, cw, ch) = self.flame_mask(s);
        if self.prev.len() != mask.len() {
            self.prev = mask;
            self.prev_luma = luma;
            self.candidates.clear();
            return Vec::new();
        }
        let mut regions = label(&mask, cw, ch, 4);
        regions.sort_by_key(|r| std::cmp::Reverse(r.pixels));
        let mut out = Vec::new();
        let mut taken = vec![false; self.candidates.len()];
        for r in regions {
            let g = r.bbox.grown(1, cw, ch);
            let (mut changed, mut union) = (0u32, 0u32);
            for yy in g.y0..g.y1 {
                for xx in g.x0..g.x1 {
                    let i = (yy * cw + xx) as usize;
                    let (a, b) = (mask[i], self.prev[i]);
                    union += (a | b) as u32;
                    // A cell flickers when it changes state, or its brightness jumps.
                    let jump = (luma[i] as i32 - self.prev_luma[i] as i32).abs() > 20;
                    changed += ((a ^ b) | ((a & b) & jump as u8)) as u32;
                }
            }
            let flicker = changed as f64 / union.max(1) as f64;
            let (cx, cy) = r.bbox.centre_px();
            let centre_px = (cx * 2.0, cy * 2.0);
            // Distances in metres, or tenths of the frame height without calibration.
            let centre = match s.view.ground_of(centre_px) {
                Some(p) => p,
                None => {
                    let p = s.view.relative(centre_px);
                    Point::new(p.x * 10.0, p.y * 10.0)
                }
            };
            let near = self
                .candidates
                .iter()
                .enumerate()
                .find(|(i, c)| !taken[*i] && r.bbox.grown(2, cw, ch).iou(&c.bbox) > 0.0);
            let ci = match near {
                Some((i, _)) => i,
                None => {
                    self.candidates.push(Candidate {
                        bbox: r.bbox,
                        first_cells: r.pixels,
                        since: s.time,
                        last_seen: s.time,
                        samples: VecDeque::new(),
                        reported: false,
                    });
                    taken.push(false);
                    self.candidates.len() - 1
                }
            };
            taken[ci] = true;
            let cfg = &self.cfg;
            let c = &mut self.candidates[ci];
            c.bbox = r.bbox;
            c.last_seen = s.time;
            c.samples.push_back(Sample { time: s.time, flicker, centre });
            while c.samples.front().is_some_and(|x| secs_between(x.time, s.time) > cfg.min_duration_secs) {
                c.samples.pop_front();
            }
            if c.reported || secs_between(c.since, s.time) < cfg.min_duration_secs {
                continue;
            }
            let n = c.samples.len() as f64;
            let mean_flicker = c.samples.iter().skip(1).map(|x| x.flicker).sum::<f64>() / (n - 1.0).max(1.0);
            let first = c.samples.front().map_or(centre, |x| x.centre);
            let drift = c.samples.iter().map(|x| x.centre.dist(first)).fold(0.0, f64::max);
            // Region area: m² through the calibration, else a share of the frame.
            let (area, area_ok) = match s.view.pixel_area_m2(centre_px) {
                Some(px_m2) => {
                    let a = r.pixels as f64 * 4.0 * px_m2;
                    (a, a >= cfg.min_area_m2)
                }
                None => {
                    let a = r.pixels as f64 / (cw * ch) as f64;
                    (a, a >= cfg.min_area_share)
                }
            };
            let growth = r.pixels as f64 / c.first_cells.max(1) as f64;
            let quiet = self.reported.iter().any(|(p, _)| p.dist(centre) < 2.0);
            if area_ok
                && mean_flicker >= cfg.min_flicker
                && drift <= cfg.max_drift_m
                && growth >= cfg.min_growth
                && !quiet
            {
                c.reported = true;
                self.reported.push((centre, s.time));
                let bbox = BoxPx { x0: r.bbox.x0 * 2, y0: r.bbox.y0 * 2, x1: r.bbox.x1 * 2, y1: r.bbox.y1 * 2 };
                let pos = match s.view.ground_of(bbox.foot_px()) {
                    Some(g) => Position::Ground(g),
                    None => Position::Image(s.view.relative(bbox.foot_px())),
                };
                let area_key = if s.view.ground.is_some() { "area_m2" } else { "area_share" };
                out.push(
                    Event::new(Kind::VideoFire, c.since, (0.5 + mean_flicker).min(0.95), pos)
                        .with_box(bbox)
                        .attr(area_key, (area * 1e4).round() / 1e4)
                        .attr("flicker", round2(mean_flicker))
                        .attr("growth", round2(growth))
                        .attr("duration_secs", round2(secs_between(c.since, s.time))),
                );
            }
        }
        // Candidates unseen for a second are gone; reported places stay quiet for clear_secs.
        self.candidates.retain(|c| secs_between(c.last_seen, s.time) <= 1.0);
        let clear = self.cfg.clear_secs;
        let alive: Vec<Point> = self.candidates.iter().filter_map(|c| c.samples.back().map(|x| x.centre)).collect();
        self.reported.retain(|(p, t)| secs_between(*t, s.time) <= clear || alive.iter().any(|a| a.dist(*p) < 2.0));
        self.prev = mask;
        self.prev_luma = luma;
        out
    }

    fn reset(&mut self) {
        self.prev.clear();
        self.prev_luma.clear();
        self.candidates.clear();
    }
}
