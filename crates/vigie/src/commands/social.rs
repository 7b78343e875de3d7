//! `vigie social run|generate|search|purge`: flags and wiring; the work is in `vigie-social`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use vigie_social::config::{SocialConfig, SourceConfig};
use vigie_social::generate::{Generator, GeneratorConfig};
use vigie_social::live::{Output, drive};
use vigie_social::search::{SearchIndex, SearchOptions};
use vigie_social::sources::feed::FeedSource;
use vigie_social::sources::mastodon::MastodonSource;
use vigie_social::sources::ndjson::{DEFAULT_MAX_LINE_BYTES, NdjsonSource};
use vigie_social::sources::runner::{Source, spawn};

use crate::UsageError;
use crate::commands::publish::{PublishArgs, publish_and_report};

#[derive(Subcommand)]
pub enum SocialCommand {
    /// Watch sources (the config's, or NDJSON inputs) and emit social.burst /
    /// social.negative_buzz detections; keeps retained posts in the search index.
    Run(RunArgs),
    /// Generate a realistic stream of posts about the demo city with planted events
    /// (posts.ndjson and truth.json), deterministic from the seed.
    Generate(GenerateArgs),
    /// Search the retained posts with the watch-query language (JSON lines, newest first).
    Search(SearchArgs),
    /// Delete retained posts older than the retention period now.
    Purge(PurgeArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// The social config (TOML), e.g. demo/nantes/social.toml.
    #[arg(long)]
    config: PathBuf,
    /// Read these NDJSON files (`-`: standard input) instead of the config's sources;
    /// time then comes from the posts alone (a replay).
    #[arg(long)]
    input: Vec<PathBuf>,
    /// Write detections as NDJSON here (default: standard output, unless --hub is given).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Do not keep retained posts in the search index.
    #[arg(long)]
    no_index: bool,
    #[command(flatten)]
    publish: PublishArgs,
}

#[derive(Args)]
pub struct GenerateArgs {
    /// Output folder (created): posts.ndjson, truth.json.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Length of the stream, hours.
    #[arg(long, default_value_t = 24.0)]
    hours: f64,
    /// Start (RFC 3339); default: `hours` before now, so that a replay is recent.
    #[arg(long)]
    start: Option<DateTime<Utc>>,
    /// Background posts about the city per minute (daily mean).
    #[arg(long, default_value_t = 6.0)]
    city_per_min: f64,
    /// Chatter posts (no place) per minute, to make a firehose.
    #[arg(long, default_value_t = 0.0)]
    chatter_per_min: f64,
    /// Planted events (fire, tram breakdown, rumour in turn).
    #[arg(long, default_value_t = 3)]
    events: usize,
    /// The config whose gazetteer to use.
    #[arg(long, default_value = "demo/nantes/social.toml")]
    config: PathBuf,
}

#[derive(Args)]
pub struct SearchArgs {
    /// The query, e.g. `incendie AND "place du commerce"`.
    query: String,
    /// The social config (its `[index] path`).
    #[arg(long, conflicts_with = "index")]
    config: Option<PathBuf>,
    /// The index folder.
    #[arg(long)]
    index: Option<PathBuf>,
    #[arg(long, default_value_t = 20)]
    limit: usize,
    #[arg(long)]
    from: Option<DateTime<Utc>>,
    #[arg(long)]
    to: Option<DateTime<Utc>>,
    /// Only posts about this district id.
    #[arg(long)]
    district: Option<String>,
}

#[derive(Args)]
pub struct PurgeArgs {
    #[arg(long)]
    config: PathBuf,
}

pub fn run(cmd: SocialCommand) -> anyhow::Result<()> {
    match cmd {
        SocialCommand::Run(a) => run_cmd(a),
        SocialCommand::Generate(a) => generate(a),
        SocialCommand::Search(a) => search(a),
        SocialCommand::Purge(a) => purge(a),
    }
}

fn load(path: &Path) -> anyhow::Result<vigie_social::config::Built> {
    let (cfg, base) = SocialConfig::from_file(path).map_err(|e| UsageError(e.to_string()))?;
    cfg.build(&base).map_err(|e| UsageError(e.to_string()).into())
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn run_cmd(a: RunArgs) -> anyhow::Result<()> {
    let built = load(&a.config)?;
    let replay = !a.input.is_empty();
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    if replay {
        for p in &a.input {
            sources.push(Box::new(NdjsonSource { path: p.clone(), max_line_bytes: DEFAULT_MAX_LINE_BYTES }));
        }
    } else {
        for s in &built.sources {
            match s {
                SourceConfig::Ndjson { path } => {
                    sources.push(Box::new(NdjsonSource { path: path.clone(), max_line_bytes: DEFAULT_MAX_LINE_BYTES }))
                }
                SourceConfig::Feed { url, poll_secs, max_backoff_secs } => {
                    let org =
                        built.allowlist.by_feed(url).and_then(|o| built.allowlist.name(o)).unwrap_or("").to_owned();
                    sources.push(Box::new(FeedSource::new(
                        url.clone(),
                        org,
                        Duration::from_secs(*poll_secs),
                        Duration::from_secs(*max_backoff_secs),
                    )));
                }
                SourceConfig::Mastodon { url, timeline, tag, token_env, max_backoff_secs } => {
                    let token = token_env.as_ref().and_then(|v| std::env::var(v).ok());
                    sources.push(Box::new(MastodonSource::new(
                        url,
                        *timeline,
                        tag.as_deref(),
                        token,
                        built.allowlist.clone(),
                        Duration::from_secs(*max_backoff_secs),
                    )));
                }
            }
        }
    }
    if sources.is_empty() {
        return Err(UsageError("no sources: give --input FILE or [[sources]] in the config".into()).into());
    }
    let mut index = match (&built.index, a.no_index) {
        (Some(p), false) => Some(SearchIndex::open(p).with_context(|| format!("opening the index {}", p.display()))?),
        _ => None,
    };
    let mut pipeline = built.pipeline();
    let mut out: Box<dyn Write> = match &a.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None if a.publish.hub.is_some() => Box::new(std::io::sink()),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let mut publisher = a.publish.connect(&format!("vigie-social-{}", built.sensor))?;
    let running = spawn(sources, &built.admission, 65_536);
    {
        let stop = running.stop.clone();
        // Ctrl-C stops the sources; what is queued is still processed.
        let _ = std::thread::Builder::new().name("social-signal".into()).spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                rt.block_on(async {
                    let _ = tokio::signal::ctrl_c().await;
                });
                stop.stop();
            }
        });
    }
    let clock: Option<&dyn Fn() -> i64> = if replay { None } else { Some(&now_ms) };
    let mut error: Option<anyhow::Error> = None;
    let mut last_purge = std::time::Instant::now();
    let retention = built.retention_days;
    if let Some(ix) = index.as_mut() {
        ix.purge(now_ms(), retention)?;
    }
    drive(&running, &mut pipeline, clock, |o| {
        let r: anyhow::Result<()> = (|| {
            match o {
                Output::Detections(d) => {
                    for det in &d {
                        writeln!(out, "{}", det.to_json())?;
                    }
                    out.flush()?;
                    if let Some(p) = publisher.as_mut() {
                        publish_and_report(p, &d)?;
                    }
                }
                Output::Retained(posts) => {
                    if let Some(ix) = index.as_mut() {
                        ix.add(&posts)?;
                    }
                }
                Output::Deleted(id) => {
                    if let Some(ix) = index.as_mut() {
                        ix.delete(&id);
                    }
                }
                Output::Tick => {
                    if let Some(ix) = index.as_mut() {
                        ix.commit()?;
                        if last_purge.elapsed() >= Duration::from_secs(3600) {
                            last_purge = std::time::Instant::now();
                            ix.purge(now_ms(), retention)?;
                        }
                    }
                }
            }
            Ok(())
        })();
        match r {
            Ok(()) => true,
            Err(e) => {
                error = Some(e);
                false
            }
        }
    });
    if let Some(ix) = index.as_mut() {
        ix.commit()?;
    }
    let stats: Vec<serde_json::Value> = running.stats.iter().map(|s| s.snapshot()).collect();
    eprintln!("{}", serde_json::json!({"pipeline": pipeline.stats, "sources": stats}));
    running.join();
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn generate(a: GenerateArgs) -> anyhow::Result<()> {
    let hours_ok = a.hours > 0.0 && a.hours <= 24.0 * 366.0;
    let rates_ok = (0.0..=1e6).contains(&a.city_per_min) && (0.0..=1e7).contains(&a.chatter_per_min);
    if !(hours_ok && rates_ok) {
        return Err(UsageError("--hours must be within 0..8784, rates non-negative".into()).into());
    }
    let built = load(&a.config)?;
    let duration_secs = (a.hours * 3600.0) as u64;
    let start = a.start.unwrap_or_else(|| Utc::now() - chrono::Duration::seconds(duration_secs as i64));
    let cfg = GeneratorConfig {
        seed: a.seed,
        start_ms: start.timestamp_millis(),
        duration_secs,
        city_per_min: a.city_per_min,
        chatter_per_min: a.chatter_per_min,
        events: a.events,
        ..GeneratorConfig::default()
    };
    let mut g = Generator::new(cfg, built.analyzer.geo.gazetteer().clone());
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let posts = a.out.join("posts.ndjson");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&posts)?);
    let (mut buf, mut truths, mut n) = (Vec::new(), Vec::new(), 0usize);
    while g.next_minute(&mut buf, &mut truths) {
        w.write_all(&buf)?;
        n += truths.len();
        buf.clear();
        truths.clear();
    }
    w.flush()?;
    std::fs::write(a.out.join("truth.json"), g.truth_json())?;
    eprintln!("{n} posts → {}, {} events → {}", posts.display(), g.events.len(), a.out.join("truth.json").display());
    Ok(())
}

