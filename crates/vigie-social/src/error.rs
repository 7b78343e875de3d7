//! Typed errors of the social pipeline; messages are lowercase and name the file, source
//! or field at fault.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SocialError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {detail}")]
    Data { path: String, detail: String },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("query {query:?}: {detail} (at character {at})")]
    Query { query: String, at: usize, detail: String },
    #[error("gazetteer: {0}")]
    Gazetteer(String),
    #[error("source {source_name}: {detail}")]
    Source { source_name: String, detail: String },
    #[error("search index: {0}")]
    Search(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl SocialError {
    pub(crate) fn config(msg: impl Into<String>) -> Self {
        SocialError::Config(msg.into())
    }
}
