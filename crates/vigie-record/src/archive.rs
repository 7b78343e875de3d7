//! The hub's recordings folder: `<data>/recordings/<camera>/<YYYY-MM-DD>/<segment>.mp4`,
//! each file written once (temporary name, fsync, rename) and checked on arrival — a whole
//! fragmented MP4 that opens on a keyframe, within bounds of size and time — so that what
//! the index says is what the disk holds. The disk's free space feeds the budget purge.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::config::RecordMode;
use crate::fmp4::{Fmp4Error, parse_file};
use crate::segment::SegmentMeta;

/// The largest segment the hub takes.
pub const MAX_UPLOAD_BYTES: usize = 256 << 20;
/// The longest segment the hub takes.
pub const MAX_SEGMENT_MS: u64 = 10 * 60 * 1000;

/// Why an upload is refused; each names what was wrong. `reason()` is the counter label.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("segment {0}: the id must be a ULID")]
    BadId(String),
    #[error("the segment is empty or larger than {MAX_UPLOAD_BYTES} bytes ({0})")]
    Size(usize),
    #[error("the segment is not a playable fragmented MP4: {0}")]
    Media(#[from] Fmp4Error),
    #[error("the segment lasts {0} ms (at most {MAX_SEGMENT_MS})")]
    Duration(u64),
    #[error(
        "the segment starts at {start}, outside what the hub accepts (at most {ahead_secs} s ahead, within the retention)"
    )]
    Time { start: DateTime<Utc>, ahead_secs: i64 },
    #[error("pre_secs/post_secs: at most 600 s before and 3600 s after")]
    Window,
    #[error("masks = {0} does not match masked = false")]
    Masks(u32),
}

impl UploadError {
    /// A bounded label for the refusal counter.
    pub fn reason(&self) -> &'static str {
        match self {
            UploadError::BadId(_) => "bad_id",
            UploadError::Size(_) => "size",
            UploadError::Media(_) => "malformed_media",
            UploadError::Duration(_) => "duration",
            UploadError::Time { .. } => "time_out_of_bounds",
            UploadError::Window => "bad_window",
            UploadError::Masks(_) => "masks_mismatch",
        }
    }
}

/// What the uploader says of a segment (the query string); the rest the hub reads from
/// the file itself.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    pub id: String,
    pub start: DateTime<Utc>,
    pub masked: bool,
    #[serde(default)]
    pub masks: u32,
    pub mode: RecordMode,
    #[serde(default)]
    pub pre_secs: u32,
    #[serde(default)]
    pub post_secs: u32,
}

/// Checks an uploaded file against its query; the metadata the index keeps.
pub fn check_upload(
    camera: &str,
    q: &UploadQuery,
    bytes: &[u8],
    now: DateTime<Utc>,
    oldest: DateTime<Utc>,
) -> Result<SegmentMeta, UploadError> {
    if ulid::Ulid::from_string(&q.id).is_err() {
        return Err(UploadError::BadId(q.id.clone()));
    }
    if bytes.is_empty() || bytes.len() > MAX_UPLOAD_BYTES {
        return Err(UploadError::Size(bytes.len()));
    }
    if q.pre_secs > 600 || q.post_secs > 3600 {
        return Err(UploadError::Window);
    }
    if !q.masked && q.masks > 0 {
        return Err(UploadError::Masks(q.masks));
    }
    let parsed = parse_file(bytes)?;
    let duration_ms = parsed.duration_ms();
    if duration_ms > MAX_SEGMENT_MS {
        return Err(UploadError::Duration(duration_ms));
    }
    let ahead_secs = 300;
    if q.start > now + Duration::seconds(ahead_secs) || q.start < oldest {
        return Err(UploadError::Time { start: q.start, ahead_secs });
    }
    Ok(SegmentMeta {
        id: q.id.clone(),
        camera: camera.to_owned(),
        start: q.start,
        end: q.start + Duration::milliseconds(duration_ms as i64),
        duration_ms,
        bytes: bytes.len() as u64,
        sha256: Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect(),
        codec: parsed.init.codec.clone(),
        width: parsed.init.width,
        height: parsed.init.height,
        frames: parsed.samples(),
        masked: q.masked,
        masks: q.masks,
        mode: q.mode,
        pre_secs: q.pre_secs,
        post_secs: q.post_secs,
    })
}

