//! The safeguards' registers: legal holds, the register of extractions (evidence exports
//! on a judicial requisition) and the register of purges. Same statements on both
//! backends ([`super::sql`]).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::registry::Registry;
use super::sql::{Row, Val};
use super::{Result, StoreError, from_ms, ms};

/// A judicial requisition, as the requesting officer gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requisition {
    /// The requesting service (e.g. "Commissariat central de Nantes").
    pub service: String,
    /// The officer (name and rank, e.g. "Capitaine A. Durand, OPJ").
    pub officer: String,
    /// The requisition's number.
    pub number: String,
    /// Its date, `YYYY-MM-DD`.
    pub date: String,
}

/// Where an export stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    /// Waiting for a second person's approval.
    Requested,
    /// Approved: the package is built and downloadable until `expires_at`.
    Approved,
    Refused,
    /// Approved, then its download window passed: the package is deleted.
    Expired,
}

impl ExportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportStatus::Requested => "requested",
            ExportStatus::Approved => "approved",
            ExportStatus::Refused => "refused",
            ExportStatus::Expired => "expired",
        }
    }

    fn parse(s: &str) -> Result<ExportStatus> {
        Ok(match s {
            "requested" => ExportStatus::Requested,
            "approved" => ExportStatus::Approved,
            "refused" => ExportStatus::Refused,
            "expired" => ExportStatus::Expired,
            other => return Err(StoreError::Corrupt(format!("export status {other:?}"))),
        })
    }
}

/// One line of the register of extractions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportRecord {
    pub id: String,
    pub incident_id: String,
    pub requisition: Requisition,
    /// Why the evidence is needed, in the requester's words.
    pub reason: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub status: ExportStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
    /// SHA-256 of the package (hex), once built.
    pub package_sha256: Option<String>,
    pub package_bytes: Option<u64>,
    /// Evidence files in the package.
    pub files: Option<u64>,
    /// End of the download window.
    pub expires_at: Option<DateTime<Utc>>,
}

/// An incident under legal hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegalHold {
    pub incident_id: String,
    pub reason: String,
    pub held_by: String,
    pub since: DateTime<Utc>,
}

/// One line of the register of purges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeRecord {
    pub id: String,
    pub at: DateTime<Utc>,
    /// `detections`, `evidence`, `incidents`, `sessions`, `export_packages`.
    pub data_class: String,
    pub count: u64,
    pub detail: String,
}

const EXPORT_COLUMNS: &str = "id, incident_id, requisition_service, requisition_officer, requisition_number, \
    requisition_date, reason, requested_by, requested_ms, status, decided_by, decided_ms, decision_note, \
    package_sha256, package_bytes, files, expires_ms";

fn export_from(r: &Row) -> Result<ExportRecord> {
    Ok(ExportRecord {
        id: r.text(0)?,
        incident_id: r.text(1)?,
        requisition: Requisition { service: r.text(2)?, officer: r.text(3)?, number: r.text(4)?, date: r.text(5)? },
        reason: r.text(6)?,
        requested_by: r.text(7)?,
        requested_at: from_ms(r.int(8)?)?,
        status: ExportStatus::parse(&r.text(9)?)?,
        decided_by: r.opt_text(10)?,
        decided_at: r.opt_int(11)?.map(from_ms).transpose()?,
        decision_note: r.opt_text(12)?,
        package_sha256: r.opt_text(13)?,
        package_bytes: r.opt_int(14)?.map(|v| v.max(0) as u64),
        files: r.opt_int(15)?.map(|v| v.max(0) as u64),
        expires_at: r.opt_int(16)?.map(from_ms).transpose()?,
    })
}

/// The columns a decision sets, in `EXPORT_COLUMNS` order from `status` on.
fn decision_args(e: &ExportRecord) -> [Val; 8] {
    [
        e.status.as_str().into(),
        e.decided_by.clone().into(),
        e.decided_at.map(ms).into(),
        e.decision_note.clone().into(),
        e.package_sha256.clone().into(),
        e.package_bytes.map(|b| b as i64).into(),
        e.files.map(|b| b as i64).into(),
        e.expires_at.map(ms).into(),
    ]
}

