//! The stages of the pipeline, one job each, testable alone on small data.
//!
//! ```text
//! input (ffmpeg child) → mask → motion (background, blobs) → track → [detector] → rules → emit (+ evidence)
//!                      └→ health (online, offline, corrupt)
//! ```

pub mod blobs;
pub mod detector;
pub mod emit;
pub mod evidence;
pub mod health;
pub mod input;
pub mod mask;
pub mod motion;
pub mod track;
