//! Sensors with their health (and, for mobile ones, where they are), and the districts as
//! GeoJSON.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use vigie_model::{Sensor, SensorId};

use super::{ApiError, AppState};
use crate::sensors::SensorHealth;

#[derive(Debug, Serialize)]
pub struct SensorView {
    #[serde(flatten)]
    pub sensor: Sensor,
    pub health: Option<SensorHealth>,
    /// The legal bases naming this sensor, and whether each is in force now.
    pub authorizations: Vec<AuthorizationView>,
    /// A mobile sensor's newest fix (absent before its first one, and for fixed sensors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<vigie_model::PositionFix>,
}

#[derive(Debug, Serialize)]
pub struct AuthorizationView {
    pub reference: String,
    pub analytics: Vec<vigie_model::Kind>,
    pub start: chrono::DateTime<chrono::Utc>,
    pub end: chrono::DateTime<chrono::Utc>,
    pub in_force: bool,
}

fn authorizations(st: &AppState, id: &SensorId) -> Vec<AuthorizationView> {
    let now = st.ingest.now();
    st.ingest
        .config()
        .authorizations
        .iter()
        .filter(|a| a.sensors.contains(id))
        .map(|a| AuthorizationView {
            reference: a.reference.clone(),
            analytics: a.analytics.clone(),
            start: a.start,
            end: a.end,
            in_force: a.in_force(now),
        })
        .collect()
}

pub async fn list(State(st): State<AppState>) -> Json<Vec<SensorView>> {
    let health = st.ingest.activity().all();
    Json(
        st.ingest
            .config()
            .sensors
            .iter()
            .map(|s| SensorView {
                sensor: s.clone(),
                health: health.get(&s.id).cloned(),
                authorizations: authorizations(&st, &s.id),
                position: st.ingest.sensor_position(&s.id),
            })
            .collect(),
    )
}

pub async fn get_one(State(st): State<AppState>, Path(id): Path<String>) -> Result<Json<SensorView>, ApiError> {
    let id = SensorId::new(id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let sensor =
        st.ingest.config().sensor(id.as_str()).ok_or_else(|| ApiError::not_found(format!("no sensor {id}")))?;
    Ok(Json(SensorView {
        sensor: sensor.clone(),
        health: st.ingest.activity().get(&id),
        authorizations: authorizations(&st, &id),
        position: st.ingest.sensor_position(&id),
    }))
}

/// The config's districts as a GeoJSON FeatureCollection.
pub async fn zones(State(st): State<AppState>) -> Json<serde_json::Value> {
    let features: Vec<serde_json::Value> = st
        .ingest
        .config()
        .districts
        .iter()
        .map(|z| {
            let polys: Vec<Vec<Vec<[f64; 2]>>> = z
                .polygons
                .iter()
                .map(|p| p.rings.iter().map(|r| r.iter().map(|(x, y)| [*x, *y]).collect()).collect())
                .collect();
            serde_json::json!({
                "type": "Feature",
                "properties": { "id": z.id, "name": z.name },
                "geometry": { "type": "MultiPolygon", "coordinates": polys },
            })
        })
        .collect();
    Json(serde_json::json!({ "type": "FeatureCollection", "features": features }))
}
