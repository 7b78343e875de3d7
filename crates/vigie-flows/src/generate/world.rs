//! The synthetic metropolis: the ten real central districts of the demo city (Nantes)
//! surrounded by 48 sectors tiling a 24 × 25 km territory; a region 12 km beyond it
//! where commuters live; densities of homes, jobs and leisure; a ring road; motorway
//! gateways; antenna sites with three sectors each, denser where people are.

use chrono::NaiveDate;
use vigie_model::geo::{Polygon, Zone};

use crate::geo::polygon::Pt;
use crate::inputs::{Cell, CellTable, ZoneSet};
use crate::rng::Rng;

pub const CENTRE: (f64, f64) = (-1.5536, 47.2184);
const TILE_LON: f64 = 0.045;
const TILE_LAT: f64 = 0.0325;
const CORE: (f64, f64) = (-1.580, 47.1955);
/// Region beyond the territory, degrees.
const BAND_LON: f64 = 0.16;
const BAND_LAT: f64 = 0.11;
pub const RING_ROAD_M: f64 = 6_500.0;

/// A raster over the territory for fast point → zone (exact near borders).
struct ZoneRaster {
    x0: f64,
    y0: f64,
    step: f64,
    nx: usize,
    ny: usize,
    /// Zone index, `MIXED` (test the polygons) or `NONE`.
    cell: Vec<u16>,
}

const MIXED: u16 = u16::MAX;
const NONE: u16 = u16::MAX - 1;

pub struct World {
    pub zones: ZoneSet,
    pub zones_geojson: String,
    pub cells: CellTable,
    pub sites: Vec<Pt>,
    /// Cells of each site with their azimuths (degrees).
    pub site_cells: Vec<Vec<(u32, f64)>>,
    /// Cell id as an integer (ECI style: site × 256 + sector).
    pub cell_key: Vec<i64>,
    pub territory: (f64, f64, f64, f64),
    pub region: (f64, f64, f64, f64),
    pub gateways: Vec<Pt>,
    pub tourist_spots: Vec<Pt>,
    pub job_parks: Vec<Pt>,
    home_grid: Grid,
    job_grid: Grid,
    raster: ZoneRaster,
    site_index: SiteIndex,
}

/// A sampling grid: cumulative weights over square cells of the region.
struct Grid {
    x0: f64,
    y0: f64,
    step: f64,
    nx: usize,
    cum: Vec<f64>,
}

impl Grid {
    fn new(region: (f64, f64, f64, f64), step: f64, w: impl Fn(Pt) -> f64) -> Self {
        let nx = ((region.2 - region.0) / step).ceil() as usize;
        let ny = ((region.3 - region.1) / step).ceil() as usize;
        let mut cum = Vec::with_capacity(nx * ny);
        let mut acc = 0.0;
        for j in 0..ny {
            for i in 0..nx {
                let p = (region.0 + (i as f64 + 0.5) * step, region.1 + (j as f64 + 0.5) * step);
                acc += w(p).max(0.0);
                cum.push(acc);
            }
        }
        Grid { x0: region.0, y0: region.1, step, nx, cum }
    }

    fn sample(&self, rng: &mut Rng) -> Pt {
        let k = rng.pick_cumulative(&self.cum);
        let (i, j) = (k % self.nx, k / self.nx);
        (self.x0 + (i as f64 + rng.f64()) * self.step, self.y0 + (j as f64 + rng.f64()) * self.step)
    }
}

/// Sites bucketed for nearest-site queries.
struct SiteIndex {
    x0: f64,
    y0: f64,
    step: f64,
    nx: usize,
    ny: usize,
    buckets: Vec<Vec<u32>>,
}

impl SiteIndex {
    fn new(sites: &[Pt], region: (f64, f64, f64, f64), step: f64) -> Self {
        let nx = ((region.2 - region.0) / step).ceil() as usize + 1;
        let ny = ((region.3 - region.1) / step).ceil() as usize + 1;
        let mut buckets = vec![Vec::new(); nx * ny];
        let mut s = SiteIndex { x0: region.0, y0: region.1, step, nx, ny, buckets: Vec::new() };
        for (k, p) in sites.iter().enumerate() {
            let (i, j) = s.bucket(*p);
            buckets[j * nx + i].push(k as u32);
        }
        s.buckets = buckets;
        s
    }

