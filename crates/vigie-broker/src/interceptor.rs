//! The seam between the broker and the hub: authentication, authorization and
//! the hand-over of intercepted publishes.
//!
//! An intercepted QoS 1 publish is acknowledged to its client only once the hub
//! has answered [`Ack::Accepted`] or [`Ack::Refused`]; so an acknowledged
//! detection is never lost.

use bytes::Bytes;
use tokio::sync::oneshot;

/// A publish whose topic matches
/// [`BrokerConfig::intercept_filter`](crate::BrokerConfig::intercept_filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundPublish {
    /// Client identifier of the publisher.
    pub client_id: String,
    /// User name the publisher logged in with, if any.
    pub username: Option<String>,
    /// Topic name, e.g. `vigie/v1/detections/cam-commerce-03`.
    pub topic: String,
    /// Payload as received.
    pub payload: Bytes,
    /// QoS of the publish: 0, 1 or 2.
    pub qos: u8,
}

/// The hub's answer to an intercepted publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// Committed: acknowledge (MQTT 5 reason 0) and route to matching subscribers.
    Accepted,
    /// Will never be accepted: acknowledge with a reason code (MQTT 5) and do not route.
    Refused(RefusalCode),
    /// The hub could not commit: no acknowledgement; the connection is closed so that
    /// the client sends the publish again once reconnected. (For a QoS 0 publish,
    /// which no client resends, nothing happens.)
    Failed,
}

/// Why an intercepted publish was refused; sent as the MQTT 5 PUBACK reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalCode {
    /// The payload is not a valid detection (0x99).
    PayloadFormatInvalid,
    /// The publisher may not publish there (0x87).
    NotAuthorized,
    /// The topic name is not acceptable (0x90).
    TopicNameInvalid,
    /// Any other reason (0x80).
    Unspecified,
}

impl RefusalCode {
    /// The MQTT 5 reason code of this refusal.
    pub fn reason_code(self) -> u8 {
        match self {
            RefusalCode::PayloadFormatInvalid => 0x99,
            RefusalCode::NotAuthorized => 0x87,
            RefusalCode::TopicNameInvalid => 0x90,
            RefusalCode::Unspecified => 0x80,
        }
    }
}

/// Why a CONNECT is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectRefusal {
    /// Unknown user name or wrong password (MQTT 3.1.1 code 4, MQTT 5 0x86).
    BadCredentials,
    /// The client may not connect (MQTT 3.1.1 code 5, MQTT 5 0x87).
    NotAuthorized,
}

/// What the broker asks of its host (the hub). Methods are called on the
/// connection's task: they must not block.
pub trait Interceptor: Send + Sync + 'static {
    /// Checks the credentials of a CONNECT. Default: allow everyone.
    fn authenticate(
        &self,
        client_id: &str,
        username: Option<&str>,
        password: Option<&[u8]>,
    ) -> Result<(), ConnectRefusal> {
        let _ = (client_id, username, password);
        Ok(())
    }

    /// Called for every PUBLISH (intercepted or not, `is_subscribe == false`) and every
    /// SUBSCRIBE filter (`is_subscribe == true`). Default: allow.
    fn authorize(&self, client_id: &str, username: Option<&str>, topic: &str, is_subscribe: bool) -> bool {
        let _ = (client_id, username, topic, is_subscribe);
        true
    }

    /// Receives a publish whose topic matches the intercept filter. The broker keeps
    /// reading the connection while answers are pending (up to
    /// `max_inflight_per_client`) and acknowledges in the order the publishes came.
    /// Dropping the sender counts as [`Ack::Failed`].
    fn on_publish(&self, publish: InboundPublish) -> oneshot::Receiver<Ack>;
}
