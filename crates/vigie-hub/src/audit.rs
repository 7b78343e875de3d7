//! The hub's side of the audit log (property 8): every read of personal data and every
//! operator action is appended to the verifiable log (`vigie-audit`) **before** the data is
//! served or the action confirmed. One thread owns the log and commits what is queued in
//! one batch (one fsync and one signed checkpoint per batch). If the log cannot be written,
//! the read is refused: the hub fails closed.

use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use vigie_audit::{AuditEntry, AuditLog, AuditOptions, SignedCheckpoint};

const MAX_BATCH: usize = 1024;

enum Request {
    Append(AuditEntry, oneshot::Sender<Result<u64, String>>),
    /// Retention of the log itself: blank out the entries older than this.
    Redact(chrono::DateTime<chrono::Utc>, oneshot::Sender<Result<u64, String>>),
}

/// Handle to the audit writer.
#[derive(Clone)]
pub struct Auditor {
    tx: std::sync::mpsc::Sender<Request>,
    latest: Arc<Mutex<SignedCheckpoint>>,
    dir: std::path::PathBuf,
}

impl Auditor {
    /// Opens (or creates) the log in `dir`; refuses a log that no longer matches its
    /// signed checkpoint.
    pub fn open(dir: &Path, origin: &str) -> Result<Auditor, vigie_audit::AuditError> {
        let mut log = AuditLog::open_with(dir, AuditOptions { origin: origin.to_owned(), sync: true })?;
        let latest = Arc::new(Mutex::new(log.checkpoint()));
        let (tx, rx) = std::sync::mpsc::channel::<Request>();
        let shared = latest.clone();
        std::thread::Builder::new()
            .name("vigie-audit".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = Vec::new();
                    let mut next = Some(first);
                    while let Some(request) = next.take() {
                        match request {
                            Request::Append(entry, reply) => batch.push((entry, reply)),
                            Request::Redact(cutoff, reply) => {
                                commit(&mut log, &shared, std::mem::take(&mut batch));
                                let _ = reply.send(log.redact_before(cutoff).map_err(|e| e.to_string()));
                                *shared.lock().unwrap_or_else(|p| p.into_inner()) = log.checkpoint();
                            }
                        }
                        if batch.len() < MAX_BATCH {
                            next = rx.try_recv().ok();
                        }
                    }
                    commit(&mut log, &shared, batch);
                }
            })
            .map_err(|e| vigie_audit::AuditError::Io { path: "the audit thread".into(), source: e })?;
        Ok(Auditor { tx, latest, dir: dir.to_owned() })
    }

    /// Appends an entry and waits until it is committed; returns its sequence number.
    pub async fn record(&self, entry: AuditEntry) -> Result<u64, String> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request::Append(entry, reply)).map_err(|_| "the audit log has stopped".to_owned())?;
        rx.await.map_err(|_| "the audit log has stopped".to_owned())?
    }

    /// Retention of the log: blanks out the entries older than `cutoff` (their hashes stay,
    /// every checkpoint still verifies); returns how many.
    pub async fn redact_before(&self, cutoff: chrono::DateTime<chrono::Utc>) -> Result<u64, String> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request::Redact(cutoff, reply)).map_err(|_| "the audit log has stopped".to_owned())?;
        rx.await.map_err(|_| "the audit log has stopped".to_owned())?
    }

    /// The log's folder (read by the DPO's search; only the audit thread writes it).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The latest signed checkpoint (public: anyone may hold the hub to it).
    pub fn checkpoint(&self) -> SignedCheckpoint {
        self.latest.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Commits a batch of appends in one write, one fsync and one signed checkpoint.
fn commit(
    log: &mut AuditLog,
    shared: &Mutex<SignedCheckpoint>,
    batch: Vec<(AuditEntry, oneshot::Sender<Result<u64, String>>)>,
) {
    if batch.is_empty() {
        return;
    }
    let (entries, replies): (Vec<AuditEntry>, Vec<_>) = batch.into_iter().unzip();
    match log.append_batch(entries) {
        Ok(range) => {
            *shared.lock().unwrap_or_else(|p| p.into_inner()) = log.checkpoint();
            for (seq, reply) in range.zip(replies) {
                let _ = reply.send(Ok(seq));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot append to the audit log");
            for reply in replies {
                let _ = reply.send(Err(e.to_string()));
            }
        }
    }
}
