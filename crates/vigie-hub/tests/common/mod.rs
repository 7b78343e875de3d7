//! Helpers shared by the hub's integration tests: a small config, detection lines, a
//! controllable clock, an in-process hub, a tiny HTTP/1.1 client over `TcpStream` (with a
//! server-sent-events reader), and polling with a deadline instead of sleeps.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use vigie_hub::ingest::Clock;
use vigie_hub::{Hub, HubOptions, MqttMode};
use vigie_model::config::Config;

/// Four sensors around the Bouffay in Nantes; no `[[rules]]`, so the default rules apply.
pub const CONFIG_TOML: &str = r#"
[hub]
name = "Vigie tests"

[[sensors]]
id = "cam-fire-01"
type = "camera"
name = "Place du Bouffay"
lon = -1.5536
lat = 47.2150
analytics = ["video.fire", "video.crowd_density"]
heading_deg = 90
fov_deg = 70
range_m = 80

[[sensors]]
id = "cam-gare-02"
type = "camera"
name = "Gare nord"
lon = -1.5420
lat = 47.2175
analytics = ["video.tamper", "video.abandoned_object"]

[[sensors]]
id = "mic-bouffay-03"
type = "microphone"
name = "Rue de la Marne"
lon = -1.5540
lat = 47.2155
analytics = ["audio.gunshot", "audio.scream"]

[[sensors]]
id = "flows-centre-04"
type = "flows"
name = "Centre-ville"
lon = -1.5550
lat = 47.2140
analytics = ["flows.presence_anomaly"]
"#;

pub fn config() -> Arc<Config> {
    Arc::new(Config::from_toml(CONFIG_TOML, Path::new("tests.toml"), None).expect("the test config is valid"))
}

/// A clock the test moves by hand.
#[derive(Clone)]
pub struct ManualClock {
    ms: Arc<AtomicI64>,
}

impl ManualClock {
    pub fn at(t: DateTime<Utc>) -> ManualClock {
        ManualClock { ms: Arc::new(AtomicI64::new(t.timestamp_millis())) }
    }
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.ms.load(Ordering::SeqCst)).expect("clock in range")
    }
    pub fn advance(&self, d: chrono::Duration) {
        self.ms.fetch_add(d.num_milliseconds(), Ordering::SeqCst);
    }
    pub fn clock(&self) -> Clock {
        let ms = self.ms.clone();
        Arc::new(move || DateTime::from_timestamp_millis(ms.load(Ordering::SeqCst)).expect("clock in range"))
    }
}

/// The instant the API tests' hub believes it is.
pub fn t0() -> DateTime<Utc> {
    "2026-11-22T21:31:00Z".parse().expect("valid time")
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A fresh detection id.
pub fn new_id() -> String {
    ulid::Ulid::new().to_string()
}

/// One detection of contract v1, as a JSON object (patch it before serialising).
pub fn detection(id: &str, sensor: &str, kind: &str, time: DateTime<Utc>, confidence: f64) -> Value {
    serde_json::json!({
        "id": id,
        "sensor": sensor,
        "kind": kind,
        "time": rfc3339(time),
        "location": { "lon": -1.5536, "lat": 47.2150, "uncertainty_m": 12.0 },
        "confidence": confidence,
        "attributes": { "zone": "bouffay" },
    })
}

/// Starts a hub on 127.0.0.1:0 over a SQLite file, as `vigie up` runs it: with its audit
/// log in the store's folder.
pub async fn start_hub(db: &Path, mqtt: MqttMode, clock: Clock) -> Hub {
    start_hub_with(db, mqtt, clock, config()).await
}

/// [`start_hub`] with another config.
pub async fn start_hub_with(db: &Path, mqtt: MqttMode, clock: Clock, config: Arc<Config>) -> Hub {
    let audit = db.parent().map(|d| d.join("audit"));
    let hub = Hub::start_with_audit(
        HubOptions {
            config,
            http_listen: "127.0.0.1:0".parse().expect("valid address"),
            store_url: db.display().to_string(),
            mqtt,
            clock,
        },
        audit,
    )
    .await
    .expect("the hub starts");
    install_test_token(&hub);
    hub
}

/// Polls `check` until it gives `Some`, failing with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not true after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// An HTTP response, body de-chunked.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response {} is not JSON ({e}): {}", self.status, self.text()))
    }
}

const HTTP_TIMEOUT: Duration = Duration::from_secs(20);

