//! Stage `emit`: turns a classified event into a contract-v1 [`Detection`].
//!
//! The attributes are a fixed struct ([`EventAttributes`]): features and timing only, so a
//! waveform cannot slip into what leaves the sensor. A single sensor cannot place a source:
//! its detection sits at the sensor with `uncertainty_m` = its hearing radius; `locate`
//! replaces it by a point at the source when three sensors or more heard the event.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use vigie_model::{Detection, DetectionId, Kind, Location, SensorId};

use super::features::Features;

/// What a sensor-level audio detection carries in `attributes`.
#[derive(Debug, Clone, Serialize)]
pub struct EventAttributes<'a> {
    /// Onset (UTC, nanoseconds): the time difference of arrival input.
    pub onset_time: String,
    pub peak_db: f64,
    pub leq_db: f64,
    pub snr_db: f64,
    pub rise_ms: f64,
    pub duration_ms: f64,
    pub centroid_hz: f64,
    pub low_ratio: f64,
    pub high_ratio: f64,
    pub tonality_db: f64,
    pub dominant_hz: f64,
    pub sweep_hz: f64,
    pub band_levels_db: &'a [f32],
    pub sensor_lon: f64,
    pub sensor_lat: f64,
    /// The sensor's clock was disciplined within bounds at the onset.
    pub clock_ok: bool,
    pub classifier: &'a str,
}

/// The attributes `locate` reads back.
#[derive(Debug, Clone, Deserialize)]
pub struct OnsetAttributes {
    pub onset_time: String,
    pub sensor_lon: f64,
    pub sensor_lat: f64,
    #[serde(default = "yes")]
    pub clock_ok: bool,
    #[serde(default)]
    pub peak_db: Option<f64>,
}

fn yes() -> bool {
    true
}

/// One sensor's event, ready to emit.
#[derive(Debug, Clone)]
pub struct SensorEvent<'a> {
    pub sensor: &'a SensorId,
    pub lon: f64,
    pub lat: f64,
    pub onset: DateTime<Utc>,
    pub kind: Kind,
    pub confidence: f64,
    pub features: &'a Features,
    pub clock_ok: bool,
    pub hearing_radius_m: f64,
    pub classifier: &'a str,
}

pub fn to_detection(ev: &SensorEvent<'_>) -> Detection {
    let f = ev.features;
    let attrs = EventAttributes {
        onset_time: ev.onset.to_rfc3339_opts(SecondsFormat::Nanos, true),
        peak_db: f.peak_db,
        leq_db: f.leq_db,
        snr_db: f.snr_db,
        rise_ms: f.rise_ms,
        duration_ms: f.duration_ms,
        centroid_hz: f.centroid_hz,
        low_ratio: f.low_ratio,
        high_ratio: f.high_ratio,
        tonality_db: f.tonality_db,
        dominant_hz: f.dominant_hz,
        sweep_hz: f.sweep_hz,
        band_levels_db: &f.band_levels_db,
        sensor_lon: ev.lon,
        sensor_lat: ev.lat,
        clock_ok: ev.clock_ok,
        classifier: ev.classifier,
    };
    Detection {
        id: DetectionId::generate(),
        sensor: ev.sensor.clone(),
        kind: ev.kind,
        time: ev.onset,
        location: Location { lon: ev.lon, lat: ev.lat, uncertainty_m: Some(ev.hearing_radius_m) },
        confidence: ev.confidence.clamp(0.0, 1.0),
        attributes: raw_json(&attrs),
        evidence: Vec::new(),
    }
}

/// Serialises attributes (never fails for these plain structs; NaN become null).
pub fn raw_json<T: Serialize>(v: &T) -> Box<RawValue> {
    let text = serde_json::to_string(v).unwrap_or_else(|_| "{}".to_owned());
    RawValue::from_string(text).unwrap_or_else(|_| RawValue::from_string("{}".to_owned()).expect("literal json"))
}
