//! The embedded broker, with the hub as its interceptor: a detection's PUBACK leaves only
//! after its commit, and a position fix's only once it is stored, so nothing acknowledged
//! is lost.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;
use vigie_broker::{
    Ack, Broker, BrokerConfig, BrokerError, BrokerHandle, ConnectRefusal, InboundPublish, Interceptor, RefusalCode,
};
use vigie_model::{FixRefusalReason, RefusalReason};

use super::{incident_message, status::on_status};
use crate::auth::{Auth, MqttRefusal};
use crate::ingest::{Ingest, Outcome};
use crate::metrics::Transport;

struct HubInterceptor {
    ingest: Ingest,
    auth: Auth,
}

impl Interceptor for HubInterceptor {
    /// A device connects with its token as the MQTT password.
    fn authenticate(
        &self,
        client_id: &str,
        _username: Option<&str>,
        password: Option<&[u8]>,
    ) -> Result<(), ConnectRefusal> {
        self.auth.mqtt_connect(client_id, password).map_err(|refusal| {
            tracing::info!(client_id, %refusal, "MQTT connection refused");
            match refusal {
                MqttRefusal::NoToken => ConnectRefusal::BadCredentials,
                MqttRefusal::ClientIdTaken { .. } | MqttRefusal::TooManyClientIds => ConnectRefusal::NotAuthorized,
            }
        })
    }

    /// A device publishes its own sensors' detections and status only.
    fn authorize(&self, client_id: &str, _username: Option<&str>, topic: &str, is_subscribe: bool) -> bool {
        let allowed = self.auth.mqtt_authorize(client_id, topic, is_subscribe);
        if !allowed && !is_subscribe && topic.starts_with(vigie_model::TELEMETRY_TOPIC_PREFIX) {
            self.ingest.record_fix_refusal(Transport::Mqtt, vigie_model::FixRefusalReason::SensorNotInToken);
        }
        if !allowed && !is_subscribe && topic.starts_with(vigie_model::DETECTION_TOPIC_PREFIX) {
            // Counted and sampled like any refused detection (the payload is not read).
            let refusal = vigie_model::Refusal::new(
                RefusalReason::SensorNotInToken,
                format!("client {client_id:?}: its token does not cover the sensor of topic {topic:?}"),
            );
            self.ingest.record_refusal(Transport::Mqtt, Some(topic), &refusal, b"");
        }
        allowed
    }

    fn on_publish(&self, publish: InboundPublish) -> oneshot::Receiver<Ack> {
        if let Some(sensor) = publish.topic.strip_prefix(vigie_model::TELEMETRY_TOPIC_PREFIX) {
            return on_fix(&self.ingest, sensor, &publish.payload);
        }
        let (tx, rx) = oneshot::channel();
        match self.ingest.check(Transport::Mqtt, &publish.payload, Some(&publish.topic)) {
            Err(refusal) => {
                let code = match refusal.reason {
                    RefusalReason::SensorMismatch | RefusalReason::Unauthorized | RefusalReason::SensorNotInToken => {
                        RefusalCode::NotAuthorized
                    }
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

/// A position fix: acknowledged once stored.
fn on_fix(ingest: &Ingest, sensor: &str, payload: &[u8]) -> oneshot::Receiver<Ack> {
    let (tx, rx) = oneshot::channel();
    match ingest.check_fix(Transport::Mqtt, sensor, payload, None) {
        Err(refusal) => {
            let code = match refusal.reason {
                FixRefusalReason::SensorNotInToken => RefusalCode::NotAuthorized,
                FixRefusalReason::UnknownSensor | FixRefusalReason::NotMobile => RefusalCode::Unspecified,
                _ => RefusalCode::PayloadFormatInvalid,
            };
            let _ = tx.send(Ack::Refused(code));
        }
        Ok((sensor, fix)) => {
            let ingest = ingest.clone();
            tokio::spawn(async move {
                let ack = match ingest.store_fixes(&sensor, &[fix]).await {
                    Ok(_) => Ack::Accepted,
                    Err(_) => Ack::Failed,
                };
                let _ = tx.send(ack);
            });
        }
    }
    rx
}

/// Starts the embedded broker on `listen` and wires it to ingest: detections in, sensor
/// status in, incident changes out.
pub async fn start_embedded(listen: SocketAddr, ingest: Ingest, auth: Auth) -> Result<BrokerHandle, BrokerError> {
    let cfg = BrokerConfig {
        listen,
        also_intercept: vec![format!("{}+", vigie_model::TELEMETRY_TOPIC_PREFIX)],
        ..BrokerConfig::default()
    };
    let broker = Broker::start(cfg, Arc::new(HubInterceptor { ingest: ingest.clone(), auth })).await?;

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
