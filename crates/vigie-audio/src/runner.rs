//! Runs one FFmpeg input into one listener per microphone until the input ends or `stop`.
//!
//! The listeners live as long as the input: a reconnection keeps their background estimates
//! and only moves their time base. Time stamps come from the options' `start_time` (files:
//! the first sample's time, else when the input opened) or, for live inputs, from the
//! arrival of the samples ([`crate::input::clock`]): until a connection's clock has settled
//! its onsets are flagged, and once settled the measured drift is corrected out of the time
//! stamps and reported past `clock_max_offset_ms`. Source health (online, offline, corrupt
//! data) is reported for every microphone of the input.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, sync_channel};

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use crate::error::AudioError;
use crate::input::{FfmpegSource, InputConfig, SourceEvent, StreamClock, StreamClockConfig};
use crate::pipeline::{Listener, ListenerConfig, Microphone, Output};
use crate::stages::classify::Classifier;
use crate::stages::health::HealthEvent;

/// Makes the classifier of each microphone (the rules, or the deployer's tagger).
pub type ClassifierFactory<'a> = &'a (dyn Fn(&Microphone) -> Result<Box<dyn Classifier>, AudioError> + Sync);

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub stop: Arc<AtomicBool>,
    /// Time of a (non-live) input's first sample; default: when it opens.
    pub start_time: Option<DateTime<Utc>>,
    pub clock: StreamClockConfig,
}

/// What happened to an input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputSummary {
    pub name: String,
    pub frames: u64,
    pub connections: u64,
    pub failures: u64,
    pub decoder_errors: u64,
    pub stalls: u64,
    pub detections: u64,
    pub end_reason: String,
}

/// Runs `input` with one listener per microphone (`mics[i]` is output channel `i`), sending
/// every output to `tx`. Errors only for a configuration that cannot run at all.
pub fn run_input(
    input: &InputConfig,
    mics: &[Microphone],
    cfg: &ListenerConfig,
    classifiers: Option<ClassifierFactory<'_>>,
    opts: &RunOptions,
    tx: &Sender<Output>,
) -> Result<InputSummary, AudioError> {
    input.validate()?;
    cfg.validate()?;
    if mics.len() != input.channels.len() {
        return Err(AudioError::Config(format!(
            "input {}: {} microphone(s) for {} channel(s)",
            input.name,
            mics.len(),
            input.channels.len()
        )));
    }
    let start = opts.start_time.unwrap_or_else(Utc::now);
    let mut listeners = Vec::with_capacity(mics.len());
    for m in mics {
        let mut l = Listener::new(m.clone(), input.sample_rate, start, cfg.clone())?;
        if let Some(make) = classifiers {
            l = l.with_classifier(make(m)?);
        }
        listeners.push(l);
    }
    let source = FfmpegSource::new(input.clone());
    let stats = Arc::clone(&source.stats);
    let (stx, srx) = sync_channel::<SourceEvent>(64);
    let stop = Arc::clone(&opts.stop);
    let handle = std::thread::Builder::new()
        .name(format!("vigie-audio-input-{}", input.name))
        .spawn(move || source.run(stx, stop))
        .map_err(AudioError::Io)?;
    let n = mics.len();
    let rate = input.sample_rate as f64;
    // A live connection's clock, and the listeners' sample position at its start.
    let mut clock: Option<(StreamClock, u64)> = None;
    let mut channels: Vec<Vec<f32>> = vec![Vec::new(); n];
    let mut detections = 0u64;
    let mut end_reason = String::from("stopped");
    let send = |o: Output, detections: &mut u64| {
        if matches!(o, Output::Detection(_)) {
            *detections += 1;
        }
        let _ = tx.send(o);
    };
    let mut opened = false;
    for ev in srx {
        match ev {
            SourceEvent::Connected { .. } => {
                let position = listeners.first().map_or(0, Listener::position);
                if input.live {
                    clock = Some((StreamClock::new(input.sample_rate, opts.clock), position));
                } else if !opened && opts.start_time.is_none() {
                    // A file's time starts when it opens.
                    let now = Utc::now();
                    listeners.iter_mut().for_each(|l| l.rebase(now));
                }
                opened = true;
            }
            SourceEvent::Chunk { samples, arrival } => {
                let frames = samples.len() / n;
                if let Some((c, position)) = clock.as_mut() {
                    let r = c.observe(frames, arrival);
                    // `anchor` is the time of this connection's first sample, which the
                    // listeners count as sample `position` of the input.
                    let base = base_for(r.anchor, *position, rate);
                    for l in listeners.iter_mut() {
                        l.rebase(base);
                        l.set_time_settled(r.settled);
                        l.set_clock_offset_ms(cfg.clock_offset_ms - r.drift_ms);
                    }
                }
                for ch in channels.iter_mut() {
                    ch.clear();
                }
                for frame in samples.chunks_exact(n) {
                    for (c, &x) in frame.iter().enumerate() {
                        channels[c].push(x);
                    }
                }
                for (l, ch) in listeners.iter_mut().zip(&channels) {
                    for o in l.process(ch) {
                        send(o, &mut detections);
                    }
                }
            }
            SourceEvent::Health { status, detail, time } => {
                for m in mics {
                    let h = HealthEvent {
                        sensor: m.id.to_string(),
                        time: time.to_rfc3339_opts(SecondsFormat::Millis, true),
                        status,
                        detail: detail.clone(),
                    };
                    send(Output::Health(h), &mut detections);
                }
            }
            SourceEvent::Disconnected { .. } => {
                for l in listeners.iter_mut() {
                    for o in l.finish() {
                        send(o, &mut detections);
                    }
                }
                clock = None;
            }
            SourceEvent::End { reason } => {
                end_reason = reason;
                break;
            }
        }
    }
    let _ = handle.join();
    Ok(InputSummary {
        name: input.name.clone(),
        frames: stats.frames.load(Ordering::Relaxed),
        connections: stats.connections.load(Ordering::Relaxed),
        failures: stats.failures.load(Ordering::Relaxed),
        decoder_errors: stats.decoder_errors.load(Ordering::Relaxed),
        stalls: stats.stalls.load(Ordering::Relaxed),
        detections,
        end_reason,
    })
}

/// `anchor` is the time of the sample at `position` (a new connection's first).
fn base_for(anchor: DateTime<Utc>, position: u64, rate: f64) -> DateTime<Utc> {
    anchor - Duration::nanoseconds((position as f64 / rate * 1e9).round() as i64)
}
