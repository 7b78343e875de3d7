//! The recorder's side of live view: a WebSocket to the hub
//! (`ws://hub/api/v1/live/{camera}/publish`, the device token in `Authorization`) carrying
//! the camera's init segment and fragments as binary messages, one box group each.
//!
//! Live view is best effort and never slows recording: fragments go through a bounded
//! queue and are dropped when it is full or the hub is unreachable; after a drop or a
//! reconnection the stream resumes at the next keyframe, the init sent first.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

use crate::fmp4::{Fragment, Init};
use crate::recorder::LiveSink;

/// Fragments queued for the hub (a few seconds).
const QUEUE: usize = 128;

/// Counters of one upstream.
#[derive(Debug, Default)]
pub struct UpstreamStats {
    pub sent: AtomicU64,
    pub dropped: AtomicU64,
    pub connections: AtomicU64,
    pub failures: AtomicU64,
}

enum Up {
    Fragment(Arc<Vec<u8>>, bool),
}

/// The live sink that sends a camera to the hub.
pub struct Upstream {
    tx: SyncSender<Up>,
    init: Arc<Mutex<Option<Arc<Vec<u8>>>>>,
    /// Set when a fragment was dropped: the sender resumes at a keyframe.
    gap: Arc<AtomicBool>,
    pub stats: Arc<UpstreamStats>,
}

/// Where and how to publish.
#[derive(Debug, Clone)]
pub struct UpstreamTarget {
    /// `http://host:port` of the hub.
    pub hub: String,
    pub camera: String,
    pub token: Option<String>,
    pub masked: bool,
}

impl UpstreamTarget {
    fn url(&self) -> Result<(String, String), String> {
        let rest = self
            .hub
            .strip_prefix("http://")
            .ok_or_else(|| format!("live view needs an http:// hub, not {}", self.hub))?;
        let (authority, prefix) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let prefix = prefix.trim_end_matches('/');
        let path = if prefix.is_empty() { String::new() } else { format!("/{prefix}") };
        Ok((
            authority.to_owned(),
            format!("ws://{authority}{path}/api/v1/live/{}/publish?masked={}", self.camera, self.masked),
        ))
    }
}

impl Upstream {
    /// Starts the sender thread; it stops when `stop` is set.
    pub fn start(target: UpstreamTarget, stop: Arc<AtomicBool>) -> Upstream {
        let (tx, rx) = sync_channel(QUEUE);
        let init: Arc<Mutex<Option<Arc<Vec<u8>>>>> = Arc::default();
        let gap = Arc::new(AtomicBool::new(true));
        let stats = Arc::new(UpstreamStats::default());
        let (i, g, s) = (init.clone(), gap.clone(), stats.clone());
        let name: String = format!("vigie-live-{}", target.camera).chars().take(15).collect();
        let _ = std::thread::Builder::new().name(name).spawn(move || run(target, rx, i, g, s, stop));
        Upstream { tx, init, gap, stats }
    }
}

impl LiveSink for Upstream {
    fn init(&mut self, init: &Init) {
        *self.init.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(init.bytes.clone()));
        // The sender sends the new init before the next keyframe.
        self.gap.store(true, Ordering::Relaxed);
    }

    fn fragment(&mut self, f: &Fragment, _time: DateTime<Utc>) {
        match self.tx.try_send(Up::Fragment(Arc::new(f.bytes.clone()), f.keyframe)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                self.gap.store(true, Ordering::Relaxed);
            }
        }
    }
}

fn connect(target: &UpstreamTarget) -> Result<WebSocket<TcpStream>, String> {
    let (authority, url) = target.url()?;
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority} resolves to no address"))?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    let mut req = url.into_client_request().map_err(|e| e.to_string())?;
    if let Some(t) = &target.token {
        let v = format!("Bearer {t}").parse().map_err(|_| "the token is not a valid header value".to_owned())?;
        req.headers_mut().insert("authorization", v);
    }
    let (ws, _) = tungstenite::client(req, stream).map_err(|e| match e {
        tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r)) => {
            let body = r.body().as_ref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
            format!("the hub answered {}: {}", r.status(), body.trim())
        }
        other => other.to_string(),
    })?;
    Ok(ws)
}

fn run(
    target: UpstreamTarget,
    rx: Receiver<Up>,
    init: Arc<Mutex<Option<Arc<Vec<u8>>>>>,
    gap: Arc<AtomicBool>,
    stats: Arc<UpstreamStats>,
    stop: Arc<AtomicBool>,
) {
    let mut backoff = Duration::from_millis(500);
    let mut last_error = String::new();
    while !stop.load(Ordering::Relaxed) {
        let mut ws = match connect(&target) {
            Ok(ws) => ws,
            Err(e) => {
                stats.failures.fetch_add(1, Ordering::Relaxed);
                if e != last_error {
                    tracing::warn!(camera = %target.camera, error = %e, "live view: cannot reach the hub, retrying");
                    last_error = e;
                }
                // Drain meanwhile: live fragments are worthless once late.
                let until = Instant::now() + backoff;
                while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                    if rx.recv_timeout(Duration::from_millis(50)).is_ok() {
                        stats.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
                gap.store(true, Ordering::Relaxed);
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        stats.connections.fetch_add(1, Ordering::Relaxed);
        tracing::info!(camera = %target.camera, "live view: publishing to the hub");
        backoff = Duration::from_millis(500);
        last_error.clear();
        gap.store(true, Ordering::Relaxed);
        let mut sent_init: Option<Arc<Vec<u8>>> = None;
        let mut waiting_key = true;
        loop {
            if stop.load(Ordering::Relaxed) {
                let _ = ws.close(None);
                let _ = ws.flush();
                return;
            }
            let up = match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(u) => u,
                Err(RecvTimeoutError::Timeout) => {
                    if ws.send(Message::Ping(Vec::new().into())).is_err() {
                        break;
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let Up::Fragment(bytes, keyframe) = up;
            if gap.swap(false, Ordering::Relaxed) {
                waiting_key = true;
            }
            if waiting_key && !keyframe {
                stats.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let current = init.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let Some(current) = current else { continue };
            if sent_init.as_ref().is_none_or(|s| !Arc::ptr_eq(s, &current)) {
                if ws.send(Message::Binary(current.to_vec().into())).is_err() {
                    break;
                }
                sent_init = Some(current);
            }
            waiting_key = false;
            if ws.send(Message::Binary(bytes.to_vec().into())).is_err() {
                break;
            }
            stats.sent.fetch_add(1, Ordering::Relaxed);
            // Answers (pongs, a close) are read so the socket never fills; none is expected.
            if ws.can_read() && ws.get_ref().set_nonblocking(true).is_ok() {
                let closed = loop {
                    match ws.read() {
                        Ok(Message::Close(_)) => break true,
                        Ok(_) => {}
                        Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
                        Err(_) => break true,
                    }
                };
                let _ = ws.get_ref().set_nonblocking(false);
                if closed {
                    break;
                }
            }
        }
        stats.failures.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(camera = %target.camera, "live view: the connection to the hub dropped, reconnecting");
    }
}
