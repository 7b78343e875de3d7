//! Publishing detections to the hub: `POST {hub}/api/v1/detections` (NDJSON), over a tiny
//! HTTP/1.1 client on `std::net::TcpStream` (plain `http://` only; put TLS in front with a
//! local proxy). Nothing but detections is sent.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use vigie_model::Detection;

use crate::error::AudioError;

/// Sends detections as one NDJSON body; returns the hub's status code and body.
pub fn post_detections(hub: &str, detections: &[Detection]) -> Result<(u16, String), AudioError> {
    let err = |d: String| AudioError::Publish { hub: hub.to_owned(), detail: d };
    let rest = hub.strip_prefix("http://").ok_or_else(|| err("only http://host:port is supported".into()))?;
    let (authority, base) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let mut body = String::new();
    for d in detections {
        body.push_str(&d.to_json());
        body.push('\n');
    }
    let mut stream = TcpStream::connect(authority).map_err(|e| err(e.to_string()))?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| err(e.to_string()))?;
    let req = format!(
        "POST {base}/api/v1/detections HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(req.as_bytes()).and_then(|_| stream.write_all(body.as_bytes())).map_err(|e| err(e.to_string()))?;
    let mut resp = Vec::new();
    stream.read_to_end(&mut resp).map_err(|e| err(e.to_string()))?;
    let text = String::from_utf8_lossy(&resp);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| err("malformed HTTP response".into()))?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}