fn open_index(config: &Option<PathBuf>, index: &Option<PathBuf>) -> anyhow::Result<(SearchIndex, u32)> {
    match (config, index) {
        (_, Some(p)) => Ok((SearchIndex::open(p)?, 7)),
        (Some(c), None) => {
            let built = load(c)?;
            let p = built.index.ok_or_else(|| UsageError("the config has no [index] path".into()))?;
            Ok((SearchIndex::open(&p)?, built.retention_days))
        }
        (None, None) => Err(UsageError("give --config or --index".into()).into()),
    }
}

fn search(a: SearchArgs) -> anyhow::Result<()> {
    let (ix, _) = open_index(&a.config, &a.index)?;
    let opts = SearchOptions {
        limit: a.limit,
        from_ms: a.from.map(|t| t.timestamp_millis()),
        to_ms: a.to.map(|t| t.timestamp_millis()),
        district: a.district,
    };
    let res = ix.search(&a.query, &opts).map_err(|e| match e {
        vigie_social::SocialError::Query { .. } => anyhow::Error::new(UsageError(e.to_string())),
        e => e.into(),
    })?;
    let mut out = std::io::stdout().lock();
    for h in &res.hits {
        writeln!(out, "{}", serde_json::to_string(h)?)?;
    }
    eprintln!("{} post(s) match, {} shown", res.total, res.hits.len());
    Ok(())
}

fn purge(a: PurgeArgs) -> anyhow::Result<()> {
    let (mut ix, days) = open_index(&Some(a.config), &None)?;
    let n = ix.purge(now_ms(), days)?;
    eprintln!("{n} post(s) older than {days} days deleted");
    Ok(())
}
