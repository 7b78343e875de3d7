//! Bad inputs on real processes and sockets: a file that is not video, a corrupt stream, a
//! stream that stalls (an HTTP server on localhost that stops sending), an RTSP URL that
//! refuses, a resolution change. Each gives clear health events, never a crash, and the
//! other cameras are unaffected.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use common::*;
use vigie_model::Kind;
use vigie_video::Output;
use vigie_video::runner::{RunOptions, run_camera};
use vigie_video::simulate::encode::{Quality, encode};
use vigie_video::simulate::scenario;
use vigie_video::stages::health::HealthStatus;

fn short_scene(seconds: f64) -> vigie_video::simulate::Scenario {
    let mut s = scenario(Kind::VideoIntrusion, 3);
    s.spec.duration_secs = seconds;
    s
}

#[test]
fn a_file_that_is_not_video_is_reported_offline_once() {
    let s = short_scene(4.0);
    let dir = temp_dir("not-video");
    let path = dir.join("notes.mp4");
    std::fs::write(&path, "these are meeting notes, not a video\n".repeat(50)).unwrap();
    let r = run(&camera(&s, &path, "", ""), None, None);
    assert!(r.detections.is_empty());
    let offline: Vec<_> = r.health.iter().filter(|h| h.status == HealthStatus::Offline).collect();
    assert_eq!(offline.len(), 1, "{:?}", r.health);
    assert!(
        offline[0].detail.contains("Invalid data") || offline[0].detail.contains("ffmpeg"),
        "{}",
        offline[0].detail
    );
    assert_eq!(r.summary.frames_decoded, 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn corrupt_packets_are_counted_and_analysis_goes_on() {
    let s = short_scene(20.0);
    let dir = temp_dir("corrupt");
    let good = dir.join("good.ts");
    encode(&s.spec, &good, Quality::Test).unwrap();
    let mut bytes = std::fs::read(&good).unwrap();
    // Damage 60 bytes in each of 40 places after the stream's start (not the container header).
    let n = bytes.len();
    for k in 0..40 {
        let at = n / 10 + k * (n * 8 / 10 / 40);
        for b in &mut bytes[at..at + 60] {
            *b ^= 0x5A;
        }
    }
    let bad = dir.join("corrupt.ts");
    std::fs::write(&bad, &bytes).unwrap();
    let r = run(&camera(&s, &bad, "", ""), Some(&dir), None);
    assert!(r.summary.frames_decoded >= 60, "{:?}", r.summary);
    assert!(r.summary.decoder_errors > 0, "{:?}\n{:?}", r.summary, r.health);
    assert!(r.health.iter().any(|h| h.status == HealthStatus::Corrupt));
    assert_contract(&r.detections);
    let _ = std::fs::remove_dir_all(dir);
}

/// An HTTP server that sends the start of a stream, then nothing, keeping the socket open.
fn stalling_server(body: Vec<u8>, connections: Arc<std::sync::atomic::AtomicUsize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { continue };
            connections.fetch_add(1, Ordering::SeqCst);
            let mut req = [0u8; 2048];
            let _ = stream.read(&mut req);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n\r\n");
            let _ = stream.write_all(&body[..body.len() * 2 / 3]);
            let _ = stream.flush();
            held.push(stream); // never closed, never written again: a stalled camera
        }
    });
    port
}

