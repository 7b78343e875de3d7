//! One audit entry: who did what to which object, when.
//!
//! Entries hold no personal data beyond the actor's account name: `target` names an
//! object by its id (an incident ULID, an evidence URI, a config key), never a person, and
//! `detail` is a small JSON object of non-personal context (a requisition reference, a
//! count, a query's hash rather than its text).
//!
//! The leaf of the Merkle tree is the exact line written to the log (serde_json of this
//! struct, fields in declaration order, no trailing newline): what is hashed is what is
//! stored, so the verifier needs no canonicalisation to recompute it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// What was done. Serialised in snake_case (`read_evidence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    Login,
    Logout,
    LoginFailed,
    ReadEvidence,
    ReadIncident,
    ReadDetection,
    Search,
    Transition,
    Note,
    ExportRequest,
    ExportApprove,
    ExportRefuse,
    /// A package of an approved export was downloaded.
    ExportDownload,
    /// The DPO lifted a legal hold (the judicial procedure ended).
    HoldRelease,
    ConfigChange,
    Purge,
    AuditRead,
}

impl Action {
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::Logout => "logout",
            Action::LoginFailed => "login_failed",
            Action::ReadEvidence => "read_evidence",
            Action::ReadIncident => "read_incident",
            Action::ReadDetection => "read_detection",
            Action::Search => "search",
            Action::Transition => "transition",
            Action::Note => "note",
            Action::ExportRequest => "export_request",
            Action::ExportApprove => "export_approve",
            Action::ExportRefuse => "export_refuse",
            Action::ExportDownload => "export_download",
            Action::HoldRelease => "hold_release",
            Action::ConfigChange => "config_change",
            Action::Purge => "purge",
            Action::AuditRead => "audit_read",
        }
    }
}

/// One line of the audit log. Field order is the serialised order and part of the format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// Position in the log, from 0; assigned by [`crate::AuditLog::append`].
    pub seq: u64,
    /// When it happened, RFC 3339 UTC with milliseconds.
    #[serde(with = "rfc3339_millis")]
    pub at: DateTime<Utc>,
    /// The account that acted (`system` for the hub itself).
    pub actor: String,
    pub action: Action,
    /// What it was done to: an object id, never a person.
    pub target: String,
    /// Small non-personal context; `null` when there is none.
    #[serde(default)]
    pub detail: serde_json::Value,
}

impl AuditEntry {
    /// An entry stamped now; `seq` is set on append.
    pub fn new(actor: impl Into<String>, action: Action, target: impl Into<String>) -> AuditEntry {
        AuditEntry::at(Utc::now(), actor, action, target)
    }

    pub fn at(at: DateTime<Utc>, actor: impl Into<String>, action: Action, target: impl Into<String>) -> AuditEntry {
        AuditEntry { seq: 0, at, actor: actor.into(), action, target: target.into(), detail: serde_json::Value::Null }
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> AuditEntry {
        self.detail = detail;
        self
    }

    /// The line stored in the log and hashed into the tree (no newline).
    pub fn to_line(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an audit entry always serialises")
    }
}

/// A line whose entry retention removed: its position and its leaf hash stay, so that the
/// tree — and every checkpoint signed before — still verifies. Allowed only below the
/// `redacted_before_seq` that a later `purge` entry of target `audit` declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactedLine {
    pub seq: u64,
    /// The entry's leaf hash, hex.
    pub redacted: String,
}

/// The target of the `purge` entry that declares a redaction.
pub const REDACTION_TARGET: &str = "audit";

/// One line of the entries file.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Entry(AuditEntry),
    Redacted { seq: u64, leaf: crate::Hash },
}

/// Whether a line may be a redacted one: short, with the marker (cheap, before parsing).
pub(crate) fn looks_redacted(line: &[u8]) -> bool {
    line.len() < 128 && line.windows(12).any(|w| w == b"\"redacted\":\"")
}

impl Line {
    pub fn parse(line: &[u8]) -> Result<Line, String> {
        if looks_redacted(line) {
            let r: RedactedLine = serde_json::from_slice(line).map_err(|e| e.to_string())?;
            let leaf = crate::Hash::from_hex(&r.redacted).ok_or("a redacted line without a leaf hash")?;
            return Ok(Line::Redacted { seq: r.seq, leaf });
        }
        serde_json::from_slice::<AuditEntry>(line).map(Line::Entry).map_err(|e| e.to_string())
    }

    pub fn seq(&self) -> u64 {
        match self {
            Line::Entry(e) => e.seq,
            Line::Redacted { seq, .. } => *seq,
        }
    }
}

impl AuditEntry {
    /// The prefix this entry declares redacted, if it is a redaction's declaration.
    pub fn redacted_before(&self) -> Option<u64> {
        (self.action == Action::Purge && self.target == REDACTION_TARGET)
            .then(|| self.detail["redacted_before_seq"].as_u64())
            .flatten()
    }
}

mod rfc3339_millis {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s).map(|t| t.with_timezone(&Utc)).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_in_fixed_field_order() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T21:30:05.123Z").unwrap().with_timezone(&Utc);
        let mut e = AuditEntry::at(at, "op.martin", Action::ReadEvidence, "evidence/01JD.jpg")
            .with_detail(serde_json::json!({"incident": "01JDQ"}));
        e.seq = 7;
        assert_eq!(
            String::from_utf8(e.to_line()).unwrap(),
            r#"{"seq":7,"at":"2026-11-22T21:30:05.123Z","actor":"op.martin","action":"read_evidence","target":"evidence/01JD.jpg","detail":{"incident":"01JDQ"}}"#
        );
        let back: AuditEntry = serde_json::from_slice(&e.to_line()).unwrap();
        assert_eq!(back, e);
        assert_eq!(e.action.as_str(), "read_evidence");
    }

    #[test]
    fn rejects_unknown_fields() {
        let line = r#"{"seq":0,"at":"2026-11-22T21:30:05.123Z","actor":"a","action":"login","target":"","detail":null,"face":"x"}"#;
        assert!(serde_json::from_str::<AuditEntry>(line).is_err());
    }
}
