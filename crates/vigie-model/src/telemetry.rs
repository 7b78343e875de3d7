//! Position telemetry of mobile sensors (drones, onboard cameras): the fix a device
//! publishes, its checks, and a bounded track that answers "where was the sensor at that
//! moment" by interpolating between fixes.
//!
//! A fix is the position of a *sensor*, never of a person: the hub accepts fixes only for
//! sensors the config declares `mobile = true`.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::detection::{TimeBounds, TimeProblem, check_coordinates};
use crate::geo::haversine_m;

/// MQTT topic prefix on which mobile sensors publish their fixes: `vigie/v1/telemetry/{sensor}`.
pub const TELEMETRY_TOPIC_PREFIX: &str = "vigie/v1/telemetry/";
/// A fix is a few numbers; anything larger is not one.
pub const MAX_FIX_BYTES: usize = 1024;
/// Accuracy assumed for a fix that gives none, metres (a consumer GNSS receiver).
pub const DEFAULT_FIX_ACCURACY_M: f64 = 10.0;
const MAX_ACCURACY_M: f64 = 10_000.0;
const MAX_SPEED_MPS: f64 = 1000.0;

/// One position of a mobile sensor at one time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PositionFix {
    pub time: DateTime<Utc>,
    pub lon: f64,
    pub lat: f64,
    /// Direction the sensor faces, degrees clockwise from north.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heading_deg: Option<f64>,
    /// Radius of the fix's uncertainty, metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed_mps: Option<f64>,
}

impl PositionFix {
    fn accuracy(&self) -> f64 {
        self.accuracy_m.unwrap_or(DEFAULT_FIX_ACCURACY_M)
    }
}

/// Why a fix was refused. Bounded: each is a label of
/// `vigie_ingest_telemetry_refused_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FixRefusalReason {
    MalformedJson,
    /// JSON, but a missing or unknown field or a wrong type.
    SchemaViolation,
    InvalidTime,
    TimeInFuture,
    TimeTooOld,
    InvalidLocation,
    InvalidHeading,
    InvalidAccuracy,
    InvalidSpeed,
    TooLarge,
    /// The sensor is not declared in the hub's config.
    UnknownSensor,
    /// The sensor is declared, but not `mobile = true`: its place is its config's.
    NotMobile,
    /// The device token it came with does not cover its sensor.
    SensorNotInToken,
    /// Reaching it from a neighbouring fix needs more than `[ingest] max_speed_mps`.
    ImplausibleJump,
}

impl FixRefusalReason {
    pub const ALL: &'static [FixRefusalReason] = &[
        FixRefusalReason::MalformedJson,
        FixRefusalReason::SchemaViolation,
        FixRefusalReason::InvalidTime,
        FixRefusalReason::TimeInFuture,
        FixRefusalReason::TimeTooOld,
        FixRefusalReason::InvalidLocation,
        FixRefusalReason::InvalidHeading,
        FixRefusalReason::InvalidAccuracy,
        FixRefusalReason::InvalidSpeed,
        FixRefusalReason::TooLarge,
        FixRefusalReason::UnknownSensor,
        FixRefusalReason::NotMobile,
        FixRefusalReason::SensorNotInToken,
        FixRefusalReason::ImplausibleJump,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FixRefusalReason::MalformedJson => "malformed_json",
            FixRefusalReason::SchemaViolation => "schema_violation",
            FixRefusalReason::InvalidTime => "invalid_time",
            FixRefusalReason::TimeInFuture => "time_in_future",
            FixRefusalReason::TimeTooOld => "time_too_old",
            FixRefusalReason::InvalidLocation => "invalid_location",
            FixRefusalReason::InvalidHeading => "invalid_heading",
            FixRefusalReason::InvalidAccuracy => "invalid_accuracy",
            FixRefusalReason::InvalidSpeed => "invalid_speed",
            FixRefusalReason::TooLarge => "too_large",
            FixRefusalReason::UnknownSensor => "unknown_sensor",
            FixRefusalReason::NotMobile => "not_mobile",
            FixRefusalReason::SensorNotInToken => "sensor_not_in_token",
            FixRefusalReason::ImplausibleJump => "implausible_jump",
        }
    }
}

impl From<TimeProblem> for FixRefusalReason {
    fn from(p: TimeProblem) -> Self {
        match p {
            TimeProblem::NotRfc3339 => FixRefusalReason::InvalidTime,
            TimeProblem::InFuture => FixRefusalReason::TimeInFuture,
            TimeProblem::TooOld => FixRefusalReason::TimeTooOld,
        }
    }
}

