//! Stage `motion`: a per-pixel background model on the detect-size luma (as Frigate: the
//! cost stays tiny), foreground cleaned by a 3×3 majority, then blobs.
//!
//! The background follows the scene with time constant `background_secs` where the pixel
//! looks like background, and only with `static_absorb_secs` where it is foreground: an
//! object left behind stays foreground for minutes (the abandoned-object rule needs it),
//! while lighting drifts are followed. A global offset (mean difference) is removed first so
//! that exposure changes do not light the whole frame up. When most of the frame changes
//! for `relearn_secs`, or changes at once from a quiet frame (a cut, the camera turned or
//! covered, lights switched), the model restarts from the frame; after a (re)start it learns
//! fast where the frame looks like background (a running mean) for `warmup_secs` before
//! settling to `background_secs`.

use serde::Deserialize;

use crate::frame::MaskedFrame;
use crate::geometry::BoxPx;
use crate::stages::blobs::{Blob, label};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MotionConfig {
    /// Luma difference (0–255) above which a pixel is foreground.
    pub threshold: u8,
    pub background_secs: f64,
    pub static_absorb_secs: f64,
    /// Smallest blob, in detect-frame pixels.
    pub min_blob_px: u32,
    /// Share of the frame changed that counts as a global change.
    pub relearn_share: f64,
    pub relearn_secs: f64,
    pub warmup_secs: f64,
}

impl Default for MotionConfig {
    fn default() -> Self {
        MotionConfig {
            threshold: 24,
            background_secs: 10.0,
            static_absorb_secs: 300.0,
            min_blob_px: 10,
            relearn_share: 0.5,
            relearn_secs: 1.0,
            warmup_secs: 2.0,
        }
    }
}

/// What the motion stage saw in one frame.
#[derive(Debug, Clone, Default)]
pub struct MotionMap {
    pub width: u32,
    pub height: u32,
    /// Cleaned foreground, one byte (0/1) per detect pixel.
    pub foreground: Vec<u8>,
    pub foreground_px: usize,
    pub blobs: Vec<Blob>,
    /// Share of the frame that differs from the background (before cleaning).
    pub changed_share: f64,
    /// The background was restarted from this frame.
    pub relearned: bool,
}

impl MotionMap {
    pub fn is_foreground(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.height && self.foreground[(y * self.width + x) as usize] != 0
    }
    /// Foreground pixels inside a box.
    pub fn count_in(&self, b: &BoxPx) -> usize {
        let mut n = 0;
        for y in b.y0..b.y1.min(self.height) {
            let row = (y * self.width) as usize;
            n += self.foreground[row + b.x0 as usize..row + b.x1.min(self.width) as usize]
                .iter()
                .filter(|&&v| v != 0)
                .count();
        }
        n
    }
}

pub struct Motion {
    cfg: MotionConfig,
    fps: f64,
    background: Vec<f32>,
    size: (u32, u32),
    raw: Vec<u8>,
    changed_frames: u32,
    last_changed_share: f64,
    /// Frames since the model (re)started.
    age: u32,
}

impl Motion {
    pub fn new(cfg: MotionConfig, fps: f64) -> Motion {
        Motion {
            cfg,
            fps,
            background: Vec::new(),
            size: (0, 0),
            raw: Vec::new(),
            changed_frames: 0,
            last_changed_share: 0.0,
            age: 0,
        }
    }

