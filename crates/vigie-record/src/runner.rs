//! Runs every camera of a recording config at once: one recorder thread each (its own
//! FFmpeg child), one uploader for the spool when a hub is given, the live upstreams.
//! Segments a crash left open are finished first.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::RecordConfig;
use crate::error::RecordError;
use crate::live::{Upstream, UpstreamTarget};
use crate::recorder::{CameraReport, LiveSink, RecorderOptions, record_camera};
use crate::segment::spool;
use crate::upload::{self, UploadStats, UploadTarget};

/// How to run.
#[derive(Clone)]
pub struct RunOptions {
    pub recorder: RecorderOptions,
    /// Upload segments and publish live view to this hub; `None`: keep them in the spool.
    pub hub: Option<UploadTarget>,
    /// After a stop, keep trying to upload for this long.
    pub drain_secs: f64,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct RunReport {
    pub cameras: Vec<Result<CameraReport, String>>,
    pub recovered: usize,
    pub uploaded: u64,
    pub refused: u64,
    pub dropped: u64,
    pub left_in_spool: usize,
}

/// Records until every source ended (files) or `stop` is set (Ctrl-C).
pub fn run(config: &RecordConfig, opts: &RunOptions, stop: Arc<AtomicBool>) -> Result<RunReport, RecordError> {
    std::fs::create_dir_all(&config.spool_dir).map_err(|e| RecordError::io(&config.spool_dir, e))?;
    let _lock = spool::lock(&config.spool_dir)?;
    let recovered = spool::recover(&config.spool_dir)?;
    let mut recorder = opts.recorder.clone();
    recorder.spool = config.spool_dir.clone();
    let stats = Arc::new(UploadStats::default());
    let cameras_done = Arc::new(AtomicBool::new(false));
    let uploader = opts.hub.clone().map(|target| {
        let (dir, max, done, s, drain) =
            (config.spool_dir.clone(), config.spool_max_bytes, cameras_done.clone(), stats.clone(), opts.drain_secs);
        std::thread::spawn(move || upload::run(target, dir, max, done, s, drain))
    });
    let mut handles = Vec::new();
    for cam in config.cameras.clone() {
        let live: Option<Box<dyn LiveSink>> = match (&opts.hub, cam.live_view) {
            (Some(h), true) => Some(Box::new(Upstream::start(
                UpstreamTarget {
                    hub: h.hub.clone(),
                    camera: cam.id.to_string(),
                    token: h.token.clone(),
                    masked: cam.masked(),
                },
                stop.clone(),
            ))),
            _ => None,
        };
        let (r, s) = (recorder.clone(), stop.clone());
        let budget = (opts.hub.is_none()).then_some((config.spool_dir.clone(), config.spool_max_bytes));
        handles.push(std::thread::spawn(move || {
            record_camera(cam, &r, live, s, |_| {
                // Without a hub the spool is the recording: keep it within its bound.
                if let Some((dir, max)) = &budget
                    && let Err(e) = spool::enforce_budget(dir, *max)
                {
                    tracing::error!(error = %e, "spool");
                }
            })
            .map_err(|e| e.to_string())
        }));
    }
    let mut report = RunReport { recovered: recovered.len(), ..RunReport::default() };
    for h in handles {
        report.cameras.push(h.join().unwrap_or_else(|_| Err("a recorder thread panicked".into())));
    }
    // The live upstreams stop with the cameras.
    stop.store(true, Ordering::Relaxed);
    cameras_done.store(true, Ordering::Relaxed);
    if let Some(u) = uploader {
        let _ = u.join();
    }
    report.uploaded = stats.uploaded.load(Ordering::Relaxed) + stats.duplicates.load(Ordering::Relaxed);
    report.refused = stats.refused.load(Ordering::Relaxed);
    report.dropped = stats.dropped.load(Ordering::Relaxed);
    report.left_in_spool = spool::list(&config.spool_dir).map(|l| l.len()).unwrap_or(0);
    Ok(report)
}
