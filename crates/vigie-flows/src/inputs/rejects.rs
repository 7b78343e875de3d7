//! Rows that could not be used, counted by reason, with a few samples for the report.
//! Nothing is dropped without being counted here.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// A missing, null or unparseable field.
    Malformed,
    /// A cell identifier absent from the cell table.
    UnknownCell,
    /// A time outside the day being processed (or absurd).
    OutOfRange,
    /// Older than the device's previous event by more than the reorder tolerance.
    OutOfOrder,
    /// A row group or file that could not be decoded at all (its rows are counted).
    Corrupt,
}

impl RejectReason {
    pub const ALL: [RejectReason; 5] = [
        RejectReason::Malformed,
        RejectReason::UnknownCell,
        RejectReason::OutOfRange,
        RejectReason::OutOfOrder,
        RejectReason::Corrupt,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Malformed => "malformed",
            RejectReason::UnknownCell => "unknown_cell",
            RejectReason::OutOfRange => "out_of_range",
            RejectReason::OutOfOrder => "out_of_order",
            RejectReason::Corrupt => "corrupt",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RejectSample {
    pub reason: RejectReason,
    pub file: String,
    /// Row within the file (0-based), when known.
    pub row: Option<u64>,
    pub detail: String,
}

/// Counts per reason, plus rows taken at the previous event's time (`reordered`: kept).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rejects {
    pub counts: BTreeMap<RejectReason, u64>,
    pub reordered: u64,
    pub samples: Vec<RejectSample>,
}

const SAMPLES_PER_REASON: usize = 5;

impl Rejects {
    pub fn add(&mut self, reason: RejectReason, n: u64) {
        *self.counts.entry(reason).or_default() += n;
    }

    /// Counts one row and keeps it as a sample if few of its reason are kept yet.
    pub fn reject(&mut self, reason: RejectReason, file: &Path, row: Option<u64>, detail: impl FnOnce() -> String) {
        self.add(reason, 1);
        if self.samples.iter().filter(|s| s.reason == reason).count() < SAMPLES_PER_REASON {
            self.samples.push(RejectSample { reason, file: file.display().to_string(), row, detail: detail() });
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    pub fn get(&self, reason: RejectReason) -> u64 {
        self.counts.get(&reason).copied().unwrap_or(0)
    }

    pub fn merge(&mut self, other: Rejects) {
        for (r, n) in other.counts {
            self.add(r, n);
        }
        self.reordered += other.reordered;
        for s in other.samples {
            if self.samples.iter().filter(|x| x.reason == s.reason).count() < SAMPLES_PER_REASON {
                self.samples.push(s);
            }
        }
    }
}
