//! What is known of one segment file: the sidecar the recorder writes, the query the
//! uploader sends and what the hub indexes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::RecordMode;

/// One finished segment: `init + fragments`, decode times from zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentMeta {
    /// ULID made by the recorder: the idempotency key of the upload.
    pub id: String,
    pub camera: String,
    /// Wall-clock time of its first frame (UTC).
    pub start: DateTime<Utc>,
    /// `start` + its media duration.
    pub end: DateTime<Utc>,
    pub duration_ms: u64,
    pub bytes: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// RFC 6381 codec (`avc1.64001f`).
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub frames: u64,
    /// Privacy masks were burned in (re-encoded); `false`: stream copy of a camera without masks.
    pub masked: bool,
    /// How many mask polygons.
    pub masks: u32,
    pub mode: RecordMode,
    pub pre_secs: u32,
    pub post_secs: u32,
}

impl SegmentMeta {
    /// The file name of the segment in the spool and at the hub.
    pub fn file_name(&self) -> String {
        format!("{}.mp4", self.id)
    }
}
