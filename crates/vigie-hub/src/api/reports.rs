//! The citizen report route, `POST /api/v1/reports`: a JSON body (category, description,
//! place, optional photo) checked here, rate-limited per client address, its photo stripped
//! of metadata and stored under `<data>/evidence/<sha256>.<jpg|png>`, then submitted as a
//! `citizen.report` detection of the config's first citizen sensor. The answer, after the
//! commit, is the detection id as the citizen's reference number.
//!
//! Citizens are not identified: there is no name field (unknown fields are refused), the
//! client address is only held in memory by the rate limiter, and the description is stored
//! as the citizen's words, never profiled per author.
//!
//! - JPEG: the marker segments are walked; APP1–APP15 (EXIF, XMP, ICC, maker notes…) and COM
//!   are dropped, APP0 (JFIF) and the image segments kept, nothing after EOI is kept.
//! - PNG: only IHDR, PLTE, tRNS, IDAT and IEND chunks are kept (no tEXt, iTXt, zTXt, eXIf,
//!   tIME…), nothing after IEND.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vigie_model::DetectionId;
use vigie_model::sensor::SensorType;

use super::{ApiError, AppState, ErrorCode};
use crate::ingest::Outcome;
use crate::metrics::Transport;

/// The largest photo accepted, before stripping.
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("the photo is {0} bytes, the limit is {MAX_PHOTO_BYTES}")]
    TooLarge(usize),
    #[error("the photo is neither a JPEG nor a PNG")]
    UnknownFormat,
    #[error("the photo is malformed: {0}")]
    Malformed(&'static str),
}

/// A photo with its metadata removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanPhoto {
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Checks the size and format, and strips the metadata.
pub fn clean_photo(data: &[u8]) -> Result<CleanPhoto, PhotoError> {
    if data.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge(data.len()));
    }
    if data.starts_with(&[0xFF, 0xD8]) {
        return Ok(CleanPhoto { media_type: "image/jpeg", bytes: strip_jpeg(data)? });
    }
    if data.starts_with(PNG_SIGNATURE) {
        return Ok(CleanPhoto { media_type: "image/png", bytes: strip_png(data)? });
    }
    Err(PhotoError::UnknownFormat)
}

/// Drops APP1–APP15 and COM segments and anything after EOI.
pub fn strip_jpeg(data: &[u8]) -> Result<Vec<u8>, PhotoError> {
    use PhotoError::Malformed;
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(Malformed("no JPEG start marker"));
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut i = 2;
    loop {
        // Fill bytes (0xFF) may precede a marker.
        if i >= data.len() || data[i] != 0xFF {
            return Err(Malformed("expected a marker"));
        }
        while i < data.len() && data[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = data.get(i) else { return Err(Malformed("truncated marker")) };
        i += 1;
        match marker {
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Ok(out);
            }
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&[0xFF, marker]);
                continue;
            }
            0x00 | 0xD8 => return Err(Malformed("unexpected marker")),
            _ => {}
        }
        let len = match data.get(i..i + 2) {
            Some(b) => u16::from_be_bytes([b[0], b[1]]) as usize,
            None => return Err(Malformed("truncated segment length")),
        };
        if len < 2 || i + len > data.len() {
            return Err(Malformed("segment length out of bounds"));
        }
        let segment = &data[i..i + len];
        i += len;
        let metadata = (0xE1..=0xEF).contains(&marker) || marker == 0xFE;
        if !metadata {
            out.extend_from_slice(&[0xFF, marker]);
            out.extend_from_slice(segment);
        }
        if marker == 0xDA {
            // Entropy-coded data: up to the next marker that is not a stuffed 0xFF00 or a
            // restart marker.
            let start = i;
            while i + 1 < data.len()
                && !(data[i] == 0xFF && data[i + 1] != 0x00 && !(0xD0..=0xD7).contains(&data[i + 1]))
            {
                i += 1;
            }
            if i + 1 >= data.len() {
                return Err(Malformed("scan data without an end"));
            }
            out.extend_from_slice(&data[start..i]);
        }
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Keeps only IHDR, PLTE, tRNS, IDAT and IEND chunks.
pub fn strip_png(data: &[u8]) -> Result<Vec<u8>, PhotoError> {
    use PhotoError::Malformed;
    if !data.starts_with(PNG_SIGNATURE) {
        return Err(Malformed("no PNG signature"));
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(PNG_SIGNATURE);
    let mut i = PNG_SIGNATURE.len();
    let mut first = true;
    loop {
        let Some(head) = data.get(i..i + 8) else { return Err(Malformed("truncated chunk")) };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = &head[4..8];
        let end = i.checked_add(12).and_then(|x| x.checked_add(len)).filter(|e| *e <= data.len());
        let Some(end) = end else { return Err(Malformed("chunk length out of bounds")) };
        if first && kind != b"IHDR" {
            return Err(Malformed("the first chunk is not IHDR"));
        }
        first = false;
        if matches!(kind, b"IHDR" | b"PLTE" | b"tRNS" | b"IDAT" | b"IEND") {
            out.extend_from_slice(&data[i..end]);
        }
        i = end;
        if kind == b"IEND" {
            return Ok(out);
        }
    }
}

/// At most `max` reports per client address in any `window`.
pub struct RateLimiter {
    max: usize,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(max: usize, window: Duration) -> RateLimiter {
        RateLimiter { max, window, seen: Mutex::new(HashMap::new()) }
    }

    /// The citizen page's default: 5 reports per 10 minutes.
    pub fn for_reports() -> RateLimiter {
        RateLimiter::new(5, Duration::from_secs(600))
    }

    /// Counts one report at `now`, or says how long to wait (for `Retry-After`).
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // Forget idle clients now and then, so the map stays small.
        if seen.len() > 10_000 {
            seen.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < self.window));
        }
        let q = seen.entry(ip).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            q.pop_front();
        }
        if q.len() >= self.max {
            let oldest = *q.front().unwrap_or(&now);
            return Err(self.window.saturating_sub(now.duration_since(oldest)).max(Duration::from_secs(1)));
        }
        q.push_back(now);
        Ok(())
    }
}

