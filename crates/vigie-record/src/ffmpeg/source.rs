//! The supervised FFmpeg child of one camera (`vigie-ffmpeg`, as `vigie video` and `vigie
//! audio` run theirs): a stall watchdog, respawn with exponential back-off for live streams,
//! the last error line kept for the health report. Its stdout is cut into the init and fragments, each fragment
//! dated on the wall clock from its decode time (re-anchored when a live camera's clock
//! drifts from ours by more than two seconds).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use chrono::{DateTime, Utc};
use vigie_ffmpeg::log::is_error;
use vigie_ffmpeg::{Backoff, Supervised};
use vigie_video::stages::input::Clock;

use super::args::{Encoder, Transcode, output_size, record_args};
use super::{encoder, probe};
use crate::config::RecordCamera;
use crate::fmp4::{Chunk, Fragment, Init, Splitter};
use crate::mask::BurnPlan;

/// Guard ring of the burn, in 16-pixel blocks (see [`crate::mask::burn`]).
pub const GUARD_BLOCKS: u32 = 1;

/// What a camera's source reports.
#[derive(Debug)]
pub enum SourceEvent {
    /// A connection is up and recording as described.
    Connected {
        masked: bool,
        width: u32,
        height: u32,
        encoder: &'static str,
        burned_share: f64,
    },
    Init(Init),
    /// A fragment, with the wall-clock time of its first frame.
    Fragment {
        fragment: Fragment,
        time: DateTime<Utc>,
    },
    /// The connection dropped; a live source will be tried again.
    Offline {
        reason: String,
    },
    /// The source ended for good (a file's end, or stopped).
    End {
        reason: String,
    },
}

/// Counters, readable while it runs.
#[derive(Debug, Default)]
pub struct SourceStats {
    pub connections: AtomicU64,
    pub failures: AtomicU64,
    pub stalls: AtomicU64,
    pub fragments: AtomicU64,
    pub bytes: AtomicU64,
    /// Streams FFmpeg wrote that the splitter could not read (the connection was restarted).
    pub malformed: AtomicU64,
    pub decoder_errors: AtomicU64,
}

/// One camera's supervised FFmpeg.
pub struct RecordSource {
    cam: RecordCamera,
    ffmpeg: PathBuf,
    ffprobe: PathBuf,
    clock: Arc<dyn Clock>,
    pub stats: Arc<SourceStats>,
    /// Give up after this many failed connections in a row (`None`: live sources never do).
    pub max_attempts: Option<u32>,
    /// The source's size, probed once: later connections scale to it (a camera changing
    /// resolution keeps its masks in place), and a camera serving one client at a time
    /// is not asked twice.
    probed: std::sync::Mutex<Option<probe::Probed>>,
}

/// Maps decode times to the wall clock for one connection.
struct TimeBase {
    wall: DateTime<Utc>,
    ticks: u64,
}

impl RecordSource {
    pub fn new(cam: RecordCamera, ffmpeg: PathBuf, ffprobe: PathBuf, clock: Arc<dyn Clock>) -> RecordSource {
        RecordSource {
            cam,
            ffmpeg,
            ffprobe,
            clock,
            stats: Arc::default(),
            max_attempts: None,
            probed: Default::default(),
        }
    }

