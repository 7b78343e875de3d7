//! One storage interface, two implementations: SQLite (embedded default) and PostgreSQL.
//!
//! Writes go through a single writer (the ingest loop) inside one transaction per batch, so
//! detections and the incident changes they cause commit together. Reads come from the API
//! on other connections. `tests/store_conformance.rs` runs one suite on both backends.

mod positions;
mod postgres;
mod purge;
mod recordings;
mod registers;
pub mod registry;
pub mod sql;
mod sqlite;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use vigie_model::geo::BBox;
use vigie_model::{
    Detection, DetectionId, Incident, IncidentEvent, IncidentId, IncidentState, Kind, Priority, SensorId,
};

pub use self::postgres::PostgresStore;
pub use self::purge::PurgeScope;
pub use self::recordings::{CameraRecordings, HOLD_MARGIN_NS, PurgedSegment, SegmentRecord, WallLayout};
pub use self::registers::{ExportRecord, ExportStatus, LegalHold, PurgeRecord, Requisition};
pub use self::registry::{Registry, SensorScope, SessionRecord, TokenRecord, UserRecord};
pub use self::sqlite::SqliteStore;

/// A storage failure, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {context}: {source}")]
    Sqlite { context: &'static str, source: rusqlite::Error },
    #[error("postgres: {context}: {source}")]
    Postgres { context: &'static str, source: ::postgres::Error },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot open the store: {0}")]
    Open(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A detection as stored: the contract fields plus when it arrived and its incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredDetection {
    #[serde(flatten)]
    pub detection: Detection,
    pub received_at: DateTime<Utc>,
    pub incident: Option<IncidentId>,
}

/// Filters for listing detections; all optional, newest first.
#[derive(Debug, Clone, Default)]
pub struct DetectionQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub bbox: Option<BBox>,
    pub kind: Option<Kind>,
    pub sensor: Option<SensorId>,
    pub limit: usize,
}

/// Filters for listing incidents; sorted by priority then age (most urgent, oldest first).
#[derive(Debug, Clone, Default)]
pub struct IncidentQuery {
    pub states: Vec<IncidentState>,
    pub incident_type: Option<String>,
    pub district: Option<String>,
    pub min_priority: Option<Priority>,
    pub since: Option<DateTime<Utc>>,
    pub limit: usize,
}

/// Counts for health and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StoreCounts {
    pub detections: u64,
    pub incidents: u64,
    pub open_incidents: u64,
}

/// What the store holds about one incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentDetail {
    pub incident: Incident,
    pub history: Vec<IncidentEvent>,
    pub detections: Vec<StoredDetection>,
}

/// A detection to insert, with the incident fusion put it in.
pub struct NewDetection<'a> {
    pub detection: &'a Detection,
    pub incident: Option<IncidentId>,
}

/// One write transaction. Dropped without [`WriteTx::commit`], it rolls back.
pub trait WriteTx {
    /// Which of these ids are already stored (idempotency).
    fn existing(&mut self, ids: &[DetectionId]) -> Result<HashSet<DetectionId>>;
    fn insert_detections(&mut self, rows: &[NewDetection<'_>], received_at: DateTime<Utc>) -> Result<()>;
    /// Puts already-stored detections into an incident (they were waiting for partners).
    fn set_incident(&mut self, ids: &[DetectionId], incident: IncidentId) -> Result<()>;
    fn upsert_incident(&mut self, incident: &Incident) -> Result<()>;
    /// Several at once; backends with round trips write them in one statement.
    fn upsert_incidents(&mut self, incidents: &[&Incident]) -> Result<()> {
        incidents.iter().try_for_each(|i| self.upsert_incident(i))
    }
    fn append_event(&mut self, event: &IncidentEvent) -> Result<()>;
    fn commit(self: Box<Self>) -> Result<()>;
}

/// The storage interface of the hub.
pub trait Store: Send + Sync {
    /// Short name for logs and health: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    fn begin(&self) -> Result<Box<dyn WriteTx + '_>>;
    /// Which of these ids are committed (read side: does not wait for the writer).
    fn stored(&self, ids: &[DetectionId]) -> Result<HashSet<DetectionId>>;
    fn detections(&self, q: &DetectionQuery) -> Result<Vec<StoredDetection>>;
    fn detection(&self, id: DetectionId) -> Result<Option<StoredDetection>>;
    fn incidents(&self, q: &IncidentQuery) -> Result<Vec<Incident>>;
    fn incident(&self, id: IncidentId) -> Result<Option<IncidentDetail>>;
    /// Open incidents, for rebuilding fusion state at start.
    fn open_incidents(&self) -> Result<Vec<Incident>>;
    /// Detections whose time is at or after `since` and that no incident holds, for
    /// rebuilding fusion state at start.
    fn unassigned_since(&self, since: DateTime<Utc>) -> Result<Vec<Detection>>;
    fn counts(&self) -> Result<StoreCounts>;
    /// Accounts, sessions, tokens and the safeguards' registers, on their own connection.
    fn registry(&self) -> &Registry;
}

/// Opens a store from a URL: `postgres://…` or `postgresql://…`, else a SQLite file path
/// (`sqlite://path` or a bare path).
pub fn open(url: &str) -> Result<Box<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Box::new(PostgresStore::open(url)?))
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        Ok(Box::new(SqliteStore::open(std::path::Path::new(path))?))
    }
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Detection times keep nanoseconds (acoustic onsets are sub-millisecond).
pub(crate) fn ns(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

pub(crate) fn from_ns(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

pub(crate) fn from_ms(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Rebuilds a detection from stored columns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn detection_from_row(
    id: &str,
    sensor: &str,
    kind: &str,
    time_ns: i64,
    lon: f64,
    lat: f64,
    uncertainty_m: Option<f64>,
    confidence: f64,
    attributes: &str,
    evidence: &str,
) -> Result<Detection> {
    Ok(Detection {
        id: DetectionId::parse(id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        sensor: SensorId::new(sensor).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        kind: kind.parse().map_err(|e: vigie_model::kind::UnknownKind| StoreError::Corrupt(e.to_string()))?,
        time: from_ns(time_ns),
        location: vigie_model::Location { lon, lat, uncertainty_m },
        confidence,
        attributes: serde_json::value::RawValue::from_string(attributes.to_owned())
            .map_err(|e| StoreError::Corrupt(format!("attributes: {e}")))?,
        evidence: parse_json("evidence", evidence)?,
    })
}

pub(crate) fn evidence_json(d: &Detection) -> std::borrow::Cow<'static, str> {
    if d.evidence.is_empty() {
        return std::borrow::Cow::Borrowed("[]");
    }
    std::borrow::Cow::Owned(serde_json::to_string(&d.evidence).unwrap_or_else(|_| "[]".into()))
}