/// A refused fix: the reason (bounded) and a human detail naming the field.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{reason}: {detail}", reason = reason.as_str())]
pub struct FixRefusal {
    pub reason: FixRefusalReason,
    pub detail: String,
}

impl FixRefusal {
    pub fn new(reason: FixRefusalReason, detail: impl Into<String>) -> Self {
        FixRefusal { reason, detail: detail.into() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    #[serde(borrow)]
    time: std::borrow::Cow<'a, str>,
    lon: f64,
    lat: f64,
    heading_deg: Option<f64>,
    accuracy_m: Option<f64>,
    speed_mps: Option<f64>,
}

/// Decodes and checks one fix (`{"time", "lon", "lat", "heading_deg"?, "accuracy_m"?,
/// "speed_mps"?}`); its time has the detections' bounds.
pub fn decode_fix(bytes: &[u8], bounds: &TimeBounds) -> Result<PositionFix, FixRefusal> {
    use FixRefusalReason as R;
    if bytes.len() > MAX_FIX_BYTES {
        return Err(FixRefusal::new(
            R::TooLarge,
            format!("fix is {} bytes, the limit is {MAX_FIX_BYTES}", bytes.len()),
        ));
    }
    let w: Wire<'_> = serde_json::from_slice(bytes).map_err(|e| {
        let reason = match e.classify() {
            serde_json::error::Category::Data => R::SchemaViolation,
            _ => R::MalformedJson,
        };
        FixRefusal::new(reason, e.to_string())
    })?;
    let time = bounds.check(&w.time).map_err(|(problem, detail)| FixRefusal::new(problem.into(), detail))?;
    check_coordinates(w.lon, w.lat).map_err(|d| FixRefusal::new(R::InvalidLocation, d))?;
    let within = |v: Option<f64>, range: std::ops::Range<f64>| v.is_none_or(|v| v.is_finite() && range.contains(&v));
    if !within(w.heading_deg, 0.0..360.0) {
        return Err(FixRefusal::new(R::InvalidHeading, format!("heading_deg {:?} is outside 0..360", w.heading_deg)));
    }
    if !within(w.accuracy_m, 0.0..MAX_ACCURACY_M) {
        return Err(FixRefusal::new(
            R::InvalidAccuracy,
            format!("accuracy_m {:?} is outside 0..{MAX_ACCURACY_M}", w.accuracy_m),
        ));
    }
    if !within(w.speed_mps, 0.0..MAX_SPEED_MPS) {
        return Err(FixRefusal::new(
            R::InvalidSpeed,
            format!("speed_mps {:?} is outside 0..{MAX_SPEED_MPS}", w.speed_mps),
        ));
    }
    Ok(PositionFix {
        time,
        lon: w.lon,
        lat: w.lat,
        heading_deg: w.heading_deg,
        accuracy_m: w.accuracy_m,
        speed_mps: w.speed_mps,
    })
}

/// How a detection's position was found from the track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionMethod {
    /// Between the fixes just before and just after.
    Interpolated,
    /// The nearest fix in time (no fix on the other side within the gap).
    Nearest,
}

/// Where a mobile sensor was at a given time, as the track tells.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrackPosition {
    pub lon: f64,
    pub lat: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heading_deg: Option<f64>,
    /// Radius within which the sensor was, metres.
    pub uncertainty_m: f64,
    /// Time from the nearest fix used, milliseconds.
    pub gap_ms: i64,
    pub method: PositionMethod,
}

/// The recent fixes of one mobile sensor, in time order, at most `capacity` (the oldest go
/// first). Fixes arriving out of order are put in place; a second fix at the same time is
/// a redelivery and is ignored (the first is kept, as the store keeps it).
#[derive(Debug, Clone)]
pub struct Track {
    fixes: VecDeque<PositionFix>,
    capacity: usize,
}

/// Metres per second from `a` to `b`; `None` at the same instant.
fn speed_between(a: &PositionFix, b: &PositionFix) -> Option<f64> {
    let dt = (b.time - a.time).num_milliseconds().abs() as f64 / 1000.0;
    (dt > 0.0).then(|| haversine_m(a.lon, a.lat, b.lon, b.lat) / dt)
}

/// `a + f·(b − a)` the short way round the circle, in 0..360.
pub fn lerp_heading(a: f64, b: f64, f: f64) -> f64 {
    let d = (b - a + 540.0).rem_euclid(360.0) - 180.0;
    (a + f * d).rem_euclid(360.0)
}

