//! The ε budget ledger: one JSON line per release, appended before the release is written,
//! saying how much ε each table spent, with which sensitivity and mechanism. A release that
//! would take the ledger's total past its cap is refused before anything is published.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::FlowsError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSpend {
    pub table: String,
    pub epsilon: f64,
    /// L1 sensitivity: the most one device can change the table's published values.
    pub sensitivity: f64,
    pub mechanism: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub release: String,
    pub created: String,
    pub epsilon: f64,
    pub tables: Vec<TableSpend>,
}

pub struct Ledger {
    path: PathBuf,
    pub entries: Vec<LedgerEntry>,
}

impl Ledger {
    pub fn open(path: &Path) -> Result<Self, FlowsError> {
        let entries = match std::fs::read_to_string(path) {
            Ok(text) => text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(i, l)| {
                    serde_json::from_str(l)
                        .map_err(|e| FlowsError::Budget(format!("{} line {}: {e}", path.display(), i + 1)))
                })
                .collect::<Result<_, _>>()?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(FlowsError::Open { path: path.into(), source: e }),
        };
        Ok(Ledger { path: path.into(), entries })
    }

    pub fn spent(&self) -> f64 {
        self.entries.iter().map(|e| e.epsilon).sum()
    }

    /// Checks the cap, then appends the entry durably.
    pub fn record(&mut self, entry: LedgerEntry, cap: Option<f64>) -> Result<(), FlowsError> {
        let total: f64 = entry.tables.iter().map(|t| t.epsilon).sum();
        if (total - entry.epsilon).abs() > 1e-9 {
            return Err(FlowsError::Budget(format!("tables spend {total}, the release says {}", entry.epsilon)));
        }
        if let Some(cap) = cap
            && self.spent() + entry.epsilon > cap + 1e-12
        {
            return Err(FlowsError::Budget(format!(
                "release {} would spend ε = {} on top of {} already spent, past the cap of {cap}: refused, nothing published",
                entry.release,
                entry.epsilon,
                self.spent()
            )));
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| FlowsError::output(dir, e))?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| FlowsError::output(&self.path, e))?;
        let line = serde_json::to_string(&entry).map_err(|e| FlowsError::output(&self.path, e))?;
        writeln!(f, "{line}").and_then(|_| f.sync_all()).map_err(|e| FlowsError::output(&self.path, e))?;
        self.entries.push(entry);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(day: &str, eps: f64) -> LedgerEntry {
        LedgerEntry {
            release: day.into(),
            created: "now".into(),
            epsilon: eps,
            tables: vec![TableSpend {
                table: "presence".into(),
                epsilon: eps,
                sensitivity: 96.0,
                mechanism: "geometric".into(),
            }],
        }
    }

    #[test]
    fn appends_and_refuses_past_the_cap() {
        let dir = std::env::temp_dir().join(format!("vigie-ledger-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("ledger.jsonl");
        let mut l = Ledger::open(&path).unwrap();
        l.record(entry("2026-11-23", 1.0), Some(2.5)).unwrap();
        l.record(entry("2026-11-24", 1.0), Some(2.5)).unwrap();
        let e = l.record(entry("2026-11-25", 1.0), Some(2.5)).unwrap_err().to_string();
        assert!(e.contains("refused"), "{e}");
        let again = Ledger::open(&path).unwrap();
        assert_eq!(again.entries.len(), 2);
        assert!((again.spent() - 2.0).abs() < 1e-12);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
