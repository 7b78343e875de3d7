//! Throughput of intercepted QoS 1 publishes through the embedded broker.
//!
//! N publishers each send M publishes of a ~300-byte detection on
//! `vigie/v1/detections/{sensor}` with up to W unacknowledged at a time; the
//! interceptor answers `Accepted` at once. Publishers run in the same process
//! and on the same cores as the broker, so the figure is a lower bound.
//!
//! ```text
//! cargo run -p vigie-broker --release --example throughput -- \
//!     [--publishers 4] [--messages 250000] [--window 1000] [--payload-bytes 300] \
//!     [--client raw|rumqttc] [--hub-task] [--subscriber]
//! ```
//!
//! `--client raw` (default) pipelines pre-encoded packets on a TCP socket, so that
//! the client costs little; `--client rumqttc` uses the rumqttc event loop.
//! `--hub-task` answers from another task, in batches, as the hub does;
//! `--subscriber` adds an in-process subscriber to `vigie/#`, so every accepted
//! publish is also routed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Connect, Publish};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, oneshot};
use vigie_broker::{Ack, Broker, BrokerConfig, InboundPublish, Interceptor};

/// Accepts everything, counting what it sees: at once, or from a "hub" task that
/// answers in batches like a store committing transactions.
struct Accepting {
    seen: AtomicU64,
    hub: Option<mpsc::UnboundedSender<oneshot::Sender<Ack>>>,
}

impl Interceptor for Accepting {
    fn on_publish(&self, _publish: InboundPublish) -> oneshot::Receiver<Ack> {
        self.seen.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        match &self.hub {
            Some(hub) => {
                let _ = hub.send(tx);
            }
            None => {
                let _ = tx.send(Ack::Accepted);
            }
        }
        rx
    }
}

async fn hub(mut rx: mpsc::UnboundedReceiver<oneshot::Sender<Ack>>) {
    let mut batch = Vec::with_capacity(4096);
    while rx.recv_many(&mut batch, 4096).await > 0 {
        for answer in batch.drain(..) {
            let _ = answer.send(Ack::Accepted);
        }
    }
}

#[derive(Debug, Clone)]
struct Args {
    publishers: usize,
    messages: usize,
    window: usize,
    payload_bytes: usize,
    rumqttc: bool,
    hub_task: bool,
    subscriber: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        publishers: 4,
        messages: 250_000,
        window: 1000,
        payload_bytes: 300,
        rumqttc: false,
        hub_task: false,
        subscriber: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--publishers" => args.publishers = number(value()?)?,
            "--messages" => args.messages = number(value()?)?,
            "--window" => args.window = number(value()?)?.clamp(1, 65_000),
            "--payload-bytes" => args.payload_bytes = number(value()?)?,
            "--client" => args.rumqttc = value()? == "rumqttc",
            "--hub-task" => args.hub_task = true,
            "--subscriber" => args.subscriber = true,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

/// A detection-like JSON payload of about `len` bytes.
fn payload(sensor: usize, len: usize) -> Vec<u8> {
    let mut json = format!(
        concat!(
            r#"{{"id":"01JDQ8M6N4X2V6Z7Y8W9A0B1C2","sensor":"cam-{}","kind":"video.crowd_density","#,
            r#""time":"2026-11-22T21:30:05.123Z","#,
            r#""location":{{"lon":-1.5592,"lat":47.2133,"uncertainty_m":12}},"confidence":0.82,"#,
            r#""attributes":{{"zone":"bouffay-nord","persons_per_m2":3.1}},"pad":""#
        ),
        sensor
    );
    while json.len() + 2 < len {
        json.push('x');
    }
    json.push_str("\"}");
    json.into_bytes()
}

/// Pipelines `messages` QoS 1 publishes with at most `window` unacknowledged.
async fn raw_publisher(addr: SocketAddr, sensor: usize, args: Args) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut buf = BytesMut::new();
    let mut connect = Connect::new(format!("bench-{sensor}"));
    connect.keep_alive = 60;
    connect.write(&mut buf).map_err(std::io::Error::other)?;
    stream.write_all(&buf).await?;
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack).await?;
    if connack != [0x20, 2, 0, 0] {
        return Err(std::io::Error::other(format!("connack {connack:?}")));
    }
    let (mut reader, mut writer) = stream.into_split();
    let window = Arc::new(Semaphore::new(args.window));

    let acks = {
        let window = Arc::clone(&window);
        let total = args.messages;
        tokio::spawn(async move {
            let mut buf = BytesMut::with_capacity(64 * 1024);
            let mut acked = 0;
            while acked < total {
                if reader.read_buf(&mut buf).await? == 0 {
                    return Err(std::io::Error::other("broker closed the connection"));
                }
                // Every packet the broker sends here is a 4-byte PUBACK.
                let n = buf.len() / 4;
                buf.advance(n * 4);
                acked += n;
                window.add_permits(n);
            }
            Ok::<_, std::io::Error>(())
        })
    };

    let topic = format!("vigie/v1/detections/cam-{sensor}");
    let body = payload(sensor, args.payload_bytes);
    let mut publish = Publish::new(topic, QoS::AtLeastOnce, body);
    let mut sent = 0;
    let mut pkid: u16 = 0;
    let mut out = BytesMut::with_capacity(256 * 1024);
    while sent < args.messages {
        // Take whatever window is free, at least one slot, at most 256 at once.
        let want = (args.messages - sent).min(256) as u32;
        let permit = window.acquire_many(1).await.map_err(std::io::Error::other)?;
        permit.forget();
        let mut batch = 1;
        while batch < want && window.try_acquire().map(|p| p.forget()).is_ok() {
            batch += 1;
        }
        for _ in 0..batch {
            pkid = pkid.checked_add(1).unwrap_or(1);
            publish.pkid = pkid;
            publish.write(&mut out).map_err(std::io::Error::other)?;
        }
        writer.write_all(&out).await?;
        out.clear();
        sent += batch as usize;
    }
    acks.await.map_err(std::io::Error::other)??;
    Ok(())
}

