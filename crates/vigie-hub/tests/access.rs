//! Who may do what (issue 4): a table-driven walk of every route with every kind of
//! caller, and the attacks a login system must resist — session fixation, CSRF, password
//! guessing, path traversal, oversized requests, a device speaking for another sensor.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use vigie_hub::auth::Role;
use vigie_hub::store::SensorScope;
use vigie_hub::{Hub, MqttMode};

use common::*;

const PASSWORD: &str = "Tram-ligne-1-Commerce";

/// The callers of the table, in its column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Device,
    Operator,
    Supervisor,
    Dpo,
    Admin,
    /// A service token with the operator role (a dispatch system reading incidents).
    Service,
}

const CALLERS: [Caller; 7] = [
    Caller::Anonymous,
    Caller::Device,
    Caller::Operator,
    Caller::Supervisor,
    Caller::Dpo,
    Caller::Admin,
    Caller::Service,
];

/// Every route, and who may use it: `a` anonymous, `d` a device token, `o` operator, `s`
/// supervisor, `p` data protection officer, `m` administrator, `t` a service token with the
/// operator role. A route of the hub missing here, or listed here and gone from the hub,
/// fails the test.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("get", "/api/v1/health", "adospmt"),
    ("get", "/api/v1/openapi.json", "adospmt"),
    ("post", "/api/v1/login", "adospmt"),
    ("post", "/api/v1/logout", "dospmt"),
    ("get", "/api/v1/me", "adospmt"),
    ("post", "/api/v1/me/password", "dospmt"),
    ("get", "/api/v1/users", "m"),
    ("post", "/api/v1/users", "m"),
    ("post", "/api/v1/users/{username}/actions", "m"),
    ("get", "/api/v1/tokens", "m"),
    ("post", "/api/v1/tokens", "m"),
    ("post", "/api/v1/tokens/{id}/revoke", "m"),
    ("get", "/api/v1/sensors", "ospmt"),
    ("get", "/api/v1/sensors/{id}", "ospmt"),
    ("post", "/api/v1/sensors/{id}/telemetry", "d"),
    ("get", "/api/v1/sensors/{id}/track", "ost"),
    ("get", "/api/v1/zones", "adospmt"),
    ("post", "/api/v1/detections", "d"),
    ("post", "/api/v1/evidence", "d"),
    ("get", "/api/v1/evidence/{file}", "os"),
    ("post", "/api/v1/reports", "adospmt"),
    ("get", "/api/v1/detections", "ost"),
    ("get", "/api/v1/detections/refused", "ost"),
    ("get", "/api/v1/detections/{id}", "ost"),
    ("get", "/api/v1/incidents", "ost"),
    ("get", "/api/v1/incidents/{id}", "ost"),
    ("post", "/api/v1/incidents/{id}/actions", "ost"),
    ("post", "/api/v1/incidents/{id}/notes", "ost"),
    ("post", "/api/v1/incidents/{id}/exports", "os"),
    ("get", "/api/v1/exports", "osp"),
    ("get", "/api/v1/exports/{id}", "osp"),
    ("post", "/api/v1/exports/{id}/decision", "s"),
    ("get", "/api/v1/exports/{id}/package", "os"),
    ("get", "/api/v1/registers/authorizations", "p"),
    ("get", "/api/v1/registers/purges", "p"),
    ("get", "/api/v1/registers/holds", "p"),
    ("post", "/api/v1/registers/holds/{id}/release", "p"),
    ("get", "/api/v1/audit/entries", "p"),
    ("get", "/api/v1/transparency", "adospmt"),
    ("get", "/api/v1/social/search", "os"),
    ("get", "/api/v1/stream", "ost"),
    ("post", "/api/v1/recordings/{id}/segments", "d"),
    ("get", "/api/v1/recordings", "ost"),
    ("get", "/api/v1/recordings/{id}/segments", "ost"),
    ("get", "/api/v1/segments/{id}", "os"),
    ("get", "/api/v1/live", "ost"),
    ("get", "/api/v1/live/{id}", "os"),
    ("get", "/api/v1/live/{id}/publish", "d"),
    ("get", "/api/v1/wall/layouts", "os"),
    ("put", "/api/v1/wall/layouts/{id}", "os"),
    ("delete", "/api/v1/wall/layouts/{id}", "os"),
    ("get", "/api/v1/audit/checkpoint", "adospmt"),
    ("get", "/metrics", "adospmt"),
    ("get", "/api/v1/basemap", "adospmt"),
    ("get", "/api/v1/stats/precision", "ospt"),
    ("get", "/", "adospmt"),
    ("get", "/report", "adospmt"),
    ("get", "/transparence", "adospmt"),
    ("get", "/assets/{file}", "adospmt"),
];

