//! On a generated day with planted events: every detection passes the contract (the hub's
//! decoder and the JSON Schema), and no author handle appears in any output — detections,
//! retained posts, the search index, the counters.

mod common;

use vigie_model::detection::TimeBounds;
use vigie_model::{DETECTION_SCHEMA_V1, Kind};
use vigie_social::generate::GeneratorConfig;
use vigie_social::search::{SearchIndex, SearchOptions};
use vigie_social::{Pipeline, run_ndjson};

fn day() -> GeneratorConfig {
    GeneratorConfig { seed: 5, duration_secs: 86_400, events: 3, ..GeneratorConfig::default() }
}

#[test]
fn every_detection_passes_the_contract() {
    let built = common::demo();
    let (bytes, _, events) = common::stream(&built, day());
    let mut p = built.pipeline();
    let dets = run_ndjson(&mut p, &built.admission, &bytes, 65_536, 2);
    assert!(dets.len() >= events.len(), "{} detections for {} events", dets.len(), events.len());
    assert!(dets.iter().any(|d| d.kind == Kind::SocialNegativeBuzz));
    let schema: serde_json::Value = serde_json::from_str(DETECTION_SCHEMA_V1).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let now = chrono::DateTime::from_timestamp_millis(day().start_ms + 86_400_000).unwrap();
    let bounds = TimeBounds::new(now, 3600, 3 * 86_400);
    for d in &dets {
        let json = d.to_json();
        let back = vigie_model::decode(json.as_bytes(), &bounds).unwrap_or_else(|r| panic!("{r:?}: {json}"));
        assert!(matches!(back.kind, Kind::SocialBurst | Kind::SocialNegativeBuzz));
        assert_eq!(back.sensor.as_str(), "social-mastodon");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(validator.is_valid(&v), "schema: {json}");
        let a: serde_json::Value = serde_json::from_str(back.attributes.get()).unwrap();
        for k in
            ["scope", "onset", "alerted_at", "count_episode", "distinct_authors", "top_terms", "excerpts", "detectors"]
        {
            assert!(a.get(k).is_some(), "attribute {k} missing: {a}");
        }
        assert!(a["excerpts"].as_array().unwrap().len() <= 3);
        assert!(back.confidence >= 0.5 && back.confidence <= 1.0);
    }
}

/// Every handle of the input: the authors, and the accounts mentioned in texts.
fn handles(bytes: &[u8]) -> Vec<String> {
    let mut hs = std::collections::BTreeSet::new();
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        if let Some(a) = v["author"].as_str() {
            hs.insert(a.to_owned());
        }
        for w in v["text"].as_str().unwrap_or("").split_whitespace() {
            if let Some(h) = w.strip_prefix('@') {
                let h = h.trim_end_matches(':');
                if h.len() > 3 {
                    hs.insert(h.to_owned());
                }
            }
        }
    }
    hs.into_iter().collect()
}

#[test]
fn no_author_handle_appears_in_any_output() {
    let built = common::demo();
    let (bytes, _, _) = common::stream(&built, day());
    let hs = handles(&bytes);
    assert!(hs.len() > 1000, "the stream has many authors ({})", hs.len());
    let mut cfg = built.pipeline_config.clone();
    cfg.keep_retained = true;
    let mut p = Pipeline::new(built.analyzer.clone(), cfg);
    let dets = run_ndjson(&mut p, &built.admission, &bytes, 65_536, 1);
    let retained = p.drain_retained();
    let mut ix = SearchIndex::in_memory().unwrap();
    ix.add(&retained).unwrap();
    ix.commit().unwrap();
    let hits = ix
        .search(
            "place OR tram OR incendie OR fire OR rumeur OR nantes",
            &SearchOptions { limit: 1000, ..Default::default() },
        )
        .unwrap();
    assert!(hits.total > 100);
    let mut out = String::new();
    for d in &dets {
        out.push_str(&d.to_json());
    }
    for r in &retained {
        out.push_str(&format!("{r:?}"));
    }
    out.push_str(&serde_json::to_string(&hits).unwrap());
    out.push_str(&serde_json::to_string(&p.stats).unwrap());
    assert!(!dets.is_empty() && out.len() > 100_000);
    for h in &hs {
        assert!(!out.contains(h.as_str()), "handle {h:?} leaked into an output");
    }
    // The redaction left its marks instead.
    assert!(out.contains("@…"));
}

#[test]
fn opted_out_posts_reach_no_output() {
    let built = common::demo();
    let (bytes, _, _) = common::stream(&built, day());
    let opted: Vec<String> = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_owned))
        .filter(|t| t.contains("#nobot"))
        .collect();
    assert!(!opted.is_empty());
    let mut cfg = built.pipeline_config.clone();
    cfg.keep_retained = true;
    let mut p = Pipeline::new(built.analyzer.clone(), cfg);
    let dets = run_ndjson(&mut p, &built.admission, &bytes, 65_536, 1);
    assert_eq!(p.stats.rejected.get("opted_out").copied().unwrap_or(0) as usize, opted.len());
    let retained = p.drain_retained();
    assert!(retained.iter().all(|r| !r.text.contains("#nobot")));
    assert!(dets.iter().all(|d| !d.attributes.get().contains("#nobot")));
}