/// The same through rumqttc's event loop.
async fn rumqttc_publisher(addr: SocketAddr, sensor: usize, args: Args) -> std::io::Result<()> {
    let mut options = rumqttc::MqttOptions::new(format!("bench-{sensor}"), addr.ip().to_string(), addr.port());
    options.set_keep_alive(Duration::from_secs(60));
    options.set_inflight(u16::try_from(args.window).unwrap_or(u16::MAX));
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 1024);
    let topic = format!("vigie/v1/detections/cam-{sensor}");
    let body = payload(sensor, args.payload_bytes);
    let messages = args.messages;
    let producer = tokio::spawn(async move {
        for _ in 0..messages {
            if client.publish(topic.as_str(), rumqttc::QoS::AtLeastOnce, false, body.clone()).await.is_err() {
                return;
            }
        }
    });
    let mut acked = 0;
    while acked < args.messages {
        match eventloop.poll().await {
            Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => acked += 1,
            Ok(_) => {}
            Err(e) => return Err(std::io::Error::other(e.to_string())),
        }
    }
    producer.await.map_err(std::io::Error::other)?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let hub_tx = args.hub_task.then(|| {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(hub(rx));
        tx
    });
    let interceptor = Arc::new(Accepting { seen: AtomicU64::new(0), hub: hub_tx });
    let cfg = BrokerConfig { listen: SocketAddr::from(([127, 0, 0, 1], 0)), ..BrokerConfig::default() };
    let broker = Broker::start(cfg, interceptor.clone()).await?;
    let addr = broker.local_addr();
    let routed = args.subscriber.then(|| {
        let mut rx = broker.subscribe("vigie/#", 65_536);
        tokio::spawn(async move {
            let mut n = 0u64;
            while rx.recv().await.is_some() {
                n += 1;
            }
            n
        })
    });
    let total = args.publishers * args.messages;
    println!(
        "{} publishers × {} QoS 1 publishes of {} bytes, window {}, client {}, \
         hub task {}, subscriber {}, {} cpus",
        args.publishers,
        args.messages,
        payload(0, args.payload_bytes).len(),
        args.window,
        if args.rumqttc { "rumqttc" } else { "raw" },
        args.hub_task,
        args.subscriber,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );

    let started = Instant::now();
    let tasks: Vec<_> = (0..args.publishers)
        .map(|sensor| {
            let args = args.clone();
            tokio::spawn(async move {
                if args.rumqttc {
                    rumqttc_publisher(addr, sensor, args).await
                } else {
                    raw_publisher(addr, sensor, args).await
                }
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();

    let stats = broker.stats();
    println!(
        "{total} acknowledged in {:.2} s: {:.0} messages/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    println!("interceptor saw {}, broker stats {:?}", interceptor.seen.load(Ordering::Relaxed), stats);
    broker.shutdown().await;
    if let Some(routed) = routed {
        println!("in-process subscriber received {}", routed.await?);
    }
    Ok(())
}
