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

    /// Cells that may hold a point within `radius_m` of (lon, lat).
    pub fn around(&self, lon: f64, lat: f64, radius_m: f64) -> impl Iterator<Item = CellKey> + use<> {
        let (mx, my) = metres_per_degree(lat);
        // Longitude degrees shrink with latitude: look further in x, never less than one cell.
        let ny = ((radius_m / my) / self.cell_deg).ceil().max(1.0) as i32;
        let nx = ((radius_m / mx.max(1.0)) / self.cell_deg).ceil().clamp(1.0, 10_000.0) as i32;
        let (cx, cy) = self.key(lon, lat);
        (-nx..=nx).flat_map(move |dx| (-ny..=ny).map(move |dy| (cx.saturating_add(dx), cy.saturating_add(dy))))
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
