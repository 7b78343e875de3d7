//! The data protection officer's registers: legal authorizations, legal holds (and their
//! release), purges; and the search of the audit log. Each as JSON or CSV.

use std::collections::VecDeque;
use std::io::BufRead;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use vigie_audit::{Action, AuditEntry};

use super::{ApiError, AppState, ErrorCode, audited, blocking, csv::csv};
use crate::auth::Principal;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Format {
    format: Option<String>,
}

fn wants_csv(f: &Option<String>) -> Result<bool, ApiError> {
    match f.as_deref() {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!("format={other:?}: json or csv"))),
    }
}

pub async fn authorizations(
    State(st): State<AppState>,
    q: Result<Query<Format>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let cfg = st.ingest.config();
    let now = st.ingest.now();
    if wants_csv(&q.format)? {
        let rows = cfg.authorizations.iter().map(|a| {
            vec![
                a.reference.clone(),
                a.start.to_rfc3339(),
                a.end.to_rfc3339(),
                a.in_force(now).to_string(),
                a.sensors.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "),
                a.analytics.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" "),
            ]
        });
        return Ok(csv(
            "registre-des-autorisations.csv",
            &["reference", "start", "end", "in_force", "sensors", "analytics"],
            rows,
        ));
    }
    let list: Vec<serde_json::Value> = cfg
        .authorizations
        .iter()
        .map(|a| serde_json::json!({ "reference": a.reference, "start": a.start, "end": a.end, "in_force": a.in_force(now), "sensors": a.sensors, "analytics": a.analytics }))
        .collect();
    Ok(Json(list).into_response())
}

pub async fn purges(
    State(st): State<AppState>,
    q: Result<Query<Format>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let store = st.store.clone();
    let list = blocking(move || store.registry().purges(None, None)).await?;
    if wants_csv(&q.format)? {
        let rows =
            list.iter().map(|p| vec![p.at.to_rfc3339(), p.data_class.clone(), p.count.to_string(), p.detail.clone()]);
        return Ok(csv("registre-des-purges.csv", &["at", "data_class", "count", "detail"], rows));
    }
    Ok(Json(list).into_response())
}

pub async fn holds(
    State(st): State<AppState>,
    q: Result<Query<Format>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let store = st.store.clone();
    let list = blocking(move || store.registry().holds()).await?;
    if wants_csv(&q.format)? {
        let rows =
            list.iter().map(|h| vec![h.incident_id.clone(), h.since.to_rfc3339(), h.reason.clone(), h.held_by.clone()]);
        return Ok(csv("gels-judiciaires.csv", &["incident", "since", "reason", "held_by"], rows));
    }
    Ok(Json(list).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// Why the hold ends (the procedure closed, the requisition withdrawn…).
    reason: String,
}

/// Lifts a legal hold: retention applies again to the incident.
pub async fn release_hold(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(incident): Path<String>,
    body: Result<Json<Release>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(b) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let reason = b.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(ApiError::bad_request("give the reason the hold ends (1 to 2000 characters)"));
    }
    let store = st.store.clone();
    let id = incident.clone();
    if !blocking(move || Ok(store.registry().holds()?.iter().any(|h| h.incident_id == id))).await? {
        return Err(ApiError::not_found(format!("incident {incident} is not on hold")));
    }
    // Written down before it happens: if the log cannot take it, the hold stays.
    audited(&st, &who, Action::HoldRelease, format!("incident/{incident}"), serde_json::json!({ "reason": reason }))
        .await?;
    let store = st.store.clone();
    let id = incident.clone();
    blocking(move || store.registry().release_hold(&id)).await?;
    Ok(Json(serde_json::json!({ "incident": incident, "held": false })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Exact actor, e.g. `user:olivia` or `token:tok_…`.
    actor: Option<String>,
    /// Exact action, e.g. `read_evidence`.
    action: Option<String>,
    /// Target prefix, e.g. `incident/01JD…` or `export/`.
    target: Option<String>,
    /// Text anywhere in the entry (case-insensitive).
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// Newest entries first, at most this many (default 200, at most 10 000).
    limit: Option<usize>,
    format: Option<String>,
}

/// Searches the audit log, newest first. The search itself is audited.
pub async fn audit_entries(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let csv_out = wants_csv(&q.format)?;
    let audit = st.audit.clone().ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "this hub keeps no audit log"))?;
    let from = super::detections::parse_time("from", &q.from)?;
    let to = super::detections::parse_time("to", &q.to)?;
    let limit = q.limit.unwrap_or(200).clamp(1, 10_000);
    let needle = q.q.as_deref().map(str::to_lowercase).filter(|s| !s.is_empty());
    let detail = serde_json::json!({ "actor": q.actor, "action": q.action, "target": q.target, "q": q.q, "from": q.from, "to": q.to });
    audited(&st, &who, Action::AuditRead, "audit".into(), detail).await?;
    let path = audit.dir().join(vigie_audit::ENTRIES_FILE);
    let (actor, action, target) = (q.actor, q.action, q.target);
    let found = tokio::task::spawn_blocking(move || -> std::io::Result<VecDeque<AuditEntry>> {
        let file = std::fs::File::open(&path)?;
        let mut keep = VecDeque::with_capacity(limit);
        for line in std::io::BufReader::with_capacity(1 << 20, file).lines() {
            let line = line?;
            if needle.as_ref().is_some_and(|n| !line.to_lowercase().contains(n)) {
                continue;
            }
            let Ok(e) = serde_json::from_str::<AuditEntry>(&line) else { continue };
            let ok = actor.as_ref().is_none_or(|a| &e.actor == a)
                && action.as_ref().is_none_or(|a| e.action.as_str() == a)
                && target.as_ref().is_none_or(|t| e.target.starts_with(t.as_str()))
                && from.is_none_or(|f: DateTime<Utc>| e.at >= f)
                && to.is_none_or(|t: DateTime<Utc>| e.at < t);
            if ok {
                if keep.len() == limit {
                    keep.pop_front();
                }
                keep.push_back(e);
            }
        }
        Ok(keep)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(|e| ApiError::new(ErrorCode::Unavailable, format!("audit log: {e}")))?;
    let newest_first: Vec<AuditEntry> = found.into_iter().rev().collect();
    if csv_out {
        let rows = newest_first.iter().map(|e| {
            vec![
                e.seq.to_string(),
                e.at.to_rfc3339(),
                e.actor.clone(),
                e.action.as_str().to_owned(),
                e.target.clone(),
                e.detail.to_string(),
            ]
        });
        return Ok(csv("journal-d-audit.csv", &["seq", "at", "actor", "action", "target", "detail"], rows));
    }
    Ok(Json(newest_first).into_response())
}
