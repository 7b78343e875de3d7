//! The segmenter: fragments in, segment files out. A segment opens on a keyframe, takes
//! fragments until it is `segment_secs` long and the next keyframe comes, and is written
//! as the init followed by its fragments, decode times moved back to zero, so that each
//! file plays alone. A new init (FFmpeg restarted), a decode time going backwards or an
//! oversized segment closes the open segment early. While open, the file is
//! `<id>.mp4.part` beside `<id>.open.json` (its start), so a crash loses at most the
//! fragment being written: [`super::spool::recover`] finishes such files at the next start.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::meta::SegmentMeta;
use crate::config::RecordCamera;
use crate::error::RecordError;
use crate::fmp4::{Fragment, Init};

/// The largest segment file: a segment is closed early past it.
pub const MAX_SEGMENT_BYTES: u64 = 256 << 20;

/// What the segmenter counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmenterStats {
    pub segments: u64,
    /// Fragments dropped while waiting for a keyframe (after a start, a restart or a cut).
    pub waiting_for_keyframe: u64,
    /// Segments closed early (new init, time going backwards, size).
    pub closed_early: u64,
}

struct Open {
    meta: SegmentMeta,
    base_ticks: u64,
    end_ticks: u64,
    last_decode: u64,
    file: BufWriter<File>,
    hasher: Sha256,
    part: PathBuf,
    open_json: PathBuf,
}

/// One camera's segmenter, writing into `<spool>/<camera>/`.
pub struct Segmenter {
    cam: RecordCamera,
    dir: PathBuf,
    init: Option<Init>,
    open: Option<Open>,
    segment_ticks: u64,
    pub stats: SegmenterStats,
}

fn write_json(path: &Path, meta: &SegmentMeta) -> Result<(), RecordError> {
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec_pretty(meta).map_err(|e| RecordError::io(path, std::io::Error::other(e)))?;
    let mut f = File::create(&tmp).map_err(|e| RecordError::io(&tmp, e))?;
    f.write_all(&bytes).and_then(|_| f.sync_all()).map_err(|e| RecordError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| RecordError::io(path, e))
}

impl Segmenter {
    pub fn new(cam: RecordCamera, spool: &Path) -> Result<Segmenter, RecordError> {
        let dir = spool.join(cam.id.as_str());
        std::fs::create_dir_all(&dir).map_err(|e| RecordError::io(&dir, e))?;
        Ok(Segmenter { cam, dir, init: None, open: None, segment_ticks: 0, stats: SegmenterStats::default() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new init: the open segment (made with the old one) closes.
    pub fn on_init(&mut self, init: Init) -> Result<Option<SegmentMeta>, RecordError> {
        let closed = self.close()?;
        if closed.is_some() {
            self.stats.closed_early += 1;
        }
        self.segment_ticks = u64::from(self.cam.segment_secs) * u64::from(init.timescale);
        self.init = Some(init);
        Ok(closed)
    }

    /// Takes a fragment; returns the segment it closed, if any.
    pub fn on_fragment(&mut self, f: &Fragment, time: DateTime<Utc>) -> Result<Option<SegmentMeta>, RecordError> {
        let mut closed = None;
        if let Some(o) = &self.open {
            let backwards = f.decode_time < o.last_decode;
            let long_enough = f.decode_time.saturating_sub(o.base_ticks) >= self.segment_ticks;
            let too_big = o.meta.bytes + f.bytes.len() as u64 > MAX_SEGMENT_BYTES;
            if backwards || too_big || (f.keyframe && long_enough) {
                if backwards || too_big {
                    self.stats.closed_early += 1;
                }
                closed = self.close()?;
            }
        }
        if self.open.is_none() {
            if !f.keyframe || self.init.is_none() {
                self.stats.waiting_for_keyframe += 1;
                return Ok(closed);
            }
            self.start(f, time)?;
        }
        self.append(f)?;
        Ok(closed)
    }

    fn start(&mut self, f: &Fragment, time: DateTime<Utc>) -> Result<(), RecordError> {
        let Some(init) = &self.init else { return Ok(()) };
        let id = ulid::Ulid::new().to_string();
        let part = self.dir.join(format!("{id}.mp4.part"));
        let open_json = self.dir.join(format!("{id}.open.json"));
        let meta = SegmentMeta {
            id,
            camera: self.cam.id.to_string(),
            start: time,
            end: time,
            duration_ms: 0,
            bytes: 0,
            sha256: String::new(),
            codec: init.codec.clone(),
            width: init.width,
            height: init.height,
            frames: 0,
            masked: self.cam.masked(),
            masks: self.cam.masks.len() as u32,
            mode: self.cam.mode,
            pre_secs: self.cam.pre_secs,
            post_secs: self.cam.post_secs,
        };
        write_json(&open_json, &meta)?;
        let file = File::create(&part).map_err(|e| RecordError::io(&part, e))?;
        let mut o = Open {
            meta,
            base_ticks: f.decode_time,
            end_ticks: f.decode_time,
            last_decode: f.decode_time,
            file: BufWriter::with_capacity(256 << 10, file),
            hasher: Sha256::new(),
            part,
            open_json,
        };
        let bytes = init.bytes.clone();
        write(&mut o, &bytes)?;
        self.open = Some(o);
        Ok(())
    }

    fn append(&mut self, f: &Fragment) -> Result<(), RecordError> {
        let Some(o) = self.open.as_mut() else { return Ok(()) };
        let bytes = f.rebased(o.base_ticks)?;
        write(o, &bytes)?;
        o.last_decode = f.decode_time;
        o.end_ticks = o.end_ticks.max(f.decode_time + f.duration);
        o.meta.frames += u64::from(f.samples);
        Ok(())
    }

    /// Closes the open segment: flushed, synced, renamed, its sidecar written.
    pub fn close(&mut self) -> Result<Option<SegmentMeta>, RecordError> {
        let Some(mut o) = self.open.take() else { return Ok(None) };
        let timescale = self.init.as_ref().map_or(1, |i| u64::from(i.timescale.max(1)));
        o.file.flush().map_err(|e| RecordError::io(&o.part, e))?;
        o.file.get_ref().sync_all().map_err(|e| RecordError::io(&o.part, e))?;
        let ticks = o.end_ticks - o.base_ticks;
        o.meta.duration_ms = ticks * 1000 / timescale;
        o.meta.end = o.meta.start + chrono::Duration::milliseconds(o.meta.duration_ms as i64);
        o.meta.sha256 = o.hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let final_path = self.dir.join(o.meta.file_name());
        std::fs::rename(&o.part, &final_path).map_err(|e| RecordError::io(&final_path, e))?;
        write_json(&self.dir.join(format!("{}.json", o.meta.id)), &o.meta)?;
        let _ = std::fs::remove_file(&o.open_json);
        self.stats.segments += 1;
        Ok(Some(o.meta))
    }
}

fn write(o: &mut Open, bytes: &[u8]) -> Result<(), RecordError> {
    o.file.write_all(bytes).map_err(|e| RecordError::io(&o.part, e))?;
    o.hasher.update(bytes);
    o.meta.bytes += bytes.len() as u64;
    Ok(())
}
