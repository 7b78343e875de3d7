//! Runs cameras: per camera one FFmpeg supervisor thread and one analyser thread, joined by
//! a bounded channel. A camera whose input fails reports it and reconnects on its own; the
//! other cameras are unaffected (they share nothing but the output channel).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Sender, sync_channel};

use vigie_model::SensorId;

use crate::config::Camera;
use crate::pipeline::{Analyzer, AnalyzerStats, Output};
use crate::stages::detector::Detector;
use crate::stages::evidence::EvidenceStore;
use crate::stages::health::{HealthEvent, HealthStatus};
use crate::stages::input::{Clock, FfmpegSource, SourceEvent, SystemClock};

/// What one camera's run came to.
#[derive(Debug, Clone)]
pub struct CameraSummary {
    pub camera: SensorId,
    pub analysis: AnalyzerStats,
    pub frames_decoded: u64,
    pub connections: u64,
    pub failures: u64,
    pub decoder_errors: u64,
    pub stalls: u64,
    pub dropped_late: u64,
    pub end_reason: String,
}

/// Options of a run.
pub struct RunOptions {
    pub stop: Arc<AtomicBool>,
    pub clock: Arc<dyn Clock>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { stop: Arc::new(AtomicBool::new(false)), clock: Arc::new(SystemClock) }
    }
}

/// Runs one camera until its input ends (files) or `stop` is set, sending every output.
/// `detector` replaces the configured one when given (tests, benches).
pub fn run_camera(
    cam: &Camera,
    store: Option<Box<dyn EvidenceStore>>,
    detector: Option<Box<dyn Detector>>,
    opts: &RunOptions,
    out: &Sender<(SensorId, Output)>,
) -> CameraSummary {
    let analyzer = match detector {
        Some(d) => Ok(Analyzer::with_detector(cam, store, Some(d))),
        None => Analyzer::new(cam, store),
    };
    let mut analyzer = match analyzer {
        Ok(a) => a,
        Err(e) => {
            let _ = out.send((
                cam.id.clone(),
                Output::Health(HealthEvent {
                    sensor: cam.id.to_string(),
                    time: opts.clock.now(),
                    status: HealthStatus::Offline,
                    detail: format!("cannot start the analysis: {e}"),
                }),
            ));
            return CameraSummary {
                camera: cam.id.clone(),
                analysis: AnalyzerStats::default(),
                frames_decoded: 0,
                connections: 0,
                failures: 1,
                decoder_errors: 0,
                stalls: 0,
                dropped_late: 0,
                end_reason: e.to_string(),
            };
        }
    };
    let source = FfmpegSource::new(cam.input.clone(), Arc::clone(&opts.clock));
    let stats = Arc::clone(&source.stats);
    // Two seconds of frames: enough to absorb jitter, small enough to stay live.
    let (tx, rx) = sync_channel::<SourceEvent>(((cam.input.fps * 2.0).ceil() as usize).max(2));
    let stop = Arc::clone(&opts.stop);
    let reader = std::thread::Builder::new().name(format!("ffmpeg-{}", cam.id)).spawn(move || source.run(tx, stop));
    let mut end_reason = String::from("input thread could not start");
    if reader.is_ok() {
        let mut connected_once = false;
        for ev in rx.iter() {
            match ev {
                SourceEvent::Frame(f) => {
                    for o in analyzer.process(f) {
                        let _ = out.send((cam.id.clone(), o));
                    }
                }
                SourceEvent::Health(h) => {
                    if h.status == HealthStatus::Online {
                        // A new connection: the scene may have changed while we were away.
                        if connected_once {
                            analyzer.reset();
                        }
                        connected_once = true;
                    }
                    let _ = out.send((cam.id.clone(), Output::Health(h)));
                }
                SourceEvent::End { reason } => {
                    end_reason = reason;
                    break;
                }
            }
        }
    }
    if let Ok(handle) = reader {
        let _ = handle.join();
    }
    use std::sync::atomic::Ordering::Relaxed;
    CameraSummary {
        camera: cam.id.clone(),
        analysis: analyzer.stats.clone(),
        frames_decoded: stats.frames.load(Relaxed),
        connections: stats.connections.load(Relaxed),
        failures: stats.failures.load(Relaxed),
        decoder_errors: stats.decoder_errors.load(Relaxed),
        stalls: stats.stalls.load(Relaxed),
        dropped_late: stats.dropped_late.load(Relaxed),
        end_reason,
    }
}

/// Runs several cameras in parallel (one thread pair each) until all end or `stop` is set.
pub fn run_cameras(
    cams: &[Camera],
    make_store: &(dyn Fn(&Camera) -> Option<Box<dyn EvidenceStore>> + Sync),
    opts: &RunOptions,
    out: Sender<(SensorId, Output)>,
) -> Vec<CameraSummary> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = cams
            .iter()
            .map(|cam| {
                let out = out.clone();
                scope.spawn(move || run_camera(cam, make_store(cam), None, opts, &out))
            })
            .collect();
        drop(out);
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    })
}
