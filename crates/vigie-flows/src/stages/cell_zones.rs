//! Stage `cell_zones`: which zones a cell covers, and how much of each. Coverage areas are
//! the Voronoi cells of the sites (split into sectors by azimuth, clipped to each cell's
//! range); a cell's weight on a zone is the share of its coverage area inside the zone,
//! and the share outside every zone is its weight on "outside" (index `n_zones`).

use serde::Serialize;

use crate::geo::polygon::{Pt, Ring, signed_area};
use crate::geo::voronoi;
use crate::inputs::{CellTable, ZoneSet};

/// Weights below this share are dropped (and the rest renormalised).
const MIN_WEIGHT: f64 = 0.005;

#[derive(Debug, Clone)]
pub struct CellZones {
    pub n_zones: usize,
    pub n_cells: usize,
    /// Site position of each cell in the zones' frame (m).
    pub xy: Vec<Pt>,
    /// Radius within which two events belong to one stay, per cell (m).
    pub stay_radius_m: Vec<f64>,
    starts: Vec<u32>,
    zone: Vec<u16>,
    weight: Vec<f32>,
    /// The zone (or outside) with the largest weight.
    pub primary: Vec<u16>,
    /// Sum of the weights on zones (1 − outside).
    pub inside: Vec<f32>,
}

/// A summary line per cell, for reports and the DuckDB comparison table.
#[derive(Debug, Clone, Serialize)]
pub struct CellZoneRow {
    pub cell_id: String,
    pub zone: String,
    pub weight: f64,
}

impl CellZones {
    pub fn build(cells: &CellTable, zones: &ZoneSet, min_stay_radius_m: f64) -> CellZones {
        let frame = zones.frame;
        let xy: Vec<Pt> = cells.cells.iter().map(|c| frame.to_xy(c.lon, c.lat)).collect();
        // Sites: cells at the same position (to the metre).
        let mut site_of = Vec::with_capacity(xy.len());
        let mut sites: Vec<Pt> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for p in &xy {
            let key = (p.0.round() as i64, p.1.round() as i64);
            let s = *index.entry(key).or_insert_with(|| {
                sites.push(*p);
                sites.len() - 1
            });
            site_of.push(s);
        }
        // Nearest other site, for the stay radius and the bounds.
        let nn: Vec<f64> = sites
            .iter()
            .enumerate()
            .map(|(i, a)| {
                sites
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, b)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt())
                    .fold(f64::MAX, f64::min)
            })
            .collect();
        // Bounds: the sites and the zones, plus a margin of the typical site spacing, so
        // that the outermost cells do not claim land far beyond the last antenna.
        let mut pts: Vec<Pt> = sites.clone();
        for z in &zones.zones {
            pts.push((z.bbox.0, z.bbox.1));
            pts.push((z.bbox.2, z.bbox.3));
        }
        let (x0, y0, x1, y1) = crate::geo::polygon::bbox(&pts);
        let mut spacing: Vec<f64> = nn.iter().copied().filter(|d| d.is_finite() && *d < f64::MAX).collect();
        spacing.sort_by(|a, b| a.total_cmp(b));
        let m = spacing.get(spacing.len() / 2).copied().unwrap_or(2_000.0).clamp(500.0, 5_000.0);
        let bounds: Ring = vec![(x0 - m, y0 - m), (x1 + m, y0 - m), (x1 + m, y1 + m), (x0 - m, y1 + m)];
        let site_cells = voronoi::site_cells(&sites, &bounds);
        // Pieces per cell: sector split of its site's cell when every cell of the site has
        // an azimuth; otherwise the cells of the site share the whole site cell.
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); sites.len()];
        for (c, &s) in site_of.iter().enumerate() {
            members[s].push(c);
        }
        let mut pieces: Vec<Vec<Ring>> = vec![Vec::new(); xy.len()];
        for (s, cs) in members.iter().enumerate() {
            let azs: Option<Vec<f64>> = cs.iter().map(|&c| cells.cells[c].azimuth_deg).collect();
            match azs {
                Some(a) if cs.len() > 1 => {
                    for (k, ps) in voronoi::sector_pieces(sites[s], &site_cells[s], &a).into_iter().enumerate() {
                        pieces[cs[k]] = ps;
                    }
                }
                _ => {
                    for &c in cs {
                        pieces[c] = vec![site_cells[s].clone()];
                    }
                }
            }
            for &c in cs {
                if let Some(r) = cells.cells[c].range_m {
                    pieces[c] = voronoi::clip_to_range(sites[s], std::mem::take(&mut pieces[c]), r);
                }
                if pieces[c].is_empty() {
                    pieces[c] = vec![crate::geo::polygon::disc(sites[s], 50.0, 16)];
                }
            }
        }
        let n_zones = zones.len();
        let mut out = CellZones {
            n_zones,
            n_cells: xy.len(),
            stay_radius_m: site_of
                .iter()
                .map(|&s| (1.2 * nn[s]).clamp(min_stay_radius_m, 5_000.0).max(min_stay_radius_m))
                .collect(),
            xy,
            starts: vec![0],
            zone: Vec::new(),
            weight: Vec::new(),
            primary: Vec::new(),
            inside: Vec::new(),
        };
        for ps in &pieces {
            let total: f64 = ps.iter().map(|p| signed_area(p).abs()).sum::<f64>().max(1e-9);
            let mut w: Vec<(u16, f64)> = (0..n_zones)
                .filter_map(|z| {
                    let a: f64 = ps.iter().map(|p| zones.area_within(z, p)).sum();
                    (a / total >= MIN_WEIGHT).then_some((z as u16, a / total))
                })
                .collect();
            let zsum: f64 = w.iter().map(|x| x.1).sum();
            if zsum > 1.0 {
                w.iter_mut().for_each(|x| x.1 /= zsum);
            } else if 1.0 - zsum >= MIN_WEIGHT {
                w.push((n_zones as u16, 1.0 - zsum));
            }
            let s: f64 = w.iter().map(|x| x.1).sum::<f64>().max(1e-12);
            w.iter_mut().for_each(|x| x.1 /= s);
            if w.is_empty() {
                w.push((n_zones as u16, 1.0));
            }
            let primary = w.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|x| x.0).unwrap_or(n_zones as u16);
            out.primary.push(primary);
            out.inside.push(w.iter().filter(|x| (x.0 as usize) < n_zones).map(|x| x.1).sum::<f64>() as f32);
            for (z, v) in w {
                out.zone.push(z);
                out.weight.push(v as f32);
            }
            out.starts.push(out.zone.len() as u32);
        }
        out
    }

    /// (zone or outside, weight) pairs of a cell; the weights sum to 1.
    #[inline]
    pub fn weights(&self, cell: u32) -> impl Iterator<Item = (usize, f64)> + '_ {
        let (a, b) = (self.starts[cell as usize] as usize, self.starts[cell as usize + 1] as usize);
        self.zone[a..b].iter().zip(&self.weight[a..b]).map(|(&z, &w)| (z as usize, w as f64))
    }

    #[inline]
    pub fn dist2(&self, a: u32, b: u32) -> f64 {
        let (p, q) = (self.xy[a as usize], self.xy[b as usize]);
        (p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)
    }

    /// Every (cell, zone, weight), zones named, outside as `"outside"`.
    pub fn rows(&self, cells: &CellTable, zones: &ZoneSet) -> Vec<CellZoneRow> {
        let mut v = Vec::new();
        for c in 0..self.n_cells {
            for (z, w) in self.weights(c as u32) {
                v.push(CellZoneRow {
                    cell_id: cells.cells[c].id.clone(),
                    zone: zones.zones.get(z).map(|z| z.id.clone()).unwrap_or_else(|| OUTSIDE.into()),
                    weight: w,
                });
            }
        }
        v
    }

    /// Name of a zone index (`outside` for the last).
    pub fn zone_name<'a>(&self, zones: &'a ZoneSet, z: usize) -> &'a str {
        zones.zones.get(z).map(|z| z.id.as_str()).unwrap_or(OUTSIDE)
    }
}

