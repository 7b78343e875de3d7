//! Recordings: a recorder uploads each finished segment
//! (`POST /api/v1/recordings/{camera}/segments`, device token); operators list what is
//! recorded (`GET /api/v1/recordings`, `GET /api/v1/recordings/{camera}/segments`) and
//! play it back segment by segment (`GET /api/v1/segments/{id}`, an audited read).
//!
//! An upload is checked before it is kept (a whole fragmented MP4 opening on a keyframe,
//! its duration and size within bounds, its start within what retention keeps); a refusal
//! is answered with its reason and counted by reason. A segment sent twice (a lost
//! answer) is stored once: its id is the idempotency key, and the answer carries the
//! SHA-256 the hub holds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use vigie_audit::Action;
use vigie_record::archive::{Archive, UploadError, UploadQuery, check_upload};

use super::detections::parse_time;
use super::live::camera_of;
use super::{ApiError, AppState, ErrorCode, audited, blocking};
use crate::auth::Principal;
use crate::store::{CameraRecordings, SegmentRecord};

/// Uploads counted since the hub started.
#[derive(Debug, Default)]
pub struct UploadCounts {
    pub stored: u64,
    pub duplicate: u64,
    /// Refusals by reason.
    pub refused: BTreeMap<&'static str, u64>,
}

/// Shared counters of the recordings API.
pub type RecordingCounters = Arc<Mutex<UploadCounts>>;

fn count(st: &AppState, f: impl FnOnce(&mut UploadCounts)) {
    f(&mut st.recording_counts.lock().unwrap_or_else(|p| p.into_inner()));
}

fn refuse(st: &AppState, reason: &'static str, e: ApiError) -> ApiError {
    count(st, |c| *c.refused.entry(reason).or_default() += 1);
    e
}

fn archive(st: &AppState) -> Result<Archive, ApiError> {
    st.recordings.clone().ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "this hub keeps no recordings folder"))
}

#[derive(Debug, Serialize)]
pub struct UploadAnswer {
    /// `stored` or `duplicate` (already held: nothing changed).
    pub status: &'static str,
    pub id: String,
    pub sha256: String,
    pub start: chrono::DateTime<Utc>,
    pub end: chrono::DateTime<Utc>,
    pub duration_ms: u64,
}

