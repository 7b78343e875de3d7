//! Helpers for tests that drive the real `vigie` binary.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vigie_testkit::ChildGuard;

/// A config with a few sensors, written into `dir`.
pub fn write_config(dir: &Path) -> std::path::PathBuf {
    let mut text = String::from("[hub]\nname = \"test\"\n");
    for i in 0..8 {
        text += &format!(
            "[[sensors]]\nid = \"cam-{i}\"\ntype = \"camera\"\nname = \"Caméra {i}\"\nlon = {}\nlat = 47.2133\nanalytics = [\"video.crowd_density\", \"video.fire\"]\n",
            -1.5592 + i as f64 * 0.01
        );
    }
    let p = dir.join("vigie.toml");
    std::fs::write(&p, text).unwrap();
    p
}

pub fn detection_line(id: &str, sensor: &str, kind: &str) -> String {
    let i: usize = sensor.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    format!(
        r#"{{"id":"{id}","sensor":"{sensor}","kind":"{kind}","time":"{}","location":{{"lon":{},"lat":47.2133}},"confidence":0.8}}"#,
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        -1.5592 + i as f64 * 0.01
    )
}

/// Starts `vigie` with `args`; stderr goes to `log`.
pub fn spawn_vigie(args: &[String], log: &Path) -> ChildGuard {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(args)
        .env("VIGIE_LOG", "info,rumqttc=warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start vigie");
    ChildGuard::new(child)
}

/// One HTTP/1.1 request; returns (status, body). Errors are connection failures.
pub fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
    http_with(addr, method, path, &[], body)
}

/// The same with extra headers (`Authorization`, `Cookie`…).
pub fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head += &format!("{k}: {v}\r\n");
    }
    head += "\r\n";
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("no status line in {:?}", &text[..text.len().min(100)]),
        )
    })?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// Signs in (retrying until `timeout`: a demo creates its accounts just after it starts
/// serving); returns the `Cookie` header value.
pub fn login(addr: SocketAddr, username: &str, password: &str, timeout: Duration) -> String {
    let body = format!(r#"{{"username":"{username}","password":"{password}"}}"#);
    let end = Instant::now() + timeout;
    loop {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let head = format!(
            "POST /api/v1/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).and_then(|_| s.write_all(body.as_bytes())).expect("write");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("read");
        if resp.starts_with("HTTP/1.1 200") {
            let cookie = resp
                .lines()
                .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
                .and_then(|c| c.split(';').next())
                .expect("a session cookie");
            return cookie.to_owned();
        }
        assert!(Instant::now() < end, "cannot sign in as {username}: {resp}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Issues a device token for every sensor of a data folder, before its hub starts.
pub fn device_token(data: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["token", "create", "--label", "tests", "--sensor", "*", "--data"])
        .arg(data)
        .output()
        .expect("run vigie token create");
    assert!(out.status.success(), "vigie token create: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Waits until GET /api/v1/health answers 200.
pub fn wait_healthy(addr: SocketAddr, timeout: Duration) {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if let Ok((200, _)) = http(addr, "GET", "/api/v1/health", b"") {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the hub at {addr} did not become healthy within {timeout:?}");
}

/// A fresh folder under the system's temporary folder, removed when dropped.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("vigie-{tag}-{}-{}", std::process::id(), ulid::Ulid::new()));
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a finished `vigie` run left: its exit code and its output.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// The `vigie` command, run in `cwd` (so that no ./vigie.toml is picked up by chance), with
/// the environment variables that would change its defaults removed.
pub fn vigie_command(args: &[&str], cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigie"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("VIGIE_DATA")
        .env_remove("VIGIE_STORE")
        .env("VIGIE_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

/// Runs `vigie` to its end; panics (after killing it) if it is still running after `timeout`.
pub fn run_vigie(args: &[&str], cwd: &Path, timeout: Duration) -> Finished {
    let child = vigie_command(args, cwd).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start vigie");
    let mut child = ChildGuard::new(child);
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let end = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= end {
            child.kill9();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let finished = Finished {
        code: status.and_then(|s| s.code()),
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    };
    assert!(status.is_some(), "vigie {args:?} still ran after {timeout:?}: {finished:#?}");
    finished
}
