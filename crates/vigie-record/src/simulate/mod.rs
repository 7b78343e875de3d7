//! Test media: camera-like clips made with FFmpeg ([`media`]), a live test camera on
//! localhost whose frames carry their capture time ([`camera`], [`timecode`]).

pub mod camera;
pub mod media;
pub mod timecode;
