//! Coverage areas of cells: the Voronoi cell of each antenna site (half-plane clipping of
//! a bounding polygon by the bisectors of its nearer neighbours), split into sectors by
//! the bisectors of the site's cell azimuths, and clipped to each cell's range.
//!
//! A cell's coverage is kept as a list of convex pieces so that intersecting it with a
//! (possibly concave) zone is a sequence of convex clips.

use super::polygon::{Pt, Ring, clip_convex, clip_half_plane, disc, signed_area};

/// The Voronoi cell of every site inside `bounds` (convex, counter-clockwise).
/// Sites at the same position share one cell (the caller deduplicates sites).
pub fn site_cells(sites: &[Pt], bounds: &[Pt]) -> Vec<Ring> {
    let mut order: Vec<usize> = Vec::with_capacity(sites.len());
    sites
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            order.clear();
            order.extend((0..sites.len()).filter(|&j| j != i));
            order.sort_by(|&a, &b| dist2(s, sites[a]).total_cmp(&dist2(s, sites[b])));
            let mut poly: Ring = bounds.to_vec();
            for &j in &order {
                let o = sites[j];
                // A neighbour farther than twice the cell's farthest vertex cannot cut it.
                let reach = poly.iter().map(|&p| dist2(s, p)).fold(0.0, f64::max);
                if dist2(s, o) > 4.0 * reach {
                    break;
                }
                let m = ((s.0 + o.0) / 2.0, (s.1 + o.1) / 2.0);
                // Keep the side of the bisector that holds `s`: direction perpendicular to s→o.
                let d = (o.0 - s.0, o.1 - s.1);
                let a = m;
                let b = (m.0 - d.1, m.1 + d.0);
                poly = clip_half_plane(&poly, a, b);
                if poly.len() < 3 {
                    break;
                }
            }
            poly
        })
        .collect()
}

fn dist2(a: Pt, b: Pt) -> f64 {
    (a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)
}

/// Splits a site's Voronoi cell among its sectors. `azimuths_deg` are compass bearings
/// (0 = north, clockwise); a sector owns the directions closer to its azimuth than to its
/// neighbours'. Returns, for each azimuth in order, its convex pieces.
pub fn sector_pieces(site: Pt, cell: &[Pt], azimuths_deg: &[f64]) -> Vec<Vec<Ring>> {
    if azimuths_deg.len() <= 1 {
        return vec![vec![cell.to_vec()]];
    }
    // Compass bearing → mathematical angle (counter-clockwise from east).
    let math = |az: f64| (90.0 - az).to_radians().rem_euclid(std::f64::consts::TAU);
    let mut idx: Vec<usize> = (0..azimuths_deg.len()).collect();
    idx.sort_by(|&a, &b| math(azimuths_deg[a]).total_cmp(&math(azimuths_deg[b])));
    let angles: Vec<f64> = idx.iter().map(|&i| math(azimuths_deg[i])).collect();
    let n = angles.len();
    let reach = cell.iter().map(|&p| dist2(site, p)).fold(0.0, f64::max).sqrt() * 2.0 + 1.0;
    let mut out = vec![Vec::new(); n];
    for k in 0..n {
        let prev = angles[(k + n - 1) % n];
        let next = angles[(k + 1) % n];
        let here = angles[k];
        let mut lo = here - ((here - prev).rem_euclid(std::f64::consts::TAU)) / 2.0;
        let hi = here + ((next - here).rem_euclid(std::f64::consts::TAU)) / 2.0;
        if (next - here).rem_euclid(std::f64::consts::TAU) == 0.0 {
            // Two sectors on one azimuth: share the whole circle.
            lo = hi - std::f64::consts::TAU;
        }
        // Wedges of at most 90° are convex triangles from the site.
        let steps = ((hi - lo) / std::f64::consts::FRAC_PI_2).ceil().max(1.0) as usize;
        for s in 0..steps {
            let a0 = lo + (hi - lo) * s as f64 / steps as f64;
            let a1 = lo + (hi - lo) * (s + 1) as f64 / steps as f64;
            let wedge = vec![
                site,
                (site.0 + reach * 1.5 * a0.cos(), site.1 + reach * 1.5 * a0.sin()),
                (site.0 + reach * 1.5 * a1.cos(), site.1 + reach * 1.5 * a1.sin()),
            ];
            let piece = clip_convex(cell, &wedge);
            if signed_area(&piece) > 1e-6 {
                out[idx[k]].push(piece);
            }
        }
    }
    out
}

/// Clips pieces to a range disc around the site; if nothing is left, the disc alone.
pub fn clip_to_range(site: Pt, pieces: Vec<Ring>, range_m: f64) -> Vec<Ring> {
    let d = disc(site, range_m, 32);
    let clipped: Vec<Ring> = pieces.iter().map(|p| clip_convex(p, &d)).filter(|p| signed_area(p) > 1e-6).collect();
    if clipped.is_empty() { vec![d] } else { clipped }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> Ring {
        vec![(-10.0, -10.0), (10.0, -10.0), (10.0, 10.0), (-10.0, 10.0)]
    }

    #[test]
    fn two_sites_split_the_plane_in_halves() {
        let cells = site_cells(&[(-5.0, 0.0), (5.0, 0.0)], &bounds());
        assert!((signed_area(&cells[0]) - 200.0).abs() < 1e-9);
        assert!((signed_area(&cells[1]) - 200.0).abs() < 1e-9);
        assert!(cells[0].iter().all(|p| p.0 <= 1e-9));
    }

    #[test]
    fn cells_tile_the_bounds() {
        let mut rng = crate::rng::Rng::new(3);
        let sites: Vec<Pt> = (0..60).map(|_| (rng.range(-9.0, 9.0), rng.range(-9.0, 9.0))).collect();
        let total: f64 = site_cells(&sites, &bounds()).iter().map(|c| signed_area(c)).sum();
        assert!((total - 400.0).abs() < 1e-6, "{total}");
    }

    #[test]
    fn three_sectors_tile_the_site_cell() {
        let cell = bounds();
        let pieces = sector_pieces((0.0, 0.0), &cell, &[0.0, 120.0, 240.0]);
        let areas: Vec<f64> = pieces.iter().map(|ps| ps.iter().map(|p| signed_area(p)).sum()).collect();
        assert!((areas.iter().sum::<f64>() - 400.0).abs() < 1e-6, "{areas:?}");
        // The north-facing sector (azimuth 0) holds the point due north.
        assert!(pieces[0].iter().any(|p| super::super::polygon::contains(p, (0.0, 9.0))));
        assert!(pieces[1].iter().any(|p| super::super::polygon::contains(p, (8.0, -2.0))));
    }
}
