//! `vigie bench ingest`: the hub in this process (embedded broker, SQLite, default rules),
//! a synthetic city of 15 000 sensors, and a publisher in a separate process.
//!
//! 1. pass-through: publisher → embedded broker → a plain MQTT subscriber, as fast as acked;
//! 2. ingest: publisher → hub (validated, fused, committed, then acknowledged), as fast as
//!    acked, until at least `--window` detections sit in the fusion window;
//! 3. latency: at half the measured ingest rate, probes every 50 ms, from publish to the
//!    incident change on the live stream (`/api/v1/stream`).

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use tokio::io::{AsyncBufReadExt, BufReader};
use vigie_hub::auth::Role;
use vigie_hub::store::SensorScope;
use vigie_hub::{Hub, HubOptions, MqttMode};
use vigie_model::config::{Config, IngestConfig};
use vigie_model::sensor::FieldOfView;
use vigie_model::{Kind, Sensor, SensorId, SensorType};

use super::publisher::{PROBE_LAT, PROBE_LON, PROBE_SENSOR, sensor_position};
use super::{peak_rss_mb, percentile};

#[derive(Args)]
pub struct IngestArgs {
    /// Seconds of each measured phase.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Detections the fusion window must hold when memory is read.
    #[arg(long, default_value_t = 1_000_000)]
    window: u64,
    /// Publisher connections, each with up to 1000 detections awaiting acknowledgement
    /// (15 000 cameras would have many more in flight).
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// A short run for CI: 2-second phases, a 20 000-detection window.
    #[arg(long)]
    smoke: bool,
    /// Where the SQLite store goes (a fresh temporary folder by default).
    #[arg(long)]
    data: Option<std::path::PathBuf>,
    /// Run through a Mosquitto started for the run (the hub consumes it as an external
    /// broker, with a persistent session and acknowledgements after commit) instead of the
    /// embedded broker; pass-through is then Mosquitto's.
    #[arg(long)]
    mosquitto: bool,
    /// Measure another store instead, e.g. postgres://user@host/db (its detections and
    /// incidents tables are emptied first: use a database of its own).
    #[arg(long)]
    store: Option<String>,
}

pub(super) const CAMERAS: usize = 10_000;
pub(super) const MICROPHONES: usize = 5_000;

/// The bench city: 10 000 cameras and 5 000 microphones on two grids, plus the latency probe.
pub(super) fn bench_config() -> Config {
    let mut sensors = Vec::with_capacity(CAMERAS + MICROPHONES + 1);
    let video = vec![Kind::VideoCrowdDensity, Kind::VideoCrowdMovement, Kind::VideoFire, Kind::VideoTamper];
    for i in 0..CAMERAS {
        let (lon, lat) = sensor_position(i, CAMERAS);
        sensors.push(Sensor {
            id: SensorId::new(format!("cam-{i:05}")).expect("valid id"),
            sensor_type: SensorType::Camera,
            name: format!("Caméra {i}"),
            lon,
            lat,
            district: None,
            analytics: video.clone(),
            field_of_view: Some(FieldOfView { heading_deg: 90.0, fov_deg: 70.0, range_m: 60.0 }),
            mobile: false,
        });
    }
    for i in 0..MICROPHONES {
        let (lon, lat) = sensor_position(i, MICROPHONES);
        sensors.push(Sensor {
            id: SensorId::new(format!("mic-{i:05}")).expect("valid id"),
            sensor_type: SensorType::Microphone,
            name: format!("Microphone {i}"),
            lon,
            lat,
            district: None,
            analytics: vec![Kind::AudioImpulse, Kind::AudioGunshot],
            field_of_view: None,
            mobile: false,
        });
    }
    sensors.push(Sensor {
        id: SensorId::new(PROBE_SENSOR).expect("valid id"),
        sensor_type: SensorType::Camera,
        name: "Latency probe".into(),
        lon: PROBE_LON,
        lat: PROBE_LAT,
        district: None,
        analytics: vec![Kind::VideoFire],
        field_of_view: None,
        mobile: false,
    });
    Config::from_parts("bench".into(), vec![], IngestConfig::default(), sensors, Config::default_rules())
}

struct PublisherRun {
    sent: u64,
    acked: u64,
    seconds: f64,
    probes: Vec<(String, u128)>,
}