/// Times as `ms` since the epoch, for range filters.
fn range_args(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> (Val, Val) {
    (from.map_or(i64::MIN, ms).into(), to.map_or(i64::MAX, ms).into())
}

impl Registry {
    // ---- legal holds ---------------------------------------------------------------

    /// Puts an incident on hold; `false` if it already was.
    pub fn hold(&self, h: &LegalHold) -> Result<bool> {
        let n = self.conn().exec(
            "INSERT INTO legal_holds (incident_id, reason, held_by, since_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (incident_id) DO NOTHING",
            &[h.incident_id.as_str().into(), h.reason.as_str().into(), h.held_by.as_str().into(), ms(h.since).into()],
        )?;
        Ok(n == 1)
    }

    pub fn release_hold(&self, incident_id: &str) -> Result<bool> {
        Ok(self.conn().exec("DELETE FROM legal_holds WHERE incident_id = $1", &[incident_id.into()])? == 1)
    }

    pub fn holds(&self) -> Result<Vec<LegalHold>> {
        let rows = self
            .conn()
            .rows("SELECT incident_id, reason, held_by, since_ms FROM legal_holds ORDER BY since_ms", &[])?;
        rows.iter()
            .map(|r| {
                Ok(LegalHold {
                    incident_id: r.text(0)?,
                    reason: r.text(1)?,
                    held_by: r.text(2)?,
                    since: from_ms(r.int(3)?)?,
                })
            })
            .collect()
    }

    // ---- exports ------------------------------------------------------------------

    pub fn create_export(&self, e: &ExportRecord) -> Result<()> {
        let mut args: Vec<Val> = vec![
            e.id.as_str().into(),
            e.incident_id.as_str().into(),
            e.requisition.service.as_str().into(),
            e.requisition.officer.as_str().into(),
            e.requisition.number.as_str().into(),
            e.requisition.date.as_str().into(),
            e.reason.as_str().into(),
            e.requested_by.as_str().into(),
            ms(e.requested_at).into(),
        ];
        args.extend(decision_args(e));
        self.conn().exec(
            &format!(
                "INSERT INTO exports ({EXPORT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
            ),
            &args,
        )?;
        Ok(())
    }

    pub fn export(&self, id: &str) -> Result<Option<ExportRecord>> {
        let rows = self.conn().rows(&format!("SELECT {EXPORT_COLUMNS} FROM exports WHERE id = $1"), &[id.into()])?;
        rows.first().map(export_from).transpose()
    }

    /// The register, newest first, requested within `[from, to)`.
    pub fn exports(&self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<Vec<ExportRecord>> {
        let (a, b) = range_args(from, to);
        let rows = self.conn().rows(
            &format!(
                "SELECT {EXPORT_COLUMNS} FROM exports WHERE requested_ms >= $1 AND requested_ms < $2 ORDER BY requested_ms DESC, id DESC"
            ),
            &[a, b],
        )?;
        rows.iter().map(export_from).collect()
    }

    /// Records a decision on a requested export; `false` if it was no longer requested
    /// (two supervisors deciding at once: the first wins).
    pub fn decide_export(&self, e: &ExportRecord) -> Result<bool> {
        let mut args: Vec<Val> = vec![e.id.as_str().into()];
        args.extend(decision_args(e));
        let n = self.conn().exec(
            "UPDATE exports SET status = $2, decided_by = $3, decided_ms = $4, decision_note = $5, package_sha256 = $6, \
             package_bytes = $7, files = $8, expires_ms = $9 WHERE id = $1 AND status = 'requested'",
            &args,
        )?;
        Ok(n == 1)
    }

    /// Approved exports whose download window ended by `now` become expired; returns them.
    pub fn expire_exports(&self, now: DateTime<Utc>) -> Result<Vec<ExportRecord>> {
        let mut conn = self.conn();
        let rows = conn.rows(
            &format!("SELECT {EXPORT_COLUMNS} FROM exports WHERE status = 'approved' AND expires_ms <= $1"),
            &[ms(now).into()],
        )?;
        let due: Vec<ExportRecord> = rows.iter().map(export_from).collect::<Result<_>>()?;
        for e in &due {
            conn.exec(
                "UPDATE exports SET status = 'expired' WHERE id = $1 AND status = 'approved'",
                &[e.id.as_str().into()],
            )?;
        }
        Ok(due)
    }

    // ---- purges -------------------------------------------------------------------

    pub fn record_purge(&self, p: &PurgeRecord) -> Result<()> {
        self.conn().exec(
            "INSERT INTO purges (id, at_ms, data_class, count, detail) VALUES ($1, $2, $3, $4, $5)",
            &[
                p.id.as_str().into(),
                ms(p.at).into(),
                p.data_class.as_str().into(),
                (p.count as i64).into(),
                p.detail.as_str().into(),
            ],
        )?;
        Ok(())
    }

    /// The register of purges, newest first, within `[from, to)`.
    pub fn purges(&self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<Vec<PurgeRecord>> {
        let (a, b) = range_args(from, to);
        let rows = self.conn().rows(
            "SELECT id, at_ms, data_class, count, detail FROM purges WHERE at_ms >= $1 AND at_ms < $2 ORDER BY at_ms DESC, id DESC",
            &[a, b],
        )?;
        rows.iter()
            .map(|r| {
                Ok(PurgeRecord {
                    id: r.text(0)?,
                    at: from_ms(r.int(1)?)?,
                    data_class: r.text(2)?,
                    count: r.int(3)?.max(0) as u64,
                    detail: r.text(4)?,
                })
            })
            .collect()
    }
}