/// The token every test hub trusts: it acts as a supervisor and publishes for every
/// sensor. Requests carry it unless they bring their own `Authorization` or `Cookie`, or
/// go through [`request_anonymous`].
pub const TEST_TOKEN: &str = "vgt_integration-tests-token-not-for-production";

/// Makes `hub` trust [`TEST_TOKEN`] (once per store: a restarted hub already does).
pub fn install_test_token(hub: &Hub) {
    if hub.auth.token_principal(TEST_TOKEN).is_some() {
        return;
    }
    hub.auth
        .create_token_with_secret(
            "integration tests",
            Some(vigie_hub::auth::Role::Supervisor),
            vigie_hub::store::SensorScope::All,
            "tests",
            TEST_TOKEN,
        )
        .expect("the test token is created");
}

fn request_head(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], len: usize) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    let own_credentials =
        headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization") || k.eq_ignore_ascii_case("cookie"));
    let anonymous = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(ANONYMOUS_MARK));
    if !own_credentials && !anonymous {
        head += &format!("Authorization: Bearer {TEST_TOKEN}\r\n");
    }
    if len > 0 || method != "GET" {
        head += &format!("Content-Length: {len}\r\n");
    }
    for (k, v) in headers.iter().filter(|(k, _)| !k.eq_ignore_ascii_case(ANONYMOUS_MARK)) {
        head += &format!("{k}: {v}\r\n");
    }
    head + "\r\n"
}

/// A pseudo-header that keeps [`TEST_TOKEN`] off a request (never sent).
const ANONYMOUS_MARK: &str = "x-test-anonymous";

/// A request with no credentials at all: what the public sends.
pub async fn request_anonymous(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut h = headers.to_vec();
    h.push((ANONYMOUS_MARK, "1"));
    request(addr, method, path, &h, body).await
}

/// One request on a fresh connection (`Connection: close`), read to the end.
pub async fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let exchange = async {
        let mut s = TcpStream::connect(addr).await.expect("connect to the hub");
        s.write_all(request_head(addr, method, path, headers, body.len()).as_bytes()).await.expect("write head");
        s.write_all(body).await.expect("write body");
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.expect("read response");
        parse_response(&buf)
    };
    tokio::time::timeout(HTTP_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer within {HTTP_TIMEOUT:?}"))
}

/// A request whose body the server may refuse before reading it all: the body is written
/// while the answer is read, and a write cut short by the server is not an error.
pub async fn request_streaming_body(addr: SocketAddr, method: &str, path: &str, body: Vec<u8>) -> Response {
    let exchange = async {
        let s = TcpStream::connect(addr).await.expect("connect to the hub");
        let (mut rd, mut wr) = s.into_split();
        let head = request_head(addr, method, path, &[("Content-Type", "application/x-ndjson")], body.len());
        let writer = tokio::spawn(async move {
            if wr.write_all(head.as_bytes()).await.is_ok() {
                let _ = wr.write_all(&body).await;
            }
            wr
        });
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match rd.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                // A reset after the answer arrived (the server closed with body unread).
                Err(e) if !buf.is_empty() => {
                    eprintln!("read ended with {e} after {} bytes", buf.len());
                    break;
                }
                Err(e) => panic!("{method} {path}: read failed before any answer: {e}"),
            }
        }
        drop(writer.await);
        parse_response(&buf)
    };
    tokio::time::timeout(HTTP_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer within {HTTP_TIMEOUT:?}"))
}

pub async fn get(addr: SocketAddr, path: &str) -> Response {
    request(addr, "GET", path, &[], b"").await
}

pub async fn post_json(addr: SocketAddr, path: &str, body: &Value) -> Response {
    request(addr, "POST", path, &[("Content-Type", "application/json")], body.to_string().as_bytes()).await
}

/// Posts NDJSON lines to `/api/v1/detections`.
pub async fn post_ndjson(addr: SocketAddr, lines: &[String]) -> Response {
    let body = lines.join("\n") + "\n";
    request(addr, "POST", "/api/v1/detections", &[("Content-Type", "application/x-ndjson")], body.as_bytes()).await
}

fn parse_response(buf: &[u8]) -> Response {
    let end = find(buf, b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in {:?}", String::from_utf8_lossy(&buf[..buf.len().min(500)])));
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &buf[end + 4..];
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked { dechunk(rest) } else { rest.to_vec() };
    Response { status, headers, body }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = find(rest, b"\r\n") {
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size {size_text:?}"));
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&rest[start..(start + size).min(rest.len())]);
        rest = &rest[(start + size + 2).min(rest.len())..];
    }
    out
}