fn letter(c: Caller) -> char {
    match c {
        Caller::Anonymous => 'a',
        Caller::Device => 'd',
        Caller::Operator => 'o',
        Caller::Supervisor => 's',
        Caller::Dpo => 'p',
        Caller::Admin => 'm',
        Caller::Service => 't',
    }
}

/// A path with its parameters filled in with well-formed values.
fn concrete(path: &str) -> String {
    let file = if path.starts_with("/assets") { "app.js".to_owned() } else { format!("{}.jpg", "0".repeat(64)) };
    path.replace("{id}", "01JDQ8M6N4X2V6Z7Y8W9A0B1C2").replace("{username}", "someone").replace("{file}", &file)
}

/// Sends a request and reads only the status line (the live stream never ends).
async fn status_of(addr: SocketAddr, method: &str, path: &str, headers: &[(String, String)], body: &[u8]) -> u16 {
    let exchange = async {
        let s = TcpStream::connect(addr).await.expect("connect");
        let mut s = BufReader::new(s);
        let mut head = format!(
            "{} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
            method.to_uppercase(),
            body.len()
        );
        for (k, v) in headers {
            head += &format!("{k}: {v}\r\n");
        }
        head += "\r\n";
        s.get_mut().write_all(head.as_bytes()).await.expect("write");
        s.get_mut().write_all(body).await.expect("write body");
        let mut line = String::new();
        s.read_line(&mut line).await.expect("status line");
        line.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("bad status line {line:?}"))
    };
    tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer"))
}

struct Fixture {
    hub: Hub,
    _dir: tempfile::TempDir,
    device_token: String,
    service_token: String,
    sessions: Vec<(Caller, Session)>,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(t0());
    let hub = start_hub(&dir.path().join("vigie.db"), MqttMode::Off, clock.clock()).await;
    let (_, device_token) = hub
        .auth
        .create_token("caméra du Bouffay", None, SensorScope::Only(vec!["cam-fire-01".into()]), "tests")
        .unwrap();
    let mut sessions = Vec::new();
    for (caller, name, role) in [
        (Caller::Operator, "olivia", Role::Operator),
        (Caller::Supervisor, "samir", Role::Supervisor),
        (Caller::Dpo, "paula", Role::Dpo),
        (Caller::Admin, "mathis", Role::Admin),
    ] {
        add_user(&hub, name, role, PASSWORD);
        sessions.push((caller, login(hub.http_addr, name, PASSWORD).await));
    }
    let (_, service_token) =
        hub.auth.create_token("main courante", Some(Role::Operator), SensorScope::Only(vec![]), "tests").unwrap();
    Fixture { hub, _dir: dir, device_token, service_token, sessions }
}

