//! Typed errors of the audio pipeline; messages are lowercase and name the file or sensor.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("{what}: not a readable audio stream (wav, flac or ogg/vorbis expected): {detail}")]
    Unsupported { what: String, detail: String },
    #[error("{what}: corrupt audio: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("{what}: no audio samples could be decoded")]
    Empty { what: String },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("audio tagger {model}: {detail}")]
    Classifier { model: String, detail: String },
    #[error("input {input}: cannot start {program}: {source}")]
    Spawn { input: String, program: String, source: std::io::Error },
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
