//! Vigie recording and live view, with privacy masks burned in (property 5).
//!
//! ```text
//! camera ──► FFmpeg child: stream copy (no masks) or decode → masks burned → H.264 encode
//!              │ fragmented MP4 on a pipe, one fragment per frame
//!              ▼
//!            splitter (init + fragments) ──► segmenter ──► spool/<camera>/<id>.mp4 ──► uploader ──► hub
//!                                        └─► live upstream (WebSocket) ──► hub fan-out ──► viewers
//! ```
//!
//! One FFmpeg process per camera, whatever the number of viewers: the hub forwards the
//! same fragments to each of them. Audio is never recorded (no speech capture).

pub mod archive;
pub mod config;
pub mod error;
pub mod fmp4;
pub mod mask;

pub use error::RecordError;
pub mod ffmpeg;
pub mod live;
pub mod recorder;
pub mod runner;
pub mod segment;
pub mod simulate;
pub mod upload;
