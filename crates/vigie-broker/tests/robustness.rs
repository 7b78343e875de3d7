//! Bad input closes only the offending connection; startup errors are typed.

mod common;

use std::sync::Arc;

use common::*;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Connect, LastWill, Login};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use vigie_broker::{Ack, Broker, BrokerConfig, BrokerError, ConnectRefusal, InboundPublish, Interceptor};

/// A client that works, to show the broker still serves.
async fn assert_serves(addr: std::net::SocketAddr) {
    let (client, mut events) = v4::connect(v4::options(addr, "healthy"), false);
    events.wait_for("connack", v4::is_connack).await;
    client.publish("vigie/v1/status/ok", v4::QoS::AtLeastOnce, false, b"ok".to_vec()).await.unwrap();
    events.wait_for("puback", v4::is_puback).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bytes_close_only_that_connection() {
    let broker = start_accepting(config()).await;
    let addr = broker.local_addr();

    // Garbage instead of a CONNECT.
    let mut garbage = TcpStream::connect(addr).await.unwrap();
    garbage.write_all(&[0xF0, 0x03, 0xde, 0xad, 0xbe]).await.unwrap();
    raw::expect_closed(&mut garbage).await;

    // A reserved packet type after a good CONNECT.
    let mut stream = raw::connect(addr, "raw-1", 30).await;
    stream.write_all(&[0x00, 0x02, 0x01, 0x02]).await.unwrap();
    raw::expect_closed(&mut stream).await;

    // A remaining length longer than four bytes.
    let mut stream = raw::connect(addr, "raw-2", 30).await;
    stream.write_all(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]).await.unwrap();
    raw::expect_closed(&mut stream).await;

    assert_serves(addr).await;
    assert!(broker.stats().packet_errors_total >= 3);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_packet_closes_the_connection() {
    let cfg = BrokerConfig { max_packet_bytes: 1024, ..config() };
    let broker = start_accepting(cfg).await;
    let mut stream = raw::connect(broker.local_addr(), "big", 30).await;
    stream.write_all(&raw::publish("vigie/v1/status/big", vec![b'x'; 4096])).await.unwrap();
    raw::expect_closed(&mut stream).await;
    assert_eq!(broker.stats().packet_errors_total, 1);
    assert_serves(broker.local_addr()).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_in_publish_topic_closes_the_connection() {
    let broker = start_accepting(config()).await;
    let mut status = broker.subscribe("#", 4);
    let mut stream = raw::connect(broker.local_addr(), "wild", 30).await;
    stream.write_all(&raw::publish("vigie/+/status", b"x".to_vec())).await.unwrap();
    raw::expect_closed(&mut stream).await;
    assert_eq!(broker.stats().packet_errors_total, 1);
    assert!(status.try_recv().is_err());
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt31_is_refused_with_code_1() {
    let broker = start_accepting(config()).await;
    let mut stream = TcpStream::connect(broker.local_addr()).await.unwrap();
    // CONNECT, protocol "MQIsdp" level 3, clean session, keepalive 30, client id "old".
    let mut packet = vec![0x10, 17, 0, 6];
    packet.extend_from_slice(b"MQIsdp");
    packet.extend_from_slice(&[3, 0x02, 0, 30, 0, 3]);
    packet.extend_from_slice(b"old");
    stream.write_all(&packet).await.unwrap();
    assert_eq!(raw::read_exact(&mut stream, 4).await, [0x20, 2, 0, 1]);
    raw::expect_closed(&mut stream).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_timeout_closes_and_publishes_the_will() {
    let broker = start_accepting(config()).await;
    let mut status = broker.subscribe("vigie/v1/status/+", 4);
    let mut stream = TcpStream::connect(broker.local_addr()).await.unwrap();
    let mut connect = Connect::new("sleepy");
    connect.keep_alive = 1;
    connect.last_will = Some(LastWill::new("vigie/v1/status/sleepy", "offline", QoS::AtLeastOnce, false));
    raw::send_connect(&mut stream, &connect).await;
    assert_eq!(raw::read_exact(&mut stream, 4).await, [0x20, 2, 0, 0]);
    // Silent for more than 1.5 × 1 s.
    raw::expect_closed(&mut stream).await;
    let will = within("the will", status.recv()).await.unwrap();
    assert_eq!(&will.payload[..], b"offline");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_in_use_is_reported() {
    let broker = start_accepting(config()).await;
    let taken = broker.local_addr();
    let cfg = BrokerConfig { listen: taken, ..config() };
    match Broker::start(cfg, Arc::new(AcceptingInterceptor)).await {
        Err(BrokerError::AddrInUse { addr }) => assert_eq!(addr, taken),
        other => panic!("expected AddrInUse, got {other:?}"),
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn invalid_intercept_filter_is_refused() {
    let cfg = BrokerConfig { intercept_filter: "vigie/#/x".into(), ..config() };
    assert!(matches!(
        Broker::start(cfg, Arc::new(AcceptingInterceptor)).await,
        Err(BrokerError::InvalidConfig { field: "intercept_filter", .. })
    ));
}

struct Guarded;

impl Interceptor for Guarded {
    fn authenticate(
        &self,
        _client_id: &str,
        username: Option<&str>,
        password: Option<&[u8]>,
    ) -> Result<(), ConnectRefusal> {
        match (username, password) {
            (Some("cam"), Some(b"secret")) => Ok(()),
            (Some("cam"), _) => Err(ConnectRefusal::BadCredentials),
            _ => Err(ConnectRefusal::NotAuthorized),
        }
    }

    fn authorize(&self, _client_id: &str, _username: Option<&str>, topic: &str, is_subscribe: bool) -> bool {
        !is_subscribe && topic.starts_with("vigie/v1/detections/")
    }

    fn on_publish(&self, _publish: InboundPublish) -> oneshot::Receiver<Ack> {
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(Ack::Accepted);
        rx
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_and_authorizations_are_checked() {
    let broker = Broker::start(config(), Arc::new(Guarded)).await.unwrap();
    let addr = broker.local_addr();
    for (user, password, code) in [("cam", "wrong", 4u8), ("other", "x", 5u8)] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut connect = Connect::new("c");
        connect.login = Some(Login::new(user, password));
        raw::send_connect(&mut stream, &connect).await;
        assert_eq!(raw::read_exact(&mut stream, 4).await, [0x20, 2, 0, code]);
        raw::expect_closed(&mut stream).await;
    }

    let mut options = v5::options(addr, "cam-1");
    options.set_credentials("cam", "secret");
    let (client, mut events) = v5::connect(options, false);
    events.wait_for("connack", v5::is_connack).await;
    client.publish("vigie/v1/status/cam-1", v5::QoS::AtLeastOnce, false, b"x".to_vec()).await.unwrap();
    let (_, reason) = events.wait_for("puback", v5::is_puback).await;
    assert_eq!(reason, v5::PubAckReason::NotAuthorized);
    client.subscribe("vigie/#", v5::QoS::AtLeastOnce).await.unwrap();
    let codes = events
        .wait_for("suback", |e| match e {
            v5::Event::Incoming(v5::Packet::SubAck(ack)) => Some(ack.return_codes.clone()),
            _ => None,
        })
        .await;
    assert_eq!(codes, [rumqttc::v5::mqttbytes::v5::SubscribeReasonCode::NotAuthorized]);
    assert_eq!(broker.stats().refused_total, 4);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_clients_and_local_subscriptions() {
    let broker = start_accepting(config()).await;
    let mut local = broker.subscribe("#", 4);
    let mut stream = raw::connect(broker.local_addr(), "bye", 30).await;
    broker.clone().shutdown().await;
    raw::expect_closed(&mut stream).await;
    assert!(within("local channel closed", local.recv()).await.is_none());
    assert!(TcpStream::connect(broker.local_addr()).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_that_never_reads_gets_back_pressure() {
    let broker = start_accepting(config()).await;
    let stream = raw::connect(broker.local_addr(), "deaf", 0).await;
    let (mut reader, mut writer) = stream.into_split();
    // PINGREQs, each answered by a PINGRESP the client does not read.
    let chunk = [0xC0u8, 0x00].repeat(32 * 1024);
    let mut written = 0usize;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    // `write` is cancel-safe (no byte written when cancelled): `written` is exact.
    while let Ok(n) = tokio::time::timeout_at(deadline, writer.write(&chunk[written % 2..])).await {
        written += n.unwrap();
    }
    // Socket buffers and the broker's bounded reply backlog hold a few MiB at most.
    assert!(written < 48 << 20, "broker kept reading: {written} bytes accepted");

    // Reading the replies releases the connection: it still works.
    let drain = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut sink = vec![0u8; 1 << 16];
        let mut total = 0usize;
        loop {
            match reader.read(&mut sink).await {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    });
    if written % 2 == 1 {
        // Complete the last PINGREQ.
        within("the broker to read again", writer.write_all(&[0x00])).await.unwrap();
        written += 1;
    }
    within("the broker to read again", writer.write_all(&[0xE0, 0x00])).await.unwrap();
    let replied = within("the broker to close after disconnect", drain).await.unwrap();
    assert_eq!(replied, written, "one PINGRESP per PINGREQ");
    broker.shutdown().await;
}
