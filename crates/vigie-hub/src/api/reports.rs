//! The citizen report route, `POST /api/v1/reports`: a JSON body (category, description,
//! place, optional photo) checked here, rate-limited per client address, its photo stripped
//! of metadata and stored under `<data>/evidence/<sha256>.<jpg|png>`, then submitted as a
//! `citizen.report` detection of the config's first citizen sensor. The answer, after the
//! commit, is the detection id as the citizen's reference number.
//!
//! Citizens are not identified: there is no name field (unknown fields are refused), the
//! client address is only held in memory by the rate limiter, and the description is stored
//! as the citizen's words, never profiled per author.
//! The photo is cleaned by [`crate::evidence::clean`].

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use vigie_model::DetectionId;
use vigie_model::sensor::SensorType;

use super::{ApiError, AppState, ClientAddr, ErrorCode};
use crate::evidence::clean::{MAX_PHOTO_BYTES, PhotoError, clean_photo};
use crate::ingest::Outcome;
use crate::metrics::Transport;

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

/// Decodes the photo and checks its declared type and size (the store strips it).
fn decode_photo(p: &PhotoUpload) -> Result<Vec<u8>, ApiError> {
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
    Ok(data)
}

/// `POST /api/v1/reports`.
pub async fn post(
    State(st): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
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
    if req.photo.is_some() && st.evidence.is_none() {
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            "this hub has no evidence folder: send the report without a photo",
        )
        .into_response());
    }
    st.reports.check(client.ip(), Instant::now()).map_err(too_many)?;

    let mut evidence = Vec::new();
    if let (Some(photo), Some(store)) = (&req.photo, &st.evidence) {
        let (data, media_type, store) =
            (decode_photo(photo).map_err(IntoResponse::into_response)?, photo.media_type.clone(), store.clone());
        let stored = tokio::task::spawn_blocking(move || store.put(&media_type, &data, true))
            .await
            .map_err(|e| ApiError::internal(format!("task failed: {e}")).into_response())?
            .map_err(|e| {
                tracing::error!(error = %e, "cannot store a report photo");
                ApiError::new(ErrorCode::Unavailable, format!("cannot store the photo: {e}")).into_response()
            })?;
        evidence.push(serde_json::json!({
            "media_type": stored.media_type, "uri": stored.uri, "sha256": stored.sha256,
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
