//! Search for operators: a tantivy full-text index of the retained posts (those about a
//! watched topic or a place, after privacy admission: redacted texts, no authors), with
//! the watch-query language, time and district filters, and the retention purge.
//!
//! This is a library API: the hub wraps [`SearchIndex::search`] in its access control and
//! audit log when the two are wired together; `vigie social search` calls it directly on
//! a local index. An index holds no author, not even a pseudonym.

mod tokenizer;
mod translate;

use std::ops::Bound;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    DateOptions, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::{DateTime as TDate, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};

pub use tokenizer::{TOKENIZER, VigieTokenizer};

use crate::error::SocialError;
use crate::pipeline::Retained;
use crate::query::parse;

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    time: Field,
    text: Field,
    lang: Field,
    polarity: Field,
    score: Field,
    source: Field,
    topic: Field,
    place: Field,
    district: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text_opts = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let f = Fields {
        id: b.add_text_field("id", STRING | STORED),
        time: b.add_date_field("time", DateOptions::default().set_indexed().set_fast().set_stored()),
        text: b.add_text_field("text", text_opts),
        lang: b.add_text_field("lang", STRING | STORED),
        polarity: b.add_text_field("polarity", STRING | STORED),
        score: b.add_f64_field("score", STORED),
        source: b.add_text_field("source", STRING | STORED),
        topic: b.add_text_field("topic", STRING | STORED),
        place: b.add_text_field("place", STRING | STORED),
        district: b.add_text_field("district", STRING | STORED),
    };
    (b.build(), f)
}

fn err(e: impl std::fmt::Display) -> SocialError {
    SocialError::Search(e.to_string())
}

/// One post found.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub id: String,
    pub time: String,
    pub text: String,
    pub lang: String,
    pub polarity: String,
    pub score: f64,
    /// An allowlisted organisation, or the platform (`mastodon`, `feed`, `ndjson`).
    pub source: String,
    pub topics: Vec<String>,
    pub places: Vec<String>,
    pub districts: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<Hit>,
}

/// Filters and paging of a search.
#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    pub limit: usize,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub district: Option<String>,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: IndexWriter,
    f: Fields,
}

/// Memory for the indexing buffer (one thread: this is a 2-core edge machine).
const WRITER_HEAP_BYTES: usize = 64 * 1024 * 1024;

impl SearchIndex {
    /// Opens (or creates) an index in a folder.
    pub fn open(path: &Path) -> Result<Self, SocialError> {
        std::fs::create_dir_all(path).map_err(|e| SocialError::Read { path: path.to_owned(), source: e })?;
        let (schema, f) = schema();
        let dir = tantivy::directory::MmapDirectory::open(path).map_err(err)?;
        let index = Index::open_or_create(dir, schema).map_err(err)?;
        Self::with_index(index, f)
    }

    /// An index in memory (tests, benchmarks).
    pub fn in_memory() -> Result<Self, SocialError> {
        let (schema, f) = schema();
        Self::with_index(Index::create_in_ram(schema), f)
    }

    fn with_index(index: Index, f: Fields) -> Result<Self, SocialError> {
        index.tokenizers().register(TOKENIZER, tantivy::tokenizer::TextAnalyzer::from(VigieTokenizer::default()));
        let writer = index.writer_with_num_threads(1, WRITER_HEAP_BYTES).map_err(err)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(err)?;
        Ok(SearchIndex { index, reader, writer, f })
    }

    /// Adds retained posts (visible after [`Self::commit`]). A post already indexed under
    /// the same id is replaced.
    pub fn add(&mut self, posts: &[Retained]) -> Result<usize, SocialError> {
        let f = self.f;
        for p in posts {
            self.writer.delete_term(Term::from_field_text(f.id, &p.id));
            let mut d = TantivyDocument::default();
            d.add_text(f.id, &p.id);
            d.add_date(f.time, TDate::from_timestamp_millis(p.time_ms));
            d.add_text(f.text, &p.text);
            d.add_text(f.lang, p.lang.as_str());
            d.add_text(f.polarity, p.polarity.as_str());
            d.add_f64(f.score, (f64::from(p.score) * 1000.0).round() / 1000.0);
            d.add_text(f.source, p.organisation.as_deref().unwrap_or(p.platform.as_str()));
            for t in &p.topics {
                d.add_text(f.topic, t);
            }
            for t in &p.places {
                d.add_text(f.place, t);
            }
            for t in &p.districts {
                d.add_text(f.district, t);
            }
            self.writer.add_document(d).map_err(err)?;
        }
        Ok(posts.len())
    }

    /// Removes a post (deleted on its platform).
    pub fn delete(&mut self, id: &str) {
        self.writer.delete_term(Term::from_field_text(self.f.id, id));
    }

