//! Test media made with FFmpeg: a camera-like H.264 clip (moving test pattern with sensor
//! noise, at a camera's bit rate), and a variant with something bright and moving where a
//! privacy mask will be, to prove that nothing of it reaches a masked recording.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::RecordError;

/// A clip to synthesise.
#[derive(Debug, Clone)]
pub struct ClipSpec {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub secs: f64,
    /// Bit rate of the H.264 stream (a 1080p camera sends 4–8 Mbit/s).
    pub kbps: u32,
    /// Keyframe every this many frames.
    pub gop: u32,
    /// Sensor noise strength (0: none), as real cameras have: it makes encoding honest.
    pub noise: u32,
    /// Draw a moving, changing pattern inside this relative rectangle `[x0, y0, x1, y1]`
    /// (what a privacy mask must hide).
    pub secret: Option<[f64; 4]>,
}

impl ClipSpec {
    pub fn new(width: u32, height: u32, secs: f64) -> ClipSpec {
        ClipSpec { width, height, fps: 25, secs, kbps: 6000, gop: 50, noise: 8, secret: None }
    }
}

/// Writes the clip as an MP4 file (H.264 High, yuv420p, no audio).
pub fn synth_clip(path: &Path, spec: &ClipSpec) -> Result<(), RecordError> {
    let (w, h) = (spec.width, spec.height);
    let mut graph = format!("testsrc2=size={w}x{h}:rate={}", spec.fps);
    let mut inputs = vec!["-f".to_string(), "lavfi".into(), "-i".into(), graph.clone()];
    let mut filter = String::new();
    if spec.noise > 0 {
        filter.push_str(&format!("noise=alls={}:allf=t,", spec.noise));
    }
    filter.push_str("format=yuv420p");
    if let Some([x0, y0, x1, y1]) = spec.secret {
        // A second source, the "secret": a fast-changing colour pattern, overlaid in the
        // rectangle. A masked recording must show none of it.
        let (sw, sh) =
            ((((x1 - x0) * f64::from(w)) as u32).max(16) & !1, (((y1 - y0) * f64::from(h)) as u32).max(16) & !1);
        graph = format!("mandelbrot=size={sw}x{sh}:rate={}", spec.fps);
        inputs.extend(["-f".into(), "lavfi".into(), "-i".into(), graph]);
        filter = format!(
            "[0:v]{filter}[base];[1:v]format=yuv420p,hue=h=t*90[s];[base][s]overlay=x={}:y={}:shortest=1,format=yuv420p",
            (x0 * f64::from(w)) as u32,
            (y0 * f64::from(h)) as u32
        );
    }
    let mut c = Command::new("ffmpeg");
    c.args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]).args(&inputs);
    if spec.secret.is_some() {
        c.args(["-filter_complex", &filter]);
    } else {
        c.args(["-vf", &filter]);
    }
    let kbps = spec.kbps.to_string();
    c.args(["-t", &spec.secs.to_string(), "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high"])
        .args([
            "-b:v",
            &format!("{kbps}k"),
            "-maxrate",
            &format!("{kbps}k"),
            "-bufsize",
            &format!("{}k", spec.kbps * 2),
        ])
        .args(["-g", &spec.gop.to_string(), "-pix_fmt", "yuv420p", "-an"])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let out = c.output().map_err(|e| RecordError::Spawn {
        camera: "simulate".into(),
        program: "ffmpeg".into(),
        source: e,
    })?;
    if !out.status.success() {
        return Err(RecordError::Input {
            camera: "simulate".into(),
            detail: format!("ffmpeg could not make the clip: {}", String::from_utf8_lossy(&out.stderr).trim()),
        });
    }
    Ok(())
}

/// Decodes a video file to raw yuv420p frames at its own size (what a test inspects).
pub fn decode_yuv(path: &Path) -> Result<(u32, u32, Vec<Vec<u8>>), RecordError> {
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .map_err(|e| RecordError::Spawn { camera: "decode".into(), program: "ffprobe".into(), source: e })?;
    let text = String::from_utf8_lossy(&probe.stdout);
    let mut it = text.trim().split(',').map(|v| v.trim().parse::<u32>());
    let (Some(Ok(w)), Some(Ok(h))) = (it.next(), it.next()) else {
        return Err(RecordError::Input {
            camera: "decode".into(),
            detail: format!("{}: no video size", path.display()),
        });
    };
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
        .output()
        .map_err(|e| RecordError::Spawn { camera: "decode".into(), program: "ffmpeg".into(), source: e })?;
    if !out.status.success() {
        return Err(RecordError::Input {
            camera: "decode".into(),
            detail: format!("{}: {}", path.display(), String::from_utf8_lossy(&out.stderr).trim()),
        });
    }
    let n = (w * h * 3 / 2) as usize;
    Ok((w, h, out.stdout.chunks_exact(n).map(<[u8]>::to_vec).collect()))
}