impl Track {
    pub fn new(capacity: usize) -> Track {
        Track { fixes: VecDeque::new(), capacity: capacity.max(2) }
    }

    pub fn len(&self) -> usize {
        self.fixes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fixes.is_empty()
    }

    /// The newest fix.
    pub fn latest(&self) -> Option<&PositionFix> {
        self.fixes.back()
    }

    /// Index of the first fix after `t`.
    fn after(&self, t: DateTime<Utc>) -> usize {
        self.fixes.partition_point(|f| f.time <= t)
    }

    /// The last fix at or before `t`, and the first one after it.
    fn around(&self, t: DateTime<Utc>) -> (Option<&PositionFix>, Option<&PositionFix>) {
        let i = self.after(t);
        (i.checked_sub(1).and_then(|j| self.fixes.get(j)), self.fixes.get(i))
    }

    /// Whether this fix is already held (same time).
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        matches!(self.around(t).0, Some(f) if f.time == t)
    }

    /// Refuses a fix that its neighbours in time could not reach below `max_speed_mps`.
    pub fn check_jump(&self, fix: &PositionFix, max_speed_mps: f64) -> Result<(), FixRefusal> {
        let (before, after) = self.around(fix.time);
        for n in [before, after].into_iter().flatten() {
            if let Some(v) = speed_between(n, fix)
                && v > max_speed_mps
            {
                let d = haversine_m(n.lon, n.lat, fix.lon, fix.lat);
                return Err(FixRefusal::new(
                    FixRefusalReason::ImplausibleJump,
                    format!(
                        "{d:.0} m from the fix at {} is {v:.0} m/s, more than the {max_speed_mps} m/s allowed",
                        n.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Puts a fix in time order; `false` when one at that time is already held.
    pub fn insert(&mut self, fix: PositionFix) -> bool {
        if self.contains(fix.time) {
            return false;
        }
        let i = self.after(fix.time);
        self.fixes.insert(i, fix);
        while self.fixes.len() > self.capacity {
            self.fixes.pop_front();
        }
        true
    }

    /// Removes the fix at `t`; `false` if none was held.
    pub fn remove(&mut self, t: DateTime<Utc>) -> bool {
        let i = self.after(t);
        match i.checked_sub(1) {
            Some(j) if self.fixes[j].time == t => self.fixes.remove(j).is_some(),
            _ => false,
        }
    }

    /// Where the sensor was at `t`: interpolated between the bracketing fixes when both
    /// lie within `max_gap` of `t`, else the nearest fix within `max_gap`, else `None`.
    /// The uncertainty is the fixes' accuracy, plus, for a nearest fix, how far the sensor
    /// may have gone in the gap at its speed.
    pub fn position_at(&self, t: DateTime<Utc>, max_gap: Duration) -> Option<TrackPosition> {
        let (before, after) = self.around(t);
        let near = |f: &&PositionFix| (t - f.time).abs() <= max_gap;
        match (before.filter(near), after.filter(near)) {
            (Some(a), Some(b)) if a.time < b.time => {
                let span = (b.time - a.time).num_nanoseconds().unwrap_or(i64::MAX) as f64;
                let f = ((t - a.time).num_nanoseconds().unwrap_or(0) as f64 / span).clamp(0.0, 1.0);
                let heading = match (a.heading_deg, b.heading_deg) {
                    (Some(ha), Some(hb)) => Some(lerp_heading(ha, hb, f)),
                    (ha, hb) => {
                        if f < 0.5 {
                            ha.or(hb)
                        } else {
                            hb.or(ha)
                        }
                    }
                };
                let gap = (t - a.time).min(b.time - t);
                Some(TrackPosition {
                    lon: a.lon + f * (b.lon - a.lon),
                    lat: a.lat + f * (b.lat - a.lat),
                    heading_deg: heading,
                    uncertainty_m: a.accuracy() + f * (b.accuracy() - a.accuracy()),
                    gap_ms: gap.num_milliseconds(),
                    method: PositionMethod::Interpolated,
                })
            }
            (a, b) => {
                let fix = match (a, b) {
                    (Some(a), Some(b)) => {
                        if t - a.time <= b.time - t {
                            a
                        } else {
                            b
                        }
                    }
                    (Some(x), None) | (None, Some(x)) => x,
                    (None, None) => return None,
                };
                let gap = (t - fix.time).abs();
                let speed = fix.speed_mps.or_else(|| self.estimated_speed(fix)).unwrap_or(0.0);
                Some(TrackPosition {
                    lon: fix.lon,
                    lat: fix.lat,
                    heading_deg: fix.heading_deg,
                    uncertainty_m: fix.accuracy() + speed * gap.num_milliseconds() as f64 / 1000.0,
                    gap_ms: gap.num_milliseconds(),
                    method: PositionMethod::Nearest,
                })
            }
        }
    }

    /// Speed between `fix` and its previous (else next) fix, when it gives none.
    fn estimated_speed(&self, fix: &PositionFix) -> Option<f64> {
        let i = self.after(fix.time).checked_sub(1)?;
        let other = i.checked_sub(1).and_then(|j| self.fixes.get(j)).or_else(|| self.fixes.get(i + 1))?;
        speed_between(other, fix)
    }

    /// Fixes within `from..=to`, oldest first.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> impl Iterator<Item = &PositionFix> {
        self.fixes.iter().filter(move |f| f.time >= from && f.time <= to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000 + s, 0).expect("valid time")
    }

    fn fix(s: i64, lon: f64, lat: f64, heading: Option<f64>) -> PositionFix {
        PositionFix { time: t(s), lon, lat, heading_deg: heading, accuracy_m: Some(5.0), speed_mps: None }
    }

    fn bounds() -> TimeBounds {
        TimeBounds::new(t(0), 300, 7 * 86_400)
    }

    fn gap() -> Duration {
        Duration::seconds(10)
    }

    #[test]
    fn decodes_a_fix_and_refuses_each_bad_field_with_its_reason() {
        let ok = br#"{"time":"2026-11-18T08:26:40Z","lon":-1.55,"lat":47.21,"heading_deg":90,"accuracy_m":4,"speed_mps":6.5}"#;
        let f = decode_fix(ok, &TimeBounds::new("2026-11-18T08:27:00Z".parse().unwrap(), 300, 86_400)).unwrap();
        assert_eq!(
            (f.lon, f.lat, f.heading_deg, f.accuracy_m, f.speed_mps),
            (-1.55, 47.21, Some(90.0), Some(4.0), Some(6.5))
        );
        let cases: &[(&str, FixRefusalReason)] = &[
            ("{", FixRefusalReason::MalformedJson),
            (r#"{"time":"x","lon":0,"lat":0,"colour":1}"#, FixRefusalReason::SchemaViolation),
            (r#"{"lon":0,"lat":0}"#, FixRefusalReason::SchemaViolation),
            (r#"{"time":"yesterday","lon":0,"lat":0}"#, FixRefusalReason::InvalidTime),
            (r#"{"time":"2099-01-01T00:00:00Z","lon":0,"lat":0}"#, FixRefusalReason::TimeInFuture),
            (r#"{"time":"2001-01-01T00:00:00Z","lon":0,"lat":0}"#, FixRefusalReason::TimeTooOld),
            (r#"{"time":"2026-11-18T08:26:40Z","lon":181,"lat":0}"#, FixRefusalReason::InvalidLocation),
            (r#"{"time":"2026-11-18T08:26:40Z","lon":0,"lat":-91}"#, FixRefusalReason::InvalidLocation),
            (r#"{"time":"2026-11-18T08:26:40Z","lon":0,"lat":0,"heading_deg":360}"#, FixRefusalReason::InvalidHeading),
            (r#"{"time":"2026-11-18T08:26:40Z","lon":0,"lat":0,"accuracy_m":-1}"#, FixRefusalReason::InvalidAccuracy),
            (r#"{"time":"2026-11-18T08:26:40Z","lon":0,"lat":0,"speed_mps":5000}"#, FixRefusalReason::InvalidSpeed),
        ];
        let b = TimeBounds::new("2026-11-18T08:27:00Z".parse().unwrap(), 300, 86_400);
        for (text, reason) in cases {
            assert_eq!(decode_fix(text.as_bytes(), &b).unwrap_err().reason, *reason, "{text}");
        }
        assert_eq!(decode_fix(&vec![b' '; 2000], &bounds()).unwrap_err().reason, FixRefusalReason::TooLarge);
    }

    #[test]
    fn interpolates_between_the_bracketing_fixes() {
        let mut tr = Track::new(100);
        tr.insert(fix(0, -1.560, 47.210, Some(80.0)));
        tr.insert(fix(4, -1.556, 47.212, Some(100.0)));
        let p = tr.position_at(t(1), gap()).unwrap();
        assert_eq!(p.method, PositionMethod::Interpolated);
        assert!((p.lon - -1.559).abs() < 1e-9 && (p.lat - 47.2105).abs() < 1e-9, "{p:?}");
        assert!((p.heading_deg.unwrap() - 85.0).abs() < 1e-9);
        assert_eq!((p.uncertainty_m, p.gap_ms), (5.0, 1000));
    }

    #[test]
    fn heading_is_interpolated_the_short_way_round_north() {
        assert!((lerp_heading(350.0, 10.0, 0.5) - 0.0).abs() < 1e-9);
        assert!((lerp_heading(10.0, 350.0, 0.25) - 5.0).abs() < 1e-9);
        assert!((lerp_heading(350.0, 30.0, 0.75) - 20.0).abs() < 1e-9);
        let mut tr = Track::new(10);
        tr.insert(fix(0, 0.0, 0.0, Some(340.0)));
        tr.insert(fix(2, 0.0001, 0.0, Some(20.0)));
        assert!((tr.position_at(t(1), gap()).unwrap().heading_deg.unwrap() - 0.0).abs() < 1e-9);
    }

    #[test]
    fn takes_the_nearest_fix_within_the_gap_and_widens_the_uncertainty() {
        let mut tr = Track::new(10);
        tr.insert(PositionFix { speed_mps: Some(8.0), ..fix(0, -1.55, 47.21, None) });
        // 4 s after the only fix, moving at 8 m/s: 5 m + 32 m.
        let p = tr.position_at(t(4), gap()).unwrap();
        assert_eq!((p.method, p.lon, p.lat, p.gap_ms), (PositionMethod::Nearest, -1.55, 47.21, 4000));
        assert!((p.uncertainty_m - 37.0).abs() < 1e-9, "{p:?}");
        // Before the fix too (a detection published before the device's next fix).
        assert_eq!(tr.position_at(t(-3), gap()).unwrap().gap_ms, 3000);
        // Beyond the gap: no telemetry position.
        assert!(tr.position_at(t(11), gap()).is_none());
        assert!(Track::new(4).position_at(t(0), gap()).is_none(), "an empty track knows nothing");
    }

    #[test]
    fn bracketing_fixes_too_far_apart_fall_back_to_the_nearest_one() {
        let mut tr = Track::new(10);
        tr.insert(fix(0, -1.55, 47.21, None));
        tr.insert(fix(30, -1.54, 47.21, None));
        let p = tr.position_at(t(5), gap()).unwrap();
        assert_eq!((p.method, p.lon), (PositionMethod::Nearest, -1.55));
        // Without a speed of its own, the speed between its fixes widens the uncertainty.
        assert!(p.uncertainty_m > 5.0 + 5.0 * 20.0, "{p:?}");
        assert!(tr.position_at(t(15), gap()).is_none(), "15 s from both fixes");
    }

    #[test]
    fn refuses_an_implausible_jump_from_either_neighbour() {
        let mut tr = Track::new(10);
        tr.insert(fix(0, -1.55, 47.21, None));
        tr.insert(fix(10, -1.549, 47.21, None));
        // ~3.8 km in 1 s.
        let far = fix(1, -1.50, 47.21, None);
        let e = tr.check_jump(&far, 150.0).unwrap_err();
        assert_eq!(e.reason, FixRefusalReason::ImplausibleJump);
        assert!(e.detail.contains("m/s"), "{e}");
        // A plausible move (75 m in 5 s) passes; so does a redelivery at the same time.
        assert!(tr.check_jump(&fix(5, -1.5495, 47.21, None), 150.0).is_ok());
        assert!(tr.check_jump(&fix(10, -1.549, 47.21, None), 150.0).is_ok());
    }

    #[test]
    fn keeps_fixes_in_order_once_each_and_bounded() {
        let mut tr = Track::new(3);
        assert!(tr.insert(fix(2, 0.0, 0.0, None)));
        assert!(tr.insert(fix(1, 0.0, 0.0, None)), "out of order is put in place");
        assert!(!tr.insert(fix(2, 9.0, 9.0, None)), "a redelivery keeps the first");
        tr.insert(fix(3, 0.0, 0.0, None));
        tr.insert(fix(4, 0.0, 0.0, None));
        assert_eq!(tr.len(), 3);
        let times: Vec<_> = tr.between(t(0), t(10)).map(|f| f.time).collect();
        assert_eq!(times, vec![t(2), t(3), t(4)], "the oldest went first");
        assert_eq!(tr.latest().unwrap().time, t(4));
        assert_eq!(tr.between(t(0), t(10)).find(|f| f.time == t(2)).unwrap().lon, 0.0);
        assert!(tr.remove(t(3)) && !tr.remove(t(3)));
        assert_eq!(tr.len(), 2);
    }
}
