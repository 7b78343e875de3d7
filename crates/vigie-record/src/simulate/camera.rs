//! A live test camera on localhost: frames drawn here, each carrying the wall-clock time
//! of its capture as a bar code ([`super::timecode`]), encoded to H.264 by FFmpeg and
//! served as MPEG-TS over HTTP (`ffmpeg -listen 1`), as many IP cameras serve their
//! stream. What a viewer decodes, read back, gives glass-to-glass latency.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::RecordError;
use crate::simulate::timecode;

/// A running test camera.
pub struct LiveCamera {
    /// `http://127.0.0.1:PORT/camera.ts`
    pub url: String,
    /// Frames drawn and sent so far.
    pub frames: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    /// The FFmpeg server of the moment, killed on drop (it may be blocked waiting for a viewer).
    child: Arc<Mutex<Option<Child>>>,
    handle: Option<JoinHandle<()>>,
}

/// What the camera draws.
#[derive(Debug, Clone, Copy)]
pub struct CameraSpec {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Keyframe every this many frames.
    pub gop: u32,
}

fn free_port() -> Result<u16, RecordError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| RecordError::io("127.0.0.1:0", e))?;
    l.local_addr().map(|a| a.port()).map_err(|e| RecordError::io("127.0.0.1:0", e))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Draws frame `n`: a pavement-like gradient, a bright bar crossing it, the time code.
pub fn draw_frame(buf: &mut [u8], spec: &CameraSpec, n: u64, ms: u64) {
    let (w, h) = (spec.width as usize, spec.height as usize);
    let (y, uv) = buf.split_at_mut(w * h);
    let bar = (n as usize * 8) % w;
    for (row, line) in y.chunks_exact_mut(w).enumerate() {
        for (col, p) in line.iter_mut().enumerate() {
            let base = 60 + ((row * 3 + col) / 8 % 90) as u8;
            *p = if col.abs_diff(bar) < 24 { 220 } else { base };
        }
    }
    uv.fill(128);
    timecode::draw(y, spec.width, spec.height, ms);
}

impl LiveCamera {
    pub fn start(spec: CameraSpec) -> Result<LiveCamera, RecordError> {
        let port = free_port()?;
        let url = format!("http://127.0.0.1:{port}/camera.ts");
        let stop = Arc::new(AtomicBool::new(false));
        let frames = Arc::new(AtomicU64::new(0));
        let child: Arc<Mutex<Option<Child>>> = Arc::default();
        let (s, f, u, c) = (stop.clone(), frames.clone(), url.clone(), child.clone());
        let handle = std::thread::Builder::new()
            .name("vigie-testcam".into())
            .spawn(move || serve(spec, &u, &s, &f, &c))
            .map_err(|e| RecordError::io("a test camera thread", e))?;
        Ok(LiveCamera { url, frames, stop, child, handle: Some(handle) })
    }
}

impl Drop for LiveCamera {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(c) = self.child.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            let _ = c.kill();
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn spawn(spec: &CameraSpec, url: &str) -> std::io::Result<Child> {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-f", "rawvideo", "-pix_fmt", "yuv420p"])
        .args(["-s", &format!("{}x{}", spec.width, spec.height), "-r", &spec.fps.to_string(), "-i", "pipe:0"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", &spec.gop.to_string()])
        .args(["-pix_fmt", "yuv420p", "-f", "mpegts", "-flush_packets", "1", "-listen", "1", url])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// One FFmpeg server per viewer connection, respawned when the viewer leaves.
fn serve(spec: CameraSpec, url: &str, stop: &AtomicBool, frames: &AtomicU64, current: &Mutex<Option<Child>>) {
    let mut buf = vec![0u8; (spec.width * spec.height * 3 / 2) as usize];
    let period = Duration::from_secs_f64(1.0 / f64::from(spec.fps.max(1)));
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut child) = spawn(&spec, url) else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        let Some(mut stdin) = child.stdin.take() else { break };
        *current.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let mut next = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            // Stamped as it is drawn: the capture instant.
            draw_frame(&mut buf, &spec, n, now_ms());
            if stdin.write_all(&buf).is_err() {
                break;
            }
            n += 1;
            frames.fetch_add(1, Ordering::Relaxed);
            next += period;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            } else {
                next = now;
            }
        }
        drop(stdin);
        if let Some(mut c) = current.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
    if let Some(mut c) = current.lock().unwrap_or_else(|p| p.into_inner()).take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}
