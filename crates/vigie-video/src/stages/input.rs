//! Stage `input`: FFmpeg as a supervised child process piping raw frames (as Frigate does).
//!
//! `ffmpeg … -i URL -vf fps=F,scale=W:H -pix_fmt yuv420p -f rawvideo pipe:1`: FFmpeg decodes
//! (hardware flags pass straight through, before `-i`), drops to the detect rate and scales
//! to the detect size, so that only small frames cross the pipe; a resolution change of the
//! camera is absorbed by the scale filter. A corrupt stream or a decoder crash kills a child
//! process, not the analyser. The supervisor (the child's plumbing is `vigie-ffmpeg`'s,
//! shared with audio and recording):
//! - reads whole frames from stdout; a watchdog kills a child that sends nothing for
//!   `stall_timeout_secs` (a stream that stalls);
//! - reads stderr (`-loglevel level+info`), counting decoder errors (corrupt packets) and
//!   keeping the last error line for the health event;
//! - respawns live inputs with exponential back-off (`reconnect_min_secs` doubling up to
//!   `reconnect_max_secs`); a file ends at its end, and a file that cannot be decoded is
//!   reported once (it would fail the same way again).
//!
//! Health goes out as [`HealthEvent`]s: `online` at the first frame of each connection,
//! `offline` once per outage (the hub turns it into `system.sensor_offline`), `corrupt`
//! (rate-limited) while the decoder reports errors.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use vigie_ffmpeg::log::is_problem;
pub use vigie_ffmpeg::log::redact;
use vigie_ffmpeg::{Backoff, Supervised};

use crate::error::VideoError;
use crate::frame::Frame;
use crate::stages::health::{HealthEvent, HealthStatus};

/// Where frame times come from: the wall clock for live inputs.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// What the input needs to know (checked from the camera's config).
#[derive(Debug, Clone, PartialEq)]
pub struct InputConfig {
    pub camera: String,
    pub url: String,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// A live stream (RTSP, HTTP): reconnect with back-off, wall-clock times, drop late frames.
    pub live: bool,
    /// Read a file at its own speed (`-re`), as a camera would send it.
    pub realtime: bool,
    pub hwaccel_args: Vec<String>,
    pub input_args: Vec<String>,
    pub stall_timeout_secs: f64,
    pub reconnect_min_secs: f64,
    pub reconnect_max_secs: f64,
    /// Give up after this many failed connections in a row (`None`: never, for live inputs).
    pub max_attempts: Option<u32>,
    /// Time of the first frame of a file (default: when it is opened).
    pub start_time: Option<DateTime<Utc>>,
    pub ffmpeg: PathBuf,
    /// FFmpeg decoder threads (1: one core per camera, as the bench measures).
    pub threads: u32,
}

impl InputConfig {
    pub fn frame_bytes(&self) -> usize {
        Frame::byte_len(self.width, self.height)
    }
}

/// The FFmpeg command line for an input.
pub fn ffmpeg_args(c: &InputConfig) -> Vec<String> {
    let mut a: Vec<String> =
        ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+info"].map(String::from).to_vec();
    a.extend(["-threads".into(), c.threads.to_string()]);
    a.extend(c.hwaccel_args.iter().cloned());
    if c.url.starts_with("rtsp://") || c.url.starts_with("rtsps://") {
        // TCP survives lossy links; the socket timeout (µs) ends a dead connection.
        a.extend(["-rtsp_transport".into(), "tcp".into()]);
        a.extend(["-timeout".into(), ((c.stall_timeout_secs * 1e6) as u64).to_string()]);
    } else if c.url.starts_with("http://") || c.url.starts_with("https://") {
        a.extend(["-rw_timeout".into(), ((c.stall_timeout_secs * 1e6) as u64).to_string()]);
    }
    if c.realtime && !c.live {
        a.push("-re".into());
    }
    a.extend(c.input_args.iter().cloned());
    a.extend(["-i".into(), c.url.clone()]);
    a.extend(["-an".into(), "-sn".into(), "-dn".into()]);
    a.extend([
        "-vf".into(),
        format!("fps={},scale={}:{}:flags=area", c.fps, c.width, c.height),
        "-pix_fmt".into(),
        "yuv420p".into(),
        "-f".into(),
        "rawvideo".into(),
        "pipe:1".into(),
    ]);
    a
}

/// What the source sends to the analyser.
#[derive(Debug)]
pub enum SourceEvent {
    Frame(Frame),
    Health(HealthEvent),
    /// The input ended for good (a file's end, or attempts exhausted).
    End {
        reason: String,
    },
}

/// Counters of one input, readable while it runs.
#[derive(Debug, Default)]
pub struct InputStats {
    pub frames: AtomicU64,
    pub connections: AtomicU64,
    pub failures: AtomicU64,
    pub decoder_errors: AtomicU64,
    pub stalls: AtomicU64,
    pub dropped_late: AtomicU64,
}

