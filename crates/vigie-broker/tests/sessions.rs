//! Persistent sessions and client-id takeover.

mod common;

use bytes::Bytes;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_session_receives_messages_published_while_offline() {
    let broker = start_accepting(config()).await;
    let addr = broker.local_addr();
    let mut options = v4::options(addr, "console-1");
    options.set_clean_session(false);

    let (client, mut events) = v4::connect(options.clone(), false);
    assert!(!events.wait_for("connack", v4::is_connack).await);
    client.subscribe("vigie/v1/incidents/#", v4::QoS::AtLeastOnce).await.unwrap();
    events.wait_for("suback", v4::is_suback).await;
    client.disconnect().await.unwrap();
    events.wait_error().await;

    for i in 0..3 {
        broker.publish(&format!("vigie/v1/incidents/{i}"), Bytes::from(format!("incident {i}")), false);
    }

    let (_client, mut events) = v4::connect(options, false);
    assert!(events.wait_for("connack", v4::is_connack).await, "session present");
    for i in 0..3 {
        let publish = events.wait_for("queued message", v4::is_publish).await;
        assert_eq!(publish.topic, format!("vigie/v1/incidents/{i}"));
        assert_eq!(publish.qos, v4::QoS::AtLeastOnce);
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt5_session_with_expiry_survives_a_disconnect() {
    let broker = start_accepting(config()).await;
    let addr = broker.local_addr();
    let mut options = v5::options(addr, "console-5");
    options.set_clean_start(false);
    options.set_session_expiry_interval(Some(60));

    let (client, mut events) = v5::connect(options.clone(), false);
    events.wait_for("connack", v5::is_connack).await;
    client.subscribe("vigie/v1/incidents/#", v5::QoS::AtLeastOnce).await.unwrap();
    events.wait_for("suback", v5::is_suback).await;
    events.kill().await;
    within("the broker to see the close", async {
        while broker.stats().connections_current > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;

    broker.publish("vigie/v1/incidents/1", Bytes::from_static(b"while away"), false);

    let (_client, mut events) = v5::connect(options, false);
    assert!(events.wait_for("connack", v5::is_connack).await, "session present");
    let publish = events.wait_for("queued message", v5::is_publish).await;
    assert_eq!(&publish.payload[..], b"while away");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_session_forgets_subscriptions() {
    let broker = start_accepting(config()).await;
    let addr = broker.local_addr();
    let (client, mut events) = v4::subscriber(addr, "console-2", "vigie/#").await;
    client.disconnect().await.unwrap();
    events.wait_error().await;

    let (_client, mut events) = v4::connect(v4::options(addr, "console-2"), false);
    assert!(!events.wait_for("connack", v4::is_connack).await);
    broker.publish("vigie/v1/incidents/1", Bytes::from_static(b"x"), false);
    events.expect_none("a message for a forgotten subscription", |e| v4::is_publish(e).is_some()).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connection_with_the_same_client_id_closes_the_first() {
    let broker = start_accepting(config()).await;
    let addr = broker.local_addr();
    let (_first, mut first_events) = v4::connect(v4::options(addr, "cam-1"), false);
    first_events.wait_for("connack", v4::is_connack).await;
    let (_second, mut second_events) = v4::connect(v4::options(addr, "cam-1"), false);
    second_events.wait_for("connack", v4::is_connack).await;
    first_events.wait_error().await;
    assert_eq!(broker.stats().connections_total, 2);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_over_connection_publishes_its_will_before_the_new_connack() {
    let broker = start_accepting(config()).await;
    let addr = broker.local_addr();
    let mut status = broker.subscribe("vigie/v1/status/+", 8);
    let mut options = v4::options(addr, "cam-7");
    options.set_last_will(v4::LastWill::new("vigie/v1/status/cam-7", "offline", v4::QoS::AtLeastOnce, true));
    let (_first, mut first_events) = v4::connect(options.clone(), false);
    first_events.wait_for("connack", v4::is_connack).await;

    let (second, mut second_events) = v4::connect(options, false);
    second_events.wait_for("connack", v4::is_connack).await;
    let will = status.try_recv().expect("the old connection's will, before the new connack");
    assert_eq!(&will.payload[..], b"offline");

    second.publish("vigie/v1/status/cam-7", v4::QoS::AtLeastOnce, true, b"online".to_vec()).await.unwrap();
    second_events.wait_for("puback", v4::is_puback).await;
    let mut late = broker.subscribe("vigie/v1/status/cam-7", 8);
    assert_eq!(&within("retained status", late.recv()).await.unwrap().payload[..], b"online");
    broker.shutdown().await;
}
