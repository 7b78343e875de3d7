//! Driving the pipeline from running sources: posts in arrival order, the wall clock
//! closing bins when posts are few, detections and retained posts handed to the caller
//! as they come.

use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use vigie_model::Detection;

use crate::pipeline::{Pipeline, Retained, Scratch};
use crate::sources::runner::{Running, SourceMsg};

/// What the driver hands back.
pub enum Output {
    Detections(Vec<Detection>),
    Retained(Vec<Retained>),
    /// A post deleted at its source (to drop from the index).
    Deleted(String),
    /// Called about once a second (flush, purge, stats).
    Tick,
}

/// Runs until every source has ended (files) or `running.stop` is set. `clock` gives the
/// current time in ms (the wall clock live, injected in tests); `None` leaves time to the
/// posts alone. `sink` returns false to stop.
pub fn drive(
    running: &Running,
    pipeline: &mut Pipeline,
    clock: Option<&dyn Fn() -> i64>,
    mut sink: impl FnMut(Output) -> bool,
) {
    let mut scratch = Scratch::default();
    let mut dets = Vec::new();
    let mut last_tick = Instant::now();
    loop {
        if running.stop.stopped() {
            break;
        }
        match running.rx.recv_timeout(Duration::from_millis(200)) {
            Ok(SourceMsg::Post(p)) => pipeline.process(&p, &mut scratch, &mut dets),
            Ok(SourceMsg::Delete(id)) => {
                if !sink(Output::Deleted(id)) {
                    break;
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if running.all_done() {
                    break;
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            if let Some(c) = clock {
                pipeline.tick(c(), &mut dets);
            }
            if !flush(pipeline, &mut dets, &mut sink) || !sink(Output::Tick) {
                break;
            }
        }
    }
    // What is still queued, then the end of input.
    while let Ok(m) = running.rx.try_recv() {
        if let SourceMsg::Post(p) = m {
            pipeline.process(&p, &mut scratch, &mut dets);
        }
    }
    pipeline.finish(&mut dets);
    flush(pipeline, &mut dets, &mut sink);
}

fn flush(pipeline: &mut Pipeline, dets: &mut Vec<Detection>, sink: &mut impl FnMut(Output) -> bool) -> bool {
    if !dets.is_empty() && !sink(Output::Detections(std::mem::take(dets))) {
        return false;
    }
    let r = pipeline.drain_retained();
    r.is_empty() || sink(Output::Retained(r))
}
