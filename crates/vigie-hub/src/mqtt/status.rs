//! Sensor status messages: `offline` from a declared sensor becomes a
//! `system.sensor_offline` detection at the sensor's place.

use vigie_model::{Detection, DetectionId, Kind, Location, STATUS_TOPIC_PREFIX, SensorId};

use crate::ingest::Ingest;

pub(crate) fn on_status(ingest: &Ingest, topic: &str, payload: &[u8]) {
    let Some(sensor) = topic.strip_prefix(STATUS_TOPIC_PREFIX).and_then(|s| SensorId::new(s).ok()) else {
        return;
    };
    let Some(declared) = ingest.config().sensor(sensor.as_str()) else {
        tracing::debug!(sensor = %sensor, "status from an undeclared sensor ignored");
        return;
    };
    let status = String::from_utf8_lossy(payload).trim().chars().take(32).collect::<String>();
    let now = ingest.now();
    let previous = ingest.activity().status(&sensor, &status, now);
    if status == "offline" && previous.as_deref() != Some("offline") {
        tracing::warn!(sensor = %sensor, "sensor went offline");
        let attributes = serde_json::json!({ "previous_status": previous }).to_string();
        // A mobile sensor went offline where it last was, not at its home.
        let (lon, lat) = ingest.sensor_position(&sensor).map_or((declared.lon, declared.lat), |p| (p.lon, p.lat));
        ingest.submit_internal(Detection {
            id: DetectionId::generate(),
            sensor: sensor.clone(),
            kind: Kind::SystemSensorOffline,
            time: now,
            location: Location { lon, lat, uncertainty_m: None },
            confidence: 1.0,
            attributes: serde_json::value::RawValue::from_string(attributes)
                .unwrap_or_else(|_| serde_json::value::RawValue::from_string("{}".into()).expect("valid JSON")),
            evidence: vec![],
        });
    }
}
