//! Topic names and topic filters: validation, matching, overlap and shared
//! subscriptions (MQTT 3.1.1 and MQTT 5, section 4.7 and 4.8).

/// Longest topic or filter the protocol can carry (a two-byte length prefix).
const MAX_TOPIC_BYTES: usize = u16::MAX as usize;

/// Is `topic` a valid topic name for a PUBLISH: not empty, no wildcard, no NUL?
pub(crate) fn valid_topic_name(topic: &str) -> bool {
    !topic.is_empty() && topic.len() <= MAX_TOPIC_BYTES && !topic.contains(['+', '#', '\0'])
}

/// Is `filter` a valid topic filter: `+` alone on its level, `#` alone and last?
pub(crate) fn valid_filter(filter: &str) -> bool {
    if filter.is_empty() || filter.len() > MAX_TOPIC_BYTES || filter.contains('\0') {
        return false;
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        match level {
            "#" => return levels.peek().is_none(),
            "+" => {}
            other if other.contains(['+', '#']) => return false,
            _ => {}
        }
    }
    true
}

/// Does topic name `topic` match `filter`? Both must be valid. Topics starting
/// with `$` are not matched by a filter starting with a wildcard.
pub(crate) fn matches(topic: &str, filter: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut topic_levels = topic.split('/');
    let mut filter_levels = filter.split('/');
    loop {
        match (filter_levels.next(), topic_levels.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(wanted), Some(level)) if wanted == level => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Could some topic match both filters? Used to know cheaply whether anyone
/// subscribes to intercepted topics; a false positive only costs a lookup.
pub(crate) fn filters_overlap(a: &str, b: &str) -> bool {
    let mut a_levels = a.split('/');
    let mut b_levels = b.split('/');
    loop {
        match (a_levels.next(), b_levels.next()) {
            (Some("#"), _) | (_, Some("#")) => return true,
            (Some("+"), Some(_)) | (Some(_), Some("+")) => {}
            (Some(x), Some(y)) if x == y => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// A subscription filter, split into its shared-subscription group (if any) and
/// the filter proper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParsedFilter<'a> {
    /// `Some(group)` for `$share/{group}/{filter}`.
    pub group: Option<&'a str>,
    /// The filter matched against topics.
    pub filter: &'a str,
}

/// Parses a SUBSCRIBE filter; `None` when it is invalid.
pub(crate) fn parse_filter(raw: &str) -> Option<ParsedFilter<'_>> {
    if let Some(rest) = raw.strip_prefix("$share/") {
        let (group, filter) = rest.split_once('/')?;
        if group.is_empty() || group.contains(['+', '#']) || !valid_filter(filter) {
            return None;
        }
        return Some(ParsedFilter { group: Some(group), filter });
    }
    valid_filter(raw).then_some(ParsedFilter { group: None, filter: raw })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wildcards_and_empty_topic_names() {
        assert!(valid_topic_name("vigie/v1/detections/cam-1"));
        assert!(valid_topic_name("a//b"));
        assert!(!valid_topic_name(""));
        assert!(!valid_topic_name("a/+/b"));
        assert!(!valid_topic_name("a/#"));
        assert!(!valid_topic_name("a\0b"));
    }

    #[test]
    fn validates_filters() {
        for ok in ["#", "+", "a/#", "a/+/b", "+/+", "a", "/", "a//b", "$SYS/#"] {
            assert!(valid_filter(ok), "{ok}");
        }
        for bad in ["", "a/#/b", "a#", "a/b+", "#/a", "a/++"] {
            assert!(!valid_filter(bad), "{bad}");
        }
    }

    #[test]
    fn matches_wildcards() {
        assert!(matches("a/b/c", "a/b/c"));
        assert!(matches("a/b/c", "a/+/c"));
        assert!(matches("a/b/c", "a/#"));
        assert!(matches("a", "a/#"));
        assert!(matches("a/b/c", "#"));
        assert!(matches("a/", "a/+"));
        assert!(!matches("a/b", "a"));
        assert!(!matches("a", "a/b"));
        assert!(!matches("a/b/c", "a/+"));
        assert!(!matches("b/c", "a/#"));
    }

    #[test]
    fn dollar_topics_escape_leading_wildcards() {
        assert!(!matches("$SYS/broker", "#"));
        assert!(!matches("$SYS/broker", "+/broker"));
        assert!(matches("$SYS/broker", "$SYS/#"));
        assert!(matches("$SYS/broker", "$SYS/+"));
    }

    #[test]
    fn detects_overlapping_filters() {
        let detections = "vigie/v1/detections/+";
        assert!(filters_overlap(detections, "#"));
        assert!(filters_overlap(detections, "vigie/#"));
        assert!(filters_overlap(detections, "vigie/v1/+/cam-1"));
        assert!(filters_overlap(detections, "+/+/+/+"));
        assert!(!filters_overlap(detections, "vigie/v1/status/+"));
        assert!(!filters_overlap(detections, "vigie/v1/detections"));
        assert!(!filters_overlap(detections, "vigie/v1/detections/a/b"));
    }

    #[test]
    fn parses_shared_subscriptions() {
        assert_eq!(parse_filter("$share/hubs/vigie/#"), Some(ParsedFilter { group: Some("hubs"), filter: "vigie/#" }));
        assert_eq!(parse_filter("$share//a"), None);
        assert_eq!(parse_filter("$share/g"), None);
        assert_eq!(parse_filter("$share/g+/a"), None);
        assert_eq!(parse_filter("a/+"), Some(ParsedFilter { group: None, filter: "a/+" }));
    }
}
