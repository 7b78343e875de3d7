//! Redaction at ingest: what could name a person in a post's text goes before the text is
//! kept, indexed or quoted in a detection.
//!
//! Any whitespace-separated chunk holding `@` (a mention `@alice`, `@bob@instance.social`,
//! an e-mail address) becomes `@…`; links become `[lien]` (a profile URL names its owner).

use std::borrow::Cow;

pub const REDACTED_HANDLE: &str = "@…";
pub const REDACTED_LINK: &str = "[lien]";

fn is_link(chunk: &str) -> bool {
    let t = chunk.trim_start_matches(|c: char| !c.is_alphanumeric());
    let b = t.as_bytes();
    let ci = |p: &[u8]| b.len() >= p.len() && b[..p.len()].eq_ignore_ascii_case(p);
    ci(b"http://") || ci(b"https://") || ci(b"www.")
}

/// The text with handles, addresses and links replaced; borrowed when nothing changes.
pub fn redact(text: &str) -> Cow<'_, str> {
    let lower_has_link = || {
        let b = text.as_bytes();
        b.windows(4).any(|w| w.eq_ignore_ascii_case(b"http") || w.eq_ignore_ascii_case(b"www."))
    };
    if !text.contains('@') && !lower_has_link() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let ws = rest.len() - rest.trim_start().len();
        out.push_str(&rest[..ws]);
        rest = &rest[ws..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let chunk = &rest[..end];
        if is_link(chunk) {
            out.push_str(REDACTED_LINK);
        } else if chunk.contains('@') {
            out.push_str(REDACTED_HANDLE);
        } else {
            out.push_str(chunk);
        }
        rest = &rest[end..];
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_mentions_addresses_and_links() {
        assert_eq!(
            redact("RT @alice: fumée place du Commerce, cc @bob@mastodon.social (jean@x.fr) https://x.org/@carol"),
            "RT @… fumée place du Commerce, cc @… @… [lien]"
        );
        assert!(matches!(redact("rien à cacher ici"), Cow::Borrowed(_)));
        assert_eq!(redact("  deux  espaces "), "  deux  espaces ");
    }
}
