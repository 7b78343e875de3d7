//! The hub's side of live view: one channel per camera, fed by the camera's recorder (one
//! FFmpeg, one encode), read by any number of viewers. Each viewer gets the init segment,
//! then the fragments since the last keyframe (so its picture starts at once), then every
//! new fragment as it comes. A viewer that falls behind skips to the next keyframe rather
//! than slowing the others; the recorder never waits for viewers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use crate::fmp4::{Chunk, Fmp4Error, Splitter};

/// Shared bytes of one message, sent as they are to every viewer (a reference count, not a copy).
pub use bytes::Bytes;

/// Messages kept for viewers that read a little late (about 10 s at 25 fps).
const BACKLOG: usize = 256;
/// The most fragments kept since the last keyframe (a camera with rare keyframes).
const MAX_GOP: usize = 600;

/// What a viewer receives.
#[derive(Debug, Clone)]
pub enum LiveMessage {
    /// A new initialisation segment and its MIME type (the decoder restarts).
    Init { bytes: Bytes, mime: String, width: u32, height: u32 },
    /// A fragment; `time` is when the hub received it.
    Fragment { bytes: Bytes, keyframe: bool, time: DateTime<Utc> },
}

#[derive(Default)]
struct State {
    init: Option<LiveMessage>,
    gop: Vec<LiveMessage>,
    masked: bool,
    last: Option<DateTime<Utc>>,
}

struct Channel {
    state: Mutex<State>,
    tx: broadcast::Sender<LiveMessage>,
    /// The current publisher; an older one's pushes are refused.
    epoch: AtomicU64,
    viewers: AtomicU64,
}

/// Counters of the fan-out (for metrics and the bench).
#[derive(Debug, Default)]
pub struct FanoutStats {
    pub fragments_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub refused: AtomicU64,
    pub lagged: AtomicU64,
    pub viewers_opened: AtomicU64,
}

/// All cameras' live channels.
#[derive(Default, Clone)]
pub struct LiveFanout {
    channels: Arc<Mutex<HashMap<String, Arc<Channel>>>>,
    pub stats: Arc<FanoutStats>,
}

/// One camera as a viewer sees it now.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveStatus {
    pub camera: String,
    pub publishing: bool,
    pub viewers: u64,
    pub masked: bool,
    pub mime: Option<String>,
    pub last_fragment: Option<DateTime<Utc>>,
}

impl LiveFanout {
    pub fn new() -> LiveFanout {
        LiveFanout::default()
    }

    fn channel(&self, camera: &str) -> Arc<Channel> {
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(camera.to_owned())
            .or_insert_with(|| {
                Arc::new(Channel {
                    state: Mutex::default(),
                    tx: broadcast::channel(BACKLOG).0,
                    epoch: AtomicU64::new(0),
                    viewers: AtomicU64::new(0),
                })
            })
            .clone()
    }

    /// A recorder starts publishing a camera; an earlier publisher of it is cut off.
    pub fn publish(&self, camera: &str, masked: bool) -> Publication {
        let ch = self.channel(camera);
        let epoch = ch.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        {
            let mut st = ch.state.lock().unwrap_or_else(|p| p.into_inner());
            st.masked = masked;
        }
        Publication { fanout: self.clone(), channel: ch, epoch, splitter: Splitter::new() }
    }

    /// A viewer joins: what to send first, then the stream. `None` while nothing was
    /// ever published for that camera.
    pub fn subscribe(&self, camera: &str) -> Option<Subscription> {
        let ch = self.channels.lock().unwrap_or_else(|p| p.into_inner()).get(camera).cloned()?;
        let st = ch.state.lock().unwrap_or_else(|p| p.into_inner());
        let init = st.init.clone()?;
        // Subscribed under the state lock: nothing between the snapshot and the stream is
        // missed or sent twice.
        let rx = ch.tx.subscribe();
        let mut first = vec![init];
        first.extend(st.gop.iter().cloned());
        drop(st);
        ch.viewers.fetch_add(1, Ordering::Relaxed);
        self.stats.viewers_opened.fetch_add(1, Ordering::Relaxed);
        Some(Subscription { first, rx, channel: ch, fanout: self.clone(), resync: false })
    }