impl Fixture {
    fn headers(&self, caller: Caller, method: &str) -> Vec<(String, String)> {
        let mut h = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        match caller {
            Caller::Anonymous => {}
            Caller::Device => h.push(("Authorization".into(), format!("Bearer {}", self.device_token))),
            Caller::Service => h.push(("Authorization".into(), format!("Bearer {}", self.service_token))),
            person => {
                let s = &self.sessions.iter().find(|(c, _)| *c == person).expect("session").1;
                h.push(("Cookie".into(), s.cookie.clone()));
                if method != "get" {
                    h.push(("X-CSRF-Token".into(), s.csrf.clone()));
                }
            }
        }
        h
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_with_every_caller() {
    let table: BTreeSet<(&str, &str)> = EXPECTED.iter().map(|(m, p, _)| (*m, *p)).collect();
    let routes: BTreeSet<(&str, &str)> = vigie_hub::api::ROUTES.iter().map(|r| (r.method, r.path)).collect();
    let missing: Vec<_> = routes.difference(&table).collect();
    let gone: Vec<_> = table.difference(&routes).collect();
    assert!(missing.is_empty(), "routes with no entry in this test's table: {missing:?}");
    assert!(gone.is_empty(), "entries for routes the hub no longer has: {gone:?}");

    let f = fixture().await;
    let addr = f.hub.http_addr;
    let mut wrong = Vec::new();
    // Logging out succeeds for every signed-in caller: walk it last.
    let walk =
        EXPECTED.iter().filter(|e| e.1 != "/api/v1/logout").chain(EXPECTED.iter().filter(|e| e.1 == "/api/v1/logout"));
    for (method, path, allowed) in walk {
        let url = concrete(path);
        for caller in CALLERS {
            // A body no handler accepts: an allowed caller gets past the access layer and is
            // answered by the handler (400, 404, 415…), never 401 or 403.
            let status = status_of(addr, method, &url, &f.headers(caller, method), b"{}").await;
            let may = allowed.contains(letter(caller));
            let denied = status == 401 || status == 403;
            let expected_denial = if caller == Caller::Anonymous { 401 } else { 403 };
            if may && denied {
                wrong.push(format!("{caller:?} {method} {url}: {status}, expected to be let through"));
            } else if !may && status != expected_denial {
                wrong.push(format!("{caller:?} {method} {url}: {status}, expected {expected_denial}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{} access decisions differ from the table:\n{}", wrong.len(), wrong.join("\n"));
    f.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_id_planted_before_login_is_never_promoted() {
    let f = fixture().await;
    let addr = f.hub.http_addr;
    let planted = "vigie_session=attacker-chosen-value";
    let body = json!({ "username": "olivia", "password": PASSWORD }).to_string();
    let r = request(
        addr,
        "POST",
        "/api/v1/login",
        &[("Content-Type", "application/json"), ("Cookie", planted)],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let set = r.header("set-cookie").unwrap();
    assert!(!set.contains("attacker-chosen-value"), "{set}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(flag), "cookie lacks {flag}: {set}");
    }
    let as_planted = request(addr, "GET", "/api/v1/incidents", &[("Cookie", planted)], b"").await;
    assert_eq!(as_planted.status, 401, "the planted id is not a session");

    // Logging in twice gives two different sessions; logging out ends one of them only.
    let s1 = login(addr, "olivia", PASSWORD).await;
    let s2 = login(addr, "olivia", PASSWORD).await;
    assert_ne!(s1.cookie, s2.cookie);
    assert_ne!(s1.csrf, s2.csrf);
    assert_eq!(session_request(addr, &s1, "POST", "/api/v1/logout", None).await.status, 204);
    assert_eq!(session_request(addr, &s1, "GET", "/api/v1/incidents", None).await.status, 401);
    assert_eq!(session_request(addr, &s2, "GET", "/api/v1/incidents", None).await.status, 200);
    f.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_cross_site_request_is_refused() {
    let f = fixture().await;
    let addr = f.hub.http_addr;
    let s = &f.sessions[0].1;
    let note = json!({ "text": "x" }).to_string();
    let path = "/api/v1/incidents/01JDQ8M6N4X2V6Z7Y8W9A0B1C2/notes";
    // The browser sends the cookie on its own; a forged page cannot read the CSRF token.
    let without =
        request(addr, "POST", path, &[("Cookie", &s.cookie), ("Content-Type", "application/json")], note.as_bytes())
            .await;
    assert_eq!(without.status, 403, "{}", without.text());
    assert!(without.text().contains("X-CSRF-Token"));
    let wrong = request(
        addr,
        "POST",
        path,
        &[("Cookie", &s.cookie), ("X-CSRF-Token", "guess"), ("Content-Type", "application/json")],
        note.as_bytes(),
    )
    .await;
    assert_eq!(wrong.status, 403);
    let other = &f.sessions[1].1;
    let swapped = request(
        addr,
        "POST",
        path,
        &[("Cookie", &s.cookie), ("X-CSRF-Token", &other.csrf), ("Content-Type", "application/json")],
        note.as_bytes(),
    )
    .await;
    assert_eq!(swapped.status, 403, "another session's token does not fit");
    let right = session_request(addr, s, "POST", path, Some(&json!({ "text": "x" }))).await;
    assert_eq!(right.status, 404, "through to the handler (no such incident): {}", right.text());

    // A request from another origin is refused even with the right token, and even to log in.
    let evil = request(
        addr,
        "POST",
        path,
        &[
            ("Cookie", &s.cookie),
            ("X-CSRF-Token", &s.csrf),
            ("Origin", "https://evil.example"),
            ("Content-Type", "application/json"),
        ],
        note.as_bytes(),
    )
    .await;
    assert_eq!(evil.status, 403);
    let login_body = json!({ "username": "olivia", "password": PASSWORD }).to_string();
    let evil_login = request_anonymous(
        addr,
        "POST",
        "/api/v1/login",
        &[("Origin", "https://evil.example"), ("Content-Type", "application/json")],
        login_body.as_bytes(),
    )
    .await;
    assert_eq!(evil_login.status, 403);
    let own = format!("http://{addr}");
    let same_origin = request_anonymous(
        addr,
        "POST",
        "/api/v1/login",
        &[("Origin", &own), ("Content-Type", "application/json")],
        login_body.as_bytes(),
    )
    .await;
    assert_eq!(same_origin.status, 200, "{}", same_origin.text());
    f.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_lock_the_account_and_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(t0());
    let hub = start_hub(&dir.path().join("vigie.db"), MqttMode::Off, clock.clock()).await;
    add_user(&hub, "olivia", Role::Operator, PASSWORD);
    let addr = hub.http_addr;
    let attempt = |password: &'static str| async move {
        let body = json!({ "username": "olivia", "password": password }).to_string();
        request_anonymous(addr, "POST", "/api/v1/login", &[("Content-Type", "application/json")], body.as_bytes()).await
    };
    for _ in 0..5 {
        let r = attempt("not-the-password").await;
        assert_eq!(r.status, 401, "{}", r.text());
        assert!(r.text().contains("wrong user name or password"));
    }
    let locked = attempt(PASSWORD).await;
    assert_eq!(locked.status, 429, "locked even with the right password: {}", locked.text());
    assert_eq!(locked.header("retry-after"), Some("900"));
    // An unknown name answers exactly like a wrong password.
    let body = json!({ "username": "nobody", "password": "x" }).to_string();
    let unknown =
        request_anonymous(addr, "POST", "/api/v1/login", &[("Content-Type", "application/json")], body.as_bytes())
            .await;
    assert_eq!(
        (unknown.status, unknown.json()["error"]["message"].clone()),
        (401, json!("wrong user name or password"))
    );

    clock.advance(chrono::Duration::minutes(16));
    assert_eq!(attempt(PASSWORD).await.status, 200, "the lock expires");
    hub.stop().await;
    let entries = std::fs::read_to_string(dir.path().join("audit").join(vigie_audit::ENTRIES_FILE)).unwrap();
    assert_eq!(entries.matches("\"login_failed\"").count(), 6, "5 wrong, 1 unknown; the locked one is only counted");
    assert!(!entries.contains("nobody"), "a name that is no account is not written down");
    assert_eq!(entries.matches("\"login\"").count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_guesses_gets_five_password_checks() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(t0());
    let hub = start_hub(&dir.path().join("vigie.db"), MqttMode::Off, clock.clock()).await;
    add_user(&hub, "paul", Role::Operator, PASSWORD);
    let addr = hub.http_addr;
    let guesses: Vec<_> = (0..50)
        .map(|i| {
            tokio::spawn(async move {
                let body = json!({ "username": "paul", "password": format!("guess-{i}") }).to_string();
                request_anonymous(
                    addr,
                    "POST",
                    "/api/v1/login",
                    &[("Content-Type", "application/json")],
                    body.as_bytes(),
                )
                .await
                .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for g in guesses {
        statuses.push(g.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 45, "{statuses:?}");
    let body = json!({ "username": "PAUL", "password": PASSWORD }).to_string();
    let locked =
        request_anonymous(addr, "POST", "/api/v1/login", &[("Content-Type", "application/json")], body.as_bytes())
            .await;
    assert_eq!(locked.status, 429, "the right password waits for the lock too");
    clock.advance(chrono::Duration::minutes(16));
    let r = request_anonymous(addr, "POST", "/api/v1/login", &[("Content-Type", "application/json")], body.as_bytes())
        .await;
    assert_eq!(r.status, 200, "names are case-insensitive: {}", r.text());
    let metrics = request_anonymous(addr, "GET", "/metrics", &[], b"").await.text();
    assert!(metrics.contains("vigie_auth_logins_locked_total 46"), "{metrics}");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_password_must_be_changed_before_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(t0());
    let hub = start_hub(&dir.path().join("vigie.db"), MqttMode::Off, clock.clock()).await;
    let first = hub.bootstrap_password.clone().expect("a fresh store creates the administrator");
    assert!(hub.auth.bootstrap_admin().unwrap().is_none(), "only once");
    let addr = hub.http_addr;
    let admin = login(addr, "admin", &first).await;
    let me = session_request(addr, &admin, "GET", "/api/v1/me", None).await.json();
    assert_eq!((me["role"].clone(), me["must_change_password"].clone()), (json!("admin"), json!(true)));
    let blocked = session_request(addr, &admin, "GET", "/api/v1/users", None).await;
    assert_eq!(blocked.status, 403);
    assert!(blocked.text().contains("one-time password"), "{}", blocked.text());

    let weak = json!({ "current_password": first, "new_password": "short" });
    assert_eq!(session_request(addr, &admin, "POST", "/api/v1/me/password", Some(&weak)).await.status, 400);
    let change = json!({ "current_password": first, "new_password": "Hôtel-de-Ville-2026" });
    let changed = session_request(addr, &admin, "POST", "/api/v1/me/password", Some(&change)).await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    assert_eq!(session_request(addr, &admin, "GET", "/api/v1/users", None).await.status, 401, "the old session ended");
    let admin = login(addr, "admin", "Hôtel-de-Ville-2026").await;
    let users = session_request(addr, &admin, "GET", "/api/v1/users", None).await;
    assert_eq!(users.status, 200);
    assert!(!users.text().contains("argon2"), "hashes never leave the store");

    // The administrator creates an operator, who gets a one-time password; disabling ends
    // the operator's session at once.
    let created = session_request(
        addr,
        &admin,
        "POST",
        "/api/v1/users",
        Some(&json!({ "username": "olivia", "role": "operator" })),
    )
    .await
    .json();
    let otp = created["one_time_password"].as_str().unwrap().to_owned();
    let olivia = login(addr, "olivia", &otp).await;
    let change = json!({ "current_password": otp, "new_password": PASSWORD });
    assert_eq!(session_request(addr, &olivia, "POST", "/api/v1/me/password", Some(&change)).await.status, 200);
    let olivia = login(addr, "olivia", PASSWORD).await;
    assert_eq!(session_request(addr, &olivia, "GET", "/api/v1/incidents", None).await.status, 200);
    let disable = json!({ "action": "disable" });
    assert_eq!(session_request(addr, &admin, "POST", "/api/v1/users/olivia/actions", Some(&disable)).await.status, 200);
    assert_eq!(session_request(addr, &olivia, "GET", "/api/v1/incidents", None).await.status, 401);
    let body = json!({ "username": "olivia", "password": PASSWORD }).to_string();
    let r = request_anonymous(addr, "POST", "/api/v1/login", &[("Content-Type", "application/json")], body.as_bytes())
        .await;
    assert_eq!(r.status, 401);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_token_speaks_only_for_its_own_sensors_over_http() {
    let f = fixture().await;
    let addr = f.hub.http_addr;
    let auth = format!("Bearer {}", f.device_token);
    let now = t0();
    let own = detection(&new_id(), "cam-fire-01", "video.fire", now, 0.9).to_string();
    let other = detection(&new_id(), "cam-gare-02", "video.tamper", now, 0.9).to_string();
    let body = format!("{own}\n{other}\n");
    let r = request(
        addr,
        "POST",
        "/api/v1/detections",
        &[("Authorization", &auth), ("Content-Type", "application/x-ndjson")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!((v["accepted"].clone(), v["refused"].clone()), (json!(1), json!(1)), "{v}");
    assert_eq!(v["results"][1]["reason"], "sensor_not_in_token");
    let metrics = get(addr, "/metrics").await.text();
    assert_eq!(
        metric(&metrics, r#"vigie_ingest_detections_refused_total{transport="http",reason="sensor_not_in_token"}"#),
        Some(1),
        "{metrics}"
    );

    // Revoked: refused at once, with a clear answer.
    let id = f.hub.auth.tokens().unwrap().into_iter().find(|t| t.label == "caméra du Bouffay").unwrap().id;
    let admin = &f.sessions[3].1;
    let revoked = session_request(addr, admin, "POST", &format!("/api/v1/tokens/{id}/revoke"), None).await;
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    let r = request(addr, "POST", "/api/v1/detections", &[("Authorization", &auth)], own.as_bytes()).await;
    assert_eq!(r.status, 401);
    assert!(r.text().contains("revoked"), "{}", r.text());
    f.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_token_speaks_only_for_its_own_sensors_over_mqtt() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(t0());
    let hub =
        start_hub(&dir.path().join("vigie.db"), MqttMode::Embedded("127.0.0.1:0".parse().unwrap()), clock.clock())
            .await;
    let mqtt = hub.mqtt_addr.unwrap();
    let (_, token) =
        hub.auth.create_token("cam", None, SensorScope::Only(vec!["cam-fire-01".into()]), "tests").unwrap();

    // No token, or a wrong one: the broker refuses the connection.
    for password in [None, Some("vgt_wrong")] {
        let mut opts = rumqttc::MqttOptions::new("intruder", mqtt.ip().to_string(), mqtt.port());
        if let Some(p) = password {
            opts.set_credentials("intruder", p);
        }
        let (_c, mut el) = rumqttc::AsyncClient::new(opts, 10);
        let first = tokio::time::timeout(Duration::from_secs(5), el.poll()).await.expect("an answer");
        assert!(matches!(first, Err(rumqttc::ConnectionError::ConnectionRefused(_))), "{password:?}: {first:?}");
    }

    let mut opts = rumqttc::MqttOptions::new("cam-fire-01", mqtt.ip().to_string(), mqtt.port());
    opts.set_credentials("cam-fire-01", token.as_str());
    let (client, mut el) = rumqttc::AsyncClient::new(opts, 10);
    let (tx, mut acks) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(ev) = el.poll().await {
            if let rumqttc::Event::Incoming(rumqttc::Packet::PubAck(a)) = ev {
                let _ = tx.send(a.pkid);
            }
        }
    });
    let own_id = new_id();
    let other_id = new_id();
    let own = detection(&own_id, "cam-fire-01", "video.fire", clock.now(), 0.9).to_string();
    let other = detection(&other_id, "cam-gare-02", "video.tamper", clock.now(), 0.9).to_string();
    client.publish("vigie/v1/detections/cam-gare-02", rumqttc::QoS::AtLeastOnce, false, other).await.unwrap();
    client.publish("vigie/v1/detections/cam-fire-01", rumqttc::QoS::AtLeastOnce, false, own).await.unwrap();
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(10), acks.recv()).await.expect("PUBACK").expect("open");
    }
    let stored = |id: &str| hub.store.detection(vigie_model::DetectionId::parse(id).unwrap()).unwrap().is_some();
    assert!(stored(&own_id), "its own sensor's detection is stored");
    assert!(!stored(&other_id), "another sensor's is not");
    let refused = get(hub.http_addr, "/api/v1/detections/refused").await.json();
    assert!(refused.to_string().contains("sensor_not_in_token"), "{refused}");
    // A device may not read what others publish.
    client.subscribe("vigie/v1/incidents/#", rumqttc::QoS::AtLeastOnce).await.unwrap();

    // Another token may not take over this client id (and with it its session).
    let (_, other_token) =
        hub.auth.create_token("cam-2", None, SensorScope::Only(vec!["cam-gare-02".into()]), "tests").unwrap();
    let mut opts = rumqttc::MqttOptions::new("cam-fire-01", mqtt.ip().to_string(), mqtt.port());
    opts.set_credentials("cam-fire-01", other_token.as_str());
    let (_c, mut el) = rumqttc::AsyncClient::new(opts, 10);
    let takeover = tokio::time::timeout(Duration::from_secs(5), el.poll()).await.expect("an answer");
    assert!(matches!(takeover, Err(rumqttc::ConnectionError::ConnectionRefused(_))), "{takeover:?}");
    let late_id = new_id();
    let late = detection(&late_id, "cam-fire-01", "video.fire", clock.now(), 0.9).to_string();
    client.publish("vigie/v1/detections/cam-fire-01", rumqttc::QoS::AtLeastOnce, false, late).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), acks.recv())
        .await
        .expect("the device is still connected")
        .expect("open");
    assert!(stored(&late_id));
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_is_reached_only_by_its_content_name_and_uploads_are_bounded() {
    let f = fixture().await;
    let addr = f.hub.http_addr;
    let device = format!("Bearer {}", f.device_token);
    let chart = br#"{"presence":[12,30,55]}"#;
    let up = request(
        addr,
        "POST",
        "/api/v1/evidence",
        &[("Authorization", &device), ("Content-Type", "application/json")],
        chart,
    )
    .await;
    assert_eq!(up.status, 201, "{}", up.text());
    let evidence: Value = up.json();
    let name = evidence["uri"].as_str().unwrap().trim_start_matches("evidence/").to_owned();
    let op = &f.sessions[0].1;
    let read = session_request(addr, op, "GET", &format!("/api/v1/evidence/{name}"), None).await;
    assert_eq!((read.status, read.body.as_slice()), (200, &chart[..]));
    assert_eq!(read.header("cache-control"), Some("private, no-store"));

    for traversal in
        ["..%2Fvigie.db", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2fvigie.db", "vigie.db", "..", "audit%2Fentries.jsonl"]
    {
        let r = session_request(addr, op, "GET", &format!("/api/v1/evidence/{traversal}"), None).await;
        assert!(r.status == 400 || r.status == 404, "{traversal}: {} {}", r.status, r.text());
        assert!(!r.text().contains("SQLite"), "{traversal} leaked a file");
    }
    let wav = request(
        addr,
        "POST",
        "/api/v1/evidence",
        &[("Authorization", &device), ("Content-Type", "audio/wav")],
        b"RIFF\0\0\0\0WAVEfmt ",
    )
    .await;
    assert_eq!(wav.status, 415, "no waveform is ever accepted: {}", wav.text());

    // Bodies over 8 MiB are refused before they are read whole.
    let big = vec![b'x'; 9 * 1024 * 1024];
    let r = request_streaming_body(addr, "POST", "/api/v1/evidence", big).await;
    assert_eq!(r.status, 413, "{}", r.text());
    f.hub.stop().await;
}