pub async fn upload(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(camera): Path<String>,
    q: Result<Query<UploadQuery>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> Result<(StatusCode, Json<UploadAnswer>), ApiError> {
    camera_of(&st, &camera).map_err(|e| refuse(&st, "unknown_camera", e))?;
    if !who.may_publish_for(&camera) {
        let e = ApiError::new(ErrorCode::Forbidden, format!("this token may not record for {camera}"));
        return Err(refuse(&st, "sensor_not_in_token", e));
    }
    let Query(q) = q.map_err(|e| refuse(&st, "bad_query", ApiError::bad_request(e.body_text())))?;
    let archive = archive(&st)?;
    let now = st.ingest.now();
    let days = st.ingest.config().retention.evidence_days_of(&camera);
    let oldest = now - Duration::days(i64::from(days));
    let store = st.store.clone();
    let cam = camera.clone();
    type Checked = Result<(&'static str, SegmentRecordOrMeta), UploadError>;
    let outcome = tokio::task::spawn_blocking(move || -> Result<Checked, crate::store::StoreError> {
        let meta = match check_upload(&cam, &q, &body, now, oldest) {
            Ok(m) => m,
            Err(e) => return Ok(Err(e)),
        };
        let reg = store.registry();
        if let Some(held) = reg.segment(&meta.id)? {
            return Ok(Ok(("duplicate", SegmentRecordOrMeta::Record(held))));
        }
        let rel = archive.store(&meta, &body).map_err(|e| crate::store::StoreError::Open(e.to_string()))?;
        if !reg.insert_segment(&meta, &rel, now)? {
            // Two uploads of the same id at once: the other one was indexed.
            let _ = archive.remove(&rel);
            if let Some(held) = reg.segment(&meta.id)? {
                return Ok(Ok(("duplicate", SegmentRecordOrMeta::Record(held))));
            }
        }
        Ok(Ok(("stored", SegmentRecordOrMeta::Meta(meta))))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(ApiError::from)?;
    let (status, seg) = match outcome {
        Ok(x) => x,
        Err(e) => {
            let code = match e {
                UploadError::Size(_) => ErrorCode::PayloadTooLarge,
                _ => ErrorCode::BadRequest,
            };
            tracing::warn!(camera = %camera, reason = e.reason(), error = %e, "recording segment refused");
            return Err(refuse(&st, e.reason(), ApiError::new(code, format!("camera {camera}: {e}"))));
        }
    };
    let answer = match seg {
        SegmentRecordOrMeta::Record(r) => {
            if status == "duplicate" {
                count(&st, |c| c.duplicate += 1);
            }
            UploadAnswer {
                status,
                id: r.id,
                sha256: r.sha256,
                start: r.start,
                end: r.end,
                duration_ms: (r.end - r.start).num_milliseconds().max(0) as u64,
            }
        }
        SegmentRecordOrMeta::Meta(m) => {
            count(&st, |c| c.stored += 1);
            UploadAnswer { status, id: m.id, sha256: m.sha256, start: m.start, end: m.end, duration_ms: m.duration_ms }
        }
    };
    let code = if answer.status == "stored" { StatusCode::CREATED } else { StatusCode::OK };
    Ok((code, Json(answer)))
}

enum SegmentRecordOrMeta {
    Record(SegmentRecord),
    Meta(vigie_record::segment::SegmentMeta),
}

#[derive(Debug, Serialize)]
pub struct RecordingsOverview {
    pub cameras: Vec<CameraRecordings>,
    pub total_bytes: u64,
    /// The recordings disk (`null` without a recordings folder).
    pub disk: Option<DiskInfo>,
    pub uploads: UploadsInfo,
}

#[derive(Debug, Serialize)]
pub struct DiskInfo {
    pub total_bytes: u64,
    pub free_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct UploadsInfo {
    pub stored: u64,
    pub duplicate: u64,
    pub refused: BTreeMap<&'static str, u64>,
}

pub async fn overview(State(st): State<AppState>) -> Result<Json<RecordingsOverview>, ApiError> {
    let store = st.store.clone();
    let (cameras, total_bytes) =
        blocking(move || Ok((store.registry().recording_cameras()?, store.registry().recordings_bytes()?))).await?;
    let disk = st
        .recordings
        .as_ref()
        .and_then(|a| a.disk().ok())
        .map(|d| DiskInfo { total_bytes: d.total_bytes, free_bytes: d.free_bytes });
    let uploads = {
        let c = st.recording_counts.lock().unwrap_or_else(|p| p.into_inner());
        UploadsInfo { stored: c.stored, duplicate: c.duplicate, refused: c.refused.clone() }
    };
    Ok(Json(RecordingsOverview { cameras, total_bytes, disk, uploads }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentsParams {
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
}

/// A camera's segments over a time range (default: the last hour), without their bytes.
pub async fn segments(
    State(st): State<AppState>,
    Path(camera): Path<String>,
    params: Result<Query<SegmentsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<SegmentRecord>>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    camera_of(&st, &camera)?;
    let now = st.ingest.now();
    let to = parse_time("to", &p.to)?.unwrap_or(now + Duration::minutes(1));
    let from = parse_time("from", &p.from)?.unwrap_or(to - Duration::hours(1));
    if from >= to {
        return Err(ApiError::bad_request("from must be before to"));
    }
    let limit = p.limit.unwrap_or(1000).clamp(1, 10_000);
    let store = st.store.clone();
    Ok(Json(blocking(move || store.registry().segments(&camera, from, to, limit)).await?))
}

/// One segment file: an audited read (opening playback of a camera at a time).
pub async fn segment_file(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if ulid::Ulid::from_string(&id).is_err() {
        return Err(ApiError::bad_request(format!("{id:?} is not a segment id")));
    }
    let archive = archive(&st)?;
    let store = st.store.clone();
    let seg_id = id.clone();
    let seg = blocking(move || store.registry().segment(&seg_id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no segment {id}")))?;
    let path = seg.path.clone();
    let bytes = tokio::task::spawn_blocking(move || archive.read(&path))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::new(ErrorCode::Unavailable, e.to_string()))?;
    let detail = serde_json::json!({ "view": "playback", "start": seg.start, "end": seg.end });
    audited(&st, &who, Action::ReadEvidence, format!("recording/{}/{}", seg.camera, seg.id), detail).await?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(v) = HeaderValue::from_str(&seg.start.to_rfc3339()) {
        h.insert("x-segment-start", v);
    }
    Ok(resp)
}
