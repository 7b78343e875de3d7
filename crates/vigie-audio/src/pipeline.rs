//! One microphone's pipeline: samples in; band frames, detections and health events out.
//!
//! The waveform never leaves a [`Listener`]: [`Output`] has no variant that can hold audio.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use vigie_model::{Detection, SensorId};

use crate::error::AudioError;
use crate::stages::bands::{BandAnalyzer, BandFrame};
use crate::stages::classify::{Classifier, EventInput, RULES_V1, Rules};
use crate::stages::emit::{SensorEvent, to_detection};
use crate::stages::features::FeatureExtractor;
use crate::stages::health::{HealthEvent, HealthStatus, SilenceWatch};
use crate::stages::onset::{OnsetConfig, OnsetDetector};

/// A microphone: which channel of the input it is, and where it stands.
#[derive(Debug, Clone)]
pub struct Microphone {
    pub id: SensorId,
    pub lon: f64,
    pub lat: f64,
    pub channel: usize,
}

#[derive(Debug, Clone)]
pub struct ListenerConfig {
    pub onset: OnsetConfig,
    /// Level of a full-scale RMS signal (dB SPL when calibrated); MEMS default 120.
    pub calibration_db: f64,
    /// Uncertainty given to a detection placed at the sensor.
    pub hearing_radius_m: f64,
    /// Measured offset of the sensor clock from UTC (sensor − UTC), ms; corrected out.
    pub clock_offset_ms: f64,
    pub clock_max_offset_ms: f64,
    pub silence_dbfs: f64,
    pub silence_secs: f64,
    /// Emit the 125-ms band frames.
    pub emit_bands: bool,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            onset: OnsetConfig::default(),
            calibration_db: 120.0,
            hearing_radius_m: 1000.0,
            clock_offset_ms: 0.0,
            clock_max_offset_ms: 5.0,
            silence_dbfs: -90.0,
            silence_secs: 5.0,
            emit_bands: true,
        }
    }
}

impl ListenerConfig {
    pub fn validate(&self) -> Result<(), AudioError> {
        let o = &self.onset;
        let bad = |m: &str| Err(AudioError::Config(m.to_owned()));
        if !(o.threshold_db > 0.0 && o.threshold_db < 60.0) {
            return bad("threshold_db must be within 0..60");
        }
        if !(o.max_event_ms >= 100.0 && o.max_event_ms <= 30_000.0) {
            return bad("max_event_ms must be within 100..30000");
        }
        if !(self.hearing_radius_m > 0.0 && self.hearing_radius_m <= vigie_model::detection::MAX_UNCERTAINTY_M) {
            return bad("hearing_radius_m must be within 0..100000");
        }
        if !self.clock_offset_ms.is_finite() || !self.calibration_db.is_finite() {
            return bad("clock_offset_ms and calibration_db must be finite");
        }
        Ok(())
    }
}

/// What a listener emits: nothing else leaves the sensor.
#[derive(Debug, Clone)]
pub enum Output {
    Bands(BandFrame),
    Detection(Box<Detection>),
    Health(HealthEvent),
}

pub struct Listener {
    mic: Microphone,
    cfg: ListenerConfig,
    sr: u32,
    /// The sensor clock's time stamp of sample 0.
    start: DateTime<Utc>,
    /// Measured offset of the sensor clock from UTC (sensor − UTC), ms: corrected out of
    /// every time stamp; beyond `clock_max_offset_ms` onsets are flagged.
    clock_offset_ms: f64,
    /// False while a live stream's time base is still being estimated (see `input::clock`).
    time_settled: bool,
    pos: u64,
    bands: BandAnalyzer,
    onset: OnsetDetector,
    features: FeatureExtractor,
    silence: SilenceWatch,
    classifier: Box<dyn Classifier>,
    /// The clock state last reported (None: nothing reported yet).
    clock_reported: Option<bool>,
    classifier_failures: u64,
}

impl Listener {
    /// `start` is the sensor clock's time stamp of the first sample.
    pub fn new(
        mic: Microphone,
        sample_rate: u32,
        start: DateTime<Utc>,
        cfg: ListenerConfig,
    ) -> Result<Self, AudioError> {
        cfg.validate()?;
        if !(8_000..=192_000).contains(&sample_rate) {
            return Err(AudioError::Config(format!(
                "sensor {}: sample rate {sample_rate} Hz is outside 8..192 kHz",
                mic.id
            )));
        }
        Ok(Listener {
            bands: BandAnalyzer::new(sample_rate, cfg.calibration_db),
            onset: OnsetDetector::new(sample_rate, cfg.onset.clone()),
            features: FeatureExtractor::new(sample_rate, cfg.calibration_db, cfg.onset.max_event_ms),
            silence: SilenceWatch::new(sample_rate, cfg.silence_dbfs, cfg.silence_secs),
            classifier: Box::new(Rules),
            clock_offset_ms: cfg.clock_offset_ms,
            time_settled: true,
            clock_reported: None,
            classifier_failures: 0,
            mic,
            cfg,
            sr: sample_rate,
            start,
            pos: 0,
        })
    }

    /// Replaces the rules by another method (the deployer's ONNX tagger).
    pub fn with_classifier(mut self, classifier: Box<dyn Classifier>) -> Listener {
        self.classifier = classifier;
        self
    }

    pub fn microphone(&self) -> &Microphone {
        &self.mic
    }

    pub fn sample_rate(&self) -> u32 {
        self.sr
    }

    /// Samples processed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Moves the time base: `start` is now the sensor clock's stamp of sample 0 (a live
    /// stream's estimate improved). Reports nothing.
    pub fn rebase(&mut self, start: DateTime<Utc>) {
        self.start = start;
    }

