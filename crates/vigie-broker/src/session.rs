//! Sessions: what the broker keeps for a client id across its connections:
//! subscriptions, messages queued for it, QoS 1 messages it has not acknowledged
//! and QoS 2 packet ids it has not released.
//!
//! Sessions live in memory only: a restart of the broker forgets them, and
//! clients learn it from `session present = 0` in the CONNACK.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::codec::{self, Protocol};
use crate::signal::Signal;

/// A message on its way to one client.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    /// UTF-8 topic name, shared by every copy of the message.
    pub topic: Bytes,
    pub payload: Bytes,
    pub qos: u8,
    pub retain: bool,
}

/// What [`Session::enqueue`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enqueued {
    Queued,
    /// The queue is full: dropped, to be counted.
    Dropped,
    /// Not for this session (offline and QoS 0, or discarded).
    Skipped,
}

/// Options of one subscription of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SubOptions {
    pub qos: u8,
    pub no_local: bool,
}

/// The connection a session is attached to.
#[derive(Debug, Clone)]
pub(crate) struct Owner {
    pub conn_id: u64,
    /// Fired to close that connection (session taken over).
    pub kill: Arc<Signal>,
    /// Wakes that connection's writer when a message is queued.
    pub waker: Arc<Notify>,
    /// Fired once that connection has closed and published its will.
    pub closed: Arc<Signal>,
}

/// What one [`Session::fill`] may send.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FillLimits {
    /// Unacknowledged QoS 1 messages allowed.
    pub window: usize,
    /// Stop encoding past about this many bytes.
    pub batch_bytes: usize,
    /// Largest packet the client accepts (MQTT 5 maximum packet size).
    pub max_packet_bytes: usize,
}

/// What one [`Session::fill`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Filled {
    pub sent: usize,
    /// Messages dropped because they exceed the client's maximum packet size.
    pub too_large: usize,
}

/// How long a session outlives its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persistence {
    /// Discarded when its connection closes.
    Transient,
    /// Kept for this long after its connection closes.
    For(Duration),
    /// Kept until the broker stops (MQTT 3.1.1 `clean_session = 0`).
    Forever,
}

/// One bit per packet id in use by an unacknowledged outgoing QoS 1 message.
struct PkidSet(Box<[u64; 1024]>);

impl PkidSet {
    fn new() -> Self {
        PkidSet(Box::new([0; 1024]))
    }
    fn contains(&self, pkid: u16) -> bool {
        self.0[usize::from(pkid / 64)] & (1 << (pkid % 64)) != 0
    }
    fn insert(&mut self, pkid: u16) {
        self.0[usize::from(pkid / 64)] |= 1 << (pkid % 64);
    }
    fn remove(&mut self, pkid: u16) {
        self.0[usize::from(pkid / 64)] &= !(1 << (pkid % 64));
    }
}

struct Inner {
    owner: Option<Owner>,
    /// Replaced by a clean start or expired: accepts nothing more.
    discarded: bool,
    persistence: Persistence,
    expires_at: Option<Instant>,
    subscriptions: HashMap<String, SubOptions>,
    queue: VecDeque<Delivery>,
    /// Sent (or to resend) and not yet acknowledged, oldest first.
    inflight: VecDeque<(u16, Delivery)>,
    /// `inflight[..sent_upto]` were sent on the current connection.
    sent_upto: usize,
    next_pkid: u16,
    pkids: PkidSet,
    /// QoS 2 publishes received and not yet released by a PUBREL.
    incoming_qos2: HashSet<u16>,
}