/// Sends a GET and reads only the status line and headers (for endless responses).
pub async fn get_status_only(addr: SocketAddr, path: &str) -> u16 {
    let exchange = async {
        let s = TcpStream::connect(addr).await.expect("connect to the hub");
        let mut s = BufReader::new(s);
        s.get_mut().write_all(request_head(addr, "GET", path, &[], 0).as_bytes()).await.expect("write request");
        let mut line = String::new();
        s.read_line(&mut line).await.expect("read status line");
        line.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("bad status line {line:?}"))
    };
    tokio::time::timeout(HTTP_TIMEOUT, exchange).await.unwrap_or_else(|_| panic!("GET {path}: no answer"))
}

/// A server-sent-events client over a raw connection.
pub struct SseClient {
    reader: BufReader<TcpStream>,
    chunked: bool,
    pending: String,
}

/// One SSE event.
#[derive(Debug)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

impl SseClient {
    pub async fn connect(addr: SocketAddr, path: &str) -> SseClient {
        let s = TcpStream::connect(addr).await.expect("connect to the hub");
        let mut reader = BufReader::new(s);
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\nAuthorization: Bearer {TEST_TOKEN}\r\n\r\n"
        );
        reader.get_mut().write_all(head.as_bytes()).await.expect("write request");
        let mut status = String::new();
        reader.read_line(&mut status).await.expect("read status");
        assert!(status.starts_with("HTTP/1.1 200"), "stream answered {status:?}");
        let mut chunked = false;
        let mut content_type = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.expect("read header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
            if let Some(v) = lower.strip_prefix("content-type:") {
                content_type = v.trim().to_owned();
            }
        }
        assert!(content_type.starts_with("text/event-stream"), "stream content type {content_type:?}");
        SseClient { reader, chunked, pending: String::new() }
    }

    async fn fill(&mut self) {
        if self.chunked {
            let mut size = String::new();
            let n = self.reader.read_line(&mut size).await.expect("read chunk size");
            assert!(n > 0, "the stream closed");
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or_else(|_| panic!("bad chunk size {size:?}"));
            assert!(size > 0, "the stream ended");
            let mut data = vec![0u8; size + 2];
            self.reader.read_exact(&mut data).await.expect("read chunk");
            self.pending.push_str(&String::from_utf8_lossy(&data[..size]));
        } else {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).await.expect("read stream");
            assert!(n > 0, "the stream closed");
            self.pending.push_str(&line);
        }
    }

    /// The next event with a name (comments and keep-alives skipped).
    pub async fn next_event(&mut self) -> SseEvent {
        loop {
            let normalized = self.pending.replace("\r\n", "\n");
            if let Some(end) = normalized.find("\n\n") {
                let block = normalized[..end].to_owned();
                self.pending = normalized[end + 2..].to_owned();
                let mut ev = SseEvent { event: String::new(), data: String::new() };
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        ev.event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if !ev.data.is_empty() {
                            ev.data.push('\n');
                        }
                        ev.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if !ev.event.is_empty() {
                    return ev;
                }
                continue;
            }
            self.pending = normalized;
            self.fill().await;
        }
    }

    /// Waits up to `timeout` for an event matching `pred`; other events are skipped.
    pub async fn wait_for(&mut self, timeout: Duration, mut pred: impl FnMut(&SseEvent) -> bool) -> SseEvent {
        tokio::time::timeout(timeout, async {
            loop {
                let ev = self.next_event().await;
                if pred(&ev) {
                    return ev;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no matching event within {timeout:?}"))
    }
}

/// The value of one Prometheus sample line, e.g.
/// `vigie_ingest_detections_refused_total{transport="http",reason="too_large"}`.
pub fn metric(text: &str, series: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok())
    })
}

/// An MQTT 3.1.1 test client whose event loop runs on its own task; incoming packets
/// arrive on a channel. [`MqttClient::kill`] drops the connection without DISCONNECT, as a
/// crashed device would (the broker then publishes its last will).
pub struct MqttClient {
    pub client: rumqttc::AsyncClient,
    incoming: tokio::sync::mpsc::UnboundedReceiver<rumqttc::Packet>,
    task: tokio::task::JoinHandle<()>,
}

