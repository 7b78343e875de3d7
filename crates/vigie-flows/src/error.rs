//! Typed errors of the flows pipeline; messages are lowercase and name the file, column or
//! setting at fault.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowsError {
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("{path}: {detail}")]
    Input { path: PathBuf, detail: String },
    #[error("{path}: parquet: {source}")]
    Parquet { path: PathBuf, source: parquet::errors::ParquetError },
    #[error("cell table {path} line {line}: {detail}")]
    CellTable { path: PathBuf, line: u64, detail: String },
    #[error("zones: {0}")]
    Zones(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("privacy budget: {0}")]
    Budget(String),
    #[error("writing {path}: {detail}")]
    Output { path: PathBuf, detail: String },
    #[error("no events of day {day} could be read (every row was rejected or the input is empty)")]
    NoEvents { day: String },
    #[error("a worker thread failed: {0}")]
    Worker(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl FlowsError {
    pub(crate) fn output(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> Self {
        FlowsError::Output { path: path.into(), detail: e.to_string() }
    }
    pub(crate) fn input(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> Self {
        FlowsError::Input { path: path.into(), detail: e.to_string() }
    }
}