    fn bucket(&self, p: Pt) -> (usize, usize) {
        let i = ((p.0 - self.x0) / self.step).floor().clamp(0.0, (self.nx - 1) as f64) as usize;
        let j = ((p.1 - self.y0) / self.step).floor().clamp(0.0, (self.ny - 1) as f64) as usize;
        (i, j)
    }

    /// The two nearest sites (second may equal the first if there is only one).
    fn nearest2(&self, sites: &[Pt], p: Pt) -> (u32, u32) {
        let (ci, cj) = self.bucket(p);
        let mut best = [(f64::MAX, 0u32), (f64::MAX, 0u32)];
        let mut ring = 0usize;
        loop {
            let (i0, i1) = (ci.saturating_sub(ring), (ci + ring).min(self.nx - 1));
            let (j0, j1) = (cj.saturating_sub(ring), (cj + ring).min(self.ny - 1));
            for j in j0..=j1 {
                for i in i0..=i1 {
                    if ring > 0 && i != i0 && i != i1 && j != j0 && j != j1 {
                        continue;
                    }
                    for &s in &self.buckets[j * self.nx + i] {
                        let q = sites[s as usize];
                        let d = (q.0 - p.0).powi(2) + (q.1 - p.1).powi(2);
                        if d < best[0].0 {
                            best[1] = best[0];
                            best[0] = (d, s);
                        } else if d < best[1].0 {
                            best[1] = (d, s);
                        }
                    }
                }
            }
            let reach = (ring as f64 * self.step).powi(2);
            let covered = i0 == 0 && j0 == 0 && i1 == self.nx - 1 && j1 == self.ny - 1;
            if (best[1].0 < reach) || covered {
                break;
            }
            ring += 1;
        }
        if best[1].0 == f64::MAX {
            best[1] = best[0];
        }
        (best[0].1, best[1].1)
    }
}

fn tile_zone(r: usize, c: usize) -> Zone {
    let lon0 = CORE.0 + (c as f64 - 3.0) * TILE_LON;
    let lat0 = CORE.1 + (r as f64 - 3.0) * TILE_LAT;
    let ring = vec![
        (lon0, lat0),
        (lon0 + TILE_LON, lat0),
        (lon0 + TILE_LON, lat0 + TILE_LAT),
        (lon0, lat0 + TILE_LAT),
        (lon0, lat0),
    ];
    let ns = if r < 3 {
        format!("S{}", 3 - r)
    } else if r > 3 {
        format!("N{}", r - 3)
    } else {
        String::new()
    };
    let ew = if c < 3 {
        format!("O{}", 3 - c)
    } else if c > 3 {
        format!("E{}", c - 3)
    } else {
        String::new()
    };
    Zone {
        id: format!("secteur-r{r}c{c}"),
        name: format!("Secteur {ns}{ew}"),
        polygons: vec![Polygon { rings: vec![ring] }],
    }
}

