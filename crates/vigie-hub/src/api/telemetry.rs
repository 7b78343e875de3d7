//! Mobile sensors' positions: `POST /api/v1/sensors/{id}/telemetry` (NDJSON, a result per
//! line as for detections, answered once stored) and `GET /api/v1/sensors/{id}/track` (stored fixes).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use vigie_audit::Action;
use vigie_model::{FixRefusalReason, PositionFix, SensorId};

use super::detections::{LineResult, PostResult, parse_time};
use super::{ApiError, AppState, ErrorCode, audited, blocking};
use crate::auth::Principal;
use crate::metrics::Transport;

pub async fn post_ndjson(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Extension(who): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<PostResult>), ApiError> {
    let body = body.map_err(|rejection| {
        let too_large = rejection.status() == StatusCode::PAYLOAD_TOO_LARGE;
        let reason = if too_large { FixRefusalReason::TooLarge } else { FixRefusalReason::MalformedJson };
        st.ingest.record_fix_refusal(Transport::Http, reason);
        let code = if too_large { ErrorCode::PayloadTooLarge } else { ErrorCode::BadRequest };
        ApiError::new(code, rejection.body_text())
    })?;
    let mut results = Vec::new();
    let mut checked = Vec::new();
    let mut sensor: Option<SensorId> = None;
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match st.ingest.check_fix(Transport::Http, &id, line, Some(&who)) {
            Err(r) => results.push(LineResult::refused(i + 1, r.reason.as_str(), r.detail)),
            Ok((s, fix)) => {
                sensor = Some(s);
                checked.push((results.len(), fix));
                results.push(LineResult { line: i + 1, id: None, status: "pending", reason: None, detail: None });
            }
        }
    }
    if let Some(sensor) = sensor {
        let fixes: Vec<_> = checked.iter().map(|(_, f)| *f).collect();
        let stored = st.ingest.store_fixes(&sensor, &fixes).await;
        for (i, (idx, _)) in checked.iter().enumerate() {
            let r = &mut results[*idx];
            match &stored {
                Ok(new) if new.get(i).copied().unwrap_or(false) => r.status = "accepted",
                Ok(_) => r.status = "duplicate",
                Err(e) => {
                    r.status = "failed";
                    r.detail = Some(e.clone());
                }
            }
        }
    }
    Ok(PostResult::answer(results))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackParams {
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct TrackView {
    pub sensor: SensorId,
    pub fixes: Vec<PositionFix>,
}

/// A mobile sensor's stored fixes, oldest first (default: the last hour).
pub async fn track(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Extension(who): Extension<Principal>,
    params: Result<Query<TrackParams>, QueryRejection>,
) -> Result<Json<TrackView>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let sensor =
        st.ingest.config().sensor(&id).ok_or_else(|| ApiError::not_found(format!("no sensor {id:?}")))?.clone();
    if !sensor.mobile {
        return Err(ApiError::not_found(format!("sensor {id} is not mobile: it has no track")));
    }
    let to = parse_time("to", &p.to)?.unwrap_or_else(|| st.ingest.now());
    let from = parse_time("from", &p.from)?.unwrap_or(to - Duration::hours(1));
    if from > to {
        return Err(ApiError::bad_request("from must not be after to"));
    }
    let limit = p.limit.unwrap_or(3600).clamp(1, 100_000);
    let store = st.store.clone();
    let key = sensor.id.to_string();
    let fixes = blocking(move || store.registry().positions(&key, from, to, limit)).await?;
    let search = serde_json::json!({ "from": from, "to": to, "limit": limit });
    audited(&st, &who, Action::Search, format!("sensor/{}/track", sensor.id), search).await?;
    Ok(Json(TrackView { sensor: sensor.id, fixes }))
}
