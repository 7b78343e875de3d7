//! Posts: the generic wire format read from NDJSON ([`RawPost`]) and the ingested form
//! ([`Post`]) that the rest of the pipeline sees.
//!
//! The author handle exists only in [`RawPost`], borrowed from the input line; admission
//! ([`crate::privacy::Admission`]) replaces it by a [`Pseudonym`] and drops it. No type
//! after ingest has a field that could hold a handle.

use std::borrow::Cow;

use serde::Deserialize;

/// One post in the generic format (one JSON object per line; see docs/social.md).
/// Unknown fields are ignored so that producers may carry extras.
#[derive(Debug, Deserialize)]
pub struct RawPost<'a> {
    /// The source's id of the post (a URL, a status id); made from the content if absent.
    #[serde(borrow, default)]
    pub id: Option<Cow<'a, str>>,
    /// When the post was published, RFC 3339.
    #[serde(borrow)]
    pub time: Cow<'a, str>,
    /// The text (plain text; HTML is the source adapter's to strip).
    #[serde(borrow)]
    pub text: Cow<'a, str>,
    /// The author's handle: pseudonymised at ingest, never kept.
    #[serde(borrow, default)]
    pub author: Option<Cow<'a, str>>,
    /// A language hint (`fr`, `en-GB`…), used when the text alone does not decide.
    #[serde(borrow, default)]
    pub lang: Option<Cow<'a, str>>,
    /// The publishing organisation; kept only when it is on the allowlist.
    #[serde(borrow, default)]
    pub organisation: Option<Cow<'a, str>>,
    /// The id of the post this one reshares (a boost, a retweet): dropped as a reshare.
    #[serde(borrow, default)]
    pub reshare_of: Option<Cow<'a, str>>,
    /// Hashtags as the platform lists them (without `#`); `nobot`/`noindex` opt out.
    #[serde(borrow, default)]
    pub tags: Vec<Cow<'a, str>>,
}

/// The languages the pipeline tells apart; everything else is `Und`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Lang {
    Fr,
    En,
    #[default]
    Und,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
            Lang::Und => "und",
        }
    }

    /// A BCP 47 tag's primary language (`fr-FR` → `Fr`); `None` for others.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("fr") {
            Some(Lang::Fr)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }
}

/// A salted, rotating hash standing for an author within one salt period. It is never
/// serialised: it serves only to count distinct authors of a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pseudonym(pub(crate) u64);

/// Which kind of source a post came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    Ndjson,
    Feed,
    Mastodon,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Ndjson => "ndjson",
            Platform::Feed => "feed",
            Platform::Mastodon => "mastodon",
        }
    }
}

/// Index of an organisation in the allowlist ([`crate::privacy::Allowlist`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrgId(pub u16);

/// A post after admission: handle replaced, mentions and links redacted from the text.
#[derive(Debug, Clone)]
pub struct Post<'a> {
    pub id: Cow<'a, str>,
    /// Publication time, milliseconds since the Unix epoch (UTC).
    pub time_ms: i64,
    /// Redacted text: `@handles` and e-mail addresses become `@…`, links `[lien]`.
    pub text: Cow<'a, str>,
    pub author: Pseudonym,
    pub platform: Platform,
    /// Set only for allowlisted organisations.
    pub organisation: Option<OrgId>,
    pub lang_hint: Option<Lang>,
    pub reshare: bool,
}

impl Post<'_> {
    /// An owned copy, for sending between threads.
    pub fn into_owned(self) -> Post<'static> {
        Post {
            id: Cow::Owned(self.id.into_owned()),
            time_ms: self.time_ms,
            text: Cow::Owned(self.text.into_owned()),
            author: self.author,
            platform: self.platform,
            organisation: self.organisation,
            lang_hint: self.lang_hint,
            reshare: self.reshare,
        }
    }
}
