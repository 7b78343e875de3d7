//! `vigie audio listen --url …` (and files only FFmpeg reads): one supervised FFmpeg input,
//! detections written and published as they happen, health on stderr and on the status
//! topic, the deployer's tagging model when given.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use anyhow::Context;
use vigie_audio::input::InputConfig;
use vigie_audio::runner::{ClassifierFactory, RunOptions, run_input};
use vigie_audio::stages::classify::Classifier;
use vigie_audio::stages::health::HealthStatus;
use vigie_audio::{AudioError, ListenerConfig, Microphone, Output};
use vigie_model::{Detection, SensorId};
use vigie_publish::{Publisher, SensorStatus};

use super::{ListenArgs, parse_mics};
use crate::UsageError;
use crate::commands::publish::publish_and_report;

type Factory = Box<dyn Fn(&Microphone) -> Result<Box<dyn Classifier>, AudioError> + Sync>;

/// The classifier of each microphone when `--model` is given (the rules otherwise).
pub(super) fn classifier_factory(a: &ListenArgs) -> anyhow::Result<Option<Factory>> {
    let (Some(model), Some(labels)) = (&a.model, &a.labels) else { return Ok(None) };
    use vigie_audio::stages::classify::onnx::load_tagger;
    use vigie_audio::stages::classify::tagger::{TaggerConfig, parse_label_map, parse_labels};
    let text = std::fs::read_to_string(labels).with_context(|| format!("reading {}", labels.display()))?;
    let mut cfg = TaggerConfig::new(model.clone(), parse_labels(&text).map_err(|e| UsageError(e.to_string()))?);
    if let Some(map) = &a.label_map {
        let text = std::fs::read_to_string(map).with_context(|| format!("reading {}", map.display()))?;
        cfg.label_map = parse_label_map(&text, &map.display().to_string()).map_err(|e| UsageError(e.to_string()))?;
    }
    cfg.min_score = a.model_min_score;
    cfg.logits = a.model_logits;
    cfg.library = a.onnxruntime.clone();
    cfg.validate().map_err(|e| UsageError(e.to_string()))?;
    // Load once now, so that a broken model is an error before any audio is read.
    load_tagger(cfg.clone()).map_err(|e| UsageError(e.to_string()))?;
    let make: Factory =
        Box::new(move |_m: &Microphone| load_tagger(cfg.clone()).map(|t| Box::new(t) as Box<dyn Classifier>));
    Ok(Some(make))
}

