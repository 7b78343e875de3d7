//! An external MQTT broker (Mosquitto, EMQX, VerneMQ, NATS's MQTT gateway).
//!
//! The hub connects with a persistent session (clean session off, fixed client id) and
//! manual acknowledgements: a detection is PUBACKed only after its commit, so if the hub
//! dies the broker keeps and redelivers what was not acknowledged. With several hubs, a
//! shared subscription (`$share/{group}/…`) spreads the load.
//!
//! Broker settings that matter: Mosquitto queues at most 1000 messages per offline
//! persistent session and keeps 20 in flight by default; set `max_queued_messages 0` (or a
//! large bound) and `max_inflight_messages 1000` for the hub (docs/deployment.md).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use vigie_model::{DETECTION_TOPIC_PREFIX, STATUS_TOPIC_PREFIX, TELEMETRY_TOPIC_PREFIX};

use super::{incident_message, status::on_status};
use crate::ingest::{Ingest, Outcome};
use crate::metrics::Transport;

/// Where and how to reach an external broker.
#[derive(Debug, Clone)]
pub struct ExternalBroker {
    pub host: String,
    pub port: u16,
    /// Persistent session id: keep it stable across restarts.
    pub client_id: String,
    pub share_group: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl ExternalBroker {
    /// Parses `mqtt://[user[:password]@]host[:port]`.
    pub fn parse(url: &str) -> Result<ExternalBroker, String> {
        let rest = url.strip_prefix("mqtt://").ok_or_else(|| format!("{url:?} must start with mqtt://"))?;
        let rest = rest.trim_end_matches('/');
        let (creds, hostport) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("port {p:?} in {url:?} is not a number"))?),
            None => (hostport, 1883),
        };
        if host.is_empty() {
            return Err(format!("{url:?} has no host"));
        }
        let (username, password) = match creds {
            Some(c) => match c.split_once(':') {
                Some((u, p)) => (Some(u.to_owned()), Some(p.to_owned())),
                None => (Some(c.to_owned()), None),
            },
            None => (None, None),
        };
        Ok(ExternalBroker {
            host: host.to_owned(),
            port,
            client_id: "vigie-hub".into(),
            share_group: None,
            username,
            password,
        })
    }

    fn detection_filter(&self) -> String {
        self.shared(format!("{DETECTION_TOPIC_PREFIX}+"))
    }

    fn telemetry_filter(&self) -> String {
        self.shared(format!("{TELEMETRY_TOPIC_PREFIX}+"))
    }

    fn shared(&self, f: String) -> String {
        match &self.share_group {
            Some(g) => format!("$share/{g}/{f}"),
            None => f,
        }
    }
}

