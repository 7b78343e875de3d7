//! The Vigie contract: what crosses between the edge analytics, the hub and the people.
//!
//! This crate holds types only (no I/O runtime, no SQL): detections and their validation
//! against contract v1, sensors, zones, incidents and their state machine, the one TOML
//! config, and small geo helpers. Every producer and the hub decode through
//! [`detection::decode`], and the JSON Schema in `schema/` is checked against it by tests.

pub mod authorization;
pub mod config;
pub mod detection;
pub mod geo;
pub mod ids;
pub mod incident;
pub mod kind;
pub mod refusal;
pub mod sensor;
pub mod telemetry;

pub use authorization::Authorization;
pub use detection::{Detection, Evidence, Location, decode};
pub use ids::{DetectionId, IdError, IncidentId, SensorId};
pub use incident::{Incident, IncidentAction, IncidentEvent, IncidentState, Outcome, Priority};
pub use kind::Kind;
pub use refusal::{Refusal, RefusalReason};
pub use sensor::{Sensor, SensorType};
pub use telemetry::{FixRefusal, FixRefusalReason, PositionFix, TELEMETRY_TOPIC_PREFIX, Track, TrackPosition};

/// The contract v1 as a JSON Schema (draft 2020-12).
pub const DETECTION_SCHEMA_V1: &str = include_str!("../schema/detection.v1.schema.json");

/// MQTT topic prefix on which producers publish detections: `vigie/v1/detections/{sensor}`.
pub const DETECTION_TOPIC_PREFIX: &str = "vigie/v1/detections/";
/// MQTT topic prefix of sensor health (retained, last will "offline").
pub const STATUS_TOPIC_PREFIX: &str = "vigie/v1/status/";
/// MQTT topic prefix on which the hub publishes incident changes: `vigie/v1/incidents/{id}`.
pub const INCIDENT_TOPIC_PREFIX: &str = "vigie/v1/incidents/";
