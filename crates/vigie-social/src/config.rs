//! The TOML configuration of `vigie social` (`demo/nantes/social.toml` is the demo's):
//! file types with unknown keys refused, then [`SocialConfig::validate`] into checked
//! values. Relative paths are relative to the file's folder.
//!
//! ```toml
//! sensor = "social-mastodon"
//! [gazetteer]    districts = "districts.geojson"  places = "places.geojson"  …
//! [privacy]      salt_rotation_hours = 24  retention_days = 7
//! [[privacy.organisations]]  name = "Ouest-France"  kind = "press"  feeds = […]
//! [[topics]]     id = "incendie"  query = "incendie OR fumée OR …"
//! [bursts]       bin_secs = 60  policy = "either"  …
//! [[sources]]    type = "feed"  url = "…"  poll_secs = 300
//! [index]        path = "social-index"
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use vigie_model::SensorId;

use crate::error::SocialError;
use crate::gazetteer::GazetteerFiles;
use crate::pipeline::{Analyzer, Pipeline, PipelineConfig};
use crate::privacy::{Admission, Allowlist, Organisation, Pseudonymizer};
use crate::stages::burst::{BurstConfig, Policy};
use crate::stages::dedup::DedupConfig;
use crate::stages::matcher::{QuerySet, Topic};
use crate::stages::sentiment::SentimentScorer;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialConfig {
    /// The sensor id detections carry (declared in the hub's config, type `social`).
    pub sensor: String,
    pub gazetteer: GazetteerFiles,
    #[serde(default)]
    pub privacy: PrivacyConfig,
    pub topics: Vec<TopicConfig>,
    #[serde(default)]
    pub bursts: BurstsConfig,
    #[serde(default)]
    pub dedup: DedupFileConfig,
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub index: Option<IndexConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// How long one salt of the author pseudonyms lasts, hours (1..=168).
    #[serde(default = "d_salt")]
    pub salt_rotation_hours: u32,
    /// Retained posts (search index) are purged after this many days (1..=365).
    #[serde(default = "d_retention")]
    pub retention_days: u32,
    #[serde(default)]
    pub organisations: Vec<Organisation>,
}

