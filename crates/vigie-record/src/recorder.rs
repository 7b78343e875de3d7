//! One camera's recording: its supervised FFmpeg source feeds the segmenter (files in the
//! spool) and, when there is one, the live sink (the upstream to the hub). The same
//! fragments go to both: one FFmpeg process, one encode, per camera.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;

use chrono::{DateTime, Utc};
use vigie_video::stages::input::{Clock, SystemClock};

use crate::config::RecordCamera;
use crate::error::RecordError;
use crate::ffmpeg::{RecordSource, SourceEvent, SourceStats};
use crate::fmp4::{Fragment, Init};
use crate::segment::{SegmentMeta, Segmenter, SegmenterStats};

/// Where the live fragments go (the hub upstream; a test's collector).
pub trait LiveSink: Send {
    fn init(&mut self, init: &Init);
    fn fragment(&mut self, fragment: &Fragment, time: DateTime<Utc>);
}

/// What every camera's recording needs.
#[derive(Clone)]
pub struct RecorderOptions {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    pub clock: Arc<dyn Clock>,
    pub spool: PathBuf,
    /// Give up on a source after this many failed connections in a row (`None`: files
    /// give up at once, live streams never).
    pub max_attempts: Option<u32>,
}

impl RecorderOptions {
    pub fn new(spool: impl Into<PathBuf>) -> RecorderOptions {
        RecorderOptions {
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            clock: Arc::new(SystemClock),
            spool: spool.into(),
            max_attempts: None,
        }
    }
}

/// How a camera's recording went.
#[derive(Debug, Clone, Default)]
pub struct CameraReport {
    pub camera: String,
    pub segments: Vec<SegmentMeta>,
    pub segmenter: SegmenterStats,
    pub connections: u64,
    pub failures: u64,
    pub stalls: u64,
    pub malformed_streams: u64,
    pub fragments: u64,
    /// How the last connection recorded: `copy`, or the encoder of a masked camera.
    pub encoder: String,
    pub burned_share: f64,
    /// Why it ended.
    pub end: String,
    /// Outages of a live source, with their reason (the last few).
    pub outages: Vec<String>,
}

/// Records one camera until its source ends or `stop` is set; `on_segment` is told of
/// each finished segment (the uploader's cue).
pub fn record_camera(
    cam: RecordCamera,
    opts: &RecorderOptions,
    mut live: Option<Box<dyn LiveSink>>,
    stop: Arc<AtomicBool>,
    mut on_segment: impl FnMut(&SegmentMeta),
) -> Result<CameraReport, RecordError> {
    let mut seg = Segmenter::new(cam.clone(), &opts.spool)?;
    let mut source = RecordSource::new(cam.clone(), opts.ffmpeg.clone(), opts.ffprobe.clone(), opts.clock.clone());
    source.max_attempts = opts.max_attempts;
    let stats: Arc<SourceStats> = source.stats.clone();
    let (tx, rx) = sync_channel::<SourceEvent>(512);
    let src_stop = stop.clone();
    let name = format!("vigie-rec-{}", cam.id);
    let handle = std::thread::Builder::new()
        .name(name.chars().take(15).collect())
        .spawn(move || source.run(tx, src_stop))
        .map_err(|e| RecordError::io("a recorder thread", e))?;
    let mut report = CameraReport { camera: cam.id.to_string(), ..CameraReport::default() };
    let mut failure: Option<RecordError> = None;
    for ev in rx {
        let closed = match ev {
            SourceEvent::Connected { encoder, burned_share, width, height, masked } => {
                tracing::info!(camera = %cam.id, encoder, masked, width, height, burned_share, "recording");
                report.encoder = encoder.to_owned();
                report.burned_share = burned_share;
                Ok(None)
            }
            SourceEvent::Init(init) => {
                if let Some(l) = live.as_mut() {
                    l.init(&init);
                }
                seg.on_init(init)
            }
            SourceEvent::Fragment { fragment, time } => {
                if let Some(l) = live.as_mut() {
                    l.fragment(&fragment, time);
                }
                seg.on_fragment(&fragment, time)
            }
            SourceEvent::Offline { reason } => {
                tracing::warn!(camera = %cam.id, %reason, "camera offline, recording resumes when it is back");
                if report.outages.len() >= 16 {
                    report.outages.remove(0);
                }
                report.outages.push(reason);
                seg.close()
            }
            SourceEvent::End { reason } => {
                report.end = reason;
                seg.close()
            }
        };
        match closed {
            Ok(Some(meta)) => {
                on_segment(&meta);
                report.segments.push(meta);
            }
            Ok(None) => {}
            Err(e) => {
                // A full or broken disk: stop this camera rather than record nothing silently.
                tracing::error!(camera = %cam.id, error = %e, "cannot write the recording");
                stop.store(true, Ordering::Relaxed);
                failure = Some(e);
            }
        }
    }
    let _ = handle.join();
    if let Ok(Some(meta)) = seg.close() {
        on_segment(&meta);
        report.segments.push(meta);
    }
    report.segmenter = seg.stats.clone();
    report.connections = stats.connections.load(Ordering::Relaxed);
    report.failures = stats.failures.load(Ordering::Relaxed);
    report.stalls = stats.stalls.load(Ordering::Relaxed);
    report.malformed_streams = stats.malformed.load(Ordering::Relaxed);
    report.fragments = stats.fragments.load(Ordering::Relaxed);
    match failure {
        Some(e) => Err(e),
        None => Ok(report),
    }
}
