//! The REST API under `/api/v1`, the live stream, `/metrics`, the console (`/`, `/report`,
//! `/assets/…`): thin axum handlers over ingest and the store. One error type maps to HTTP statuses (`error.rs`).

mod access;
mod admin;
mod console;
mod csv;
mod detections;
mod error;
mod evidence;
mod exports;
mod incidents;
mod live;
/// Recordings: segment uploads, listing, playback.
pub mod recordings;
mod registers;
/// Citizen reports: `POST /api/v1/reports`, photo metadata stripping, size and rate limits.
pub mod reports;
mod sensors;
mod session;
mod social;
mod stream;
mod system;
mod telemetry;
mod transparency;
mod wall;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, delete, get, post, put};

pub use access::ClientAddr;
pub use error::{ApiError, ErrorCode};

use crate::auth::{ADMIN, Access, Auth, DPO, OPERATIONS, Principal, Role, SUPERVISION};

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
    /// Evidence files (`<data>/evidence`): citizen photos, device snapshots and clips;
    /// `None`: photos and evidence uploads are refused.
    pub evidence: Option<crate::evidence::EvidenceStore>,
    /// Citizen reports per client address.
    pub reports: Arc<reports::RateLimiter>,
    /// Accounts, sessions, tokens.
    pub auth: Auth,
    /// Evidence exports on requisition; `None` without a data folder.
    pub exports: Option<crate::exports::Exports>,
    /// The online-media search index (`[social] index`), read only; `None`: not wired.
    pub social: Option<Arc<vigie_social::search::SearchReader>>,
    /// The transparency page's data, computed at most once a minute.
    pub transparency: Arc<std::sync::Mutex<Option<(Instant, bytes::Bytes)>>>,
    /// Whether session cookies carry `Secure` (the hub is reached over HTTPS, directly or
    /// through a proxy); off only when it listens on a loopback address.
    pub secure_cookies: bool,
    /// Recording segments (`<data>/recordings`); `None`: uploads are refused.
    pub recordings: Option<vigie_record::archive::Archive>,
    /// Live view: one channel per camera, fed by its recorder, read by every viewer.
    pub live: vigie_record::live::LiveFanout,
    /// Segment uploads stored, duplicated and refused (by reason) since the start.
    pub recording_counts: recordings::RecordingCounters,
}

/// Appends to the audit log before the caller serves data or confirms an action; a log
/// that cannot be written refuses the request (fail closed).
pub(crate) async fn audited(
    st: &AppState,
    who: &Principal,
    action: vigie_audit::Action,
    target: String,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    let Some(audit) = &st.audit else { return Ok(()) };
    let entry = vigie_audit::AuditEntry::new(who.actor(), action, target).with_detail(detail);
    audit.record(entry).await.map(|_| ()).map_err(|e| ApiError::new(ErrorCode::Unavailable, format!("audit log: {e}")))
}

/// One route: its method, its path, and who may use it.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const fn route(method: &'static str, path: &'static str, access: Access) -> Route {
    Route { method, path, access }
}

/// Every person's role may read these (no personal data: sensors, their analytics).
const ANY_ROLE: Access = Access::Roles(&Role::ALL);
const OPS: Access = Access::Roles(OPERATIONS);
const OPS_DPO: Access = Access::Roles(&[Role::Operator, Role::Supervisor, Role::Dpo]);
const THE_DPO: Access = Access::People(DPO);
const THE_ADMIN: Access = Access::People(ADMIN);
/// Operators and supervisors in person (see [`Access::People`]).
const OPS_PEOPLE: Access = Access::People(OPERATIONS);
const OPS_DPO_PEOPLE: Access = Access::People(&[Role::Operator, Role::Supervisor, Role::Dpo]);
const SUPERVISORS: Access = Access::People(SUPERVISION);

