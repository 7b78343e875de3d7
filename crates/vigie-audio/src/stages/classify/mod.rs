//! Stage `classify`: an event becomes one of `gunshot`, `explosion`, `glass_break`,
//! `scream`, `siren` or plain `impulse`.
//!
//! Two methods behind one [`Classifier`] trait:
//! - [`rules::Rules`] ("rules-v1"), a documented decision list over the event's features:
//!   the default, always available;
//! - [`tagger`], the deployer's ONNX audio-tagging model (AudioSet-style labels, such as
//!   YAMNet or PANNs exports), run on the event's audio inside the sensor, its labels mapped
//!   to the six classes (cargo feature `onnx`). No model ships with Vigie.
//!
//! Either way only the class and a confidence leave the sensor: the audio a tagger sees
//! stays in the process, and a label outside the six classes (speech, music…) is never
//! emitted.

pub mod rules;
pub mod tagger;

#[cfg(feature = "onnx")]
pub mod onnx;

use vigie_model::Kind;

use crate::error::AudioError;
use crate::stages::features::Features;

pub use rules::{RULES_V1, Rules};

/// What a classifier sees of one event: its features and, inside the sensor only, its audio.
#[derive(Debug, Clone, Copy)]
pub struct EventInput<'a> {
    pub features: &'a Features,
    /// The event's samples, with some audio before the onset.
    pub samples: &'a [f32],
    /// Index of the onset in `samples`.
    pub onset_index: usize,
    pub sample_rate: u32,
}

/// The class of an event and how sure the method is (0..1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Classification {
    pub kind: Kind,
    pub confidence: f64,
    /// The method could not decide and the rules did (the tagger below its `min_score`):
    /// the detection then names `rules-v1` as its classifier.
    pub fallback: bool,
}

/// A method of classification. `Send`: a listener may run on its own thread.
pub trait Classifier: Send {
    /// Emitted in each detection's `classifier` attribute.
    fn name(&self) -> &str;
    /// An error makes the listener fall back to the rules for that event and report
    /// `classifier_failed`.
    fn classify(&mut self, ev: &EventInput<'_>) -> Result<Classification, AudioError>;
}