async fn run_publisher(mqtt: SocketAddr, token: Option<&str>, extra: &[String]) -> anyhow::Result<PublisherRun> {
    let exe = std::env::current_exe().context("cannot find the vigie binary")?;
    let mut cmd = tokio::process::Command::new(exe);
    match token {
        Some(t) => cmd.env("VIGIE_TOKEN", t),
        None => cmd.env_remove("VIGIE_TOKEN"),
    };
    cmd.args(["bench", "ingest-publisher", "--host", &mqtt.ip().to_string(), "--port", &mqtt.port().to_string()])
        .args(["--cameras", &CAMERAS.to_string(), "--microphones", &MICROPHONES.to_string()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = cmd.spawn().context("cannot start the publisher process")?;
    let stdout = child.stdout.take().context("publisher stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut run = PublisherRun { sent: 0, acked: 0, seconds: 0.0, probes: vec![] };
    while let Some(line) = lines.next_line().await? {
        let mut parts = line.split_whitespace();
        match parts.next() {
            Some("probe") => {
                if let (Some(id), Some(ns)) = (parts.next(), parts.next().and_then(|n| n.parse().ok())) {
                    run.probes.push((id.to_owned(), ns));
                }
            }
            Some("done") => {
                for kv in parts {
                    match kv.split_once('=') {
                        Some(("sent", v)) => run.sent = v.parse().unwrap_or(0),
                        Some(("acked", v)) => run.acked = v.parse().unwrap_or(0),
                        Some(("seconds", v)) => run.seconds = v.parse().unwrap_or(0.0),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let status = child.wait().await?;
    if !status.success() {
        bail!("the publisher process failed: {status}");
    }
    Ok(run)
}

/// CPU seconds used so far by this process (all threads).
fn process_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    if f.len() > 13 { (f[10] + f[11]) / 100.0 } else { 0.0 }
}

/// CPU seconds used so far by this process's thread named `name` (Linux; 0 elsewhere).
fn thread_cpu_secs(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        // After the parenthesised name and the state letter (dropped: not a number), utime and
        // stime are the 11th and 12th numbers.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<f64> = rest.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if f.len() > 13 {
            return (f[10] + f[11]) / 100.0;
        }
    }
    0.0
}

/// A Mosquitto for the run, killed on drop. Queues and in-flight windows unbounded, as a
/// hub's broker should be configured (docs/deployment.md).
struct Mosquitto {
    child: std::process::Child,
    port: u16,
}

impl Mosquitto {
    fn start(dir: &std::path::Path) -> anyhow::Result<Mosquitto> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let conf = dir.join("mosquitto.conf");
        let mut text = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n\
             max_inflight_messages 0\nset_tcp_nodelay true\nlog_dest none\n"
        );
        if std::process::Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false) {
            text += "user root\n";
        }
        std::fs::write(&conf, text)?;
        let bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .context("mosquitto is not installed (apt-get install mosquitto)")?;
        let child = std::process::Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start mosquitto")?;
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > until {
                bail!("mosquitto did not listen on {port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Mosquitto { child, port })
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Empties the bench's tables in a store given by URL, so runs start alike.
async fn empty_store(url: &str) -> anyhow::Result<()> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        // Opening creates the schema when missing.
        drop(vigie_hub::store::open(&url).context("cannot open the store")?);
        if url.starts_with("postgres") {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).context("cannot connect to PostgreSQL")?;
            c.batch_execute("TRUNCATE detections, incidents, incident_events").context("cannot empty the tables")?;
        }
        Ok(())
    })
    .await?
}

/// The pass-through broker's host: intercepts nothing (its filter matches no bench topic)
/// and lets every client publish and subscribe.
struct PassThrough;

impl vigie_broker::Interceptor for PassThrough {
    fn on_publish(&self, _: vigie_broker::InboundPublish) -> tokio::sync::oneshot::Receiver<vigie_broker::Ack> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = tx.send(vigie_broker::Ack::Accepted);
        rx
    }
}

/// A plain MQTT subscriber (QoS 1, acknowledging each message), counting what it receives:
/// the other end of the pass-through measurement.
async fn plain_subscriber(mqtt: SocketAddr, received: Arc<AtomicU64>) -> anyhow::Result<()> {
    use bytes::BytesMut;
    use rumqttc::mqttbytes::QoS;
    use rumqttc::mqttbytes::v4::{Packet, PubAck, Subscribe};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = super::publisher::connect_raw(&mqtt.ip().to_string(), mqtt.port(), "bench-plain-subscriber", None).await?;
    let (mut rd, mut wr) = s.into_split();
    let mut out = BytesMut::new();
    let mut sub = Subscribe::new("bench/passthrough/#", QoS::AtLeastOnce);
    sub.pkid = 1;
    Packet::Subscribe(sub).write(&mut out, 1 << 20).map_err(|e| anyhow::anyhow!("encode SUBSCRIBE: {e:?}"))?;
    wr.write_all(&out).await?;
    out.clear();
    let mut rbuf = BytesMut::with_capacity(256 * 1024);
    loop {
        match Packet::read(&mut rbuf, 1 << 20) {
            Ok(Packet::Publish(p)) => {
                received.fetch_add(1, Relaxed);
                let _ = PubAck::new(p.pkid).write(&mut out);
            }
            Ok(_) => {}
            Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => {
                if !out.is_empty() {
                    wr.write_all(&out).await?;
                    out.clear();
                }
                if rd.read_buf(&mut rbuf).await? == 0 {
                    return Ok(());
                }
            }
            Err(e) => anyhow::bail!("bad packet: {e:?}"),
        }
    }
}

pub fn run(args: IngestArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(bench(args))
}

async fn bench(args: IngestArgs) -> anyhow::Result<()> {
    let (seconds, window) = if args.smoke { (2.0, 20_000) } else { (args.seconds, args.window) };
    let tmp = std::env::temp_dir().join(format!("vigie-bench-ingest-{}", std::process::id()));
    let data = args.data.clone().unwrap_or_else(|| tmp.clone());
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let db = data.join("bench.db");
    let _ = std::fs::remove_file(&db);
    let store_url = match &args.store {
        Some(url) => {
            empty_store(url).await?;
            url.clone()
        }
        None => db.display().to_string(),
    };
    let store_name = if args.store.is_some() { "PostgreSQL".to_owned() } else { format!("SQLite at {}", db.display()) };
    println!("bench ingest: {CAMERAS} cameras, {MICROPHONES} microphones, default rules, {store_name}");
    let mosquitto = if args.mosquitto { Some(Mosquitto::start(&data)?) } else { None };
    let broker_name = if args.mosquitto { "mosquitto" } else { "embedded" };
    println!("broker: {broker_name}");
    let hub = Hub::start(HubOptions {
        config: Arc::new(bench_config()),
        http_listen: "127.0.0.1:0".parse()?,
        store_url,
        mqtt: match &mosquitto {
            Some(m) => MqttMode::External(vigie_hub::mqtt::ExternalBroker {
                host: "127.0.0.1".into(),
                port: m.port,
                client_id: "vigie-bench-hub".into(),
                share_group: None,
                username: None,
                password: None,
            }),
            None => MqttMode::Embedded("127.0.0.1:0".parse()?),
        },
        clock: vigie_hub::ingest::system_clock(),
    })
    .await
    .context("cannot start the hub")?;
    let mqtt = match &mosquitto {
        Some(m) => SocketAddr::from(([127, 0, 0, 1], m.port)),
        None => hub.mqtt_addr.context("the embedded broker did not start")?,
    };
    let conns = args.connections.to_string();
    // The publisher is a device with a token for every bench sensor (the MQTT password);
    // the live-stream reader a service token with the operator role.
    let (_, device_token) = hub.auth.create_token("bench publisher", None, SensorScope::All, "bench")?;
    let (_, reader_token) =
        hub.auth.create_token("bench stream reader", Some(Role::Operator), SensorScope::Only(vec![]), "bench")?;

    // 1. Pass-through: the broker alone, to a plain subscriber. The embedded broker's
    //    access rules let devices publish only detections and status, so this runs on a
    //    second instance of the same broker that lets everyone through (the hub's idles).
    let plain = match &mosquitto {
        Some(_) => None,
        None => Some(
            vigie_broker::Broker::start(
                vigie_broker::BrokerConfig { listen: "127.0.0.1:0".parse()?, ..vigie_broker::BrokerConfig::default() },
                Arc::new(PassThrough),
            )
            .await
            .context("cannot start the pass-through broker")?,
        ),
    };
    let passthrough_addr = plain.as_ref().map_or(mqtt, |b| b.local_addr());
    let received = Arc::new(AtomicU64::new(0));
    let subscriber = tokio::spawn(plain_subscriber(passthrough_addr, received.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pt = run_publisher(
        passthrough_addr,
        None,
        &["--passthrough".into(), "--seconds".into(), seconds.to_string(), "--connections".into(), conns.clone()],
    )
    .await?;
    let wait_until = Instant::now() + Duration::from_secs(10);
    while received.load(Relaxed) < pt.acked && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let passthrough_per_s = received.load(Relaxed) as f64 / pt.seconds.max(1e-9);
    println!(
        "pass-through: {} published, {} delivered in {:.2} s → {:.0} msg/s",
        pt.sent,
        received.load(Relaxed),
        pt.seconds,
        passthrough_per_s
    );
    subscriber.abort();
    if let Some(b) = plain {
        b.shutdown().await;
    }

    // 2. Ingest at full speed, until the fusion window holds `window` detections.
    let metrics = hub.ingest.metrics().clone();
    let accepted_before = metrics.accepted.load(Relaxed);
    let writer_cpu_before = thread_cpu_secs("vigie-writer");
    let hub_cpu_before = process_cpu_secs();
    let started = Instant::now();
    let ing = run_publisher(
        mqtt,
        Some(&device_token),
        &[
            "--seconds".into(),
            (seconds * 30.0).to_string(),
            "--max-messages".into(),
            window.max(1).to_string(),
            "--connections".into(),
            conns.clone(),
        ],
    )
    .await?;
    // Through an external broker, acknowledged means queued at the broker: wait until the
    // hub has committed all of it, and count that time.
    let drain_until = Instant::now() + Duration::from_secs(60);
    while metrics.accepted.load(Relaxed) - accepted_before < ing.acked && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let drained_secs = started.elapsed().as_secs_f64();
    let accepted = metrics.accepted.load(Relaxed) - accepted_before;
    let writer_cpu = thread_cpu_secs("vigie-writer") - writer_cpu_before;
    let hub_cpu = process_cpu_secs() - hub_cpu_before;
    let batches = metrics.batches.load(Relaxed).max(1);
    println!(
        "writer: {batches} batches, mean {:.0} detections, {:.1} µs/detection wall, of which fusion {:.1} µs; writer CPU {:.1} µs/detection; hub process CPU {:.1} µs/detection",
        metrics.batch_detections.load(Relaxed) as f64 / batches as f64,
        metrics.commit_micros.load(Relaxed) as f64 / accepted.max(1) as f64,
        metrics.fusion_micros.load(Relaxed) as f64 / accepted.max(1) as f64,
        writer_cpu * 1e6 / accepted.max(1) as f64,
        hub_cpu * 1e6 / accepted.max(1) as f64,
    );
    let ingest_secs = ing.seconds.max(drained_secs).max(1e-9);
    let detections_per_s = accepted as f64 / ingest_secs;
    let window_detections = metrics.fusion_pending.load(Relaxed) + metrics.fusion_joinable.load(Relaxed);
    let peak_rss = peak_rss_mb();
    println!(
        "ingest: {} published, {} acknowledged, {accepted} committed in {:.2} s → {detections_per_s:.0} detections/s ({:.2} × pass-through); fusion window {} pending detections; peak RSS {peak_rss:.0} MiB",
        ing.sent,
        ing.acked,
        ingest_secs,
        detections_per_s / passthrough_per_s.max(1e-9),
        metrics.fusion_pending.load(Relaxed),
    );
    if ing.acked != accepted + (metrics.duplicates.load(Relaxed)) {
        println!("note: {} acknowledged vs {accepted} committed", ing.acked);
    }

    // 3. Latency at half the measured rate, on the live stream.
    let arrivals: super::sse::Arrivals = Default::default();
    let follower = tokio::spawn(super::sse::follow(hub.http_addr, reader_token, arrivals.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let half = (detections_per_s / 2.0).max(100.0) as u64;
    let lat = run_publisher(
        mqtt,
        Some(&device_token),
        &[
            "--seconds".into(),
            seconds.to_string(),
            "--rate".into(),
            half.to_string(),
            "--probe-ms".into(),
            "50".into(),
            "--connections".into(),
            conns,
        ],
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    follower.abort();
    let arrivals = arrivals.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut latencies: Vec<f64> = lat
        .probes
        .iter()
        .filter_map(|(id, sent)| arrivals.get(id).map(|got| (*got as f64 - *sent as f64) / 1e6))
        .collect();
    latencies.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
    println!(
        "latency at {half}/s: {} of {} probes seen on the live stream; p50 {p50:.1} ms, p99 {p99:.1} ms, max {:.1} ms",
        latencies.len(),
        lat.probes.len(),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    if latencies.is_empty() {
        bail!("no latency probe reached the live stream");
    }
    let peak_rss = peak_rss.max(peak_rss_mb());
    hub.stop().await;
    if args.data.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    let json = serde_json::json!({
        "bench": "ingest",
        "detections_per_s": detections_per_s.round(),
        "passthrough_per_s": passthrough_per_s.round(),
        "ratio_vs_passthrough": (detections_per_s / passthrough_per_s.max(1e-9) * 1000.0).round() / 1000.0,
        "p50_ms": (p50 * 10.0).round() / 10.0,
        "p99_ms": (p99 * 10.0).round() / 10.0,
        "latency_rate_per_s": half,
        "peak_rss_mb": peak_rss.round(),
        "window_detections": window_detections,
        "committed": accepted,
        "store": if args.store.is_some() { "postgres" } else { "sqlite" },
        "broker": broker_name,
        "smoke": args.smoke,
    });
    println!("{json}");
    Ok(())
}
