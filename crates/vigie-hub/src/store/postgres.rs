//! The production store: PostgreSQL (PostGIS-ready; geometry columns come with the DPO
//! and map work). Batches are written with `UNNEST` arrays, one statement per batch.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use postgres::{Client, NoTls, Row};
use vigie_model::{Detection, DetectionId, Incident, IncidentEvent, IncidentId};

use super::sqlite::IncidentRow;
use super::{
    DetectionQuery, IncidentDetail, IncidentQuery, NewDetection, Result, StoreCounts, StoreError, StoredDetection,
    WriteTx, detection_from_row, evidence_json, from_ms, ms, ns, parse_json,
};

const SCHEMA: &str = include_str!("schema_postgres.sql");

fn err(context: &'static str) -> impl FnOnce(postgres::Error) -> StoreError {
    move |source| StoreError::Postgres { context, source }
}

pub struct PostgresStore {
    writer: Mutex<Client>,
    reader: Mutex<Client>,
    registry: super::Registry,
}

impl PostgresStore {
    pub fn open(url: &str) -> Result<PostgresStore> {
        let connect = |what: &str| {
            Client::connect(url, NoTls)
                .map_err(|e| StoreError::Open(format!("cannot connect {what} to {}: {e}", redact(url))))
        };
        let mut writer = connect("the writer")?;
        // Serialise concurrent migrations of several hubs on one database.
        writer
            .batch_execute(&format!("SELECT pg_advisory_lock(7419); {SCHEMA} SELECT pg_advisory_unlock(7419);"))
            .map_err(err("create schema"))?;
        let reader = connect("the reader")?;
        let registry = super::Registry::open(Box::new(connect("the registers")?))?;
        Ok(PostgresStore { writer: Mutex::new(writer), reader: Mutex::new(reader), registry })
    }

    fn reader(&self) -> MutexGuard<'_, Client> {
        self.reader.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..s + 3], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

struct PgTx<'a> {
    client: MutexGuard<'a, Client>,
    done: bool,
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }
}

