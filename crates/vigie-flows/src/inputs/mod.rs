//! What `vigie flows` reads: event records (Parquet, CSV), the cell table, the zones, and
//! how bad rows are counted ([`rejects`]).

pub mod cells;
pub mod events;
pub mod rejects;
pub mod zones;

pub use cells::{Cell, CellTable};
pub use events::{EventFile, EventFormat};
pub use rejects::{RejectReason, Rejects};
pub use zones::ZoneSet;
