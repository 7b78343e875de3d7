//! FFmpeg as a supervised child process, the one way Vigie runs it for a stream (as Frigate
//! does): a corrupt stream or a decoder crash kills a child, not the analyser, the listener
//! or the recorder. [`Supervised`] spawns the child with its pipes, reads its log on a
//! thread (the last error line, decoder errors as the caller's [`LogReader`] counts them),
//! kills it when it sends nothing for the stall timeout or when asked to stop, and says why
//! it ended ([`Exit`]). [`Backoff`] spaces reconnections. What is read from stdout (frames,
//! samples, fragments) and what is reported (health, events) stays with each caller.

mod backoff;
mod child;
pub mod log;

pub use backoff::Backoff;
pub use child::{Exit, LogReader, Supervised, wait_timeout};
