//! The harness logic of the fuzz targets, as plain functions.
//!
//! The targets in `fuzz_targets/` only hand libFuzzer's input to these functions, so the
//! same checks also run on stable Rust: `cargo test --manifest-path fuzz/Cargo.toml`
//! replays the seed corpus through them. Each function panics when a property breaks,
//! which is what libFuzzer reports as a crash.

use std::path::Path;

use chrono::{DateTime, Utc};
use vigie_model::config::Config;
use vigie_model::detection::{MAX_ATTRIBUTES_BYTES, MAX_EVIDENCE_ITEMS, TimeBounds};
use vigie_model::{Detection, Refusal, RefusalReason, decode};

/// The hub's clock in every run: fixed, so that a crash replays the same way.
pub const NOW: &str = "2026-11-22T21:31:00Z";

/// The reasons `decode` itself may give; the others are the hub's (unknown sensor, …).
pub const DECODE_REASONS: &[RefusalReason] = RefusalReason::CONTRACT;

/// The bounds of the default config (300 s of skew, 7 days of age) around [`NOW`].
pub fn bounds() -> TimeBounds {
    let now: DateTime<Utc> = NOW.parse().expect("NOW is RFC 3339");
    TimeBounds::new(now, 300, 7 * 86_400)
}

/// Decodes `data` and checks the decoder's promises:
///
/// - it does not panic;
/// - a refusal has one of the decoder's reasons and a non-empty detail;
/// - an accepted detection respects the contract's ranges, and re-encoding it with
///   [`Detection::to_json`] then decoding again gives an equal detection and the same JSON.
pub fn decode_detection(data: &[u8]) -> Result<Detection, Refusal> {
    let bounds = bounds();
    match decode(data, &bounds) {
        Err(r) => {
            check_refusal(&r);
            Err(r)
        }
        Ok(d) => {
            check_accepted(&d, &bounds);
            Ok(d)
        }
    }
}

fn check_refusal(r: &Refusal) {
    assert!(DECODE_REASONS.contains(&r.reason), "decode gave a hub-level reason: {r:?}");
    assert!(!r.detail.trim().is_empty(), "refusal without a detail: {r:?}");
    assert!(r.to_string().starts_with(r.reason.as_str()), "refusal text does not start with its reason: {r}");
}

fn check_accepted(d: &Detection, bounds: &TimeBounds) {
    let l = d.location;
    assert!(l.lat.is_finite() && (-90.0..=90.0).contains(&l.lat), "accepted latitude {}", l.lat);
    assert!(l.lon.is_finite() && (-180.0..=180.0).contains(&l.lon), "accepted longitude {}", l.lon);
    if let Some(u) = l.uncertainty_m {
        assert!(u.is_finite() && u >= 0.0, "accepted uncertainty {u}");
    }
    assert!(d.confidence.is_finite() && (0.0..=1.0).contains(&d.confidence), "accepted confidence {}", d.confidence);
    assert!(d.time <= bounds.now + bounds.max_future_skew && d.time >= bounds.now - bounds.max_age);
    let attrs = d.attributes.get();
    assert!(attrs.starts_with('{') && attrs.len() <= MAX_ATTRIBUTES_BYTES, "accepted attributes {attrs:?}");
    assert!(d.evidence.len() <= MAX_EVIDENCE_ITEMS);

    let json = d.to_json();
    let again = match decode(json.as_bytes(), bounds) {
        Ok(a) => a,
        Err(r) => panic!("accepted, but its own JSON is refused ({r}): {json}"),
    };
    if &again == d {
        assert_eq!(again.to_json(), json, "the JSON of a detection is not stable");
    } else {
        assert!(same_within(&again, d, float_ulps_tolerated()), "the round trip changed the detection: {json}");
    }
}

/// How many ulps a float may move in a round trip: 0 when serde_json parses floats
/// correctly rounded, 1 when it does not.
///
/// Without its `float_roundtrip` feature serde_json takes a fast path that is sometimes one
/// ulp off (it reads "101.87279787206057" as 101.87279787206056), so a float that
/// `to_json` wrote exactly can come back one ulp away. Enabling `serde_json/float_roundtrip`
/// in vigie-model makes this 0, and the round trip is then checked exactly.
pub fn float_ulps_tolerated() -> u64 {
    let probe = "101.87279787206057";
    if serde_json::from_str::<f64>(probe).ok() == probe.parse::<f64>().ok() { 0 } else { 1 }
}