/// The report categories (the console's list).
pub const CATEGORIES: &[&str] = &["lighting", "roads", "dumping", "noise", "vandalism", "danger", "other"];

/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    category: String,
    description: String,
    lon: f64,
    lat: f64,
    /// Metres; 25 when absent.
    #[serde(default)]
    uncertainty_m: Option<f64>,
    #[serde(default)]
    photo: Option<PhotoUpload>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoUpload {
    media_type: String,
    data_base64: String,
}

#[derive(Debug, Serialize)]
pub struct ReportAccepted {
    /// The detection id, given to the citizen as the reference number.
    pub reference: DetectionId,
}

/// `429 Too Many Requests` with `Retry-After` (whole seconds).
fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs().max(1);
    let mut r =
        ApiError::new(ErrorCode::TooManyRequests, format!("too many reports from this address; try again in {secs} s"))
            .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn check_fields(r: &ReportRequest) -> Result<(String, f64), ApiError> {
    if !CATEGORIES.contains(&r.category.as_str()) {
        return Err(ApiError::bad_request(format!(
            "category {:?} is not one of {}",
            r.category,
            CATEGORIES.join(", ")
        )));
    }
    // Control characters other than line breaks and tabs are dropped.
    let description: String =
        r.description.trim().chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\t')).collect();
    let n = description.chars().count();
    if n == 0 || n > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::bad_request(format!(
            "the description has {n} characters; give 1 to {MAX_DESCRIPTION_CHARS}"
        )));
    }
    if !(r.lon.is_finite() && (-180.0..=180.0).contains(&r.lon) && r.lat.is_finite() && (-90.0..=90.0).contains(&r.lat))
    {
        return Err(ApiError::bad_request(format!(
            "the place ({}, {}) is not a longitude and a latitude",
            r.lon, r.lat
        )));
    }
    let uncertainty = r.uncertainty_m.unwrap_or(25.0);
    if !(uncertainty.is_finite() && (0.0..=100_000.0).contains(&uncertainty)) {
        return Err(ApiError::bad_request("uncertainty_m must be between 0 and 100000"));
    }
    Ok((description, uncertainty))
}

/// Decodes, checks and strips the photo; returns it with its SHA-256 (hex).
fn decode_photo(p: &PhotoUpload) -> Result<(CleanPhoto, String), ApiError> {
    use base64::Engine;
    if !matches!(p.media_type.as_str(), "image/jpeg" | "image/png") {
        return Err(ApiError::bad_request(format!(
            "photo media_type {:?}: only image/jpeg and image/png",
            p.media_type
        )));
    }
    // Refuse an oversized photo before decoding it.
    if p.data_base64.len() / 4 * 3 > MAX_PHOTO_BYTES + 3 {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the photo is larger than {MAX_PHOTO_BYTES} bytes"),
        ));
    }
    let data = base64::engine::general_purpose::STANDARD
        .decode(p.data_base64.trim())
        .map_err(|e| ApiError::bad_request(format!("photo data_base64: {e}")))?;
    let clean = clean_photo(&data).map_err(|e| match e {
        PhotoError::TooLarge(_) => ApiError::new(ErrorCode::PayloadTooLarge, e.to_string()),
        _ => ApiError::bad_request(e.to_string()),
    })?;
    if clean.media_type != p.media_type {
        return Err(ApiError::bad_request(format!("the photo is {}, not {}", clean.media_type, p.media_type)));
    }
    let digest = Sha256::digest(&clean.bytes);
    let sha: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok((clean, sha))
}

