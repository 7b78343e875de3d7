//! Video clips for an export: for each camera of the incident, the recorded segments from
//! [`MARGIN_SECS`] before its first detection to as long after its last, cut and re-encoded
//! by FFmpeg with the export id burned in (the same band and lettering as the images). The
//! segments already carry their privacy masks (burned in at the recorder), so the clip does
//! too. A camera whose clip cannot be made is listed as missing, with the reason; the rest
//! of the export goes on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::font;
use crate::store::SegmentRecord;

/// Seconds of recording kept before the first and after the last detection of a camera.
pub const MARGIN_SECS: i64 = 30;
/// At most this many segments per camera (10-s segments: over 10 minutes).
pub const MAX_SEGMENTS: u32 = 64;
const FFMPEG_TIMEOUT: Duration = Duration::from_secs(300);

/// One camera's clip.
pub struct Clip {
    pub camera: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub bytes: Vec<u8>,
    /// The segments it was cut from, in order: (id, SHA-256).
    pub segments: Vec<(String, String)>,
}

/// Where the clips come from.
#[derive(Clone)]
pub struct ClipSource {
    pub archive: vigie_record::archive::Archive,
    pub ffmpeg: PathBuf,
}

/// The time span of each camera's detections, widened by the margin.
pub fn spans(detail: &crate::store::IncidentDetail) -> BTreeMap<String, (DateTime<Utc>, DateTime<Utc>)> {
    let margin = chrono::Duration::seconds(MARGIN_SECS);
    let mut out: BTreeMap<String, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    for d in &detail.detections {
        let t = d.detection.time;
        let e = out.entry(d.detection.sensor.to_string()).or_insert((t, t));
        e.0 = e.0.min(t);
        e.1 = e.1.max(t);
    }
    out.into_iter().map(|(cam, (a, b))| (cam, (a - margin, b + margin))).collect()
}

/// An RGBA picture of `width`×`height`, transparent but for the export id's band.
fn overlay(width: usize, height: usize, text: &str) -> Vec<u8> {
    let mut rgba = vec![0u8; width * height * 4];
    let scale = (width / 420).clamp(1, 6);
    let band = 11 * scale;
    let top = height.saturating_sub(band);
    for px in rgba[top * width * 4..].chunks_exact_mut(4) {
        px[3] = 217; // black at 85 %
    }
    font::render(text, scale, |x, y| {
        let (x, y) = (2 * scale + x, top + 2 * scale + y);
        if x < width && y < height {
            rgba[(y * width + x) * 4..(y * width + x) * 4 + 4].copy_from_slice(&[255, 255, 255, 255]);
        }
    });
    rgba
}

fn secs(d: chrono::Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

/// Cuts one camera's clip from its segments (in time order, all of one size).
pub fn cut(
    src: &ClipSource,
    segments: &[SegmentRecord],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    mark: &str,
    work: &Path,
) -> Result<Clip, String> {
    let first = segments.first().ok_or("no recording")?;
    let (w, h) = (first.width as usize, first.height as usize);
    if w == 0
        || h == 0
        || w > 7680
        || h > 4320
        || segments.iter().any(|s| (s.width, s.height) != (first.width, first.height))
    {
        return Err("the segments' picture size is unknown or changes".into());
    }
    std::fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    let mut list = String::new();
    for s in segments {
        let path = src.archive.path(&s.path).ok_or_else(|| format!("segment {}: not a segment path", s.id))?;
        if !path.is_file() {
            return Err(format!("segment {} is no longer on disk", s.id));
        }
        list.push_str(&format!("file '{}'\n", path.display().to_string().replace('\'', "'\\''")));
    }
    let list_path = work.join("segments.txt");
    std::fs::write(&list_path, list).map_err(|e| e.to_string())?;
    let mark_path = work.join("mark.rgba");
    std::fs::write(&mark_path, overlay(w, h, mark)).map_err(|e| e.to_string())?;
    let out = work.join("clip.mp4");
    let offset = secs(from - first.start).max(0.0);
    let length = secs(to - from.max(first.start)).max(0.1);
    let mut child = Command::new(&src.ffmpeg)
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i"])
        .arg(&list_path)
        .args(["-f", "rawvideo", "-pix_fmt", "rgba", "-s", &format!("{w}x{h}"), "-i"])
        .arg(&mark_path)
        .args(["-filter_complex", "[0:v][1:v]overlay=0:0:eof_action=repeat,format=yuv420p[v]", "-map", "[v]"])
        .args(["-ss", &format!("{offset:.3}"), "-t", &format!("{length:.3}")])
        .args(["-an", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-movflags", "+faststart"])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", src.ffmpeg.display()))?;
    let Some(status) = vigie_ffmpeg::wait_timeout(&mut child, FFMPEG_TIMEOUT).map_err(|e| e.to_string())? else {
        return Err(format!("FFmpeg took more than {} s", FFMPEG_TIMEOUT.as_secs()));
    };
    if !status.success() {
        let mut log = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut log);
        }
        let last = log.lines().last().unwrap_or("no message").to_owned();
        return Err(format!("FFmpeg failed: {last}"));
    }
    let bytes = std::fs::read(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let _ = std::fs::remove_dir_all(work);
    Ok(Clip {
        camera: first.camera.clone(),
        from,
        to,
        bytes,
        segments: segments.iter().map(|s| (s.id.clone(), s.sha256.clone())).collect(),
    })
}

/// SHA-256 of the clip's sources: the segments' hashes, in order, one per line.
pub fn sources_sha256(segments: &[(String, String)]) -> String {
    let mut h = Sha256::new();
    for (_, sha) in segments {
        h.update(sha.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
