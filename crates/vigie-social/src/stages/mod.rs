//! The pipeline's stages, one job each, in the order a post meets them:
//! language → dedup → matcher (watch queries) → geoparse → sentiment → burst (per topic and
//! per place) → emit (detections). Normalisation is in [`crate::text`], admission (privacy)
//! in [`crate::privacy`].

pub mod burst;
pub mod dedup;
pub mod emit;
pub mod geoparse;
pub mod lang;
pub mod matcher;
pub mod sentiment;
