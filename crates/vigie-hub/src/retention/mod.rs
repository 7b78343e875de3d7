//! Retention, enforced (property 6): every `purge_interval_secs`, detections, evidence
//! media and incidents past their time are deleted, a bounded batch at a time; an incident
//! under legal hold (a judicial requisition) and everything it cites is never touched. Each
//! run that removed something is written to the register of purges and, by count, to the
//! audit log. Times come from the hub's clock, so tests move them by hand.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use vigie_model::config::Config;

use crate::audit::Auditor;
use crate::evidence::EvidenceStore;
use crate::ingest::Clock;
use crate::store::{PurgeRecord, PurgeScope, Store, StoreError};

/// Rows per statement: short enough that the ingest writer never waits long.
const BATCH: u32 = 2_000;
/// Batches per class and per run: a backlog drains over several runs.
const MAX_BATCHES: u32 = 50;

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Evidence(#[from] crate::evidence::EvidenceError),
    #[error("audit log: {0}")]
    Audit(String),
    #[error(transparent)]
    Recordings(#[from] vigie_record::archive::ArchiveError),
}

/// What one run removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    pub detections: u64,
    /// Detections whose evidence references were dropped (older than the image limit).
    pub evidence_references: u64,
    pub evidence_files: u64,
    pub incidents: u64,
    /// Detections deleted with their incident.
    pub incident_detections: u64,
    /// Export packages deleted at the end of their download window.
    pub export_packages: u64,
    /// Export requests refused because no supervisor decided within 7 days.
    pub exports_lapsed: u64,
    /// Audit log entries whose content went (their hashes stay).
    pub audit_entries: u64,
    /// Recording segments past their camera's retention (the legal month at most).
    pub recording_segments: u64,
    /// Recording segments of an events-mode camera that no detection keeps.
    pub recording_segments_events: u64,
    /// Recording segments removed, oldest first, to stay within the disk budget.
    pub recording_segments_budget: u64,
    /// Bytes of all recording segments removed.
    pub recording_bytes: u64,
    /// Position fixes of mobile sensors, kept as long as their detections.
    pub sensor_positions: u64,
}

impl PurgeReport {
    pub fn is_empty(&self) -> bool {
        *self == PurgeReport::default()
    }
}

/// How much disk recordings may use: a cap on their bytes, and a share of the disk kept
/// free. When either is passed, the oldest segments not on hold go first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordingBudget {
    pub max_bytes: Option<u64>,
    /// Keep at least this share of the recordings disk free (0 to 0.9).
    pub min_free_share: f64,
}

impl Default for RecordingBudget {
    fn default() -> Self {
        RecordingBudget { max_bytes: None, min_free_share: 0.05 }
    }
}

/// An events-mode segment goes this long after its keeping window ended with no detection.
const EVENTS_GRACE_SECS: i64 = 60;

/// The purge job.
#[derive(Clone)]
pub struct Retention {
    store: Arc<dyn Store>,
    evidence: Option<EvidenceStore>,
    exports_dir: Option<std::path::PathBuf>,
    audit: Option<Auditor>,
    config: Arc<Config>,
    clock: Clock,
    recordings: Option<(vigie_record::archive::Archive, RecordingBudget)>,
}

/// Runs a purge statement batch after batch until one comes back short (or the run's
/// share is spent); returns how many rows went and their evidence (JSON).
fn drain(mut batch: impl FnMut() -> Result<Vec<String>, StoreError>) -> Result<(u64, Vec<String>), StoreError> {
    let (mut n, mut evidence) = (0, Vec::new());
    for _ in 0..MAX_BATCHES {
        let gone = batch()?;
        let short = (gone.len() as u32) < BATCH;
        n += gone.len() as u64;
        evidence.extend(gone);
        if short {
            break;
        }
    }
    Ok((n, evidence))
}

