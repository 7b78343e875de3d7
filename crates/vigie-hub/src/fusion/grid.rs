//! A uniform grid over (lon, lat) whose cells are at least `cell_m` wide, so that every
//! point within `cell_m` of a query lies in the query's cell or its neighbours.

use vigie_model::geo::metres_per_degree;

pub type CellKey = (i32, i32);

#[derive(Debug, Clone, Copy)]
pub struct Grid {
    /// Cell size in degrees of latitude (and of longitude at the equator).
    cell_deg: f64,
}

impl Grid {
    pub fn new(cell_m: f64) -> Grid {
        let (_, m_per_deg) = metres_per_degree(0.0);
        Grid { cell_deg: (cell_m / m_per_deg).max(1e-7) }
    }

    pub fn key(&self, lon: f64, lat: f64) -> CellKey {
        ((lon / self.cell_deg).floor() as i32, (lat / self.cell_deg).floor() as i32)
    }

    /// Cells that may hold a point within `radius_m` of (lon, lat): the cells covering the
    /// bounding box of that circle.
    pub fn around(&self, lon: f64, lat: f64, radius_m: f64) -> impl Iterator<Item = CellKey> + use<> {
        let (mx, my) = metres_per_degree(lat);
        let (dlon, dlat) = (radius_m / mx.max(1.0), radius_m / my);
        let (x0, y0) = self.key(lon - dlon, lat - dlat);
        let (x1, y1) = self.key(lon + dlon, lat + dlat);
        // Bounded: a huge radius near a pole must not enumerate millions of cells.
        let x1 = x1.min(x0.saturating_add(10_000));
        (x0..=x1).flat_map(move |x| (y0..=y1).map(move |y| (x, y)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_model::geo::haversine_m;

    #[test]
    fn neighbours_cover_the_radius() {
        let g = Grid::new(150.0);
        let (lon, lat) = (-1.5592, 47.2133);
        let cells: Vec<_> = g.around(lon, lat, 150.0).collect();
        // Points on a 149 m circle all fall in the returned cells.
        for i in 0..360 {
            let a = (i as f64).to_radians();
            let (mx, my) = metres_per_degree(lat);
            let (plon, plat) = (lon + 149.0 * a.sin() / mx, lat + 149.0 * a.cos() / my);
            assert!(haversine_m(lon, lat, plon, plat) < 150.0);
            assert!(cells.contains(&g.key(plon, plat)), "angle {i}");
        }
    }
}
