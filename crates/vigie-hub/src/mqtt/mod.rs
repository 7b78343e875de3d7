//! MQTT: the embedded broker (default) or an external one, both feeding the same ingest.
//!
//! Topics (contract v1):
//! - `vigie/v1/detections/{sensor}` — producers publish detections, QoS 1. Acknowledged
//!   (PUBACK) only after the hub committed them.
//! - `vigie/v1/status/{sensor}` — sensors publish `online` (retained) and set last will
//!   `offline`; the hub turns `offline` into a `system.sensor_offline` detection.
//! - `vigie/v1/telemetry/{sensor}` — mobile sensors publish position fixes, QoS 1.
//!   Acknowledged only after the hub stored them (embedded broker and external one).
//! - `vigie/v1/incidents/{id}` — the hub publishes `{"type":"new"|"update"|"end","incident":…}`.

mod embedded;
mod external;
mod status;

pub use embedded::start_embedded;
pub use external::{ExternalBroker, ExternalClient, start_external};

use vigie_model::{INCIDENT_TOPIC_PREFIX, Incident};

use crate::live::{Change, LiveEvent};

/// The payload published for an incident change.
pub(crate) fn incident_message(event: &LiveEvent) -> Option<(String, Vec<u8>)> {
    #[derive(serde::Serialize)]
    struct Message<'a> {
        #[serde(rename = "type")]
        change: Change,
        incident: &'a Incident,
    }
    match event {
        LiveEvent::Incident { change, incident, .. } => {
            let payload = serde_json::to_vec(&Message { change: *change, incident }).ok()?;
            Some((format!("{INCIDENT_TOPIC_PREFIX}{}", incident.id), payload))
        }
        LiveEvent::Detection { .. } | LiveEvent::SensorPosition { .. } => None,
    }
}
