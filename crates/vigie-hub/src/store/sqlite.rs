//! The embedded default store: one SQLite file in WAL mode.
//!
//! One writer connection (the ingest loop holds it for a batch) and one reader connection
//! for the API; WAL lets them work at the same time. `synchronous=FULL`: a commit that the
//! hub acknowledged survives a crash of the process and of the machine.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use vigie_model::{Detection, DetectionId, Incident, IncidentEvent, IncidentId};

use super::{
    DetectionQuery, IncidentDetail, IncidentQuery, NewDetection, Result, StoreCounts, StoreError, StoredDetection,
    WriteTx, detection_from_row, evidence_json, from_ms, ms, ns, parse_json,
};

const SCHEMA: &str = include_str!("schema_sqlite.sql");

fn err(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sqlite { context, source }
}

pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    registry: super::Registry,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Open(format!("cannot create the data folder {}: {e}", dir.display())))?;
        }
        let writer = Connection::open(path).map_err(err("open"))?;
        writer
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; \
                 PRAGMA temp_store=MEMORY; PRAGMA cache_size=-131072; PRAGMA wal_autocheckpoint=16384; \
                 PRAGMA journal_size_limit=268435456;",
            )
            .map_err(err("configure"))?;
        writer.execute_batch(SCHEMA).map_err(err("create schema"))?;
        let reader = Connection::open(path).map_err(err("open reader"))?;
        reader.execute_batch("PRAGMA busy_timeout=10000; PRAGMA query_only=1;").map_err(err("configure reader"))?;
        let registry = Connection::open(path).map_err(err("open registry"))?;
        registry
            .execute_batch("PRAGMA busy_timeout=10000; PRAGMA synchronous=FULL;")
            .map_err(err("configure registry"))?;
        let registry = super::Registry::open(Box::new(registry))?;
        Ok(SqliteStore { writer: Mutex::new(writer), reader: Mutex::new(reader), registry })
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct SqliteTx<'a> {
    conn: MutexGuard<'a, Connection>,
    done: bool,
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl WriteTx for SqliteTx<'_> {
    fn existing(&mut self, ids: &[DetectionId]) -> Result<HashSet<DetectionId>> {
        let mut found = HashSet::new();
        let mut stmt =
            self.conn.prepare_cached("SELECT 1 FROM detections WHERE id = ?1").map_err(err("prepare lookup"))?;
        for id in ids {
            if stmt.exists([id.to_string()]).map_err(err("lookup detection"))? {
                found.insert(*id);
            }
        }
        Ok(found)
    }

    fn insert_detections(&mut self, rows: &[NewDetection<'_>], received_at: DateTime<Utc>) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO detections (id, sensor, kind, time_ns, received_ms, lon, lat, uncertainty_m, confidence, \
                 attributes, evidence, incident_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .map_err(err("prepare insert"))?;
        let received = ms(received_at);
        let mut id = String::with_capacity(26);
        for r in rows {
            let d = r.detection;
            id.clear();
            use std::fmt::Write;
            let _ = write!(id, "{}", d.id);
            stmt.execute(params![
                id,
                d.sensor.as_str(),
                d.kind.as_str(),
                ns(d.time),
                received,
                d.location.lon,
                d.location.lat,
                d.location.uncertainty_m,
                d.confidence,
                d.attributes.get(),
                evidence_json(d),
                r.incident.map(|i| i.to_string()),
            ])
            .map_err(err("insert detection"))?;
        }
        Ok(())
    }

    fn set_incident(&mut self, ids: &[DetectionId], incident: IncidentId) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("UPDATE detections SET incident_id = ?2 WHERE id = ?1")
            .map_err(err("prepare link"))?;
        let inc = incident.to_string();
        for id in ids {
            stmt.execute(params![id.to_string(), inc]).map_err(err("link detection"))?;
        }
        Ok(())
    }

    fn upsert_incident(&mut self, i: &Incident) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO incidents (id, rule, incident_type, title, priority, state, district, lon, lat, radius_m, \
                 opened_ms, updated_ms, first_ms, last_ms, detection_count, sensors, kinds, assignee, outcome, version) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20) \
                 ON CONFLICT (id) DO UPDATE SET rule = excluded.rule, incident_type = excluded.incident_type, \
                 title = excluded.title, priority = excluded.priority, state = excluded.state, \
                 district = excluded.district, lon = excluded.lon, lat = excluded.lat, radius_m = excluded.radius_m, \
                 updated_ms = excluded.updated_ms, first_ms = excluded.first_ms, last_ms = excluded.last_ms, \
                 detection_count = excluded.detection_count, sensors = excluded.sensors, kinds = excluded.kinds, \
                 assignee = excluded.assignee, outcome = excluded.outcome, version = excluded.version",
            )
            .map_err(err("prepare incident"))?;
        stmt.execute(params![
            i.id.to_string(),
            i.rule,
            i.incident_type,
            i.title,
            i.priority.rank(),
            i.state.as_str(),
            i.district,
            i.lon,
            i.lat,
            i.radius_m,
            ms(i.opened_at),
            ms(i.updated_at),
            ms(i.first_seen),
            ms(i.last_seen),
            i.detection_count,
            serde_json::to_string(&i.sensors).unwrap_or_default(),
            serde_json::to_string(&i.kinds).unwrap_or_default(),
            i.assignee,
            i.outcome.map(|o| o.as_str()),
            i.version as i64,
        ])
        .map_err(err("upsert incident"))?;
        Ok(())
    }

    fn append_event(&mut self, e: &IncidentEvent) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO incident_events (incident_id, at_ms, actor, action, from_state, to_state, detail) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(err("prepare event"))?;
        stmt.execute(params![
            e.incident.to_string(),
            ms(e.at),
            e.actor,
            e.action,
            e.from_state.as_str(),
            e.to_state.as_str(),
            e.detail.to_string()
        ])
        .map_err(err("append event"))?;
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.conn.execute_batch("COMMIT").map_err(err("commit"))?;
        self.done = true;
        Ok(())
    }
}

