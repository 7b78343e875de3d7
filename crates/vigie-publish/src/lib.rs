//! How edge analytics (`vigie video`, `audio`, `flows`, `social`) hand detections to the hub.
//!
//! One [`Publisher`] per producer, built from a [`Target`]:
//!
//! - `http://host:port[/prefix]`: `POST {prefix}/api/v1/detections`, NDJSON, answered after
//!   the hub's commit with a result per line (accepted, duplicate, refused with its reason);
//! - `mqtt://host:port`: QoS 1 on `vigie/v1/detections/{sensor}`; [`Publisher::flush`] waits
//!   for every PUBACK, which the hub sends only after its commit;
//! - `-`: NDJSON on standard output (for pipes and files).
//!
//! Detection ids are idempotency keys, so resending after a lost answer never duplicates:
//! the HTTP transport retries with back-off on connection errors and 5xx answers, and the
//! MQTT transport keeps unacknowledged messages in a persistent session across reconnects.
//! A device token, when given, goes in `Authorization: Bearer` (HTTP) or as the MQTT
//! password; the hub accepts a token only for its own sensors.

mod error;
mod evidence;
mod http;
mod mqtt;
mod publisher;
mod target;

pub use error::PublishError;
pub use evidence::{evidence_for, extension_for};
pub use publisher::{PublishReport, Publisher, PublisherConfig, Refused, SensorStatus};
pub use target::Target;
