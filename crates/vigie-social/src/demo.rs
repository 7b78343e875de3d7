//! A search index for the demo city: a generated half-day of posts about Nantes (with a
//! planted event or two) run through the whole pipeline, so that `vigie up --demo` shows
//! operators something to search. Demo only; nothing here reads a real platform.

use std::path::Path;

use crate::SocialError;
use crate::config::SocialConfig;
use crate::generate::{Generator, GeneratorConfig};
use crate::search::SearchIndex;

/// Builds (or rebuilds) the index at `index` from the social config at `config`, with
/// `hours` of generated posts ending at `now_ms`. Returns the number of posts indexed.
pub fn build_index(config: &Path, index: &Path, now_ms: i64, hours: u64) -> Result<usize, SocialError> {
    let (cfg, base) = SocialConfig::from_file(config)?;
    let built = cfg.build(&base)?;
    let duration_secs = hours * 3600;
    let mut generator = Generator::new(
        GeneratorConfig {
            seed: (now_ms as u64) | 1,
            start_ms: now_ms - duration_secs as i64 * 1000,
            duration_secs,
            city_per_min: 4.0,
            chatter_per_min: 2.0,
            events: 2,
            ..GeneratorConfig::default()
        },
        built.analyzer.geo.gazetteer().clone(),
    );
    let (ndjson, _) = generator.run_all();
    let mut pipeline_config = built.pipeline_config.clone();
    pipeline_config.keep_retained = true;
    let mut pipeline = crate::Pipeline::new(built.analyzer.clone(), pipeline_config);
    crate::run_ndjson(&mut pipeline, &built.admission, &ndjson, 65_536, 1);
    let posts = pipeline.drain_retained();
    let _ = std::fs::remove_dir_all(index);
    let mut ix = SearchIndex::open(index)?;
    ix.add(&posts)?;
    ix.commit()?;
    Ok(posts.len())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_index_has_posts_about_the_city() {
        let config = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/nantes/social.toml"));
        let dir = tempfile::tempdir().unwrap();
        let ix = dir.path().join("ix");
        let n = super::build_index(config, &ix, 1_795_000_000_000, 2).unwrap();
        assert!(n > 100, "{n} posts");
        let reader = crate::search::SearchReader::open(&ix).unwrap();
        assert_eq!(reader.num_docs(), n as u64);
        let found =
            reader.search("tram OR place", &crate::search::SearchOptions { limit: 5, ..Default::default() }).unwrap();
        assert!(found.total > 0);
    }
}
