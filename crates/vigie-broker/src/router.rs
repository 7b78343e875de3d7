//! Routing: the subscription trie, retained messages and in-process subscribers.
//!
//! One `RwLock`ed trie keyed by topic level: publishes take the read lock (in
//! parallel), SUBSCRIBE and UNSUBSCRIBE the write lock. Delivery only pushes
//! onto a session's queue, so the read lock is held for microseconds.
//! Lock order: the trie, then a session's lock; never the reverse.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::session::{Delivery, Enqueued, Session};
use crate::stats::{self, Counters};
use crate::topic;

/// A message received by an in-process subscriber
/// ([`BrokerHandle::subscribe`](crate::BrokerHandle::subscribe)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Topic name it was published on.
    pub topic: String,
    /// Payload as published.
    pub payload: Bytes,
    /// `true` when it is a retained message sent because the subscription is new.
    pub retain: bool,
}

enum Subscriber {
    Session { session: Arc<Session>, qos: u8, no_local: bool },
    Local { id: u64, tx: mpsc::Sender<Message> },
}

/// `$share/{name}/{filter}`: each message goes to one member, in turn.
struct SharedGroup {
    name: String,
    members: Vec<(Arc<Session>, u8)>,
    next: AtomicUsize,
}

#[derive(Default)]
struct Node {
    children: HashMap<Box<str>, Node>,
    subscribers: Vec<Subscriber>,
    groups: Vec<SharedGroup>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.children.is_empty() && self.subscribers.is_empty() && self.groups.is_empty()
    }

    fn find_or_create(&mut self, filter: &str) -> &mut Node {
        filter.split('/').fold(self, |node, level| node.children.entry(level.into()).or_default())
    }

    /// Applies `remove` to the node of `filter` and prunes the nodes left empty.
    /// Returns what `remove` returned (false when the node does not exist).
    fn remove_at(&mut self, filter: Option<&str>, remove: &mut dyn FnMut(&mut Node) -> bool) -> bool {
        let Some(filter) = filter else {
            return remove(self);
        };
        let (level, rest) = match filter.split_once('/') {
            Some((level, rest)) => (level, Some(rest)),
            None => (filter, None),
        };
        let Some(child) = self.children.get_mut(level) else {
            return false;
        };
        let removed = child.remove_at(rest, remove);
        if child.is_empty() {
            self.children.remove(level);
        }
        removed
    }
}

/// Calls `visit` on every node whose filter matches the rest of the topic.
/// `rest` is `None` once every level is consumed.
fn walk<'a>(node: &'a Node, rest: Option<&str>, first: bool, visit: &mut impl FnMut(&'a Node)) {
    let Some(rest) = rest else {
        visit(node);
        // "a/#" also matches "a".
        if let Some(hash) = node.children.get("#") {
            visit(hash);
        }
        return;
    };
    let (level, next) = match rest.split_once('/') {
        Some((level, next)) => (level, Some(next)),
        None => (rest, None),
    };
    // Topics starting with '$' are not matched by a leading wildcard.
    if !(first && level.starts_with('$')) {
        if let Some(hash) = node.children.get("#") {
            visit(hash);
        }
        if let Some(plus) = node.children.get("+") {
            walk(plus, next, false, visit);
        }
    }
    if let Some(child) = node.children.get(level) {
        walk(child, next, false, visit);
    }
}

struct Retained {
    topic: Bytes,
    payload: Bytes,
    qos: u8,
}

/// A retained message to send to a new subscriber.
pub(crate) struct RetainedMessage {
    pub topic: Bytes,
    pub payload: Bytes,
    pub qos: u8,
}

pub(crate) struct Router {
    trie: RwLock<Node>,
    retained: RwLock<HashMap<String, Retained>>,
    /// Number of subscriptions: zero means nothing to route.
    subscriptions: AtomicUsize,
    /// Subscriptions whose filter overlaps the intercept filter: zero means an
    /// accepted detection needs no routing at all.
    intercept_overlaps: AtomicUsize,
    intercept_filters: Vec<String>,
    /// In-process subscriptions by id, to remove those whose receiver is gone.
    locals: Mutex<HashMap<u64, String>>,
    next_local_id: AtomicU64,
    counters: Arc<Counters>,
}

