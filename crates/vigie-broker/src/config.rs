//! Broker configuration: where to listen, and the limits that keep one client
//! from hurting the others.

use std::net::{Ipv4Addr, SocketAddr};

/// Configuration of the embedded broker.
///
/// Every limit is per connection or per session, so that a misbehaving client
/// hurts only itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// Address to listen on, e.g. `127.0.0.1:1883`; port 0 picks any free port.
    pub listen: SocketAddr,
    /// Largest MQTT packet accepted, fixed header included. A client that sends a
    /// bigger one is disconnected and the event is counted in `packet_errors_total`.
    pub max_packet_bytes: usize,
    /// Topic filter of the publishes handed to the [`Interceptor`](crate::Interceptor)
    /// and acknowledged only once it answers.
    pub intercept_filter: String,
    /// Further filters intercepted the same way (the hub adds its telemetry topics).
    pub also_intercept: Vec<String>,
    /// Intercepted publishes awaiting the interceptor's answer, per connection.
    /// Beyond it the broker stops reading that socket (back-pressure); nothing is dropped.
    pub max_inflight_per_client: usize,
    /// Messages queued for one session (offline persistent sessions, or a client
    /// that reads too slowly). Beyond it new messages are dropped and counted in
    /// `dropped_total`.
    pub max_queued_messages: usize,
}

impl BrokerConfig {
    /// Default port of MQTT over TCP.
    pub const DEFAULT_PORT: u16 = 1883;
    /// Default value of [`BrokerConfig::max_packet_bytes`]: 256 KiB.
    pub const DEFAULT_MAX_PACKET_BYTES: usize = 256 * 1024;
    /// Default value of [`BrokerConfig::intercept_filter`]: the detection topics
    /// of the contract v1.
    pub const DEFAULT_INTERCEPT_FILTER: &'static str = "vigie/v1/detections/+";
    /// Default value of [`BrokerConfig::max_inflight_per_client`].
    pub const DEFAULT_MAX_INFLIGHT_PER_CLIENT: usize = 1024;
    /// Default value of [`BrokerConfig::max_queued_messages`].
    pub const DEFAULT_MAX_QUEUED_MESSAGES: usize = 100_000;
}

impl BrokerConfig {
    /// Whether a publish on `topic` goes to the interceptor.
    pub fn intercepts(&self, topic: &str) -> bool {
        crate::topic::matches(topic, &self.intercept_filter)
            || self.also_intercept.iter().any(|f| crate::topic::matches(topic, f))
    }

    /// Every intercepted filter.
    pub(crate) fn intercepted_filters(&self) -> Vec<String> {
        std::iter::once(self.intercept_filter.clone()).chain(self.also_intercept.iter().cloned()).collect()
    }
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, Self::DEFAULT_PORT)),
            max_packet_bytes: Self::DEFAULT_MAX_PACKET_BYTES,
            intercept_filter: Self::DEFAULT_INTERCEPT_FILTER.to_string(),
            also_intercept: Vec::new(),
            max_inflight_per_client: Self::DEFAULT_MAX_INFLIGHT_PER_CLIENT,
            max_queued_messages: Self::DEFAULT_MAX_QUEUED_MESSAGES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BrokerConfig;

    #[test]
    fn intercepts_the_detection_topics_and_the_further_filters() {
        let mut cfg = BrokerConfig::default();
        assert!(cfg.intercepts("vigie/v1/detections/cam-1"));
        assert!(!cfg.intercepts("vigie/v1/telemetry/drone-1"));
        cfg.also_intercept.push("vigie/v1/telemetry/+".into());
        assert!(cfg.intercepts("vigie/v1/telemetry/drone-1"));
        assert!(!cfg.intercepts("vigie/v1/status/drone-1"));
    }
}