pub(super) fn listen_ffmpeg(
    a: &ListenArgs,
    cfg: &ListenerConfig,
    classifiers: Option<ClassifierFactory<'_>>,
) -> anyhow::Result<()> {
    let mics = parse_mics(&a.mic)?;
    let (url, live) = match (&a.url, &a.input) {
        (Some(url), _) => (url.clone(), a.input_format.is_some() || InputConfig::is_network_url(url)),
        (None, Some(path)) => (path.display().to_string(), false),
        (None, None) => return Err(UsageError("give --input FILE or --url URL".into()).into()),
    };
    let name = mics.iter().map(|m| m.id.as_str()).collect::<Vec<_>>().join("+");
    let mut input = InputConfig::new(url, mics.iter().map(|m| m.channel).collect(), name);
    input.live = live;
    input.realtime = a.realtime;
    input.stall_timeout_secs = a.stall_timeout_secs;
    input.ffmpeg = a.ffmpeg.clone();
    if let Some(f) = &a.input_format {
        input.input_args = vec!["-f".into(), f.clone()];
    }
    input.validate().map_err(|e| UsageError(e.to_string()))?;
    // The runner analyses the input's channels in order: microphone i is channel i.
    let mics: Vec<Microphone> = mics.into_iter().enumerate().map(|(i, m)| Microphone { channel: i, ..m }).collect();

    let mut publisher = a.publish.connect("vigie-audio-listen")?;
    let mut out: Box<dyn Write> = match (&a.out, &publisher) {
        (Some(p), _) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        (None, None) => Box::new(std::io::stdout()),
        (None, Some(_)) => Box::new(std::io::sink()),
    };
    let mut bands = match &a.bands_out {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };
    let opts = RunOptions { start_time: if live { None } else { a.start }, ..RunOptions::default() };
    {
        // Ctrl-C stops the input cleanly (the FFmpeg child is killed, not orphaned).
        let stop = Arc::clone(&opts.stop);
        std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                let _ = rt.block_on(tokio::signal::ctrl_c());
                stop.store(true, Ordering::SeqCst);
            }
        });
    }
    let (tx, rx) = channel();
    let summary = std::thread::scope(|scope| -> anyhow::Result<_> {
        // `tx` moves into the runner: its end disconnects the loop below.
        let runner = scope.spawn(move || run_input(&input, &mics, cfg, classifiers, &opts, &tx));
        let mut batch: Vec<Detection> = Vec::new();
        let mut last_flush = Instant::now();
        let mut counts = [0usize; 3];
        let mut unpublished = 0usize;
        loop {
            match rx.recv_timeout(Duration::from_millis(250)) {
                Ok(Output::Detection(d)) => {
                    writeln!(out, "{}", d.to_json())?;
                    counts[0] += 1;
                    batch.push(*d);
                }
                Ok(Output::Bands(b)) => {
                    counts[1] += 1;
                    if let Some(w) = bands.as_mut() {
                        writeln!(w, "{}", serde_json::to_string(&b)?)?;
                    }
                }
                Ok(Output::Health(h)) => {
                    counts[2] += 1;
                    eprintln!("{}", serde_json::to_string(&h)?);
                    let status = match h.status {
                        HealthStatus::Online => Some(SensorStatus::Online),
                        HealthStatus::Offline => Some(SensorStatus::Offline),
                        _ => None,
                    };
                    if let (Some(p), Some(s), Ok(sensor)) =
                        (publisher.as_mut(), status, SensorId::new(h.sensor.clone()))
                        && let Err(e) = p.set_status(&sensor, s)
                    {
                        eprintln!("warning: status of {sensor} not published: {e}");
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            // Alerts go out within a quarter of a second.
            if !batch.is_empty() && (batch.len() >= 64 || last_flush.elapsed() >= Duration::from_millis(250)) {
                unpublished += flush(&mut publisher, &mut batch, &mut out)?;
                last_flush = Instant::now();
            }
        }
        unpublished += flush(&mut publisher, &mut batch, &mut out)?;
        if let Some(b) = bands.as_mut() {
            b.flush()?;
        }
        let summary = runner.join().map_err(|_| anyhow::anyhow!("the audio input panicked"))??;
        eprintln!(
            "{}: {} frames, {} connection(s), {} failed, {} decoder errors, {} stalls ({}); {} detections, {} band frames, {} health events",
            summary.name,
            summary.frames,
            summary.connections,
            summary.failures,
            summary.decoder_errors,
            summary.stalls,
            summary.end_reason,
            counts[0],
            counts[1],
            counts[2]
        );
        if unpublished > 0 {
            anyhow::bail!("{unpublished} detection(s) could not be published (they are in the output)");
        }
        Ok(summary)
    })?;
    if summary.connections == 0 {
        anyhow::bail!("{}: no connection delivered audio ({})", summary.name, summary.end_reason);
    }
    Ok(())
}

/// Writes out what is buffered and publishes the batch; returns how many could not be
/// published (reported, and kept in the output).
fn flush(
    publisher: &mut Option<Publisher>,
    batch: &mut Vec<Detection>,
    out: &mut Box<dyn Write>,
) -> anyhow::Result<usize> {
    out.flush()?;
    let mut failed = 0;
    if let Some(p) = publisher.as_mut()
        && !batch.is_empty()
        && let Err(e) = publish_and_report(p, batch)
    {
        failed = batch.len();
        eprintln!("error: publishing {} detection(s): {e:#}", batch.len());
    }
    batch.clear();
    Ok(failed)
}
