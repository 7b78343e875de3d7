//! Zones (districts, IRIS…) from GeoJSON, projected into the local metric frame. Their
//! union is the territory; everything else is "outside".

use std::path::Path;

use vigie_model::geo::Zone;

use crate::error::FlowsError;
use crate::geo::Frame;
use crate::geo::polygon::{self, Pt, Ring};

/// A zone in the plane: exterior and hole rings, each counter-clockwise.
#[derive(Debug, Clone)]
pub struct PlaneZone {
    pub id: String,
    pub name: String,
    /// (exterior, holes) per polygon.
    pub polygons: Vec<(Ring, Vec<Ring>)>,
    pub area_m2: f64,
    pub bbox: (f64, f64, f64, f64),
    /// Area centroid (lon, lat) and the radius (m) of a circle around it covering the zone.
    pub centroid: (f64, f64),
    pub radius_m: f64,
}

/// The zones and the frame they are projected in.
#[derive(Debug, Clone)]
pub struct ZoneSet {
    pub frame: Frame,
    pub zones: Vec<PlaneZone>,
}

/// At most this many zones (zone indices are `u16`, one more for "outside").
pub const MAX_ZONES: usize = 4096;

impl ZoneSet {
    pub fn from_geojson_file(path: &Path) -> Result<Self, FlowsError> {
        let text = std::fs::read_to_string(path).map_err(|e| FlowsError::Open { path: path.into(), source: e })?;
        Self::from_geojson(&text).map_err(|e| FlowsError::Zones(format!("{}: {e}", path.display())))
    }

    pub fn from_geojson(text: &str) -> Result<Self, String> {
        let zones = vigie_model::geo::zones_from_geojson(text)?;
        Self::from_zones(&zones)
    }

    pub fn from_zones(zones: &[Zone]) -> Result<Self, String> {
        if zones.is_empty() {
            return Err("no zones".into());
        }
        if zones.len() > MAX_ZONES {
            return Err(format!("{} zones, the limit is {MAX_ZONES}", zones.len()));
        }
        let mut seen = std::collections::HashSet::new();
        for z in zones {
            if !seen.insert(z.id.as_str()) {
                return Err(format!("zone id {:?} appears twice", z.id));
            }
            if !vigie_model::ids::is_valid_sensor_id(&z.id) {
                return Err(format!(
                    "zone id {:?} must match ^[a-z0-9][a-z0-9._-]{{0,63}}$ (it names the zone's sensor)",
                    z.id
                ));
            }
        }
        let (mut lo0, mut la0, mut lo1, mut la1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for z in zones {
            for p in &z.polygons {
                for &(lo, la) in p.rings.iter().flatten() {
                    (lo0, la0, lo1, la1) = (lo0.min(lo), la0.min(la), lo1.max(lo), la1.max(la));
                }
            }
        }
        let frame = Frame::new((lo0 + lo1) / 2.0, (la0 + la1) / 2.0);
        let mut out = Vec::with_capacity(zones.len());
        for z in zones {
            let mut polygons = Vec::new();
            let mut area = 0.0;
            let (mut cx, mut cy) = (0.0, 0.0);
            let mut all: Vec<Pt> = Vec::new();
            for p in &z.polygons {
                let mut rings =
                    p.rings.iter().map(|r| polygon::normalise(r.iter().map(|&(lo, la)| frame.to_xy(lo, la)).collect()));
                let Some(ext) = rings.next() else { continue };
                let holes: Vec<Ring> = rings.collect();
                let a = polygon::signed_area(&ext) - holes.iter().map(|h| polygon::signed_area(h)).sum::<f64>();
                let c = polygon::centroid(&ext);
                cx += c.0 * a;
                cy += c.1 * a;
                area += a;
                all.extend(ext.iter().copied());
                polygons.push((ext, holes));
            }
            if area <= 1.0 {
                return Err(format!("zone {:?} has no area", z.id));
            }
            let c = (cx / area, cy / area);
            let radius = all.iter().map(|p| ((p.0 - c.0).powi(2) + (p.1 - c.1).powi(2)).sqrt()).fold(0.0, f64::max);
            out.push(PlaneZone {
                id: z.id.clone(),
                name: z.name.clone(),
                bbox: polygon::bbox(&all),
                polygons,
                area_m2: area,
                centroid: frame.to_lonlat(c),
                radius_m: radius.max(1.0),
            });
        }
        Ok(ZoneSet { frame, zones: out })
    }

    pub fn len(&self) -> usize {
        self.zones.len()
    }

    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// The zone holding a point of the plane (first match), if any.
    pub fn locate(&self, p: Pt) -> Option<usize> {
        self.zones.iter().position(|z| {
            p.0 >= z.bbox.0
                && p.0 <= z.bbox.2
                && p.1 >= z.bbox.1
                && p.1 <= z.bbox.3
                && z.polygons
                    .iter()
                    .any(|(ext, holes)| polygon::contains(ext, p) && !holes.iter().any(|h| polygon::contains(h, p)))
        })
    }

    /// Area of the intersection of zone `z` with a convex piece.
    pub fn area_within(&self, z: usize, piece: &[Pt]) -> f64 {
        let pb = polygon::bbox(piece);
        let zb = self.zones[z].bbox;
        if pb.2 < zb.0 || pb.0 > zb.2 || pb.3 < zb.1 || pb.1 > zb.3 {
            return 0.0;
        }
        self.zones[z]
            .polygons
            .iter()
            .map(|(ext, holes)| {
                polygon::signed_area(&polygon::clip_convex(ext, piece)).abs()
                    - holes.iter().map(|h| polygon::signed_area(&polygon::clip_convex(h, piece)).abs()).sum::<f64>()
            })
            .sum::<f64>()
            .max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_demo_districts() {
        let z = ZoneSet::from_geojson(include_str!("../../../../demo/nantes/districts.geojson")).unwrap();
        assert_eq!(z.len(), 10);
        let total: f64 = z.zones.iter().map(|z| z.area_m2).sum();
        // lon −1.580..−1.535 × lat 47.1955..47.228: about 3.4 km × 3.6 km.
        assert!((total / 1e6 - 12.3).abs() < 0.6, "{}", total / 1e6);
        let bouffay = z.zones.iter().position(|z| z.id == "bouffay").unwrap();
        assert_eq!(z.locate(z.frame.to_xy(-1.5530, 47.2150)), Some(bouffay));
        assert_eq!(z.locate(z.frame.to_xy(-1.40, 47.30)), None);
    }

    #[test]
    fn rejects_ids_that_cannot_name_a_sensor() {
        let g = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"Bad Id"},
            "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}}]}"#;
        assert!(ZoneSet::from_geojson(g).unwrap_err().contains("sensor"));
    }
}
