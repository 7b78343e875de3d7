//! `video.tamper`: the camera is covered or blinded, defocused, or moved.
//!
//! From the masked luma, each frame: mean, spread (standard deviation), sharpness (mean
//! absolute gradient) and a 16×9 thumbnail. References (sharpness, thumbnail) are learnt
//! while the view is healthy. A condition must hold `min_secs`:
//! - `covered`: spread under `min_spread` (a hand, a bag, paint) or mean under `dark_luma`
//!   or over `blind_luma`;
//! - `defocused`: sharpness under `defocus_ratio` × the reference, spread still normal;
//! - `moved`: thumbnail correlation with the reference under `moved_correlation`, sharp.
//!
//! One event per episode. A view that stays different for `relearn_secs` becomes the new
//! reference (the camera was re-aimed on purpose, or the event has been signalled).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use vigie_model::Kind;

use super::{Event, Position, Rule, Scene, round2, secs_between};
use crate::geometry::Point;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TamperConfig {
    pub min_secs: f64,
    pub min_spread: f64,
    pub dark_luma: f64,
    pub blind_luma: f64,
    pub defocus_ratio: f64,
    pub moved_correlation: f64,
    pub warmup_secs: f64,
    pub relearn_secs: f64,
}

impl Default for TamperConfig {
    fn default() -> Self {
        TamperConfig {
            min_secs: 2.0,
            min_spread: 7.0,
            dark_luma: 22.0,
            blind_luma: 240.0,
            defocus_ratio: 0.45,
            moved_correlation: 0.55,
            warmup_secs: 3.0,
            relearn_secs: 20.0,
        }
    }
}

/// Global statistics of one frame's luma.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewStats {
    pub mean: f64,
    pub spread: f64,
    pub sharpness: f64,
    pub thumbnail: Vec<f64>,
}

impl ViewStats {
    pub fn of(y: &[u8], w: usize, h: usize) -> ViewStats {
        let (tw, th) = (16usize, 9usize);
        let mut thumb = vec![0.0; tw * th];
        let mut counts = vec![0u32; tw * th];
        let (mut s, mut s2, mut grad, mut n, mut ng) = (0.0f64, 0.0f64, 0.0f64, 0usize, 0usize);
        for row in (0..h).step_by(2) {
            for col in (0..w).step_by(2) {
                let v = y[row * w + col] as f64;
                s += v;
                s2 += v * v;
                n += 1;
                if col + 1 < w && row + 1 < h {
                    grad += (v - y[row * w + col + 1] as f64).abs() + (v - y[(row + 1) * w + col] as f64).abs();
                    ng += 1;
                }
                let ti = (row * th / h) * tw + col * tw / w;
                thumb[ti] += v;
                counts[ti] += 1;
            }
        }
        let mean = s / n.max(1) as f64;
        let spread = (s2 / n.max(1) as f64 - mean * mean).max(0.0).sqrt();
        thumb.iter_mut().zip(&counts).for_each(|(t, &c)| *t /= c.max(1) as f64);
        ViewStats { mean, spread, sharpness: grad / ng.max(1) as f64, thumbnail: thumb }
    }
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut num, mut da, mut db) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        num += (x - ma) * (y - mb);
        da += (x - ma).powi(2);
        db += (y - mb).powi(2);
    }
    if da < 1e-9 || db < 1e-9 { 0.0 } else { num / (da * db).sqrt() }
}

pub struct Tamper {
    cfg: TamperConfig,
    started: Option<DateTime<Utc>>,
    ref_sharpness: Option<f64>,
    ref_thumb: Option<Vec<f64>>,
    bad_since: Option<(DateTime<Utc>, &'static str)>,
    in_episode: bool,
}

impl Tamper {
    pub fn new(cfg: TamperConfig) -> Tamper {
        Tamper { cfg, started: None, ref_sharpness: None, ref_thumb: None, bad_since: None, in_episode: false }
    }
}

impl Rule for Tamper {
    fn kind(&self) -> Kind {
        Kind::VideoTamper
    }

    fn observe(&mut self, s: &Scene<'_>) -> Vec<Event> {
        let f = s.frame.frame();
        let st = ViewStats::of(f.y(), f.width as usize, f.height as usize);
        let started = *self.started.get_or_insert(s.time);
        let cause = if st.spread < self.cfg.min_spread || st.mean < self.cfg.dark_luma || st.mean > self.cfg.blind_luma
        {
            Some("covered")
        } else if self.ref_sharpness.is_some_and(|r| st.sharpness < self.cfg.defocus_ratio * r) {
            Some("defocused")
        } else if self.ref_thumb.as_ref().is_some_and(|r| correlation(r, &st.thumbnail) < self.cfg.moved_correlation) {
            Some("moved")
        } else {
            None
        };
        let mut out = Vec::new();
        match cause {
            None => {
                self.bad_since = None;
                self.in_episode = false;
                // Learn the references from the healthy view (slowly: lighting drifts).
                let a = if secs_between(started, s.time) < self.cfg.warmup_secs { 0.5 } else { 0.02 };
                self.ref_sharpness = Some(match self.ref_sharpness {
                    Some(r) => r + a * (st.sharpness - r),
                    None => st.sharpness,
                });
                self.ref_thumb = Some(match self.ref_thumb.take() {
                    Some(r) => r.iter().zip(&st.thumbnail).map(|(r, t)| r + a * (t - r)).collect(),
                    None => st.thumbnail.clone(),
                });
            }
            Some(c) => {
                if self.bad_since.is_none_or(|(_, prev)| prev != c) {
                    self.bad_since = Some((s.time, c));
                }
                let since = self.bad_since.map_or(s.time, |(t, _)| t);
                let held = secs_between(since, s.time);
                if secs_between(started, s.time) >= self.cfg.warmup_secs
                    && !self.in_episode
                    && held >= self.cfg.min_secs
                {
                    self.in_episode = true;
                    out.push(
                        Event::new(Kind::VideoTamper, since, 0.85, Position::Image(Point::new(0.5, 0.5)))
                            .attr("cause", c)
                            .attr("luma_mean", round2(st.mean))
                            .attr("luma_spread", round2(st.spread))
                            .attr(
                                "sharpness_ratio",
                                round2(st.sharpness / self.ref_sharpness.unwrap_or(st.sharpness).max(1e-9)),
                            ),
                    );
                }
                if held >= self.cfg.relearn_secs && c != "covered" {
                    // The new view is here to stay: make it the reference.
                    self.ref_sharpness = Some(st.sharpness);
                    self.ref_thumb = Some(st.thumbnail);
                    self.bad_since = None;
                }
            }
        }
        out
    }

    fn reset(&mut self) {
        self.bad_since = None;
        self.in_episode = false;
    }
}
