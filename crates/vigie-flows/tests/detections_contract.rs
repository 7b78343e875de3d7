//! Anomaly detections against the contract: weeks of releases with a planted gathering;
//! the detections of the gathering day decode through `vigie_model::decode` (the hub's
//! one door) and validate against the JSON Schema; running the day again gives the same
//! ids (so the hub sees duplicates, not new detections).

mod common;

use vigie_flows::daily::process_day;
use vigie_flows::generate::{GatheringConfig, GenerateConfig};
use vigie_flows::inputs::EventFile;
use vigie_flows::stages::anomaly::AnomalyConfig;
use vigie_flows::{FlowsConfig, Geography};
use vigie_model::detection::TimeBounds;

#[test]
fn the_planted_gathering_becomes_valid_detections_at_its_zone() {
    let dir = common::TempDir::new("anomaly");
    let gcfg = GenerateConfig {
        days: 4,
        day_step: 7,
        gathering: Some(GatheringConfig {
            zone: "ile-de-nantes-ouest".into(),
            day: 3,
            start_minute: 20 * 60,
            duration_minutes: 180,
            attend_share: 0.02,
        }),
        ..common::small(2_500, 300)
    };
    let rep = common::make(dir.path(), &gcfg);
    let cfg = FlowsConfig { market_share: gcfg.market_share, threads: 2, ..FlowsConfig::default() };
    let geo = Geography::load(&rep.cells, &rep.zones, &cfg).unwrap();
    let acfg = AnomalyConfig { baseline_weeks: 3, ..AnomalyConfig::default() };
    let root = dir.path().join("releases");
    let mut last = None;
    for d in &rep.days {
        let files = vec![EventFile::open(&d.events, &cfg.columns).unwrap()];
        last = Some(process_day(&files, &geo, &cfg, None, &root, None, &acfg).unwrap());
    }
    let out = last.unwrap();
    assert!(out.baseline_missing.is_empty(), "{:?}", out.baseline_missing);
    let schema: serde_json::Value = serde_json::from_str(vigie_model::DETECTION_SCHEMA_V1).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let bounds = TimeBounds::new(chrono::Utc::now(), u64::MAX, u64::MAX);
    let mut at_gathering = 0;
    for d in &out.detections {
        let json = d.to_json();
        let back = vigie_model::decode(json.as_bytes(), &bounds).unwrap_or_else(|e| panic!("{e:?}: {json}"));
        assert_eq!(&back, d);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(validator.is_valid(&v), "{json}");
        let attrs: serde_json::Value = serde_json::from_str(d.attributes.get()).unwrap();
        if attrs["zone"] == "ile-de-nantes-ouest" && d.kind == vigie_model::Kind::FlowsPresenceAnomaly {
            at_gathering += 1;
            assert_eq!(d.sensor.as_str(), "flows-ile-de-nantes-ouest");
            assert_eq!(attrs["direction"], "above");
            assert!(attrs["estimate"].as_u64().unwrap() >= 20);
        }
    }
    assert!(
        at_gathering >= 1,
        "{:?}",
        out.detections.iter().map(|d| d.attributes.get().to_string()).collect::<Vec<_>>()
    );
    // The same day again: the same detection ids.
    let d = rep.days.last().unwrap();
    let files = vec![EventFile::open(&d.events, &cfg.columns).unwrap()];
    let again = process_day(&files, &geo, &cfg, None, &root, None, &acfg).unwrap();
    let ids = |o: &vigie_flows::daily::DayOutcome| {
        let mut v: Vec<String> = o.detections.iter().map(|d| d.id.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(ids(&out), ids(&again));
}
