//! Evidence files: `POST /api/v1/evidence` (a device uploads a masked snapshot or a clip
//! before the detection that cites it) and `GET /api/v1/evidence/{file}` (an audited read).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use vigie_audit::Action;
use vigie_model::Evidence;

use super::{ApiError, AppState, ErrorCode, audited};
use crate::auth::Principal;
use crate::evidence::{EvidenceError, EvidenceStore};

fn evidence_error(e: EvidenceError) -> ApiError {
    match e {
        EvidenceError::MediaType(_) => ApiError::new(ErrorCode::UnsupportedMediaType, e.to_string()),
        EvidenceError::Malformed { .. } | EvidenceError::HasMetadata | EvidenceError::BadName(_) => {
            ApiError::bad_request(e.to_string())
        }
        EvidenceError::NotFound(_) => ApiError::not_found(e.to_string()),
        EvidenceError::Io { .. } => {
            tracing::error!(error = %e, "evidence store");
            ApiError::new(ErrorCode::Unavailable, e.to_string())
        }
    }
}

fn store(st: &AppState) -> Result<EvidenceStore, ApiError> {
    st.evidence.clone().ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "this hub keeps no evidence folder"))
}

pub async fn upload(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Evidence>), ApiError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default();
    let store = store(&st)?;
    let e = tokio::task::spawn_blocking(move || store.put(&media_type, &body, false))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(evidence_error)?;
    tracing::debug!(uri = %e.uri, by = %who.actor(), "evidence stored");
    Ok((StatusCode::CREATED, Json(e)))
}

pub async fn read(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let store = store(&st)?;
    let name = file.clone();
    let (media_type, bytes) = tokio::task::spawn_blocking(move || store.read(&name))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(evidence_error)?;
    audited(&st, &who, Action::ReadEvidence, format!("evidence/{file}"), serde_json::Value::Null).await?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
    Ok(resp)
}
