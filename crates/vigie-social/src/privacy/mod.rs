//! Privacy at ingest: the only place a post's author handle is seen.
//!
//! [`Admission::admit`] turns a [`RawPost`] into a [`Post`]: posts marked `#nobot` or
//! `#noindex` are skipped, the handle becomes a rotating salted [`Pseudonym`], the
//! organisation is kept only if allowlisted, and mentions, addresses and links are redacted
//! from the text. Nothing downstream can see a handle because no later type holds one.

pub mod allowlist;
pub mod optout;
pub mod pseudonym;

use std::borrow::Cow;
use std::sync::Arc;

use chrono::DateTime;

pub use allowlist::{Allowlist, OrgKind, Organisation};
pub use pseudonym::Pseudonymizer;

use crate::post::{Lang, Platform, Post, Pseudonym, RawPost};
use crate::text::redact::redact;

/// Why an input post was not admitted; each is counted under [`Self::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rejection {
    InvalidUtf8,
    MalformedJson,
    LineTooLong,
    InvalidTime,
    EmptyText,
    OptedOut,
    /// A source item older than the retention period, or absurdly far in the future.
    OutOfRange,
}

impl Rejection {
    pub const ALL: [Rejection; 7] = [
        Rejection::InvalidUtf8,
        Rejection::MalformedJson,
        Rejection::LineTooLong,
        Rejection::InvalidTime,
        Rejection::EmptyText,
        Rejection::OptedOut,
        Rejection::OutOfRange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::InvalidUtf8 => "invalid_utf8",
            Rejection::MalformedJson => "malformed_json",
            Rejection::LineTooLong => "line_too_long",
            Rejection::InvalidTime => "invalid_time",
            Rejection::EmptyText => "empty_text",
            Rejection::OptedOut => "opted_out",
            Rejection::OutOfRange => "out_of_range",
        }
    }
}

/// Longest text kept of a post, bytes; longer texts are cut at a character boundary.
pub const DEFAULT_MAX_TEXT_BYTES: usize = 8 * 1024;

/// Converts raw posts into admitted posts (one per thread: it caches the current salt).
#[derive(Clone)]
pub struct Admission {
    pub pseudonymizer: Pseudonymizer,
    pub allowlist: Arc<Allowlist>,
    pub max_text_bytes: usize,
}

impl Admission {
    pub fn new(pseudonymizer: Pseudonymizer, allowlist: Arc<Allowlist>) -> Self {
        Admission { pseudonymizer, allowlist, max_text_bytes: DEFAULT_MAX_TEXT_BYTES }
    }

    /// Admits one post, or says why not. `raw.author` is dropped here.
    pub fn admit<'a>(&mut self, raw: RawPost<'a>, platform: Platform) -> Result<Post<'a>, Rejection> {
        if optout::opts_out(&raw.text, &raw.tags) {
            return Err(Rejection::OptedOut);
        }
        let time_ms = parse_time_ms(&raw.time).ok_or(Rejection::InvalidTime)?;
        let text = cut(raw.text, self.max_text_bytes);
        if text.trim().is_empty() {
            return Err(Rejection::EmptyText);
        }
        let organisation = raw.organisation.as_deref().and_then(|o| self.allowlist.by_name(o));
        let author = match raw.author.as_deref() {
            Some(h) if !h.is_empty() => self.pseudonymizer.pseudonym(h, time_ms),
            _ => Pseudonym::default(),
        };
        let id = match raw.id {
            Some(id) if !id.is_empty() && id.len() <= 512 => id,
            _ => Cow::Owned(format!("h{:016x}", crate::text::token_hash(&text) ^ time_ms as u64)),
        };
        let text = match redact(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(s) => Cow::Owned(s),
        };
        let reshare = raw.reshare_of.is_some() || text.starts_with("RT @");
        Ok(Post {
            id,
            time_ms,
            text,
            author,
            platform,
            organisation,
            lang_hint: raw.lang.as_deref().and_then(Lang::from_tag),
            reshare,
        })
    }
}

