//! Source `feed`: an RSS or Atom feed of an allowlisted organisation, polled politely.
//!
//! - Conditional requests: the `ETag` and `Last-Modified` of the last answer go back as
//!   `If-None-Match` and `If-Modified-Since`; a `304 Not Modified` costs the server nothing.
//! - Back-off: after a failure (network, HTTP error, a body that is not a feed) the next
//!   poll waits `poll · 2^failures` (±20 %, capped by `max_backoff`); `Retry-After` on 429
//!   and 503 is obeyed. One success resets it.
//! - Bounds: a body over 8 MiB, a read stalled for 30 s or a request over 60 s is an error.
//! - Items seen before (by id) are not sent again (the last 10 000 ids are remembered).
//!
//! Feed items are attributed to the organisation, never to their (journalist) authors.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};

use super::runner::{Intake, Source, backoff};
use crate::post::{Platform, RawPost};
use crate::text::html::to_text;

const MAX_BODY_BYTES: u64 = 8 * 1024 * 1024;
const REMEMBERED_IDS: usize = 10_000;

/// One poll's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// New items were read (their count) and sent.
    Items(usize),
    NotModified,
    /// The server asked to wait (429/503 with `Retry-After`).
    RetryAfter(Duration),
}

/// Why a poll failed; [`FeedError::kind`] is the counter's label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedError {
    Network(String),
    Status(u16),
    NotAFeed(String),
    TooLarge,
}

impl FeedError {
    pub fn kind(&self) -> &'static str {
        match self {
            FeedError::Network(_) => "network",
            FeedError::Status(_) => "http_status",
            FeedError::NotAFeed(_) => "not_a_feed",
            FeedError::TooLarge => "too_large",
        }
    }
}

impl std::fmt::Display for FeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeedError::Network(e) => write!(f, "network: {e}"),
            FeedError::Status(s) => write!(f, "HTTP status {s}"),
            FeedError::NotAFeed(e) => write!(f, "not an RSS/Atom feed: {e}"),
            FeedError::TooLarge => write!(f, "body larger than {MAX_BODY_BYTES} bytes"),
        }
    }
}

pub struct FeedSource {
    pub url: String,
    pub organisation: String,
    pub poll: Duration,
    pub max_backoff: Duration,
    agent: ureq::Agent,
    etag: Option<String>,
    last_modified: Option<String>,
    seen: HashSet<String>,
    seen_order: VecDeque<String>,
    /// Consecutive failures.
    pub failures: u32,
}

/// Bound on a stalled read of a feed, and on a whole request.
pub const FEED_READ_TIMEOUT: Duration = Duration::from_secs(30);
pub const FEED_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn agent(per_read: Duration, global: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_per_read(Some(per_read))
        .timeout_global(global)
        .user_agent(concat!("vigie-social/", env!("CARGO_PKG_VERSION"), " (public-interest media monitoring)"))
        .build()
        .new_agent()
}

impl FeedSource {
    pub fn new(url: String, organisation: String, poll: Duration, max_backoff: Duration) -> Self {
        FeedSource {
            url,
            organisation,
            poll,
            max_backoff,
            agent: agent(FEED_READ_TIMEOUT, Some(FEED_REQUEST_TIMEOUT)),
            etag: None,
            last_modified: None,
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            failures: 0,
        }
    }

    /// Other bounds on a stalled read and a whole request (tests use short ones).
    pub fn with_timeouts(mut self, read: Duration, request: Duration) -> Self {
        self.agent = agent(read, Some(request));
        self
    }

    fn remember(&mut self, id: &str) -> bool {
        if self.seen.contains(id) {
            return false;
        }
        if self.seen_order.len() == REMEMBERED_IDS
            && let Some(old) = self.seen_order.pop_front()
        {
            self.seen.remove(&old);
        }
        self.seen.insert(id.to_owned());
        self.seen_order.push_back(id.to_owned());
        true
    }

