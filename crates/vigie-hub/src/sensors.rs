//! What the hub knows of each sensor's activity: last detection, MQTT status.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;
use vigie_model::SensorId;

/// A sensor's reported health (`vigie/v1/status/{sensor}`, retained, last will "offline").
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SensorHealth {
    pub last_detection: Option<DateTime<Utc>>,
    /// Last status the sensor published: `online`, `offline`, or its own word.
    pub status: Option<String>,
    pub status_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct SensorActivity {
    by_sensor: Mutex<HashMap<SensorId, SensorHealth>>,
}

impl SensorActivity {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<SensorId, SensorHealth>) -> R) -> R {
        f(&mut self.by_sensor.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn detections_seen<'a>(&self, seen: impl Iterator<Item = (&'a SensorId, DateTime<Utc>)>) {
        self.with(|m| {
            for (s, t) in seen {
                let h =
                    m.entry(s.clone()).or_insert(SensorHealth { last_detection: None, status: None, status_at: None });
                if h.last_detection.is_none_or(|l| l < t) {
                    h.last_detection = Some(t);
                }
            }
        })
    }

    /// Records a status; returns the previous one.
    pub fn status(&self, s: &SensorId, status: &str, at: DateTime<Utc>) -> Option<String> {
        self.with(|m| {
            let h = m.entry(s.clone()).or_insert(SensorHealth { last_detection: None, status: None, status_at: None });
            h.status_at = Some(at);
            h.status.replace(status.to_owned())
        })
    }

    pub fn get(&self, s: &SensorId) -> Option<SensorHealth> {
        self.with(|m| m.get(s).cloned())
    }

    pub fn all(&self) -> HashMap<SensorId, SensorHealth> {
        self.with(|m| m.clone())
    }
}
