//! Source `mastodon`: a server's streaming API (server-sent events), public or hashtag
//! timelines, as Mastodon documents it:
//!
//! ```text
//! GET /api/v1/streaming/public | /public/local | /hashtag?tag=X | /hashtag/local?tag=X
//! event: update            data: {Status JSON}       a new status
//! event: delete            data: 1234                a deleted status (dropped from the index)
//! event: status.update     data: {Status JSON}       an edit (counted, not re-read)
//! :thump                                             heartbeat
//! ```
//!
//! A status is skipped when its author opted out: `#nobot` or `#noindex` in the profile
//! note or in the status, or the account's `noindex` flag. The status HTML becomes text;
//! a boost (`reblog`) is a reshare. Only allowlisted organisations' accounts are named.
//!
//! The connection is reopened with back-off when it fails, ends, or stays silent longer
//! than `stall` (no event and no heartbeat: a hung server).

use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::runner::{Intake, Source, backoff};
use super::sse::{SseItem, SseParser};
use crate::config::Timeline;
use crate::post::{Platform, RawPost};
use crate::privacy::Allowlist;
use crate::privacy::optout::text_opts_out;
use crate::text::html::to_text;

const MAX_EVENT_BYTES: usize = 1024 * 1024;
const MAX_LINE_BYTES: usize = MAX_EVENT_BYTES + 64;

