//! The detection of contract v1 and its one decoder.
//!
//! [`decode`] is the single door through which the hub (and producers' tests) turn bytes
//! into a [`Detection`]: serde does the shape (unknown fields refused), then `check` does
//! what JSON cannot express by type (ranges, time skew, safe evidence paths). The JSON
//! Schema file says the same thing; `tests/schema_conformance.rs` proves they agree.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::ids::{DetectionId, SensorId, is_valid_sensor_id};
use crate::kind::Kind;
use crate::refusal::{Refusal, RefusalReason};

/// Largest detection accepted, in bytes of JSON.
pub const MAX_DETECTION_BYTES: usize = 64 * 1024;
/// Largest `attributes` object, in bytes of JSON.
pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;
pub const MAX_EVIDENCE_ITEMS: usize = 16;
pub const MAX_UNCERTAINTY_M: f64 = 100_000.0;
/// Deepest nesting of arrays and objects inside `attributes`.
pub const MAX_ATTRIBUTES_DEPTH: usize = 16;
/// Bounds given to [`TimeBounds::new`] are capped here (a century) so no date arithmetic
/// can overflow.
const MAX_BOUND_SECS: u64 = 100 * 366 * 86_400;

/// Where an event is, in WGS 84, with an optional uncertainty radius.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub lon: f64,
    pub lat: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty_m: Option<f64>,
}

/// A small evidence item kept at the edge or in the evidence store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub media_type: String,
    pub uri: String,
    pub sha256: String,
}

/// A typed, located, timed, scored fact produced by an edge analytic.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    pub id: DetectionId,
    pub sensor: SensorId,
    pub kind: Kind,
    pub time: DateTime<Utc>,
    pub location: Location,
    pub confidence: f64,
    /// Kind-specific facts, kept as the producer's JSON text (always an object).
    pub attributes: Box<RawValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

impl PartialEq for Detection {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.sensor == other.sensor
            && self.kind == other.kind
            && self.time == other.time
            && self.location == other.location
            && self.confidence == other.confidence
            && self.attributes.get() == other.attributes.get()
            && self.evidence == other.evidence
    }
}

/// What time bounds a detection's `time` must respect, relative to the hub's clock.
#[derive(Debug, Clone, Copy)]
pub struct TimeBounds {
    pub now: DateTime<Utc>,
    pub max_future_skew: Duration,
    pub max_age: Duration,
}

/// Why a time is refused by [`TimeBounds::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeProblem {
    NotRfc3339,
    InFuture,
    TooOld,
}

impl From<TimeProblem> for RefusalReason {
    fn from(p: TimeProblem) -> Self {
        match p {
            TimeProblem::NotRfc3339 => RefusalReason::InvalidTime,
            TimeProblem::InFuture => RefusalReason::TimeInFuture,
            TimeProblem::TooOld => RefusalReason::TimeTooOld,
        }
    }
}

impl TimeBounds {
    /// Parses an RFC 3339 time (converted to UTC) and checks it is neither too far ahead
    /// of the hub's clock nor too old; `Err` carries a detail naming the value.
    pub fn check(&self, raw: &str) -> Result<DateTime<Utc>, (TimeProblem, String)> {
        let time = DateTime::parse_from_rfc3339(raw)
            .map_err(|e| (TimeProblem::NotRfc3339, format!("time {raw:?} is not RFC 3339: {e}")))?
            .with_timezone(&Utc);
        if time > self.now + self.max_future_skew {
            let secs = self.max_future_skew.num_seconds();
            return Err((TimeProblem::InFuture, format!("time {raw} is more than {secs} s ahead of the hub's clock")));
        }
        if time < self.now - self.max_age {
            return Err((TimeProblem::TooOld, format!("time {raw} is older than {} s", self.max_age.num_seconds())));
        }
        Ok(time)
    }

