//! Errors of the broker's public API.

use std::net::SocketAddr;

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// The listen address is already taken by another process.
    #[error("address {addr} is already in use")]
    AddrInUse {
        /// The address that was asked for.
        addr: SocketAddr,
    },
    /// Binding the listener failed for another reason (permissions, bad interface).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A configuration value is out of range.
    #[error("invalid broker configuration: {field}: {reason}")]
    InvalidConfig {
        /// The field of [`BrokerConfig`](crate::BrokerConfig) at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}