impl Router {
    pub fn new(intercept_filters: Vec<String>, counters: Arc<Counters>) -> Router {
        Router {
            trie: RwLock::new(Node::default()),
            retained: RwLock::new(HashMap::new()),
            subscriptions: AtomicUsize::new(0),
            intercept_overlaps: AtomicUsize::new(0),
            intercept_filters,
            locals: Mutex::new(HashMap::new()),
            next_local_id: AtomicU64::new(1),
            counters,
        }
    }

    /// Does any subscription possibly match an intercepted topic?
    pub fn intercepted_have_subscribers(&self) -> bool {
        self.intercept_overlaps.load(Ordering::Relaxed) > 0
    }

    fn count_subscription(&self, filter: &str, delta: isize) {
        let apply = |counter: &AtomicUsize| {
            if delta > 0 {
                counter.fetch_add(1, Ordering::Relaxed);
            } else {
                counter.fetch_sub(1, Ordering::Relaxed);
            }
        };
        apply(&self.subscriptions);
        if self.intercept_filters.iter().any(|f| topic::filters_overlap(filter, f)) {
            apply(&self.intercept_overlaps);
        }
    }

    /// Adds or updates a client's subscription; `raw_filter` may be a
    /// `$share/{group}/{filter}`. Returns `false` for an invalid filter.
    pub fn subscribe_session(&self, session: &Arc<Session>, raw_filter: &str, qos: u8, no_local: bool) -> bool {
        let Some(parsed) = topic::parse_filter(raw_filter) else {
            return false;
        };
        let mut trie = self.trie.write().unwrap_or_else(PoisonError::into_inner);
        let node = trie.find_or_create(parsed.filter);
        let added = match parsed.group {
            None => {
                let existing = node.subscribers.iter_mut().find_map(|s| match s {
                    Subscriber::Session { session: s, qos, no_local } if Arc::ptr_eq(s, session) => {
                        Some((qos, no_local))
                    }
                    _ => None,
                });
                match existing {
                    Some((old_qos, old_no_local)) => {
                        *old_qos = qos;
                        *old_no_local = no_local;
                        false
                    }
                    None => {
                        node.subscribers.push(Subscriber::Session { session: Arc::clone(session), qos, no_local });
                        true
                    }
                }
            }
            Some(name) => {
                let index = match node.groups.iter().position(|g| g.name == name) {
                    Some(index) => index,
                    None => {
                        node.groups.push(SharedGroup {
                            name: name.to_string(),
                            members: Vec::new(),
                            next: AtomicUsize::new(0),
                        });
                        node.groups.len() - 1
                    }
                };
                let group = &mut node.groups[index];
                match group.members.iter_mut().find(|(s, _)| Arc::ptr_eq(s, session)) {
                    Some((_, old_qos)) => {
                        *old_qos = qos;
                        false
                    }
                    None => {
                        group.members.push((Arc::clone(session), qos));
                        true
                    }
                }
            }
        };
        drop(trie);
        if added {
            self.count_subscription(parsed.filter, 1);
        }
        true
    }

    /// Removes a client's subscription; `true` if it existed.
    pub fn unsubscribe_session(&self, session: &Arc<Session>, raw_filter: &str) -> bool {
        let mut trie = self.trie.write().unwrap_or_else(PoisonError::into_inner);
        self.unsubscribe_locked(&mut trie, session, raw_filter)
    }

    fn unsubscribe_locked(&self, trie: &mut Node, session: &Arc<Session>, raw_filter: &str) -> bool {
        let Some(parsed) = topic::parse_filter(raw_filter) else {
            return false;
        };
        let removed = trie.remove_at(Some(parsed.filter), &mut |node| match parsed.group {
            None => {
                let before = node.subscribers.len();
                node.subscribers
                    .retain(|s| !matches!(s, Subscriber::Session { session: s, .. } if Arc::ptr_eq(s, session)));
                node.subscribers.len() != before
            }
            Some(name) => {
                let Some(index) = node.groups.iter().position(|g| g.name == name) else {
                    return false;
                };
                let group = &mut node.groups[index];
                let before = group.members.len();
                group.members.retain(|(s, _)| !Arc::ptr_eq(s, session));
                let removed = group.members.len() != before;
                if group.members.is_empty() {
                    node.groups.swap_remove(index);
                }
                removed
            }
        });
        if removed {
            self.count_subscription(parsed.filter, -1);
        }
        removed
    }

