//! The pipeline: admitted posts in, detections out.
//!
//! ```text
//! Post ─► Analyzer (stateless, any thread)          ─► Analysis ─► Pipeline::absorb (one thread)
//!         normalise, language, SimHash, watch            │          reshares, near-duplicates,
//!         queries, geoparse, sentiment                   │          bursts → detections,
//!                                                        ▼          retained posts (search)
//! ```
//!
//! The split lets [`run_ndjson`] analyse on every core while one thread keeps the state
//! (the dedup index and the burst series) in stream order.

use std::sync::Arc;

use vigie_model::{Detection, Kind, SensorId};

use crate::error::SocialError;
use crate::gazetteer::Gazetteer;
use crate::post::{Lang, OrgId, Platform, Post, Pseudonym};
use crate::privacy::{Admission, Allowlist, Rejection};
use crate::small::SmallIds;
use crate::sources::ndjson::parse_line;
use crate::stages::burst::{Alert, BurstConfig, BurstTracker, Observation, Policy, Recent, Scope};
use crate::stages::dedup::{DedupConfig, NearDuplicates, Verdict, simhash};
use crate::stages::emit::{EmitContext, Emitter};
use crate::stages::geoparse::{Geoparser, Whereabouts};
use crate::stages::lang::LangDetector;
use crate::stages::matcher::{MatchScratch, QuerySet};
use crate::stages::sentiment::{Polarity, SentimentScorer};
use crate::text::{Normalized, normalize_into};

/// The stateless stages, shared by every analysing thread.
pub struct Analyzer {
    pub lang: LangDetector,
    pub queries: QuerySet,
    pub geo: Geoparser,
    pub sentiment: SentimentScorer,
    pub allowlist: Arc<Allowlist>,
}

/// Per-thread buffers of [`Analyzer::analyze`].
#[derive(Default)]
pub struct Scratch {
    pub text: Normalized,
    matcher: MatchScratch,
}

/// What the analysis found in one post.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub time_ms: i64,
    pub fingerprint: u64,
    pub words: usize,
    pub author: Pseudonym,
    pub lang: Lang,
    pub score: f32,
    pub polarity: Polarity,
    pub topics: SmallIds,
    pub whereabouts: Whereabouts,
    pub reshare: bool,
    pub truncated: bool,
}

impl Analysis {
    /// The post concerns a watched topic or a place.
    pub fn relevant(&self) -> bool {
        !self.topics.is_empty() || !self.whereabouts.places.is_empty() || !self.whereabouts.districts.is_empty()
    }
}

/// The parts of a relevant post kept after analysis (for excerpts and the search index).
#[derive(Debug, Clone)]
pub struct Kept {
    pub id: String,
    pub text: Arc<str>,
    pub platform: Platform,
    pub organisation: Option<OrgId>,
}

impl Analyzer {
    pub fn new(
        queries: QuerySet,
        gazetteer: Gazetteer,
        sentiment: SentimentScorer,
        allowlist: Arc<Allowlist>,
    ) -> Result<Self, SocialError> {
        Ok(Analyzer { lang: LangDetector::new(), queries, geo: Geoparser::new(gazetteer)?, sentiment, allowlist })
    }

    pub fn analyze(&self, post: &Post<'_>, s: &mut Scratch) -> Analysis {
        normalize_into(&post.text, &mut s.text);
        let lang = self.lang.detect(&s.text, post.lang_hint);
        let mut topics = SmallIds::default();
        self.queries.matches(&s.text, &mut s.matcher, &mut topics);
        let whereabouts = self.geo.resolve(&s.text);
        let score = self.sentiment.score(&s.text, lang);
        Analysis {
            time_ms: post.time_ms,
            fingerprint: simhash(&s.text.tokens),
            words: s.text.tokens.len(),
            author: post.author,
            lang,
            score,
            polarity: self.sentiment.classify(score),
            topics,
            whereabouts,
            reshare: post.reshare,
            truncated: s.text.truncated,
        }
    }

    /// The analysis, plus what to keep of the post if it is relevant.
    pub fn analyze_keep(&self, post: &Post<'_>, s: &mut Scratch) -> (Analysis, Option<Kept>) {
        let a = self.analyze(post, s);
        let kept = a.relevant().then(|| Kept {
            id: post.id.to_string(),
            text: Arc::from(post.text.as_ref()),
            platform: post.platform,
            organisation: post.organisation,
        });
        (a, kept)
    }
}

/// Counts of what the pipeline saw; nothing is dropped without being counted here.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PipelineStats {
    pub posts_in: u64,
    pub admitted: u64,
    pub rejected: std::collections::BTreeMap<&'static str, u64>,
    pub reshares: u64,
    pub near_duplicates: u64,
    pub relevant: u64,
    pub truncated: u64,
    pub lang_fr: u64,
    pub lang_en: u64,
    pub lang_und: u64,
    pub late: u64,
    pub detections_burst: u64,
    pub detections_negative_buzz: u64,
}

impl PipelineStats {
    pub fn reject(&mut self, r: Rejection) {
        self.posts_in += 1;
        *self.rejected.entry(r.as_str()).or_insert(0) += 1;
    }
}