/// Keywords of decoder complaints about the bitstream (not configuration errors).
fn is_decoder_error(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    [
        "error while decoding",
        "corrupt",
        "concealing",
        "invalid nal",
        "non-existing pps",
        "decode_slice_header",
        "missing picture",
        "no frame!",
        "top block unavailable",
        "left block unavailable",
        "cabac",
        "mb_type",
    ]
    .iter()
    .any(|k| l.contains(k))
}

/// `… Video: h264 …, 1280x720 [SAR …` → (1280, 720), from the input's description.
fn parse_video_size(line: &str) -> Option<(u32, u32)> {
    if !line.contains("Video:") {
        return None;
    }
    line.split([',', ' ', '['])
        .filter_map(|tok| {
            let (w, h) = tok.trim().split_once('x')?;
            Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?))
        })
        .find(|&(w, h)| w >= 16 && h >= 16)
}

/// Runs one input until it ends or `stop` is set, sending frames and health to `tx`.
pub struct FfmpegSource {
    cfg: InputConfig,
    clock: Arc<dyn Clock>,
    pub stats: Arc<InputStats>,
}

impl FfmpegSource {
    pub fn new(cfg: InputConfig, clock: Arc<dyn Clock>) -> FfmpegSource {
        FfmpegSource { cfg, clock, stats: Arc::new(InputStats::default()) }
    }

    fn health(&self, status: HealthStatus, detail: String) -> SourceEvent {
        SourceEvent::Health(HealthEvent { sensor: self.cfg.camera.clone(), time: self.clock.now(), status, detail })
    }

    pub fn run(self, tx: SyncSender<SourceEvent>, stop: Arc<AtomicBool>) {
        let mut seq = 0u64;
        let mut attempt = 0u32;
        // One `offline` per outage, however many attempts it takes.
        let mut offline_reported = false;
        loop {
            if stop.load(Ordering::Relaxed) {
                let _ = tx.send(SourceEvent::End { reason: "stopped".into() });
                return;
            }
            match self.connect_once(&tx, &stop, &mut seq) {
                Ok(c) if !self.cfg.live => {
                    let _ = tx.send(SourceEvent::End { reason: c.reason });
                    return;
                }
                Ok(c) => {
                    // A live stream that ran then ended: report it, reconnect soon.
                    attempt = 1;
                    let _ = tx.send(self.health(HealthStatus::Offline, c.reason));
                    offline_reported = true;
                }
                Err(c) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                    if !offline_reported {
                        offline_reported = true;
                        let _ = tx.send(self.health(HealthStatus::Offline, c.reason.clone()));
                    }
                    let exhausted = match self.cfg.max_attempts {
                        Some(m) => attempt >= m,
                        None => !self.cfg.live,
                    };
                    if exhausted {
                        let _ = tx.send(SourceEvent::End { reason: c.reason });
                        return;
                    }
                }
            }
            if stop.load(Ordering::Relaxed) {
                continue;
            }
            Backoff { min_secs: self.cfg.reconnect_min_secs, max_secs: self.cfg.reconnect_max_secs }
                .wait(attempt, &stop);
        }
    }

    /// One FFmpeg process: spawn, read frames until it exits or stalls.
    fn connect_once(
        &self,
        tx: &SyncSender<SourceEvent>,
        stop: &Arc<AtomicBool>,
        seq: &mut u64,
    ) -> Result<Connection, Connection> {
        let args = ffmpeg_args(&self.cfg);
        // The log describes the source (its size, for the health event) and its decoder errors.
        let source_size: Arc<Mutex<Option<(u32, u32)>>> = Arc::default();
        let reader = {
            let source_size = Arc::clone(&source_size);
            move |line: &str| {
                if line.contains("Stream #0")
                    && let Some(sz) = parse_video_size(line)
                {
                    source_size.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(sz);
                }
                is_problem(line) && is_decoder_error(line)
            }
        };
        let timeout = Duration::from_secs_f64(self.cfg.stall_timeout_secs.max(0.1));
        let mut child = match Supervised::spawn(&self.cfg.ffmpeg, &args, timeout, stop, reader) {
            Ok(c) => c,
            Err(e) => {
                let err = VideoError::Spawn {
                    camera: self.cfg.camera.clone(),
                    program: self.cfg.ffmpeg.display().to_string(),
                    source: e,
                };
                return Err(Connection { reason: err.to_string() });
            }
        };
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        let n = self.cfg.frame_bytes();
        let opened = self.clock.now();
        let start = self.cfg.start_time.unwrap_or(opened);
        let mut frames = 0u64;
        let mut reported_errors = 0u64;
        let mut last_corrupt_report: Option<Instant> = None;
        let mut buf = vec![0u8; n];
        // Whole frames until the end of the stream, a read error or the watchdog's kill.
        while let Ok(got) = child.read_full(&mut buf)
            && got == n
        {
            if frames == 0 {
                let size = *source_size.lock().unwrap_or_else(|p| p.into_inner());
                let detail = match size {
                    Some((w, h)) => format!(
                        "receiving {w}x{h}, analysing {}x{} at {} fps",
                        self.cfg.width, self.cfg.height, self.cfg.fps
                    ),
                    None => {
                        format!("receiving, analysing {}x{} at {} fps", self.cfg.width, self.cfg.height, self.cfg.fps)
                    }
                };
                let _ = tx.send(self.health(HealthStatus::Online, detail));
            }
            let time = if self.cfg.live {
                self.clock.now()
            } else {
                start + chrono::Duration::microseconds((*seq as f64 * 1e6 / self.cfg.fps) as i64)
            };
            let frame = Frame { seq: *seq, time, width: self.cfg.width, height: self.cfg.height, data: buf.clone() };
            *seq += 1;
            frames += 1;
            self.stats.frames.fetch_add(1, Ordering::Relaxed);
            let sent = if self.cfg.live {
                // A live camera does not wait for a slow analyser: late frames are dropped.
                match tx.try_send(SourceEvent::Frame(frame)) {
                    Ok(()) => true,
                    Err(std::sync::mpsc::TrySendError::Full(_)) => {
                        self.stats.dropped_late.fetch_add(1, Ordering::Relaxed);
                        true
                    }
                    Err(std::sync::mpsc::TrySendError::Disconnected(_)) => false,
                }
            } else {
                tx.send(SourceEvent::Frame(frame)).is_ok()
            };
            if !sent {
                break;
            }
            let errors = child.decoder_errors();
            if errors > reported_errors && last_corrupt_report.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                let _ = tx.send(self.health(
                    HealthStatus::Corrupt,
                    format!("{} decoder errors (corrupt packets), analysis goes on", errors - reported_errors),
                ));
                self.stats.decoder_errors.fetch_add(errors - reported_errors, Ordering::Relaxed);
                reported_errors = errors;
                last_corrupt_report = Some(Instant::now());
            }
        }
        let exit = child.finish();
        if exit.decoder_errors > reported_errors {
            let _ = tx.send(self.health(
                HealthStatus::Corrupt,
                format!("{} decoder errors (corrupt packets), analysis goes on", exit.decoder_errors - reported_errors),
            ));
            self.stats.decoder_errors.fetch_add(exit.decoder_errors - reported_errors, Ordering::Relaxed);
        }
        let partial = exit.bytes % n as u64;
        let reason = if let Some(trouble) =
            exit.trouble(&self.cfg.url, self.cfg.stall_timeout_secs, stop.load(Ordering::Relaxed))
        {
            if exit.stalled {
                self.stats.stalls.fetch_add(1, Ordering::Relaxed);
            }
            trouble
        } else if partial != 0 {
            format!("stream ended inside a frame ({partial} bytes left over)")
        } else {
            "end of stream".into()
        };
        let c = Connection { reason };
        if frames > 0 { Ok(c) } else { Err(c) }
    }
}

