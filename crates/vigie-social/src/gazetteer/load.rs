//! Building a [`Gazetteer`] from GeoJSON files and an alias file (TOML).
//!
//! Alias file:
//! ```toml
//! context_words = ["arrêt", "station", "tram"]
//! [[alias]]
//! place = "Château des ducs de Bretagne"   # a place name, or "district:<id>"
//! forms = ["château des ducs", "le château"]
//! [[needs_context]]
//! place = "Commerce"                       # its own name counts only after a context word
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use vigie_model::geo::{haversine_m, zones_from_geojson};

use super::{Alias, District, Gazetteer, Place, PlaceKind, slug};
use crate::error::SocialError;
use crate::text::normalize;

/// Where the gazetteer's files are.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GazetteerFiles {
    /// Districts: GeoJSON Polygons with `id` and `name`.
    pub districts: PathBuf,
    /// Places: GeoJSON Points with `name`, `kind` (square, tram_stop, landmark, street…)
    /// and optionally `district` and `uncertainty_m`.
    pub places: PathBuf,
    /// Streets and tram lines: GeoJSON LineStrings with `name` and `class`.
    #[serde(default)]
    pub streets: Option<PathBuf>,
    /// Aliases and context rules (TOML).
    #[serde(default)]
    pub aliases: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AliasFile {
    #[serde(default)]
    context_words: Vec<String>,
    #[serde(default)]
    alias: Vec<AliasEntry>,
    #[serde(default)]
    needs_context: Vec<ContextEntry>,
    #[serde(default)]
    area: Vec<AreaEntry>,
}

/// A named area that is not a district and spans several (`Île de Nantes`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AreaEntry {
    name: String,
    lon: f64,
    lat: f64,
    uncertainty_m: f64,
    forms: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AliasEntry {
    place: String,
    forms: Vec<String>,
    #[serde(default)]
    needs_context: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextEntry {
    place: String,
}

/// Most places in a gazetteer (ids are `u16`).
const MAX_PLACES: usize = 60_000;

fn read(path: &Path) -> Result<String, SocialError> {
    let meta = std::fs::metadata(path).map_err(|e| SocialError::Read { path: path.to_owned(), source: e })?;
    if meta.len() > 256 * 1024 * 1024 {
        return Err(SocialError::Gazetteer(format!("{}: larger than 256 MiB", path.display())));
    }
    std::fs::read_to_string(path).map_err(|e| SocialError::Read { path: path.to_owned(), source: e })
}

impl GazetteerFiles {
    pub fn load(&self) -> Result<Gazetteer, SocialError> {
        let streets = self.streets.as_deref().map(read).transpose()?;
        let aliases = self.aliases.as_deref().map(read).transpose()?;
        Gazetteer::from_parts(&read(&self.districts)?, &read(&self.places)?, streets.as_deref(), aliases.as_deref())
    }
}

fn gz(msg: impl Into<String>) -> SocialError {
    SocialError::Gazetteer(msg.into())
}

fn features(text: &str, what: &str) -> Result<Vec<serde_json::Value>, SocialError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| gz(format!("{what}: not JSON: {e}")))?;
    match v.get("features").and_then(|f| f.as_array()) {
        Some(a) => Ok(a.clone()),
        None => Err(gz(format!("{what}: not a GeoJSON FeatureCollection"))),
    }
}

