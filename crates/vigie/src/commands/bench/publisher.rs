//! The publisher of `vigie bench ingest`, run as a separate process as edge devices are.
//! Publishes QoS 1 detections (or plain messages for the pass-through run) over several
//! connections with a window of unacknowledged messages, at a target rate or as fast as the
//! broker acknowledges. Prints `probe <id> <unix_ns>` for latency probes, then a summary.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bytes::BytesMut;
use clap::Args;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Connect, ConnectReturnCode, Packet, Publish};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use vigie_hub::demo::XorShift as Rng;

#[derive(Args, Clone)]
pub struct PublisherArgs {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long)]
    port: u16,
    /// Connections (each its own client id).
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Unacknowledged publishes per connection.
    #[arg(long, default_value_t = 1000)]
    inflight: u16,
    /// Total messages per second; 0 = as fast as acknowledged.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    #[arg(long)]
    seconds: f64,
    /// Stop after this many messages (0 = no limit).
    #[arg(long, default_value_t = 0)]
    max_messages: u64,
    /// Number of cameras and microphones declared by the bench (cam-00000…, mic-00000…).
    #[arg(long, default_value_t = 10_000)]
    cameras: usize,
    #[arg(long, default_value_t = 5_000)]
    microphones: usize,
    /// Publish plain payloads on bench/passthrough/… instead of detections.
    #[arg(long)]
    passthrough: bool,
    /// A latency probe every N milliseconds (0 = none).
    #[arg(long, default_value_t = 0)]
    probe_ms: u64,
    /// The device token, sent as the MQTT password.
    #[arg(long, env = "VIGIE_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// Positions of the bench's synthetic city: a 30 km square (Mexico City's size), sensors
/// on a grid so that microphones stand about 400 m apart.
pub(crate) fn sensor_position(index: usize, count: usize) -> (f64, f64) {
    let side = (count as f64).sqrt().ceil().max(1.0) as usize;
    let (x, y) = (index % side, index / side);
    let step_deg = 0.27 / side as f64;
    (-99.28 + x as f64 * step_deg, 19.28 + y as f64 * step_deg)
}

pub(crate) const PROBE_SENSOR: &str = "bench-probe";
pub(crate) const PROBE_LON: f64 = -98.5;
pub(crate) const PROBE_LAT: f64 = 19.9;

fn unix_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

fn detection(rng: &mut Rng, args: &PublisherArgs, time: &str) -> (String, String) {
    let id = ulid::Ulid::new().to_string();
    let r = rng.next_u64();
    // Seven in ten are single-microphone impulses that wait in the fusion window; three in
    // ten are crowd densities that open or join incidents.
    if r % 10 < 7 {
        let i = (r >> 8) as usize % args.microphones.max(1);
        let (lon, lat) = sensor_position(i, args.microphones);
        let sensor = format!("mic-{i:05}");
        let payload = format!(
            r#"{{"id":"{id}","sensor":"{sensor}","kind":"audio.impulse","time":"{time}","location":{{"lon":{lon:.6},"lat":{lat:.6},"uncertainty_m":40}},"confidence":0.62,"attributes":{{"peak_db":104.5,"rise_ms":1.1,"duration_ms":140}}}}"#
        );
        (sensor, payload)
    } else {
        let i = (r >> 8) as usize % args.cameras.max(1);
        let (lon, lat) = sensor_position(i, args.cameras);
        let sensor = format!("cam-{i:05}");
        let payload = format!(
            r#"{{"id":"{id}","sensor":"{sensor}","kind":"video.crowd_density","time":"{time}","location":{{"lon":{:.6},"lat":{lat:.6},"uncertainty_m":5}},"confidence":0.74,"attributes":{{"persons_per_m2":3.4,"zone":"z{}"}}}}"#,
            lon + 0.0002,
            i % 97
        );
        (sensor, payload)
    }
}

pub fn run(args: PublisherArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(publish(args))
}

/// Connects a raw MQTT 3.1.1 client: pre-encoded packets pipelined on the socket, so the
/// publisher costs little of the CPU that the hub shares with it on the bench machine.
pub(crate) async fn connect_raw(
    host: &str,
    port: u16,
    client_id: &str,
    token: Option<&str>,
) -> anyhow::Result<TcpStream> {
    let mut s = TcpStream::connect((host, port)).await.with_context(|| format!("cannot connect to {host}:{port}"))?;
    s.set_nodelay(true)?;
    let mut buf = BytesMut::new();
    let mut connect = Connect::new(client_id);
    connect.keep_alive = 60;
    if let Some(t) = token {
        connect.set_login(client_id, t);
    }
    connect.write(&mut buf).map_err(|e| anyhow::anyhow!("encode CONNECT: {e:?}"))?;
    s.write_all(&buf).await?;
    let mut rbuf = BytesMut::with_capacity(4096);
    loop {
        match Packet::read(&mut rbuf, 1 << 20) {
            Ok(Packet::ConnAck(a)) if a.code == ConnectReturnCode::Success => return Ok(s),
            Ok(p) => anyhow::bail!("unexpected answer to CONNECT: {p:?}"),
            Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => {
                if s.read_buf(&mut rbuf).await? == 0 {
                    anyhow::bail!("the broker closed the connection");
                }
            }
            Err(e) => anyhow::bail!("bad CONNACK: {e:?}"),
        }
    }
}

