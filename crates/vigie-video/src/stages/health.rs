//! Stage `health`: the camera's state, published on `vigie/v1/status/{sensor}` (never as
//! images). `offline` becomes `system.sensor_offline` at the hub; `video.tamper` (covered,
//! defocused, moved) is a detection of its own (see `rules::tamper`).

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Frames arrive (the first frame of each connection).
    Online,
    /// The input failed, stalled or ended; reconnection is under way for live inputs.
    Offline,
    /// The decoder reported corrupt packets; analysis goes on.
    Corrupt,
    /// The object detector failed on a frame; the motion rules go on.
    DetectorError,
    /// An evidence snapshot could not be written; the detection went without it.
    EvidenceError,
    /// Outside the camera's authorization: analytics do not run (property 4).
    Unauthorized,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Online => "online",
            HealthStatus::Offline => "offline",
            HealthStatus::Corrupt => "corrupt",
            HealthStatus::DetectorError => "detector_error",
            HealthStatus::EvidenceError => "evidence_error",
            HealthStatus::Unauthorized => "unauthorized",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthEvent {
    pub sensor: String,
    pub time: DateTime<Utc>,
    pub status: HealthStatus,
    pub detail: String,
}
