//! The fediverse's opt-out conventions: a post (or a profile) carrying `#nobot` or
//! `#noindex` is not processed at all.

/// True if the text or the tags carry `#nobot` / `#noindex` (any case).
pub fn opts_out<S: AsRef<str>>(text: &str, tags: &[S]) -> bool {
    tags.iter().any(|t| is_optout_tag(t.as_ref())) || text_opts_out(text)
}

fn is_optout_tag(t: &str) -> bool {
    t.eq_ignore_ascii_case("nobot") || t.eq_ignore_ascii_case("noindex")
}

/// `#nobot` / `#noindex` as a whole hashtag in the text.
pub fn text_opts_out(text: &str) -> bool {
    text.match_indices('#').any(|(i, _)| {
        let rest = &text[i + 1..];
        let end = rest.find(|c: char| !c.is_alphanumeric()).unwrap_or(rest.len());
        is_optout_tag(&rest[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_whole_hashtags_only() {
        assert!(text_opts_out("mon profil #NoIndex merci"));
        assert!(text_opts_out("<p>#nobot</p>"));
        assert!(!text_opts_out("#nobotanique #indexation nobot"));
        assert!(opts_out("x", &["NOBOT"]));
        assert!(!opts_out::<&str>("x", &[]));
    }
}
