//! The search index answers the watch-query language exactly as the alerting matcher does,
//! filters by time and district, forgets deleted posts, and purges posts past retention.

mod common;

use std::collections::BTreeSet;

use vigie_social::Pipeline;
use vigie_social::generate::GeneratorConfig;
use vigie_social::pipeline::Retained;
use vigie_social::search::{SearchIndex, SearchOptions};
use vigie_social::small::SmallIds;
use vigie_social::stages::matcher::{MatchScratch, QuerySet, Topic};
use vigie_social::text::normalize;

const QUERIES: &[&str] = &[
    "incendie OR fumée",
    "Fumée",
    "tram NEAR/3 panne",
    "\"place du commerce\"",
    "manif* NOT rassemblement",
    "(tram OR ligne) AND (bloqué OR bloquée)",
    "place AND (concert OR NOT soleil)",
    "fire OR smoke OR \"is it true\"",
    "rumeur OR \"il paraît\"",
];

fn retained() -> (Vec<Retained>, SearchIndex) {
    let built = common::demo();
    let (bytes, _, _) = common::stream(
        &built,
        GeneratorConfig {
            seed: 9,
            duration_secs: 8 * 3600,
            city_per_min: 20.0,
            events: 3,
            ..GeneratorConfig::default()
        },
    );
    let mut cfg = built.pipeline_config.clone();
    cfg.keep_retained = true;
    let mut p = Pipeline::new(built.analyzer.clone(), cfg);
    vigie_social::run_ndjson(&mut p, &built.admission, &bytes, 65_536, 1);
    let posts = p.drain_retained();
    let mut ix = SearchIndex::in_memory().unwrap();
    ix.add(&posts).unwrap();
    ix.commit().unwrap();
    (posts, ix)
}

#[test]
fn the_index_and_the_matcher_agree() {
    let (posts, ix) = retained();
    assert!(posts.len() > 3000, "{}", posts.len());
    let all = SearchOptions { limit: 1000, ..Default::default() };
    for q in QUERIES {
        let set = QuerySet::new(vec![Topic::parse("q", q).unwrap()]).unwrap();
        let (mut scratch, mut out) = (MatchScratch::default(), SmallIds::default());
        let want: BTreeSet<&str> = posts
            .iter()
            .filter(|p| {
                set.matches(&normalize(&p.text), &mut scratch, &mut out);
                !out.is_empty()
            })
            .map(|p| p.id.as_str())
            .collect();
        let res = ix.search(q, &all).unwrap();
        assert_eq!(res.total, want.len(), "{q}: index {} vs matcher {}", res.total, want.len());
        if res.total <= 1000 {
            let got: BTreeSet<&str> = res.hits.iter().map(|h| h.id.as_str()).collect();
            assert_eq!(got, want, "{q}");
        }
        assert!(res.total > 0, "{q} matches something");
    }
}

#[test]
fn filters_deletes_and_purges() {
    let (posts, mut ix) = retained();
    let q = "place OR tram OR incendie OR rumeur OR fire";
    let all = ix.search(q, &SearchOptions { limit: 10, ..Default::default() }).unwrap();
    // Newest first.
    assert!(all.hits.windows(2).all(|w| w[0].time >= w[1].time));
    let mid = posts[posts.len() / 2].time_ms;
    let late = ix.search(q, &SearchOptions { limit: 10, from_ms: Some(mid), ..Default::default() }).unwrap();
    assert!(late.total < all.total && late.total > 0);
    let bouffay =
        ix.search(q, &SearchOptions { limit: 50, district: Some("bouffay".into()), ..Default::default() }).unwrap();
    assert!(bouffay.total > 0 && bouffay.hits.iter().all(|h| h.districts.iter().any(|d| d == "bouffay")));
    // A post deleted at its source disappears.
    let victim = all.hits[0].id.clone();
    ix.delete(&victim);
    ix.commit().unwrap();
    let after = ix.search(q, &SearchOptions { limit: 10, ..Default::default() }).unwrap();
    assert_eq!(after.total, all.total - 1);
    assert!(after.hits.iter().all(|h| h.id != victim));
    // Retention: one day after the newest post, with a retention of 1 day, posts older than
    // the newest minus... everything older than the cutoff goes.
    let before = ix.num_docs();
    let newest = posts.iter().map(|p| p.time_ms).max().unwrap();
    let purged = ix.purge(newest + 86_400_000 - 4 * 3_600_000, 1).unwrap();
    assert!(purged > 0 && purged < before, "{purged} of {before}");
    assert_eq!(ix.num_docs(), before - purged);
    assert_eq!(ix.purge(newest + 3 * 86_400_000, 1).unwrap(), before - purged);
    assert_eq!(ix.num_docs(), 0);
}

#[test]
fn bad_queries_are_refused_with_a_reason() {
    let (_, ix) = retained();
    for q in ["", "NOT tram", "(tram", "tram NEAR/x panne"] {
        assert!(ix.search(q, &SearchOptions { limit: 5, ..Default::default() }).is_err(), "{q}");
    }
}

#[test]
fn a_reader_in_another_process_sees_the_writers_commits_without_the_lock() {
    let (posts, _) = retained();
    let dir = tempfile::tempdir().unwrap();
    let mut writer = SearchIndex::open(dir.path()).unwrap();
    writer.add(&posts[..posts.len() / 2]).unwrap();
    writer.commit().unwrap();
    // The hub opens the same folder while `vigie social run` holds it for writing.
    let reader = vigie_social::search::SearchReader::open(dir.path()).expect("no write lock taken");
    let opts = SearchOptions { limit: 1000, ..SearchOptions::default() };
    let half = reader.search("incendie OR fumée OR tram OR place", &opts).unwrap().total;
    assert_eq!(reader.num_docs(), (posts.len() / 2) as u64);
    writer.add(&posts[posts.len() / 2..]).unwrap();
    writer.commit().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while reader.num_docs() < posts.len() as u64 {
        assert!(std::time::Instant::now() < deadline, "the reader never saw the second commit");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(reader.search("incendie OR fumée OR tram OR place", &opts).unwrap().total >= half);
    assert!(vigie_social::search::SearchReader::open(&dir.path().join("missing")).is_err());
}
