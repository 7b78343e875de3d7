//! The embedded broker, with the hub as its interceptor: a detection's PUBACK leaves only
//! after its commit, so an acknowledged detection is never lost.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;
use vigie_broker::{Ack, Broker, BrokerConfig, BrokerError, BrokerHandle, InboundPublish, Interceptor, RefusalCode};
use vigie_model::RefusalReason;

use super::{incident_message, status::on_status};
use crate::ingest::{Ingest, Outcome};
use crate::metrics::Transport;

struct HubInterceptor {
    ingest: Ingest,
}

impl Interceptor for HubInterceptor {
    fn on_publish(&self, publish: InboundPublish) -> oneshot::Receiver<Ack> {
        let (tx, rx) = oneshot::channel();
        match self.ingest.check(Transport::Mqtt, &publish.payload, Some(&publish.topic)) {
            Err(refusal) => {
                let code = match refusal.reason {
                    RefusalReason::SensorMismatch | RefusalReason::Unauthorized => RefusalCode::NotAuthorized,
                    RefusalReason::UnknownSensor | RefusalReason::AnalyticNotConfigured => RefusalCode::Unspecified,
                    _ => RefusalCode::PayloadFormatInvalid,
                };
                let _ = tx.send(Ack::Refused(code));
            }
            Ok(detection) => self.ingest.submit_with(detection, move |outcome| {
                let _ = tx.send(match outcome {
                    Outcome::Accepted | Outcome::Duplicate => Ack::Accepted,
                    Outcome::Failed(_) => Ack::Failed,
                });
            }),
        }
        rx
    }
}

/// Starts the embedded broker on `listen` and wires it to ingest: detections in, sensor
/// status in, incident changes out.
pub async fn start_embedded(listen: SocketAddr, ingest: Ingest) -> Result<BrokerHandle, BrokerError> {
    let cfg = BrokerConfig { listen, ..BrokerConfig::default() };
    let broker = Broker::start(cfg, Arc::new(HubInterceptor { ingest: ingest.clone() })).await?;

    let mut status = broker.subscribe(&format!("{}+", vigie_model::STATUS_TOPIC_PREFIX), 4096);
    let status_ingest = ingest.clone();
    tokio::spawn(async move {
        while let Some(m) = status.recv().await {
            on_status(&status_ingest, &m.topic, &m.payload);
        }
    });

    let mut live = ingest.subscribe_incidents();
    let out = broker.clone();
    tokio::spawn(async move {
        loop {
            match live.recv().await {
                Ok(event) => {
                    if let Some((topic, payload)) = incident_message(&event) {
                        out.publish(&topic, payload.into(), false);
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "incident events to MQTT fell behind");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    Ok(broker)
}