/// A retained post, ready for the search index.
#[derive(Debug, Clone)]
pub struct Retained {
    pub id: String,
    pub time_ms: i64,
    pub text: Arc<str>,
    pub lang: Lang,
    pub polarity: Polarity,
    pub score: f32,
    pub platform: Platform,
    pub organisation: Option<String>,
    pub topics: Vec<String>,
    pub places: Vec<String>,
    pub districts: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub sensor: SensorId,
    pub dedup: DedupConfig,
    pub bursts: BurstConfig,
    /// Keep retained posts for [`Pipeline::drain_retained`] (the search index).
    pub keep_retained: bool,
}

/// The stateful part, fed in stream order.
pub struct Pipeline {
    pub analyzer: Arc<Analyzer>,
    dedup: NearDuplicates,
    tracker: BurstTracker,
    emitter: Emitter,
    keep_retained: bool,
    retained: Vec<Retained>,
    scopes: Vec<Scope>,
    alerts: Vec<Alert>,
    /// The wall clock of the last [`Pipeline::tick`] (live sources only).
    now_ms: Option<i64>,
    pub stats: PipelineStats,
}

/// Live, a post dated further ahead of the wall clock than this is refused (`out_of_range`):
/// one absurd date must not move stream time past every real post.
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60_000;

impl Pipeline {
    pub fn new(analyzer: Arc<Analyzer>, cfg: PipelineConfig) -> Self {
        let g = analyzer.geo.gazetteer();
        let tracker = BurstTracker::new(cfg.bursts.clone(), analyzer.queries.len(), g.places.len(), g.districts.len());
        let policy = match cfg.bursts.policy {
            Policy::Kleinberg => "kleinberg",
            Policy::Sigma => "sigma",
            Policy::Either => "either",
            Policy::Both => "both",
        };
        Pipeline {
            emitter: Emitter { sensor: cfg.sensor, sigma_k: cfg.bursts.sigma.k, policy },
            dedup: NearDuplicates::new(cfg.dedup),
            tracker,
            analyzer,
            keep_retained: cfg.keep_retained,
            retained: Vec::new(),
            scopes: Vec::new(),
            alerts: Vec::new(),
            now_ms: None,
            stats: PipelineStats::default(),
        }
    }

    /// Analyses and absorbs one admitted post (the single-thread path).
    pub fn process(&mut self, post: &Post<'_>, scratch: &mut Scratch, out: &mut Vec<Detection>) {
        let (a, kept) = self.analyzer.analyze_keep(post, scratch);
        self.absorb(&a, kept, out);
    }

    /// Absorbs one analysed post, in stream order.
    pub fn absorb(&mut self, a: &Analysis, kept: Option<Kept>, out: &mut Vec<Detection>) {
        if let Some(now) = self.now_ms
            && a.time_ms > now + MAX_FUTURE_SKEW_MS
        {
            self.stats.reject(Rejection::OutOfRange);
            return;
        }
        self.stats.posts_in += 1;
        self.stats.admitted += 1;
        self.stats.truncated += u64::from(a.truncated);
        if a.reshare {
            self.stats.reshares += 1;
            return;
        }
        if self.dedup.check(a.fingerprint, a.words, a.author, a.time_ms) == Verdict::Duplicate {
            self.stats.near_duplicates += 1;
            return;
        }
        match a.lang {
            Lang::Fr => self.stats.lang_fr += 1,
            Lang::En => self.stats.lang_en += 1,
            Lang::Und => self.stats.lang_und += 1,
        }
        self.scopes.clear();
        self.scopes.extend(a.topics.as_slice().iter().map(|&t| Scope::Topic(t)));
        self.scopes.extend(a.whereabouts.places.as_slice().iter().map(|&p| Scope::Place(p)));
        self.scopes.extend(a.whereabouts.districts.as_slice().iter().map(|&d| Scope::District(d)));
        let recent = match &kept {
            Some(k) if !self.scopes.is_empty() => {
                self.stats.relevant += 1;
                Some(Recent {
                    time_ms: a.time_ms,
                    text: k.text.clone(),
                    lang: a.lang,
                    polarity: a.polarity,
                    author: a.author,
                    organisation: k.organisation,
                    place: a.whereabouts.best,
                })
            }
            _ => None,
        };
        let before = self.tracker.late_posts;
        self.tracker.observe(
            Observation {
                time_ms: a.time_ms,
                scopes: &self.scopes,
                negative: a.polarity == Polarity::Negative,
                recent,
            },
            &mut self.alerts,
        );
        self.stats.late += self.tracker.late_posts - before;
        if self.keep_retained
            && let Some(k) = kept
        {
            self.retain(a, k);
        }
        self.emit(out);
    }