    pub fn process(&mut self, frame: &MaskedFrame) -> MotionMap {
        let (w, h) = (frame.width(), frame.height());
        let y = frame.frame().y();
        if self.size != (w, h) || self.background.len() != y.len() {
            // First frame or a new detect size: start from this frame.
            self.size = (w, h);
            self.background = y.iter().map(|&v| v as f32).collect();
            self.raw = vec![0; y.len()];
            self.age = 0;
            return MotionMap {
                width: w,
                height: h,
                foreground: vec![0; y.len()],
                relearned: true,
                ..MotionMap::default()
            };
        }
        self.age = self.age.saturating_add(1);
        let warming = (self.age as f64) < self.cfg.warmup_secs * self.fps;
        // While warming up, background pixels follow a running mean of the frames seen (fast
        // convergence after a restart); foreground pixels never do, so that people present
        // at the start are not learnt as background.
        let a_bg = if warming {
            1.0 / (self.age as f32 + 1.0)
        } else {
            (1.0 / (self.cfg.background_secs * self.fps).max(1.0)) as f32
        };
        let a_fg = (1.0 / (self.cfg.static_absorb_secs * self.fps).max(1.0)) as f32;
        let n = y.len();
        let offset = {
            // Global exposure offset, from every 7th pixel (cheap, unbiased enough).
            let (mut s, mut c) = (0.0f64, 0usize);
            for i in (0..n).step_by(7) {
                s += y[i] as f64 - self.background[i] as f64;
                c += 1;
            }
            (s / c.max(1) as f64) as f32
        };
        let thr = self.cfg.threshold as f32;
        let mut changed = 0usize;
        for ((&px, b), raw) in y.iter().zip(self.background.iter_mut()).zip(self.raw.iter_mut()) {
            let v = px as f32;
            let fg = (v - *b - offset).abs() > thr;
            *raw = fg as u8;
            changed += fg as usize;
            let a = if fg { a_fg } else { a_bg };
            *b += a * (v - *b);
        }
        let changed_share = changed as f64 / n.max(1) as f64;
        let jump = changed_share > self.cfg.relearn_share && self.last_changed_share < self.cfg.relearn_share / 3.0;
        self.last_changed_share = changed_share;
        if changed_share > self.cfg.relearn_share {
            self.changed_frames += 1;
            if jump || self.changed_frames as f64 >= self.cfg.relearn_secs * self.fps {
                self.changed_frames = 0;
                self.age = 0;
                self.last_changed_share = 0.0;
                self.background.iter_mut().zip(y).for_each(|(b, &v)| *b = v as f32);
                return MotionMap {
                    width: w,
                    height: h,
                    foreground: vec![0; n],
                    changed_share,
                    relearned: true,
                    ..MotionMap::default()
                };
            }
        } else {
            self.changed_frames = 0;
        }
        let foreground = majority3(&self.raw, w as usize, h as usize);
        let foreground_px = foreground.iter().filter(|&&v| v != 0).count();
        let blobs = label(&foreground, w, h, self.cfg.min_blob_px);
        MotionMap { width: w, height: h, foreground, foreground_px, blobs, changed_share, relearned: false }
    }
}

/// Keeps a foreground pixel when at least 4 of its 3×3 neighbourhood (itself included) are.
fn majority3(m: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut out = vec![0u8; m.len()];
    if w < 3 || h < 3 {
        return out;
    }
    for y in 1..h - 1 {
        let (r0, r1, r2) = ((y - 1) * w, y * w, (y + 1) * w);
        for x in 1..w - 1 {
            if m[r1 + x] == 0 {
                continue;
            }
            let s = m[r0 + x - 1]
                + m[r0 + x]
                + m[r0 + x + 1]
                + m[r1 + x - 1]
                + m[r1 + x + 1]
                + m[r2 + x - 1]
                + m[r2 + x]
                + m[r2 + x + 1];
            out[r1 + x] = (s >= 3) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Frame;
    use crate::stages::mask::Masker;

    fn frame_with_square(x0: usize, seq: u64) -> MaskedFrame {
        let mut f = Frame::grey(64, 48, seq, chrono::Utc::now());
        for y in 10..20 {
            for x in x0..x0 + 8 {
                f.data[y * 64 + x] = 220;
            }
        }
        Masker::new(vec![]).apply(f)
    }

    #[test]
    fn a_moving_square_is_one_blob_where_it_is() {
        let mut m = Motion::new(MotionConfig::default(), 5.0);
        for i in 0..10 {
            m.process(&Masker::new(vec![]).apply(Frame::grey(64, 48, i, chrono::Utc::now())));
        }
        let out = m.process(&frame_with_square(30, 10));
        assert_eq!(out.blobs.len(), 1);
        let b = out.blobs[0].bbox;
        assert!(b.x0 >= 29 && b.x1 <= 39 && b.y0 >= 9 && b.y1 <= 21, "{b:?}");
        assert!(out.blobs[0].pixels >= 60);
    }

    #[test]
    fn exposure_change_is_not_motion() {
        let mut m = Motion::new(MotionConfig::default(), 5.0);
        for i in 0..10 {
            m.process(&Masker::new(vec![]).apply(Frame::grey(64, 48, i, chrono::Utc::now())));
        }
        let mut f = Frame::grey(64, 48, 11, chrono::Utc::now());
        f.data[..64 * 48].iter_mut().for_each(|v| *v += 40);
        let out = m.process(&Masker::new(vec![]).apply(f));
        assert_eq!(out.foreground_px, 0);
    }
}
