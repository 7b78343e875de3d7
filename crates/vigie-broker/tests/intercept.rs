//! Intercepted publishes: the PUBACK waits for the hub's answer.

mod common;

use common::*;
use vigie_broker::{Ack, BrokerConfig, RefusalCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v4_puback_waits_for_the_hub() {
    let (broker, mut held) = start_held(config()).await;
    let (client, mut events) = v4::connect(v4::options(broker.local_addr(), "cam-1"), false);
    events.wait_for("connack", v4::is_connack).await;

    client.publish(DETECTION_TOPIC, v4::QoS::AtLeastOnce, false, b"{\"id\":1}".to_vec()).await.unwrap();
    let (publish, answer) = next_held(&mut held).await;
    assert_eq!(publish.client_id, "cam-1");
    assert_eq!(publish.topic, DETECTION_TOPIC);
    assert_eq!(&publish.payload[..], b"{\"id\":1}");
    assert_eq!(publish.qos, 1);

    events.expect_none("puback before the hub answered", |e| v4::is_puback(e).is_some()).await;
    answer.send(Ack::Accepted).unwrap();
    events.wait_for("puback", v4::is_puback).await;

    let stats = broker.stats();
    assert_eq!(stats.intercepted_total, 1);
    assert_eq!(stats.publishes_received_total, 1);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_puback_waits_for_the_hub_and_carries_the_refusal_code() {
    let (broker, mut held) = start_held(config()).await;
    let (client, mut events) = v5::connect(v5::options(broker.local_addr(), "cam-5"), false);
    events.wait_for("connack", v5::is_connack).await;

    client.publish(DETECTION_TOPIC, v5::QoS::AtLeastOnce, false, b"good".to_vec()).await.unwrap();
    let (publish, answer) = next_held(&mut held).await;
    assert_eq!(&publish.payload[..], b"good");
    events.expect_none("puback before the hub answered", |e| v5::is_puback(e).is_some()).await;
    answer.send(Ack::Accepted).unwrap();
    let (_, reason) = events.wait_for("puback", v5::is_puback).await;
    assert_eq!(reason, v5::PubAckReason::Success);

    client.publish(DETECTION_TOPIC, v5::QoS::AtLeastOnce, false, b"not json".to_vec()).await.unwrap();
    let (_, answer) = next_held(&mut held).await;
    answer.send(Ack::Refused(RefusalCode::PayloadFormatInvalid)).unwrap();
    let (_, reason) = events.wait_for("puback", v5::is_puback).await;
    assert_eq!(reason, v5::PubAckReason::PayloadFormatInvalid);
    assert_eq!(broker.stats().refused_total, 1);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_commit_closes_the_connection_and_the_client_resends() {
    let (broker, mut held) = start_held(config()).await;
    let mut options = v4::options(broker.local_addr(), "cam-2");
    options.set_clean_session(false);
    let (client, mut events) = v4::connect(options, true);
    assert!(!events.wait_for("connack", v4::is_connack).await);

    client.publish(DETECTION_TOPIC, v4::QoS::AtLeastOnce, false, b"d-1".to_vec()).await.unwrap();
    let (_, answer) = next_held(&mut held).await;
    answer.send(Ack::Failed).unwrap();
    events.wait_error().await;

    // rumqttc reconnects; the broker kept the session, so the client resends.
    assert!(events.wait_for("connack", v4::is_connack).await, "session present");
    let (publish, answer) = next_held(&mut held).await;
    assert_eq!(&publish.payload[..], b"d-1");
    answer.send(Ack::Accepted).unwrap();
    events.wait_for("puback", v4::is_puback).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_answer_counts_as_failed() {
    let (broker, mut held) = start_held(config()).await;
    let (client, mut events) = v4::connect(v4::options(broker.local_addr(), "cam-3"), false);
    events.wait_for("connack", v4::is_connack).await;
    client.publish(DETECTION_TOPIC, v4::QoS::AtLeastOnce, false, b"d".to_vec()).await.unwrap();
    let (_, answer) = next_held(&mut held).await;
    drop(answer);
    events.wait_error().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stops_reading_beyond_max_inflight_and_acknowledges_in_order() {
    let cfg = BrokerConfig { max_inflight_per_client: 2, ..config() };
    let (broker, mut held) = start_held(cfg).await;
    let mut options = v4::options(broker.local_addr(), "cam-4");
    options.set_inflight(10);
    let (client, mut events) = v4::connect(options, false);
    events.wait_for("connack", v4::is_connack).await;
    for i in 0..5u8 {
        client.publish(DETECTION_TOPIC, v4::QoS::AtLeastOnce, false, vec![i]).await.unwrap();
    }
    let first = next_held(&mut held).await;
    let second = next_held(&mut held).await;
    assert_eq!((&first.0.payload[..], &second.0.payload[..]), (&[0u8][..], &[1u8][..]));
    // Back-pressure: the third is not read until an answer comes.
    assert!(
        tokio::time::timeout(QUIET, held.recv()).await.is_err(),
        "more than max_inflight_per_client publishes in flight"
    );
    // Answering the second first still acknowledges the first one first.
    second.1.send(Ack::Accepted).unwrap();
    events.expect_none("puback out of order", |e| v4::is_puback(e).is_some()).await;
    first.1.send(Ack::Accepted).unwrap();
    assert_eq!(events.wait_for("puback", v4::is_puback).await, 1);
    assert_eq!(events.wait_for("puback", v4::is_puback).await, 2);
    for expected in 2..5u8 {
        let (publish, answer) = next_held(&mut held).await;
        assert_eq!(&publish.payload[..], &[expected]);
        answer.send(Ack::Accepted).unwrap();
    }
    for pkid in 3..=5 {
        assert_eq!(events.wait_for("puback", v4::is_puback).await, pkid);
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos2_intercepted_publish_is_delivered_once() {
    let broker = start_accepting(config()).await;
    let mut detections = broker.subscribe("vigie/v1/detections/+", 16);
    let (client, mut events) = v4::connect(v4::options(broker.local_addr(), "cam-6"), false);
    events.wait_for("connack", v4::is_connack).await;
    client.publish(DETECTION_TOPIC, v4::QoS::ExactlyOnce, false, b"q2".to_vec()).await.unwrap();
    events.wait_for("pubcomp", |e| matches!(e, v4::Event::Incoming(v4::Packet::PubComp(_))).then_some(())).await;
    let message = within("the routed detection", detections.recv()).await.unwrap();
    assert_eq!(&message.payload[..], b"q2");
    assert!(detections.try_recv().is_err());
    broker.shutdown().await;
}
