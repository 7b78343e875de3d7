//! The flags every edge analytic shares to hand its detections to the hub, and the one
//! function that does it (`vigie-publish` holds the transports).

use std::time::Duration;

use clap::Args;
use vigie_model::Detection;
use vigie_publish::{Publisher, PublisherConfig, Target};

use crate::UsageError;

/// `--hub` and `--token`, flattened into each edge command.
#[derive(Args, Debug, Clone, Default)]
pub struct PublishArgs {
    /// Publish detections to the hub: `http://host:port` (NDJSON, answered after the
    /// commit), `mqtt://host:port` (QoS 1), or `-` (NDJSON on stdout).
    #[arg(long, value_name = "TARGET")]
    pub hub: Option<String>,
    /// The device token the hub issued for these sensors (`vigie token create`).
    #[arg(long, env = "VIGIE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl PublishArgs {
    /// A publisher for `--hub`, or `None` when none was given.
    pub fn connect(&self, client_id: &str) -> anyhow::Result<Option<Publisher>> {
        let Some(hub) = &self.hub else { return Ok(None) };
        let target: Target = hub.parse().map_err(|e| UsageError(format!("--hub: {e}")))?;
        let config = PublisherConfig::new(target, client_id).token(self.token.clone());
        Ok(Some(Publisher::connect(config)?))
    }
}

/// Publishes, waits for the hub's confirmation, and tells what happened on stderr. A
/// refusal is reported, not fatal: the hub counted it and keeps a sample.
pub fn publish_and_report(publisher: &mut Publisher, detections: &[Detection]) -> anyhow::Result<()> {
    if detections.is_empty() {
        return Ok(());
    }
    let report = publisher.publish(detections)?;
    publisher.flush(Duration::from_secs(60))?;
    let target = publisher.target();
    if report.queued > 0 {
        eprintln!("{} detection(s) published to {target}", report.queued);
    } else {
        eprintln!(
            "{target}: {} accepted, {} duplicate, {} refused",
            report.accepted,
            report.duplicate,
            report.refused.len()
        );
    }
    for r in &report.refused {
        eprintln!("  refused {}: {} {}", r.id, r.reason, r.detail);
    }
    Ok(())
}