/// The name of everything beyond the zones.
pub const OUTSIDE: &str = "outside";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::Cell;

    fn two_zones() -> ZoneSet {
        ZoneSet::from_geojson(
            r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"id":"west"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[0.01,0],[0.01,0.01],[0,0.01],[0,0]]]}},
            {"type":"Feature","properties":{"id":"east"},"geometry":{"type":"Polygon","coordinates":[[[0.01,0],[0.02,0],[0.02,0.01],[0.01,0.01],[0.01,0]]]}}]}"#,
        )
        .unwrap()
    }

    fn cell(id: &str, lon: f64, lat: f64, az: Option<f64>) -> Cell {
        Cell { id: id.into(), lon, lat, azimuth_deg: az, range_m: None }
    }

    #[test]
    fn weights_sum_to_one_and_follow_areas() {
        let zones = two_zones();
        // Two sites at the zones' centres, one far north, and a ring of sites beyond the
        // zones so that no cell claims the empty land around them.
        let mut v = vec![cell("a", 0.005, 0.005, None), cell("b", 0.015, 0.005, None), cell("c", 0.010, 0.030, None)];
        for (i, (lon, lat)) in
            [(-0.005, 0.005), (0.025, 0.005), (0.005, -0.005), (0.015, -0.005), (0.005, 0.015), (0.015, 0.015)]
                .into_iter()
                .enumerate()
        {
            v.push(cell(&format!("ring{i}"), lon, lat, None));
        }
        let cells = CellTable::new(v).unwrap();
        let cz = CellZones::build(&cells, &zones, 300.0);
        for c in 0..cells.len() as u32 {
            let s: f64 = cz.weights(c).map(|x| x.1).sum();
            assert!((s - 1.0).abs() < 1e-5, "cell {c}: {s}");
        }
        assert_eq!(cz.primary[0], 0);
        assert_eq!(cz.primary[1], 1);
        // The northern cell covers mostly land beyond the zones.
        assert_eq!(cz.primary[2] as usize, cz.n_zones);
        assert!(cz.inside[2] < 0.5);
        // Symmetric sites: a's weight on west equals b's on east.
        let wa: f64 = cz.weights(0).filter(|x| x.0 == 0).map(|x| x.1).sum();
        let wb: f64 = cz.weights(1).filter(|x| x.0 == 1).map(|x| x.1).sum();
        assert!((wa - wb).abs() < 1e-3, "{wa} {wb}");
        assert!(wa > 0.95, "{wa}");
    }

    #[test]
    fn sectors_of_one_site_look_different_ways() {
        let zones = two_zones();
        // One site on the border, two sectors: west-facing and east-facing.
        let cells =
            CellTable::new(vec![cell("w", 0.01, 0.005, Some(270.0)), cell("e", 0.01, 0.005, Some(90.0))]).unwrap();
        let cz = CellZones::build(&cells, &zones, 300.0);
        let w = |c: u32, z: usize| cz.weights(c).filter(|x| x.0 == z).map(|x| x.1).sum::<f64>();
        assert!(w(0, 0) > 0.05 && w(0, 1) < 0.01, "{:?}", cz.weights(0).collect::<Vec<_>>());
        assert!(w(1, 1) > 0.05 && w(1, 0) < 0.01, "{:?}", cz.weights(1).collect::<Vec<_>>());
    }
}
