//! Incidents: list (sorted by priority then age), detail with history and detections,
//! operator actions.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use vigie_model::{Incident, IncidentAction, IncidentId, IncidentState, Priority};

use super::{ApiError, AppState, ErrorCode, audited, blocking};
use crate::auth::Principal;
use crate::ingest::ActionError;
use crate::store::{IncidentDetail, IncidentQuery};
use vigie_audit::Action;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Comma-separated states; `open` means new, acknowledged and in progress.
    state: Option<String>,
    #[serde(rename = "type")]
    incident_type: Option<String>,
    district: Option<String>,
    /// Most urgent first; `high` lists critical and high.
    priority: Option<Priority>,
    since: Option<String>,
    limit: Option<usize>,
}

pub async fn list(
    State(st): State<AppState>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<Incident>>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut states = Vec::new();
    for s in p.state.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if s == "open" {
            states.extend(IncidentState::ALL.iter().filter(|s| s.is_open()));
        } else {
            states.push(s.parse::<IncidentState>().map_err(ApiError::bad_request)?);
        }
    }
    let q = IncidentQuery {
        states,
        incident_type: p.incident_type,
        district: p.district,
        min_priority: p.priority,
        since: super::detections::parse_time("since", &p.since)?,
        limit: p.limit.unwrap_or(500).clamp(1, 5000),
    };
    let store = st.store.clone();
    Ok(Json(blocking(move || store.incidents(&q)).await?))
}

fn parse_id(id: &str) -> Result<IncidentId, ApiError> {
    IncidentId::parse(id).map_err(|e| ApiError::bad_request(e.to_string()))
}

pub async fn get_one(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Extension(who): Extension<Principal>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let id = parse_id(&id)?;
    let store = st.store.clone();
    let detail =
        blocking(move || store.incident(id)).await?.ok_or_else(|| ApiError::not_found(format!("no incident {id}")))?;
    // An incident's detail holds its detections and their evidence: a read to account for.
    audited(&st, &who, Action::ReadIncident, format!("incident/{id}"), serde_json::Value::Null).await?;
    Ok(Json(detail))
}

async fn apply(st: &AppState, id: &str, action: IncidentAction, who: &Principal) -> Result<Json<Incident>, ApiError> {
    let id = parse_id(id)?;
    let name = action.name();
    let audit_action = if matches!(action, IncidentAction::Note { .. }) { Action::Note } else { Action::Transition };
    match st.ingest.act(id, action, &who.actor()).await {
        Ok(i) => {
            let detail = serde_json::json!({ "action": name, "state": i.state, "version": i.version });
            audited(st, who, audit_action, format!("incident/{id}"), detail).await?;
            Ok(Json(i))
        }
        Err(ActionError::NotFound(id)) => Err(ApiError::not_found(format!("no incident {id}"))),
        Err(ActionError::Transition(vigie_model::incident::TransitionError::Invalid(m))) => {
            Err(ApiError::bad_request(m))
        }
        Err(ActionError::Transition(e)) => Err(ApiError::new(ErrorCode::Conflict, e.to_string())),
        Err(ActionError::Store(e)) => Err(ApiError::new(ErrorCode::Unavailable, e)),
    }
}

pub async fn act(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Extension(who): Extension<Principal>,
    body: Result<Json<IncidentAction>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Incident>, ApiError> {
    let Json(action) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    apply(&st, &id, action, &who).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    text: String,
}

pub async fn note(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Extension(who): Extension<Principal>,
    body: Result<Json<NoteBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Incident>, ApiError> {
    let Json(b) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    apply(&st, &id, IncidentAction::Note { text: b.text }, &who).await
}
