//! The video wall's saved layouts, per person: `GET /api/v1/wall/layouts` (mine),
//! `PUT /api/v1/wall/layouts/{name}` (save or replace), `DELETE …/{name}`. A layout is the
//! console's JSON (grid, cameras per tile, tour); the hub bounds its size and shape.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;

use super::{ApiError, AppState, blocking};
use crate::auth::Principal;
use crate::store::WallLayout;

/// A saved layout is small: a grid, some camera ids, a tour.
const MAX_LAYOUT_BYTES: usize = 16 * 1024;
const MAX_LAYOUTS: usize = 50;

fn owner(who: &Principal) -> String {
    who.actor()
}

fn check_name(name: &str) -> Result<String, ApiError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 64 || n.chars().any(char::is_control) {
        return Err(ApiError::bad_request("a layout name is 1 to 64 printable characters"));
    }
    Ok(n.to_owned())
}

pub async fn list(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Vec<WallLayout>>, ApiError> {
    let (store, me) = (st.store.clone(), owner(&who));
    Ok(Json(blocking(move || store.registry().wall_layouts(&me)).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveLayout {
    layout: serde_json::Value,
}

pub async fn save(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
    body: Result<Json<SaveLayout>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(b) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let name = check_name(&name)?;
    let size = serde_json::to_vec(&b.layout).map(|v| v.len()).unwrap_or(usize::MAX);
    if !b.layout.is_object() || size > MAX_LAYOUT_BYTES {
        return Err(ApiError::bad_request(format!("a layout is a JSON object of at most {MAX_LAYOUT_BYTES} bytes")));
    }
    if let Some(tiles) = b.layout.get("tiles") {
        let ok = tiles.as_array().is_some_and(|t| t.len() <= 16 && t.iter().all(|c| c.is_null() || c.is_string()));
        if !ok {
            return Err(ApiError::bad_request("tiles: at most 16 camera ids (or null for an empty tile)"));
        }
    }
    let (store, me, now) = (st.store.clone(), owner(&who), st.ingest.now());
    blocking(move || {
        let reg = store.registry();
        let mine = reg.wall_layouts(&me)?;
        if mine.len() >= MAX_LAYOUTS && !mine.iter().any(|l| l.name == name) {
            return Ok(false);
        }
        reg.save_wall_layout(&me, &name, &b.layout, now)?;
        Ok(true)
    })
    .await?
    .then_some(StatusCode::NO_CONTENT)
    .ok_or_else(|| ApiError::bad_request(format!("at most {MAX_LAYOUTS} saved layouts per person")))
}

pub async fn delete(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (store, me) = (st.store.clone(), owner(&who));
    let name = check_name(&name)?;
    if blocking(move || store.registry().delete_wall_layout(&me, &name)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such layout"))
    }
}
