//! Sources of posts: NDJSON files or standard input, RSS/Atom feeds polled politely, and
//! the Mastodon streaming API. Each source runs on its own thread ([`runner`]) and admits
//! its posts there (privacy first), then hands them to the pipeline through a bounded
//! channel: a source that hangs or sends garbage delays or harms no other, and each counts
//! its own errors.

#[cfg(feature = "http-sources")]
pub mod feed;
#[cfg(feature = "http-sources")]
pub mod mastodon;
pub mod ndjson;
pub mod runner;
pub mod sse;
