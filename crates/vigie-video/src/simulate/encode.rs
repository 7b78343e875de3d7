//! Encodes a scene to a real H.264 file through FFmpeg (libx264), frames piped as RGB.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use super::scene::{SceneSpec, background, render};
use crate::error::VideoError;

/// x264 settings: `ultrafast`/crf 20 for test media (fast to make), `veryfast` at a camera's
/// bit rate for the throughput bench (what a 720p camera sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    Test,
    Camera,
}

pub fn encode(spec: &SceneSpec, path: &Path, quality: Quality) -> Result<(), VideoError> {
    let err = |d: String| VideoError::Input { camera: spec.name.clone(), detail: d };
    let size = format!("{}x{}", spec.width, spec.height);
    let gop = ((spec.fps * 2.0).round() as u32).max(1).to_string();
    let mut args: Vec<String> =
        ["-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s"]
            .map(String::from)
            .to_vec();
    args.extend([size, "-r".into(), spec.fps.to_string(), "-i".into(), "-".into(), "-c:v".into(), "libx264".into()]);
    match quality {
        Quality::Test => args.extend(["-preset", "ultrafast", "-crf", "20"].map(String::from)),
        Quality::Camera => {
            args.extend(["-preset", "veryfast", "-b:v", "1500k", "-maxrate", "2M", "-bufsize", "2M"].map(String::from))
        }
    }
    args.extend(["-g".into(), gop, "-pix_fmt".into(), "yuv420p".into(), path.display().to_string()]);
    let mut child = Command::new("ffmpeg")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| err(format!("cannot start ffmpeg to encode test media (is it installed?): {e}")))?;
    let bg = background(spec);
    {
        let Some(stdin) = child.stdin.as_mut() else { return Err(err("ffmpeg stdin unavailable".into())) };
        for k in 0..spec.frames() {
            stdin.write_all(&render(spec, &bg, k)).map_err(|e| err(format!("writing frame {k} to ffmpeg: {e}")))?;
        }
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().map_err(|e| err(e.to_string()))?;
    if !out.status.success() {
        return Err(err(format!("ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(())
}
