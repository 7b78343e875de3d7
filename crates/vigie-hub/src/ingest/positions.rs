//! Where mobile sensors are: the recent fixes of each one in memory (bounded), used to
//! place its detections at their time, and the live `sensor_position` events (at most one
//! per second per sensor).
//!
//! A fix is held in memory as soon as it passes its checks (so the next line of the same
//! batch is checked against it), stored before the producer is answered, and forgotten
//! again if the store fails.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use serde_json::value::RawValue;
use vigie_model::config::Config;
use vigie_model::detection::MAX_UNCERTAINTY_M;
use vigie_model::telemetry::PositionMethod;
use vigie_model::{Detection, FixRefusal, FixRefusalReason, Location, PositionFix, SensorId, Track};

use crate::store::{Store, StoreError};

/// Fixes kept per mobile sensor: an hour at one fix per second.
pub const TRACK_CAPACITY: usize = 3600;
/// The live stream tells a sensor's moves at most this often.
const LIVE_EVERY: StdDuration = StdDuration::from_secs(1);

/// Where a detection's location came from, as written in its `position_source` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionSource {
    Telemetry,
    Producer,
}

impl PositionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PositionSource::Telemetry => "telemetry",
            PositionSource::Producer => "producer",
        }
    }
}

pub(crate) struct Positions {
    tracks: Mutex<HashMap<SensorId, Track>>,
    last_live: Mutex<HashMap<SensorId, Instant>>,
    max_gap: Duration,
    max_speed_mps: f64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Positions {
    /// Tracks of the config's mobile sensors, rebuilt from their newest stored fixes.
    pub fn load(config: &Config, store: &dyn Store) -> Result<Positions, StoreError> {
        let mut tracks = HashMap::new();
        for s in config.sensors.iter().filter(|s| s.mobile) {
            let mut track = Track::new(TRACK_CAPACITY);
            for f in store.registry().latest_positions(s.id.as_str(), TRACK_CAPACITY as u32)? {
                track.insert(f);
            }
            tracks.insert(s.id.clone(), track);
        }
        Ok(Positions {
            tracks: Mutex::new(tracks),
            last_live: Mutex::default(),
            max_gap: Duration::seconds(config.ingest.position_max_gap_secs as i64),
            max_speed_mps: config.ingest.max_speed_mps,
        })
    }

    /// Checks a decoded fix against the sensor's track and holds it. Returns whether it
    /// is new in memory (`false`: a redelivery).
    pub fn hold(&self, sensor: &SensorId, fix: PositionFix) -> Result<bool, FixRefusal> {
        let mut tracks = lock(&self.tracks);
        let Some(track) = tracks.get_mut(sensor) else {
            return Err(FixRefusal::new(FixRefusalReason::NotMobile, format!("sensor {sensor} is not mobile")));
        };
        if track.contains(fix.time) {
            return Ok(false);
        }
        track.check_jump(&fix, self.max_speed_mps)?;
        Ok(track.insert(fix))
    }

    /// Forgets fixes held but not stored (the store failed; the producer resends).
    pub fn forget(&self, sensor: &SensorId, times: &[DateTime<Utc>]) {
        if let Some(track) = lock(&self.tracks).get_mut(sensor) {
            for t in times {
                track.remove(*t);
            }
        }
    }

    /// The newest fix of a mobile sensor.
    pub fn latest(&self, sensor: &SensorId) -> Option<PositionFix> {
        lock(&self.tracks).get(sensor).and_then(|t| t.latest().copied())
    }

    /// The newest fix, if the live stream may tell it now (throttled per sensor).
    pub fn live_update(&self, sensor: &SensorId) -> Option<PositionFix> {
        let now = Instant::now();
        let mut last = lock(&self.last_live);
        if last.get(sensor).is_some_and(|t| now.duration_since(*t) < LIVE_EVERY) {
            return None;
        }
        let fix = self.latest(sensor)?;
        last.insert(sensor.clone(), now);
        Some(fix)
    }

    /// Places a mobile sensor's detection at the track's position at its time, and says so
    /// in its attributes (`position_source`, and `position_gap_ms` from the nearest fix).
    /// Without a fix near enough, the producer's location stays.
    pub fn resolve(&self, d: &mut Detection) -> PositionSource {
        let found = lock(&self.tracks).get(&d.sensor).and_then(|t| t.position_at(d.time, self.max_gap));
        let mut extra = vec![];
        let source = match found {
            Some(p) => {
                // The producer's own radius (the event may be some way ahead of the camera)
                // adds to where the camera was.
                let radius = p.uncertainty_m + d.location.uncertainty_m.unwrap_or(0.0);
                d.location = Location { lon: p.lon, lat: p.lat, uncertainty_m: Some(radius.min(MAX_UNCERTAINTY_M)) };
                extra.push(("position_gap_ms", serde_json::json!(p.gap_ms)));
                extra.push((
                    "position_method",
                    serde_json::json!(match p.method {
                        PositionMethod::Interpolated => "interpolated",
                        PositionMethod::Nearest => "nearest",
                    }),
                ));
                PositionSource::Telemetry
            }
            None => PositionSource::Producer,
        };
        extra.push(("position_source", serde_json::json!(source.as_str())));
        match with_attributes(&d.attributes, extra) {
            Ok(a) => d.attributes = a,
            Err(e) => tracing::warn!(sensor = %d.sensor, error = %e, "cannot mark the position source"),
        }
        source
    }
}

/// The attributes object with these keys set (replacing the producer's, if any).
fn with_attributes(
    attributes: &RawValue,
    extra: Vec<(&'static str, serde_json::Value)>,
) -> Result<Box<RawValue>, serde_json::Error> {
    let mut map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(attributes.get())?;
    for (k, v) in extra {
        map.insert(k.to_owned(), v);
    }
    RawValue::from_string(serde_json::to_string(&map)?)
}