    /// Removes every subscription of a session that ends.
    pub fn remove_session(&self, session: &Arc<Session>, filters: &[String]) {
        if filters.is_empty() {
            return;
        }
        let mut trie = self.trie.write().unwrap_or_else(PoisonError::into_inner);
        for filter in filters {
            self.unsubscribe_locked(&mut trie, session, filter);
        }
    }

    /// An in-process subscription. An invalid filter gives a receiver that is
    /// already closed.
    pub fn subscribe_local(&self, filter: &str, capacity: usize) -> mpsc::Receiver<Message> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        if !topic::valid_filter(filter) {
            tracing::warn!(filter, "in-process subscription refused: invalid topic filter");
            return rx;
        }
        for retained in self.retained_for(filter) {
            let message = Message {
                topic: String::from_utf8_lossy(&retained.topic).into_owned(),
                payload: retained.payload,
                retain: true,
            };
            if tx.try_send(message).is_err() {
                stats::add(&self.counters.dropped_total, 1);
            }
        }
        let id = self.next_local_id.fetch_add(1, Ordering::Relaxed);
        self.locals.lock().unwrap_or_else(PoisonError::into_inner).insert(id, filter.to_string());
        let mut trie = self.trie.write().unwrap_or_else(PoisonError::into_inner);
        trie.find_or_create(filter).subscribers.push(Subscriber::Local { id, tx });
        drop(trie);
        self.count_subscription(filter, 1);
        rx
    }

    fn remove_locals(&self, ids: &[u64]) {
        let filters: Vec<(u64, String)> = {
            let mut locals = self.locals.lock().unwrap_or_else(PoisonError::into_inner);
            ids.iter().filter_map(|id| locals.remove(id).map(|f| (*id, f))).collect()
        };
        let mut trie = self.trie.write().unwrap_or_else(PoisonError::into_inner);
        for (id, filter) in filters {
            let removed = trie.remove_at(Some(&filter), &mut |node| {
                let before = node.subscribers.len();
                node.subscribers.retain(|s| !matches!(s, Subscriber::Local { id: i, .. } if *i == id));
                node.subscribers.len() != before
            });
            if removed {
                self.count_subscription(&filter, -1);
            }
        }
    }

    /// Retained messages whose topic matches `filter`.
    pub fn retained_for(&self, filter: &str) -> Vec<RetainedMessage> {
        let retained = self.retained.read().unwrap_or_else(PoisonError::into_inner);
        retained
            .iter()
            .filter(|(topic, _)| topic::matches(topic, filter))
            .map(|(_, r)| RetainedMessage { topic: r.topic.clone(), payload: r.payload.clone(), qos: r.qos })
            .collect()
    }

    /// Routes a message to every matching subscriber; `origin` is the publishing
    /// client, for MQTT 5 no-local subscriptions. A retained message with an empty
    /// payload clears the retained message of its topic.
    pub fn publish(&self, origin: Option<&str>, topic: &str, payload: Bytes, qos: u8, retain: bool) {
        if retain {
            let mut retained = self.retained.write().unwrap_or_else(PoisonError::into_inner);
            if payload.is_empty() {
                retained.remove(topic);
            } else {
                retained.insert(
                    topic.to_string(),
                    Retained { topic: Bytes::copy_from_slice(topic.as_bytes()), payload: payload.clone(), qos },
                );
            }
        }
        if self.subscriptions.load(Ordering::Relaxed) == 0 {
            return;
        }

        let mut topic_bytes: Option<Bytes> = None;
        let mut delivered = 0u64;
        let mut dropped = 0u64;
        let mut dead_locals: Vec<u64> = Vec::new();
        let mut count = |outcome: Enqueued| match outcome {
            Enqueued::Queued => delivered += 1,
            Enqueued::Dropped => dropped += 1,
            Enqueued::Skipped => {}
        };

        let trie = self.trie.read().unwrap_or_else(PoisonError::into_inner);
        walk(&trie, Some(topic), true, &mut |node: &Node| {
            let mut delivery = |sub_qos: u8| Delivery {
                topic: topic_bytes.get_or_insert_with(|| Bytes::copy_from_slice(topic.as_bytes())).clone(),
                payload: payload.clone(),
                qos: qos.min(sub_qos),
                retain: false,
            };
            for subscriber in &node.subscribers {
                match subscriber {
                    Subscriber::Session { session, qos: sub_qos, no_local } => {
                        if *no_local && origin == Some(session.client_id.as_str()) {
                            continue;
                        }
                        count(session.enqueue(delivery(*sub_qos)));
                    }
                    Subscriber::Local { id, tx } => {
                        let message = Message { topic: topic.to_string(), payload: payload.clone(), retain: false };
                        match tx.try_send(message) {
                            Ok(()) => count(Enqueued::Queued),
                            Err(TrySendError::Full(_)) => count(Enqueued::Dropped),
                            Err(TrySendError::Closed(_)) => dead_locals.push(*id),
                        }
                    }
                }
            }
            for group in &node.groups {
                let members = group.members.len();
                if members == 0 {
                    continue;
                }
                let start = group.next.fetch_add(1, Ordering::Relaxed);
                // Prefer a connected member; an offline persistent one only if none is.
                let chosen = (0..members)
                    .map(|i| &group.members[(start + i) % members])
                    .find(|(s, _)| s.is_online())
                    .or_else(|| group.members.get(start % members));
                if let Some((session, sub_qos)) = chosen {
                    count(session.enqueue(delivery(*sub_qos)));
                }
            }
        });
        drop(trie);

        stats::add(&self.counters.publishes_delivered_total, delivered);
        stats::add(&self.counters.dropped_total, dropped);
        if !dead_locals.is_empty() {
            self.remove_locals(&dead_locals);
        }
    }

    /// Forgets every subscription (shutdown): in-process receivers see their channel close.
    pub fn clear(&self) {
        let mut trie = self.trie.write().unwrap_or_else(PoisonError::into_inner);
        *trie = Node::default();
        self.subscriptions.store(0, Ordering::Relaxed);
        self.intercept_overlaps.store(0, Ordering::Relaxed);
        self.locals.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Persistence;

    fn router() -> Router {
        Router::new(vec!["vigie/v1/detections/+".into()], Arc::new(Counters::default()))
    }

    #[test]
    fn local_subscribers_receive_matching_topics() {
        let router = router();
        let mut all = router.subscribe_local("#", 10);
        let mut status = router.subscribe_local("vigie/v1/status/+", 10);
        router.publish(None, "vigie/v1/status/cam-1", Bytes::from_static(b"online"), 1, false);
        router.publish(None, "$SYS/uptime", Bytes::from_static(b"1"), 0, false);
        assert_eq!(all.try_recv().unwrap().topic, "vigie/v1/status/cam-1");
        assert!(all.try_recv().is_err(), "$-topics escape '#'");
        assert_eq!(status.try_recv().unwrap().payload, Bytes::from_static(b"online"));
    }

    #[test]
    fn tracks_subscribers_of_intercepted_topics() {
        let router = router();
        let session = Session::new("c".into(), 10, Persistence::Transient);
        assert!(!router.intercepted_have_subscribers());
        assert!(router.subscribe_session(&session, "vigie/v1/status/#", 1, false));
        assert!(!router.intercepted_have_subscribers());
        assert!(router.subscribe_session(&session, "vigie/#", 1, false));
        assert!(router.intercepted_have_subscribers());
        assert!(router.unsubscribe_session(&session, "vigie/#"));
        assert!(!router.intercepted_have_subscribers());
        assert!(!router.unsubscribe_session(&session, "vigie/#"));
    }

    #[test]
    fn retained_messages_are_stored_and_cleared() {
        let router = router();
        router.publish(None, "a/b", Bytes::from_static(b"x"), 1, true);
        assert_eq!(router.retained_for("a/+").len(), 1);
        router.publish(None, "a/b", Bytes::new(), 1, true);
        assert!(router.retained_for("#").is_empty());
    }

    #[test]
    fn closed_local_receivers_are_removed() {
        let router = router();
        drop(router.subscribe_local("a/#", 1));
        router.publish(None, "a/b", Bytes::from_static(b"x"), 0, false);
        assert_eq!(router.subscriptions.load(Ordering::Relaxed), 0);
        assert!(router.trie.read().unwrap().is_empty());
    }
}