    /// A new measurement of the clock's offset from UTC (ms, sensor − UTC), corrected out of
    /// later time stamps. Crossing `clock_max_offset_ms` either way is reported at the next
    /// [`Listener::process`].
    pub fn set_clock_offset_ms(&mut self, offset_ms: f64) {
        if offset_ms.is_finite() {
            self.clock_offset_ms = offset_ms;
        }
    }

    pub fn clock_offset_ms(&self) -> f64 {
        self.clock_offset_ms
    }

    /// While false, onsets are flagged `clock_ok = false` (without a health event): the time
    /// base of a live connection is still being estimated.
    pub fn set_time_settled(&mut self, settled: bool) {
        self.time_settled = settled;
    }

    fn clock_within_bounds(&self) -> bool {
        self.clock_offset_ms.abs() <= self.cfg.clock_max_offset_ms
    }

    fn clock_ok(&self) -> bool {
        self.time_settled && self.clock_within_bounds()
    }

    fn time_at(&self, sample: f64) -> DateTime<Utc> {
        let secs = sample / self.sr as f64 - self.clock_offset_ms / 1000.0;
        self.start + Duration::nanoseconds((secs * 1e9).round() as i64)
    }

    fn stamp(&self, sample: f64) -> String {
        self.time_at(sample).to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// A health event of this sensor (decoder problems are reported through here too).
    pub fn health(&self, status: HealthStatus, detail: String) -> Output {
        Output::Health(HealthEvent {
            sensor: self.mic.id.to_string(),
            time: self.stamp(self.pos as f64),
            status,
            detail,
        })
    }

    pub fn process(&mut self, samples: &[f32]) -> Vec<Output> {
        let mut out = Vec::new();
        let within = self.clock_within_bounds();
        if self.clock_reported != Some(within) && (self.clock_reported.is_some() || !within) {
            self.clock_reported = Some(within);
            out.push(if within {
                self.health(
                    HealthStatus::ClockSynchronised,
                    format!(
                        "clock offset {:.3} ms is back within {:.3} ms",
                        self.clock_offset_ms, self.cfg.clock_max_offset_ms
                    ),
                )
            } else {
                self.health(
                    HealthStatus::ClockUnsynchronised,
                    format!(
                        "clock offset {:.3} ms exceeds {:.3} ms: onsets are flagged and left out of localisation",
                        self.clock_offset_ms, self.cfg.clock_max_offset_ms
                    ),
                )
            });
        } else if self.clock_reported.is_none() {
            self.clock_reported = Some(within);
        }
        for (i, silent) in self.silence.process(samples) {
            let at = self.stamp((self.pos + i as u64) as f64);
            out.push(Output::Health(HealthEvent {
                sensor: self.mic.id.to_string(),
                time: at,
                status: if silent { HealthStatus::Silent } else { HealthStatus::SoundRestored },
                detail: if silent {
                    format!("input below {} dBFS for {} s", self.cfg.silence_dbfs, self.cfg.silence_secs)
                } else {
                    "sound is back".to_owned()
                },
            }));
        }
        if self.cfg.emit_bands {
            for (start, levels_db) in self.bands.process(samples) {
                out.push(Output::Bands(BandFrame {
                    sensor: self.mic.id.to_string(),
                    time: self.stamp(start as f64),
                    levels_db,
                }));
            }
        }
        let events = self.onset.process(samples);
        self.pos += samples.len() as u64;
        for ev in events {
            self.detection(&ev, &mut out);
        }
        out
    }

    /// Flushes an event still open at the end of the input.
    pub fn finish(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        for ev in self.onset.finish() {
            self.detection(&ev, &mut out);
        }
        out
    }

    fn detection(&mut self, ev: &crate::stages::onset::RawEvent, out: &mut Vec<Output>) {
        let features = self.features.extract(ev);
        let onset_index = ((ev.onset_sample - ev.offset as f64).max(0.0) as usize).min(ev.samples.len());
        let input = EventInput { features: &features, samples: &ev.samples, onset_index, sample_rate: self.sr };
        let (class, by_rules) = match self.classifier.classify(&input) {
            Ok(c) => (c, c.fallback),
            Err(e) => {
                // The rules take over; the first failure and then one in a hundred are reported.
                self.classifier_failures += 1;
                if self.classifier_failures % 100 == 1 {
                    let detail = format!("{e} (failure {}; the rules classified the event)", self.classifier_failures);
                    out.push(self.health(HealthStatus::ClassifierFailed, detail));
                }
                (Rules.decide(&features), true)
            }
        };
        let classifier = if by_rules { RULES_V1 } else { self.classifier.name() };
        let d = to_detection(&SensorEvent {
            sensor: &self.mic.id,
            lon: self.mic.lon,
            lat: self.mic.lat,
            onset: self.time_at(ev.onset_sample),
            kind: class.kind,
            confidence: class.confidence,
            features: &features,
            clock_ok: self.clock_ok(),
            hearing_radius_m: self.cfg.hearing_radius_m,
            classifier,
        });
        out.push(Output::Detection(Box::new(d)));
    }
}

/// Runs one listener over a whole buffer (in 100-ms chunks, as a live stream would arrive).
pub fn run_buffer(listener: &mut Listener, samples: &[f32]) -> Vec<Output> {
    let chunk = (listener.sr as usize / 10).max(1);
    let mut out = Vec::new();
    for c in samples.chunks(chunk) {
        out.extend(listener.process(c));
    }
    out.extend(listener.finish());
    out
}
