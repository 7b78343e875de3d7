//! The REST API under `/api/v1`, the live stream, `/metrics`, the console (`/`, `/report`,
//! `/assets/…`): thin axum handlers over ingest and the store. One error type maps to HTTP statuses (`error.rs`).

mod console;
mod detections;
mod error;
mod incidents;
/// Citizen reports: `POST /api/v1/reports`, photo metadata stripping, size and rate limits.
pub mod reports;
mod sensors;
mod stream;
mod system;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use error::{ApiError, ErrorCode};

use crate::ingest::Ingest;
use crate::store::Store;

/// Largest request body: an NDJSON batch of detections.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    pub ingest: Ingest,
    pub store: Arc<dyn Store>,
    pub started: Instant,
    /// How the MQTT side runs, for health: `embedded 127.0.0.1:1883`, `external …`, `off`.
    pub mqtt: String,
    pub broker: Option<vigie_broker::BrokerHandle>,
    /// The audit log; `None` only in tests and benches that do not exercise it.
    pub audit: Option<crate::audit::Auditor>,
    /// Where citizen report photos are stored (`<data>/evidence`); `None`: photos are refused.
    pub evidence_dir: Option<std::path::PathBuf>,
    /// Citizen reports per client address.
    pub reports: Arc<reports::RateLimiter>,
}

/// Who acts. Until accounts exist, the console names its operator in `X-Vigie-Operator`.
pub(crate) fn actor(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("x-vigie-operator")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().chars().filter(|c| !c.is_control()).take(100).collect::<String>())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "operator".into())
}

/// Appends to the audit log before the caller serves data or confirms an action; a log
/// that cannot be written refuses the request (fail closed).
pub(crate) async fn audited(
    st: &AppState,
    headers: &axum::http::HeaderMap,
    action: vigie_audit::Action,
    target: String,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    let Some(audit) = &st.audit else { return Ok(()) };
    let entry = vigie_audit::AuditEntry::new(actor(headers), action, target).with_detail(detail);
    audit.record(entry).await.map(|_| ()).map_err(|e| ApiError::new(ErrorCode::Unavailable, format!("audit log: {e}")))
}

/// Every route, as (method, path). The OpenAPI document must describe each one: a test
/// fails when a route is added here without its entry there.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/health"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/sensors"),
    ("get", "/api/v1/sensors/{id}"),
    ("get", "/api/v1/zones"),
    ("post", "/api/v1/detections"),
    ("post", "/api/v1/reports"),
    ("get", "/api/v1/detections"),
    ("get", "/api/v1/detections/refused"),
    ("get", "/api/v1/detections/{id}"),
    ("get", "/api/v1/incidents"),
    ("get", "/api/v1/incidents/{id}"),
    ("post", "/api/v1/incidents/{id}/actions"),
    ("post", "/api/v1/incidents/{id}/notes"),
    ("get", "/api/v1/stream"),
    ("get", "/api/v1/audit/checkpoint"),
    ("get", "/metrics"),
    ("get", "/api/v1/basemap"),
    ("get", "/api/v1/stats/precision"),
    ("get", "/"),
    ("get", "/report"),
    ("get", "/assets/{file}"),
];

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/health", get(system::health))
        .route("/api/v1/openapi.json", get(system::openapi))
        .route("/api/v1/sensors", get(sensors::list))
        .route("/api/v1/sensors/{id}", get(sensors::get_one))
        .route("/api/v1/zones", get(sensors::zones))
        .route("/api/v1/detections", post(detections::post_ndjson).get(detections::list))
        .route("/api/v1/reports", post(reports::post))
        .route("/api/v1/detections/refused", get(detections::refused))
        .route("/api/v1/detections/{id}", get(detections::get_one))
        .route("/api/v1/incidents", get(incidents::list))
        .route("/api/v1/incidents/{id}", get(incidents::get_one))
        .route("/api/v1/incidents/{id}/actions", post(incidents::act))
        .route("/api/v1/incidents/{id}/notes", post(incidents::note))
        .route("/api/v1/stream", get(stream::sse))
        .route("/api/v1/audit/checkpoint", get(system::audit_checkpoint))
        .route("/metrics", get(system::metrics))
        .route("/api/v1/basemap", get(console::basemap))
        .route("/api/v1/stats/precision", get(console::precision))
        .route("/", get(console::index))
        .route("/report", get(console::report))
        .route("/assets/{file}", get(console::asset))
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Runs a blocking store call off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("task failed: {e}")))?
        .map_err(ApiError::from)
}