    pub fn new(now: DateTime<Utc>, max_future_skew_secs: u64, max_age_secs: u64) -> Self {
        TimeBounds {
            now,
            max_future_skew: Duration::seconds(max_future_skew_secs.min(MAX_BOUND_SECS) as i64),
            max_age: Duration::seconds(max_age_secs.min(MAX_BOUND_SECS) as i64),
        }
    }
}

/// The wire shape: strings kept raw so each field's error names the field and its reason.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    sensor: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    time: std::borrow::Cow<'a, str>,
    location: Location,
    confidence: f64,
    #[serde(default)]
    attributes: Option<Box<RawValue>>,
    #[serde(default)]
    evidence: Vec<Evidence>,
}

/// Decodes and checks one detection. The only way the hub accepts one.
pub fn decode(bytes: &[u8], bounds: &TimeBounds) -> Result<Detection, Refusal> {
    if bytes.len() > MAX_DETECTION_BYTES {
        return Err(Refusal::new(
            RefusalReason::TooLarge,
            format!("detection is {} bytes, the limit is {MAX_DETECTION_BYTES}", bytes.len()),
        ));
    }
    let wire: Wire<'_> = serde_json::from_slice(bytes).map_err(|e| {
        let reason = match e.classify() {
            serde_json::error::Category::Data => RefusalReason::SchemaViolation,
            _ => RefusalReason::MalformedJson,
        };
        Refusal::new(reason, e.to_string())
    })?;
    check(wire, bounds)
}

fn check(w: Wire<'_>, bounds: &TimeBounds) -> Result<Detection, Refusal> {
    use RefusalReason as R;
    let id = DetectionId::parse(&w.id).map_err(|e| Refusal::new(R::InvalidId, format!("id: {e}")))?;
    if !is_valid_sensor_id(&w.sensor) {
        return Err(Refusal::new(
            R::InvalidSensor,
            format!("sensor {:?} must match ^[a-z0-9][a-z0-9._-]{{0,63}}$", w.sensor),
        ));
    }
    let sensor = SensorId::new(w.sensor.into_owned()).map_err(|e| Refusal::new(R::InvalidSensor, e.to_string()))?;
    let kind: Kind =
        w.kind.parse().map_err(|e: crate::kind::UnknownKind| Refusal::new(R::UnknownKind, e.to_string()))?;
    let time = bounds.check(&w.time).map_err(|(problem, detail)| Refusal::new(problem.into(), detail))?;
    check_location(&w.location)?;
    if !(w.confidence.is_finite() && (0.0..=1.0).contains(&w.confidence)) {
        return Err(Refusal::new(R::InvalidConfidence, format!("confidence {} is not within 0..1", w.confidence)));
    }
    let attributes = match w.attributes {
        None => {
            RawValue::from_string("{}".to_owned()).map_err(|e| Refusal::new(R::InvalidAttributes, e.to_string()))?
        }
        Some(raw) => {
            if !raw.get().starts_with('{') {
                return Err(Refusal::new(R::InvalidAttributes, "attributes must be a JSON object"));
            }
            if json_depth(raw.get()) > MAX_ATTRIBUTES_DEPTH {
                return Err(Refusal::new(
                    R::InvalidAttributes,
                    format!("attributes nest deeper than {MAX_ATTRIBUTES_DEPTH} levels"),
                ));
            }
            if raw.get().len() > MAX_ATTRIBUTES_BYTES {
                return Err(Refusal::new(
                    R::InvalidAttributes,
                    format!("attributes are {} bytes, the limit is {MAX_ATTRIBUTES_BYTES}", raw.get().len()),
                ));
            }
            raw
        }
    };
    if w.evidence.len() > MAX_EVIDENCE_ITEMS {
        return Err(Refusal::new(
            R::InvalidEvidence,
            format!("{} evidence items, the limit is {MAX_EVIDENCE_ITEMS}", w.evidence.len()),
        ));
    }
    for (i, e) in w.evidence.iter().enumerate() {
        check_evidence(e).map_err(|d| Refusal::new(R::InvalidEvidence, format!("evidence[{i}]: {d}")))?;
    }
    Ok(Detection {
        id,
        sensor,
        kind,
        time,
        location: w.location,
        confidence: w.confidence,
        attributes,
        evidence: w.evidence,
    })
}

