//! Evidence leaves only on a judicial requisition (property 7). An operator asks for an
//! export with the requisition's references; the incident goes on legal hold at once
//! (retention will not touch it). A supervisor other than the requester approves or
//! refuses. On approval the hub builds the package: the incident, its history and
//! detections, each evidence file (images watermarked with the export id), a manifest with
//! the SHA-256 of every file, signed with the hub's export key. It can be downloaded for
//! 24 hours, then it is deleted. Every step is in the register of extractions (R252-11)
//! and in the audit log.

pub mod clip;
mod font;
pub mod package;
pub(crate) mod watermark;
pub mod zip;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use vigie_audit::LogKey;
use vigie_model::IncidentId;

use crate::evidence::EvidenceStore;
use crate::ingest::Clock;
use crate::store::{ExportRecord, ExportStatus, LegalHold, Requisition, Store, StoreError};

/// How long an approved package can be downloaded.
pub const DOWNLOAD_WINDOW: Duration = Duration::hours(24);
/// A request no supervisor decided within this long is refused by retention, and its
/// hold lifted: a forgotten request must not keep an incident forever.
pub const DECISION_WINDOW: Duration = Duration::days(7);
/// The export key's files in the exports folder (the public half is also in each package
/// and on the transparency page).
pub const KEY_FILE: &str = "export.key";
pub const PUBLIC_KEY_FILE: &str = "export.pub";
/// The signer's name in the key text (C2SP verifier key).
pub const KEY_ORIGIN: &str = "vigie/export";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// The rules of the workflow (second person, state).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("building the package: {0}")]
    Package(String),
    #[error("export key: {0}")]
    Key(String),
}

/// The exports service.
#[derive(Clone)]
pub struct Exports {
    store: Arc<dyn Store>,
    evidence: Option<EvidenceStore>,
    dir: PathBuf,
    key: Arc<LogKey>,
    clock: Clock,
    hub_name: String,
    /// Recordings to cut the cameras' clips from (none: images and uploaded clips only).
    clips: Option<clip::ClipSource>,
}

fn check_text(name: &str, v: &str, max: usize) -> Result<String, ExportError> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(ExportError::Invalid(format!("{name} must be 1 to {max} printable characters")));
    }
    Ok(v.to_owned())
}

impl Exports {
    /// Opens the exports folder, creating the export key on first use.
    pub fn open(
        store: Arc<dyn Store>,
        evidence: Option<EvidenceStore>,
        dir: &Path,
        clock: Clock,
        hub_name: String,
    ) -> Result<Exports, ExportError> {
        let key = LogKey::load_or_create_named(dir, KEY_FILE, PUBLIC_KEY_FILE, KEY_ORIGIN)
            .map_err(|e| ExportError::Key(e.to_string()))?;
        Ok(Exports { store, evidence, dir: dir.to_owned(), key: Arc::new(key), clock, hub_name, clips: None })
    }

    /// Packages also hold each camera's clip, cut from these recordings.
    pub fn with_clips(mut self, source: clip::ClipSource) -> Exports {
        self.clips = Some(source);
        self
    }

    /// The public key that verifies packages (C2SP verifier key text).
    pub fn public_key(&self) -> String {
        vigie_audit::vkey_text(KEY_ORIGIN, &self.key.verifying_key())
    }

    pub fn package_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.zip"))
    }

    /// An operator's request. Puts the incident on legal hold. Blocking.
    pub fn request(
        &self,
        incident: IncidentId,
        requisition: &Requisition,
        reason: &str,
        requested_by: &str,
    ) -> Result<ExportRecord, ExportError> {
        let requisition = Requisition {
            service: check_text("the requisition's service", &requisition.service, 200)?,
            officer: check_text("the requisition's officer", &requisition.officer, 200)?,
            number: check_text("the requisition's number", &requisition.number, 100)?,
            date: check_text("the requisition's date", &requisition.date, 10)?,
        };
        let date = NaiveDate::parse_from_str(&requisition.date, "%Y-%m-%d")
            .map_err(|_| ExportError::Invalid("the requisition's date must be YYYY-MM-DD".into()))?;
        let now = (self.clock)();
        if date > now.date_naive() {
            return Err(ExportError::Invalid("the requisition's date is in the future".into()));
        }
        let reason = check_text("the reason", reason, 2000)?;
        if self.store.incident(incident)?.is_none() {
            return Err(ExportError::NotFound(format!("no incident {incident}")));
        }
        let record = ExportRecord {
            id: ulid::Ulid::new().to_string(),
            incident_id: incident.to_string(),
            requisition,
            reason,
            requested_by: requested_by.to_owned(),
            requested_at: now,
            status: ExportStatus::Requested,
            decided_by: None,
            decided_at: None,
            decision_note: None,
            package_sha256: None,
            package_bytes: None,
            files: None,
            expires_at: None,
        };
        let reg = self.store.registry();
        reg.create_export(&record)?;
        reg.hold(&LegalHold {
            incident_id: record.incident_id.clone(),
            reason: format!("réquisition {} ({})", record.requisition.number, record.requisition.service),
            held_by: requested_by.to_owned(),
            since: now,
        })?;
        Ok(record)
    }

    /// A supervisor's decision. The requester may not decide their own request. On
    /// approval the package is built before the decision is recorded. Blocking.
    pub fn decide(&self, id: &str, approve: bool, note: &str, decided_by: &str) -> Result<ExportRecord, ExportError> {
        let reg = self.store.registry();
        let mut e = reg.export(id)?.ok_or_else(|| ExportError::NotFound(format!("no export {id}")))?;
        if e.status != ExportStatus::Requested {
            return Err(ExportError::Refused(format!("export {id} is already {}", e.status.as_str())));
        }
        if e.requested_by == decided_by {
            return Err(ExportError::Refused(format!(
                "export {id} was requested by {}: another supervisor must decide (two-person rule)",
                e.requested_by
            )));
        }
        let now = (self.clock)();
        e.decided_by = Some(decided_by.to_owned());
        e.decided_at = Some(now);
        e.decision_note = Some(note.trim().chars().take(2000).collect());
        let built = if approve {
            e.status = ExportStatus::Approved;
            e.expires_at = Some(now + DOWNLOAD_WINDOW);
            let built = package::build(self, &e)?;
            e.package_sha256 = Some(built.sha256.clone());
            e.package_bytes = Some(built.bytes);
            e.files = Some(built.files);
            Some(built)
        } else {
            e.status = ExportStatus::Refused;
            None
        };
        let won = match reg.decide_export(&e) {
            Ok(won) => won,
            Err(err) => {
                if let Some(_built) = built {
                    package::Built::discard(_built)
                }
                return Err(err.into());
            }
        };
        if !won {
            if let Some(_built) = built {
                package::Built::discard(_built)
            }
            return Err(ExportError::Refused(format!("export {id} was decided by someone else meanwhile")));
        }
        if let Some(built) = built {
            built.publish()?;
        }
        let others_stand = reg
            .exports(None, None)?
            .iter()
            .any(|x| x.incident_id == e.incident_id && x.id != e.id && x.status != ExportStatus::Refused);
        if !approve && !others_stand {
            // No other requisition stands on the incident: its hold goes with the refusal.
            // (Once evidence was handed over, only the DPO lifts the hold.)
            reg.release_hold(&e.incident_id)?;
        }
        Ok(e)
    }
}
