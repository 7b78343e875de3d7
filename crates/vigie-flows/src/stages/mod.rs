//! The stages of a day's run, each one job:
//!
//! ```text
//! rows ─► pseudonymize ─► (partition by pseudonym) ─► track (per-device stays, trips,
//!         presence) ─► aggregate ─► [privacy: suppress, audit, noise] ─► release
//!                                                     └─► anomaly (vs published history) ─► emit
//! ```
//! `cell_zones` maps each cell to zones once, before the run.

pub mod aggregate;
pub mod anomaly;
pub mod cell_zones;
pub mod emit;
pub mod pseudonymize;
pub mod track;
