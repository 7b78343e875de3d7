//! Source `ndjson`: posts in the generic format (docs/social.md), one JSON object per line,
//! from a file or standard input.
//!
//! Lines are read with a bound: a line longer than `max_line_bytes` is skipped up to its
//! end without being held in memory, and counted. Invalid UTF-8 and malformed JSON are
//! counted by reason; the next line is read as if nothing happened.

use std::io::BufRead;

use crate::post::RawPost;
use crate::privacy::Rejection;

/// Default bound on one line, bytes.
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 * 1024;

/// Parses one line into a raw post (borrowing from it).
pub fn parse_line(line: &[u8]) -> Result<RawPost<'_>, Rejection> {
    let text = std::str::from_utf8(line).map_err(|_| Rejection::InvalidUtf8)?;
    serde_json::from_str(text).map_err(|_| Rejection::MalformedJson)
}

/// Reads bounded lines from a buffered reader.
pub struct LineReader<R> {
    inner: R,
    max: usize,
    buf: Vec<u8>,
}

/// One item of [`LineReader`].
pub enum Line<'a> {
    Text(&'a [u8]),
    TooLong,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, max_line_bytes: usize) -> Self {
        LineReader { inner, max: max_line_bytes, buf: Vec::new() }
    }

    /// The next line (without its `\n`), or `None` at the end of input.
    pub fn next_line(&mut self) -> std::io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (&chunk[..i], Some(i + 1)),
                None => (chunk, None),
            };
            if !too_long {
                if self.buf.len() + part.len() > self.max {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            let consumed = done.unwrap_or(chunk.len());
            self.inner.consume(consumed);
            if done.is_some() {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        if too_long {
            return Ok(Some(Line::TooLong));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(Line::Text(&self.buf)))
    }
}

/// A file (or `-`, standard input) of NDJSON posts, read to its end.
pub struct NdjsonSource {
    pub path: std::path::PathBuf,
    pub max_line_bytes: usize,
}

impl super::runner::Source for NdjsonSource {
    fn name(&self) -> String {
        format!("ndjson:{}", self.path.display())
    }

    fn run(self: Box<Self>, mut intake: super::runner::Intake) {
        let reader: Box<dyn BufRead> = if self.path.as_os_str() == "-" {
            Box::new(std::io::BufReader::new(std::io::stdin()))
        } else {
            match std::fs::File::open(&self.path) {
                Ok(f) => Box::new(std::io::BufReader::with_capacity(256 * 1024, f)),
                Err(e) => {
                    intake.error("open", format!("{}: {e}", self.path.display()));
                    return;
                }
            }
        };
        let mut lines = LineReader::new(reader, self.max_line_bytes);
        loop {
            if intake.stop().stopped() {
                return;
            }
            let line = match lines.next_line() {
                Ok(Some(Line::Text(t))) => t,
                Ok(Some(Line::TooLong)) => {
                    intake.reject(Rejection::LineTooLong);
                    continue;
                }
                Ok(None) => return,
                Err(e) => {
                    intake.error("read", e.to_string());
                    return;
                }
            };
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match parse_line(line) {
                Ok(raw) => {
                    if !intake.offer(raw, crate::post::Platform::Ndjson) {
                        return;
                    }
                }
                Err(r) => intake.reject(r),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_generic_format() {
        let p = parse_line(
            br#"{"id":"1","time":"2026-11-22T21:30:05Z","text":"feu !","author":"a","lang":"fr","extra":1}"#,
        )
        .unwrap();
        assert_eq!(p.text, "feu !");
        assert_eq!(parse_line(b"\xff\xfe").unwrap_err(), Rejection::InvalidUtf8);
        assert_eq!(parse_line(b"{\"time\":1}").unwrap_err(), Rejection::MalformedJson);
        assert_eq!(parse_line(b"[1,2]").unwrap_err(), Rejection::MalformedJson);
    }

    #[test]
    fn bounds_lines_and_carries_on() {
        let input = format!("short\n{}\nafter\r\nlast", "x".repeat(1000));
        let mut r = LineReader::new(std::io::BufReader::with_capacity(16, input.as_bytes()), 100);
        let mut got = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            got.push(match l {
                Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                Line::TooLong => "<too long>".into(),
            });
        }
        assert_eq!(got, ["short", "<too long>", "after", "last"]);
    }
}