impl Gazetteer {
    /// Builds a gazetteer from the files' contents.
    pub fn from_parts(
        districts_geojson: &str,
        places_geojson: &str,
        streets_geojson: Option<&str>,
        aliases_toml: Option<&str>,
    ) -> Result<Gazetteer, SocialError> {
        let zones = zones_from_geojson(districts_geojson).map_err(|e| gz(format!("districts: {e}")))?;
        if zones.is_empty() {
            return Err(gz("districts: no district"));
        }
        let mut g = Gazetteer {
            places: Vec::new(),
            districts: Vec::new(),
            aliases: Vec::new(),
            context_words: Vec::new(),
            centre: (0.0, 0.0, 0.0),
        };
        for z in zones {
            let (lon, lat) = z.polygons.first().map(|p| p.vertex_centroid()).unwrap_or_default();
            let radius_m = z
                .polygons
                .iter()
                .flat_map(|p| p.rings.iter().flatten())
                .map(|&(x, y)| haversine_m(lon, lat, x, y))
                .fold(0.0, f64::max);
            g.districts.push(District { id: z.id.clone(), name: z.name.clone(), zone: z, lon, lat, radius_m });
        }
        let (mut sx, mut sy) = (0.0, 0.0);
        for d in &g.districts {
            sx += d.lon;
            sy += d.lat;
        }
        let n = g.districts.len() as f64;
        let (cx, cy) = (sx / n, sy / n);
        let r = g.districts.iter().map(|d| haversine_m(cx, cy, d.lon, d.lat) + d.radius_m).fold(0.0, f64::max);
        g.centre = (cx, cy, r);
        // Districts are places too (a post may name one).
        for (i, d) in g.districts.clone().iter().enumerate() {
            g.places.push(Place {
                id: format!("district:{}", d.id),
                name: d.name.clone(),
                kind: PlaceKind::District,
                lon: d.lon,
                lat: d.lat,
                uncertainty_m: d.radius_m.max(200.0),
                district: Some(i as u16),
            });
        }
        g.add_points(places_geojson)?;
        if let Some(s) = streets_geojson {
            g.add_lines(s)?;
        }
        // Every place's own name is a form (district names come from the alias file:
        // official names like "Bouffay – Château" are not what people write).
        for i in 0..g.places.len() {
            if g.places[i].kind != PlaceKind::District {
                let form = normalize(&g.places[i].name).text;
                g.push_alias(form, i as u16, false);
            }
        }
        if let Some(a) = aliases_toml {
            g.apply_aliases(a)?;
        }
        if g.places.len() > MAX_PLACES {
            return Err(gz(format!("{} places: at most {MAX_PLACES}", g.places.len())));
        }
        Ok(g)
    }

    fn push_alias(&mut self, form: String, place: u16, needs_context: bool) {
        if form.is_empty() {
            return;
        }
        if let Some(a) = self.aliases.iter_mut().find(|a| a.form == form && a.place == place) {
            a.needs_context |= needs_context;
            return;
        }
        self.aliases.push(Alias { form, place, needs_context });
    }

    fn add_points(&mut self, text: &str) -> Result<(), SocialError> {
        for (i, f) in features(text, "places")?.iter().enumerate() {
            let p = &f["properties"];
            let name = p["name"].as_str().ok_or_else(|| gz(format!("places: feature {i} has no name")))?;
            let kind_s = p["kind"].as_str().unwrap_or("landmark");
            let kind =
                PlaceKind::parse(kind_s).ok_or_else(|| gz(format!("places: {name:?}: unknown kind {kind_s:?}")))?;
            let c = &f["geometry"]["coordinates"];
            let (Some(lon), Some(lat)) = (c[0].as_f64(), c[1].as_f64()) else {
                return Err(gz(format!("places: {name:?} is not a Point with coordinates")));
            };
            if !((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)) {
                return Err(gz(format!("places: {name:?}: ({lon}, {lat}) is outside WGS 84 ranges")));
            }
            let district = match p["district"].as_str() {
                Some(id) => Some(
                    self.district_by_id(id).ok_or_else(|| gz(format!("places: {name:?}: unknown district {id:?}")))?,
                ),
                None => self.district_of(lon, lat),
            };
            let uncertainty_m = p["uncertainty_m"].as_f64().unwrap_or(kind.default_uncertainty_m());
            self.places.push(Place { id: slug(name), name: name.to_owned(), kind, lon, lat, uncertainty_m, district });
        }
        Ok(())
    }

