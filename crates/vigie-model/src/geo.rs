//! Small geo helpers: distances, a local metric frame, districts as polygons from GeoJSON.

use serde::Serialize;

/// Mean Earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance in metres between two (lon, lat) points.
pub fn haversine_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

/// Metres per degree of latitude and of longitude at a latitude (equirectangular frame,
/// good to well under 1 % over a city).
pub fn metres_per_degree(lat: f64) -> (f64, f64) {
    let m_lat = EARTH_RADIUS_M.to_radians();
    (m_lat * lat.to_radians().cos(), m_lat)
}

/// A bounding box in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl BBox {
    /// Parses `min_lon,min_lat,max_lon,max_lat`.
    pub fn parse(s: &str) -> Result<BBox, String> {
        let v: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>().map_err(|_| format!("bbox value {p:?} is not a number")))
            .collect::<Result<_, _>>()?;
        let [min_lon, min_lat, max_lon, max_lat] = v[..] else {
            return Err("bbox must be min_lon,min_lat,max_lon,max_lat".into());
        };
        let b = BBox { min_lon, min_lat, max_lon, max_lat };
        if !(v.iter().all(|x| x.is_finite())
            && (-180.0..=180.0).contains(&min_lon)
            && (-180.0..=180.0).contains(&max_lon)
            && (-90.0..=90.0).contains(&min_lat)
            && (-90.0..=90.0).contains(&max_lat)
            && min_lon <= max_lon
            && min_lat <= max_lat)
        {
            return Err(format!("bbox {s:?} is not a valid box (lon within -180..180, lat within -90..90, min ≤ max)"));
        }
        Ok(b)
    }
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        (self.min_lon..=self.max_lon).contains(&lon) && (self.min_lat..=self.max_lat).contains(&lat)
    }
}

/// A polygon with holes: rings of (lon, lat), the first is the exterior.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    pub rings: Vec<Vec<(f64, f64)>>,
}

impl Polygon {
    /// Even-odd rule over all rings, so holes are excluded.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        let mut inside = false;
        for ring in &self.rings {
            let n = ring.len();
            if n < 3 {
                continue;
            }
            let mut j = n - 1;
            for i in 0..n {
                let (xi, yi) = ring[i];
                let (xj, yj) = ring[j];
                if (yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi {
                    inside = !inside;
                }
                j = i;
            }
        }
        inside
    }

    /// Centroid of the exterior ring's vertices (enough for placing a label or a flows sensor).
    pub fn vertex_centroid(&self) -> (f64, f64) {
        let ring = self.rings.first().map(Vec::as_slice).unwrap_or(&[]);
        let n = ring.len().max(1) as f64;
        let (sx, sy) = ring.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
        (sx / n, sy / n)
    }
}

/// A named area (district, IRIS, perimeter) made of one or more polygons.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub id: String,
    pub name: String,
    pub polygons: Vec<Polygon>,
}

impl Zone {
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        self.polygons.iter().any(|p| p.contains(lon, lat))
    }
}

/// Reads zones from a GeoJSON FeatureCollection of Polygon / MultiPolygon features whose
/// properties carry `id` and `name`.
pub fn zones_from_geojson(text: &str) -> Result<Vec<Zone>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let features = v["features"].as_array().ok_or("not a GeoJSON FeatureCollection (no \"features\" array)")?;
    let mut zones = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let id = f["properties"]["id"].as_str().ok_or(format!("feature {i} has no properties.id"))?;
        let name = f["properties"]["name"].as_str().unwrap_or(id);
        let geom = &f["geometry"];
        let polys = match geom["type"].as_str() {
            Some("Polygon") => vec![polygon(&geom["coordinates"]).map_err(|e| format!("feature {id:?}: {e}"))?],
            Some("MultiPolygon") => geom["coordinates"]
                .as_array()
                .ok_or(format!("feature {id:?}: coordinates is not an array"))?
                .iter()
                .map(polygon)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("feature {id:?}: {e}"))?,
            other => return Err(format!("feature {id:?}: geometry {other:?} is not a Polygon or MultiPolygon")),
        };
        zones.push(Zone { id: id.to_owned(), name: name.to_owned(), polygons: polys });
    }
    Ok(zones)
}

fn polygon(coords: &serde_json::Value) -> Result<Polygon, String> {
    let rings = coords.as_array().ok_or("polygon coordinates is not an array")?;
    let mut out = Vec::with_capacity(rings.len());
    for ring in rings {
        let pts = ring.as_array().ok_or("ring is not an array")?;
        let mut r = Vec::with_capacity(pts.len());
        for p in pts {
            let lon = p[0].as_f64().ok_or("position without longitude")?;
            let lat = p[1].as_f64().ok_or("position without latitude")?;
            if !((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)) {
                return Err(format!("position ({lon}, {lat}) is outside WGS 84 ranges"));
            }
            r.push((lon, lat));
        }
        if r.len() < 4 {
            return Err("a ring needs at least 4 positions".into());
        }
        out.push(r);
    }
    Ok(Polygon { rings: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_matches_known_distance() {
        // Place du Commerce to Place Royale in Nantes: about 135 m.
        let d = haversine_m(-1.5592, 47.2133, -1.5595, 47.2145);
        assert!((130.0..140.0).contains(&d), "{d}");
        // One degree of latitude.
        let d = haversine_m(0.0, 0.0, 0.0, 1.0);
        assert!((d - 111_195.0).abs() < 10.0, "{d}");
    }

    #[test]
    fn polygon_with_hole() {
        let z = zones_from_geojson(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"a","name":"A"},
            "geometry":{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]}}]}"#,
        )
        .unwrap();
        assert!(z[0].contains(1.0, 1.0));
        assert!(!z[0].contains(5.0, 5.0));
        assert!(!z[0].contains(11.0, 5.0));
    }

    #[test]
    fn rejects_bad_bbox() {
        assert!(BBox::parse("-1.6,47.2,-1.5,47.3").is_ok());
        assert!(BBox::parse("-1.5,47.2,-1.6,47.3").is_err());
        assert!(BBox::parse("0,91,1,92").is_err());
        assert!(BBox::parse("a,b,c,d").is_err());
        assert!(BBox::parse("1,2,3").is_err());
    }
}
