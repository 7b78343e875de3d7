//! Typed errors of the video pipeline; messages are lowercase and name the camera or field.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VideoError {
    #[error("cannot read {path}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: invalid video config: {detail}")]
    ConfigSyntax { path: PathBuf, detail: String },
    #[error("camera {camera}: {field}: {detail}")]
    Config { camera: String, field: String, detail: String },
    #[error("camera {camera}: cannot start ffmpeg ({program}): {source}")]
    Spawn { camera: String, program: String, source: std::io::Error },
    #[error("camera {camera}: {detail}")]
    Input { camera: String, detail: String },
    #[error("detector {model}: {detail}")]
    Detector { model: String, detail: String },
    #[error("evidence: {0}")]
    Evidence(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl VideoError {
    pub fn config(camera: &str, field: &str, detail: impl Into<String>) -> VideoError {
        VideoError::Config { camera: camera.to_owned(), field: field.to_owned(), detail: detail.into() }
    }
}
