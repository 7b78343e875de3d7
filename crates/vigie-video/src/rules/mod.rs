//! The events: one rule per file, each over the tracks, the zones and the motion map of
//! one camera, with its parameters (units in their names) beside it.
//!
//! The kinds are the eight events French law allows algorithmic video analysis to signal
//! (décret n° 2023-828, art. 3) plus camera health (`video.tamper`). No rule identifies
//! anyone: they see anonymous boxes, foreground pixels and colours.

pub mod abandoned_object;
pub mod crowd_density;
pub mod crowd_movement;
pub mod fire;
pub mod intrusion;
pub mod person_down;
pub mod tamper;
pub mod weapon;
pub mod wrong_way;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use vigie_model::Kind;

use crate::frame::MaskedFrame;
use crate::geometry::{BoxPx, GroundPlane, Point, Polygon, Raster};
use crate::stages::detector::ObjectBox;
use crate::stages::motion::MotionMap;
use crate::stages::track::Track;

/// What a zone is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    /// Entering it is an intrusion.
    Forbidden,
    /// Traffic must go in `direction_deg`; the other way is `video.wrong_way`.
    OneWay,
    /// Where crowd density and crowd movement are measured.
    Crowd,
}

/// A zone, checked: its polygon (relative image coordinates) and its ground area.
#[derive(Debug, Clone)]
pub struct Zone {
    pub name: String,
    pub kind: ZoneKind,
    pub polygon: Polygon,
    /// One-way zones: allowed direction of travel on the ground, degrees clockwise from north
    /// (or from image "up" without calibration).
    pub direction_deg: Option<f64>,
    /// Ground area (m²) when the camera is calibrated.
    pub area_m2: Option<f64>,
}

/// The camera's geometry: detect size, zones, ground plane, where it stands.
#[derive(Debug, Clone)]
pub struct View {
    pub width: u32,
    pub height: u32,
    pub zones: Vec<Zone>,
    pub ground: Option<GroundPlane>,
    pub lon: f64,
    pub lat: f64,
    rasters: Vec<Raster>,
}

impl View {
    pub fn new(width: u32, height: u32, zones: Vec<Zone>, ground: Option<GroundPlane>, lon: f64, lat: f64) -> View {
        let rasters = zones.iter().map(|z| z.polygon.raster(width, height)).collect();
        View { width, height, zones, ground, lon, lat, rasters }
    }

    /// Re-rasterises the zones at a new detect size.
    pub fn resize(&mut self, width: u32, height: u32) {
        if (width, height) != (self.width, self.height) {
            self.width = width;
            self.height = height;
            self.rasters = self.zones.iter().map(|z| z.polygon.raster(width, height)).collect();
        }
    }

    pub fn raster(&self, zone: usize) -> &Raster {
        &self.rasters[zone]
    }

    pub fn relative(&self, px: (f64, f64)) -> Point {
        Point::new(px.0 / self.width as f64, px.1 / self.height as f64)
    }

    /// Ground point (metres east, north of the camera) of a pixel.
    pub fn ground_of(&self, px: (f64, f64)) -> Option<Point> {
        self.ground.as_ref()?.ground(self.relative(px))
    }

    /// Where a box stands: its foot on the ground, else its foot in relative coordinates.
    pub fn position(&self, b: &BoxPx) -> Position {
        let foot = b.foot_px();
        match self.ground_of(foot) {
            Some(g) => Position::Ground(g),
            None => Position::Image(self.relative(foot)),
        }
    }

    /// Ground area covered by one detect pixel at `px`, m².
    pub fn pixel_area_m2(&self, px: (f64, f64)) -> Option<f64> {
        let g = self.ground.as_ref()?;
        let s = g.to_ground.area_scale(self.relative(px))?;
        Some(s / (self.width as f64 * self.height as f64))
    }

    /// Zones (indices) of a kind whose polygon holds the box's foot.
    pub fn zones_at(&self, b: &BoxPx, kind: ZoneKind) -> Vec<usize> {
        let p = self.relative(b.foot_px());
        self.zones.iter().enumerate().filter(|(_, z)| z.kind == kind && z.polygon.contains(p)).map(|(i, _)| i).collect()
    }

    /// Longitude/latitude of a position (ground metres added to the camera's position).
    pub fn lon_lat(&self, p: Position) -> (f64, f64) {
        match p {
            Position::Ground(g) => {
                let (m_lon, m_lat) = vigie_model::geo::metres_per_degree(self.lat);
                ((self.lon + g.x / m_lon).clamp(-180.0, 180.0), (self.lat + g.y / m_lat).clamp(-90.0, 90.0))
            }
            Position::Image(_) => (self.lon, self.lat),
        }
    }
}