/// Every route, with what it requires. The router is built from this table, the access
/// layer reads it, the OpenAPI document must describe each entry, and a table-driven test
/// walks each with every kind of caller.
pub const ROUTES: &[Route] = &[
    route("get", "/api/v1/health", Access::Public),
    route("get", "/api/v1/openapi.json", Access::Public),
    route("post", "/api/v1/login", Access::Public),
    route("post", "/api/v1/logout", Access::Signed),
    route("get", "/api/v1/me", Access::Public),
    route("post", "/api/v1/me/password", Access::Signed),
    route("get", "/api/v1/users", THE_ADMIN),
    route("post", "/api/v1/users", THE_ADMIN),
    route("post", "/api/v1/users/{username}/actions", THE_ADMIN),
    route("get", "/api/v1/tokens", THE_ADMIN),
    route("post", "/api/v1/tokens", THE_ADMIN),
    route("post", "/api/v1/tokens/{id}/revoke", THE_ADMIN),
    route("get", "/api/v1/sensors", ANY_ROLE),
    route("get", "/api/v1/sensors/{id}", ANY_ROLE),
    route("post", "/api/v1/sensors/{id}/telemetry", Access::Device),
    route("get", "/api/v1/sensors/{id}/track", OPS),
    route("get", "/api/v1/zones", Access::Public),
    route("post", "/api/v1/detections", Access::Device),
    route("post", "/api/v1/evidence", Access::Device),
    route("get", "/api/v1/evidence/{file}", OPS_PEOPLE),
    route("post", "/api/v1/reports", Access::Public),
    route("get", "/api/v1/detections", OPS),
    route("get", "/api/v1/detections/refused", OPS),
    route("get", "/api/v1/detections/{id}", OPS),
    route("get", "/api/v1/incidents", OPS),
    route("get", "/api/v1/incidents/{id}", OPS),
    route("post", "/api/v1/incidents/{id}/actions", OPS),
    route("post", "/api/v1/incidents/{id}/notes", OPS),
    route("post", "/api/v1/incidents/{id}/exports", OPS_PEOPLE),
    route("get", "/api/v1/exports", OPS_DPO_PEOPLE),
    route("get", "/api/v1/exports/{id}", OPS_DPO_PEOPLE),
    route("post", "/api/v1/exports/{id}/decision", SUPERVISORS),
    route("get", "/api/v1/exports/{id}/package", OPS_PEOPLE),
    route("get", "/api/v1/registers/authorizations", THE_DPO),
    route("get", "/api/v1/registers/purges", THE_DPO),
    route("get", "/api/v1/registers/holds", THE_DPO),
    route("post", "/api/v1/registers/holds/{id}/release", THE_DPO),
    route("get", "/api/v1/audit/entries", THE_DPO),
    route("get", "/api/v1/transparency", Access::Public),
    route("get", "/api/v1/social/search", OPS_PEOPLE),
    route("get", "/api/v1/stream", OPS),
    route("post", "/api/v1/recordings/{id}/segments", Access::Device),
    route("get", "/api/v1/recordings", OPS),
    route("get", "/api/v1/recordings/{id}/segments", OPS),
    route("get", "/api/v1/segments/{id}", OPS_PEOPLE),
    route("get", "/api/v1/live", OPS),
    route("get", "/api/v1/live/{id}", OPS_PEOPLE),
    route("get", "/api/v1/live/{id}/publish", Access::Device),
    route("get", "/api/v1/wall/layouts", OPS_PEOPLE),
    route("put", "/api/v1/wall/layouts/{id}", OPS_PEOPLE),
    route("delete", "/api/v1/wall/layouts/{id}", OPS_PEOPLE),
    route("get", "/api/v1/audit/checkpoint", Access::Public),
    route("get", "/metrics", Access::Public),
    route("get", "/api/v1/basemap", Access::Public),
    route("get", "/api/v1/stats/precision", OPS_DPO),
    route("get", "/", Access::Public),
    route("get", "/report", Access::Public),
    route("get", "/transparence", Access::Public),
    route("get", "/assets/{file}", Access::Public),
];

/// What a route requires (`None`: not a route of the table).
pub(crate) fn route_access(method: &str, path: &str) -> Option<Access> {
    ROUTES.iter().find(|r| r.method.eq_ignore_ascii_case(method) && r.path == path).map(|r| r.access)
}

