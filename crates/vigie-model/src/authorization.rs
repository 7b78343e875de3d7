//! Legal authorizations (property 4): each analytic on each sensor runs under an
//! authorization — a prefectoral order or a council decision — with a perimeter (sensors),
//! the analytics it allows, and a start and an end. Outside it, detections are refused.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::SensorId;
use crate::kind::Kind;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Authorization {
    /// The act's reference, e.g. "Arrêté préfectoral n° 44-2026-0142".
    pub reference: String,
    pub sensors: Vec<SensorId>,
    pub analytics: Vec<Kind>,
    /// In force from `start` (inclusive) to `end` (exclusive), UTC.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Authorization {
    pub fn in_force(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// Whether it allows `kind` on `sensor` at `at`.
    pub fn covers(&self, sensor: &SensorId, kind: Kind, at: DateTime<Utc>) -> bool {
        self.in_force(at) && self.analytics.contains(&kind) && self.sensors.contains(sensor)
    }
}
