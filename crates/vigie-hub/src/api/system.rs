//! Health, Prometheus metrics, the OpenAPI document.

use std::sync::atomic::Ordering::Relaxed;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;

use super::{ApiError, AppState, blocking};
use crate::store::StoreCounts;

/// The OpenAPI 3.1 document of every route in [`super::ROUTES`].
pub const OPENAPI: &str = include_str!("openapi.json");

#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
    pub hub: String,
    pub store: &'static str,
    pub mqtt: String,
    pub uptime_s: u64,
    pub sensors: usize,
    pub rules: usize,
    #[serde(flatten)]
    pub counts: StoreCounts,
    pub detections_received: u64,
    pub detections_accepted: u64,
    /// Operators can search online posts (`[social] index` is set).
    pub social_search: bool,
}

pub async fn health(State(st): State<AppState>) -> Result<Json<Health>, ApiError> {
    let store = st.store.clone();
    let counts = blocking(move || store.counts()).await?;
    let cfg = st.ingest.config();
    Ok(Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        hub: cfg.hub_name.clone(),
        store: st.store.backend(),
        mqtt: st.mqtt.clone(),
        uptime_s: st.started.elapsed().as_secs(),
        sensors: cfg.sensors.len(),
        rules: cfg.rules.len(),
        counts,
        detections_received: st.ingest.metrics().received_count(),
        detections_accepted: st.ingest.metrics().accepted.load(Relaxed),
        social_search: st.social.is_some(),
    }))
}

pub async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    let mut extra: Vec<(&str, &str, u64)> =
        vec![("vigie_hub_uptime_seconds", "Seconds since the hub started.", st.started.elapsed().as_secs())];
    if let Some(b) = &st.broker {
        let s = b.stats();
        extra.push(("vigie_mqtt_connections", "Clients connected to the embedded broker.", s.connections_current));
        extra.push((
            "vigie_mqtt_publishes_received_total",
            "PUBLISH packets received by the embedded broker.",
            s.publishes_received_total,
        ));
        extra.push((
            "vigie_mqtt_publishes_delivered_total",
            "Messages delivered to subscribers.",
            s.publishes_delivered_total,
        ));
        extra.push(("vigie_mqtt_dropped_total", "Messages dropped (full queues).", s.dropped_total));
        extra.push((
            "vigie_mqtt_packet_errors_total",
            "Malformed or oversized packets (connection closed).",
            s.packet_errors_total,
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], st.ingest.metrics().render(&extra))
}

pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// The latest signed checkpoint of the audit log: public, so anyone can hold the hub to it
/// (`vigie audit verify` checks a log against it).
pub async fn audit_checkpoint(State(st): State<AppState>) -> Result<Json<vigie_audit::SignedCheckpoint>, ApiError> {
    match &st.audit {
        Some(a) => Ok(Json(a.checkpoint())),
        None => Err(ApiError::not_found("this hub runs without an audit log")),
    }
}