/// The evidence file names a detection's `evidence` JSON cites.
fn cited_files(evidence_json: &str) -> Vec<String> {
    serde_json::from_str::<Vec<vigie_model::Evidence>>(evidence_json)
        .map(|list| list.into_iter().filter_map(|e| e.uri.strip_prefix("evidence/").map(str::to_owned)).collect())
        .unwrap_or_default()
}

impl Retention {
    pub fn new(
        store: Arc<dyn Store>,
        evidence: Option<EvidenceStore>,
        exports_dir: Option<std::path::PathBuf>,
        audit: Option<Auditor>,
        config: Arc<Config>,
        clock: Clock,
    ) -> Retention {
        Retention { store, evidence, exports_dir, audit, config, clock, recordings: None }
    }

    /// Also purges the recordings of this folder, by age (each camera's image retention),
    /// events mode and disk budget.
    pub fn with_recordings(mut self, archive: vigie_record::archive::Archive, budget: RecordingBudget) -> Retention {
        self.recordings = Some((archive, budget));
        self
    }

    /// One run: purges, then records what went (register and audit log).
    pub async fn tick(&self) -> Result<PurgeReport, RetentionError> {
        let me = self.clone();
        let mut report = tokio::task::spawn_blocking(move || me.purge())
            .await
            .map_err(|e| RetentionError::Audit(format!("purge task: {e}")))??;
        if let Some(audit) = &self.audit {
            let cutoff = (self.clock)() - Duration::days(i64::from(self.config.retention.audit_days));
            report.audit_entries = audit.redact_before(cutoff).await.map_err(RetentionError::Audit)?;
        }
        if !report.is_empty() {
            self.record(&report).await?;
        }
        Ok(report)
    }

    /// Runs forever, every `purge_interval_secs`.
    pub async fn run(self) {
        let every = std::time::Duration::from_secs(self.config.retention.purge_interval_secs.max(1));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.tick().await {
                Ok(r) if !r.is_empty() => tracing::info!(
                    detections = r.detections,
                    evidence_files = r.evidence_files,
                    incidents = r.incidents,
                    "retention purge"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention purge failed; retrying at the next run"),
            }
        }
    }

