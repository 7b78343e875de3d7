//! Stage `emit`: an [`Anomaly`] becomes a contract-v1 detection at its zone — sensor
//! `<prefix><zone id>`, location the zone's centroid with an uncertainty that covers the
//! zone, time the episode's start. Its id is a ULID derived from (release, zone, metric,
//! direction, start), so running the same day again yields the same ids and the hub
//! treats a re-publication as a duplicate, never a new detection.

use std::hash::Hasher;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use siphasher::sip::SipHasher13;
use vigie_model::detection::MAX_UNCERTAINTY_M;
use vigie_model::{Detection, DetectionId, Kind, Location, SensorId};

use super::anomaly::{Anomaly, Direction, Metric};
use crate::error::FlowsError;
use crate::inputs::ZoneSet;

/// What a flows detection carries in `attributes`: published aggregates only.
#[derive(Debug, Clone, Serialize)]
pub struct AnomalyAttributes<'a> {
    pub zone: &'a str,
    pub zone_name: &'a str,
    pub metric: Metric,
    pub direction: Direction,
    pub start: String,
    pub end: String,
    pub peak_time: String,
    /// Published (extrapolated) value at the peak; absent when it was under k.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<u64>,
    pub baseline: u64,
    pub z: f64,
    pub baseline_weeks: usize,
    pub release: String,
    pub k: u32,
}

pub struct EmitContext<'a> {
    pub zones: &'a ZoneSet,
    pub sensor_prefix: &'a str,
    pub day: NaiveDate,
    pub day_start_utc: DateTime<Utc>,
    pub k: u32,
    pub z_threshold: f64,
}

pub fn to_detection(a: &Anomaly, cx: &EmitContext<'_>) -> Result<Detection, FlowsError> {
    let z = cx
        .zones
        .zones
        .iter()
        .find(|z| z.id == a.zone)
        .ok_or_else(|| FlowsError::Zones(format!("anomaly in unknown zone {:?}", a.zone)))?;
    let at = |step: usize| cx.day_start_utc + chrono::Duration::minutes((step as u32 * a.step_minutes) as i64);
    let (start, end, peak) = (at(a.start), at(a.end), at(a.peak_step));
    let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let kind = match a.metric {
        Metric::Presence => Kind::FlowsPresenceAnomaly,
        Metric::Arrivals | Metric::Departures => Kind::FlowsFlowAnomaly,
    };
    let attrs = AnomalyAttributes {
        zone: &z.id,
        zone_name: &z.name,
        metric: a.metric,
        direction: a.direction,
        start: fmt(start),
        end: fmt(end),
        peak_time: fmt(peak),
        estimate: a.peak_estimate,
        baseline: a.peak_baseline.round().max(0.0) as u64,
        z: (a.peak_z * 100.0).round() / 100.0,
        baseline_weeks: a.baseline_values,
        release: cx.day.to_string(),
        k: cx.k,
    };
    let text = serde_json::to_string(&attrs).map_err(|e| FlowsError::Config(e.to_string()))?;
    let attributes = serde_json::value::RawValue::from_string(text).map_err(|e| FlowsError::Config(e.to_string()))?;
    let sensor = SensorId::new(format!("{}{}", cx.sensor_prefix, z.id))
        .map_err(|e| FlowsError::Config(format!("zone {}: {e}", z.id)))?;
    // Deterministic id: the episode's start as the ULID time, a keyed hash of what the
    // episode is as its randomness.
    let mut h1 = SipHasher13::new_with_keys(0x7669_6769_6566_6c6f, 0x7773_2d61_6e6f_6d61);
    let key = format!("{}|{}|{:?}|{:?}|{}", cx.day, z.id, a.metric, a.direction, a.start);
    h1.write(key.as_bytes());
    let r1 = h1.finish();
    let mut h2 = SipHasher13::new_with_keys(r1, 0x6c79);
    h2.write(key.as_bytes());
    let rand = ((r1 as u128) << 16 | (h2.finish() as u128 & 0xffff)) & ((1u128 << 80) - 1);
    let id = DetectionId(ulid::Ulid::from_parts(start.timestamp_millis().max(0) as u64, rand));
    let zt = cx.z_threshold.max(1e-9);
    Ok(Detection {
        id,
        sensor,
        kind,
        time: start,
        location: Location {
            lon: z.centroid.0,
            lat: z.centroid.1,
            uncertainty_m: Some(z.radius_m.min(MAX_UNCERTAINTY_M).round().max(1.0)),
        },
        confidence: (a.peak_z.abs() / (a.peak_z.abs() + zt)).clamp(0.05, 0.99),
        attributes,
        evidence: Vec::new(),
    })
}
