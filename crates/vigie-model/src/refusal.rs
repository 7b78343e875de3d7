//! Why a detection was refused: a bounded set of reasons, used as a metric label.

use serde::Serialize;

/// The reason a detection was refused. Bounded: each is a label of
/// `vigie_ingest_detections_refused_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// Not JSON at all, or truncated.
    MalformedJson,
    /// JSON, but a missing or unknown field or a wrong type.
    SchemaViolation,
    InvalidId,
    InvalidSensor,
    UnknownKind,
    InvalidTime,
    TimeInFuture,
    TimeTooOld,
    InvalidLocation,
    InvalidConfidence,
    InvalidAttributes,
    InvalidEvidence,
    TooLarge,
    /// The sensor is not declared in the hub's config.
    UnknownSensor,
    /// The MQTT topic names another sensor than the payload.
    SensorMismatch,
    /// The sensor is declared, but does not run this analytic.
    AnalyticNotConfigured,
    /// No authorization in force covers this analytic on this sensor at this time.
    Unauthorized,
    /// The device token it came with does not cover its sensor.
    SensorNotInToken,
}

impl RefusalReason {
    pub const ALL: &'static [RefusalReason] = &[
        RefusalReason::MalformedJson,
        RefusalReason::SchemaViolation,
        RefusalReason::InvalidId,
        RefusalReason::InvalidSensor,
        RefusalReason::UnknownKind,
        RefusalReason::InvalidTime,
        RefusalReason::TimeInFuture,
        RefusalReason::TimeTooOld,
        RefusalReason::InvalidLocation,
        RefusalReason::InvalidConfidence,
        RefusalReason::InvalidAttributes,
        RefusalReason::InvalidEvidence,
        RefusalReason::TooLarge,
        RefusalReason::UnknownSensor,
        RefusalReason::SensorMismatch,
        RefusalReason::AnalyticNotConfigured,
        RefusalReason::Unauthorized,
        RefusalReason::SensorNotInToken,
    ];

    /// The reasons [`crate::decode`] itself gives (the contract); the others come from the
    /// hub's config (unknown sensor, analytic not configured, unauthorized, topic mismatch).
    pub const CONTRACT: &'static [RefusalReason] = &[
        RefusalReason::MalformedJson,
        RefusalReason::SchemaViolation,
        RefusalReason::InvalidId,
        RefusalReason::InvalidSensor,
        RefusalReason::UnknownKind,
        RefusalReason::InvalidTime,
        RefusalReason::TimeInFuture,
        RefusalReason::TimeTooOld,
        RefusalReason::InvalidLocation,
        RefusalReason::InvalidConfidence,
        RefusalReason::InvalidAttributes,
        RefusalReason::InvalidEvidence,
        RefusalReason::TooLarge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::MalformedJson => "malformed_json",
            RefusalReason::SchemaViolation => "schema_violation",
            RefusalReason::InvalidId => "invalid_id",
            RefusalReason::InvalidSensor => "invalid_sensor",
            RefusalReason::UnknownKind => "unknown_kind",
            RefusalReason::InvalidTime => "invalid_time",
            RefusalReason::TimeInFuture => "time_in_future",
            RefusalReason::TimeTooOld => "time_too_old",
            RefusalReason::InvalidLocation => "invalid_location",
            RefusalReason::InvalidConfidence => "invalid_confidence",
            RefusalReason::InvalidAttributes => "invalid_attributes",
            RefusalReason::InvalidEvidence => "invalid_evidence",
            RefusalReason::TooLarge => "too_large",
            RefusalReason::UnknownSensor => "unknown_sensor",
            RefusalReason::SensorMismatch => "sensor_mismatch",
            RefusalReason::AnalyticNotConfigured => "analytic_not_configured",
            RefusalReason::Unauthorized => "unauthorized",
            RefusalReason::SensorNotInToken => "sensor_not_in_token",
        }
    }
}

/// A refused detection: the reason (bounded) and a human detail naming the field.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{reason}: {detail}", reason = reason.as_str())]
pub struct Refusal {
    pub reason: RefusalReason,
    pub detail: String,
}

impl Refusal {
    pub fn new(reason: RefusalReason, detail: impl Into<String>) -> Self {
        Refusal { reason, detail: detail.into() }
    }
}
