//! The spool: finished segments waiting for the hub (or kept, without a hub), one folder
//! per camera, each segment a file and its JSON sidecar. Listing, crash recovery of
//! segments left open, the disk bound (oldest first) and the set-aside of segments the
//! hub refused (kept with the reason, never retried forever, never silently lost).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::meta::SegmentMeta;
use crate::error::RecordError;
use crate::fmp4::{Chunk, Splitter};

/// A finished segment in the spool.
#[derive(Debug, Clone)]
pub struct Spooled {
    pub meta: SegmentMeta,
    pub file: PathBuf,
    pub sidecar: PathBuf,
}

impl Spooled {
    pub fn remove(&self) -> Result<(), RecordError> {
        for p in [&self.file, &self.sidecar] {
            match std::fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(RecordError::io(p, e)),
            }
        }
        Ok(())
    }
}

/// The spool's lock, held while a recorder runs: one recorder per spool folder.
#[derive(Debug)]
pub struct SpoolLock {
    _file: std::fs::File,
}

/// Takes the spool's lock (`<spool>/.lock`, an advisory file lock the OS releases when the
/// process ends, even killed), or says the folder is another recorder's.
pub fn lock(spool: &Path) -> Result<SpoolLock, RecordError> {
    let path = spool.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| RecordError::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(SpoolLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(RecordError::SpoolInUse { path: spool.to_path_buf() }),
        Err(std::fs::TryLockError::Error(e)) => Err(RecordError::io(&path, e)),
    }
}

fn camera_dirs(spool: &Path) -> Result<Vec<PathBuf>, RecordError> {
    let rd = match std::fs::read_dir(spool) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(RecordError::io(spool, e)),
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() && p.file_name().is_some_and(|n| n != "refused") {
            out.push(p);
        }
    }
    Ok(out)
}

/// Finished segments, oldest first (by start time, then id).
pub fn list(spool: &Path) -> Result<Vec<Spooled>, RecordError> {
    let mut out = Vec::new();
    for dir in camera_dirs(spool)? {
        let rd = std::fs::read_dir(&dir).map_err(|e| RecordError::io(&dir, e))?;
        for e in rd.flatten() {
            let p = e.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !name.ends_with(".json") || name.ends_with(".open.json") {
                continue;
            }
            let Ok(text) = std::fs::read(&p) else { continue };
            let Ok(meta) = serde_json::from_slice::<SegmentMeta>(&text) else {
                tracing::warn!(file = %p.display(), "unreadable segment sidecar left in the spool");
                continue;
            };
            let file = dir.join(meta.file_name());
            if file.exists() {
                out.push(Spooled { meta, file, sidecar: p });
            }
        }
    }
    out.sort_by(|a, b| (a.meta.start, &a.meta.id).cmp(&(b.meta.start, &b.meta.id)));
    Ok(out)
}

/// Bytes held by finished segments.
pub fn bytes(list: &[Spooled]) -> u64 {
    list.iter().map(|s| s.meta.bytes).sum()
}

/// Drops the oldest segments until the spool holds at most `max_bytes`; returns them.
pub fn enforce_budget(spool: &Path, max_bytes: u64) -> Result<Vec<SegmentMeta>, RecordError> {
    let all = list(spool)?;
    let mut total = bytes(&all);
    let mut dropped = Vec::new();
    for s in all {
        if total <= max_bytes {
            break;
        }
        s.remove()?;
        total = total.saturating_sub(s.meta.bytes);
        tracing::error!(camera = %s.meta.camera, segment = %s.meta.id, start = %s.meta.start,
            "spool full: the oldest segment not yet uploaded was dropped");
        dropped.push(s.meta);
    }
    Ok(dropped)
}