impl WriteTx for PgTx<'_> {
    fn existing(&mut self, ids: &[DetectionId]) -> Result<HashSet<DetectionId>> {
        let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        let rows = self.client.query("SELECT id FROM detections WHERE id = ANY($1)", &[&ids]).map_err(err("lookup"))?;
        rows.iter()
            .map(|r| DetectionId::parse(r.get::<_, &str>(0)).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    fn insert_detections(&mut self, rows: &[NewDetection<'_>], received_at: DateTime<Utc>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let n = rows.len();
        let (mut id, mut sensor, mut kind, mut time, mut lon, mut lat, mut unc, mut conf, mut attr, mut ev, mut inc) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for r in rows {
            let d = r.detection;
            id.push(d.id.to_string());
            sensor.push(d.sensor.as_str());
            kind.push(d.kind.as_str());
            time.push(ns(d.time));
            lon.push(d.location.lon);
            lat.push(d.location.lat);
            unc.push(d.location.uncertainty_m);
            conf.push(d.confidence);
            attr.push(d.attributes.get());
            ev.push(evidence_json(d));
            inc.push(r.incident.map(|i| i.to_string()));
        }
        self.client
            .execute(
                "INSERT INTO detections (id, sensor, kind, time_ns, received_ms, lon, lat, uncertainty_m, confidence, \
                 attributes, evidence, incident_id) \
                 SELECT u.id, u.sensor, u.kind, u.time_ns, $5, u.lon, u.lat, u.unc, u.conf, u.attr, u.ev, u.inc \
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $6::float8[], $7::float8[], \
                 $8::float8[], $9::float8[], $10::text[], $11::text[], $12::text[]) \
                 AS u(id, sensor, kind, time_ns, lon, lat, unc, conf, attr, ev, inc) \
                 ON CONFLICT (id) DO NOTHING",
                &[&id, &sensor, &kind, &time, &ms(received_at), &lon, &lat, &unc, &conf, &attr, &ev, &inc],
            )
            .map_err(err("insert detections"))?;
        Ok(())
    }

    fn set_incident(&mut self, ids: &[DetectionId], incident: IncidentId) -> Result<()> {
        let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        self.client
            .execute("UPDATE detections SET incident_id = $2 WHERE id = ANY($1)", &[&ids, &incident.to_string()])
            .map_err(err("link detections"))?;
        Ok(())
    }

    fn upsert_incident(&mut self, i: &Incident) -> Result<()> {
        self.upsert_incidents(&[i])
    }

    fn upsert_incidents(&mut self, incidents: &[&Incident]) -> Result<()> {
        if incidents.is_empty() {
            return Ok(());
        }
        // A batch may change one incident twice (detections, then an action): keep the last.
        let mut last: std::collections::HashMap<IncidentId, &Incident> = std::collections::HashMap::new();
        for i in incidents {
            last.insert(i.id, i);
        }
        let rows: Vec<&Incident> = last.into_values().collect();
        let col = |f: &dyn Fn(&Incident) -> String| rows.iter().map(|i| f(i)).collect::<Vec<String>>();
        let id = col(&|i| i.id.to_string());
        let rule = col(&|i| i.rule.clone());
        let itype = col(&|i| i.incident_type.clone());
        let title = col(&|i| i.title.clone());
        let state = col(&|i| i.state.as_str().to_owned());
        let sensors = col(&|i| serde_json::to_string(&i.sensors).unwrap_or_default());
        let kinds = col(&|i| serde_json::to_string(&i.kinds).unwrap_or_default());
        let priority: Vec<i64> = rows.iter().map(|i| i64::from(i.priority.rank())).collect();
        let district: Vec<Option<String>> = rows.iter().map(|i| i.district.clone()).collect();
        let lon: Vec<f64> = rows.iter().map(|i| i.lon).collect();
        let lat: Vec<f64> = rows.iter().map(|i| i.lat).collect();
        let radius: Vec<f64> = rows.iter().map(|i| i.radius_m).collect();
        let opened: Vec<i64> = rows.iter().map(|i| ms(i.opened_at)).collect();
        let updated: Vec<i64> = rows.iter().map(|i| ms(i.updated_at)).collect();
        let first: Vec<i64> = rows.iter().map(|i| ms(i.first_seen)).collect();
        let lastms: Vec<i64> = rows.iter().map(|i| ms(i.last_seen)).collect();
        let count: Vec<i64> = rows.iter().map(|i| i64::from(i.detection_count)).collect();
        let assignee: Vec<Option<String>> = rows.iter().map(|i| i.assignee.clone()).collect();
        let outcome: Vec<Option<&str>> = rows.iter().map(|i| i.outcome.map(|o| o.as_str())).collect();
        let version: Vec<i64> = rows.iter().map(|i| i.version as i64).collect();
        self.client
            .execute(
                "INSERT INTO incidents (id, rule, incident_type, title, priority, state, district, lon, lat, radius_m, \
                 opened_ms, updated_ms, first_ms, last_ms, detection_count, sensors, kinds, assignee, outcome, version) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], \
                 $7::text[], $8::float8[], $9::float8[], $10::float8[], $11::bigint[], $12::bigint[], $13::bigint[], \
                 $14::bigint[], $15::bigint[], $16::text[], $17::text[], $18::text[], $19::text[], $20::bigint[]) \
                 ON CONFLICT (id) DO UPDATE SET rule = excluded.rule, incident_type = excluded.incident_type, \
                 title = excluded.title, priority = excluded.priority, state = excluded.state, \
                 district = excluded.district, lon = excluded.lon, lat = excluded.lat, radius_m = excluded.radius_m, \
                 updated_ms = excluded.updated_ms, first_ms = excluded.first_ms, last_ms = excluded.last_ms, \
                 detection_count = excluded.detection_count, sensors = excluded.sensors, kinds = excluded.kinds, \
                 assignee = excluded.assignee, outcome = excluded.outcome, version = excluded.version",
                &[
                    &id, &rule, &itype, &title, &priority, &state, &district, &lon, &lat, &radius, &opened, &updated,
                    &first, &lastms, &count, &sensors, &kinds, &assignee, &outcome, &version,
                ],
            )
            .map_err(err("upsert incidents"))?;
        Ok(())
    }

    fn append_event(&mut self, e: &IncidentEvent) -> Result<()> {
        self.client
            .execute(
                "INSERT INTO incident_events (incident_id, at_ms, actor, action, from_state, to_state, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &e.incident.to_string(),
                    &ms(e.at),
                    &e.actor,
                    &e.action,
                    &e.from_state.as_str(),
                    &e.to_state.as_str(),
                    &e.detail.to_string(),
                ],
            )
            .map_err(err("append event"))?;
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.client.batch_execute("COMMIT").map_err(err("commit"))?;
        self.done = true;
        Ok(())
    }
}

const DETECTION_COLS: &str =
    "id, sensor, kind, time_ns, lon, lat, uncertainty_m, confidence, attributes, evidence, received_ms, incident_id";

fn stored_from_row(r: &Row) -> Result<StoredDetection> {
    let detection = detection_from_row(
        r.get(0),
        r.get(1),
        r.get(2),
        r.get(3),
        r.get(4),
        r.get(5),
        r.get(6),
        r.get(7),
        r.get(8),
        r.get(9),
    )?;
    Ok(StoredDetection {
        detection,
        received_at: from_ms(r.get(10))?,
        incident: r
            .get::<_, Option<&str>>(11)
            .map(|s| IncidentId::parse(s).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()?,
    })
}

const INCIDENT_COLS: &str = "id, rule, incident_type, title, priority, state, district, lon, lat, radius_m, opened_ms, \
     updated_ms, first_ms, last_ms, detection_count, sensors, kinds, assignee, outcome, version";

fn incident_from_row(r: &Row) -> Result<Incident> {
    IncidentRow {
        id: r.get(0),
        rule: r.get(1),
        incident_type: r.get(2),
        title: r.get(3),
        priority: r.get(4),
        state: r.get(5),
        district: r.get(6),
        lon: r.get(7),
        lat: r.get(8),
        radius_m: r.get(9),
        times_ms: [r.get(10), r.get(11), r.get(12), r.get(13)],
        detection_count: r.get(14),
        sensors: r.get(15),
        kinds: r.get(16),
        assignee: r.get(17),
        outcome: r.get(18),
        version: r.get(19),
    }
    .into_incident()
}

type Param = Box<dyn postgres::types::ToSql + Sync>;

fn placeholder(args: &mut Vec<Param>, v: impl postgres::types::ToSql + Sync + 'static) -> String {
    args.push(Box::new(v));
    format!("${}", args.len())
}

impl super::Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn begin(&self) -> Result<Box<dyn WriteTx + '_>> {
        let mut client = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        client.batch_execute("BEGIN").map_err(err("begin"))?;
        Ok(Box::new(PgTx { client, done: false }))
    }

    fn stored(&self, ids: &[DetectionId]) -> Result<HashSet<DetectionId>> {
        let keys: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        let rows =
            self.reader().query("SELECT id FROM detections WHERE id = ANY($1)", &[&keys]).map_err(err("lookup"))?;
        rows.iter()
            .map(|r| DetectionId::parse(r.get::<_, &str>(0)).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    fn detections(&self, q: &DetectionQuery) -> Result<Vec<StoredDetection>> {
        let mut sql = format!("SELECT {DETECTION_COLS} FROM detections WHERE true");
        let mut args: Vec<Param> = Vec::new();
        if let Some(t) = q.from {
            sql += &format!(" AND time_ns >= {}", placeholder(&mut args, ns(t)));
        }
        if let Some(t) = q.to {
            sql += &format!(" AND time_ns <= {}", placeholder(&mut args, ns(t)));
        }
        if let Some(b) = q.bbox {
            let (a, bb, c, d) = (
                placeholder(&mut args, b.min_lon),
                placeholder(&mut args, b.max_lon),
                placeholder(&mut args, b.min_lat),
                placeholder(&mut args, b.max_lat),
            );
            sql += &format!(" AND lon >= {a} AND lon <= {bb} AND lat >= {c} AND lat <= {d}");
        }
        if let Some(k) = q.kind {
            sql += &format!(" AND kind = {}", placeholder(&mut args, k.as_str()));
        }
        if let Some(s) = &q.sensor {
            sql += &format!(" AND sensor = {}", placeholder(&mut args, s.as_str().to_owned()));
        }
        sql += &format!(" ORDER BY time_ns DESC LIMIT {}", placeholder(&mut args, q.limit as i64));
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        let rows = self.reader().query(&sql, &refs).map_err(err("query detections"))?;
        rows.iter().map(stored_from_row).collect()
    }

    fn detection(&self, id: DetectionId) -> Result<Option<StoredDetection>> {
        let rows = self
            .reader()
            .query(&format!("SELECT {DETECTION_COLS} FROM detections WHERE id = $1"), &[&id.to_string()])
            .map_err(err("read detection"))?;
        rows.first().map(stored_from_row).transpose()
    }

    fn incidents(&self, q: &IncidentQuery) -> Result<Vec<Incident>> {
        let mut sql = format!("SELECT {INCIDENT_COLS} FROM incidents WHERE true");
        let mut args: Vec<Param> = Vec::new();
        if !q.states.is_empty() {
            let states: Vec<String> = q.states.iter().map(|s| s.as_str().to_owned()).collect();
            sql += &format!(" AND state = ANY({})", placeholder(&mut args, states));
        }
        if let Some(t) = &q.incident_type {
            sql += &format!(" AND incident_type = {}", placeholder(&mut args, t.clone()));
        }
        if let Some(d) = &q.district {
            sql += &format!(" AND district = {}", placeholder(&mut args, d.clone()));
        }
        if let Some(p) = q.min_priority {
            sql += &format!(" AND priority <= {}", placeholder(&mut args, i64::from(p.rank())));
        }
        if let Some(t) = q.since {
            sql += &format!(" AND updated_ms >= {}", placeholder(&mut args, ms(t)));
        }
        sql += &format!(
            " ORDER BY priority ASC, opened_ms ASC LIMIT {}",
            placeholder(&mut args, q.limit.min(i64::MAX as usize) as i64)
        );
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        let rows = self.reader().query(&sql, &refs).map_err(err("query incidents"))?;
        rows.iter().map(incident_from_row).collect()
    }

    fn incident(&self, id: IncidentId) -> Result<Option<IncidentDetail>> {
        let mut client = self.reader();
        let key = id.to_string();
        let rows = client
            .query(&format!("SELECT {INCIDENT_COLS} FROM incidents WHERE id = $1"), &[&key])
            .map_err(err("read incident"))?;
        let Some(row) = rows.first() else { return Ok(None) };
        let incident = incident_from_row(row)?;
        let history = client
            .query(
                "SELECT at_ms, actor, action, from_state, to_state, detail FROM incident_events \
                 WHERE incident_id = $1 ORDER BY seq",
                &[&key],
            )
            .map_err(err("read history"))?
            .iter()
            .map(|r| {
                Ok(IncidentEvent {
                    incident: id,
                    at: from_ms(r.get(0))?,
                    actor: r.get(1),
                    action: r.get(2),
                    from_state: r.get::<_, &str>(3).parse().map_err(StoreError::Corrupt)?,
                    to_state: r.get::<_, &str>(4).parse().map_err(StoreError::Corrupt)?,
                    detail: parse_json("event detail", r.get(5))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let detections = client
            .query(
                &format!("SELECT {DETECTION_COLS} FROM detections WHERE incident_id = $1 ORDER BY time_ns LIMIT 1000"),
                &[&key],
            )
            .map_err(err("read incident detections"))?
            .iter()
            .map(stored_from_row)
            .collect::<Result<Vec<_>>>()?;
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
        let rows = self
            .reader()
            .query(
                &format!(
                    "SELECT {DETECTION_COLS} FROM detections WHERE time_ns >= $1 AND incident_id IS NULL ORDER BY time_ns"
                ),
                &[&ns(since)],
            )
            .map_err(err("read unassigned"))?;
        rows.iter().map(|r| stored_from_row(r).map(|s| s.detection)).collect()
    }

    fn registry(&self) -> &super::Registry {
        &self.registry
    }

    fn counts(&self) -> Result<StoreCounts> {
        let row = self
            .reader()
            .query_one(
                "SELECT (SELECT count(*) FROM detections), (SELECT count(*) FROM incidents), \
                 (SELECT count(*) FROM incidents WHERE state IN ('new','acknowledged','in_progress'))",
                &[],
            )
            .map_err(err("count"))?;
        Ok(StoreCounts {
            detections: row.get::<_, i64>(0) as u64,
            incidents: row.get::<_, i64>(1) as u64,
            open_incidents: row.get::<_, i64>(2) as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact("postgres://u:secret@h:5432/db"), "postgres://u@h:5432/db");
        assert_eq!(super::redact("postgres://h/db"), "postgres://h/db");
    }
}