impl World {
    pub fn new(n_cells: usize, seed: u64) -> Result<World, String> {
        let mut zs = vigie_model::geo::zones_from_geojson(include_str!("../../../../demo/nantes/districts.geojson"))?;
        for r in 0..7 {
            for c in 0..7 {
                if (r, c) != (3, 3) {
                    zs.push(tile_zone(r, c));
                }
            }
        }
        let zones = ZoneSet::from_zones(&zs)?;
        let f = zones.frame;
        let t0 = f.to_xy(CORE.0 - 3.0 * TILE_LON, CORE.1 - 3.0 * TILE_LAT);
        let t1 = f.to_xy(CORE.0 + 4.0 * TILE_LON, CORE.1 + 4.0 * TILE_LAT);
        let territory = (t0.0, t0.1, t1.0, t1.1);
        let r0 = f.to_xy(CORE.0 - 3.0 * TILE_LON - BAND_LON, CORE.1 - 3.0 * TILE_LAT - BAND_LAT);
        let r1 = f.to_xy(CORE.0 + 4.0 * TILE_LON + BAND_LON, CORE.1 + 4.0 * TILE_LAT + BAND_LAT);
        let region = (r0.0, r0.1, r1.0, r1.1);
        let centre = f.to_xy(CENTRE.0, CENTRE.1);
        let inside = |p: Pt| p.0 >= territory.0 && p.0 <= territory.2 && p.1 >= territory.1 && p.1 <= territory.3;
        let dist = move |p: Pt| ((p.0 - centre.0).powi(2) + (p.1 - centre.1).powi(2)).sqrt();
        // People per km²: a dense core, suburbs, then the countryside of the region.
        let home_density = move |p: Pt| 9_000.0 * (-dist(p) / 2_500.0).exp() + if inside(p) { 500.0 } else { 110.0 };
        let job_parks: Vec<Pt> = [(-1.640, 47.235), (-1.520, 47.255), (-1.560, 47.175), (-1.480, 47.205)]
            .iter()
            .map(|&(lo, la)| f.to_xy(lo, la))
            .collect();
        let parks = job_parks.clone();
        let job_density = move |p: Pt| {
            let d = dist(p);
            let mut v = 30_000.0 * (-d / 1_500.0).exp() + if inside(p) { 200.0 } else { 30.0 };
            for q in &parks {
                let e = ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)) / (2.0 * 900.0f64.powi(2));
                v += 8_000.0 * (-e).exp();
            }
            v
        };
        let step = 500.0;
        let home_grid = Grid::new(region, step, |p| home_density(p) * step * step / 1e6);
        let job_grid = Grid::new(region, step, |p| job_density(p) * step * step / 1e6);
        // Sites: sampled where people are (sub-linearly), at least 150 m apart.
        let n_sites = n_cells.div_ceil(3).max(4);
        let site_grid = Grid::new(region, step, |p| home_density(p).powf(0.75) * step * step / 1e6);
        let mut rng = Rng::new(crate::rng::mix(&[seed, 0x5173]));
        let mut sites: Vec<Pt> = Vec::with_capacity(n_sites);
        let mut tries = 0;
        while sites.len() < n_sites && tries < n_sites * 200 {
            tries += 1;
            let p = site_grid.sample(&mut rng);
            if sites.iter().all(|q| (q.0 - p.0).powi(2) + (q.1 - p.1).powi(2) > 150.0f64.powi(2)) {
                sites.push(p);
            }
        }
        let mut cells = Vec::with_capacity(n_cells);
        let mut cell_key = Vec::with_capacity(n_cells);
        let mut site_cells = vec![Vec::new(); sites.len()];
        'outer: for (s, p) in sites.iter().enumerate() {
            let rot = rng.range(0.0, 120.0);
            for k in 0..3 {
                if cells.len() >= n_cells {
                    break 'outer;
                }
                let az = (rot + 120.0 * k as f64) % 360.0;
                let (lon, lat) = f.to_lonlat(*p);
                let key = (20_000 + s as i64) * 256 + k as i64 + 1;
                site_cells[s].push((cells.len() as u32, az));
                cells.push(Cell {
                    id: key.to_string(),
                    lon,
                    lat,
                    azimuth_deg: Some((az * 10.0).round() / 10.0),
                    range_m: None,
                });
                cell_key.push(key);
            }
        }
        let cells = CellTable::new(cells)?;
        let gateways: Vec<Pt> = (0..8)
            .map(|i| {
                let a = std::f64::consts::TAU * (i as f64 + 0.3) / 8.0;
                let rx = (region.2 - region.0) / 2.0 * 0.97;
                let ry = (region.3 - region.1) / 2.0 * 0.97;
                (centre.0 + rx * a.cos(), centre.1 + ry * a.sin())
            })
            .collect();
        let tourist_spots: Vec<Pt> =
            [(-1.5500, 47.2160), (-1.5630, 47.2130), (-1.5640, 47.2065), (-1.5510, 47.2180), (-1.5580, 47.2110)]
                .iter()
                .map(|&(lo, la)| f.to_xy(lo, la))
                .collect();
        let raster = ZoneRaster::new(&zones, territory, 100.0);
        let site_index = SiteIndex::new(&sites, region, 1_000.0);
        Ok(World {
            zones_geojson: zones_to_geojson(&zs),
            zones,
            cells,
            sites,
            site_cells,
            cell_key,
            territory,
            region,
            gateways,
            tourist_spots,
            job_parks,
            home_grid,
            job_grid,
            raster,
            site_index,
        })
    }

    pub fn sample_home(&self, rng: &mut Rng) -> Pt {
        self.home_grid.sample(rng)
    }

    pub fn sample_job(&self, rng: &mut Rng) -> Pt {
        self.job_grid.sample(rng)
    }

    pub fn inside(&self, p: Pt) -> bool {
        let t = self.territory;
        p.0 >= t.0 && p.0 <= t.2 && p.1 >= t.1 && p.1 <= t.3
    }

    /// Clamps a point into the region.
    pub fn clamp(&self, p: Pt) -> Pt {
        let r = self.region;
        (p.0.clamp(r.0 + 1.0, r.2 - 1.0), p.1.clamp(r.1 + 1.0, r.3 - 1.0))
    }

    /// Zone index of a point, or `None` outside the territory.
    pub fn zone_of(&self, p: Pt) -> Option<usize> {
        self.raster.zone(&self.zones, p)
    }

    /// The serving cell (nearest site, sector facing the point) and the runner-up (second
    /// nearest site), which phones flip to now and then.
    pub fn serving(&self, p: Pt) -> (u32, u32) {
        let (a, b) = self.site_index.nearest2(&self.sites, p);
        (self.sector(a, p), self.sector(b, p))
    }

    fn sector(&self, site: u32, p: Pt) -> u32 {
        let s = self.sites[site as usize];
        let bearing = (90.0 - (p.1 - s.1).atan2(p.0 - s.0).to_degrees()).rem_euclid(360.0);
        self.site_cells[site as usize]
            .iter()
            .min_by(|x, y| angle_diff(x.1, bearing).total_cmp(&angle_diff(y.1, bearing)))
            .map(|x| x.0)
            .unwrap_or(0)
    }

    pub fn start_date(s: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
    }
}

