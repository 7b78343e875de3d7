//! The stages of the pipeline, one job each, testable alone on small data.

pub mod bands;
pub mod classify;
pub mod decode;
pub mod emit;
pub mod features;
pub mod health;
pub mod locate;
pub mod onset;