struct Connection {
    reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> InputConfig {
        InputConfig {
            camera: "cam-1".into(),
            url: url.into(),
            width: 320,
            height: 180,
            fps: 5.0,
            live: true,
            realtime: false,
            hwaccel_args: vec!["-hwaccel".into(), "cuda".into()],
            input_args: vec![],
            stall_timeout_secs: 5.0,
            reconnect_min_secs: 1.0,
            reconnect_max_secs: 30.0,
            max_attempts: None,
            start_time: None,
            ffmpeg: "ffmpeg".into(),
            threads: 1,
        }
    }

    #[test]
    fn command_line_passes_hwaccel_before_the_input_and_scales_in_ffmpeg() {
        let a = ffmpeg_args(&cfg("rtsp://u:p@10.0.0.2/stream1"));
        let i = a.iter().position(|x| x == "-i").unwrap();
        let hw = a.iter().position(|x| x == "-hwaccel").unwrap();
        assert!(hw < i);
        assert_eq!(a[i + 1], "rtsp://u:p@10.0.0.2/stream1");
        assert!(a.contains(&"tcp".to_string()));
        assert!(a.iter().any(|x| x == "fps=5,scale=320:180:flags=area"));
        assert_eq!(a.last().unwrap(), "pipe:1");
    }

    #[test]
    fn parses_sizes_and_decoder_errors() {
        let l = "[info]   Stream #0:0[0x100]: Video: h264 (Constrained Baseline) ([27][0][0][0] / 0x001B), yuv420p(progressive), 320x180 [SAR 1:1 DAR 16:9], 5 fps";
        assert_eq!(parse_video_size(l), Some((320, 180)));
        assert!(is_decoder_error("[h264 @ 0x1] [error] error while decoding MB 3 4, bytestream -7"));
    }
}