fn d_salt() -> u32 {
    24
}
fn d_retention() -> u32 {
    7
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig { salt_rotation_hours: d_salt(), retention_days: d_retention(), organisations: Vec::new() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    pub id: String,
    pub query: String,
}

/// Burst detection settings; every field has the default of [`BurstConfig`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstsConfig {
    pub bin_secs: Option<u32>,
    pub allowed_lateness_secs: Option<u32>,
    pub policy: Option<Policy>,
    pub warmup_bins: Option<u32>,
    pub cooldown_bins: Option<u32>,
    pub min_distinct_authors: Option<usize>,
    pub min_negative_share: Option<f64>,
    pub kleinberg_s: Option<f64>,
    pub kleinberg_gamma: Option<f64>,
    pub kleinberg_horizon_bins: Option<f64>,
    pub kleinberg_baseline_bins: Option<f64>,
    pub kleinberg_min_expected: Option<f64>,
    pub sigma_k: Option<f64>,
    pub sigma_window_bins: Option<usize>,
    pub sigma_span_bins: Option<f64>,
    pub sigma_min_count: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupFileConfig {
    pub max_distance: Option<u32>,
    pub window_secs: Option<u32>,
    pub min_words_across_authors: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexConfig {
    pub path: PathBuf,
}

/// Which Mastodon timeline to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeline {
    Public,
    PublicLocal,
    Hashtag,
    HashtagLocal,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// NDJSON posts in the generic format; `path = "-"` reads standard input.
    Ndjson { path: PathBuf },
    /// An RSS or Atom feed of an allowlisted organisation.
    Feed {
        url: String,
        #[serde(default = "d_poll")]
        poll_secs: u64,
        #[serde(default = "d_backoff")]
        max_backoff_secs: u64,
    },
    /// A Mastodon server's streaming API.
    Mastodon {
        /// The server, `https://mastodon.example`.
        url: String,
        timeline: Timeline,
        /// For hashtag timelines, without `#`.
        #[serde(default)]
        tag: Option<String>,
        /// Name of an environment variable holding an access token (never the token).
        #[serde(default)]
        token_env: Option<String>,
        #[serde(default = "d_backoff")]
        max_backoff_secs: u64,
    },
}

fn d_poll() -> u64 {
    300
}
fn d_backoff() -> u64 {
    3600
}

/// Everything built from a valid config.
pub struct Built {
    pub sensor: SensorId,
    pub analyzer: Arc<Analyzer>,
    pub pipeline_config: PipelineConfig,
    pub admission: Admission,
    pub allowlist: Arc<Allowlist>,
    pub retention_days: u32,
    pub sources: Vec<SourceConfig>,
    pub index: Option<PathBuf>,
}

impl Built {
    pub fn pipeline(&self) -> Pipeline {
        Pipeline::new(self.analyzer.clone(), self.pipeline_config.clone())
    }
}

fn within<T: PartialOrd + std::fmt::Display>(name: &str, v: T, lo: T, hi: T) -> Result<T, SocialError> {
    if v >= lo && v <= hi { Ok(v) } else { Err(SocialError::config(format!("{name} = {v} is outside {lo}..={hi}"))) }
}

impl SocialConfig {
    pub fn from_file(path: &Path) -> Result<(SocialConfig, PathBuf), SocialError> {
        let text = std::fs::read_to_string(path).map_err(|e| SocialError::Read { path: path.to_owned(), source: e })?;
        let cfg: SocialConfig =
            toml::from_str(&text).map_err(|e| SocialError::config(format!("{}: {e}", path.display())))?;
        Ok((cfg, path.parent().map(Path::to_owned).unwrap_or_default()))
    }

    pub fn burst_config(&self) -> Result<BurstConfig, SocialError> {
        let b = &self.bursts;
        let mut c = BurstConfig::default();
        if let Some(v) = b.bin_secs {
            c.bin_secs = within("bursts.bin_secs", v, 10, 3600)?;
        }
        if let Some(v) = b.allowed_lateness_secs {
            c.allowed_lateness_secs = within("bursts.allowed_lateness_secs", v, 0, 3600)?;
        }
        if let Some(v) = b.policy {
            c.policy = v;
        }
        if let Some(v) = b.warmup_bins {
            c.warmup_bins = within("bursts.warmup_bins", v, 0, 100_000)?;
        }
        if let Some(v) = b.cooldown_bins {
            c.cooldown_bins = within("bursts.cooldown_bins", v, 1, 100_000)?;
        }
        if let Some(v) = b.min_distinct_authors {
            c.min_distinct_authors = within("bursts.min_distinct_authors", v, 1, 1000)?;
        }
        if let Some(v) = b.min_negative_share {
            c.min_negative_share = within("bursts.min_negative_share", v, 0.0, 1.0)?;
        }
        if let Some(v) = b.kleinberg_s {
            c.kleinberg.s = within("bursts.kleinberg_s", v, 1.1, 100.0)?;
        }
        if let Some(v) = b.kleinberg_gamma {
            c.kleinberg.gamma = within("bursts.kleinberg_gamma", v, 0.01, 100.0)?;
        }
        if let Some(v) = b.kleinberg_horizon_bins {
            c.kleinberg.horizon_bins = within("bursts.kleinberg_horizon_bins", v, 2.0, 1e7)?;
        }
        if let Some(v) = b.kleinberg_baseline_bins {
            c.kleinberg.baseline_bins = within("bursts.kleinberg_baseline_bins", v, 1.0, 1e7)?;
        }
        if let Some(v) = b.kleinberg_min_expected {
            c.kleinberg.min_expected = within("bursts.kleinberg_min_expected", v, 0.001, 1e6)?;
        }
        if let Some(v) = b.sigma_k {
            c.sigma.k = within("bursts.sigma_k", v, 0.5, 100.0)?;
        }
        if let Some(v) = b.sigma_window_bins {
            c.sigma.window_bins = within("bursts.sigma_window_bins", v, 1, 1440)?;
        }
        if let Some(v) = b.sigma_span_bins {
            c.sigma.span_bins = within("bursts.sigma_span_bins", v, 1.0, 1e7)?;
        }
        if let Some(v) = b.sigma_min_count {
            c.sigma.min_count = within("bursts.sigma_min_count", v, 1, 1_000_000)?;
        }
        Ok(c)
    }

    /// Checks everything and builds the stages. `base` resolves relative paths.
    pub fn build(&self, base: &Path) -> Result<Built, SocialError> {
        let sensor = SensorId::new(self.sensor.clone()).map_err(|e| SocialError::config(format!("sensor: {e}")))?;
        let p = &self.privacy;
        within("privacy.salt_rotation_hours", p.salt_rotation_hours, 1, 168)?;
        within("privacy.retention_days", p.retention_days, 1, 365)?;
        let allowlist = Arc::new(Allowlist::new(p.organisations.clone())?);
        if self.topics.is_empty() {
            return Err(SocialError::config("no [[topics]]: give at least one watch query"));
        }
        let mut topics = Vec::new();
        for t in &self.topics {
            if t.id.is_empty()
                || t.id.len() > 64
                || !t.id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(SocialError::config(format!("topic id {:?} must be 1..64 of [A-Za-z0-9._-]", t.id)));
            }
            topics.push(Topic::parse(&t.id, &t.query)?);
        }
        let files = GazetteerFiles {
            districts: base.join(&self.gazetteer.districts),
            places: base.join(&self.gazetteer.places),
            streets: self.gazetteer.streets.as_ref().map(|s| base.join(s)),
            aliases: self.gazetteer.aliases.as_ref().map(|s| base.join(s)),
        };
        let gazetteer = files.load()?;
        for s in &self.sources {
            match s {
                SourceConfig::Feed { url, poll_secs, max_backoff_secs } => {
                    if allowlist.by_feed(url).is_none() {
                        return Err(SocialError::config(format!(
                            "feed {url}: not listed under any [[privacy.organisations]] (only allowlisted organisations' feeds are read)"
                        )));
                    }
                    within("poll_secs", *poll_secs, 30, 86_400)?;
                    within("max_backoff_secs", *max_backoff_secs, *poll_secs, 7 * 86_400)?;
                }
                SourceConfig::Mastodon { url, timeline, tag, max_backoff_secs, .. } => {
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        return Err(SocialError::config(format!("mastodon {url}: not an http(s) URL")));
                    }
                    if matches!(timeline, Timeline::Hashtag | Timeline::HashtagLocal) && tag.is_none() {
                        return Err(SocialError::config(format!("mastodon {url}: a hashtag timeline needs `tag`")));
                    }
                    within("max_backoff_secs", *max_backoff_secs, 1, 7 * 86_400)?;
                }
                SourceConfig::Ndjson { .. } => {}
            }
        }
        let d = &self.dedup;
        let mut dedup = DedupConfig::default();
        if let Some(v) = d.max_distance {
            dedup.max_distance = within("dedup.max_distance", v, 0, 3)?;
        }
        if let Some(v) = d.window_secs {
            dedup.window_secs = within("dedup.window_secs", v, 1, 7 * 86_400)?;
        }
        if let Some(v) = d.min_words_across_authors {
            dedup.min_words_across_authors = within("dedup.min_words_across_authors", v, 1, 1000)?;
        }
        let analyzer =
            Arc::new(Analyzer::new(QuerySet::new(topics)?, gazetteer, SentimentScorer::builtin()?, allowlist.clone())?);
        Ok(Built {
            pipeline_config: PipelineConfig {
                sensor: sensor.clone(),
                dedup,
                bursts: self.burst_config()?,
                keep_retained: self.index.is_some(),
            },
            sensor,
            analyzer,
            admission: Admission::new(Pseudonymizer::new(u64::from(p.salt_rotation_hours) * 3600), allowlist.clone()),
            allowlist,
            retention_days: p.retention_days,
            sources: self.sources.clone(),
            index: self.index.as_ref().map(|i| base.join(&i.path)),
        })
    }
}
