//! Stage `emit`: a rule's [`Event`] becomes a contract-v1 [`Detection`]: a fresh ULID, the
//! event's time, its place on the ground turned into longitude/latitude, and attributes
//! that hold measurements only (no track number, no image).

use serde_json::value::RawValue;
use vigie_model::{Detection, DetectionId, Evidence, Location, SensorId};

use crate::rules::{Event, View};

/// Where a detection is placed and how precisely.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Radius for events placed on the calibrated ground.
    pub location_uncertainty_m: f64,
    /// Radius for events placed at the camera (no calibration, or frame-wide events).
    pub view_radius_m: f64,
}

pub fn to_detection(
    sensor: &SensorId,
    view: &View,
    place: &Placement,
    ev: &Event,
    evidence: Vec<Evidence>,
) -> Detection {
    let (lon, lat) = view.lon_lat(ev.position);
    let uncertainty = if ev.position.is_ground() { place.location_uncertainty_m } else { place.view_radius_m };
    let text = serde_json::to_string(&ev.attributes).unwrap_or_else(|_| "{}".to_owned());
    let attributes =
        RawValue::from_string(text).unwrap_or_else(|_| RawValue::from_string("{}".to_owned()).expect("literal json"));
    Detection {
        id: DetectionId::generate(),
        sensor: sensor.clone(),
        kind: ev.kind,
        time: ev.time,
        location: Location {
            lon,
            lat,
            uncertainty_m: Some(uncertainty.clamp(0.0, vigie_model::detection::MAX_UNCERTAINTY_M)),
        },
        confidence: if ev.confidence.is_finite() { ev.confidence.clamp(0.0, 1.0) } else { 0.5 },
        attributes,
        evidence,
    }
}
