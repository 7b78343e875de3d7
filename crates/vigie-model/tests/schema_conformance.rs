//! The JSON Schema file and the Rust decoder say the same thing.
//!
//! Producers in other languages validate against `schema/detection.v1.schema.json`; the hub
//! decodes with `vigie_model::decode`. Over a corpus of good and bad detections, each must
//! accept exactly what the other accepts (time bounds relative to the hub's clock aside,
//! which a static schema cannot express).

use vigie_model::detection::TimeBounds;
use vigie_model::{DETECTION_SCHEMA_V1, RefusalReason, decode};

const GOOD: &str = r#"{"id":"01JDQ8M6N4X2V6Z7Y8W9A0B1C2","sensor":"cam-commerce-03","kind":"video.crowd_density","time":"2026-11-22T21:30:05.123Z","location":{"lon":-1.5592,"lat":47.2133,"uncertainty_m":12},"confidence":0.82,"attributes":{"zone":"bouffay-nord","persons_per_m2":3.1},"evidence":[{"media_type":"image/jpeg","uri":"evidence/01JD.jpg","sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]}"#;

fn patched(path: &[&str], value: Option<serde_json::Value>) -> String {
    let mut v: serde_json::Value = serde_json::from_str(GOOD).unwrap();
    let mut cur = &mut v;
    for p in &path[..path.len() - 1] {
        cur = match p.parse::<usize>() {
            Ok(i) => &mut cur[i],
            Err(_) => &mut cur[*p],
        };
    }
    let last = path[path.len() - 1];
    match value {
        Some(val) => cur[last] = val,
        None => {
            cur.as_object_mut().unwrap().remove(last);
        }
    }
    v.to_string()
}

fn corpus() -> Vec<String> {
    use serde_json::json;
    let mut c = vec![GOOD.to_owned()];
    let cases: Vec<(&[&str], Option<serde_json::Value>)> = vec![
        (&["attributes"], None),
        (&["evidence"], None),
        (&["location", "uncertainty_m"], None),
        (&["id"], None),
        (&["sensor"], None),
        (&["kind"], None),
        (&["time"], None),
        (&["location"], None),
        (&["confidence"], None),
        (&["extra"], Some(json!(1))),
        (&["location", "alt"], Some(json!(3))),
        (&["id"], Some(json!("01jdq8m6n4x2v6z7y8w9a0b1c2"))),
        (&["id"], Some(json!("01JDQ8M6N4X2V6Z7Y8W9A0B1CU"))),
        (&["id"], Some(json!("81JDQ8M6N4X2V6Z7Y8W9A0B1C2"))),
        (&["id"], Some(json!(42))),
        (&["sensor"], Some(json!("Cam-3"))),
        (&["sensor"], Some(json!("a".repeat(64)))),
        (&["sensor"], Some(json!("a".repeat(65)))),
        (&["kind"], Some(json!("audio.gunshot"))),
        (&["kind"], Some(json!("video.face_match"))),
        (&["time"], Some(json!("2026-11-22T22:30:05+01:00"))),
        (&["time"], Some(json!("2026-11-22T21:30:05"))),
        (&["time"], Some(json!("yesterday"))),
        (&["location", "lat"], Some(json!(91))),
        (&["location", "lat"], Some(json!(-90))),
        (&["location", "lon"], Some(json!(180.5))),
        (&["location", "lon"], Some(json!("1.2"))),
        (&["location", "uncertainty_m"], Some(json!(-1))),
        (&["location", "uncertainty_m"], Some(json!(100001))),
        (&["confidence"], Some(json!(1.5))),
        (&["confidence"], Some(json!(0))),
        (&["confidence"], Some(json!(null))),
        (&["attributes"], Some(json!([1, 2]))),
        (&["attributes"], Some(json!("x"))),
        (&["evidence"], Some(json!([]))),
        (&["evidence", "0", "uri"], Some(json!("../secret.jpg"))),
        (&["evidence", "0", "uri"], Some(json!("a/../../b.jpg"))),
        (&["evidence", "0", "uri"], Some(json!("/etc/passwd"))),
        (&["evidence", "0", "uri"], Some(json!("https://x.example/a.jpg"))),
        (&["evidence", "0", "uri"], Some(json!("a/..b/c..jpg"))),
        (&["evidence", "0", "sha256"], Some(json!("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"))),
        (&["evidence", "0", "media_type"], Some(json!("jpeg"))),
        (&["evidence", "0", "media_type"], Some(json!("image/svg+xml"))),
        (&["evidence", "0", "extra"], Some(json!(true))),
    ];
    for (path, value) in cases {
        c.push(patched(path, value));
    }
    c.push("[]".into());
    c.push("42".into());
    c
}

#[test]
fn schema_and_decoder_agree() {
    let schema: serde_json::Value = serde_json::from_str(DETECTION_SCHEMA_V1).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    // A clock that makes every time in the corpus acceptable.
    let bounds = TimeBounds::new("2026-11-22T21:31:00Z".parse().unwrap(), 3600, 31 * 86_400);
    let mut accepted = 0;
    for doc in corpus() {
        let instance: serde_json::Value = serde_json::from_str(&doc).unwrap();
        let by_schema = validator.is_valid(&instance);
        let by_decoder = decode(doc.as_bytes(), &bounds);
        assert_eq!(by_schema, by_decoder.is_ok(), "schema says {by_schema}, decoder says {by_decoder:?} for {doc}");
        accepted += usize::from(by_schema);
    }
    assert!(accepted >= 8, "the corpus must hold accepted variants too");
}

#[test]
fn malformed_json_is_not_a_schema_question() {
    let bounds = TimeBounds::new(chrono::Utc::now(), 300, 86_400);
    assert_eq!(decode(b"{\"id\":", &bounds).unwrap_err().reason, RefusalReason::MalformedJson);
}