impl MqttClient {
    /// Connects (clean session) and waits for the CONNACK.
    pub async fn connect(addr: SocketAddr, client_id: &str, will: Option<rumqttc::LastWill>) -> MqttClient {
        let mut opts = rumqttc::MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
        opts.set_keep_alive(Duration::from_secs(30));
        opts.set_max_packet_size(1 << 20, 1 << 20);
        opts.set_credentials(client_id, TEST_TOKEN);
        if let Some(w) = will {
            opts.set_last_will(w);
        }
        let (client, mut eventloop) = rumqttc::AsyncClient::new(opts, 1024);
        let (tx, incoming) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(rumqttc::Event::Incoming(p)) => {
                        if tx.send(p).is_err() {
                            return;
                        }
                    }
                    Ok(rumqttc::Event::Outgoing(_)) => {}
                    Err(e) => {
                        eprintln!("test MQTT client: connection ended: {e}");
                        return;
                    }
                }
            }
        });
        let mut c = MqttClient { client, incoming, task };
        c.expect("CONNACK", Duration::from_secs(10), |p| matches!(p, rumqttc::Packet::ConnAck(_))).await;
        c
    }

    /// The next incoming packet matching `pred` within `timeout`; others are skipped.
    pub async fn expect(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&rumqttc::Packet) -> bool,
    ) -> rumqttc::Packet {
        let wait = async {
            loop {
                match self.incoming.recv().await {
                    Some(p) if pred(&p) => return p,
                    Some(_) => {}
                    None => panic!("{what}: the MQTT connection closed"),
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.unwrap_or_else(|_| panic!("{what}: nothing within {timeout:?}"))
    }

    /// Subscribes and waits for the SUBACK.
    pub async fn subscribe(&mut self, filter: &str) {
        self.client.subscribe(filter, rumqttc::QoS::AtLeastOnce).await.expect("queue SUBSCRIBE");
        self.expect("SUBACK", Duration::from_secs(10), |p| matches!(p, rumqttc::Packet::SubAck(_))).await;
    }

    /// Publishes QoS 1 and waits for its PUBACK (one publish in flight at a time).
    pub async fn publish_acked(&mut self, topic: &str, payload: impl Into<Vec<u8>>, retain: bool) {
        self.client.publish(topic, rumqttc::QoS::AtLeastOnce, retain, payload).await.expect("queue PUBLISH");
        self.expect(&format!("PUBACK for {topic}"), Duration::from_secs(10), |p| {
            matches!(p, rumqttc::Packet::PubAck(_))
        })
        .await;
    }

    /// Publishes many QoS 1 messages and waits until each got its PUBACK.
    pub async fn publish_all_acked(&mut self, messages: Vec<(String, Vec<u8>)>) {
        let n = messages.len();
        let client = self.client.clone();
        let sender = tokio::spawn(async move {
            for (topic, payload) in messages {
                client.publish(topic, rumqttc::QoS::AtLeastOnce, false, payload).await.expect("queue PUBLISH");
            }
        });
        for i in 0..n {
            self.expect(&format!("PUBACK {} of {n}", i + 1), Duration::from_secs(30), |p| {
                matches!(p, rumqttc::Packet::PubAck(_))
            })
            .await;
        }
        sender.await.expect("publisher task");
    }

    /// Drops the connection without DISCONNECT.
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// A signed-in person: the session cookie and the anti-CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// Creates an account with this password (no change required).
pub fn add_user(hub: &Hub, username: &str, role: vigie_hub::auth::Role, password: &str) {
    let created = hub.auth.create_user_with_password(username, role, username, password, false).expect("create user");
    assert!(created, "user {username} already exists");
}

/// `POST /api/v1/login`; panics unless it succeeds.
pub async fn login(addr: SocketAddr, username: &str, password: &str) -> Session {
    let body = serde_json::json!({ "username": username, "password": password }).to_string();
    let r = request_anonymous(addr, "POST", "/api/v1/login", &[("Content-Type", "application/json")], body.as_bytes())
        .await;
    assert_eq!(r.status, 200, "login {username}: {}", r.text());
    let set_cookie = r.header("set-cookie").expect("login sets a cookie").to_owned();
    let cookie = set_cookie.split(';').next().expect("cookie pair").to_owned();
    let csrf = r.json()["csrf_token"].as_str().expect("csrf_token").to_owned();
    Session { cookie, csrf }
}

/// A request made with a session, as the console makes it (cookie, and the CSRF token on
/// anything but a GET).
pub async fn session_request(
    addr: SocketAddr,
    s: &Session,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Response {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut headers = vec![("Cookie", s.cookie.as_str()), ("Content-Type", "application/json")];
    if method != "GET" {
        headers.push(("X-CSRF-Token", s.csrf.as_str()));
    }
    request(addr, method, path, &headers, body.as_bytes()).await
}
