//! Segments: the segmenter that cuts fragments into files ([`writer`]), what is known of
//! each ([`meta`]), and the spool where they wait for the hub ([`spool`]).

pub mod meta;
pub mod spool;
pub mod writer;

pub use meta::SegmentMeta;
pub use writer::{MAX_SEGMENT_BYTES, Segmenter, SegmenterStats};
