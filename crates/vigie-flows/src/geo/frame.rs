//! A local equirectangular frame in metres around a reference point (good to well under
//! 1 % over a metropolitan area, which is all the area weighting needs).

use vigie_model::geo::metres_per_degree;

use super::polygon::Pt;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub lon0: f64,
    pub lat0: f64,
    m_lon: f64,
    m_lat: f64,
}

impl Frame {
    pub fn new(lon0: f64, lat0: f64) -> Self {
        let (m_lon, m_lat) = metres_per_degree(lat0);
        Frame { lon0, lat0, m_lon, m_lat }
    }

    pub fn to_xy(&self, lon: f64, lat: f64) -> Pt {
        ((lon - self.lon0) * self.m_lon, (lat - self.lat0) * self.m_lat)
    }

    pub fn to_lonlat(&self, p: Pt) -> (f64, f64) {
        (self.lon0 + p.0 / self.m_lon, self.lat0 + p.1 / self.m_lat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_scales() {
        let f = Frame::new(-1.55, 47.21);
        let (x, y) = f.to_xy(-1.54, 47.22);
        let (lon, lat) = f.to_lonlat((x, y));
        assert!((lon + 1.54).abs() < 1e-12 && (lat - 47.22).abs() < 1e-12);
        let d = (x * x + y * y).sqrt();
        let h = vigie_model::geo::haversine_m(-1.55, 47.21, -1.54, 47.22);
        assert!((d - h).abs() / h < 0.002, "{d} vs {h}");
    }
}
