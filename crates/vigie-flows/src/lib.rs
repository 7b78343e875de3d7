//! Vigie mobility flows: aggregate statistics from mobile-network event records, private
//! by construction.
//!
//! ```text
//! event records (Parquet, CSV) ─► pseudonymize (daily keyed hash, key wiped) ─► partition by
//! pseudonym ─► track (per-device stays, trips, presence; online, bounded memory) ─► aggregates
//!   ─► privacy (k-threshold, complementary suppression, exact audit, optional DP + ledger)
//!   ─► release (Parquet, GeoJSON, summary.json) ─► anomaly (vs earlier releases) ─► detections
//! ```
//!
//! What leaves this crate is only a [`release::Release`] (every count at least k) and
//! detections built from it. No type that is written or published holds a device
//! identifier, a pseudonym, or a per-device record; per-device state lives in
//! [`stages::track::Tracker`] for one day and is dropped with the day's key.
//!
//! [`generate`] makes a synthetic metropolis with ground truth; [`risk`] measures how
//! identifying a raw dataset is (unicity, de Montjoye et al. 2013).

pub mod config;
pub mod daily;
pub mod error;
pub mod generate;
pub mod geo;
pub mod inputs;
pub mod pipeline;
pub mod privacy;
pub mod release;
pub mod risk;
pub mod rng;
pub mod stages;

pub use config::FlowsConfig;
pub use error::FlowsError;
pub use pipeline::{DayRun, Geography, run_day};
pub use release::Release;
