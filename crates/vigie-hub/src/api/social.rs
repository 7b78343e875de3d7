//! Online-media search for operators, `GET /api/v1/social/search`: the posts `vigie social`
//! retained, searched with the watch-query language (AND/OR/NOT, "phrases", NEAR/n, prefix*),
//! behind the hub's accounts, and every search written to the audit log with its query, so
//! that the DPO can see what was looked for. The index holds no author: there is no way
//! to search for a person's posts.

use axum::Json;
use axum::extract::{Query, State};
use axum::{Extension, extract::rejection::QueryRejection};
use serde::Deserialize;
use vigie_audit::Action;
use vigie_social::search::{SearchOptions, SearchResults};

use super::{ApiError, AppState, ErrorCode, audited};
use crate::auth::Principal;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// The query, e.g. `incendie NEAR/3 commerce`.
    q: String,
    district: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// At most this many posts, newest first (default 50, at most 500).
    limit: Option<usize>,
}

pub async fn search(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<SearchResults>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let index = st
        .social
        .clone()
        .ok_or_else(|| ApiError::not_found("this hub has no online-media index ([social] index in its config)"))?;
    if p.q.trim().is_empty() || p.q.chars().count() > 500 {
        return Err(ApiError::bad_request("q must be a query of 1 to 500 characters"));
    }
    let from = super::detections::parse_time("from", &p.from)?;
    let to = super::detections::parse_time("to", &p.to)?;
    let opts = SearchOptions {
        limit: p.limit.unwrap_or(50).clamp(1, 500),
        from_ms: from.map(|t| t.timestamp_millis()),
        to_ms: to.map(|t| t.timestamp_millis()),
        district: p.district.clone(),
    };
    let detail = serde_json::json!({ "q": p.q, "district": p.district, "from": p.from, "to": p.to });
    audited(&st, &who, Action::Search, "social".into(), detail).await?;
    let q = p.q.clone();
    tokio::task::spawn_blocking(move || index.search(&q, &opts))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map(Json)
        .map_err(|e| match e {
            vigie_social::SocialError::Query { .. } => ApiError::bad_request(e.to_string()),
            other => ApiError::new(ErrorCode::Unavailable, other.to_string()),
        })
}