/// A running connection to an external broker, from [`start_external`].
pub struct ExternalClient {
    pub client: AsyncClient,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl ExternalClient {
    /// Drops the connection (without DISCONNECT, as a crash would) and stops consuming. The
    /// broker keeps the persistent session and redelivers what was not acknowledged.
    pub async fn stop(self) {
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
    }
}

/// Connects and keeps consuming until [`ExternalClient::stop`] or the runtime stops;
/// reconnects with back-off.
pub fn start_external(broker: ExternalBroker, ingest: Ingest) -> ExternalClient {
    let mut opts = MqttOptions::new(broker.client_id.clone(), broker.host.clone(), broker.port);
    opts.set_clean_session(false);
    opts.set_manual_acks(true);
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_max_packet_size(1 << 20, 1 << 20);
    if let (Some(u), p) = (&broker.username, &broker.password) {
        opts.set_credentials(u.clone(), p.clone().unwrap_or_default());
    }
    let (client, mut eventloop) = AsyncClient::new(opts, 65_536);
    let detections = broker.detection_filter();
    let telemetry = broker.telemetry_filter();
    let status = format!("{STATUS_TOPIC_PREFIX}+");
    let reconnect = Arc::new(AtomicBool::new(false));

    let sub_client = client.clone();
    let loop_ingest = ingest.clone();
    let loop_reconnect = reconnect.clone();
    let consumer = tokio::spawn(async move {
        let mut backoff = Duration::from_millis(200);
        loop {
            if loop_reconnect.swap(false, Ordering::Relaxed) {
                // A commit failed: reconnect so the broker redelivers what we did not acknowledge.
                let _ = sub_client.try_disconnect();
            }
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    backoff = Duration::from_millis(200);
                    tracing::info!(host = %broker.host, port = broker.port, session_present = ack.session_present, "connected to the external MQTT broker");
                    // Subscribing again is harmless, and picks up a changed share group.
                    let _ = sub_client.subscribe(detections.clone(), QoS::AtLeastOnce).await;
                    let _ = sub_client.subscribe(status.clone(), QoS::AtLeastOnce).await;
                    let _ = sub_client.subscribe(telemetry.clone(), QoS::AtLeastOnce).await;
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if p.topic.starts_with(DETECTION_TOPIC_PREFIX) {
                        match loop_ingest.check(Transport::Mqtt, &p.payload, Some(&p.topic)) {
                            // Refused: consumed and counted, never redelivered.
                            Err(_) => {
                                let _ = sub_client.try_ack(&p);
                            }
                            Ok(d) => {
                                let client = sub_client.clone();
                                let flag = loop_reconnect.clone();
                                loop_ingest.submit_with(d, move |outcome| match outcome {
                                    Outcome::Accepted | Outcome::Duplicate => {
                                        let _ = client.try_ack(&p);
                                    }
                                    Outcome::Failed(_) => flag.store(true, Ordering::Relaxed),
                                });
                            }
                        }
                    } else if let Some(sensor) = p.topic.strip_prefix(TELEMETRY_TOPIC_PREFIX) {
                        match loop_ingest.check_fix(Transport::Mqtt, sensor, &p.payload, None) {
                            Err(_) => {
                                let _ = sub_client.try_ack(&p);
                            }
                            Ok((sensor, fix)) => {
                                let (ingest, client, flag) =
                                    (loop_ingest.clone(), sub_client.clone(), loop_reconnect.clone());
                                // Acknowledged once stored; the broker redelivers otherwise.
                                tokio::spawn(async move {
                                    match ingest.store_fixes(&sensor, &[fix]).await {
                                        Ok(_) => {
                                            let _ = client.try_ack(&p);
                                        }
                                        Err(_) => flag.store(true, Ordering::Relaxed),
                                    }
                                });
                            }
                        }
                    } else if p.topic.starts_with(STATUS_TOPIC_PREFIX) {
                        on_status(&loop_ingest, &p.topic, &p.payload);
                        let _ = sub_client.try_ack(&p);
                    } else {
                        let _ = sub_client.try_ack(&p);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, host = %broker.host, port = broker.port, retry_in_ms = backoff.as_millis() as u64, "external MQTT broker unreachable");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    });

    let pub_client = client.clone();
    let mut live = ingest.subscribe_incidents();
    let publisher = tokio::spawn(async move {
        loop {
            match live.recv().await {
                Ok(event) => {
                    if let Some((topic, payload)) = incident_message(&event) {
                        let _ = pub_client.publish(topic, QoS::AtLeastOnce, false, payload).await;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "incident events to MQTT fell behind");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    ExternalClient { client, tasks: vec![consumer, publisher] }
}

#[cfg(test)]
mod tests {
    use super::ExternalBroker;

    #[test]
    fn parses_broker_urls() {
        let b = ExternalBroker::parse("mqtt://hub:s3cret@broker.local:1884").unwrap();
        assert_eq!((b.host.as_str(), b.port), ("broker.local", 1884));
        assert_eq!(b.username.as_deref(), Some("hub"));
        assert_eq!(ExternalBroker::parse("mqtt://127.0.0.1").unwrap().port, 1883);
        assert!(ExternalBroker::parse("tcp://x").is_err());
        assert!(ExternalBroker::parse("mqtt://x:port").is_err());
        assert!(ExternalBroker::parse("mqtt://:1883").is_err());
    }
}