    fn add_lines(&mut self, text: &str) -> Result<(), SocialError> {
        for (i, f) in features(text, "streets")?.iter().enumerate() {
            let p = &f["properties"];
            let name = p["name"].as_str().ok_or_else(|| gz(format!("streets: feature {i} has no name")))?;
            let class = p["class"].as_str().unwrap_or("secondary");
            let kind = match class {
                "primary" | "secondary" => PlaceKind::Street,
                "tram" => PlaceKind::TramLine,
                _ => continue,
            };
            if self.places.iter().any(|q| q.name == name) {
                continue;
            }
            let pts: Vec<(f64, f64)> = f["geometry"]["coordinates"]
                .as_array()
                .map(|a| a.iter().filter_map(|c| Some((c[0].as_f64()?, c[1].as_f64()?))).collect())
                .unwrap_or_default();
            if pts.is_empty() {
                return Err(gz(format!("streets: {name:?} has no coordinates")));
            }
            let n = pts.len() as f64;
            let (mx, my) = pts.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
            // The vertex nearest the mean lies on the line; the radius covers the line.
            let &(lon, lat) = pts
                .iter()
                .min_by(|a, b| haversine_m(mx, my, a.0, a.1).total_cmp(&haversine_m(mx, my, b.0, b.1)))
                .unwrap_or(&pts[0]);
            let reach = pts.iter().map(|&(x, y)| haversine_m(lon, lat, x, y)).fold(0.0, f64::max);
            let ds: Vec<Option<u16>> = pts.iter().map(|&(x, y)| self.district_of(x, y)).collect();
            let district = if ds.iter().all(|d| *d == ds[0]) { ds[0] } else { None };
            let id = slug(name);
            let idx = self.places.len() as u16;
            self.places.push(Place {
                id,
                name: name.to_owned(),
                kind,
                lon,
                lat,
                uncertainty_m: reach.max(kind.default_uncertainty_m().min(250.0)),
                district: if kind == PlaceKind::TramLine { None } else { district.or(self.district_of(lon, lat)) },
            });
            if kind == PlaceKind::TramLine
                && let Some(num) = name.rsplit(' ').next().filter(|s| s.chars().all(|c| c.is_ascii_digit()))
            {
                for form in [format!("ligne {num}"), format!("tram {num}"), format!("tramway {num}"), format!("l{num}")]
                {
                    self.push_alias(form, idx, false);
                }
            }
        }
        Ok(())
    }

    fn apply_aliases(&mut self, text: &str) -> Result<(), SocialError> {
        let file: AliasFile = toml::from_str(text).map_err(|e| gz(format!("aliases: {e}")))?;
        self.context_words = file.context_words.iter().map(|w| normalize(w).text).filter(|w| !w.is_empty()).collect();
        for a in &file.area {
            let position_ok = (-180.0..=180.0).contains(&a.lon) && (-90.0..=90.0).contains(&a.lat);
            let radius_ok = a.uncertainty_m > 0.0 && a.uncertainty_m <= vigie_model::detection::MAX_UNCERTAINTY_M;
            if !(position_ok && radius_ok) {
                return Err(gz(format!("aliases: area {:?}: position or uncertainty_m out of range", a.name)));
            }
            let idx = self.places.len() as u16;
            self.places.push(Place {
                id: slug(&a.name),
                name: a.name.clone(),
                kind: PlaceKind::Area,
                lon: a.lon,
                lat: a.lat,
                uncertainty_m: a.uncertainty_m,
                district: None,
            });
            self.push_alias(normalize(&a.name).text, idx, false);
            for f in &a.forms {
                self.push_alias(normalize(f).text, idx, false);
            }
        }
        let by_name: HashMap<String, u16> = self
            .places
            .iter()
            .enumerate()
            .map(|(i, p)| (if p.kind == PlaceKind::District { p.id.clone() } else { p.name.clone() }, i as u16))
            .collect();
        let find =
            |name: &str| by_name.get(name).copied().ok_or_else(|| gz(format!("aliases: unknown place {name:?}")));
        for a in &file.alias {
            let place = find(&a.place)?;
            for f in &a.forms {
                self.push_alias(normalize(f).text, place, a.needs_context);
            }
        }
        for c in &file.needs_context {
            let place = find(&c.place)?;
            let own = normalize(&self.places[place as usize].name).text;
            for a in self.aliases.iter_mut().filter(|a| a.place == place && a.form == own) {
                a.needs_context = true;
            }
        }
        if self.aliases.iter().any(|a| a.needs_context) && self.context_words.is_empty() {
            return Err(gz("aliases: names need context but context_words is empty"));
        }
        Ok(())
    }
}