/// Deepest nesting of arrays and objects in valid JSON text (brackets inside strings
/// do not count).
fn json_depth(text: &str) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Ranges of a longitude and a latitude (detections and position fixes); `Err` names the
/// faulty one.
pub fn check_coordinates(lon: f64, lat: f64) -> Result<(), String> {
    if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
        return Err(format!("latitude {lat} is outside -90..90"));
    }
    if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
        return Err(format!("longitude {lon} is outside -180..180"));
    }
    Ok(())
}

/// Ranges of a location; `Err` names the faulty coordinate.
pub fn check_location(l: &Location) -> Result<(), Refusal> {
    let bad = |d: String| Err(Refusal::new(RefusalReason::InvalidLocation, d));
    check_coordinates(l.lon, l.lat).or_else(bad)?;
    if let Some(u) = l.uncertainty_m
        && !(u.is_finite() && (0.0..=MAX_UNCERTAINTY_M).contains(&u))
    {
        return bad(format!("uncertainty_m {u} is outside 0..{MAX_UNCERTAINTY_M}"));
    }
    Ok(())
}

/// A media type, a safe relative path and a SHA-256 in lowercase hex.
fn check_evidence(e: &Evidence) -> Result<(), String> {
    let mt = e.media_type.as_bytes();
    let slash = mt.iter().position(|&c| c == b'/');
    let mt_ok = mt.len() <= 100
        && matches!(slash, Some(p) if p > 0 && p + 1 < mt.len())
        && mt[..slash.unwrap_or(0)].iter().all(u8::is_ascii_lowercase)
        && mt[slash.unwrap_or(0) + 1..]
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'+' | b'-'));
    if !mt_ok {
        return Err(format!("media_type {:?} is not a media type", e.media_type));
    }
    if !is_safe_relative_path(&e.uri) {
        return Err(format!("uri {:?} must be a relative path without '..' (letters, digits, . _ - /)", e.uri));
    }
    if !(e.sha256.len() == 64 && e.sha256.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))) {
        return Err(format!("sha256 {:?} must be 64 lowercase hex digits", e.sha256));
    }
    Ok(())
}

/// A path inside the evidence store: no scheme, no leading slash, no `..` segment.
pub fn is_safe_relative_path(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 512
        && !p.starts_with('/')
        && p.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'/'))
        && p.split('/').all(|seg| seg != "..")
}