    /// One conditional GET; new items go to `intake`.
    pub fn poll_once(&mut self, intake: &mut Intake) -> Result<PollOutcome, FeedError> {
        let mut req = self
            .agent
            .get(&self.url)
            .header("Accept", "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5");
        if let Some(e) = &self.etag {
            req = req.header("If-None-Match", e);
        }
        if let Some(m) = &self.last_modified {
            req = req.header("If-Modified-Since", m);
        }
        let mut resp = req.call().map_err(|e| FeedError::Network(e.to_string()))?;
        let status = resp.status().as_u16();
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        match status {
            304 => return Ok(PollOutcome::NotModified),
            429 | 503 => {
                if let Some(secs) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
                    return Ok(PollOutcome::RetryAfter(Duration::from_secs(secs.min(86_400))));
                }
                return Err(FeedError::Status(status));
            }
            200..=299 => {}
            _ => return Err(FeedError::Status(status)),
        }
        let (etag, modified) = (header("etag"), header("last-modified"));
        let body = resp.body_mut().with_config().limit(MAX_BODY_BYTES).read_to_vec().map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => FeedError::TooLarge,
            e => FeedError::Network(e.to_string()),
        })?;
        let feed = feed_rs::parser::parse(body.as_slice()).map_err(|e| FeedError::NotAFeed(e.to_string()))?;
        // Remember validators only for a body that parsed.
        self.etag = etag;
        self.last_modified = modified;
        let mut n = 0;
        let fetched = Utc::now();
        for entry in feed.entries {
            if !self.remember(&entry.id) {
                continue;
            }
            let title = entry.title.map(|t| to_text(&t.content)).unwrap_or_default();
            let summary = entry
                .summary
                .map(|t| to_text(&t.content))
                .or_else(|| entry.content.and_then(|c| c.body).map(|b| to_text(&b)))
                .unwrap_or_default();
            let text = match (title.trim().is_empty(), summary.trim().is_empty()) {
                (false, false) => format!("{}. {}", title.trim(), summary.trim()),
                (false, true) => title.trim().to_owned(),
                _ => summary.trim().to_owned(),
            };
            let time = entry.published.or(entry.updated).unwrap_or(fetched).to_rfc3339_opts(SecondsFormat::Secs, true);
            let author = format!("org:{}", self.organisation);
            let raw = RawPost {
                id: Some(entry.id.as_str().into()),
                time: time.into(),
                text: text.into(),
                author: Some(author.as_str().into()),
                lang: feed.language.as_deref().map(Into::into),
                organisation: Some(self.organisation.as_str().into()),
                reshare_of: None,
                tags: Vec::new(),
            };
            if !intake.offer(raw, Platform::Feed) {
                break;
            }
            n += 1;
        }
        Ok(PollOutcome::Items(n))
    }

    /// How long to wait after an outcome.
    pub fn next_wait(&mut self, outcome: &Result<PollOutcome, FeedError>) -> Duration {
        match outcome {
            Ok(PollOutcome::RetryAfter(d)) => {
                self.failures = self.failures.saturating_add(1);
                (*d).max(self.poll).min(self.max_backoff.max(*d))
            }
            Ok(_) => {
                self.failures = 0;
                self.poll
            }
            Err(_) => {
                self.failures = self.failures.saturating_add(1);
                backoff(self.poll, self.failures, self.max_backoff, self.seen.len() as u64 + u64::from(self.failures))
            }
        }
    }
}

impl Source for FeedSource {
    fn name(&self) -> String {
        format!("feed:{}", self.url)
    }

    fn run(mut self: Box<Self>, mut intake: Intake) {
        loop {
            if intake.stop().stopped() {
                return;
            }
            let outcome = self.poll_once(&mut intake);
            if let Err(e) = &outcome {
                intake.error(e.kind(), format!("{}: {e}", self.url));
            }
            let wait = self.next_wait(&outcome);
            if !intake.stop().clone().sleep(wait) {
                return;
            }
        }
    }
}
