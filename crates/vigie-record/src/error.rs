//! Typed errors of recording; messages are lowercase and name the camera or the field.

use std::path::PathBuf;

use crate::fmp4::Fmp4Error;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: invalid recording config: {detail}")]
    ConfigSyntax { path: PathBuf, detail: String },
    #[error("camera {camera}: {field}: {detail}")]
    Config { camera: String, field: String, detail: String },
    #[error("video config: {0}")]
    Video(#[from] vigie_video::VideoError),
    #[error("camera {camera}: cannot start {program}: {source}")]
    Spawn { camera: String, program: String, source: std::io::Error },
    #[error("camera {camera}: {detail}")]
    Input { camera: String, detail: String },
    #[error("camera {camera}: {source}")]
    Stream { camera: String, source: Fmp4Error },
    #[error(transparent)]
    Fmp4(#[from] Fmp4Error),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "spool folder {path} is in use by another `vigie record`: give each recorder its own `spool_dir` \
         (two sharing one would upload, recover and purge each other's segments)"
    )]
    SpoolInUse { path: PathBuf },
    #[error("hub: {0}")]
    Hub(String),
}

impl RecordError {
    pub fn config(camera: &str, field: &str, detail: impl Into<String>) -> RecordError {
        RecordError::Config { camera: camera.to_owned(), field: field.to_owned(), detail: detail.into() }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> RecordError {
        RecordError::Io { path: path.into(), source }
    }
}