/// Space on the disk that holds the recordings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    pub total_bytes: u64,
    pub free_bytes: u64,
}

/// The recordings folder.
#[derive(Debug, Clone)]
pub struct Archive {
    root: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("recordings folder {path}: {source}")]
pub struct ArchiveError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

fn err(path: &Path, source: std::io::Error) -> ArchiveError {
    ArchiveError { path: path.to_owned(), source }
}

impl Archive {
    pub fn open(root: &Path) -> Result<Archive, ArchiveError> {
        std::fs::create_dir_all(root).map_err(|e| err(root, e))?;
        Ok(Archive { root: root.to_owned() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a segment's file goes, relative to the root.
    pub fn relative_path(meta: &SegmentMeta) -> String {
        format!("{}/{}/{}", meta.camera, meta.start.format("%Y-%m-%d"), meta.file_name())
    }

    /// Writes a checked segment; returns its relative path.
    pub fn store(&self, meta: &SegmentMeta, bytes: &[u8]) -> Result<String, ArchiveError> {
        let rel = Archive::relative_path(meta);
        let path = self.root.join(&rel);
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        let tmp = dir.join(format!(".{}.tmp", meta.id));
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            err(&path, e)
        })?;
        Ok(rel)
    }

    /// The file of a relative path from the index (only `camera/date/ULID.mp4` forms).
    pub fn path(&self, rel: &str) -> Option<PathBuf> {
        let parts: Vec<&str> = rel.split('/').collect();
        let safe = parts.len() == 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && !p.starts_with('.')
                    && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            });
        safe.then(|| self.root.join(rel))
    }

    pub fn read(&self, rel: &str) -> Result<Vec<u8>, ArchiveError> {
        let p = self.path(rel).ok_or_else(|| err(Path::new(rel), std::io::Error::other("not a segment path")))?;
        std::fs::read(&p).map_err(|e| err(&p, e))
    }

    /// Deletes a segment file; `false` if it was already gone.
    pub fn remove(&self, rel: &str) -> Result<bool, ArchiveError> {
        let Some(p) = self.path(rel) else { return Ok(false) };
        match std::fs::remove_file(&p) {
            Ok(()) => {
                // An emptied day folder goes too (best effort).
                if let Some(d) = p.parent() {
                    let _ = std::fs::remove_dir(d);
                }
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(err(&p, e)),
        }
    }

    /// Size and free space of the disk holding the folder.
    pub fn disk(&self) -> Result<DiskSpace, ArchiveError> {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(self.root.as_os_str().as_bytes())
            .map_err(|_| err(&self.root, std::io::Error::other("path with a NUL byte")))?;
        let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is a valid NUL-terminated path and `s` a writable statvfs.
        let rc = unsafe { libc::statvfs(c.as_ptr(), &mut s) };
        if rc != 0 {
            return Err(err(&self.root, std::io::Error::last_os_error()));
        }
        let frsize = s.f_frsize as u64;
        Ok(DiskSpace { total_bytes: s.f_blocks as u64 * frsize, free_bytes: s.f_bavail as u64 * frsize })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_index_shaped_paths_reach_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let a = Archive::open(dir.path()).unwrap();
        assert!(a.path("cam-1/2026-11-22/01JDQ8M6N4X2V6Z7Y8W9A0B1C2.mp4").is_some());
        for bad in ["../etc/passwd", "cam-1/../../x/y.mp4", "/abs/a/b.mp4", "cam/.hidden/x.mp4", "a/b", "a/b/c/d"] {
            assert!(a.path(bad).is_none(), "{bad}");
        }
        let d = a.disk().unwrap();
        assert!(d.total_bytes > 0 && d.free_bytes <= d.total_bytes);
    }
}