    /// Runs until the source ends or `stop` is set.
    pub fn run(self, tx: SyncSender<SourceEvent>, stop: Arc<AtomicBool>) {
        let mut attempt = 0u32;
        loop {
            if stop.load(Ordering::Relaxed) {
                let _ = tx.send(SourceEvent::End { reason: "stopped".into() });
                return;
            }
            let outcome = self.connect_once(&tx, &stop);
            let live = self.cam.source.live;
            match outcome {
                Ok(reason) if !live => {
                    let _ = tx.send(SourceEvent::End { reason });
                    return;
                }
                Ok(reason) => {
                    attempt = 1;
                    let _ = tx.send(SourceEvent::Offline { reason });
                }
                Err(reason) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                    let exhausted = self.max_attempts.map_or(!live, |m| attempt >= m);
                    if exhausted {
                        let _ = tx.send(SourceEvent::End { reason });
                        return;
                    }
                    let _ = tx.send(SourceEvent::Offline { reason });
                }
            }
            let s = &self.cam.source;
            Backoff { min_secs: s.reconnect_min_secs, max_secs: s.reconnect_max_secs }.wait(attempt, &stop);
        }
    }

    fn transcode(&self) -> Result<Transcode, String> {
        if !self.cam.masked() {
            return Ok(Transcode::Copy);
        }
        let cached = self.probed.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let p = match cached {
            Some(p) => p,
            None => {
                let timeout = Duration::from_secs_f64(self.cam.source.stall_timeout_secs.max(1.0));
                let p = probe::probe(&self.cam, &self.ffprobe, timeout).map_err(|e| e.to_string())?;
                *self.probed.lock().unwrap_or_else(|p| p.into_inner()) = Some(p.clone());
                p
            }
        };
        let (width, height) = output_size(p.width, p.height, self.cam.encoding.max_width_px);
        let plan = BurnPlan::new(&self.cam.masks, width, height, GUARD_BLOCKS);
        let encoder = Encoder::from_choice(self.cam.encoding.encoder).unwrap_or_else(|| encoder::auto(&self.ffmpeg));
        Ok(Transcode::Masked { width, height, plan, encoder })
    }

    /// One FFmpeg process. `Ok` when it sent fragments (then ended), `Err` when it never did.
    fn connect_once(&self, tx: &SyncSender<SourceEvent>, stop: &Arc<AtomicBool>) -> Result<String, String> {
        let cam = self.cam.id.to_string();
        let transcode = self.transcode().map_err(|e| format!("camera {cam}: {e}"))?;
        let args = record_args(&self.cam, &transcode);
        // Only errors count: an encoder's warnings are not the camera's stream being corrupt.
        let reader = |line: &str| is_error(line) && (line.contains("decod") || line.contains("corrupt"));
        let timeout = Duration::from_secs_f64(self.cam.source.stall_timeout_secs.max(0.1));
        let mut child = Supervised::spawn(&self.ffmpeg, &args, timeout, stop, reader)
            .map_err(|e| format!("camera {cam}: cannot start {}: {e}", self.ffmpeg.display()))?;
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        if let Transcode::Masked { width, height, plan, encoder } = &transcode {
            let _ = tx.send(SourceEvent::Connected {
                masked: true,
                width: *width,
                height: *height,
                encoder: encoder.name(),
                burned_share: plan.burned_share(),
            });
        } else {
            let _ = tx.send(SourceEvent::Connected {
                masked: false,
                width: 0,
                height: 0,
                encoder: "copy",
                burned_share: 0.0,
            });
        }
        let mut splitter = Splitter::new();
        let mut base: Option<TimeBase> = None;
        let mut timescale = 1u32;
        let mut fragments = 0u64;
        let mut malformed: Option<String> = None;
        let mut buf = vec![0u8; 64 << 10];
        'read: loop {
            let n = match child.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            self.stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
            let chunks = match splitter.push(&buf[..n]) {
                Ok(c) => c,
                Err(e) => {
                    self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                    malformed = Some(e.to_string());
                    break;
                }
            };
            for c in chunks {
                let sent = match c {
                    Chunk::Init(init) => {
                        timescale = init.timescale.max(1);
                        base = None;
                        tx.send(SourceEvent::Init(init)).is_ok()
                    }
                    Chunk::Fragment(f) => {
                        let now = self.clock.now();
                        let time = self.wall_time(&mut base, &f, timescale, now);
                        fragments += 1;
                        self.stats.fragments.fetch_add(1, Ordering::Relaxed);
                        tx.send(SourceEvent::Fragment { fragment: f, time }).is_ok()
                    }
                };
                if !sent {
                    break 'read;
                }
            }
        }
        let exit = child.finish();
        self.stats.decoder_errors.fetch_add(exit.decoder_errors, Ordering::Relaxed);
        let trouble =
            exit.trouble(&self.cam.source.url, self.cam.source.stall_timeout_secs, stop.load(Ordering::Relaxed));
        if exit.stalled {
            self.stats.stalls.fetch_add(1, Ordering::Relaxed);
        }
        let reason = match (malformed, trouble) {
            (Some(m), _) => format!("ffmpeg wrote a stream that cannot be recorded: {m}"),
            (None, Some(t)) => t,
            (None, None) => "end of stream".into(),
        };
        if fragments > 0 { Ok(reason) } else { Err(reason) }
    }

    fn wall_time(
        &self,
        base: &mut Option<TimeBase>,
        f: &Fragment,
        timescale: u32,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let b = base.get_or_insert(TimeBase { wall: now, ticks: f.decode_time });
        let offset = |b: &TimeBase| {
            let d = f.decode_time as i128 - b.ticks as i128;
            b.wall + chrono::Duration::microseconds((d * 1_000_000 / i128::from(timescale)) as i64)
        };
        let t = offset(b);
        // A live camera's clock drifts from ours: follow ours when it strays too far.
        if self.cam.source.live && (t - now).num_milliseconds().abs() > 2_000 {
            *b = TimeBase { wall: now, ticks: f.decode_time };
            return now;
        }
        t
    }
}
