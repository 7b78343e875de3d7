//! CSV answers for the registers (RFC 4180: quoted fields, CRLF), opened by spreadsheet
//! software as they are (UTF-8 with a byte-order mark, which Excel needs for accents).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// A field, quoted when it must be. Text a spreadsheet would run as a formula (`=`, `+`,
/// `-`, `@`, tab, carriage return first) gets a leading `'`: registers hold what operators
/// and citizens typed, and opening one must never run it.
fn field(s: &str) -> String {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err();
    let s = if formula { std::borrow::Cow::Owned(format!("'{s}")) } else { std::borrow::Cow::Borrowed(s) };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.into_owned() }
}

/// A CSV file named `name` with a header row.
pub fn csv(name: &str, header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Response {
    let mut out = String::from("\u{feff}");
    out.push_str(&header.iter().map(|h| field(h)).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    let mut resp = out.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_what_needs_it() {
        assert_eq!(super::field("plain"), "plain");
        assert_eq!(super::field("a,b"), "\"a,b\"");
        assert_eq!(super::field("say \"hi\"\n"), "\"say \"\"hi\"\"\n\"");
        assert_eq!(super::field("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(super::field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::field("-4.5"), "-4.5", "a negative number stays a number");
    }
}
