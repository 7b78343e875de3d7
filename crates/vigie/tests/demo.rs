//! `vigie up --demo`: the bundled city starts with zero setup, its replay forms incidents
//! within a minute, and it moves off default ports that are already taken.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{TempDir, http_with, login, vigie_command, wait_healthy};
use vigie_testkit::{ChildGuard, free_port, wait_for_tcp};

/// Starts `vigie up --demo` with `extra` flags; stdout lines arrive on the channel, stderr
/// goes to `dir/vigie.log`.
fn start_demo(dir: &TempDir, extra: &[&str]) -> (ChildGuard, mpsc::Receiver<String>) {
    let data = dir.path().join("data");
    let mut args = vec!["up", "--demo", "--data", data.to_str().unwrap()];
    args.extend_from_slice(extra);
    let log = std::fs::File::create(dir.path().join("vigie.log")).unwrap();
    let child = vigie_command(&args, dir.path())
        .env("VIGIE_LOG", "info,rumqttc=warn")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("start vigie");
    let mut child = ChildGuard::new(child);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn log_of(dir: &TempDir) -> String {
    let log = std::fs::read_to_string(dir.path().join("vigie.log")).unwrap_or_default();
    let start = log.len().saturating_sub(4000);
    log[log.floor_char_boundary(start)..].to_owned()
}

fn get_json(addr: SocketAddr, cookie: &str, path: &str) -> serde_json::Value {
    let (status, body) =
        http_with(addr, "GET", path, &[("Cookie", cookie)], b"").unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

#[test]
fn demo_city_forms_incidents_within_a_minute() {
    let dir = TempDir::new("demo");
    let http_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mqtt_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let (mut child, _stdout) =
        start_demo(&dir, &["--http", &http_addr.to_string(), "--mqtt-listen", &mqtt_addr.to_string()]);
    let started = Instant::now();
    wait_healthy(http_addr, Duration::from_secs(30));
    wait_for_tcp(mqtt_addr, Duration::from_secs(5)).expect("the embedded broker listens");

    // The demo's supervisor account, printed in its banner.
    let cookie = login(http_addr, "superviseur", "demo-superviseur-nantes", Duration::from_secs(30));
    let sensors = get_json(http_addr, &cookie, "/api/v1/sensors");
    let n = sensors.as_array().map_or(0, Vec::len);
    assert!(n >= 50, "the demo city declares {n} sensors, expected at least 50");

    let deadline = started + Duration::from_secs(60);
    let incidents = loop {
        assert!(matches!(child.try_wait(), Ok(None)), "vigie exited early; log:\n{}", log_of(&dir));
        let list = get_json(http_addr, &cookie, "/api/v1/incidents");
        let list = list.as_array().cloned().unwrap_or_default();
        if !list.is_empty() {
            break list;
        }
        assert!(Instant::now() < deadline, "no incident within 60 s; log:\n{}", log_of(&dir));
        std::thread::sleep(Duration::from_millis(250));
    };
    eprintln!("first incident after {:.1} s: {}", started.elapsed().as_secs_f64(), incidents[0]);
    assert!(incidents[0].get("id").is_some_and(|id| id.is_string()), "an incident has an id: {}", incidents[0]);

    // The drone flies: its position comes from its telemetry, and moves.
    let drone_position = || {
        let sensors = get_json(http_addr, &cookie, "/api/v1/sensors/drone-loire-01");
        assert_eq!(sensors["mobile"], true, "{sensors}");
        sensors.get("position").cloned()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let first = loop {
        if let Some(p) = drone_position() {
            break p;
        }
        assert!(Instant::now() < deadline, "the drone sent no position within 10 s; log:\n{}", log_of(&dir));
        std::thread::sleep(Duration::from_millis(250));
    };
    std::thread::sleep(Duration::from_millis(2500));
    let later = drone_position().expect("a position");
    assert_ne!(
        (&first["lon"], &first["time"]),
        (&later["lon"], &later["time"]),
        "the drone moved: {first} then {later}"
    );
}

/// The address after `scheme` on a line of the banner: `http://127.0.0.1:8080/` → 127.0.0.1:8080.
fn address_after(line: &str, scheme: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(scheme)? + scheme.len()..];
    let end = rest.find(|c: char| c == '/' || c.is_whitespace()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[test]
fn demo_moves_off_taken_default_ports_and_says_where() {
    // Take the default ports if they are free; if something else holds them, so much the
    // better: either way the demo must pick others and print them.
    let held_http = TcpListener::bind("127.0.0.1:8080").ok();
    let held_mqtt = TcpListener::bind("127.0.0.1:1883").ok();
    let dir = TempDir::new("demo-ports");
    let (mut child, stdout) = start_demo(&dir, &[]);

    let (mut http_addr, mut mqtt_addr) = (None, None);
    let mut banner = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_addr.is_none() || mqtt_addr.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match stdout.recv_timeout(left) {
            Ok(line) => {
                http_addr = http_addr.or_else(|| address_after(&line, "http://"));
                mqtt_addr = mqtt_addr.or_else(|| address_after(&line, "mqtt://"));
                banner.push(line);
            }
            Err(_) => panic!(
                "no http:// and mqtt:// addresses on stdout within 30 s (exited: {:?}); stdout:\n{}\nlog:\n{}",
                child.try_wait(),
                banner.join("\n"),
                log_of(&dir)
            ),
        }
    }
    let (http_addr, mqtt_addr) = (http_addr.unwrap(), mqtt_addr.unwrap());
    let banner = banner.join("\n");
    assert!(banner.contains("http://127.0.0.1:"), "{banner}");
    assert!(banner.contains("mqtt://127.0.0.1:"), "{banner}");
    if held_http.is_some() {
        assert_ne!(http_addr.port(), 8080, "the demo took the HTTP port the test holds: {banner}");
    }
    if held_mqtt.is_some() {
        assert_ne!(mqtt_addr.port(), 1883, "the demo took the MQTT port the test holds: {banner}");
    }
    wait_healthy(http_addr, Duration::from_secs(30));
    let health = get_json(http_addr, "", "/api/v1/health");
    assert!(health.is_object(), "{health}");
    wait_for_tcp(mqtt_addr, Duration::from_secs(5)).expect("the embedded broker listens where the banner says");
}