#[test]
fn a_stalled_stream_is_killed_reported_and_reconnected() {
    // Two thirds of 20 s are sent: enough for FFmpeg to probe the stream and decode.
    let s = short_scene(20.0);
    let dir = temp_dir("stall");
    let ts = dir.join("live.ts");
    encode(&s.spec, &ts, Quality::Test).unwrap();
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let port = stalling_server(std::fs::read(&ts).unwrap(), Arc::clone(&connections));
    let url = format!("http://127.0.0.1:{port}/live.ts");
    let text = s.config_toml(
        &url,
        "live = true\nstall_timeout_secs = 1.5\nreconnect_min_secs = 0.3\nreconnect_max_secs = 0.6",
        "",
    );
    let cam =
        vigie_video::config::parse(&text, std::path::Path::new("."), std::path::Path::new("t.toml")).unwrap().remove(0);
    let opts = RunOptions::default();
    let stop = Arc::clone(&opts.stop);
    let (tx, rx) = channel();
    let handle = std::thread::spawn(move || run_camera(&cam, None, None, &opts, &tx));
    let t0 = Instant::now();
    while connections.load(Ordering::SeqCst) < 2 && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::SeqCst);
    let summary = handle.join().unwrap();
    let health: Vec<_> =
        rx.iter().filter_map(|(_, o)| if let Output::Health(h) = o { Some(h) } else { None }).collect();
    assert!(connections.load(Ordering::SeqCst) >= 2, "no reconnection: {health:?}");
    assert!(summary.frames_decoded > 0, "{summary:?}");
    let statuses: Vec<HealthStatus> = health.iter().map(|h| h.status).collect();
    assert!(statuses.contains(&HealthStatus::Online), "{health:?}");
    let offline = health.iter().find(|h| h.status == HealthStatus::Offline).expect("offline reported");
    assert!(offline.detail.contains("stalled") || offline.detail.contains("timed out"), "{}", offline.detail);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_refused_rtsp_camera_retries_while_the_others_carry_on() {
    let s = scenario(Kind::VideoIntrusion, 1);
    let dir = temp_dir("refused");
    let video = encode_scenario(&s, &dir);
    let good = camera(&s, &video, "", "");
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let text = s
        .config_toml(
            &format!("rtsp://127.0.0.1:{closed}/stream1"),
            "reconnect_min_secs = 0.2\nreconnect_max_secs = 0.4",
            "",
        )
        .replace("cam-sim-intrusion", "cam-dead-01");
    let dead =
        vigie_video::config::parse(&text, std::path::Path::new("."), std::path::Path::new("t.toml")).unwrap().remove(0);
    let opts = Arc::new(RunOptions::default());
    let (tx, rx) = channel();
    let (o2, tx2) = (Arc::clone(&opts), tx.clone());
    let dead_thread = std::thread::spawn(move || run_camera(&dead, None, None, &o2, &tx2));
    let good_summary = run_camera(&good, None, None, &opts, &tx);
    opts.stop.store(true, Ordering::SeqCst);
    let dead_summary = dead_thread.join().unwrap();
    drop(tx);
    let outs: Vec<_> = rx.iter().collect();
    let good_dets: Vec<_> = outs
        .iter()
        .filter_map(|(c, o)| match o {
            Output::Detection(d) if c.as_str() == "cam-sim-intrusion" => Some((**d).clone()),
            _ => None,
        })
        .collect();
    let sc = score_of(&s, &good_dets, Kind::VideoIntrusion);
    assert_eq!((sc.true_positives, sc.false_positives), (3, 0), "the good camera was affected: {good_summary:?}");
    let dead_health: Vec<_> = outs
        .iter()
        .filter_map(|(c, o)| match o {
            Output::Health(h) if c.as_str() == "cam-dead-01" => Some(h.clone()),
            _ => None,
        })
        .collect();
    let offline: Vec<_> = dead_health.iter().filter(|h| h.status == HealthStatus::Offline).collect();
    assert_eq!(offline.len(), 1, "one offline per outage, not per retry: {dead_health:?}");
    assert!(offline[0].detail.contains("refused"), "{}", offline[0].detail);
    assert!(dead_summary.connections >= 2, "it must keep retrying: {dead_summary:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_resolution_change_mid_stream_is_absorbed() {
    let dir = temp_dir("resize");
    let mut a = short_scene(8.0);
    a.spec.width = 640;
    a.spec.height = 360;
    let mut b = a.clone();
    b.spec.width = 1280;
    b.spec.height = 720;
    encode(&a.spec, &dir.join("a.ts"), Quality::Test).unwrap();
    encode(&b.spec, &dir.join("b.ts"), Quality::Test).unwrap();
    let mut both = std::fs::read(dir.join("a.ts")).unwrap();
    both.extend(std::fs::read(dir.join("b.ts")).unwrap());
    std::fs::write(dir.join("ab.ts"), both).unwrap();
    let r = run(&camera(&a, &dir.join("ab.ts"), "", ""), None, None);
    assert!(r.summary.frames_decoded >= 76, "{:?}", r.summary);
    assert_eq!(r.summary.analysis.frames, r.summary.frames_decoded);
    assert!(!r.health.iter().any(|h| h.status == HealthStatus::Offline), "{:?}", r.health);
    let _ = std::fs::remove_dir_all(dir);
}