impl Detection {
    /// The contract's JSON form of this detection.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> TimeBounds {
        TimeBounds::new("2026-11-22T21:31:00Z".parse().unwrap(), 300, 7 * 86_400)
    }

    const GOOD: &str = r#"{"id":"01JDQ8M6N4X2V6Z7Y8W9A0B1C2","sensor":"cam-commerce-03","kind":"video.crowd_density","time":"2026-11-22T21:30:05.123Z","location":{"lon":-1.5592,"lat":47.2133,"uncertainty_m":12},"confidence":0.82,"attributes":{"zone":"bouffay-nord","persons_per_m2":3.1},"evidence":[{"media_type":"image/jpeg","uri":"evidence/01JD.jpg","sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]}"#;

    fn with(field: &str, value: &str) -> String {
        let mut v: serde_json::Value = serde_json::from_str(GOOD).unwrap();
        let patch: serde_json::Value = serde_json::from_str(value).unwrap();
        let mut cur = &mut v;
        let parts: Vec<&str> = field.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            cur = match p.parse::<usize>() {
                Ok(i) => &mut cur[i],
                Err(_) => &mut cur[*p],
            };
        }
        cur[parts[parts.len() - 1]] = patch;
        v.to_string()
    }

    fn reason(s: &str) -> RefusalReason {
        decode(s.as_bytes(), &bounds()).unwrap_err().reason
    }

    #[test]
    fn accepts_the_architecture_example() {
        let d = decode(GOOD.as_bytes(), &bounds()).unwrap();
        assert_eq!(d.sensor.as_str(), "cam-commerce-03");
        assert_eq!(d.kind, Kind::VideoCrowdDensity);
        assert_eq!(d.location.uncertainty_m, Some(12.0));
        let again = decode(d.to_json().as_bytes(), &bounds()).unwrap();
        assert_eq!(again, d);
    }

    #[test]
    fn refuses_each_bad_field_with_its_reason() {
        use RefusalReason as R;
        assert_eq!(reason("{not json"), R::MalformedJson);
        assert_eq!(reason(&GOOD[..GOOD.len() - 3]), R::MalformedJson);
        assert_eq!(reason(r#"{"id":"01JDQ8M6N4X2V6Z7Y8W9A0B1C2"}"#), R::SchemaViolation);
        assert_eq!(reason(&with("extra", "1")), R::SchemaViolation);
        assert_eq!(reason(&with("confidence", "\"high\"")), R::SchemaViolation);
        assert_eq!(reason(&with("id", "\"42\"")), R::InvalidId);
        assert_eq!(reason(&with("sensor", "\"Cam 3\"")), R::InvalidSensor);
        assert_eq!(reason(&with("kind", "\"video.face_match\"")), R::UnknownKind);
        assert_eq!(reason(&with("time", "\"yesterday\"")), R::InvalidTime);
        assert_eq!(reason(&with("time", "\"2027-11-22T21:30:05Z\"")), R::TimeInFuture);
        assert_eq!(reason(&with("time", "\"2025-11-22T21:30:05Z\"")), R::TimeTooOld);
        assert_eq!(reason(&with("location.lat", "91")), R::InvalidLocation);
        assert_eq!(reason(&with("location.lon", "-180.5")), R::InvalidLocation);
        assert_eq!(reason(&with("location.uncertainty_m", "-1")), R::InvalidLocation);
        assert_eq!(reason(&with("confidence", "1.5")), R::InvalidConfidence);
        assert_eq!(reason(&with("attributes", "[1]")), R::InvalidAttributes);
        assert_eq!(reason(&with("evidence.0.uri", "\"../../etc/passwd\"")), R::InvalidEvidence);
        assert_eq!(reason(&with("evidence.0.uri", "\"/etc/passwd\"")), R::InvalidEvidence);
        assert_eq!(reason(&with("evidence.0.uri", "\"file:///etc/passwd\"")), R::InvalidEvidence);
        assert_eq!(reason(&with("evidence.0.sha256", "\"ABC\"")), R::InvalidEvidence);
        assert_eq!(reason(&" ".repeat(MAX_DETECTION_BYTES + 1)), R::TooLarge);
        let deep = format!("{}1{}", "[".repeat(20), "]".repeat(20));
        assert_eq!(reason(&with("attributes", &format!("{{\"a\":{deep}}}"))), R::InvalidAttributes);
        assert!(decode(with("attributes", r#"{"a":"[[[[[[[[[[[[[[[[[[[[[[[[["}"#).as_bytes(), &bounds()).is_ok());
    }

    #[test]
    fn absurd_time_bounds_do_not_overflow() {
        let b = TimeBounds::new(chrono::Utc::now(), u64::MAX, u64::MAX);
        assert!(decode(GOOD.as_bytes(), &b).is_ok());
    }

    #[test]
    fn nan_confidence_is_refused() {
        // JSON has no NaN; a producer writing one sends malformed JSON.
        assert_eq!(reason(&GOOD.replace("0.82", "NaN")), RefusalReason::MalformedJson);
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let d = decode(with("time", "\"2026-11-22T22:30:05+01:00\"").as_bytes(), &bounds()).unwrap();
        assert_eq!(d.time.to_rfc3339(), "2026-11-22T21:30:05+00:00");
    }
}