#[derive(Debug, Deserialize)]
pub struct Account {
    pub acct: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub noindex: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct Tag {
    pub name: String,
}

/// The fields of a Mastodon Status that Vigie reads (the rest is ignored).
#[derive(Debug, Deserialize)]
pub struct Status {
    pub id: String,
    #[serde(default)]
    pub uri: Option<String>,
    pub created_at: String,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub spoiler_text: String,
    #[serde(default)]
    pub language: Option<String>,
    pub account: Account,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub reblog: Option<Box<Status>>,
}

/// What became of one status.
#[derive(Debug, PartialEq, Eq)]
pub enum StatusFate {
    Offered,
    OptedOut,
}

/// The account (`user` on the server itself, `user@domain` elsewhere) as `user@domain`.
fn full_acct(acct: &str, server_host: &str) -> String {
    if acct.contains('@') { acct.to_owned() } else { format!("{acct}@{server_host}") }
}

/// Turns a status into a raw post and offers it; opted-out authors are never processed.
pub fn offer_status(status: &Status, server_host: &str, allowlist: &Allowlist, intake: &mut Intake) -> StatusFate {
    let s = status.reblog.as_deref().unwrap_or(status);
    let opted_out = |st: &Status| {
        st.account.noindex == Some(true)
            || text_opts_out(&to_text(&st.account.note))
            || text_opts_out(&st.content)
            || st.tags.iter().any(|t| t.name.eq_ignore_ascii_case("nobot") || t.name.eq_ignore_ascii_case("noindex"))
    };
    if opted_out(status) || opted_out(s) {
        intake.reject(crate::privacy::Rejection::OptedOut);
        return StatusFate::OptedOut;
    }
    let acct = full_acct(&status.account.acct, server_host);
    let organisation = allowlist.by_account(&acct).and_then(|o| allowlist.name(o)).map(str::to_owned);
    let mut text = to_text(&s.content).trim().to_owned();
    if !s.spoiler_text.trim().is_empty() {
        text = format!("{}\n{}", s.spoiler_text.trim(), text);
    }
    let id = status.uri.clone().unwrap_or_else(|| format!("{server_host}/{}", status.id));
    let raw = RawPost {
        id: Some(id.into()),
        time: status.created_at.as_str().into(),
        text: text.into(),
        author: Some(acct.into()),
        lang: s.language.as_deref().map(Into::into),
        organisation: organisation.map(Into::into),
        reshare_of: status.reblog.as_ref().map(|r| r.id.as_str().into()),
        tags: Vec::new(),
    };
    intake.offer(raw, Platform::Mastodon);
    StatusFate::Offered
}

pub struct MastodonSource {
    /// The streaming URL (built from the server and the timeline).
    pub url: String,
    pub host: String,
    pub token: Option<String>,
    pub allowlist: std::sync::Arc<Allowlist>,
    pub max_backoff: Duration,
    /// Silence after which the connection is considered hung.
    pub stall: Duration,
}

impl MastodonSource {
    pub fn new(
        server: &str,
        timeline: Timeline,
        tag: Option<&str>,
        token: Option<String>,
        allowlist: std::sync::Arc<Allowlist>,
        max_backoff: Duration,
    ) -> Self {
        let base = server.trim_end_matches('/');
        let enc = |t: &str| t.chars().filter(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
        let path = match timeline {
            Timeline::Public => "public".to_owned(),
            Timeline::PublicLocal => "public/local".to_owned(),
            Timeline::Hashtag => format!("hashtag?tag={}", enc(tag.unwrap_or(""))),
            Timeline::HashtagLocal => format!("hashtag/local?tag={}", enc(tag.unwrap_or(""))),
        };
        let host = base.split("://").nth(1).unwrap_or(base).split('/').next().unwrap_or("").to_owned();
        MastodonSource {
            url: format!("{base}/api/v1/streaming/{path}"),
            host,
            token,
            allowlist,
            max_backoff,
            stall: Duration::from_secs(90),
        }
    }

    /// Reads one connection until it ends or fails. Returns how long it was up.
    fn connection(&self, intake: &mut Intake) -> Result<Duration, (&'static str, String)> {
        let started = Instant::now();
        let agent = super::feed::agent(self.stall, None);
        let mut req = agent.get(&self.url).header("Accept", "text/event-stream");
        if let Some(t) = &self.token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        let resp = req.call().map_err(|e| ("connect", e.to_string()))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(("http_status", format!("HTTP status {status}")));
        }
        let mut reader = BufReader::new(resp.into_body().into_reader());
        let mut parser = SseParser::new(MAX_EVENT_BYTES);
        let mut line = Vec::new();
        loop {
            if intake.stop().stopped() {
                return Ok(started.elapsed());
            }
            line.clear();
            let n = (&mut reader).take(MAX_LINE_BYTES as u64).read_until(b'\n', &mut line).map_err(|e| {
                if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)
                    || e.to_string().contains("imeout")
                {
                    ("stalled", format!("no data for {} s", self.stall.as_secs()))
                } else {
                    ("read", e.to_string())
                }
            })?;
            if n == 0 {
                return Err(("closed", "the server closed the stream".into()));
            }
            if line.last() != Some(&b'\n') && n >= MAX_LINE_BYTES {
                intake.error("bad_event", "a line longer than the bound");
                // Skip the rest of that line.
                let mut sink = Vec::new();
                let _ = reader.read_until(b'\n', &mut sink);
                continue;
            }
            let text = match std::str::from_utf8(&line) {
                Ok(t) => t.trim_end_matches(['\n', '\r']),
                Err(_) => {
                    intake.error("bad_event", "invalid UTF-8 in the stream");
                    continue;
                }
            };
            match parser.line(text) {
                Some(SseItem::Event { event, data }) => match event.as_str() {
                    "update" => match serde_json::from_str::<Status>(&data) {
                        Ok(st) => {
                            offer_status(&st, &self.host, &self.allowlist, intake);
                        }
                        Err(e) => intake.error("bad_event", format!("update is not a status: {e}")),
                    },
                    "delete" => {
                        let id = data.trim().to_owned();
                        if !id.is_empty() && id.len() < 128 {
                            intake.delete(format!("{}/{id}", self.host));
                        }
                    }
                    _ => {} // status.update, notification, filters_changed…
                },
                Some(SseItem::Oversized) => intake.error("bad_event", "an event over 1 MiB was skipped"),
                Some(SseItem::Heartbeat) | None => {}
            }
        }
    }
}

impl Source for MastodonSource {
    fn name(&self) -> String {
        format!("mastodon:{}", self.url)
    }

    fn run(self: Box<Self>, mut intake: Intake) {
        let mut failures = 0u32;
        loop {
            if intake.stop().stopped() {
                return;
            }
            match self.connection(&mut intake) {
                Ok(_) => return,
                Err((kind, detail)) => {
                    intake.error(kind, format!("{}: {detail}", self.url));
                    failures = failures.saturating_add(1);
                }
            }
            let wait = backoff(Duration::from_secs(1), failures, self.max_backoff, u64::from(failures));
            if !intake.stop().clone().sleep(wait) {
                return;
            }
        }
    }
}
