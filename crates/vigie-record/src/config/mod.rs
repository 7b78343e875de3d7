//! The recording config (TOML): `[[cameras]]` to record, an optional `[defaults]` table
//! every camera inherits, and `video_config`, the `vigie video` config whose cameras
//! (URL, privacy masks, FFmpeg input flags) are recorded, so that masks are declared once.
//!
//! ```toml
//! video_config = "cameras.toml"
//! [defaults]
//! segment_secs = 10
//! [[cameras]]
//! id = "cam-commerce-03"
//! url = "rtsp://10.0.0.3:554/main"   # the main stream; analysis reads the sub-stream
//! mode = "continuous"                # or "events" (kept around detections only)
//! ```

pub mod check;
pub mod file;

pub use check::{Encoding, RecordCamera, RecordConfig, Source, load, parse};
pub use file::{EncoderChoice, RecordMode};
