//! Ground-plane calibration: a homography from relative image coordinates to metres on
//! the ground (east, north of the camera), estimated from four or more point pairs (DLT
//! with normalisation, solved by least squares).

use super::Point;

/// A 3×3 projective transform, row-major, `h[8]` = 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography {
    pub h: [f64; 9],
}

impl Homography {
    pub fn apply(&self, p: Point) -> Option<Point> {
        let h = &self.h;
        let w = h[6] * p.x + h[7] * p.y + h[8];
        if w.abs() < 1e-12 || !w.is_finite() {
            return None;
        }
        let x = (h[0] * p.x + h[1] * p.y + h[2]) / w;
        let y = (h[3] * p.x + h[4] * p.y + h[5]) / w;
        (x.is_finite() && y.is_finite()).then_some(Point::new(x, y))
    }

    /// The homography taking each `src[i]` to `dst[i]` (at least 4 pairs, no three of the
    /// first four collinear). `None` when the pairs are degenerate.
    pub fn from_pairs(src: &[Point], dst: &[Point]) -> Option<Homography> {
        if src.len() < 4 || src.len() != dst.len() {
            return None;
        }
        // Normalise both sets (centroid at 0, mean distance √2) for a well-conditioned solve.
        let (ts, ns) = normaliser(src)?;
        let (td, nd) = normaliser(dst)?;
        let mut ata = [[0.0f64; 8]; 8];
        let mut atb = [0.0f64; 8];
        for (s, d) in ns.iter().zip(&nd) {
            let rows = [
                ([s.x, s.y, 1.0, 0.0, 0.0, 0.0, -d.x * s.x, -d.x * s.y], d.x),
                ([0.0, 0.0, 0.0, s.x, s.y, 1.0, -d.y * s.x, -d.y * s.y], d.y),
            ];
            for (a, b) in rows {
                for i in 0..8 {
                    atb[i] += a[i] * b;
                    for j in 0..8 {
                        ata[i][j] += a[i] * a[j];
                    }
                }
            }
        }
        let x = solve8(ata, atb)?;
        let hn = [x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], 1.0];
        // H = Td⁻¹ · Hn · Ts
        let h = mul(&mul(&inverse_similarity(&td), &hn), &ts);
        if h[8].abs() < 1e-15 {
            return None;
        }
        let h: Vec<f64> = h.iter().map(|v| v / h[8]).collect();
        let h: [f64; 9] = h.try_into().ok()?;
        h.iter().all(|v| v.is_finite()).then_some(Homography { h })
    }

    /// Area scale at `p`: |det J| of the map, in destination units² per source unit².
    pub fn area_scale(&self, p: Point) -> Option<f64> {
        let e = 1e-4;
        let a = self.apply(p)?;
        let bx = self.apply(Point::new(p.x + e, p.y))?;
        let by = self.apply(Point::new(p.x, p.y + e))?;
        let det = (bx.x - a.x) * (by.y - a.y) - (bx.y - a.y) * (by.x - a.x);
        Some((det / (e * e)).abs())
    }
}

/// A camera's ground plane: image (relative) → metres east/north of the camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroundPlane {
    pub to_ground: Homography,
}

impl GroundPlane {
    pub fn ground(&self, p: Point) -> Option<Point> {
        self.to_ground.apply(p)
    }
}

fn normaliser(pts: &[Point]) -> Option<([f64; 9], Vec<Point>)> {
    let n = pts.len() as f64;
    let (cx, cy) = pts.iter().fold((0.0, 0.0), |(x, y), p| (x + p.x / n, y + p.y / n));
    let mean = pts.iter().map(|p| ((p.x - cx).powi(2) + (p.y - cy).powi(2)).sqrt()).sum::<f64>() / n;
    if mean < 1e-12 || !mean.is_finite() {
        return None;
    }
    let s = std::f64::consts::SQRT_2 / mean;
    let t = [s, 0.0, -s * cx, 0.0, s, -s * cy, 0.0, 0.0, 1.0];
    Some((t, pts.iter().map(|p| Point::new(s * (p.x - cx), s * (p.y - cy))).collect()))
}

fn inverse_similarity(t: &[f64; 9]) -> [f64; 9] {
    let s = t[0];
    [1.0 / s, 0.0, -t[2] / s, 0.0, 1.0 / s, -t[5] / s, 0.0, 0.0, 1.0]
}

fn mul(a: &[f64; 9], b: &[f64; 9]) -> [f64; 9] {
    let mut c = [0.0; 9];
    for i in 0..3 {
        for j in 0..3 {
            c[i * 3 + j] = (0..3).map(|k| a[i * 3 + k] * b[k * 3 + j]).sum();
        }
    }
    c
}

/// Gaussian elimination with partial pivoting; `None` when singular.
fn solve8(mut a: [[f64; 8]; 8], mut b: [f64; 8]) -> Option<[f64; 8]> {
    for col in 0..8 {
        let piv = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        let pivot_row = a[col];
        for row in col + 1..8 {
            let f = a[row][col] / pivot_row[col];
            for (x, p) in a[row].iter_mut().zip(&pivot_row).skip(col) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; 8];
    for row in (0..8).rev() {
        let s: f64 = (row + 1..8).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_perspective_map_from_four_pairs() {
        let truth = Homography { h: [12.0, 3.0, -4.0, 0.5, 30.0, 2.0, 0.1, 0.9, 1.0] };
        let src = [Point::new(0.1, 0.1), Point::new(0.9, 0.15), Point::new(0.85, 0.9), Point::new(0.05, 0.8)];
        let dst: Vec<Point> = src.iter().map(|p| truth.apply(*p).unwrap()).collect();
        let h = Homography::from_pairs(&src, &dst).unwrap();
        for (x, y) in [(0.5, 0.5), (0.2, 0.7), (0.95, 0.05)] {
            let (a, b) = (h.apply(Point::new(x, y)).unwrap(), truth.apply(Point::new(x, y)).unwrap());
            assert!(a.dist(b) < 1e-6, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn area_scale_of_a_linear_map() {
        // 32 m × 18 m over the frame: 576 m² per unit².
        let src = [Point::new(0.0, 0.0), Point::new(1.0, 0.0), Point::new(1.0, 1.0), Point::new(0.0, 1.0)];
        let dst = [Point::new(0.0, 18.0), Point::new(32.0, 18.0), Point::new(32.0, 0.0), Point::new(0.0, 0.0)];
        let h = Homography::from_pairs(&src, &dst).unwrap();
        assert!((h.area_scale(Point::new(0.3, 0.4)).unwrap() - 576.0).abs() < 1e-3);
    }

    #[test]
    fn collinear_points_are_refused() {
        let src = [Point::new(0.0, 0.0), Point::new(0.5, 0.5), Point::new(1.0, 1.0), Point::new(0.25, 0.25)];
        assert!(Homography::from_pairs(&src, &src).is_none());
    }
}
