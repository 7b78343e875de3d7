//! The gazetteer: the places the city's people name, with a point, an uncertainty and the
//! district each falls in.
//!
//! It is built from GeoJSON files a deployer provides (the demo's are in `demo/nantes/`):
//! districts (polygons), places (points: squares, tram stops, landmarks, streets), streets
//! (lines), plus an alias file for the names people use that are not official names, and
//! for names that are also common words (`Commerce`, `Bretagne`) and count only after a
//! context word (`arrêt Commerce`). Every name is normalised like posts are.

mod load;

pub use load::GazetteerFiles;

use vigie_model::geo::Zone;

/// What a place is; sets its default uncertainty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlaceKind {
    Square,
    TramStop,
    Landmark,
    Street,
    TramLine,
    District,
    Area,
}

impl PlaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceKind::Square => "square",
            PlaceKind::TramStop => "tram_stop",
            PlaceKind::Landmark => "landmark",
            PlaceKind::Street => "street",
            PlaceKind::TramLine => "tram_line",
            PlaceKind::District => "district",
            PlaceKind::Area => "area",
        }
    }

    pub fn parse(s: &str) -> Option<PlaceKind> {
        Some(match s {
            "square" => PlaceKind::Square,
            "tram_stop" => PlaceKind::TramStop,
            "landmark" => PlaceKind::Landmark,
            "street" => PlaceKind::Street,
            "tram_line" => PlaceKind::TramLine,
            "district" => PlaceKind::District,
            "area" => PlaceKind::Area,
            _ => return None,
        })
    }

    /// Radius within which a mention of such a place puts the event, metres.
    pub fn default_uncertainty_m(self) -> f64 {
        match self {
            PlaceKind::Square => 80.0,
            PlaceKind::TramStop => 60.0,
            PlaceKind::Landmark => 120.0,
            PlaceKind::Street => 250.0,
            PlaceKind::TramLine => 3000.0,
            PlaceKind::District | PlaceKind::Area => 800.0,
        }
    }
}

/// A named place.
#[derive(Debug, Clone)]
pub struct Place {
    /// Stable id (`place-du-commerce`), used in detections.
    pub id: String,
    pub name: String,
    pub kind: PlaceKind,
    pub lon: f64,
    pub lat: f64,
    pub uncertainty_m: f64,
    /// Index into [`Gazetteer::districts`]; `None` for places spanning districts.
    pub district: Option<u16>,
}

#[derive(Debug, Clone)]
pub struct District {
    pub id: String,
    pub name: String,
    pub zone: Zone,
    pub lon: f64,
    pub lat: f64,
    /// Distance from the centre to the farthest vertex, metres.
    pub radius_m: f64,
}

/// One normalised form of a place's name.
#[derive(Debug, Clone)]
pub struct Alias {
    pub form: String,
    pub place: u16,
    /// Counts only right after a context word (`arret`, `station`, `tram`…).
    pub needs_context: bool,
}

#[derive(Debug, Clone)]
pub struct Gazetteer {
    pub places: Vec<Place>,
    pub districts: Vec<District>,
    pub aliases: Vec<Alias>,
    /// Normalised context words for names that are also common words.
    pub context_words: Vec<String>,
    /// The centre of the covered area and its radius (where a post about the city, with
    /// no place, is put).
    pub centre: (f64, f64, f64),
}

impl Gazetteer {
    /// The district containing a point.
    pub fn district_of(&self, lon: f64, lat: f64) -> Option<u16> {
        self.districts.iter().position(|d| d.zone.contains(lon, lat)).map(|i| i as u16)
    }

    pub fn place_by_id(&self, id: &str) -> Option<u16> {
        self.places.iter().position(|p| p.id == id).map(|i| i as u16)
    }

    pub fn district_by_id(&self, id: &str) -> Option<u16> {
        self.districts.iter().position(|d| d.id == id).map(|i| i as u16)
    }
}

/// `Place du Maréchal Foch` → `place-du-marechal-foch`.
pub fn slug(name: &str) -> String {
    crate::text::normalize(name).words().collect::<Vec<_>>().join("-")
}