    pub fn status(&self) -> Vec<LiveStatus> {
        let map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<LiveStatus> = map
            .iter()
            .map(|(camera, ch)| {
                let st = ch.state.lock().unwrap_or_else(|p| p.into_inner());
                LiveStatus {
                    camera: camera.clone(),
                    publishing: st.init.is_some(),
                    viewers: ch.viewers.load(Ordering::Relaxed),
                    masked: st.masked,
                    mime: match &st.init {
                        Some(LiveMessage::Init { mime, .. }) => Some(mime.clone()),
                        _ => None,
                    },
                    last_fragment: st.last,
                }
            })
            .collect();
        out.sort_by(|a, b| a.camera.cmp(&b.camera));
        out
    }
}

/// A recorder's right to publish a camera, until another takes over.
pub struct Publication {
    fanout: LiveFanout,
    channel: Arc<Channel>,
    epoch: u64,
    splitter: Splitter,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("another recorder now publishes this camera")]
    Superseded,
    #[error(transparent)]
    Stream(#[from] Fmp4Error),
}

impl Publication {
    /// Takes bytes of the camera's fragmented MP4 stream (any cut), forwards what they
    /// complete. A stream that does not parse is refused (the connection should close).
    pub fn push(&mut self, bytes: &[u8], now: DateTime<Utc>) -> Result<(), PublishError> {
        if self.channel.epoch.load(Ordering::SeqCst) != self.epoch {
            return Err(PublishError::Superseded);
        }
        let chunks = self.splitter.push(bytes).inspect_err(|_| {
            self.fanout.stats.refused.fetch_add(1, Ordering::Relaxed);
        })?;
        for c in chunks {
            let msg = match c {
                Chunk::Init(i) => {
                    LiveMessage::Init { mime: i.mime(), width: i.width, height: i.height, bytes: Bytes::from(i.bytes) }
                }
                Chunk::Fragment(f) => {
                    self.fanout.stats.fragments_in.fetch_add(1, Ordering::Relaxed);
                    self.fanout.stats.bytes_in.fetch_add(f.bytes.len() as u64, Ordering::Relaxed);
                    LiveMessage::Fragment { keyframe: f.keyframe, time: now, bytes: Bytes::from(f.bytes) }
                }
            };
            let mut st = self.channel.state.lock().unwrap_or_else(|p| p.into_inner());
            match &msg {
                LiveMessage::Init { .. } => {
                    st.init = Some(msg.clone());
                    st.gop.clear();
                }
                LiveMessage::Fragment { keyframe, time, .. } => {
                    if *keyframe {
                        st.gop.clear();
                    }
                    // Without a keyframe yet a late viewer could not decode: keep none.
                    if (*keyframe || !st.gop.is_empty()) && st.gop.len() < MAX_GOP {
                        st.gop.push(msg.clone());
                    }
                    st.last = Some(*time);
                }
            }
            // Sent under the lock, in the same order as the snapshot a viewer takes.
            let _ = self.channel.tx.send(msg);
        }
        Ok(())
    }
}

impl Drop for Publication {
    fn drop(&mut self) {
        if self.channel.epoch.load(Ordering::SeqCst) == self.epoch {
            let mut st = self.channel.state.lock().unwrap_or_else(|p| p.into_inner());
            // The camera is no longer live: a new viewer waits for the next publisher.
            st.init = None;
            st.gop.clear();
        }
    }
}

/// A viewer's stream.
pub struct Subscription {
    /// Init and the fragments since the last keyframe, to send first.
    pub first: Vec<LiveMessage>,
    rx: broadcast::Receiver<LiveMessage>,
    channel: Arc<Channel>,
    fanout: LiveFanout,
    resync: bool,
}

impl Subscription {
    /// The next message; `None` when the publisher is gone for good.
    pub async fn next(&mut self) -> Option<LiveMessage> {
        loop {
            match self.rx.recv().await {
                Ok(m) => {
                    if self.resync {
                        match &m {
                            LiveMessage::Fragment { keyframe: false, .. } => continue,
                            _ => self.resync = false,
                        }
                    }
                    return Some(m);
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Too slow: skip to the next keyframe (the decoder needs one).
                    self.fanout.stats.lagged.fetch_add(1, Ordering::Relaxed);
                    self.resync = true;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.channel.viewers.fetch_sub(1, Ordering::Relaxed);
    }
}