    pub fn commit(&mut self) -> Result<(), SocialError> {
        self.writer.commit().map_err(err)?;
        self.reader.reload().map_err(err)
    }

    fn before(&self, cutoff_ms: i64) -> RangeQuery {
        RangeQuery::new(
            Bound::Unbounded,
            Bound::Excluded(Term::from_field_date(self.f.time, TDate::from_timestamp_millis(cutoff_ms))),
        )
    }

    /// Deletes every post older than `retention_days` before `now_ms`; returns how many.
    pub fn purge(&mut self, now_ms: i64, retention_days: u32) -> Result<u64, SocialError> {
        let cutoff = now_ms - i64::from(retention_days) * 86_400_000;
        let n = self.reader.searcher().search(&self.before(cutoff), &Count).map_err(err)? as u64;
        if n > 0 {
            self.writer.delete_query(Box::new(self.before(cutoff))).map_err(err)?;
            self.commit()?;
        }
        tracing::info!(
            deleted = n,
            cutoff = %DateTime::<Utc>::from_timestamp_millis(cutoff).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true),
            retention_days,
            "vigie_social_index_purge"
        );
        Ok(n)
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Runs a query of the watch-query language; newest posts first.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchResults, SocialError> {
        search_in(&self.reader, self.f, query, opts)
    }

    /// The underlying tantivy index (for tools).
    pub fn tantivy(&self) -> &Index {
        &self.index
    }
}

/// A query of the watch-query language on a reader; newest posts first.
fn search_in(reader: &IndexReader, f: Fields, query: &str, opts: &SearchOptions) -> Result<SearchResults, SocialError> {
    let node = parse(query)?;
    let mut parts: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, translate::to_tantivy(&node, f.text)?)];
    if opts.from_ms.is_some() || opts.to_ms.is_some() {
        let b = |ms: Option<i64>, inclusive: bool| match ms {
            None => Bound::Unbounded,
            Some(ms) => {
                let t = Term::from_field_date(f.time, TDate::from_timestamp_millis(ms));
                if inclusive { Bound::Included(t) } else { Bound::Excluded(t) }
            }
        };
        parts.push((Occur::Must, Box::new(RangeQuery::new(b(opts.from_ms, true), b(opts.to_ms, false)))));
    }
    if let Some(d) = &opts.district {
        parts.push((
            Occur::Must,
            Box::new(TermQuery::new(Term::from_field_text(f.district, d), IndexRecordOption::Basic)),
        ));
    }
    let q = BooleanQuery::new(parts);
    let searcher = reader.searcher();
    let limit = opts.limit.clamp(1, 1000);
    let (total, top) = searcher
        .search(&q, &(Count, TopDocs::with_limit(limit).order_by_fast_field::<TDate>("time", Order::Desc)))
        .map_err(err)?;
    let mut hits = Vec::with_capacity(top.len());
    for (_, addr) in top {
        let d: TantivyDocument = searcher.doc(addr).map_err(err)?;
        let s = |field: Field| d.get_first(field).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let all = |field: Field| d.get_all(field).filter_map(|v| v.as_str().map(str::to_owned)).collect();
        let ms = d.get_first(f.time).and_then(|v| v.as_datetime()).map(|t| t.into_timestamp_millis()).unwrap_or(0);
        hits.push(Hit {
            id: s(f.id),
            time: DateTime::<Utc>::from_timestamp_millis(ms)
                .unwrap_or_default()
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            text: s(f.text),
            lang: s(f.lang),
            polarity: s(f.polarity),
            score: d.get_first(f.score).and_then(|v| v.as_f64()).unwrap_or(0.0),
            source: s(f.source),
            topics: all(f.topic),
            places: all(f.place),
            districts: all(f.district),
        });
    }
    Ok(SearchResults { total, hits })
}

/// Read-only access to an index that another process writes (`vigie social run`): what the
/// hub opens to let operators search, behind its accounts and its audit log. It never
/// takes the index's write lock, and sees each commit within about a second.
pub struct SearchReader {
    reader: IndexReader,
    f: Fields,
}

impl SearchReader {
    /// Opens an existing index folder.
    pub fn open(path: &Path) -> Result<Self, SocialError> {
        let (_, f) = schema();
        let dir = tantivy::directory::MmapDirectory::open(path).map_err(err)?;
        let index = Index::open(dir).map_err(|e| SocialError::Search(format!("{}: {e}", path.display())))?;
        index.tokenizers().register(TOKENIZER, tantivy::tokenizer::TextAnalyzer::from(VigieTokenizer::default()));
        let reader = index.reader_builder().reload_policy(ReloadPolicy::OnCommitWithDelay).try_into().map_err(err)?;
        Ok(SearchReader { reader, f })
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The same query language as [`SearchIndex::search`].
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchResults, SocialError> {
        search_in(&self.reader, self.f, query, opts)
    }
}
