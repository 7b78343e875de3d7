//! Live view, one encode per camera whatever the number of viewers: the recorder sends
//! its fragments up to the hub ([`upstream`]), the hub fans them out ([`fanout`]) over
//! WebSockets to the console's Media Source players (and to [`viewer`] in tests).
//!
//! Fragmented MP4 over WebSocket into Media Source Extensions, rather than LL-HLS or
//! WebRTC: it is the recording's own format (no second packaging), one fragment per frame
//! reaches the browser as soon as it is encoded (no playlist and part latency), it needs no
//! extra server, STUN/TURN or SRTP stack, it goes through the hub's ordinary HTTP port and
//! access layer (cookie session, audited opening), and Chromium, Firefox and Safari ≥ 17
//! play H.264 from it.

pub mod fanout;
pub mod upstream;
pub mod viewer;

pub use fanout::{LiveFanout, LiveMessage, LiveStatus, Publication, PublishError, Subscription};
pub use upstream::{Upstream, UpstreamTarget};
pub use viewer::{LiveViewer, Received};
