//! Helpers shared by the integration tests: brokers on free ports, interceptors
//! the test controls, and rumqttc clients whose events arrive on a channel.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use vigie_broker::{Ack, Broker, BrokerConfig, BrokerHandle, InboundPublish, Interceptor, RefusalCode};

/// Longest wait for something that should happen.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long to watch for something that should not happen.
pub const QUIET: Duration = Duration::from_millis(200);

pub const DETECTION_TOPIC: &str = "vigie/v1/detections/cam-1";

pub fn config() -> BrokerConfig {
    BrokerConfig { listen: SocketAddr::from(([127, 0, 0, 1], 0)), ..BrokerConfig::default() }
}

pub type Held = mpsc::UnboundedReceiver<(InboundPublish, oneshot::Sender<Ack>)>;

/// Hands every intercepted publish to the test, which answers when it wants.
pub struct HeldInterceptor {
    tx: mpsc::UnboundedSender<(InboundPublish, oneshot::Sender<Ack>)>,
}

impl Interceptor for HeldInterceptor {
    fn on_publish(&self, publish: InboundPublish) -> oneshot::Receiver<Ack> {
        let (tx, rx) = oneshot::channel();
        let _ = self.tx.send((publish, tx));
        rx
    }
}

/// Answers at once: refuses the payload `bad`, accepts the rest.
pub struct AcceptingInterceptor;

impl Interceptor for AcceptingInterceptor {
    fn on_publish(&self, publish: InboundPublish) -> oneshot::Receiver<Ack> {
        let (tx, rx) = oneshot::channel();
        let ack = if &publish.payload[..] == b"bad" {
            Ack::Refused(RefusalCode::PayloadFormatInvalid)
        } else {
            Ack::Accepted
        };
        let _ = tx.send(ack);
        rx
    }
}

pub async fn start_held(cfg: BrokerConfig) -> (BrokerHandle, Held) {
    let (tx, rx) = mpsc::unbounded_channel();
    let broker = Broker::start(cfg, Arc::new(HeldInterceptor { tx })).await.expect("broker starts");
    (broker, rx)
}

pub async fn start_accepting(cfg: BrokerConfig) -> BrokerHandle {
    Broker::start(cfg, Arc::new(AcceptingInterceptor)).await.expect("broker starts")
}

/// The next intercepted publish.
pub async fn next_held(held: &mut Held) -> (InboundPublish, oneshot::Sender<Ack>) {
    tokio::time::timeout(WAIT, held.recv()).await.expect("an intercepted publish in time").expect("interceptor alive")
}

pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, fut).await.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Events of a rumqttc event loop polled on its own task. Errors arrive as `Err`;
/// after one, the loop polls again (rumqttc reconnects) unless told to stop.
pub struct Events<E> {
    pub rx: mpsc::UnboundedReceiver<Result<E, String>>,
    task: JoinHandle<()>,
}

impl<E: std::fmt::Debug> Events<E> {
    /// Waits for the first event that `pick` maps to `Some`, skipping the others.
    pub async fn wait_for<T>(&mut self, what: &str, mut pick: impl FnMut(&E) -> Option<T>) -> T {
        within(what, async {
            loop {
                match self.rx.recv().await {
                    Some(Ok(event)) => {
                        if let Some(found) = pick(&event) {
                            return found;
                        }
                    }
                    Some(Err(_)) => {}
                    None => panic!("event loop ended while waiting for {what}"),
                }
            }
        })
        .await
    }

    /// Waits for the connection to fail.
    pub async fn wait_error(&mut self) -> String {
        within("a connection error", async {
            loop {
                match self.rx.recv().await {
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return error,
                    None => panic!("event loop ended"),
                }
            }
        })
        .await
    }

    /// Fails if an event matching `unwanted` arrives within [`QUIET`].
    pub async fn expect_none(&mut self, what: &str, unwanted: impl Fn(&E) -> bool) {
        let deadline = tokio::time::Instant::now() + QUIET;
        while let Ok(Some(event)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            if let Ok(event) = event {
                assert!(!unwanted(&event), "unexpected {what}: {event:?}");
            }
        }
    }

