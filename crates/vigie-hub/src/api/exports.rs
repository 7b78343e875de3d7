//! Evidence exports on a judicial requisition: request, second-person decision, download
//! within 24 hours; the register of extractions (JSON or CSV).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use vigie_audit::Action;
use vigie_model::IncidentId;

use super::{ApiError, AppState, ErrorCode, audited, csv::csv};
use crate::auth::{Principal, Role};
use crate::exports::{ExportError, Exports};
use crate::store::{ExportRecord, ExportStatus, Requisition};

fn export_error(e: ExportError) -> ApiError {
    match e {
        ExportError::Invalid(m) => ApiError::bad_request(m),
        ExportError::NotFound(m) => ApiError::not_found(m),
        ExportError::Refused(m) => ApiError::new(ErrorCode::Conflict, m),
        ExportError::Store(e) => ApiError::from(e),
        ExportError::Package(m) | ExportError::Key(m) => ApiError::internal(m),
    }
}

fn service(st: &AppState) -> Result<Exports, ApiError> {
    st.exports.clone().ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "this hub keeps no data folder for exports"))
}

async fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ExportError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::internal(e.to_string()))?.map_err(export_error)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    requisition: Requisition,
    /// Why the evidence is needed.
    reason: String,
}

pub async fn request(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Result<Json<ExportRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<ExportRecord>), ApiError> {
    let Json(b) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let incident = IncidentId::parse(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let (x, actor) = (service(&st)?, who.actor());
    let e = off_thread(move || x.request(incident, &b.requisition, &b.reason, &actor)).await?;
    let detail = serde_json::json!({ "incident": e.incident_id, "requisition": e.requisition.number, "service": e.requisition.service });
    audited(&st, &who, Action::ExportRequest, format!("export/{}", e.id), detail).await?;
    Ok((StatusCode::CREATED, Json(e)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    approve: bool,
    #[serde(default)]
    note: String,
}

pub async fn decide(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Result<Json<Decision>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ExportRecord>, ApiError> {
    let Json(b) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (x, actor, export_id) = (service(&st)?, who.actor(), id.clone());
    let e = off_thread(move || x.decide(&export_id, b.approve, &b.note, &actor)).await?;
    let action = if b.approve { Action::ExportApprove } else { Action::ExportRefuse };
    let detail = serde_json::json!({ "incident": e.incident_id, "package_sha256": e.package_sha256, "files": e.files });
    audited(&st, &who, action, format!("export/{id}"), detail).await?;
    Ok(Json(e))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    format: Option<String>,
}

/// The register of extractions as CSV rows.
pub(super) fn extraction_rows(list: &[ExportRecord]) -> Vec<Vec<String>> {
    let t = |v: Option<chrono::DateTime<chrono::Utc>>| v.map(|t| t.to_rfc3339()).unwrap_or_default();
    list.iter()
        .map(|e| {
            vec![
                e.id.clone(),
                e.requested_at.to_rfc3339(),
                e.incident_id.clone(),
                e.requisition.service.clone(),
                e.requisition.officer.clone(),
                e.requisition.number.clone(),
                e.requisition.date.clone(),
                e.reason.clone(),
                e.requested_by.clone(),
                e.status.as_str().to_owned(),
                e.decided_by.clone().unwrap_or_default(),
                t(e.decided_at),
                e.files.map(|f| f.to_string()).unwrap_or_default(),
                e.package_sha256.clone().unwrap_or_default(),
                t(e.expires_at),
            ]
        })
        .collect()
}

pub(super) const EXTRACTION_HEADER: &[&str] = &[
    "id",
    "requested_at",
    "incident",
    "service",
    "officer",
    "requisition_number",
    "requisition_date",
    "reason",
    "requested_by",
    "status",
    "decided_by",
    "decided_at",
    "files",
    "package_sha256",
    "download_until",
];

pub async fn list(
    State(st): State<AppState>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let store = st.store.clone();
    let list = super::blocking(move || store.registry().exports(None, None)).await?;
    Ok(match p.format.as_deref() {
        Some("csv") => csv("registre-des-extractions.csv", EXTRACTION_HEADER, extraction_rows(&list)),
        None | Some("json") => Json(list).into_response(),
        Some(other) => return Err(ApiError::bad_request(format!("format={other:?}: json or csv"))),
    })
}

pub async fn get_one(State(st): State<AppState>, Path(id): Path<String>) -> Result<Json<ExportRecord>, ApiError> {
    let store = st.store.clone();
    let e = super::blocking(move || store.registry().export(&id)).await?;
    Ok(Json(e.ok_or_else(|| ApiError::not_found("no such export"))?))
}

/// The package, to its requester or a supervisor, while the download window is open.
pub async fn package(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let x = service(&st)?;
    let store = st.store.clone();
    let export_id = id.clone();
    let e = super::blocking(move || store.registry().export(&export_id))
        .await?
        .ok_or_else(|| ApiError::not_found("no such export"))?;
    if who.actor() != e.requested_by && who.role() != Some(Role::Supervisor) {
        return Err(ApiError::new(ErrorCode::Forbidden, "only its requester or a supervisor downloads an export"));
    }
    let open = e.status == ExportStatus::Approved && e.expires_at.is_some_and(|t| t > st.ingest.now());
    if !open {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "export {id} is {}: no package to download",
                if e.status == ExportStatus::Approved { "past its 24 h window" } else { e.status.as_str() }
            ),
        ));
    }
    let path = x.package_path(&id);
    let bytes =
        tokio::fs::read(&path).await.map_err(|err| ApiError::new(ErrorCode::Unavailable, format!("package: {err}")))?;
    audited(
        &st,
        &who,
        Action::ExportDownload,
        format!("export/{id}"),
        serde_json::json!({ "package_sha256": e.package_sha256 }),
    )
    .await?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"vigie-extraction-{id}.zip\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
