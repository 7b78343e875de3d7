//! A server-sent events parser (the WHATWG `text/event-stream` format), bounded: `event:`,
//! `data:` (several lines joined by `\n`), `id:`; comment lines (`:thump`, Mastodon's
//! heartbeat) are reported as such; a blank line dispatches the event. An event larger than
//! the bound is dropped and reported, not accumulated.

/// One parsed item of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseItem {
    Event {
        event: String,
        data: String,
    },
    /// A comment line: the server is alive.
    Heartbeat,
    /// An event over the size bound was skipped.
    Oversized,
}

#[derive(Debug, Default)]
pub struct SseParser {
    event: String,
    data: String,
    oversized: bool,
    max_bytes: usize,
}

impl SseParser {
    pub fn new(max_event_bytes: usize) -> Self {
        SseParser { max_bytes: max_event_bytes, ..SseParser::default() }
    }

    /// Feeds one line (without its line break).
    pub fn line(&mut self, line: &str) -> Option<SseItem> {
        if line.is_empty() {
            let oversized = std::mem::take(&mut self.oversized);
            let event = std::mem::take(&mut self.event);
            let data = std::mem::take(&mut self.data);
            if oversized {
                return Some(SseItem::Oversized);
            }
            if data.is_empty() && event.is_empty() {
                return None;
            }
            return Some(SseItem::Event { event: if event.is_empty() { "message".into() } else { event }, data });
        }
        if line.starts_with(':') {
            return Some(SseItem::Heartbeat);
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        if self.oversized {
            return None;
        }
        match field {
            "event" => self.event = value.chars().take(64).collect(),
            "data" => {
                if self.data.len() + value.len() + 1 > self.max_bytes {
                    self.oversized = true;
                    self.data.clear();
                } else {
                    if !self.data.is_empty() {
                        self.data.push('\n');
                    }
                    self.data.push_str(value);
                }
            }
            _ => {} // id, retry and unknown fields are not needed here
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_heartbeats_and_multiline_data() {
        let mut p = SseParser::new(1000);
        let mut out = Vec::new();
        for l in [":thump", "event: update", "data: {\"a\":", "data: 1}", "", "", "event: delete", "data: 42", ""] {
            out.extend(p.line(l));
        }
        assert_eq!(
            out,
            [
                SseItem::Heartbeat,
                SseItem::Event { event: "update".into(), data: "{\"a\":\n1}".into() },
                SseItem::Event { event: "delete".into(), data: "42".into() },
            ]
        );
    }

    #[test]
    fn drops_oversized_events() {
        let mut p = SseParser::new(10);
        assert_eq!(p.line("data: 0123456789abc"), None);
        assert_eq!(p.line(""), Some(SseItem::Oversized));
        assert_eq!(p.line("data: ok"), None);
        assert_eq!(p.line(""), Some(SseItem::Event { event: "message".into(), data: "ok".into() }));
    }
}