/// A position in the scene: on the calibrated ground, or only in the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Position {
    Ground(Point),
    Image(Point),
}

impl Position {
    pub fn point(&self) -> Point {
        match self {
            Position::Ground(p) | Position::Image(p) => *p,
        }
    }
    pub fn is_ground(&self) -> bool {
        matches!(self, Position::Ground(_))
    }
}

/// What the rules see of one frame.
pub struct Scene<'a> {
    pub time: DateTime<Utc>,
    pub fps: f64,
    pub frame: &'a MaskedFrame,
    pub motion: &'a MotionMap,
    pub tracks: &'a [Track],
    /// Boxes from the object detector on this frame's motion regions (empty without one).
    pub objects: &'a [ObjectBox],
    /// The detector ran on this frame.
    pub detector_ran: bool,
    pub view: &'a View,
}

/// A rule's finding, before it becomes a contract detection.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: Kind,
    pub time: DateTime<Utc>,
    pub confidence: f64,
    pub position: Position,
    /// Where to draw in the evidence (detect pixels).
    pub bbox: Option<BoxPx>,
    /// Kind-specific facts: measurements only, never an identifier of a person or a track.
    pub attributes: Map<String, Value>,
}

impl Event {
    pub fn new(kind: Kind, time: DateTime<Utc>, confidence: f64, position: Position) -> Event {
        Event { kind, time, confidence: confidence.clamp(0.0, 1.0), position, bbox: None, attributes: Map::new() }
    }
    pub fn with_box(mut self, b: BoxPx) -> Event {
        self.bbox = Some(b);
        self
    }
    pub fn attr(mut self, key: &str, value: impl Into<Value>) -> Event {
        self.attributes.insert(key.to_owned(), value.into());
        self
    }
}

/// A rule: state over frames, events out.
pub trait Rule: Send {
    fn kind(&self) -> Kind;
    fn observe(&mut self, scene: &Scene<'_>) -> Vec<Event>;
    /// Forget state (after a reconnect or a camera move).
    fn reset(&mut self) {}
}

/// Speed of a track over the last `secs`, m/s on the ground (or relative units/s).
pub fn speed(view: &View, t: &Track, now: DateTime<Utc>, secs: f64) -> Option<(f64, Point)> {
    let past = t.sample_ago(now, secs)?;
    let dt = (now - past.time).num_milliseconds() as f64 / 1000.0;
    if dt <= 0.0 {
        return None;
    }
    let (a, b) = (view.position(&past.bbox).point(), view.position(&t.bbox).point());
    let d = Point::new(b.x - a.x, b.y - a.y);
    Some(((d.x * d.x + d.y * d.y).sqrt() / dt, Point::new(d.x / dt, d.y / dt)))
}

/// Recent events of one rule, so that one happening is one event even when its track
/// breaks in two (a person's legs the colour of the pavement, an occlusion): a new event
/// within `secs` and `metres` (ground, or tenths of the frame height) of one already
/// reported, in the same zone, is the same.
#[derive(Debug, Clone, Default)]
pub struct Recent {
    events: Vec<(DateTime<Utc>, Position, Option<usize>)>,
}

impl Recent {
    pub fn seen(
        &mut self,
        view: &View,
        time: DateTime<Utc>,
        at: Position,
        zone: Option<usize>,
        secs: f64,
        metres: f64,
    ) -> bool {
        self.events.retain(|(t, _, _)| secs_between(*t, time) <= secs);
        let hit = self.events.iter().any(|(_, p, z)| *z == zone && distance(view, *p, at) <= metres);
        if !hit {
            self.events.push((time, at, zone));
        }
        hit
    }

    pub fn clear(&mut self) {
        self.events.clear();
    }
}

/// Metres on the ground; without calibration, tenths of the frame height.
pub fn distance(view: &View, a: Position, b: Position) -> f64 {
    match (a, b) {
        (Position::Ground(a), Position::Ground(b)) => a.dist(b),
        (a, b) => {
            let aspect = view.width as f64 / view.height as f64;
            let (a, b) = (a.point(), b.point());
            (((a.x - b.x) * aspect).powi(2) + (a.y - b.y).powi(2)).sqrt() * 10.0
        }
    }
}

/// Rounds for attributes (stable, short JSON).
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Seconds between two times.
pub fn secs_between(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds() as f64 / 1000.0
}
