//! Sensors as declared in the config: what they are, where, and which analytics they run.

use serde::{Deserialize, Serialize};

use crate::ids::SensorId;
use crate::kind::Kind;

/// The family of a sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorType {
    Camera,
    Microphone,
    Flows,
    Social,
    Citizen,
}

impl SensorType {
    pub fn as_str(self) -> &'static str {
        match self {
            SensorType::Camera => "camera",
            SensorType::Microphone => "microphone",
            SensorType::Flows => "flows",
            SensorType::Social => "social",
            SensorType::Citizen => "citizen",
        }
    }

    /// The kind namespace this family may produce.
    pub fn namespace(self) -> &'static str {
        match self {
            SensorType::Camera => "video",
            SensorType::Microphone => "audio",
            SensorType::Flows => "flows",
            SensorType::Social => "social",
            SensorType::Citizen => "citizen",
        }
    }
}

/// A camera's field of view, for the map.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FieldOfView {
    pub heading_deg: f64,
    pub fov_deg: f64,
    pub range_m: f64,
}

/// A checked sensor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sensor {
    pub id: SensorId,
    #[serde(rename = "type")]
    pub sensor_type: SensorType,
    pub name: String,
    pub lon: f64,
    pub lat: f64,
    /// District containing the sensor, when the config has districts.
    pub district: Option<String>,
    pub analytics: Vec<Kind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_of_view: Option<FieldOfView>,
    /// A mobile sensor (drone, onboard camera): its position comes from telemetry over
    /// time, and `lon`/`lat` are only its home, used until a first fix.
    pub mobile: bool,
}

impl Sensor {
    pub fn runs(&self, kind: Kind) -> bool {
        self.analytics.contains(&kind)
    }
}
