//! The rules classifier, "rules-v1": a documented decision list over event features.
//!
//! 1. Tonal and sustained (tonality ≥ 14 dB, rise > 15 ms): a siren if it lasts ≥ 1.8 s
//!    or sweeps ≥ 450 Hz over ≥ 1 s; otherwise a scream if its dominant frequency is
//!    300 Hz–4 kHz.
//! 2. Impulsive (rise ≤ 15 ms): an explosion if ≥ 45 % of its energy is below 400 Hz, its
//!    centroid is below 650 Hz and it lasts ≥ 450 ms or is noise-like (tonality < 15 dB; a
//!    slammed door rings at a few modes); glass break if ≥ 35 % is above 3 kHz (or centroid ≥ 2.5 kHz); a gunshot
//!    if the rise is ≤ 3 ms with a broadband spectrum (centroid ≥ 700 Hz); else an impulse.
//! 3. Anything else: an impulse.
//!
//! Confidence is the rule's prior times `1 − exp(−snr/8)`. Thresholds were set on the
//! simulator's sources (`simulate`), so the figures of `vigie bench audio` measure this
//! classifier on synthetic sounds only; a deployer should validate it on local recordings.

use vigie_model::Kind;

use super::{Classification, Classifier, EventInput};
use crate::error::AudioError;
use crate::stages::features::Features;

/// Name of this method, emitted in each detection's attributes.
pub const RULES_V1: &str = "rules-v1";

/// The decision list above.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules;

impl Rules {
    /// The decision on features alone (never fails).
    pub fn decide(&self, f: &Features) -> Classification {
        let (kind, prior) = decide(f);
        let snr_factor = 1.0 - (-f.snr_db.max(0.0) / 8.0).exp();
        Classification { kind, confidence: (prior * snr_factor).clamp(0.05, 0.99), fallback: false }
    }
}

impl Classifier for Rules {
    fn name(&self) -> &str {
        RULES_V1
    }

    fn classify(&mut self, ev: &EventInput<'_>) -> Result<Classification, AudioError> {
        Ok(self.decide(ev.features))
    }
}

fn decide(f: &Features) -> (Kind, f64) {
    let impulsive = f.rise_ms <= 15.0;
    if !impulsive && f.tonality_db >= 14.0 {
        if f.duration_ms >= 1800.0 || (f.sweep_hz >= 450.0 && f.duration_ms >= 1000.0) {
            return (Kind::AudioSiren, 0.85);
        }
        if (300.0..=4000.0).contains(&f.dominant_hz) {
            return (Kind::AudioScream, 0.75);
        }
    }
    if impulsive {
        if f.low_ratio >= 0.45 && f.centroid_hz < 650.0 && (f.duration_ms >= 450.0 || f.tonality_db < 15.0) {
            return (Kind::AudioExplosion, 0.8);
        }
        if f.high_ratio >= 0.35 || f.centroid_hz >= 2500.0 {
            return (Kind::AudioGlassBreak, 0.75);
        }
        if f.rise_ms <= 3.0 && f.centroid_hz >= 700.0 {
            return (Kind::AudioGunshot, 0.8);
        }
    }
    (Kind::AudioImpulse, 0.6)
}
