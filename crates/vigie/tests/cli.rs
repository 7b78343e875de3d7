//! The `vigie` binary's usage errors: exit code 2 and a message that names the flag or the
//! config line to fix (see the exit codes in src/main.rs).

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use common::{Finished, TempDir, run_vigie};
use vigie_testkit::free_port;

const TIMEOUT: Duration = Duration::from_secs(60);

fn demo_config() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo/nantes/vigie.toml")
}

/// A listener on a free loopback port, held by the test so that vigie finds it taken.
fn taken_port() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    (l, addr)
}

fn free_addr() -> String {
    format!("127.0.0.1:{}", free_port())
}

fn assert_usage_error(f: &Finished, names: &str) {
    assert_eq!(f.code, Some(2), "expected exit code 2: {f:#?}");
    assert!(f.stderr.contains(names), "stderr should name {names:?}: {f:#?}");
}

#[test]
fn up_with_http_address_in_use_exits_2_naming_http() {
    let dir = TempDir::new("cli-http");
    let (_held, taken) = taken_port();
    let data = dir.path().join("data");
    let f = run_vigie(
        &["up", "--data", data.to_str().unwrap(), "--http", &taken, "--mqtt-listen", &free_addr()],
        dir.path(),
        TIMEOUT,
    );
    assert_usage_error(&f, "--http");
    assert!(f.stderr.contains(&taken), "stderr should name the address {taken}: {f:#?}");
}

#[test]
fn up_with_mqtt_address_in_use_exits_2_naming_mqtt_listen() {
    let dir = TempDir::new("cli-mqtt");
    let (_held, taken) = taken_port();
    let data = dir.path().join("data");
    let f = run_vigie(
        &["up", "--data", data.to_str().unwrap(), "--http", &free_addr(), "--mqtt-listen", &taken],
        dir.path(),
        TIMEOUT,
    );
    assert_usage_error(&f, "--mqtt-listen");
    assert!(f.stderr.contains(&taken), "stderr should name the address {taken}: {f:#?}");
}

#[test]
fn demo_with_explicit_http_address_in_use_does_not_move() {
    // --demo moves off taken *default* ports only; an address given with --http never moves.
    let dir = TempDir::new("cli-demo-http");
    let (_held, taken) = taken_port();
    let data = dir.path().join("data");
    let f = run_vigie(
        &["up", "--demo", "--data", data.to_str().unwrap(), "--http", &taken, "--mqtt-listen", &free_addr()],
        dir.path(),
        TIMEOUT,
    );
    assert_usage_error(&f, "--http");
}

#[test]
fn config_check_accepts_the_demo_city() {
    let dir = TempDir::new("cli-check");
    let path = demo_config();
    let f = run_vigie(&["config", "check", path.to_str().unwrap()], dir.path(), TIMEOUT);
    assert_eq!(f.code, Some(0), "{f:#?}");
    assert!(f.stdout.contains("ok"), "{f:#?}");
}

#[test]
fn config_check_points_at_an_unknown_key() {
    let dir = TempDir::new("cli-unknown-key");
    let path = dir.path().join("vigie.toml");
    // The unknown key is on line 3.
    std::fs::write(&path, "[hub]\nname = \"broken\"\ncolour = \"blue\"\n").unwrap();
    let f = run_vigie(&["config", "check", path.to_str().unwrap()], dir.path(), TIMEOUT);
    assert_usage_error(&f, "vigie.toml:3:");
    assert!(f.stderr.contains("colour"), "stderr should name the key: {f:#?}");
}

#[test]
fn config_check_points_at_a_latitude_out_of_range() {
    let dir = TempDir::new("cli-latitude");
    let path = dir.path().join("vigie.toml");
    let text = "[hub]\nname = \"broken\"\n\n[[sensors]]\nid = \"cam-1\"\ntype = \"camera\"\nname = \"Caméra\"\nlon = -1.5592\nlat = 91\nanalytics = [\"video.fire\"]\n";
    assert_eq!(text.lines().position(|l| l.starts_with("lat =")), Some(8), "lat is on line 9");
    std::fs::write(&path, text).unwrap();
    let f = run_vigie(&["config", "check", path.to_str().unwrap()], dir.path(), TIMEOUT);
    assert_usage_error(&f, "vigie.toml:9:");
    assert!(f.stderr.contains("latitude"), "stderr should name the field: {f:#?}");
    assert!(f.stderr.contains("cam-1"), "stderr should name the sensor: {f:#?}");
}

#[test]
fn config_check_of_a_missing_file_exits_2_naming_it() {
    let dir = TempDir::new("cli-missing");
    let path = dir.path().join("nowhere.toml");
    let f = run_vigie(&["config", "check", path.to_str().unwrap()], dir.path(), TIMEOUT);
    assert_usage_error(&f, "nowhere.toml");
}

#[test]
fn up_refuses_a_broken_config_with_its_line() {
    let dir = TempDir::new("cli-up-broken");
    let path = dir.path().join("vigie.toml");
    std::fs::write(&path, "[hub]\nname = \"broken\"\ncolour = \"blue\"\n").unwrap();
    let data = dir.path().join("data");
    let f = run_vigie(
        &[
            "up",
            "--config",
            path.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--http",
            &free_addr(),
            "--mqtt-listen",
            &free_addr(),
        ],
        dir.path(),
        TIMEOUT,
    );
    assert_usage_error(&f, "vigie.toml:3:");
}

#[test]
fn demo_with_config_exits_2() {
    let dir = TempDir::new("cli-demo-config");
    let data = dir.path().join("data");
    let f = run_vigie(
        &["up", "--demo", "--config", "x", "--data", data.to_str().unwrap(), "--http", &free_addr()],
        dir.path(),
        TIMEOUT,
    );
    assert_usage_error(&f, "--config");
}

#[test]
fn mqtt_broker_url_with_another_scheme_exits_2_naming_the_flag() {
    let dir = TempDir::new("cli-broker");
    let data = dir.path().join("data");
    let f = run_vigie(
        &["up", "--mqtt-broker", "tcp://x", "--data", data.to_str().unwrap(), "--http", &free_addr()],
        dir.path(),
        TIMEOUT,
    );
    assert_usage_error(&f, "--mqtt-broker");
    assert!(f.stderr.contains("tcp://x"), "stderr should quote the url: {f:#?}");
}

#[test]
fn flags_that_exclude_each_other_or_do_not_parse_exit_2() {
    let dir = TempDir::new("cli-clap");
    let cases: [(&[&str], &str); 3] = [
        (&["up", "--mqtt-broker", "mqtt://127.0.0.1:1", "--mqtt-listen", "127.0.0.1:1"], "--mqtt-listen"),
        (&["up", "--no-mqtt", "--mqtt-broker", "mqtt://127.0.0.1:1"], "--no-mqtt"),
        (&["up", "--http", "not-an-address"], "--http"),
    ];
    for (args, names) in cases {
        let f = run_vigie(args, dir.path(), TIMEOUT);
        assert_usage_error(&f, names);
    }
}
