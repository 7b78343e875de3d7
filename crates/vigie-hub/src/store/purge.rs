//! The statements retention runs: delete what is past its time, a bounded batch at a
//! time (so that the ingest writer never waits long behind a purge), and never touch an
//! incident under legal hold. Same statements on both backends ([`super::sql`]).

use chrono::{DateTime, Utc};

use super::registry::Registry;
use super::sql::{Val, in_transaction};
use super::{Result, ms, ns};

/// Whose detections a purge covers.
#[derive(Debug, Clone, Copy)]
pub enum PurgeScope<'a> {
    /// One sensor (one with a shorter retention of its own).
    Sensor(&'a str),
    /// Every sensor except these (those with a retention of their own).
    AllExcept(&'a [String]),
}

/// `AND <scope on column>` with its arguments, numbered from `first`.
pub(super) fn scope_clause(scope: PurgeScope<'_>, column: &str, first: usize) -> (String, Vec<Val>) {
    match scope {
        PurgeScope::Sensor(s) => (format!(" AND {column} = ${first}"), vec![s.into()]),
        PurgeScope::AllExcept([]) => (String::new(), vec![]),
        PurgeScope::AllExcept(list) => {
            let marks: Vec<String> = (0..list.len()).map(|i| format!("${}", first + i)).collect();
            (format!(" AND {column} NOT IN ({})", marks.join(", ")), list.iter().map(|s| s.as_str().into()).collect())
        }
    }
}

const NOT_HELD: &str = "NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.incident_id = d.incident_id)";
const NOT_OPEN: &str = "NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = d.incident_id \
                        AND i.state IN ('new', 'acknowledged', 'in_progress'))";

fn placeholders(first: usize, n: usize) -> String {
    (0..n).map(|i| format!("${}", first + i)).collect::<Vec<_>>().join(", ")
}

impl Registry {
    /// Deletes up to `limit` detections older than `before` in `scope`, except those of an
    /// open incident or of one under legal hold. Returns the evidence (JSON) of each.
    pub fn purge_detections(&self, scope: PurgeScope<'_>, before: DateTime<Utc>, limit: u32) -> Result<Vec<String>> {
        let (clause, mut args) = scope_clause(scope, "d.sensor", 3);
        let mut all = vec![ns(before).into(), i64::from(limit).into()];
        all.append(&mut args);
        let sql = format!(
            "DELETE FROM detections WHERE id IN (SELECT d.id FROM detections d WHERE d.time_ns < $1{clause} \
             AND {NOT_OPEN} AND {NOT_HELD} ORDER BY d.time_ns LIMIT $2) RETURNING evidence"
        );
        self.conn().rows(&sql, &all)?.iter().map(|r| r.text(0)).collect()
    }

    /// Drops the evidence references of up to `limit` detections older than `before` in
    /// `scope` (images live at most a month even when the facts live longer), except under
    /// legal hold. Returns the evidence (JSON) that was referenced.
    pub fn strip_evidence(&self, scope: PurgeScope<'_>, before: DateTime<Utc>, limit: u32) -> Result<Vec<String>> {
        let (clause, mut args) = scope_clause(scope, "d.sensor", 3);
        let mut all = vec![ns(before).into(), i64::from(limit).into()];
        all.append(&mut args);
        let mut conn = self.conn();
        let rows = conn.rows(
            &format!(
                "SELECT d.id, d.evidence FROM detections d WHERE d.time_ns < $1 AND d.evidence <> '[]'{clause} \
                 AND {NOT_HELD} ORDER BY d.time_ns LIMIT $2"
            ),
            &all,
        )?;
        if rows.is_empty() {
            return Ok(vec![]);
        }
        let ids: Vec<Val> = rows.iter().map(|r| r.text(0).map(Val::Text)).collect::<Result<_>>()?;
        conn.exec(
            &format!("UPDATE detections SET evidence = '[]' WHERE id IN ({})", placeholders(1, ids.len())),
            &ids,
        )?;
        rows.iter().map(|r| r.text(1)).collect()
    }

    /// Deletes up to `limit` resolved or closed incidents last changed before `before`,
    /// not under hold, with their history and their detections. Returns how many
    /// incidents and detections went, and the evidence (JSON) of those detections.
    pub fn purge_incidents(&self, before: DateTime<Utc>, limit: u32) -> Result<(u64, u64, Vec<String>)> {
        let mut conn = self.conn();
        let rows = conn.rows(
            "SELECT i.id FROM incidents i WHERE i.state IN ('resolved', 'closed') AND i.updated_ms < $1 \
             AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.incident_id = i.id) ORDER BY i.updated_ms LIMIT $2",
            &[ms(before).into(), i64::from(limit).into()],
        )?;
        if rows.is_empty() {
            return Ok((0, 0, vec![]));
        }
        let ids: Vec<Val> = rows.iter().map(|r| r.text(0).map(Val::Text)).collect::<Result<_>>()?;
        let list = placeholders(1, ids.len());
        in_transaction(&mut **conn, |conn| {
            let evidence = conn
                .rows(&format!("DELETE FROM detections WHERE incident_id IN ({list}) RETURNING evidence"), &ids)?
                .iter()
                .map(|r| r.text(0))
                .collect::<Result<Vec<_>>>()?;
            conn.exec(&format!("DELETE FROM incident_events WHERE incident_id IN ({list})"), &ids)?;
            let incidents = conn.exec(&format!("DELETE FROM incidents WHERE id IN ({list})"), &ids)?;
            Ok((incidents, evidence.len() as u64, evidence))
        })
    }

    /// Whether any stored detection still cites this evidence file.
    pub fn evidence_cited(&self, file_name: &str) -> Result<bool> {
        let rows = self.conn().rows(
            "SELECT 1 FROM detections WHERE evidence LIKE $1 LIMIT 1",
            &[format!("%evidence/{file_name}%").into()],
        )?;
        Ok(!rows.is_empty())
    }

    /// The evidence files (`<sha256>.<ext>`) that incidents under hold cite: never
    /// deleted. One query per purge run, however many files the store holds.
    pub fn held_evidence(&self) -> Result<std::collections::HashSet<String>> {
        let rows = self.conn().rows(
            "SELECT d.evidence FROM detections d WHERE d.incident_id IS NOT NULL AND d.evidence <> '[]' \
             AND EXISTS (SELECT 1 FROM legal_holds h WHERE h.incident_id = d.incident_id)",
            &[],
        )?;
        let mut held = std::collections::HashSet::new();
        for r in rows {
            let list: Vec<vigie_model::Evidence> = serde_json::from_str(&r.text(0)?).unwrap_or_default();
            held.extend(list.into_iter().filter_map(|e| e.uri.strip_prefix("evidence/").map(str::to_owned)));
        }
        Ok(held)
    }
}
