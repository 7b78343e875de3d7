//! `POST /api/v1/detections` (NDJSON, a result per line, answered after the commit) and
//! the detection queries.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vigie_model::geo::BBox;
use vigie_model::{DetectionId, Kind, Refusal, RefusalReason, SensorId};

use super::{ApiError, AppState, ErrorCode, audited, blocking};
use crate::auth::Principal;
use crate::ingest::Outcome;
use crate::metrics::Transport;
use crate::store::{DetectionQuery, StoredDetection};
use axum::Extension;
use vigie_audit::Action;

#[derive(Debug, Serialize)]
pub struct LineResult {
    /// 1-based line number in the request body.
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<DetectionId>,
    /// `accepted`, `duplicate`, `refused` or `failed` (not stored: send it again).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PostResult {
    pub accepted: usize,
    pub duplicate: usize,
    pub refused: usize,
    pub failed: usize,
    pub results: Vec<LineResult>,
}

impl LineResult {
    pub(super) fn refused(line: usize, reason: &'static str, detail: String) -> LineResult {
        LineResult { line, id: None, status: "refused", reason: Some(reason), detail: Some(detail) }
    }
}

impl PostResult {
    /// The answer to an NDJSON post, counted from its lines: 503 when any failed (those
    /// must be sent again).
    pub(super) fn answer(results: Vec<LineResult>) -> (StatusCode, Json<PostResult>) {
        let count = |s: &str| results.iter().filter(|r| r.status == s).count();
        let (accepted, duplicate, refused, failed) =
            (count("accepted"), count("duplicate"), count("refused"), count("failed"));
        let status = if failed > 0 { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
        (status, Json(PostResult { accepted, duplicate, refused, failed, results }))
    }
}

pub async fn post_ndjson(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<PostResult>), ApiError> {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let too_large = rejection.status() == StatusCode::PAYLOAD_TOO_LARGE;
            let reason = if too_large { RefusalReason::TooLarge } else { RefusalReason::MalformedJson };
            let refusal = Refusal::new(reason, rejection.body_text());
            st.ingest.record_refusal(Transport::Http, None, &refusal, b"");
            let code = if too_large { ErrorCode::PayloadTooLarge } else { ErrorCode::BadRequest };
            return Err(ApiError::new(
                code,
                format!(
                    "{} (the limit is {} bytes; send smaller NDJSON batches)",
                    rejection.body_text(),
                    super::MAX_BODY_BYTES
                ),
            ));
        }
    };
    let mut results = Vec::new();
    let mut waiting = Vec::new();
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match st.ingest.check_from(Transport::Http, line, None, &who) {
            Err(r) => results.push(LineResult::refused(i + 1, r.reason.as_str(), r.detail)),
            Ok(d) => {
                let id = d.id;
                waiting.push((results.len(), st.ingest.submit(d)));
                results.push(LineResult { line: i + 1, id: Some(id), status: "pending", reason: None, detail: None });
            }
        }
    }
    for (idx, rx) in waiting {
        let r = &mut results[idx];
        match rx.await {
            Ok(Outcome::Accepted) => r.status = "accepted",
            Ok(Outcome::Duplicate) => r.status = "duplicate",
            Ok(Outcome::Failed(e)) => {
                r.status = "failed";
                r.detail = Some(e);
            }
            Err(_) => {
                r.status = "failed";
                r.detail = Some("the hub is stopping".into());
            }
        }
    }
    Ok(PostResult::answer(results))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    from: Option<String>,
    to: Option<String>,
    bbox: Option<String>,
    kind: Option<String>,
    sensor: Option<String>,
    limit: Option<usize>,
}

pub(super) fn parse_time(name: &str, v: &Option<String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    v.as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| ApiError::bad_request(format!("{name}={s:?} is not an RFC 3339 time: {e}")))
        })
        .transpose()
}

pub async fn list(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<StoredDetection>>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let search = serde_json::json!({
        "from": p.from, "to": p.to, "bbox": p.bbox, "kind": p.kind, "sensor": p.sensor, "limit": p.limit,
    });
    let q = DetectionQuery {
        from: parse_time("from", &p.from)?,
        to: parse_time("to", &p.to)?,
        bbox: p.bbox.as_deref().map(BBox::parse).transpose().map_err(ApiError::bad_request)?,
        kind: p
            .kind
            .as_deref()
            .map(str::parse::<Kind>)
            .transpose()
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
        sensor: p.sensor.map(SensorId::new).transpose().map_err(|e| ApiError::bad_request(e.to_string()))?,
        limit: p.limit.unwrap_or(100).clamp(1, 10_000),
    };
    let store = st.store.clone();
    let found = blocking(move || store.detections(&q)).await?;
    audited(&st, &who, Action::Search, "detections".into(), search).await?;
    Ok(Json(found))
}

pub async fn get_one(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Extension(who): Extension<Principal>,
) -> Result<Json<StoredDetection>, ApiError> {
    let id = DetectionId::parse(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let store = st.store.clone();
    let d = blocking(move || store.detection(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no detection {id}")))?;
    audited(&st, &who, Action::ReadDetection, format!("detection/{id}"), serde_json::Value::Null).await?;
    Ok(Json(d))
}

#[derive(Debug, Serialize)]
pub struct RefusedReport {
    /// Refusals since the hub started, by reason.
    pub counts: std::collections::BTreeMap<&'static str, u64>,
    pub recent: Vec<crate::ingest::RefusedSample>,
}

#[derive(Debug, Deserialize)]
pub struct RefusedParams {
    limit: Option<usize>,
}

pub async fn refused(State(st): State<AppState>, Query(p): Query<RefusedParams>) -> Json<RefusedReport> {
    let counts = RefusalReason::ALL.iter().map(|r| (r.as_str(), st.ingest.metrics().refused_count(*r))).collect();
    Json(RefusedReport { counts, recent: st.ingest.refused().recent(p.limit.unwrap_or(50).min(200)) })
}
