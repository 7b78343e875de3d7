//! The broker's entry points: [`Broker::start`] binds and spawns the accept loop,
//! [`BrokerHandle`] publishes, subscribes in-process, reads counters and stops.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::config::BrokerConfig;
use crate::connection;
use crate::error::BrokerError;
use crate::interceptor::Interceptor;
use crate::router::{Message, Router};
use crate::session::Session;
use crate::signal::Signal;
use crate::stats::{self, BrokerStats, Counters};
use crate::topic;

/// How often offline sessions are checked for expiry (MQTT 5 session expiry interval).
const SESSION_SWEEP_PERIOD: Duration = Duration::from_secs(10);
/// Largest remaining length of an MQTT packet (four-byte variable integer).
const MAX_REMAINING_LENGTH: usize = 268_435_455;
/// How long shutdown waits for connections to close before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// State shared by the accept loop, every connection and every handle.
pub(crate) struct Shared {
    pub cfg: BrokerConfig,
    pub interceptor: Arc<dyn Interceptor>,
    pub router: Router,
    /// Sessions by client id. Lock order: this map, then a session.
    pub sessions: Mutex<HashMap<String, Arc<Session>>>,
    pub counters: Arc<Counters>,
    pub shutdown: Signal,
    pub next_conn_id: AtomicU64,
}

impl Shared {
    /// Removes the offline sessions whose expiry interval has passed.
    fn sweep_expired_sessions(&self) {
        let now = Instant::now();
        let expired: Vec<Arc<Session>> = {
            let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
            let ids: Vec<String> =
                sessions.iter().filter(|(_, s)| s.is_expired(now)).map(|(id, _)| id.clone()).collect();
            ids.iter().filter_map(|id| sessions.remove(id)).collect()
        };
        for session in expired {
            let (filters, _) = session.discard();
            self.router.remove_session(&session, &filters);
            tracing::debug!(client_id = %session.client_id, "session expired");
        }
    }
}

/// The embedded MQTT broker.
#[derive(Debug)]
pub struct Broker;

impl Broker {
    /// Binds the listener and spawns the accept loop on the current tokio runtime.
    ///
    /// Fails with [`BrokerError::AddrInUse`] when the port is taken.
    pub async fn start(cfg: BrokerConfig, interceptor: Arc<dyn Interceptor>) -> Result<BrokerHandle, BrokerError> {
        validate(&cfg)?;
        let listener = TcpListener::bind(cfg.listen).await.map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                BrokerError::AddrInUse { addr: cfg.listen }
            } else {
                BrokerError::Bind { addr: cfg.listen, source }
            }
        })?;
        let local_addr = listener.local_addr().map_err(|source| BrokerError::Bind { addr: cfg.listen, source })?;
        let counters = Arc::new(Counters::default());
        let shared = Arc::new(Shared {
            router: Router::new(cfg.intercepted_filters(), Arc::clone(&counters)),
            cfg,
            interceptor,
            sessions: Mutex::new(HashMap::new()),
            counters,
            shutdown: Signal::default(),
            next_conn_id: AtomicU64::new(1),
        });
        let accept_task = tokio::spawn(accept_loop(Arc::clone(&shared), listener));
        tracing::info!(addr = %local_addr, "mqtt broker listening");
        Ok(BrokerHandle { shared, local_addr, accept_task: Arc::new(Mutex::new(Some(accept_task))) })
    }
}

fn validate(cfg: &BrokerConfig) -> Result<(), BrokerError> {
    let invalid = |field, reason: &str| Err(BrokerError::InvalidConfig { field, reason: reason.to_string() });
    if !topic::valid_filter(&cfg.intercept_filter) {
        return invalid("intercept_filter", "not a valid mqtt topic filter");
    }
    if !cfg.also_intercept.iter().all(|f| topic::valid_filter(f)) {
        return invalid("also_intercept", "not a valid mqtt topic filter");
    }
    if cfg.max_packet_bytes < 64 {
        return invalid("max_packet_bytes", "must be at least 64");
    }
    if cfg.max_inflight_per_client == 0 {
        return invalid("max_inflight_per_client", "must be at least 1");
    }
    if cfg.max_queued_messages == 0 {
        return invalid("max_queued_messages", "must be at least 1");
    }
    Ok(())
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut connections = JoinSet::new();
    let mut sweep = tokio::time::interval(SESSION_SWEEP_PERIOD);
    let shutdown = shared.shutdown.wait();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection::serve(Arc::clone(&shared), stream, peer));
                }
                Err(error) => {
                    // Usually out of file descriptors: wait instead of spinning.
                    tracing::warn!(%error, "mqtt accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(joined) = connections.join_next() => {
                if let Err(error) = joined
                    && error.is_panic()
                {
                    tracing::error!(%error, "mqtt connection task panicked");
                }
            }
            _ = sweep.tick() => shared.sweep_expired_sessions(),
        }
    }
    drop(listener);
    // Connections watch the same shutdown signal; give them time to say goodbye.
    let drained =
        tokio::time::timeout(SHUTDOWN_GRACE, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        connections.abort_all();
    }
}

/// A handle on a running broker; cheap to clone.
#[derive(Clone)]
pub struct BrokerHandle {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    accept_task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for BrokerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerHandle").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

impl BrokerHandle {
    /// The address the broker listens on (with the real port when port 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Publishes in-process, e.g. the hub's incident events and sensor status.
    /// Subscribers get it at their subscription's QoS (at most 1). `retain = true`
    /// stores it for future subscribers; an empty payload clears the retained message.
    /// Not handed to the interceptor, even on an intercepted topic.
    pub fn publish(&self, topic: &str, payload: Bytes, retain: bool) {
        if !topic::valid_topic_name(topic) {
            tracing::warn!(topic, "in-process publish refused: invalid topic name");
            return;
        }
        // The largest remaining length MQTT can encode, less the topic and header fields.
        if payload.len() + topic.len() + 8 > MAX_REMAINING_LENGTH {
            tracing::warn!(topic, payload_bytes = payload.len(), "in-process publish refused: payload too large");
            return;
        }
        stats::add(&self.shared.counters.publishes_received_total, 1);
        self.shared.router.publish(None, topic, payload, 1, retain);
    }

    /// Subscribes in-process; `filter` may use the `+` and `#` wildcards. Retained
    /// messages that match are sent first. The channel holds `capacity` messages;
    /// when it is full, new messages for it are dropped and counted in `dropped_total`.
    /// Dropping the receiver ends the subscription.
    pub fn subscribe(&self, filter: &str, capacity: usize) -> mpsc::Receiver<Message> {
        self.shared.router.subscribe_local(filter, capacity)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> BrokerStats {
        self.shared.counters.snapshot()
    }

    /// Stops accepting, closes every connection (without publishing wills) and
    /// closes the in-process subscriptions. Sessions are forgotten.
    pub async fn shutdown(self) {
        self.shared.shutdown.fire();
        let task = self.accept_task.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(task) = task
            && let Err(error) = task.await
        {
            tracing::error!(%error, "mqtt accept loop failed");
        }
        self.shared.router.clear();
        self.shared.sessions.lock().unwrap_or_else(PoisonError::into_inner).clear();
        tracing::info!(addr = %self.local_addr, "mqtt broker stopped");
    }
}

/// Counts a decrement of a gauge.
pub(crate) fn decrement(counter: &AtomicU64) {
    counter.fetch_sub(1, Ordering::Relaxed);
}
