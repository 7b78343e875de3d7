//! Embedded MQTT broker of the Vigie hub.
//!
//! A small MQTT 3.1.1 and MQTT 5 broker that the hub runs in its own process (the
//! "embedded default" of the architecture). Its one special feature: a PUBLISH
//! whose topic matches [`BrokerConfig::intercept_filter`] (by default the detection
//! topics `vigie/v1/detections/{sensor_id}`) is handed to the hub through an
//! [`Interceptor`], and its PUBACK is sent only once the hub has answered, that is
//! once the detection is committed to the store. An acknowledged detection is
//! never lost.
//!
//! Otherwise it is a plain broker: QoS 0, 1 and 2 from clients (QoS 2 is delivered
//! once, subscriptions are granted at most QoS 1), `+` and `#` wildcards, `$`
//! topics hidden from leading wildcards, `$share/{group}/{filter}` shared
//! subscriptions, retained messages, last wills, keepalive, and persistent
//! sessions.
//!
//! Limits worth knowing:
//! - Sessions and retained messages live in memory only; a restart forgets them.
//! - An offline persistent session queues QoS 1 messages only, up to
//!   [`BrokerConfig::max_queued_messages`]; QoS 0 messages for it are not kept.
//! - A client with overlapping subscriptions gets one copy per matching subscription.
//! - MQTT 5 will delay, message expiry, topic aliases, subscription identifiers
//!   and enhanced authentication are not supported (a topic alias closes the
//!   connection, as the CONNACK announces none).
//! - No TLS: bind to a local or private interface, or put a TLS proxy in front.
//!
//! ```no_run
//! use std::sync::Arc;
//! use tokio::sync::oneshot;
//! use vigie_broker::{Ack, Broker, BrokerConfig, InboundPublish, Interceptor};
//!
//! struct Hub;
//! impl Interceptor for Hub {
//!     fn on_publish(&self, publish: InboundPublish) -> oneshot::Receiver<Ack> {
//!         let (tx, rx) = oneshot::channel();
//!         // Commit `publish.payload`, then answer.
//!         let _ = tx.send(Ack::Accepted);
//!         rx
//!     }
//! }
//!
//! # async fn run() -> Result<(), vigie_broker::BrokerError> {
//! let broker = Broker::start(BrokerConfig::default(), Arc::new(Hub)).await?;
//! broker.publish("vigie/v1/incidents/new", "{}".into(), false);
//! broker.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod broker;
mod codec;
mod config;
mod connection;
mod error;
mod interceptor;
mod router;
mod session;
mod signal;
mod stats;
mod topic;

pub use broker::{Broker, BrokerHandle};
pub use config::BrokerConfig;
pub use error::BrokerError;
pub use interceptor::{Ack, ConnectRefusal, InboundPublish, Interceptor, RefusalCode};
pub use router::Message;
pub use stats::BrokerStats;