fn cut(text: Cow<'_, str>, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(&s[..end]),
        Cow::Owned(mut s) => {
            s.truncate(end);
            Cow::Owned(s)
        }
    }
}

/// RFC 3339 to milliseconds since the epoch; `None` when invalid or outside years 1970..9999.
pub fn parse_time_ms(s: &str) -> Option<i64> {
    let t = DateTime::parse_from_rfc3339(s).ok()?;
    let ms = t.timestamp_millis();
    (0..253_402_300_800_000).contains(&ms).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission() -> Admission {
        let allow = Allowlist::new(vec![Organisation {
            name: "Ouest-France".into(),
            kind: OrgKind::Press,
            accounts: vec!["ouestfrance@mastodon.social".into()],
            feeds: vec![],
        }])
        .unwrap();
        Admission::new(Pseudonymizer::new(86_400), Arc::new(allow))
    }

    fn raw<'a>(text: &'a str, author: Option<&'a str>) -> RawPost<'a> {
        RawPost {
            id: None,
            time: "2026-11-22T21:30:05Z".into(),
            text: text.into(),
            author: author.map(Into::into),
            lang: None,
            organisation: None,
            reshare_of: None,
            tags: vec![],
        }
    }

    #[test]
    fn replaces_the_handle_and_redacts_mentions() {
        let mut a = admission();
        let p = a.admit(raw("feu ! cc @alice_nts", Some("bob_nts")), Platform::Ndjson).unwrap();
        assert_eq!(p.text, "feu ! cc @…");
        assert_ne!(p.author, Pseudonym::default());
        let q = a.admit(raw("autre", Some("bob_nts")), Platform::Ndjson).unwrap();
        assert_eq!(p.author, q.author, "same author, same salt period");
        let debug = format!("{p:?}");
        assert!(!debug.contains("bob_nts") && !debug.contains("alice_nts"), "{debug}");
    }

    #[test]
    fn skips_opted_out_posts_and_bad_times() {
        let mut a = admission();
        assert_eq!(a.admit(raw("bla #NoBot", None), Platform::Ndjson).unwrap_err(), Rejection::OptedOut);
        let mut r = raw("bla", None);
        r.tags = vec!["noindex".into()];
        assert_eq!(a.admit(r, Platform::Ndjson).unwrap_err(), Rejection::OptedOut);
        let mut r = raw("bla", None);
        r.time = "hier".into();
        assert_eq!(a.admit(r, Platform::Ndjson).unwrap_err(), Rejection::InvalidTime);
        assert_eq!(a.admit(raw("   ", None), Platform::Ndjson).unwrap_err(), Rejection::EmptyText);
    }

    #[test]
    fn keeps_only_allowlisted_organisations() {
        let mut a = admission();
        let mut r = raw("info", None);
        r.organisation = Some("ouest-france".into());
        assert!(a.admit(r, Platform::Ndjson).unwrap().organisation.is_some());
        let mut r = raw("info", None);
        r.organisation = Some("Jean Dupont".into());
        assert!(a.admit(r, Platform::Ndjson).unwrap().organisation.is_none());
    }

    #[test]
    fn cuts_huge_texts_at_a_character_boundary() {
        let mut a = admission();
        let text = "é".repeat(10_000);
        let p = a.admit(raw(&text, None), Platform::Ndjson).unwrap();
        assert!(p.text.len() <= DEFAULT_MAX_TEXT_BYTES);
    }

    #[test]
    fn marks_reshares() {
        let mut a = admission();
        assert!(a.admit(raw("RT @alice: feu", None), Platform::Ndjson).unwrap().reshare);
        let mut r = raw("feu", None);
        r.reshare_of = Some("123".into());
        assert!(a.admit(r, Platform::Ndjson).unwrap().reshare);
    }
}
