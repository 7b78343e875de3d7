//! What a source sends, asked of `ffprobe` before a masked recording starts: the burn
//! plan is drawn at the picture's size.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::config::RecordCamera;
use crate::error::RecordError;

/// The first video stream of a source.
#[derive(Debug, Clone, PartialEq)]
pub struct Probed {
    pub width: u32,
    pub height: u32,
    pub codec: String,
    /// Frames per second, when the source says.
    pub fps: Option<f64>,
}

#[derive(serde::Deserialize)]
struct Out {
    #[serde(default)]
    streams: Vec<Stream>,
}

#[derive(serde::Deserialize)]
struct Stream {
    width: Option<u32>,
    height: Option<u32>,
    codec_name: Option<String>,
    avg_frame_rate: Option<String>,
}

fn rate(s: &str) -> Option<f64> {
    let (n, d) = s.split_once('/')?;
    let (n, d) = (n.parse::<f64>().ok()?, d.parse::<f64>().ok()?);
    (d > 0.0 && n > 0.0).then_some(n / d)
}

/// Probes the camera's source, giving up after `timeout`.
pub fn probe(cam: &RecordCamera, ffprobe: &Path, timeout: Duration) -> Result<Probed, RecordError> {
    let input = super::args::input_args(cam, false);
    // -re, -stream_loop and such are for reading, not probing.
    let mut keep = Vec::new();
    let mut it = input.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-re" => {}
            "-stream_loop" => {
                it.next();
            }
            _ => keep.push(a.clone()),
        }
    }
    let mut child = Command::new(ffprobe)
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,codec_name,avg_frame_rate",
        ])
        // A live MPEG-TS stream is otherwise read for 5 s before it is described.
        .args(["-probesize", "1000000", "-analyzeduration", "1000000"])
        .args(["-of", "json"])
        .args(&keep)
        .arg(&cam.source.url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RecordError::Spawn {
            camera: cam.id.to_string(),
            program: ffprobe.display().to_string(),
            source: e,
        })?;
    let waited = vigie_ffmpeg::wait_timeout(&mut child, timeout).map_err(|e| RecordError::io(ffprobe, e))?;
    if waited.is_none() {
        return Err(RecordError::Input {
            camera: cam.id.to_string(),
            detail: format!("no answer from the source within {} s", timeout.as_secs_f64()),
        });
    }
    let out = child.wait_with_output().map_err(|e| RecordError::io(ffprobe, e))?;
    let err = String::from_utf8_lossy(&out.stderr);
    let parsed: Out = serde_json::from_slice(&out.stdout).map_err(|e| RecordError::Input {
        camera: cam.id.to_string(),
        detail: format!("cannot read the source: {} ({e})", err.lines().last().unwrap_or("").trim()),
    })?;
    let s = parsed.streams.into_iter().next().ok_or_else(|| RecordError::Input {
        camera: cam.id.to_string(),
        detail: format!("no video stream: {}", err.lines().last().unwrap_or("").trim()),
    })?;
    match (s.width, s.height) {
        (Some(w), Some(h)) if (16..=8192).contains(&w) && (16..=8192).contains(&h) => Ok(Probed {
            width: w,
            height: h,
            codec: s.codec_name.unwrap_or_default(),
            fps: s.avg_frame_rate.as_deref().and_then(rate),
        }),
        (w, h) => Err(RecordError::Input {
            camera: cam.id.to_string(),
            detail: format!("the video stream has no usable size ({w:?}x{h:?})"),
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn frame_rates_parse_or_are_unknown() {
        assert_eq!(super::rate("25/1"), Some(25.0));
        assert_eq!(super::rate("0/0"), None);
        assert_eq!(super::rate("x"), None);
    }
}