/// Writes `<dir>/<name>` once (a temporary file renamed into place).
fn store_photo(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    if path.exists() {
        return Ok(());
    }
    let tmp = dir.join(format!(".{name}.{}.tmp", ulid::Ulid::new()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, &path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// `POST /api/v1/reports`.
pub async fn post(
    State(st): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    body: Result<Json<ReportRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ReportAccepted>), Response> {
    let Json(req) = body.map_err(|rejection| {
        let code = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ErrorCode::PayloadTooLarge
        } else {
            ErrorCode::BadRequest
        };
        ApiError::new(code, rejection.body_text()).into_response()
    })?;
    let (description, uncertainty) = check_fields(&req).map_err(IntoResponse::into_response)?;
    let sensor = st
        .ingest
        .config()
        .sensors
        .iter()
        .find(|s| s.sensor_type == SensorType::Citizen)
        .map(|s| s.id.clone())
        .ok_or_else(|| {
            ApiError::new(ErrorCode::Unavailable, "citizen reports are not open: the config has no citizen sensor")
                .into_response()
        })?;
    if req.photo.is_some() && st.evidence_dir.is_none() {
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            "this hub has no evidence folder: send the report without a photo",
        )
        .into_response());
    }
    st.reports.check(client.ip(), Instant::now()).map_err(too_many)?;

    let mut evidence = Vec::new();
    if let (Some(photo), Some(dir)) = (&req.photo, &st.evidence_dir) {
        let (clean, sha) = decode_photo(photo).map_err(IntoResponse::into_response)?;
        let ext = if clean.media_type == "image/png" { "png" } else { "jpg" };
        let name = format!("{sha}.{ext}");
        let (dir, file) = (dir.clone(), name.clone());
        tokio::task::spawn_blocking(move || store_photo(&dir, &file, &clean.bytes))
            .await
            .map_err(|e| ApiError::internal(format!("task failed: {e}")).into_response())?
            .map_err(|e| {
                tracing::error!(error = %e, "cannot store a report photo");
                ApiError::new(ErrorCode::Unavailable, format!("cannot store the photo: {e}")).into_response()
            })?;
        evidence.push(serde_json::json!({
            "media_type": clean.media_type, "uri": format!("evidence/{name}"), "sha256": sha,
        }));
    }

    let id = DetectionId::generate();
    let line = serde_json::json!({
        "id": id,
        "sensor": sensor,
        "kind": "citizen.report",
        "time": st.ingest.now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "location": { "lon": req.lon, "lat": req.lat, "uncertainty_m": uncertainty },
        "confidence": 0.6,
        "attributes": { "category": req.category, "description": description },
        "evidence": evidence,
    });
    let line = serde_json::to_vec(&line).map_err(|e| ApiError::internal(e.to_string()).into_response())?;
    let detection = st
        .ingest
        .check(Transport::Http, &line, None)
        .map_err(|r| ApiError::bad_request(format!("{}: {}", r.reason.as_str(), r.detail)).into_response())?;
    match st.ingest.submit(detection).await {
        Ok(Outcome::Accepted | Outcome::Duplicate) => Ok((StatusCode::CREATED, Json(ReportAccepted { reference: id }))),
        Ok(Outcome::Failed(e)) => {
            Err(ApiError::new(ErrorCode::Unavailable, format!("not stored, send again: {e}")).into_response())
        }
        Err(_) => Err(ApiError::new(ErrorCode::Unavailable, "the hub is stopping").into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        s.extend_from_slice(body);
        s
    }

    /// A structurally complete baseline JPEG (1×1, grey) with an EXIF block holding GPS tags,
    /// an XMP block and a comment.
    fn jpeg_with_exif() -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        j.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        // EXIF: TIFF header, IFD0 with one GPSInfo pointer, a GPS IFD with latitude ref "N".
        let mut exif = b"Exif\0\0".to_vec();
        exif.extend_from_slice(b"MM\0\x2a\0\0\0\x08");
        exif.extend_from_slice(&[0, 1, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0x1a, 0, 0, 0, 0]);
        exif.extend_from_slice(&[0, 1, 0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0, 0, 0, 0, 0]);
        exif.extend_from_slice(b"GPS 47.2155 -1.5555");
        j.extend(segment(0xE1, &exif));
        j.extend(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"));
        j.extend(segment(0xFE, b"taken at home"));
        j.extend(segment(0xDB, &[&[0u8][..], &[1u8; 64][..]].concat()));
        j.extend(segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        j.extend(segment(0xC4, &[&[0x00u8][..], &[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[0]].concat()));
        j.extend(segment(0xC4, &[&[0x10u8][..], &[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[0]].concat()));
        j.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        j.extend_from_slice(&[0x00, 0xFF, 0x00, 0x3F]); // scan data with a stuffed 0xFF
        j.extend_from_slice(&[0xFF, 0xD9]);
        j.extend_from_slice(b"trailing bytes after EOI");
        j
    }

    /// The markers of a JPEG, walked again (checks the output's structure).
    fn markers(j: &[u8]) -> Vec<u8> {
        let mut out = vec![];
        let mut i = 2;
        while i + 1 < j.len() {
            assert_eq!(j[i], 0xFF, "a marker at {i}");
            let m = j[i + 1];
            out.push(m);
            if m == 0xD9 {
                assert_eq!(i + 2, j.len(), "nothing after EOI");
                break;
            }
            let len = u16::from_be_bytes([j[i + 2], j[i + 3]]) as usize;
            i += 2 + len;
            if m == 0xDA {
                while !(j[i] == 0xFF && j[i + 1] != 0) {
                    i += 1;
                }
            }
        }
        out
    }

    #[test]
    fn jpeg_exif_gps_xmp_and_comment_are_removed() {
        let src = jpeg_with_exif();
        assert!(src.windows(4).any(|w| w == b"Exif"));
        let clean = clean_photo(&src).unwrap();
        assert_eq!(clean.media_type, "image/jpeg");
        let out = clean.bytes;
        assert!(!out.windows(4).any(|w| w == b"Exif"), "no EXIF left");
        assert!(!out.windows(3).any(|w| w == b"GPS"), "no GPS left");
        assert!(!out.windows(7).any(|w| w == b"xmpmeta"), "no XMP left");
        assert!(!out.windows(4).any(|w| w == b"home"), "no comment left");
        assert_eq!(markers(&out), vec![0xE0, 0xDB, 0xC0, 0xC4, 0xC4, 0xDA, 0xD9]);
        assert!(out.starts_with(&[0xFF, 0xD8]) && out.ends_with(&[0xFF, 0xD9]));
        // Stripping again changes nothing.
        assert_eq!(strip_jpeg(&out).unwrap(), out);
    }

    #[test]
    fn malformed_jpegs_are_refused() {
        let src = jpeg_with_exif();
        for cut in [3, 10, 30, src.len() - 40] {
            assert!(strip_jpeg(&src[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = src.clone();
        bad[4] = 0xFF; // APP0 length now out of bounds
        bad[5] = 0xFF;
        assert!(strip_jpeg(&bad).is_err());
    }

    fn chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut c = (body.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(body);
        c.extend_from_slice(&[0, 0, 0, 0]); // CRC (not checked here)
        c
    }

    #[test]
    fn png_keeps_only_image_chunks() {
        let mut p = PNG_SIGNATURE.to_vec();
        p.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
        p.extend(chunk(b"tEXt", b"Author\0someone"));
        p.extend(chunk(b"eXIf", b"MM\0*GPS"));
        p.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1]));
        p.extend(chunk(b"tIME", &[7, 0xE8, 1, 1, 0, 0, 0]));
        p.extend(chunk(b"IEND", &[]));
        p.extend_from_slice(b"trailing");
        let out = clean_photo(&p).unwrap();
        assert_eq!(out.media_type, "image/png");
        let mut want = PNG_SIGNATURE.to_vec();
        want.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
        want.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1]));
        want.extend(chunk(b"IEND", &[]));
        assert_eq!(out.bytes, want);
        assert!(strip_png(&p[..p.len() - 30]).is_err());
    }

    #[test]
    fn size_and_format_limits() {
        let mut big = jpeg_with_exif();
        big.resize(MAX_PHOTO_BYTES + 1, 0);
        assert_eq!(clean_photo(&big), Err(PhotoError::TooLarge(MAX_PHOTO_BYTES + 1)));
        assert_eq!(clean_photo(b"GIF89a"), Err(PhotoError::UnknownFormat));
    }

    #[test]
    fn rate_limit_per_address() {
        let rl = RateLimiter::for_reports();
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let t0 = Instant::now();
        for k in 0..5 {
            assert_eq!(rl.check(a, t0 + Duration::from_secs(k)), Ok(()));
        }
        let wait = rl.check(a, t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(590));
        assert_eq!(rl.check(b, t0 + Duration::from_secs(10)), Ok(()), "another address is not limited");
        assert_eq!(rl.check(a, t0 + Duration::from_secs(600)), Ok(()), "the oldest report left the window");
        assert!(rl.check(a, t0 + Duration::from_secs(600)).is_err(), "full again");
    }
}
