//! Vigie video analytics: the eight events French law allows algorithmic video analysis to
//! signal (décret n° 2023-828, art. 3) and camera tamper, at CPU speed.
//!
//! ```text
//! input (FFmpeg child: decode, fps, scale) → mask → motion → track → [ONNX detector on motion
//! regions] → rules (intrusion, wrong way, abandoned object, crowd density, crowd movement,
//! fire, person down, weapon, tamper) → emit (contract-v1 detections + masked evidence)
//! ```
//!
//! Lawful by construction: privacy masks are burned in before anything else (the type
//! [`frame::MaskedFrame`] is the only one the analysis accepts); tracks are anonymous numbers
//! inside one camera's process and never leave it; there is no face, plate or
//! re-identification code, and the evidence pixelates every tracked box.

pub mod config;
pub mod error;
pub mod frame;
pub mod geometry;
pub mod pipeline;
pub mod rules;
pub mod runner;
pub mod simulate;
pub mod stages;

pub use config::Camera;
pub use error::VideoError;
pub use pipeline::{Analyzer, Output};
