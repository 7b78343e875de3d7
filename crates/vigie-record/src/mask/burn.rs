//! Privacy masks burned into the recorded picture, in a way compression cannot undo.
//!
//! A lossy encoder predicts blocks from their neighbours and smooths across block edges,
//! so a mask drawn exactly on the polygon would leave its border pixels a few levels off
//! the mask colour, carrying a trace of the picture beside it. The burn therefore covers
//! every 16×16 block (an H.264 macroblock) the polygon touches, plus a guard ring of
//! whole blocks: inside the polygon every decoded pixel is exactly the mask colour
//! (tested frame by frame). The blocks become rectangles for FFmpeg's `drawbox` filter.

use vigie_video::geometry::{Polygon, Raster};

/// The macroblock size of H.264 (and the coding-tree granularity the burn aligns to).
pub const BLOCK_PX: u32 = 16;

/// A filled rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// What gets blacked out at one picture size.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnPlan {
    pub width: u32,
    pub height: u32,
    /// Pixels of the polygons themselves (the privacy region the law protects).
    pub region: Raster,
    /// Rectangles burned: the region rounded out to blocks, plus the guard ring.
    pub rects: Vec<Rect>,
}

impl BurnPlan {
    /// Plans the burn of `polygons` (relative coordinates) on a `width`×`height` picture,
    /// with `guard_blocks` whole blocks of margin around them.
    pub fn new(polygons: &[Polygon], width: u32, height: u32, guard_blocks: u32) -> BurnPlan {
        let mut region = Raster::empty(width, height);
        for p in polygons {
            region.fill(p);
        }
        let (bw, bh) = (width.div_ceil(BLOCK_PX), height.div_ceil(BLOCK_PX));
        let mut touched = vec![false; (bw * bh) as usize];
        for y in 0..height {
            let row = &region.cells[(y * width) as usize..((y + 1) * width) as usize];
            for (x, _) in row.iter().enumerate().filter(|(_, c)| **c) {
                touched[((y / BLOCK_PX) * bw + x as u32 / BLOCK_PX) as usize] = true;
            }
        }
        let g = guard_blocks as i64;
        let mut burned = vec![false; touched.len()];
        for by in 0..bh as i64 {
            for bx in 0..bw as i64 {
                if !touched[(by * bw as i64 + bx) as usize] {
                    continue;
                }
                for ny in (by - g).max(0)..=(by + g).min(bh as i64 - 1) {
                    for nx in (bx - g).max(0)..=(bx + g).min(bw as i64 - 1) {
                        burned[(ny * bw as i64 + nx) as usize] = true;
                    }
                }
            }
        }
        let rects = rectangles(&burned, bw, bh)
            .into_iter()
            .map(|(bx, by, w, h)| {
                let (x, y) = (bx * BLOCK_PX, by * BLOCK_PX);
                Rect { x, y, w: (w * BLOCK_PX).min(width - x), h: (h * BLOCK_PX).min(height - y) }
            })
            .collect();
        BurnPlan { width, height, region, rects }
    }

    pub fn is_empty(&self) -> bool {
        self.rects.is_empty()
    }

    /// Whether the pixel is burned (inside one of the rectangles).
    pub fn burned(&self, x: u32, y: u32) -> bool {
        self.rects.iter().any(|r| x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h)
    }

    /// Share of the picture blacked out.
    pub fn burned_share(&self) -> f64 {
        let a: u64 = self.rects.iter().map(|r| u64::from(r.w) * u64::from(r.h)).sum();
        a as f64 / (f64::from(self.width) * f64::from(self.height)).max(1.0)
    }

    /// The FFmpeg filters that burn the plan in, black (Y 16, Cb/Cr 128 in limited range,
    /// the colour `vigie video` masks with), e.g. `drawbox=x=0:y=0:w=64:h=32:color=black:t=fill`.
    pub fn filters(&self) -> Vec<String> {
        self.rects
            .iter()
            .map(|r| format!("drawbox=x={}:y={}:w={}:h={}:color=black@1:t=fill", r.x, r.y, r.w, r.h))
            .collect()
    }
}