    fn retain(&mut self, a: &Analysis, k: Kept) {
        let g = self.analyzer.geo.gazetteer();
        let q = &self.analyzer.queries;
        self.retained.push(Retained {
            id: k.id,
            time_ms: a.time_ms,
            text: k.text,
            lang: a.lang,
            polarity: a.polarity,
            score: a.score,
            platform: k.platform,
            organisation: k.organisation.and_then(|o| self.analyzer.allowlist.name(o)).map(str::to_owned),
            topics: a.topics.as_slice().iter().map(|&t| q.topics()[t as usize].id.clone()).collect(),
            places: a.whereabouts.places.as_slice().iter().map(|&p| g.places[p as usize].id.clone()).collect(),
            districts: a.whereabouts.districts.as_slice().iter().map(|&d| g.districts[d as usize].id.clone()).collect(),
        });
    }

    fn emit(&mut self, out: &mut Vec<Detection>) {
        if self.alerts.is_empty() {
            return;
        }
        let cx = EmitContext {
            gazetteer: self.analyzer.geo.gazetteer(),
            queries: &self.analyzer.queries,
            allowlist: &self.analyzer.allowlist,
            lang: &self.analyzer.lang,
        };
        for alert in self.alerts.drain(..) {
            let d = self.emitter.detection(&alert, &cx);
            match d.kind {
                Kind::SocialNegativeBuzz => self.stats.detections_negative_buzz += 1,
                _ => self.stats.detections_burst += 1,
            }
            out.push(d);
        }
    }

    /// Moves stream time on to the wall clock (live sources), closing due bins.
    pub fn tick(&mut self, now_ms: i64, out: &mut Vec<Detection>) {
        self.now_ms = Some(now_ms);
        self.tracker.advance_clock(now_ms, &mut self.alerts);
        self.emit(out);
    }

    /// Closes every open bin (end of the input).
    pub fn finish(&mut self, out: &mut Vec<Detection>) {
        self.tracker.finish(&mut self.alerts);
        self.emit(out);
    }

    /// Posts retained since the last call (when `keep_retained`).
    pub fn drain_retained(&mut self) -> Vec<Retained> {
        std::mem::take(&mut self.retained)
    }

    pub fn burst_config(&self) -> &BurstConfig {
        self.tracker.config()
    }
}

/// Lines per work unit of [`run_ndjson`].
const CHUNK_LINES: usize = 4096;

struct ChunkResult {
    items: Vec<(Analysis, Option<Kept>)>,
    rejected: Vec<Rejection>,
}

fn analyze_chunk(analyzer: &Analyzer, admission: &mut Admission, lines: &[&[u8]], s: &mut Scratch) -> ChunkResult {
    let mut r = ChunkResult { items: Vec::with_capacity(lines.len()), rejected: Vec::new() };
    for line in lines {
        match parse_line(line).and_then(|raw| admission.admit(raw, Platform::Ndjson)) {
            Ok(post) => r.items.push(analyzer.analyze_keep(&post, s)),
            Err(e) => r.rejected.push(e),
        }
    }
    r
}

/// Runs a whole NDJSON buffer through admission and the pipeline on `threads` analysing
/// threads (1: inline), keeping stream order; returns the detections, end of input closed.
pub fn run_ndjson(
    pipeline: &mut Pipeline,
    admission: &Admission,
    input: &[u8],
    max_line_bytes: usize,
    threads: usize,
) -> Vec<Detection> {
    let mut out = Vec::new();
    let mut lines: Vec<&[u8]> = Vec::new();
    for line in input.split(|&b| b == b'\n') {
        if line.len() > max_line_bytes {
            pipeline.stats.reject(Rejection::LineTooLong);
            continue;
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            lines.push(line);
        }
    }
    let analyzer = pipeline.analyzer.clone();
    let chunks: Vec<&[&[u8]]> = lines.chunks(CHUNK_LINES).collect();
    let apply = |p: &mut Pipeline, r: ChunkResult, out: &mut Vec<Detection>| {
        for e in r.rejected {
            p.stats.reject(e);
        }
        for (a, k) in r.items {
            p.absorb(&a, k, out);
        }
    };
    if threads <= 1 {
        let mut adm = admission.clone();
        let mut s = Scratch::default();
        for c in &chunks {
            let r = analyze_chunk(&analyzer, &mut adm, c, &mut s);
            apply(pipeline, r, &mut out);
        }
    } else {
        // Worker w analyses chunks w, w+T, w+2T…; the caller absorbs them in order.
        std::thread::scope(|scope| {
            let mut rxs = Vec::new();
            for w in 0..threads {
                let (tx, rx) = std::sync::mpsc::sync_channel::<ChunkResult>(4);
                rxs.push(rx);
                let (analyzer, chunks) = (&analyzer, &chunks);
                let mut adm = admission.clone();
                scope.spawn(move || {
                    let mut s = Scratch::default();
                    for c in chunks.iter().skip(w).step_by(threads) {
                        if tx.send(analyze_chunk(analyzer, &mut adm, c, &mut s)).is_err() {
                            return;
                        }
                    }
                });
            }
            for i in 0..chunks.len() {
                match rxs[i % threads].recv() {
                    Ok(r) => apply(pipeline, r, &mut out),
                    Err(_) => break,
                }
            }
        });
    }
    pipeline.finish(&mut out);
    out
}