fn angle_diff(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(360.0);
    d.min(360.0 - d)
}

impl ZoneRaster {
    fn new(zones: &ZoneSet, t: (f64, f64, f64, f64), step: f64) -> Self {
        let nx = ((t.2 - t.0) / step).ceil() as usize;
        let ny = ((t.3 - t.1) / step).ceil() as usize;
        let mut cell = Vec::with_capacity(nx * ny);
        for j in 0..ny {
            for i in 0..nx {
                let (x, y) = (t.0 + i as f64 * step, t.1 + j as f64 * step);
                let corners =
                    [(x, y), (x + step, y), (x, y + step), (x + step, y + step), (x + step / 2.0, y + step / 2.0)];
                let zs: Vec<Option<usize>> = corners.iter().map(|&p| zones.locate(p)).collect();
                cell.push(if zs.iter().all(|z| *z == zs[0]) { zs[0].map(|z| z as u16).unwrap_or(NONE) } else { MIXED });
            }
        }
        ZoneRaster { x0: t.0, y0: t.1, step, nx, ny, cell }
    }

    fn zone(&self, zones: &ZoneSet, p: Pt) -> Option<usize> {
        let i = ((p.0 - self.x0) / self.step).floor();
        let j = ((p.1 - self.y0) / self.step).floor();
        if i < 0.0 || j < 0.0 || i >= self.nx as f64 || j >= self.ny as f64 {
            return None;
        }
        match self.cell[j as usize * self.nx + i as usize] {
            MIXED => zones.locate(p),
            NONE => None,
            z => Some(z as usize),
        }
    }
}

fn zones_to_geojson(zs: &[Zone]) -> String {
    let feats: Vec<serde_json::Value> = zs
        .iter()
        .map(|z| {
            let polys: Vec<serde_json::Value> = z
                .polygons
                .iter()
                .map(|p| {
                    serde_json::json!(
                        p.rings.iter().map(|r| r.iter().map(|&(a, b)| [a, b]).collect::<Vec<_>>()).collect::<Vec<_>>()
                    )
                })
                .collect();
            serde_json::json!({
                "type": "Feature",
                "properties": {"id": z.id, "name": z.name},
                "geometry": {"type": "MultiPolygon", "coordinates": polys},
            })
        })
        .collect();
    serde_json::json!({"type": "FeatureCollection", "features": feats}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_has_58_zones_and_the_cells_asked_for() {
        let w = World::new(300, 1).unwrap();
        assert_eq!(w.zones.len(), 58);
        assert_eq!(w.cells.len(), 300);
        let total: f64 = w.zones.zones.iter().map(|z| z.area_m2).sum::<f64>() / 1e6;
        assert!((550.0..650.0).contains(&total), "{total}");
        // The raster agrees with the polygons.
        let mut rng = Rng::new(2);
        for _ in 0..2000 {
            let p = (rng.range(w.territory.0, w.territory.2), rng.range(w.territory.1, w.territory.3));
            assert_eq!(w.zone_of(p), w.zones.locate(p));
        }
        assert_eq!(w.zone_of((w.region.0 + 10.0, w.region.1 + 10.0)), None);
        // Serving cells belong to nearby sites.
        let p = w.sample_home(&mut rng);
        let (a, b) = w.serving(p);
        assert!(a < 300 && b < 300);
        // The zones file reads back.
        assert_eq!(ZoneSet::from_geojson(&w.zones_geojson).unwrap().len(), 58);
    }
}
