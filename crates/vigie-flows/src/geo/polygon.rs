//! Polygons in the plane: signed areas, Sutherland–Hodgman clipping by a convex polygon
//! (exact for areas even when the subject is concave), centroids.

pub type Pt = (f64, f64);
pub type Ring = Vec<Pt>;

/// Signed area (counter-clockwise positive); the ring may or may not repeat its first point.
pub fn signed_area(ring: &[Pt]) -> f64 {
    let n = ring.len();
    if n < 3 {
        return 0.0;
    }
    let mut s = 0.0;
    for i in 0..n {
        let (x1, y1) = ring[i];
        let (x2, y2) = ring[(i + 1) % n];
        s += x1 * y2 - x2 * y1;
    }
    s / 2.0
}

/// Area centroid of a simple ring; the vertex mean when the area is degenerate.
pub fn centroid(ring: &[Pt]) -> Pt {
    let n = ring.len();
    let a = signed_area(ring);
    if n < 3 || a.abs() < 1e-9 {
        let m = n.max(1) as f64;
        let (sx, sy) = ring.iter().fold((0.0, 0.0), |(a, b), p| (a + p.0, b + p.1));
        return (sx / m, sy / m);
    }
    let (mut cx, mut cy) = (0.0, 0.0);
    for i in 0..n {
        let (x1, y1) = ring[i];
        let (x2, y2) = ring[(i + 1) % n];
        let c = x1 * y2 - x2 * y1;
        cx += (x1 + x2) * c;
        cy += (y1 + y2) * c;
    }
    (cx / (6.0 * a), cy / (6.0 * a))
}

/// Makes a ring counter-clockwise and drops a repeated closing point.
pub fn normalise(mut ring: Ring) -> Ring {
    if ring.len() > 1 && ring.first() == ring.last() {
        ring.pop();
    }
    if signed_area(&ring) < 0.0 {
        ring.reverse();
    }
    ring
}

/// Keeps the part of `subject` on the left of the directed line a→b.
pub fn clip_half_plane(subject: &[Pt], a: Pt, b: Pt) -> Ring {
    let side = |p: Pt| (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0);
    let n = subject.len();
    let mut out = Vec::with_capacity(n + 2);
    for i in 0..n {
        let p = subject[i];
        let q = subject[(i + 1) % n];
        let (sp, sq) = (side(p), side(q));
        if sp >= 0.0 {
            out.push(p);
        }
        if (sp >= 0.0) != (sq >= 0.0) {
            let t = sp / (sp - sq);
            out.push((p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1)));
        }
    }
    out
}

/// `subject` ∩ `convex` (counter-clockwise). The result may carry zero-width bridges when
/// the subject is concave, which leaves its area exact.
pub fn clip_convex(subject: &[Pt], convex: &[Pt]) -> Ring {
    let mut out: Ring = subject.to_vec();
    let n = convex.len();
    for i in 0..n {
        if out.is_empty() {
            break;
        }
        out = clip_half_plane(&out, convex[i], convex[(i + 1) % n]);
    }
    out
}

/// Axis-aligned bounding box (min_x, min_y, max_x, max_y).
pub fn bbox(ring: &[Pt]) -> (f64, f64, f64, f64) {
    ring.iter().fold((f64::MAX, f64::MAX, f64::MIN, f64::MIN), |(a, b, c, d), p| {
        (a.min(p.0), b.min(p.1), c.max(p.0), d.max(p.1))
    })
}

/// A regular polygon approximating a disc (counter-clockwise).
pub fn disc(c: Pt, r: f64, sides: usize) -> Ring {
    (0..sides)
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / sides as f64;
            (c.0 + r * a.cos(), c.1 + r * a.sin())
        })
        .collect()
}

/// Even-odd point in ring.
pub fn contains(ring: &[Pt], p: Pt) -> bool {
    let n = ring.len();
    let mut inside = false;
    let mut j = n.wrapping_sub(1);
    for i in 0..n {
        let (xi, yi) = ring[i];
        let (xj, yj) = ring[j];
        if (yi > p.1) != (yj > p.1) && p.0 < (xj - xi) * (p.1 - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, s: f64) -> Ring {
        vec![(x0, y0), (x0 + s, y0), (x0 + s, y0 + s), (x0, y0 + s)]
    }

    #[test]
    fn areas_and_centroids() {
        assert!((signed_area(&square(0.0, 0.0, 2.0)) - 4.0).abs() < 1e-12);
        let mut cw = square(0.0, 0.0, 2.0);
        cw.reverse();
        assert!(signed_area(&cw) < 0.0);
        assert!(signed_area(&normalise(cw)) > 0.0);
        let c = centroid(&square(1.0, 1.0, 2.0));
        assert!((c.0 - 2.0).abs() < 1e-12 && (c.1 - 2.0).abs() < 1e-12);
    }

    #[test]
    fn clipping_a_concave_subject_keeps_exact_area() {
        // An L shape (area 3) clipped by the unit square at (1,0): area 1.
        let l = vec![(0.0, 0.0), (2.0, 0.0), (2.0, 1.0), (1.0, 1.0), (1.0, 2.0), (0.0, 2.0)];
        let c = clip_convex(&l, &square(1.0, 0.0, 1.0));
        assert!((signed_area(&c) - 1.0).abs() < 1e-12);
        // Clipped by a square over the notch (1..2, 1..2): nothing.
        let c = clip_convex(&l, &square(1.0, 1.0, 1.0));
        assert!(signed_area(&c).abs() < 1e-12);
        // Half of the L's left arm.
        let c = clip_convex(&l, &square(-1.0, 0.5, 1.5));
        assert!((signed_area(&c) - 0.75).abs() < 1e-12, "{}", signed_area(&c));
    }

    #[test]
    fn disc_area_close_to_pi_r2() {
        let d = disc((0.0, 0.0), 10.0, 64);
        let a = signed_area(&d);
        assert!((a - std::f64::consts::PI * 100.0).abs() / a < 0.01);
        assert!(contains(&d, (1.0, 1.0)) && !contains(&d, (11.0, 0.0)));
    }
}
