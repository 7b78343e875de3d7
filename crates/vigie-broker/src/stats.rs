//! Counters of the broker, read by the hub's telemetry
//! (`vigie_broker_<name>` metrics).

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the broker's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrokerStats {
    /// Connections open now (after a successful CONNECT).
    pub connections_current: u64,
    /// Connections accepted (CONNACK success) since start.
    pub connections_total: u64,
    /// PUBLISH packets received from clients, and in-process publishes.
    pub publishes_received_total: u64,
    /// Messages handed to a subscriber (queued for a client or sent to an in-process channel).
    pub publishes_delivered_total: u64,
    /// Publishes handed to the interceptor.
    pub intercepted_total: u64,
    /// Refusals: publishes refused by the interceptor or not authorized, CONNECTs and
    /// subscriptions refused.
    pub refused_total: u64,
    /// Messages dropped: full session queue, full in-process channel.
    pub dropped_total: u64,
    /// Connections closed for a malformed, oversized or forbidden packet.
    pub packet_errors_total: u64,
}

/// The live counters, shared by every task of the broker.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub connections_current: AtomicU64,
    pub connections_total: AtomicU64,
    pub publishes_received_total: AtomicU64,
    pub publishes_delivered_total: AtomicU64,
    pub intercepted_total: AtomicU64,
    pub refused_total: AtomicU64,
    pub dropped_total: AtomicU64,
    pub packet_errors_total: AtomicU64,
}

/// Adds to a counter; counters are statistics, no ordering is needed.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    if n != 0 {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

impl Counters {
    pub fn snapshot(&self) -> BrokerStats {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        BrokerStats {
            connections_current: read(&self.connections_current),
            connections_total: read(&self.connections_total),
            publishes_received_total: read(&self.publishes_received_total),
            publishes_delivered_total: read(&self.publishes_delivered_total),
            intercepted_total: read(&self.intercepted_total),
            refused_total: read(&self.refused_total),
            dropped_total: read(&self.dropped_total),
            packet_errors_total: read(&self.packet_errors_total),
        }
    }
}
