//! Vigie online-media alerting: on topics and places, never on people.
//!
//! ```text
//! sources (NDJSON, RSS/Atom, Mastodon streaming)
//!   → admission (privacy: #nobot/#noindex skipped, handle → rotating salted pseudonym,
//!                allowlisted organisations only, mentions and links redacted)
//!   → normalise → language → SimHash near-duplicates and reshares dropped
//!   → watch queries (AND/OR/NOT, "phrases", NEAR/n, prefix*) → geoparse (gazetteer)
//!   → sentiment (fr/en) → bursts per topic, place and district (Kleinberg + mean+kσ)
//!   → social.burst / social.negative_buzz detections (contract v1)
//!   → retained posts → search index (tantivy, same query language), purged after N days
//! ```
//!
//! No type after admission can hold an author handle ([`post::Post`] has a
//! [`post::Pseudonym`]); detections carry counts, top terms and at most three redacted
//! excerpts, attributed only to allowlisted organisations.

pub mod config;
#[cfg(feature = "search")]
pub mod demo;
pub mod error;
pub mod eval;
pub mod gazetteer;
pub mod generate;
pub mod hashing;
pub mod live;
pub mod pipeline;
pub mod post;
pub mod privacy;
pub mod query;
#[cfg(feature = "search")]
pub mod search;
pub mod small;
pub mod sources;
pub mod stages;
pub mod text;

pub use error::SocialError;
pub use pipeline::{Analyzer, Pipeline, PipelineConfig, PipelineStats, Scratch, run_ndjson};
pub use post::{Lang, Post, RawPost};
