//! Helpers of the integration tests: synthetic recordings with an event at a known time,
//! real audio files encoded by the `ffmpeg` CLI, real HTTP servers on localhost, and the
//! contract checks (the hub's decoder and the JSON Schema).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use vigie_audio::rng::Rng;
use vigie_audio::simulate::{add_delayed, background, source};
use vigie_model::detection::TimeBounds;
use vigie_model::{DETECTION_SCHEMA_V1, Detection, Kind};

pub const SR: u32 = 16_000;

/// A fresh folder under the system's temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vigie-audio-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// `secs` of urban background with `kind` events at `at_secs` (20 dB over the background).
pub fn recording(secs: f64, events: &[(Kind, f64)], seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let mut x = background(SR, (secs * SR as f64) as usize, 0.003, &mut rng);
    for &(k, at) in events {
        let src = source(k, SR, &mut rng);
        add_delayed(&mut x, &src, at * SR as f64, 0.03);
    }
    x
}

/// Runs the `ffmpeg` CLI (scripts/test installs it) to convert `from` into `to`.
pub fn ffmpeg_convert(from: &Path, to: &Path, extra: &[&str]) {
    let st = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(from)
        .args(extra)
        .arg(to)
        .status()
        .expect("ffmpeg must be installed: scripts/test installs it");
    assert!(st.success(), "ffmpeg could not write {}", to.display());
}

/// MP3 bytes at a constant 64 kb/s (8 000 B/s) of a mono recording, made by the `ffmpeg` CLI.
pub fn mp3(samples: &[f32], dir: &Path) -> Vec<u8> {
    let w = dir.join("src.wav");
    std::fs::write(&w, wav(samples)).unwrap();
    let m = dir.join("src.mp3");
    ffmpeg_convert(&w, &m, &["-b:a", "64k", "-write_xing", "0", "-id3v2_version", "0"]);
    std::fs::read(m).unwrap()
}

/// 16-bit mono WAV bytes.
pub fn wav(samples: &[f32]) -> Vec<u8> {
    vigie_audio::wav::encode_pcm16(SR, &[samples.to_vec()])
}

/// How an HTTP server sends its body.
#[derive(Clone, Copy, Debug)]
pub enum Pace {
    /// At `rate_factor` × real time for a stream of `bytes_per_sec` (after a header of
    /// `header` bytes sent at once), in 20-ms pieces.
    Realtime { bytes_per_sec: f64, header: usize, rate_factor: f64 },
    /// This many bytes at once, then nothing, the socket held open: a stalled stream.
    StallAfter(usize),
}

/// A served connection: when its body started to go out.
#[derive(Clone, Debug)]
pub struct Served {
    pub body_started: DateTime<Utc>,
}

/// An HTTP server on localhost answering every GET with `body` (up to `max_connections`),
/// paced as told. Returns the port, the connection count and what each connection served.
pub fn http_server(
    body: Vec<u8>,
    pace: Pace,
    max_connections: usize,
) -> (u16, Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<Served>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c2, s2) = (Arc::clone(&count), Arc::clone(&served));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(max_connections) {
            let Ok(mut stream) = stream else { continue };
            c2.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            let served = Arc::clone(&s2);
            let mut req = [0u8; 4096];
            let _ = stream.read(&mut req);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            if stream.write_all(head.as_bytes()).is_err() {
                continue;
            }
            served.lock().unwrap().push(Served { body_started: Utc::now() });
            match pace {
                Pace::StallAfter(n) => {
                    let _ = stream.write_all(&body[..n.min(body.len())]);
                    let _ = stream.flush();
                    held.push(stream); // never written again, never closed
                }
                Pace::Realtime { bytes_per_sec, header, rate_factor } => {
                    std::thread::spawn(move || {
                        let piece = ((bytes_per_sec / 50.0) as usize).max(1);
                        let t0 = Instant::now();
                        let mut sent = 0usize;
                        while sent < body.len() {
                            let end = if sent == 0 { header.max(piece) } else { sent + piece }.min(body.len());
                            if stream.write_all(&body[sent..end]).is_err() {
                                return;
                            }
                            sent = end;
                            let due = Duration::from_secs_f64(
                                sent.saturating_sub(header) as f64 / bytes_per_sec / rate_factor,
                            );
                            if let Some(wait) = due.checked_sub(t0.elapsed()) {
                                std::thread::sleep(wait);
                            }
                        }
                    });
                }
            }
        }
    });
    (port, count, served)
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Every detection passes the hub's one door and the JSON Schema.
pub fn assert_contract(dets: &[Detection]) {
    let schema: serde_json::Value = serde_json::from_str(DETECTION_SCHEMA_V1).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for d in dets {
        let json = d.to_json();
        let bounds = TimeBounds::new(d.time, 3600, 3600);
        let back = vigie_model::decode(json.as_bytes(), &bounds).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(&back, d);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(validator.is_valid(&v), "schema: {json}");
    }
}

/// The onset time a sensor detection carries.
pub fn onset_of(d: &Detection) -> DateTime<Utc> {
    let a: serde_json::Value = serde_json::from_str(d.attributes.get()).unwrap();
    a["onset_time"].as_str().unwrap().parse().unwrap()
}

pub fn clock_ok_of(d: &Detection) -> bool {
    let a: serde_json::Value = serde_json::from_str(d.attributes.get()).unwrap();
    a["clock_ok"].as_bool().unwrap()
}
