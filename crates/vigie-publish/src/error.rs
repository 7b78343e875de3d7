//! What can go wrong when publishing.

use std::time::Duration;

/// An error of the transport or of the hub's answer. Detections it concerns may be sent
/// again: their ids make a resend harmless.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    #[error("invalid target {target:?}: {detail} (expected http://host:port[/prefix], mqtt://host:port or -)")]
    InvalidTarget { target: String, detail: String },
    #[error("cannot reach the hub at {target}: {detail}")]
    Unreachable { target: String, detail: String },
    #[error("the hub at {target} answered {status}: {body}")]
    Status { target: String, status: u16, body: String },
    #[error("the hub at {target} refused the device token ({status}): {body}")]
    Unauthorized { target: String, status: u16, body: String },
    #[error("malformed answer from {target}: {detail}")]
    MalformedAnswer { target: String, detail: String },
    #[error("{unacked} detection(s) not acknowledged by {target} after {waited:?}")]
    NotAcknowledged { target: String, unacked: u64, waited: Duration },
    #[error("writing to standard output: {0}")]
    Stdout(#[source] std::io::Error),
    #[error("evidence cannot be uploaded over {target}: give an http:// evidence target")]
    NoEvidenceRoute { target: String },
    #[error(
        "evidence of type {media_type:?} is not accepted (image/jpeg, image/png, audio/wav, video/mp4, application/json)"
    )]
    EvidenceType { media_type: String },
}