/// The handler of a route of [`ROUTES`].
fn handler(r: &Route) -> MethodRouter<AppState> {
    match (r.method, r.path) {
        ("get", "/api/v1/health") => get(system::health),
        ("get", "/api/v1/openapi.json") => get(system::openapi),
        ("post", "/api/v1/login") => post(session::login),
        ("post", "/api/v1/logout") => post(session::logout),
        ("get", "/api/v1/me") => get(session::me),
        ("post", "/api/v1/me/password") => post(session::change_password),
        ("get", "/api/v1/users") => get(admin::users),
        ("post", "/api/v1/users") => post(admin::create_user),
        ("post", "/api/v1/users/{username}/actions") => post(admin::user_action),
        ("get", "/api/v1/tokens") => get(admin::tokens),
        ("post", "/api/v1/tokens") => post(admin::create_token),
        ("post", "/api/v1/tokens/{id}/revoke") => post(admin::revoke_token),
        ("get", "/api/v1/sensors") => get(sensors::list),
        ("get", "/api/v1/sensors/{id}") => get(sensors::get_one),
        ("post", "/api/v1/sensors/{id}/telemetry") => post(telemetry::post_ndjson),
        ("get", "/api/v1/sensors/{id}/track") => get(telemetry::track),
        ("get", "/api/v1/zones") => get(sensors::zones),
        ("post", "/api/v1/detections") => post(detections::post_ndjson),
        ("post", "/api/v1/evidence") => post(evidence::upload),
        ("get", "/api/v1/evidence/{file}") => get(evidence::read),
        ("post", "/api/v1/reports") => post(reports::post),
        ("get", "/api/v1/detections") => get(detections::list),
        ("get", "/api/v1/detections/refused") => get(detections::refused),
        ("get", "/api/v1/detections/{id}") => get(detections::get_one),
        ("get", "/api/v1/incidents") => get(incidents::list),
        ("get", "/api/v1/incidents/{id}") => get(incidents::get_one),
        ("post", "/api/v1/incidents/{id}/actions") => post(incidents::act),
        ("post", "/api/v1/incidents/{id}/notes") => post(incidents::note),
        ("post", "/api/v1/incidents/{id}/exports") => post(exports::request),
        ("get", "/api/v1/exports") => get(exports::list),
        ("get", "/api/v1/exports/{id}") => get(exports::get_one),
        ("post", "/api/v1/exports/{id}/decision") => post(exports::decide),
        ("get", "/api/v1/exports/{id}/package") => get(exports::package),
        ("get", "/api/v1/registers/authorizations") => get(registers::authorizations),
        ("get", "/api/v1/registers/purges") => get(registers::purges),
        ("get", "/api/v1/registers/holds") => get(registers::holds),
        ("post", "/api/v1/registers/holds/{id}/release") => post(registers::release_hold),
        ("get", "/api/v1/audit/entries") => get(registers::audit_entries),
        ("get", "/api/v1/transparency") => get(transparency::get),
        ("get", "/api/v1/social/search") => get(social::search),
        ("get", "/api/v1/stream") => get(stream::sse),
        ("post", "/api/v1/recordings/{id}/segments") => {
            post(recordings::upload).layer(DefaultBodyLimit::max(vigie_record::archive::MAX_UPLOAD_BYTES))
        }
        ("get", "/api/v1/recordings") => get(recordings::overview),
        ("get", "/api/v1/recordings/{id}/segments") => get(recordings::segments),
        ("get", "/api/v1/segments/{id}") => get(recordings::segment_file),
        ("get", "/api/v1/live") => get(live::list),
        ("get", "/api/v1/live/{id}") => get(live::view),
        ("get", "/api/v1/live/{id}/publish") => get(live::publish),
        ("get", "/api/v1/wall/layouts") => get(wall::list),
        ("put", "/api/v1/wall/layouts/{id}") => put(wall::save),
        ("delete", "/api/v1/wall/layouts/{id}") => delete(wall::delete),
        ("get", "/api/v1/audit/checkpoint") => get(system::audit_checkpoint),
        ("get", "/metrics") => get(system::metrics),
        ("get", "/api/v1/basemap") => get(console::basemap),
        ("get", "/api/v1/stats/precision") => get(console::precision),
        ("get", "/") => get(console::index),
        ("get", "/report") => get(console::report),
        ("get", "/transparence") => get(console::transparency),
        ("get", "/assets/{file}") => get(console::asset),
        (method, path) => panic!("route {method} {path} is in ROUTES but has no handler"),
    }
}

pub fn router(state: AppState) -> Router {
    let mut by_path: Vec<(&str, MethodRouter<AppState>)> = Vec::new();
    for r in ROUTES {
        let h = handler(r);
        match by_path.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(h),
            None => by_path.push((r.path, h)),
        }
    }
    let mut app = Router::new();
    for (path, h) in by_path {
        app = app.route(path, h);
    }
    app.route_layer(axum::middleware::from_fn_with_state(state.clone(), access::authorize))
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