    /// Drops the event loop, and so the socket, without DISCONNECT.
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// The helpers both protocol versions share, written once over whichever rumqttc
/// `AsyncClient`, `Event`, `MqttOptions` and `Packet` are in scope where it expands.
macro_rules! client_helpers {
    () => {
        pub fn options(addr: SocketAddr, client_id: &str) -> MqttOptions {
            let mut options = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
            options.set_keep_alive(Duration::from_secs(10));
            options
        }

        pub fn connect(options: MqttOptions, reconnect: bool) -> (AsyncClient, Events<Event>) {
            let (client, mut eventloop) = AsyncClient::new(options, 100);
            let (tx, rx) = mpsc::unbounded_channel();
            let task = tokio::spawn(async move {
                loop {
                    match eventloop.poll().await {
                        Ok(event) => {
                            if tx.send(Ok(event)).is_err() {
                                return;
                            }
                        }
                        Err(error) => {
                            let _ = tx.send(Err(error.to_string()));
                            if !reconnect {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            });
            (client, Events { rx, task })
        }

        pub fn is_connack(event: &Event) -> Option<bool> {
            match event {
                Event::Incoming(Packet::ConnAck(ack)) => Some(ack.session_present),
                _ => None,
            }
        }

        pub fn is_suback(event: &Event) -> Option<()> {
            matches!(event, Event::Incoming(Packet::SubAck(_))).then_some(())
        }
    };
}

pub mod v4 {
    use super::*;
    #[allow(unused_imports)]
    pub use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};

    client_helpers!();

    pub fn is_puback(event: &Event) -> Option<u16> {
        match event {
            Event::Incoming(Packet::PubAck(ack)) => Some(ack.pkid),
            _ => None,
        }
    }

    pub fn is_publish(event: &Event) -> Option<rumqttc::Publish> {
        match event {
            Event::Incoming(Packet::Publish(p)) => Some(p.clone()),
            _ => None,
        }
    }

    /// A connected client subscribed to `filter`.
    pub async fn subscriber(addr: SocketAddr, client_id: &str, filter: &str) -> (AsyncClient, Events<Event>) {
        let (client, mut events) = connect(options(addr, client_id), false);
        events.wait_for("connack", is_connack).await;
        client.subscribe(filter, QoS::AtLeastOnce).await.expect("subscribe queued");
        events.wait_for("suback", is_suback).await;
        (client, events)
    }
}

pub mod v5 {
    use super::*;
    #[allow(unused_imports)]
    pub use rumqttc::v5::mqttbytes::QoS;
    pub use rumqttc::v5::mqttbytes::v5::{Packet, PubAckReason, Publish};
    pub use rumqttc::v5::{AsyncClient, Event, MqttOptions};

    client_helpers!();

    pub fn is_puback(event: &Event) -> Option<(u16, PubAckReason)> {
        match event {
            Event::Incoming(Packet::PubAck(ack)) => Some((ack.pkid, ack.reason)),
            _ => None,
        }
    }

    pub fn is_publish(event: &Event) -> Option<Publish> {
        match event {
            Event::Incoming(Packet::Publish(p)) => Some(p.clone()),
            _ => None,
        }
    }
}

/// Raw TCP access, for what a well-behaved client would never send.
pub mod raw {
    use super::*;
    use rumqttc::mqttbytes::QoS;
    use rumqttc::mqttbytes::v4::{Connect, Publish};

    /// Connects with MQTT 3.1.1 and returns the socket once the CONNACK is read.
    pub async fn connect(addr: SocketAddr, client_id: &str, keep_alive_secs: u16) -> TcpStream {
        let mut stream = TcpStream::connect(addr).await.expect("tcp connect");
        let mut connect = Connect::new(client_id);
        connect.keep_alive = keep_alive_secs;
        send_connect(&mut stream, &connect).await;
        let connack = read_exact(&mut stream, 4).await;
        assert_eq!(connack, [0x20, 2, 0, 0], "connack success");
        stream
    }

    pub async fn send_connect(stream: &mut TcpStream, connect: &Connect) {
        let mut buf = BytesMut::new();
        connect.write(&mut buf).expect("encode connect");
        stream.write_all(&buf).await.expect("send connect");
    }

    pub async fn read_exact(stream: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        within("bytes from the broker", stream.read_exact(&mut buf)).await.expect("read");
        buf
    }

    pub fn publish(topic: &str, payload: Vec<u8>) -> BytesMut {
        let mut publish = Publish::new(topic, QoS::AtLeastOnce, payload);
        publish.pkid = 1;
        let mut buf = BytesMut::new();
        publish.write(&mut buf).expect("encode publish");
        buf
    }

    /// Reads until the broker closes the socket.
    pub async fn expect_closed(stream: &mut TcpStream) {
        within("the broker to close the connection", async {
            let mut sink = [0u8; 1024];
            loop {
                match stream.read(&mut sink).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
    }
}
