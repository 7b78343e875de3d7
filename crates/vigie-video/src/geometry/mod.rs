//! Plane geometry: polygons in relative image coordinates, their rasterisation, and the
//! ground-plane calibration (a homography from image to metres).

pub mod homography;
pub mod polygon;

pub use homography::{GroundPlane, Homography};
pub use polygon::{Polygon, Raster};

/// A point; image points are relative (0..1 of width and height) unless said otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub const fn new(x: f64, y: f64) -> Point {
        Point { x, y }
    }

    pub fn dist(self, o: Point) -> f64 {
        ((self.x - o.x).powi(2) + (self.y - o.y).powi(2)).sqrt()
    }
}

/// An axis-aligned box in detect-frame pixels, `x1`/`y1` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BoxPx {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl BoxPx {
    pub fn width(&self) -> u32 {
        self.x1.saturating_sub(self.x0)
    }
    pub fn height(&self) -> u32 {
        self.y1.saturating_sub(self.y0)
    }
    pub fn area(&self) -> u64 {
        self.width() as u64 * self.height() as u64
    }
    pub fn iou(&self, o: &BoxPx) -> f64 {
        let ix = self.x1.min(o.x1).saturating_sub(self.x0.max(o.x0)) as u64;
        let iy = self.y1.min(o.y1).saturating_sub(self.y0.max(o.y0)) as u64;
        let inter = ix * iy;
        let union = self.area() + o.area() - inter;
        if union == 0 { 0.0 } else { inter as f64 / union as f64 }
    }
    /// Grown by `margin` pixels on each side, clipped to a `w`×`h` frame.
    pub fn grown(&self, margin: u32, w: u32, h: u32) -> BoxPx {
        BoxPx {
            x0: self.x0.saturating_sub(margin),
            y0: self.y0.saturating_sub(margin),
            x1: (self.x1 + margin).min(w),
            y1: (self.y1 + margin).min(h),
        }
    }
    pub fn union(&self, o: &BoxPx) -> BoxPx {
        BoxPx { x0: self.x0.min(o.x0), y0: self.y0.min(o.y0), x1: self.x1.max(o.x1), y1: self.y1.max(o.y1) }
    }
    /// The bottom centre in pixels: where a standing object touches the ground.
    pub fn foot_px(&self) -> (f64, f64) {
        ((self.x0 + self.x1) as f64 / 2.0, self.y1 as f64)
    }
    pub fn centre_px(&self) -> (f64, f64) {
        ((self.x0 + self.x1) as f64 / 2.0, (self.y0 + self.y1) as f64 / 2.0)
    }
}
