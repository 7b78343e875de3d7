//! FFmpeg as a supervised child process: the command line ([`args`]), the probe of a
//! source's size ([`probe`]), the hardware encoder check ([`encoder`]) and the
//! supervisor that turns its stdout into fragments ([`source`]).

pub mod args;
pub mod encoder;
pub mod probe;
pub mod source;

pub use args::{Encoder, TIMESCALE, Transcode};
pub use source::{RecordSource, SourceEvent, SourceStats};
