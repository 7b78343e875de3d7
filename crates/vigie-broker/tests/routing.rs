//! Plain broker behaviour: wildcards, retained messages, wills, in-process pub/sub.

mod common;

use bytes::Bytes;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_subscribers_receive_accepted_and_plain_publishes() {
    let broker = start_accepting(config()).await;
    let addr = broker.local_addr();
    let (_plus, mut plus) = v4::subscriber(addr, "console-plus", "vigie/v1/detections/+").await;
    let (_hash, mut hash) = v4::subscriber(addr, "console-hash", "vigie/#").await;
    let mut local = broker.subscribe("vigie/#", 16);

    let (publisher, mut events) = v5::connect(v5::options(addr, "cam-1"), false);
    events.wait_for("connack", v5::is_connack).await;
    for (topic, payload) in [
        (DETECTION_TOPIC, &b"bad"[..]),
        (DETECTION_TOPIC, &b"detection"[..]),
        ("vigie/v1/status/cam-1", &b"online"[..]),
    ] {
        publisher.publish(topic, v5::QoS::AtLeastOnce, false, payload.to_vec()).await.unwrap();
        events.wait_for("puback", v5::is_puback).await;
    }

    // The refused detection is routed to nobody.
    let first = plus.wait_for("detection", v4::is_publish).await;
    assert_eq!((first.topic.as_str(), &first.payload[..]), (DETECTION_TOPIC, &b"detection"[..]));
    plus.expect_none("status on the detections filter", |e| v4::is_publish(e).is_some()).await;

    let first = hash.wait_for("detection", v4::is_publish).await;
    assert_eq!(&first.payload[..], b"detection");
    let second = hash.wait_for("status", v4::is_publish).await;
    assert_eq!((second.topic.as_str(), &second.payload[..]), ("vigie/v1/status/cam-1", &b"online"[..]));

    let first = within("local detection", local.recv()).await.unwrap();
    assert_eq!(&first.payload[..], b"detection");
    let second = within("local status", local.recv()).await.unwrap();
    assert_eq!(second.topic, "vigie/v1/status/cam-1");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retained_message_reaches_a_late_subscriber() {
    let broker = start_accepting(config()).await;
    let addr = broker.local_addr();
    let (publisher, mut events) = v4::connect(v4::options(addr, "cam-1"), false);
    events.wait_for("connack", v4::is_connack).await;
    publisher.publish("vigie/v1/status/cam-1", v4::QoS::AtLeastOnce, true, b"online".to_vec()).await.unwrap();
    events.wait_for("puback", v4::is_puback).await;
    broker.publish("vigie/v1/status/cam-2", Bytes::from_static(b"offline"), true);

    let (_client, mut late) = v4::subscriber(addr, "console", "vigie/v1/status/+").await;
    let mut got = Vec::new();
    for _ in 0..2 {
        let p = late.wait_for("retained", v4::is_publish).await;
        assert!(p.retain, "retained flag set");
        got.push((p.topic, p.payload.to_vec()));
    }
    got.sort();
    assert_eq!(
        got,
        [
            ("vigie/v1/status/cam-1".to_string(), b"online".to_vec()),
            ("vigie/v1/status/cam-2".to_string(), b"offline".to_vec()),
        ]
    );

    // An empty retained payload clears it.
    broker.publish("vigie/v1/status/cam-2", Bytes::new(), true);
    let mut local = broker.subscribe("vigie/v1/status/+", 4);
    let only = within("retained", local.recv()).await.unwrap();
    assert_eq!(only.topic, "vigie/v1/status/cam-1");
    assert!(only.retain);
    assert!(local.try_recv().is_err());
    broker.shutdown().await;
}

fn client_with_will(addr: std::net::SocketAddr, id: &str) -> (v4::AsyncClient, Events<v4::Event>) {
    let mut options = v4::options(addr, id);
    options.set_last_will(v4::LastWill::new(format!("vigie/v1/status/{id}"), "offline", v4::QoS::AtLeastOnce, true));
    v4::connect(options, false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn will_is_published_when_the_socket_dies() {
    let broker = start_accepting(config()).await;
    let mut status = broker.subscribe("vigie/v1/status/#", 16);
    let (_client, mut events) = client_with_will(broker.local_addr(), "cam-9");
    events.wait_for("connack", v4::is_connack).await;

    events.kill().await;
    let will = within("the will", status.recv()).await.unwrap();
    assert_eq!(will.topic, "vigie/v1/status/cam-9");
    assert_eq!(&will.payload[..], b"offline");
    // It was retained.
    let (_c, mut late) = v4::subscriber(broker.local_addr(), "late", "vigie/v1/status/cam-9").await;
    assert_eq!(&late.wait_for("retained will", v4::is_publish).await.payload[..], b"offline");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_disconnect_sends_no_will() {
    let broker = start_accepting(config()).await;
    let mut status = broker.subscribe("vigie/v1/status/#", 16);
    let (client, mut events) = client_with_will(broker.local_addr(), "cam-8");
    events.wait_for("connack", v4::is_connack).await;

    client.disconnect().await.unwrap();
    events
        .wait_for("disconnect sent", |e| matches!(e, v4::Event::Outgoing(rumqttc::Outgoing::Disconnect)).then_some(()))
        .await;
    within("connection closed", async {
        while broker.stats().connections_current > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(tokio::time::timeout(QUIET, status.recv()).await.is_err(), "no will after a clean disconnect");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_publish_reaches_mqtt5_subscribers() {
    let broker = start_accepting(config()).await;
    let (client, mut events) = v5::connect(v5::options(broker.local_addr(), "console"), false);
    events.wait_for("connack", v5::is_connack).await;
    client.subscribe("vigie/v1/incidents/#", v5::QoS::AtLeastOnce).await.unwrap();
    events.wait_for("suback", v5::is_suback).await;

    broker.publish("vigie/v1/incidents/new", Bytes::from_static(b"{\"id\":7}"), false);
    let publish = events.wait_for("incident", v5::is_publish).await;
    assert_eq!(&publish.topic[..], b"vigie/v1/incidents/new");
    assert_eq!(&publish.payload[..], b"{\"id\":7}");
    assert_eq!(publish.qos, v5::QoS::AtLeastOnce);
    assert!(broker.stats().publishes_delivered_total >= 1);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_subscription_spreads_messages_over_its_members() {
    let broker = start_accepting(config()).await;
    let addr = broker.local_addr();
    let (_a, mut a) = v4::subscriber(addr, "hub-a", "$share/hubs/vigie/v1/incidents/+").await;
    let (_b, mut b) = v4::subscriber(addr, "hub-b", "$share/hubs/vigie/v1/incidents/+").await;
    for i in 0..4 {
        broker.publish(&format!("vigie/v1/incidents/{i}"), Bytes::from_static(b"x"), false);
    }
    for _ in 0..2 {
        a.wait_for("a share", v4::is_publish).await;
        b.wait_for("b share", v4::is_publish).await;
    }
    a.expect_none("more than its share", |e| v4::is_publish(e).is_some()).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dollar_topics_are_hidden_from_leading_wildcards() {
    let broker = start_accepting(config()).await;
    let mut all = broker.subscribe("#", 4);
    let mut sys = broker.subscribe("$SYS/#", 4);
    broker.publish("$SYS/broker/uptime", Bytes::from_static(b"1"), false);
    assert_eq!(within("sys", sys.recv()).await.unwrap().topic, "$SYS/broker/uptime");
    assert!(all.try_recv().is_err());
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_local_subscription_skips_the_clients_own_publishes() {
    use rumqttc::v5::mqttbytes::v5::Filter;
    let broker = start_accepting(config()).await;
    let (client, mut events) = v5::connect(v5::options(broker.local_addr(), "console"), false);
    events.wait_for("connack", v5::is_connack).await;
    let mut filter = Filter::new("vigie/v1/incidents/#", v5::QoS::AtLeastOnce);
    filter.nolocal = true;
    client.subscribe_many([filter]).await.unwrap();
    events.wait_for("suback", v5::is_suback).await;

    client.publish("vigie/v1/incidents/mine", v5::QoS::AtLeastOnce, false, b"x".to_vec()).await.unwrap();
    events.wait_for("puback", v5::is_puback).await;
    broker.publish("vigie/v1/incidents/theirs", Bytes::from_static(b"y"), false);
    let publish = events.wait_for("the other publish", v5::is_publish).await;
    assert_eq!(&publish.topic[..], b"vigie/v1/incidents/theirs");
    broker.shutdown().await;
}
