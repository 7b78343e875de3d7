//! The live stream: accepted detections, incident changes and mobile sensors' moves, fanned out to the API's
//! server-sent events and to MQTT `vigie/v1/incidents/{id}`.

use serde::Serialize;
use vigie_model::{Detection, DetectionId, Incident, PositionFix, SensorId};

/// How an incident changed, as Frigate names its events: `new`, `update`, `end` under one id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    New,
    Update,
    End,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    Detection {
        detection: Detection,
    },
    Incident {
        change: Change,
        incident: Incident,
        /// The detection that caused this change, if one did.
        #[serde(skip_serializing_if = "Option::is_none")]
        cause: Option<DetectionId>,
    },
    /// A mobile sensor moved (at most once a second per sensor).
    SensorPosition {
        sensor: SensorId,
        position: PositionFix,
    },
}

impl LiveEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            LiveEvent::Detection { .. } => "detection",
            LiveEvent::Incident { .. } => "incident",
            LiveEvent::SensorPosition { .. } => "sensor_position",
        }
    }
}