/// Sets aside a segment the hub refused, with the reason beside it.
pub fn set_aside(spool: &Path, s: &Spooled, reason: &str) -> Result<PathBuf, RecordError> {
    let dir = spool.join("refused");
    std::fs::create_dir_all(&dir).map_err(|e| RecordError::io(&dir, e))?;
    let file = dir.join(s.meta.file_name());
    std::fs::rename(&s.file, &file).map_err(|e| RecordError::io(&file, e))?;
    let note = serde_json::json!({ "segment": s.meta, "refused": reason });
    let side = dir.join(format!("{}.json", s.meta.id));
    std::fs::write(&side, serde_json::to_vec_pretty(&note).unwrap_or_default())
        .map_err(|e| RecordError::io(&side, e))?;
    let _ = std::fs::remove_file(&s.sidecar);
    Ok(file)
}

/// Finishes the segments a crash left open: each `.mp4.part` is cut after its last whole
/// fragment and becomes a finished segment; one without a whole fragment is removed.
/// Returns the recovered segments.
pub fn recover(spool: &Path) -> Result<Vec<SegmentMeta>, RecordError> {
    let mut out = Vec::new();
    for dir in camera_dirs(spool)? {
        let rd = std::fs::read_dir(&dir).map_err(|e| RecordError::io(&dir, e))?;
        let opens: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".open.json")))
            .collect();
        for open in opens {
            let Ok(mut meta) = std::fs::read(&open)
                .map_err(|_| ())
                .and_then(|b| serde_json::from_slice::<SegmentMeta>(&b).map_err(|_| ()))
            else {
                let _ = std::fs::remove_file(&open);
                continue;
            };
            let part = dir.join(format!("{}.mp4.part", meta.id));
            let bytes = std::fs::read(&part).unwrap_or_default();
            let mut splitter = Splitter::new();
            let (mut keep, mut ticks, mut frames, mut timescale, mut fragments) = (0usize, 0u64, 0u64, 1u32, 0u32);
            // Fed whole: chunks come out for every complete box; a torn last box does not.
            if let Ok(chunks) = splitter.push(&bytes) {
                for c in chunks {
                    match c {
                        Chunk::Init(i) => {
                            keep += i.bytes.len();
                            timescale = i.timescale.max(1);
                        }
                        Chunk::Fragment(f) => {
                            keep += f.bytes.len();
                            ticks = ticks.max(f.decode_time + f.duration);
                            frames += u64::from(f.samples);
                            fragments += 1;
                        }
                    }
                }
            }
            if fragments == 0 {
                let _ = std::fs::remove_file(&part);
                let _ = std::fs::remove_file(&open);
                continue;
            }
            let body = &bytes[..keep];
            let final_path = dir.join(meta.file_name());
            std::fs::write(&final_path, body).map_err(|e| RecordError::io(&final_path, e))?;
            meta.bytes = keep as u64;
            meta.frames = frames;
            meta.duration_ms = ticks * 1000 / u64::from(timescale);
            meta.end = meta.start + chrono::Duration::milliseconds(meta.duration_ms as i64);
            meta.sha256 = Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect();
            let side = dir.join(format!("{}.json", meta.id));
            std::fs::write(&side, serde_json::to_vec_pretty(&meta).unwrap_or_default())
                .map_err(|e| RecordError::io(&side, e))?;
            let _ = std::fs::remove_file(&part);
            let _ = std::fs::remove_file(&open);
            tracing::warn!(camera = %meta.camera, segment = %meta.id, duration_ms = meta.duration_ms,
                "segment left open by a stop or crash recovered");
            out.push(meta);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_recorder_per_spool_folder() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock(dir.path()).unwrap();
        // A second recorder (another open of the lock file) is refused, by name.
        let err = lock(dir.path()).unwrap_err();
        assert!(matches!(err, RecordError::SpoolInUse { .. }), "{err}");
        assert!(err.to_string().contains("its own `spool_dir`"), "{err}");
        // The lock file is not a camera folder: nothing to upload.
        assert!(list(dir.path()).unwrap().is_empty());
        drop(held);
        lock(dir.path()).expect("free again once the first recorder stopped");
    }
}