/// Greedy cover of the set cells by rectangles: runs per row, then runs of equal extent
/// stacked down. Returns `(x, y, w, h)` in cells.
fn rectangles(cells: &[bool], w: u32, h: u32) -> Vec<(u32, u32, u32, u32)> {
    let mut open: Vec<(u32, u32, u32, u32)> = Vec::new();
    let mut done = Vec::new();
    for y in 0..h {
        let mut runs = Vec::new();
        let mut x = 0;
        while x < w {
            if cells[(y * w + x) as usize] {
                let start = x;
                while x < w && cells[(y * w + x) as usize] {
                    x += 1;
                }
                runs.push((start, x - start));
            } else {
                x += 1;
            }
        }
        let mut next = Vec::new();
        for (rx, rw) in runs {
            match open.iter().position(|r| r.0 == rx && r.2 == rw && r.1 + r.3 == y) {
                Some(i) => {
                    let mut r = open.swap_remove(i);
                    r.3 += 1;
                    next.push(r);
                }
                None => next.push((rx, y, rw, 1)),
            }
        }
        done.append(&mut open);
        open = next;
    }
    done.append(&mut open);
    done.sort_by_key(|r| (r.1, r.0));
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_video::geometry::Point;

    fn poly(pts: &[(f64, f64)]) -> Polygon {
        Polygon::new(pts.iter().map(|&(x, y)| Point::new(x, y)).collect())
    }

    #[test]
    fn burn_covers_the_polygon_with_whole_blocks_and_a_guard() {
        let tri = poly(&[(0.30, 0.20), (0.55, 0.35), (0.35, 0.60)]);
        let plan = BurnPlan::new(&[tri], 1920, 1080, 1);
        assert!(!plan.is_empty());
        for y in 0..1080 {
            for x in 0..1920 {
                if plan.region.get(x, y) {
                    // Every region pixel is burned, and so is its whole guard neighbourhood.
                    for (dx, dy) in [(-16i32, 0i32), (16, 0), (0, -16), (0, 16)] {
                        let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                        if (0..1920).contains(&nx) && (0..1080).contains(&ny) {
                            assert!(plan.burned(nx as u32, ny as u32), "guard at {nx},{ny}");
                        }
                    }
                }
            }
        }
        for r in &plan.rects {
            assert_eq!(r.x % BLOCK_PX, 0);
            assert_eq!(r.y % BLOCK_PX, 0);
            assert!(r.x + r.w <= 1920 && r.y + r.h <= 1080);
        }
        // Far from the triangle nothing is burned.
        assert!(!plan.burned(1800, 1000));
        assert!(plan.burned_share() < 0.15);
    }

    #[test]
    fn rectangles_cover_exactly_the_cells() {
        let (w, h) = (7u32, 5u32);
        let cells: Vec<bool> = (0..w * h).map(|i| (i * 7919) % 3 == 0 || i % 5 == 1).collect();
        let rects = rectangles(&cells, w, h);
        let mut covered = vec![0u8; cells.len()];
        for (x, y, rw, rh) in rects {
            for yy in y..y + rh {
                for xx in x..x + rw {
                    covered[(yy * w + xx) as usize] += 1;
                }
            }
        }
        for (i, c) in cells.iter().enumerate() {
            assert_eq!(covered[i], u8::from(*c), "cell {i}");
        }
    }

    #[test]
    fn a_frame_wide_mask_is_one_rectangle_clipped_to_the_picture() {
        let all = poly(&[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]);
        let plan = BurnPlan::new(&[all], 1920, 1080, 1);
        assert_eq!(plan.rects, vec![Rect { x: 0, y: 0, w: 1920, h: 1080 }]);
        assert_eq!(plan.filters().len(), 1);
    }
}