    /// The purges themselves (blocking).
    pub fn purge(&self) -> Result<PurgeReport, RetentionError> {
        let now = (self.clock)();
        let r = &self.config.retention;
        let reg = self.store.registry();
        let mut report = PurgeReport::default();
        let mut freed: BTreeSet<String> = BTreeSet::new();
        let overridden: Vec<String> = r.sensor_days.keys().cloned().collect();
        let days = |d: u32| now - Duration::days(i64::from(d));

        // Scopes: every sensor at the global durations, then each sensor keeping less.
        let mut scopes: Vec<(PurgeScope<'_>, DateTime<Utc>, DateTime<Utc>)> =
            vec![(PurgeScope::AllExcept(&overridden), days(r.detections_days), days(r.evidence_days))];
        for s in &overridden {
            scopes.push((PurgeScope::Sensor(s), days(r.detections_days_of(s)), days(r.evidence_days_of(s))));
        }
        for (scope, detections_before, evidence_before) in scopes {
            let (n, gone) = drain(|| reg.strip_evidence(scope, evidence_before, BATCH))?;
            report.evidence_references += n;
            freed.extend(gone.iter().flat_map(|e| cited_files(e)));
            let (n, gone) = drain(|| reg.purge_detections(scope, detections_before, BATCH))?;
            report.detections += n;
            freed.extend(gone.iter().flat_map(|e| cited_files(e)));
            for _ in 0..MAX_BATCHES {
                let n = reg.purge_positions(scope, detections_before, BATCH)?;
                report.sensor_positions += n;
                if n < u64::from(BATCH) {
                    break;
                }
            }
        }
        for _ in 0..MAX_BATCHES {
            let (incidents, detections, evidence) = reg.purge_incidents(days(r.incidents_days), BATCH / 10)?;
            report.incidents += incidents;
            report.incident_detections += detections;
            freed.extend(evidence.iter().flat_map(|e| cited_files(e)));
            if incidents < u64::from(BATCH / 10) {
                break;
            }
        }

        if let Some(store) = &self.evidence {
            // Files whose last citation just went (a file may be cited twice: content naming).
            for name in &freed {
                if !reg.evidence_cited(name)? && store.remove(name)? {
                    report.evidence_files += 1;
                }
            }
            // Files older than the image limit that nothing under hold cites: uploads never
            // cited, or left behind by a crash between the two steps above.
            let limit = std::time::SystemTime::from(days(r.evidence_days));
            let held = reg.held_evidence()?;
            for f in store.list()? {
                if f.modified < limit && !held.contains(&f.name) && store.remove(&f.name)? {
                    report.evidence_files += 1;
                }
            }
        }

        if let Some((archive, budget)) = &self.recordings {
            self.purge_recordings(archive, *budget, now, &overridden, &mut report)?;
        }

        self.lapse_exports(reg, now, &mut report)?;
        for e in reg.expire_exports(now)? {
            if let Some(dir) = &self.exports_dir {
                let path = dir.join(format!("{}.zip", e.id));
                match std::fs::remove_file(&path) {
                    Ok(()) => report.export_packages += 1,
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => return Err(crate::evidence::EvidenceError::Io { path, source: err }.into()),
                }
            }
        }
        Ok(report)
    }

    /// Recordings: past their camera's retention, events-mode segments no detection keeps,
    /// then the oldest until the disk budget holds. Nothing on legal hold is touched.
    fn purge_recordings(
        &self,
        archive: &vigie_record::archive::Archive,
        budget: RecordingBudget,
        now: DateTime<Utc>,
        overridden: &[String],
        report: &mut PurgeReport,
    ) -> Result<(), RetentionError> {
        let r = &self.config.retention;
        let reg = self.store.registry();
        let remove = |gone: &[crate::store::PurgedSegment], report: &mut PurgeReport| -> Result<u64, RetentionError> {
            for g in gone {
                archive.remove(&g.path)?;
                report.recording_bytes += g.bytes;
            }
            Ok(gone.iter().map(|g| g.bytes).sum())
        };
        let days = |d: u32| now - Duration::days(i64::from(d));
        let mut scopes = vec![(PurgeScope::AllExcept(overridden), days(r.evidence_days))];
        for s in overridden {
            scopes.push((PurgeScope::Sensor(s), days(r.evidence_days_of(s))));
        }
        for (scope, before) in scopes {
            for _ in 0..MAX_BATCHES {
                let gone = reg.purge_recordings(scope, before, BATCH)?;
                report.recording_segments += gone.len() as u64;
                remove(&gone, report)?;
                if (gone.len() as u32) < BATCH {
                    break;
                }
            }
        }
        for _ in 0..MAX_BATCHES {
            let gone = reg.purge_unneeded_event_recordings(now, Duration::seconds(EVENTS_GRACE_SECS), BATCH)?;
            report.recording_segments_events += gone.len() as u64;
            remove(&gone, report)?;
            if (gone.len() as u32) < BATCH {
                break;
            }
        }
        // The budget: bytes over the cap, or missing to keep the free share.
        let total = reg.recordings_bytes()?;
        let mut need = budget.max_bytes.map_or(0, |m| total.saturating_sub(m));
        if let Ok(d) = archive.disk() {
            let floor = (d.total_bytes as f64 * budget.min_free_share.clamp(0.0, 0.9)) as u64;
            need = need.max(floor.saturating_sub(d.free_bytes));
        }
        let mut freed = 0u64;
        for _ in 0..MAX_BATCHES {
            if freed >= need {
                break;
            }
            let gone = reg.purge_oldest_recordings(100)?;
            if gone.is_empty() {
                tracing::error!(need, freed, "recordings over their disk budget, but what is left is on legal hold");
                break;
            }
            report.recording_segments_budget += gone.len() as u64;
            freed += remove(&gone, report)?;
        }
        Ok(())
    }

    /// Refuses the export requests left undecided past [`crate::exports::DECISION_WINDOW`]
    /// and lifts their hold when no other request stands on the incident.
    fn lapse_exports(
        &self,
        reg: &crate::store::Registry,
        now: DateTime<Utc>,
        report: &mut PurgeReport,
    ) -> Result<(), RetentionError> {
        use crate::store::ExportStatus;
        let all = reg.exports(None, None)?;
        let due = now - crate::exports::DECISION_WINDOW;
        for e in all.iter().filter(|e| e.status == ExportStatus::Requested && e.requested_at <= due) {
            let mut lapsed = e.clone();
            lapsed.status = ExportStatus::Refused;
            lapsed.decided_by = Some("vigie".into());
            lapsed.decided_at = Some(now);
            lapsed.decision_note = Some("aucune décision sous 7 jours : refus automatique".into());
            if !reg.decide_export(&lapsed)? {
                continue; // decided meanwhile
            }
            report.exports_lapsed += 1;
            let others_stand = all.iter().any(|x| {
                x.incident_id == e.incident_id
                    && x.id != e.id
                    && !matches!(x.status, ExportStatus::Refused)
                    && !(x.status == ExportStatus::Requested && x.requested_at <= due)
            });
            if !others_stand {
                reg.release_hold(&e.incident_id)?;
            }
        }
        Ok(())
    }

    /// The register of purges (one line per class that lost something) and one audit
    /// entry with the counts.
    async fn record(&self, report: &PurgeReport) -> Result<(), RetentionError> {
        let now = (self.clock)();
        let r = &self.config.retention;
        let lines = [
            (
                "detections",
                report.detections,
                format!("older than {} days (or their sensor's retention)", r.detections_days),
            ),
            (
                "evidence",
                report.evidence_files,
                format!("files older than {} days or no longer cited", r.evidence_days),
            ),
            (
                "evidence_references",
                report.evidence_references,
                format!("references older than {} days", r.evidence_days),
            ),
            ("incidents", report.incidents, format!("resolved or closed more than {} days ago", r.incidents_days)),
            ("incident_detections", report.incident_detections, "deleted with their incident".to_owned()),
            ("export_packages", report.export_packages, "download window of 24 h ended".to_owned()),
            (
                "export_requests",
                report.exports_lapsed,
                "requests no supervisor decided within 7 days, refused".to_owned(),
            ),
            (
                "audit_entries",
                report.audit_entries,
                format!("audit entries older than {} days blanked (hashes kept)", r.audit_days),
            ),
            (
                "recordings",
                report.recording_segments,
                format!("segments older than {} days (or their camera's retention)", r.evidence_days),
            ),
            (
                "recordings_events",
                report.recording_segments_events,
                "events-mode segments no detection keeps".to_owned(),
            ),
            (
                "recordings_budget",
                report.recording_segments_budget,
                "oldest segments, to stay within the disk budget".to_owned(),
            ),
            (
                "sensor_positions",
                report.sensor_positions,
                format!("mobile sensors' fixes older than {} days (or their sensor's retention)", r.detections_days),
            ),
        ];
        let records: Vec<PurgeRecord> = lines
            .into_iter()
            .filter(|(_, count, _)| *count > 0)
            .map(|(class, count, detail)| PurgeRecord {
                id: ulid::Ulid::new().to_string(),
                at: now,
                data_class: class.to_owned(),
                count,
                detail,
            })
            .collect();
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || records.iter().try_for_each(|p| store.registry().record_purge(p)))
            .await
            .map_err(|e| RetentionError::Audit(e.to_string()))??;
        if let Some(audit) = &self.audit {
            let detail = serde_json::to_value(report).unwrap_or_default();
            let entry =
                vigie_audit::AuditEntry::new("hub", vigie_audit::Action::Purge, "retention").with_detail(detail);
            audit.record(entry).await.map_err(RetentionError::Audit)?;
        }
        Ok(())
    }
}
