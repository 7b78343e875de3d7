//! The MQTT transport: QoS 1 publishes on a persistent session (rumqttc's blocking
//! client), with a thread that drives the connection, reconnects with back-off and counts
//! acknowledgements so that [`MqttLink::flush`] can wait for every PUBACK.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rumqttc::{Client, ConnectReturnCode, Event, LastWill, MqttOptions, Outgoing, Packet, QoS};

use crate::PublishError;

/// Largest MQTT packet either way; a detection is at most 64 KiB.
const MAX_PACKET_BYTES: usize = 128 * 1024;

#[derive(Default)]
struct LinkState {
    /// Packet ids sent and not yet acknowledged.
    outstanding: HashSet<u16>,
    /// Publishes acknowledged since the start.
    acked: u64,
    connected: bool,
    /// The broker refused our credentials (wrong or revoked device token).
    refused_credentials: Option<String>,
    last_error: Option<String>,
    stopping: bool,
}

pub(crate) struct MqttLink {
    client: Client,
    shared: Arc<(Mutex<LinkState>, Condvar)>,
    driver: Option<JoinHandle<()>>,
    /// Publishes handed to the client since the start.
    requested: u64,
    target: String,
}

fn lock(m: &Mutex<LinkState>) -> MutexGuard<'_, LinkState> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MqttLink {
    pub(crate) fn connect(
        host: &str,
        port: u16,
        client_id: &str,
        token: Option<&str>,
        will_topic: Option<String>,
    ) -> MqttLink {
        let mut opts = MqttOptions::new(client_id, host, port);
        opts.set_clean_session(false)
            .set_keep_alive(Duration::from_secs(15))
            .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES)
            .set_inflight(200);
        if let Some(token) = token {
            opts.set_credentials(client_id, token);
        }
        if let Some(topic) = will_topic {
            opts.set_last_will(LastWill::new(topic, "offline", QoS::AtLeastOnce, true));
        }
        let (client, mut connection) = Client::new(opts, 1024);
        let shared: Arc<(Mutex<LinkState>, Condvar)> = Arc::default();
        let target = format!("mqtt://{host}:{port}");
        let state = Arc::clone(&shared);
        let name = target.clone();
        let driver = thread::Builder::new()
            .name("vigie-publish-mqtt".into())
            .spawn(move || {
                let mut failures = 0u32;
                loop {
                    let event = match connection.recv() {
                        Ok(e) => e,
                        Err(_) => break, // the client was dropped
                    };
                    let (m, cv) = &*state;
                    match event {
                        Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                            let mut s = lock(m);
                            if ack.code == ConnectReturnCode::Success {
                                s.connected = true;
                                s.refused_credentials = None;
                                failures = 0;
                                tracing::debug!(target = %name, "connected");
                            } else {
                                s.refused_credentials = Some(format!("{:?}", ack.code));
                            }
                            cv.notify_all();
                        }
                        Ok(Event::Outgoing(Outgoing::Publish(pkid))) if pkid != 0 => {
                            lock(m).outstanding.insert(pkid);
                        }
                        Ok(Event::Incoming(Packet::PubAck(ack))) => {
                            let mut s = lock(m);
                            if s.outstanding.remove(&ack.pkid) {
                                s.acked += 1;
                                cv.notify_all();
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            let stopping = {
                                let mut s = lock(m);
                                s.connected = false;
                                s.last_error = Some(e.to_string());
                                if let rumqttc::ConnectionError::ConnectionRefused(code) = &e {
                                    s.refused_credentials = Some(format!("{code:?}"));
                                }
                                cv.notify_all();
                                s.stopping
                            };
                            if stopping {
                                break;
                            }
                            failures = failures.saturating_add(1);
                            if failures == 1 || failures.is_power_of_two() {
                                tracing::warn!(target = %name, error = %e, "connection to the broker lost; retrying");
                            }
                            // 100 ms, 200 ms, … up to 5 s between attempts.
                            let backoff = Duration::from_millis(100u64 << failures.min(6)).min(Duration::from_secs(5));
                            thread::sleep(backoff);
                        }
                    }
                }
            })
            .expect("spawn the MQTT driver thread");
        MqttLink { client, shared, driver: Some(driver), requested: 0, target }
    }

    /// Queues one QoS 1 publish; blocks while the client's queue is full.
    pub(crate) fn publish(&mut self, topic: String, payload: Vec<u8>, retain: bool) -> Result<(), PublishError> {
        if let Some(code) = lock(&self.shared.0).refused_credentials.clone() {
            return Err(PublishError::Unauthorized {
                target: self.target.clone(),
                status: 0,
                body: format!("CONNACK {code}"),
            });
        }
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .map_err(|e| PublishError::Unreachable { target: self.target.clone(), detail: e.to_string() })?;
        self.requested += 1;
        Ok(())
    }

    /// Waits until every publish queued so far is acknowledged by the broker.
    pub(crate) fn flush(&mut self, timeout: Duration) -> Result<(), PublishError> {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.shared;
        let mut s = lock(m);
        loop {
            if let Some(code) = &s.refused_credentials {
                return Err(PublishError::Unauthorized {
                    target: self.target.clone(),
                    status: 0,
                    body: format!("CONNACK {code}"),
                });
            }
            if s.acked >= self.requested {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                let unacked = self.requested - s.acked;
                let detail = s.last_error.clone();
                drop(s);
                if let Some(detail) = detail.filter(|_| !self.connected()) {
                    return Err(PublishError::Unreachable { target: self.target.clone(), detail });
                }
                return Err(PublishError::NotAcknowledged { target: self.target.clone(), unacked, waited: timeout });
            }
            s = cv.wait_timeout(s, deadline - now).map(|(g, _)| g).unwrap_or_else(|p| p.into_inner().0);
        }
    }

    fn connected(&self) -> bool {
        lock(&self.shared.0).connected
    }
}

impl Drop for MqttLink {
    fn drop(&mut self) {
        lock(&self.shared.0).stopping = true;
        // A clean DISCONNECT: the broker drops the last will (the producer stopped on
        // purpose and said so with its status).
        let _ = self.client.disconnect();
        if let Some(driver) = self.driver.take() {
            // The driver ends when the disconnect goes out or the connection fails.
            let deadline = Instant::now() + Duration::from_secs(2);
            while !driver.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(10));
            }
            if driver.is_finished() {
                let _ = driver.join();
            }
        }
    }
}
