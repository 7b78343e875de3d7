//! Stage `mask`: privacy masks (windows, doorways of homes) blacked out first, before any
//! analysis, display or evidence (property 5). The output type [`MaskedFrame`] can only be
//! made here, so later stages cannot see unmasked pixels.

use crate::frame::{Frame, MaskedFrame};
use crate::geometry::{Polygon, Raster};

/// Burns the camera's mask polygons into each frame (luma 16, chroma 128: black).
#[derive(Debug, Clone)]
pub struct Masker {
    polygons: Vec<Polygon>,
    /// Raster at the last frame size (recomputed when the size changes).
    luma: Option<Raster>,
    chroma: Option<Raster>,
}

impl Masker {
    pub fn new(polygons: Vec<Polygon>) -> Masker {
        Masker { polygons, luma: None, chroma: None }
    }

    pub fn apply(&mut self, mut frame: Frame) -> MaskedFrame {
        if self.polygons.is_empty() {
            return MaskedFrame::from_masked(frame);
        }
        let (w, h) = (frame.width, frame.height);
        if self.luma.as_ref().map(|r| (r.width, r.height)) != Some((w, h)) {
            let mut l = Raster::empty(w, h);
            let mut c = Raster::empty(w / 2, h / 2);
            for p in &self.polygons {
                l.fill(p);
                c.fill(p);
            }
            // A chroma cell is blacked out when any of its four luma cells is.
            for cy in 0..h / 2 {
                for cx in 0..w / 2 {
                    let any = (0..2).any(|dy| (0..2).any(|dx| l.get(cx * 2 + dx, cy * 2 + dy)));
                    c.cells[(cy * (w / 2) + cx) as usize] |= any;
                }
            }
            self.luma = Some(l);
            self.chroma = Some(c);
        }
        let (Some(l), Some(c)) = (&self.luma, &self.chroma) else {
            return MaskedFrame::from_masked(frame);
        };
        let (y, u, v) = frame.planes_mut();
        for (px, &m) in y.iter_mut().zip(&l.cells) {
            if m {
                *px = 16;
            }
        }
        for ((pu, pv), &m) in u.iter_mut().zip(v.iter_mut()).zip(&c.cells) {
            if m {
                *pu = 128;
                *pv = 128;
            }
        }
        MaskedFrame::from_masked(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Point;

    #[test]
    fn masked_pixels_are_black_and_others_untouched() {
        let mut f = Frame::grey(64, 32, 0, chrono::Utc::now());
        f.data.iter_mut().enumerate().for_each(|(i, b)| *b = (i % 200 + 20) as u8);
        let orig = f.clone();
        let poly =
            Polygon::new(vec![Point::new(0.0, 0.0), Point::new(0.5, 0.0), Point::new(0.5, 0.5), Point::new(0.0, 0.5)]);
        let mut m = Masker::new(vec![poly]);
        let out = m.apply(f);
        let y = out.frame().y();
        for row in 0..32u32 {
            for col in 0..64u32 {
                let i = (row * 64 + col) as usize;
                if col < 32 && row < 16 {
                    assert_eq!(y[i], 16);
                } else {
                    assert_eq!(y[i], orig.y()[i]);
                }
            }
        }
        assert!(out.frame().u()[..16].iter().all(|&c| c == 128));
        // A size change re-rasterises the mask.
        let out2 = m.apply(Frame::grey(32, 16, 1, chrono::Utc::now()));
        assert_eq!(out2.frame().y()[0], 16);
        assert_eq!(out2.frame().y()[31], 110);
    }
}
