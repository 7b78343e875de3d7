//! Vigie's audit log (architecture property 8): every login, every read of personal data
//! and every action is appended to an append-only log built as a Merkle tree in the manner
//! of Certificate Transparency (RFC 9162 §2.1), whose tree heads are signed (Ed25519) as
//! checkpoints that anyone holding the public key can check.
//!
//! - [`merkle`]: leaf/node hashing, tree heads, inclusion and consistency proofs.
//! - [`entry`]: the typed [`AuditEntry`] (no personal data beyond the actor's account).
//! - [`checkpoint`]: [`SignedCheckpoint`] (a C2SP signed note) and the log's key.
//! - [`log`]: [`AuditLog`], the durable append-only store in a folder.
//! - [`verify`]: [`verify()`], which recomputes everything from the entries and names the
//!   first entry that was changed, removed or moved.
//!
//! The files of an audit folder and the verification method are described in
//! `docs/audit.md`.

pub mod checkpoint;
pub mod entry;
pub mod log;
pub mod merkle;
pub mod verify;

use std::path::Path;

pub use checkpoint::{LogKey, SignedCheckpoint, parse_vkey, verify_message, vkey_text};
pub use entry::{Action, AuditEntry, Line, REDACTION_TARGET, RedactedLine};
pub use log::{AuditLog, AuditOptions};
pub use merkle::{Hash, ProofError, Tree};
pub use verify::{Tamper, Verified, VerifyOptions, verify};

/// File names inside an audit folder.
pub const ENTRIES_FILE: &str = "entries.jsonl";
pub const LEAVES_FILE: &str = "leaves.bin";
/// Locked (advisory, exclusive) by the one process that writes the log.
pub const LOCK_FILE: &str = "lock";
pub const CHECKPOINTS_FILE: &str = "checkpoints.jsonl";

/// Errors of the audit library. Messages are lowercase and name the file or entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{what}: {reason}")]
    Malformed { what: String, reason: String },
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The log does not match its signed checkpoints.
    #[error("{0}")]
    Tampered(Tamper),
    /// An earlier write failed part-way: the in-memory tree may be ahead of the disk.
    #[error("the audit log is unusable after a failed write; reopen it")]
    Poisoned,
    /// Another process writes this log (a hub running on the same data folder).
    #[error("the audit log in {dir} is in use by another process (a hub running on this data folder?): stop it first")]
    Locked { dir: String },
}

impl AuditError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> AuditError {
        AuditError::Io { path: path.display().to_string(), source }
    }
}