/// The state of one client id.
pub(crate) struct Session {
    pub client_id: String,
    max_queued: usize,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

impl Session {
    pub fn new(client_id: String, max_queued: usize, persistence: Persistence) -> Arc<Session> {
        Arc::new(Session {
            client_id,
            max_queued,
            inner: Mutex::new(Inner {
                owner: None,
                discarded: false,
                persistence,
                expires_at: None,
                subscriptions: HashMap::new(),
                queue: VecDeque::new(),
                inflight: VecDeque::new(),
                sent_upto: 0,
                next_pkid: 1,
                pkids: PkidSet::new(),
                incoming_qos2: HashSet::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind: keep going.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Attaches a new connection; returns the previous owner, to be closed.
    /// Unacknowledged messages will be sent again, with DUP set.
    pub fn attach(&self, owner: Owner, persistence: Persistence) -> Option<Owner> {
        let mut inner = self.lock();
        inner.persistence = persistence;
        inner.expires_at = None;
        inner.sent_upto = 0;
        if !inner.queue.is_empty() || !inner.inflight.is_empty() {
            owner.waker.notify_one();
        }
        inner.owner.replace(owner)
    }

    /// Detaches connection `conn_id` if it still owns the session. Returns
    /// `Some(true)` when the session must now be discarded, `Some(false)` when it
    /// stays (persistent), `None` when another connection owns it.
    pub fn detach(&self, conn_id: u64) -> Option<bool> {
        let mut inner = self.lock();
        if inner.owner.as_ref().map(|o| o.conn_id) != Some(conn_id) {
            return None;
        }
        inner.owner = None;
        match inner.persistence {
            Persistence::Transient => Some(true),
            Persistence::For(ttl) => {
                inner.expires_at = Some(Instant::now() + ttl);
                Some(false)
            }
            Persistence::Forever => Some(false),
        }
    }

    pub fn set_persistence(&self, persistence: Persistence) {
        self.lock().persistence = persistence;
    }

    /// Offline and past its expiry, or discarded.
    pub fn is_expired(&self, now: Instant) -> bool {
        let inner = self.lock();
        inner.discarded || (inner.owner.is_none() && inner.expires_at.is_some_and(|at| at <= now))
    }

    /// Marks the session dead. Returns its subscription filters, to be removed from
    /// the router (not here: the router's lock is never taken under a session's),
    /// and the connection that still owned it, to be closed.
    pub fn discard(&self) -> (Vec<String>, Option<Owner>) {
        let mut inner = self.lock();
        inner.discarded = true;
        inner.queue.clear();
        inner.inflight.clear();
        let owner = inner.owner.take();
        let filters = inner.subscriptions.drain().map(|(filter, _)| filter).collect();
        (filters, owner)
    }

    /// Attached to a connection now?
    pub fn is_online(&self) -> bool {
        self.lock().owner.is_some()
    }

    /// Records a subscription; `true` when the filter is new for this session.
    pub fn add_subscription(&self, filter: &str, options: SubOptions) -> bool {
        self.lock().subscriptions.insert(filter.to_string(), options).is_none()
    }

    pub fn remove_subscription(&self, filter: &str) -> bool {
        self.lock().subscriptions.remove(filter).is_some()
    }

    /// Queues a message and wakes the connection's writer.
    pub fn enqueue(&self, delivery: Delivery) -> Enqueued {
        let mut inner = self.lock();
        if inner.discarded {
            return Enqueued::Skipped;
        }
        if inner.owner.is_none() && (delivery.qos == 0 || inner.persistence == Persistence::Transient) {
            // Offline: only QoS 1 messages are kept for later.
            return Enqueued::Skipped;
        }
        if inner.queue.len() >= self.max_queued {
            return Enqueued::Dropped;
        }
        inner.queue.push_back(delivery);
        if let Some(owner) = &inner.owner {
            owner.waker.notify_one();
        }
        Enqueued::Queued
    }

    /// Encodes into `out` what connection `conn_id` may send now: first the
    /// unacknowledged messages of a previous connection (DUP), then queued messages
    /// while fewer than `limits.window` QoS 1 messages are unacknowledged, up to
    /// about `limits.batch_bytes`.
    pub fn fill(&self, conn_id: u64, protocol: Protocol, out: &mut BytesMut, limits: FillLimits) -> Filled {
        let mut filled = Filled::default();
        let mut inner = self.lock();
        let inner = &mut *inner;
        if inner.owner.as_ref().map(|o| o.conn_id) != Some(conn_id) {
            return filled;
        }
        let start = out.len();
        while inner.sent_upto < inner.inflight.len() && out.len() - start < limits.batch_bytes {
            let (pkid, d) = &inner.inflight[inner.sent_upto];
            codec::write_publish(out, protocol, &d.topic, &d.payload, d.qos, *pkid, true, d.retain);
            inner.sent_upto += 1;
            filled.sent += 1;
        }
        if inner.sent_upto < inner.inflight.len() {
            return filled;
        }
        while out.len() - start < limits.batch_bytes {
            let Some(front) = inner.queue.front() else {
                break;
            };
            if front.qos > 0 && inner.inflight.len() >= limits.window {
                break;
            }
            let Some(d) = inner.queue.pop_front() else {
                break;
            };
            if codec::publish_size(protocol, d.topic.len(), d.payload.len(), d.qos) > limits.max_packet_bytes {
                // MQTT 5: never send a client more than it accepts; drop instead.
                filled.too_large += 1;
                continue;
            }
            if d.qos == 0 {
                codec::write_publish(out, protocol, &d.topic, &d.payload, 0, 0, false, d.retain);
            } else {
                let Some(pkid) = next_free_pkid(inner) else {
                    inner.queue.push_front(d);
                    break;
                };
                codec::write_publish(out, protocol, &d.topic, &d.payload, 1, pkid, false, d.retain);
                inner.pkids.insert(pkid);
                inner.inflight.push_back((pkid, d));
                inner.sent_upto = inner.inflight.len();
            }
            filled.sent += 1;
        }
        filled
    }

    /// A PUBACK from the client.
    pub fn acknowledged(&self, pkid: u16) {
        let mut inner = self.lock();
        if !inner.pkids.contains(pkid) {
            return;
        }
        // Clients acknowledge in order: the id is nearly always at the front.
        if let Some(index) = inner.inflight.iter().position(|(p, _)| *p == pkid) {
            inner.inflight.remove(index);
            if index < inner.sent_upto {
                inner.sent_upto -= 1;
            }
            inner.pkids.remove(pkid);
            if !inner.queue.is_empty()
                && let Some(owner) = &inner.owner
            {
                owner.waker.notify_one();
            }
        }
    }

    /// Records a received QoS 2 packet id; `false` if it was already there (a resend).
    pub fn qos2_received(&self, pkid: u16) -> bool {
        self.lock().incoming_qos2.insert(pkid)
    }

    pub fn qos2_seen(&self, pkid: u16) -> bool {
        self.lock().incoming_qos2.contains(&pkid)
    }

    pub fn qos2_released(&self, pkid: u16) {
        self.lock().incoming_qos2.remove(&pkid);
    }

    #[cfg(test)]
    fn queued(&self) -> usize {
        self.lock().queue.len()
    }
}

fn next_free_pkid(inner: &mut Inner) -> Option<u16> {
    for _ in 0..u16::MAX {
        let pkid = inner.next_pkid;
        inner.next_pkid = pkid.checked_add(1).unwrap_or(1);
        if !inner.pkids.contains(pkid) {
            return Some(pkid);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(qos: u8) -> Delivery {
        Delivery { topic: Bytes::from_static(b"a/b"), payload: Bytes::from_static(b"x"), qos, retain: false }
    }

    const LIMITS: FillLimits = FillLimits { window: 2, batch_bytes: 1 << 20, max_packet_bytes: 1 << 20 };

    fn owner(conn_id: u64) -> Owner {
        Owner {
            closed: Arc::new(Signal::default()),
            conn_id,
            kill: Arc::new(Signal::default()),
            waker: Arc::new(Notify::new()),
        }
    }

    #[test]
    fn offline_persistent_session_keeps_qos1_only() {
        let session = Session::new("c".into(), 10, Persistence::Forever);
        assert_eq!(session.enqueue(delivery(1)), Enqueued::Queued);
        assert_eq!(session.enqueue(delivery(0)), Enqueued::Skipped);
        assert_eq!(session.queued(), 1);
    }

    #[test]
    fn full_queue_drops() {
        let session = Session::new("c".into(), 2, Persistence::Forever);
        assert_eq!(session.enqueue(delivery(1)), Enqueued::Queued);
        assert_eq!(session.enqueue(delivery(1)), Enqueued::Queued);
        assert_eq!(session.enqueue(delivery(1)), Enqueued::Dropped);
    }

    #[test]
    fn window_limits_unacknowledged_messages_and_reconnect_resends_with_dup() {
        let session = Session::new("c".into(), 100, Persistence::Forever);
        session.attach(owner(1), Persistence::Forever);
        for _ in 0..5 {
            session.enqueue(delivery(1));
        }
        let mut out = BytesMut::new();
        assert_eq!(session.fill(1, Protocol::V4, &mut out, LIMITS).sent, 2);
        assert_eq!(session.fill(1, Protocol::V4, &mut out, LIMITS).sent, 0);
        session.acknowledged(1);
        assert_eq!(session.fill(1, Protocol::V4, &mut out, LIMITS).sent, 1);
        // A stale connection gets nothing.
        assert_eq!(session.fill(9, Protocol::V4, &mut out, LIMITS).sent, 0);

        assert_eq!(session.detach(1), Some(false));
        session.attach(owner(2), Persistence::Forever);
        let mut out = BytesMut::new();
        // The two unacknowledged ones again, and nothing new until acknowledged.
        assert_eq!(session.fill(2, Protocol::V4, &mut out, LIMITS).sent, 2);
        assert_eq!(out[0] & 0x08, 0x08, "dup flag set on a resend");
    }

    #[test]
    fn drops_messages_larger_than_the_client_accepts() {
        let session = Session::new("c".into(), 100, Persistence::Transient);
        session.attach(owner(1), Persistence::Transient);
        session.enqueue(Delivery { payload: Bytes::from(vec![0; 100]), ..delivery(0) });
        session.enqueue(delivery(0));
        let mut out = BytesMut::new();
        let limits = FillLimits { max_packet_bytes: 50, ..LIMITS };
        assert_eq!(session.fill(1, Protocol::V5, &mut out, limits), Filled { sent: 1, too_large: 1 });
    }
}