fn ulps(a: f64, b: f64) -> u64 {
    if a == b {
        0
    } else if a.is_finite() && b.is_finite() && a.is_sign_negative() == b.is_sign_negative() {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    } else {
        u64::MAX
    }
}

/// Equal, except that each float may differ by `tolerated` ulps.
fn same_within(a: &Detection, b: &Detection, tolerated: u64) -> bool {
    let close = |x: f64, y: f64| ulps(x, y) <= tolerated;
    a.id == b.id
        && a.sensor == b.sensor
        && a.kind == b.kind
        && a.time == b.time
        && a.attributes.get() == b.attributes.get()
        && a.evidence == b.evidence
        && close(a.location.lon, b.location.lon)
        && close(a.location.lat, b.location.lat)
        && match (a.location.uncertainty_m, b.location.uncertainty_m) {
            (Some(x), Some(y)) => close(x, y),
            (x, y) => x == y,
        }
        && close(a.confidence, b.confidence)
}

/// Checks config text as `vigie config check` does (without a base folder) and checks:
///
/// - it does not panic, nor does formatting its error;
/// - an error points at a line of the text (1-based, with its column and source line), or
///   at none (line 0);
/// - an accepted config has unique sensor ids within range, each found by its id, and rules.
///
/// Texts that name a districts file are skipped: that would read any path on the machine
/// (`/dev/zero` never ends).
pub fn config_from_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let table = text.parse::<toml::Table>();
    if let Ok(t) = &table
        && t.get("geo").and_then(|g| g.as_table()).is_some_and(|g| g.contains_key("districts"))
    {
        return;
    }
    let path = Path::new("fuzz.toml");
    match Config::from_toml(text, path, None) {
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.starts_with("fuzz.toml:"), "error does not name the file: {shown}");
            if e.line > 0 {
                let lines = text.split('\n').count();
                assert!(e.line <= lines, "error on line {} of a {lines}-line text: {shown}", e.line);
                assert!(e.column >= 1, "error without a column: {shown}");
                assert!(e.source_line.is_some(), "error without its source line: {shown}");
            }
        }
        Ok(c) => {
            assert!(table.is_ok(), "from_toml accepted a text that is not TOML");
            let mut ids = std::collections::HashSet::new();
            for s in &c.sensors {
                assert!(ids.insert(s.id.as_str()), "sensor {} accepted twice", s.id);
                assert!((-90.0..=90.0).contains(&s.lat) && (-180.0..=180.0).contains(&s.lon));
                assert!(c.sensor(s.id.as_str()).is_some_and(|f| f.id == s.id));
            }
            assert!(!c.rules.is_empty(), "a config without rules (the defaults apply when none are given)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
        let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
            .collect();
        out.sort();
        assert!(!out.is_empty(), "no seeds in {}", dir.display());
        out
    }

    #[test]
    fn decode_detection_seeds() {
        let mut accepted = 0;
        for (name, bytes) in seeds("decode_detection") {
            let result = decode_detection(&bytes);
            // Seeds are named valid-* or invalid-*: the decoder must agree.
            assert_eq!(result.is_ok(), name.starts_with("valid-"), "{name}: {result:?}");
            accepted += result.is_ok() as usize;
        }
        assert!(accepted >= 3);
    }

    #[test]
    fn a_float_one_ulp_off_is_tolerated_only_while_serde_json_needs_it() {
        // serde_json without float_roundtrip reads this one ulp off; see float_ulps_tolerated.
        let d = br#"{"id":"01JDQ8M6N4X2V6Z7Y8W9A0B1C6","sensor":"flows-cell-12","kind":"flows.presence_anomaly","time":"2026-11-22T21:00:00.5Z","location":{"lon":-1.55,"lat":47.21,"uncertainty_m":101.87279787206057335425},"confidence":0.9}"#;
        assert!(decode_detection(d).is_ok());
    }

    #[test]
    fn config_from_toml_seeds() {
        for (_, bytes) in seeds("config_from_toml") {
            config_from_toml(&bytes);
        }
    }
}
