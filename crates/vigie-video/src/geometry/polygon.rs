//! Polygons in relative image coordinates and their rasterisation at a frame size.
//!
//! Relative coordinates (0..1) keep masks and zones right when the detect size or the
//! camera's resolution changes.

use super::Point;

/// A simple polygon (at least 3 vertices), not necessarily convex.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    pub points: Vec<Point>,
}

impl Polygon {
    pub fn new(points: Vec<Point>) -> Polygon {
        Polygon { points }
    }

    /// Even-odd rule; points on an edge may fall either way.
    pub fn contains(&self, p: Point) -> bool {
        let pts = &self.points;
        let mut inside = false;
        let mut j = pts.len().wrapping_sub(1);
        for i in 0..pts.len() {
            let (a, b) = (pts[i], pts[j]);
            if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
                inside = !inside;
            }
            j = i;
        }
        inside
    }

    /// Shoelace area (absolute), in the polygon's units squared.
    pub fn area(&self) -> f64 {
        let pts = &self.points;
        let mut s = 0.0;
        for i in 0..pts.len() {
            let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
            s += a.x * b.y - b.x * a.y;
        }
        (s / 2.0).abs()
    }

    pub fn centroid(&self) -> Point {
        let n = self.points.len().max(1) as f64;
        let (sx, sy) = self.points.iter().fold((0.0, 0.0), |(x, y), p| (x + p.x, y + p.y));
        Point::new(sx / n, sy / n)
    }

    /// Rasterises onto a `w`×`h` grid: a cell is inside when its centre is.
    pub fn raster(&self, w: u32, h: u32) -> Raster {
        let mut r = Raster::empty(w, h);
        r.fill(self);
        r
    }
}

/// A boolean grid (one byte per cell) with its bounding box of set cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    pub width: u32,
    pub height: u32,
    pub cells: Vec<bool>,
}

impl Raster {
    pub fn empty(width: u32, height: u32) -> Raster {
        Raster { width, height, cells: vec![false; width as usize * height as usize] }
    }

    /// Sets the cells whose centre is inside `poly` (scan lines, even-odd rule).
    pub fn fill(&mut self, poly: &Polygon) {
        let (w, h) = (self.width as usize, self.height as usize);
        let pts: Vec<Point> = poly.points.iter().map(|p| Point::new(p.x * w as f64, p.y * h as f64)).collect();
        let mut xs = Vec::new();
        for row in 0..h {
            let y = row as f64 + 0.5;
            xs.clear();
            for i in 0..pts.len() {
                let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
                if (a.y > y) != (b.y > y) {
                    xs.push(a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y));
                }
            }
            xs.sort_by(|a, b| a.total_cmp(b));
            for pair in xs.chunks_exact(2) {
                // Cells whose centre x + 0.5 lies within [pair[0], pair[1]).
                let start = (pair[0] - 0.5).ceil().max(0.0) as usize;
                let end = ((pair[1] - 0.5).ceil().max(0.0) as usize).min(w);
                for c in &mut self.cells[row * w + start.min(w)..row * w + end] {
                    *c = true;
                }
            }
        }
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.height && self.cells[(y * self.width + x) as usize]
    }

    pub fn count(&self) -> usize {
        self.cells.iter().filter(|&&c| c).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> Polygon {
        Polygon::new(vec![
            Point::new(0.25, 0.25),
            Point::new(0.75, 0.25),
            Point::new(0.75, 0.75),
            Point::new(0.25, 0.75),
        ])
    }

    #[test]
    fn contains_and_area_of_a_square() {
        let s = square();
        assert!(s.contains(Point::new(0.5, 0.5)));
        assert!(!s.contains(Point::new(0.1, 0.5)));
        assert!((s.area() - 0.25).abs() < 1e-12);
    }

    #[test]
    fn raster_matches_point_in_polygon() {
        let tri = Polygon::new(vec![Point::new(0.1, 0.1), Point::new(0.9, 0.2), Point::new(0.3, 0.95)]);
        let r = tri.raster(64, 48);
        for y in 0..48 {
            for x in 0..64 {
                let c = Point::new((x as f64 + 0.5) / 64.0, (y as f64 + 0.5) / 48.0);
                assert_eq!(r.get(x, y), tri.contains(c), "cell {x},{y}");
            }
        }
        let expected = tri.area() * 64.0 * 48.0;
        assert!((r.count() as f64 - expected).abs() / expected < 0.05);
    }

    #[test]
    fn polygon_outside_the_frame_is_clipped() {
        let p = Polygon::new(vec![
            Point::new(-1.0, -1.0),
            Point::new(2.0, -1.0),
            Point::new(2.0, 2.0),
            Point::new(-1.0, 2.0),
        ]);
        assert_eq!(p.raster(10, 10).count(), 100);
    }
}