async fn publish(args: PublisherArgs) -> anyhow::Result<()> {
    let sent = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let per_conn_rate = if args.rate == 0 { 0.0 } else { args.rate as f64 / args.connections as f64 };
    let probes = Arc::new(std::sync::Mutex::new(Vec::<(String, u128)>::new()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.connections {
        let stream =
            connect_raw(&args.host, args.port, &format!("bench-pub-{}-{c}", std::process::id()), args.token.as_deref())
                .await?;
        let (mut rd, mut wr) = stream.into_split();
        let window = Arc::new(Semaphore::new(usize::from(args.inflight.max(1))));
        let (acked_c, window_r) = (acked.clone(), window.clone());
        let reader = tokio::spawn(async move {
            let mut rbuf = BytesMut::with_capacity(64 * 1024);
            loop {
                match Packet::read(&mut rbuf, 1 << 20) {
                    Ok(Packet::PubAck(_)) => {
                        acked_c.fetch_add(1, Relaxed);
                        window_r.add_permits(1);
                    }
                    Ok(_) => {}
                    Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => match rd.read_buf(&mut rbuf).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    },
                    Err(e) => {
                        eprintln!("publisher: bad packet from the broker: {e:?}");
                        break;
                    }
                }
            }
        });
        let (args, sent, probes) = (args.clone(), sent.clone(), probes.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((c as u64 + 1) << 17) ^ std::process::id() as u64);
            let mut n: u64 = 0;
            let mut pkid: u16 = 0;
            let mut next_probe = Instant::now();
            let conn_start = Instant::now();
            let mut time = String::new();
            let mut time_at = Instant::now() - Duration::from_secs(1);
            let mut out = BytesMut::with_capacity(128 * 1024);
            while Instant::now() < deadline {
                if args.max_messages > 0 && sent.load(Relaxed) >= args.max_messages {
                    break;
                }
                if per_conn_rate > 0.0 {
                    let due = conn_start + Duration::from_secs_f64(n as f64 / per_conn_rate);
                    let now = Instant::now();
                    if due > now {
                        if !out.is_empty() && wr.write_all(&out).await.is_err() {
                            break;
                        }
                        out.clear();
                        tokio::time::sleep(due - now).await;
                    }
                }
                // Flush what is encoded before waiting for the window to open.
                let permit = match window.try_acquire() {
                    Ok(p) => p,
                    Err(_) => {
                        if !out.is_empty() && wr.write_all(&out).await.is_err() {
                            break;
                        }
                        out.clear();
                        match window.acquire().await {
                            Ok(p) => p,
                            Err(_) => break,
                        }
                    }
                };
                permit.forget();
                if time_at.elapsed() > Duration::from_millis(1) {
                    time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    time_at = Instant::now();
                }
                let (topic, payload) = if c == 0 && args.probe_ms > 0 && Instant::now() >= next_probe {
                    next_probe += Duration::from_millis(args.probe_ms);
                    let id = ulid::Ulid::new().to_string();
                    let payload = format!(
                        r#"{{"id":"{id}","sensor":"{PROBE_SENSOR}","kind":"video.fire","time":"{time}","location":{{"lon":{PROBE_LON},"lat":{PROBE_LAT}}},"confidence":0.9}}"#
                    );
                    // A probe goes out at once, so its send time is true.
                    if !out.is_empty() && wr.write_all(&out).await.is_err() {
                        break;
                    }
                    out.clear();
                    probes.lock().unwrap_or_else(|p| p.into_inner()).push((id, unix_ns()));
                    (format!("vigie/v1/detections/{PROBE_SENSOR}"), payload)
                } else if args.passthrough {
                    let (_, payload) = detection(&mut rng, &args, &time);
                    (format!("bench/passthrough/{c}"), payload)
                } else {
                    let (sensor, payload) = detection(&mut rng, &args, &time);
                    (format!("vigie/v1/detections/{sensor}"), payload)
                };
                pkid = pkid.checked_add(1).unwrap_or(1);
                let mut p = Publish::new(topic, QoS::AtLeastOnce, payload.into_bytes());
                p.pkid = pkid;
                if p.write(&mut out).is_err() {
                    break;
                }
                n += 1;
                sent.fetch_add(1, Relaxed);
                // With a target rate each message leaves at once; at full speed, batches fill the socket.
                if out.len() >= 64 * 1024 || per_conn_rate > 0.0 {
                    if wr.write_all(&out).await.is_err() {
                        break;
                    }
                    out.clear();
                }
            }
            let _ = wr.write_all(&out).await;
            (wr, reader)
        }));
    }
    let mut conns = Vec::new();
    for t in tasks {
        if let Ok(c) = t.await {
            conns.push(c);
        }
    }
    // Let outstanding acknowledgements land (bounded), then leave cleanly.
    let wait_until = Instant::now() + Duration::from_secs(10);
    while acked.load(Relaxed) < sent.load(Relaxed) && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    for (mut wr, reader) in conns {
        let mut buf = BytesMut::new();
        let _ = Packet::Disconnect.write(&mut buf, 16);
        let _ = wr.write_all(&buf).await;
        reader.abort();
    }
    let mut out = std::io::stdout().lock();
    for (id, ns) in probes.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        writeln!(out, "probe {id} {ns}").context("stdout")?;
    }
    writeln!(out, "done sent={} acked={} seconds={elapsed:.3}", sent.load(Relaxed), acked.load(Relaxed))
        .context("stdout")?;
    Ok(())
}