const DETECTION_COLS: &str =
    "id, sensor, kind, time_ns, lon, lat, uncertainty_m, confidence, attributes, evidence, received_ms, incident_id";

fn stored_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<StoredDetection>> {
    let id: String = row.get(0)?;
    let sensor: String = row.get(1)?;
    let kind: String = row.get(2)?;
    let attributes: String = row.get(8)?;
    let evidence: String = row.get(9)?;
    let incident: Option<String> = row.get(11)?;
    let received_ms: i64 = row.get(10)?;
    let d = detection_from_row(
        &id,
        &sensor,
        &kind,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        &attributes,
        &evidence,
    );
    Ok(d.and_then(|detection| {
        Ok(StoredDetection {
            detection,
            received_at: from_ms(received_ms)?,
            incident: incident
                .map(|s| IncidentId::parse(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
                .transpose()?,
        })
    }))
}

const INCIDENT_COLS: &str = "id, rule, incident_type, title, priority, state, district, lon, lat, radius_m, opened_ms, \
     updated_ms, first_ms, last_ms, detection_count, sensors, kinds, assignee, outcome, version";

pub(crate) struct IncidentRow {
    pub id: String,
    pub rule: String,
    pub incident_type: String,
    pub title: String,
    pub priority: i64,
    pub state: String,
    pub district: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub radius_m: f64,
    pub times_ms: [i64; 4],
    pub detection_count: i64,
    pub sensors: String,
    pub kinds: String,
    pub assignee: Option<String>,
    pub outcome: Option<String>,
    pub version: i64,
}

impl IncidentRow {
    pub(crate) fn into_incident(self) -> Result<Incident> {
        let corrupt = |e: String| StoreError::Corrupt(e);
        Ok(Incident {
            id: IncidentId::parse(&self.id).map_err(|e| corrupt(e.to_string()))?,
            rule: self.rule,
            incident_type: self.incident_type,
            title: self.title,
            priority: u8::try_from(self.priority)
                .ok()
                .and_then(vigie_model::Priority::from_rank)
                .ok_or_else(|| corrupt(format!("priority {}", self.priority)))?,
            state: self.state.parse().map_err(corrupt)?,
            district: self.district,
            lon: self.lon,
            lat: self.lat,
            radius_m: self.radius_m,
            opened_at: from_ms(self.times_ms[0])?,
            updated_at: from_ms(self.times_ms[1])?,
            first_seen: from_ms(self.times_ms[2])?,
            last_seen: from_ms(self.times_ms[3])?,
            detection_count: u32::try_from(self.detection_count).unwrap_or(u32::MAX),
            sensors: parse_json("sensors", &self.sensors)?,
            kinds: parse_json("kinds", &self.kinds)?,
            assignee: self.assignee,
            outcome: self.outcome.map(|o| o.parse().map_err(corrupt)).transpose()?,
            version: u64::try_from(self.version).unwrap_or(0),
        })
    }
}

fn incident_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<IncidentRow> {
    Ok(IncidentRow {
        id: row.get(0)?,
        rule: row.get(1)?,
        incident_type: row.get(2)?,
        title: row.get(3)?,
        priority: row.get(4)?,
        state: row.get(5)?,
        district: row.get(6)?,
        lon: row.get(7)?,
        lat: row.get(8)?,
        radius_m: row.get(9)?,
        times_ms: [row.get(10)?, row.get(11)?, row.get(12)?, row.get(13)?],
        detection_count: row.get(14)?,
        sensors: row.get(15)?,
        kinds: row.get(16)?,
        assignee: row.get(17)?,
        outcome: row.get(18)?,
        version: row.get(19)?,
    })
}

fn collect<T>(rows: impl Iterator<Item = rusqlite::Result<Result<T>>>, context: &'static str) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for r in rows {
        out.push(r.map_err(err(context))??);
    }
    Ok(out)
}

impl super::Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn begin(&self) -> Result<Box<dyn WriteTx + '_>> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.execute_batch("BEGIN IMMEDIATE").map_err(err("begin"))?;
        Ok(Box::new(SqliteTx { conn, done: false }))
    }

    fn stored(&self, ids: &[DetectionId]) -> Result<HashSet<DetectionId>> {
        let conn = self.reader();
        let mut found = HashSet::new();
        let mut stmt = conn.prepare_cached("SELECT 1 FROM detections WHERE id = ?1").map_err(err("prepare lookup"))?;
        let mut key = String::with_capacity(26);
        for id in ids {
            key.clear();
            use std::fmt::Write;
            let _ = write!(key, "{id}");
            if stmt.exists([&key]).map_err(err("lookup detection"))? {
                found.insert(*id);
            }
        }
        Ok(found)
    }

    fn detections(&self, q: &DetectionQuery) -> Result<Vec<StoredDetection>> {
        let mut sql = format!("SELECT {DETECTION_COLS} FROM detections WHERE 1=1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(t) = q.from {
            sql += " AND time_ns >= ?";
            args.push(ns(t).into());
        }
        if let Some(t) = q.to {
            sql += " AND time_ns <= ?";
            args.push(ns(t).into());
        }
        if let Some(b) = q.bbox {
            sql += " AND lon >= ? AND lon <= ? AND lat >= ? AND lat <= ?";
            args.extend([b.min_lon.into(), b.max_lon.into(), b.min_lat.into(), b.max_lat.into()]);
        }
        if let Some(k) = q.kind {
            sql += " AND kind = ?";
            args.push(k.as_str().to_owned().into());
        }
        if let Some(s) = &q.sensor {
            sql += " AND sensor = ?";
            args.push(s.as_str().to_owned().into());
        }
        sql += " ORDER BY time_ns DESC LIMIT ?";
        args.push((q.limit as i64).into());
        let conn = self.reader();
        let mut stmt = conn.prepare(&sql).map_err(err("prepare detections"))?;
        let rows = stmt.query_map(params_from_iter(args), stored_from_row).map_err(err("query detections"))?;
        collect(rows, "read detection")
    }

    fn detection(&self, id: DetectionId) -> Result<Option<StoredDetection>> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {DETECTION_COLS} FROM detections WHERE id = ?1"))
            .map_err(err("prepare"))?;
        stmt.query_row([id.to_string()], stored_from_row).optional().map_err(err("read detection"))?.transpose()
    }

    fn incidents(&self, q: &IncidentQuery) -> Result<Vec<Incident>> {
        let mut sql = format!("SELECT {INCIDENT_COLS} FROM incidents WHERE 1=1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if !q.states.is_empty() {
            sql += &format!(" AND state IN ({})", vec!["?"; q.states.len()].join(","));
            args.extend(q.states.iter().map(|s| s.as_str().to_owned().into()));
        }
        if let Some(t) = &q.incident_type {
            sql += " AND incident_type = ?";
            args.push(t.clone().into());
        }
        if let Some(d) = &q.district {
            sql += " AND district = ?";
            args.push(d.clone().into());
        }
        if let Some(p) = q.min_priority {
            sql += " AND priority <= ?";
            args.push(i64::from(p.rank()).into());
        }
        if let Some(t) = q.since {
            sql += " AND updated_ms >= ?";
            args.push(ms(t).into());
        }
        sql += " ORDER BY priority ASC, opened_ms ASC LIMIT ?";
        args.push((q.limit as i64).into());
        let conn = self.reader();
        let mut stmt = conn.prepare(&sql).map_err(err("prepare incidents"))?;
        let rows = stmt
            .query_map(params_from_iter(args), |r| incident_from_row(r).map(IncidentRow::into_incident))
            .map_err(err("query incidents"))?;
        collect(rows, "read incident")
    }

    fn incident(&self, id: IncidentId) -> Result<Option<IncidentDetail>> {
        let conn = self.reader();
        let row = conn
            .query_row(
                &format!("SELECT {INCIDENT_COLS} FROM incidents WHERE id = ?1"),
                [id.to_string()],
                incident_from_row,
            )
            .optional()
            .map_err(err("read incident"))?;
        let Some(row) = row else { return Ok(None) };
        let incident = row.into_incident()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT at_ms, actor, action, from_state, to_state, detail FROM incident_events \
                 WHERE incident_id = ?1 ORDER BY seq",
            )
            .map_err(err("prepare history"))?;
        let history = stmt
            .query_map([id.to_string()], |r| {
                let at: i64 = r.get(0)?;
                let from: String = r.get(3)?;
                let to: String = r.get(4)?;
                let detail: String = r.get(5)?;
                Ok((at, r.get::<_, String>(1)?, r.get::<_, String>(2)?, from, to, detail))
            })
            .map_err(err("query history"))?
            .map(|r| {
                let (at, actor, action, from, to, detail) = r.map_err(err("read history"))?;
                Ok(IncidentEvent {
                    incident: id,
                    at: from_ms(at)?,
                    actor,
                    action,
                    from_state: from.parse().map_err(StoreError::Corrupt)?,
                    to_state: to.parse().map_err(StoreError::Corrupt)?,
                    detail: parse_json("event detail", &detail)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {DETECTION_COLS} FROM detections WHERE incident_id = ?1 ORDER BY time_ns LIMIT 1000"
            ))
            .map_err(err("prepare incident detections"))?;
        let rows = stmt.query_map([id.to_string()], stored_from_row).map_err(err("query incident detections"))?;
        let detections = collect(rows, "read incident detection")?;
        Ok(Some(IncidentDetail { incident, history, detections }))
    }

    fn open_incidents(&self) -> Result<Vec<Incident>> {
        self.incidents(&IncidentQuery {
            states: vigie_model::IncidentState::ALL.iter().copied().filter(|s| s.is_open()).collect(),
            limit: i64::MAX as usize,
            ..Default::default()
        })
    }

    fn unassigned_since(&self, since: DateTime<Utc>) -> Result<Vec<Detection>> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {DETECTION_COLS} FROM detections WHERE time_ns >= ?1 AND incident_id IS NULL ORDER BY time_ns"
            ))
            .map_err(err("prepare unassigned"))?;
        let rows = stmt.query_map([ns(since)], stored_from_row).map_err(err("query unassigned"))?;
        Ok(collect(rows, "read unassigned")?.into_iter().map(|s| s.detection).collect())
    }

    fn registry(&self) -> &super::Registry {
        &self.registry
    }

    fn counts(&self) -> Result<StoreCounts> {
        let conn = self.reader();
        let one = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).map_err(err("count"));
        Ok(StoreCounts {
            detections: one("SELECT count(*) FROM detections")? as u64,
            incidents: one("SELECT count(*) FROM incidents")? as u64,
            open_incidents: one("SELECT count(*) FROM incidents WHERE state IN ('new','acknowledged','in_progress')")?
                as u64,
        })
    }
}
