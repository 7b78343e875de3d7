//! Inputs through a real FFmpeg child process: files in formats symphonia does not read
//! (MP3, AAC), a live HTTP stream from a server on localhost (time stamps on arrival,
//! reconnection when it ends), a stream that stalls, a refused URL, corrupt data, a file
//! that is not audio, a channel the source lacks, and a stream whose sample clock runs fast.
//! Each gives clear health events, never a crash; every detection passes the contract.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::*;
use vigie_audio::input::InputConfig;
use vigie_audio::runner::{InputSummary, RunOptions, run_input};
use vigie_audio::stages::health::{HealthEvent, HealthStatus};
use vigie_audio::{ListenerConfig, Microphone, Output};
use vigie_model::{Detection, Kind};

fn mic(id: &str) -> Microphone {
    Microphone { id: id.parse().unwrap(), lon: -1.5536, lat: 47.2184, channel: 0 }
}

fn t0() -> DateTime<Utc> {
    "2026-11-22T21:30:00Z".parse().unwrap()
}

struct Run {
    detections: Vec<Detection>,
    health: Vec<HealthEvent>,
    summary: InputSummary,
}

/// Runs an input until it ends, or until `until` holds (or `limit` passes) for live ones.
fn run(
    input: InputConfig,
    mics: Vec<Microphone>,
    cfg: ListenerConfig,
    start: Option<DateTime<Utc>>,
    until: impl Fn(&[HealthEvent], usize) -> bool,
    limit: Duration,
) -> Run {
    let opts = RunOptions { start_time: start, ..RunOptions::default() };
    let stop = Arc::clone(&opts.stop);
    let (tx, rx) = channel();
    let handle = std::thread::spawn(move || run_input(&input, &mics, &cfg, None, &opts, &tx));
    let (mut detections, mut health) = (Vec::new(), Vec::new());
    let t = Instant::now();
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(Output::Detection(d)) => detections.push(*d),
            Ok(Output::Health(h)) => health.push(h),
            Ok(Output::Bands(_)) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(_) => {}
        }
        if until(&health, detections.len()) || t.elapsed() > limit {
            stop.store(true, Ordering::SeqCst);
        }
    }
    let summary = handle.join().unwrap().expect("a valid configuration");
    Run { detections, health, summary }
}

fn file_input(path: &std::path::Path) -> InputConfig {
    InputConfig::new(path.display().to_string(), vec![0], "mic-ffmpeg-01")
}

fn statuses(h: &[HealthEvent]) -> Vec<HealthStatus> {
    h.iter().map(|h| h.status).collect()
}

fn never(_: &[HealthEvent], _: usize) -> bool {
    false
}

#[test]
fn mp3_and_aac_files_decode_through_ffmpeg_with_onsets_on_time() {
    let dir = temp_dir("formats");
    let x = recording(6.0, &[(Kind::AudioGunshot, 2.0), (Kind::AudioGlassBreak, 4.0)], 11);
    let src = dir.join("street.wav");
    std::fs::write(&src, wav(&x)).unwrap();
    for (name, extra) in [("street.mp3", &["-b:a", "128k"][..]), ("street.m4a", &["-c:a", "aac", "-b:a", "128k"][..])] {
        let path = dir.join(name);
        ffmpeg_convert(&src, &path, extra);
        let r = run(
            file_input(&path),
            vec![mic("mic-ffmpeg-01")],
            ListenerConfig::default(),
            Some(t0()),
            never,
            Duration::from_secs(30),
        );
        assert_contract(&r.detections);
        assert_eq!(r.detections.len(), 2, "{name}: {:?}", r.detections);
        for (d, at) in r.detections.iter().zip([2.0, 4.0]) {
            let err_ms = (onset_of(d) - t0()).num_microseconds().unwrap() as f64 / 1000.0 - at * 1000.0;
            // Both decoders trim the encoder's delay: the onset stays within a millisecond.
            assert!(err_ms.abs() < 1.0, "{name}: onset off by {err_ms} ms");
            assert!(clock_ok_of(d));
        }
        assert_eq!(r.summary.connections, 1);
        assert!((r.summary.frames as f64 - 6.0 * SR as f64).abs() < 0.05 * SR as f64, "{:?}", r.summary);
        assert!(!statuses(&r.health).contains(&HealthStatus::Offline), "{:?}", r.health);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_live_http_stream_is_stamped_on_arrival_and_reconnected_when_it_ends() {
    // 5 s of MP3 (as an Icecast server sends it) served in real time, an impulse at 3.5 s
    // (after the 2-s settling of the clock).
    let dir = temp_dir("live");
    let x = recording(5.0, &[(Kind::AudioGunshot, 3.5)], 12);
    let pace = Pace::Realtime { bytes_per_sec: 8000.0, header: 0, rate_factor: 1.0 };
    let (port, connections, served) = http_server(mp3(&x, &dir), pace, 4);
    let mut input = InputConfig::new(format!("http://127.0.0.1:{port}/live.mp3"), vec![0], "mic-live-01");
    input.live = true;
    input.reconnect_min_secs = 0.2;
    input.reconnect_max_secs = 0.4;
    // Arrival times on a shared test machine jitter by more than a sound card's.
    let cfg = ListenerConfig { clock_max_offset_ms: 50.0, ..ListenerConfig::default() };
    let c2 = Arc::clone(&connections);
    let r = run(
        input,
        vec![mic("mic-live-01")],
        cfg,
        None,
        move |_, _| c2.load(Ordering::SeqCst) >= 2,
        Duration::from_secs(30),
    );
    assert!(connections.load(Ordering::SeqCst) >= 2, "no reconnection: {:?}", r.health);
    let st = statuses(&r.health);
    assert_eq!(st.first(), Some(&HealthStatus::Online), "{:?}", r.health);
    assert!(st.contains(&HealthStatus::Offline), "the end of the stream is an outage: {:?}", r.health);
    assert!(!st.contains(&HealthStatus::ClockUnsynchronised), "{:?}", r.health);
    assert_contract(&r.detections);
    let d = r.detections.iter().find(|d| d.kind == Kind::AudioGunshot).unwrap_or_else(|| panic!("{:?}", r.detections));
    assert!(clock_ok_of(d));
    // The impulse left the server about 3.5 s after its body started (to an MP3 frame,
    // 36 ms); FFmpeg and the pipe add some latency.
    let sent = served.lock().unwrap()[0].body_started + chrono::Duration::milliseconds(3500);
    let late_ms = (onset_of(d) - sent).num_milliseconds();
    assert!((-80..400).contains(&late_ms), "onset stamped {late_ms} ms after it was sent");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_stalled_stream_is_killed_reported_and_reconnected() {
    // 2 s of a 4-s MP3 stream, then nothing.
    let dir = temp_dir("stall");
    let x = recording(4.0, &[], 13);
    let (port, connections, _) = http_server(mp3(&x, &dir), Pace::StallAfter(16_000), 8);
    let mut input = InputConfig::new(format!("http://127.0.0.1:{port}/live.mp3"), vec![0], "mic-stall-01");
    input.live = true;
    input.stall_timeout_secs = 1.0;
    input.reconnect_min_secs = 0.2;
    input.reconnect_max_secs = 0.4;
    let c2 = Arc::clone(&connections);
    let r = run(
        input,
        vec![mic("mic-stall-01")],
        ListenerConfig::default(),
        None,
        move |_, _| c2.load(Ordering::SeqCst) >= 2,
        Duration::from_secs(30),
    );
    assert!(connections.load(Ordering::SeqCst) >= 2, "{:?}", r.health);
    let offline = r.health.iter().find(|h| h.status == HealthStatus::Offline).expect("offline reported");
    assert!(offline.detail.contains("stalled") || offline.detail.contains("timed out"), "{}", offline.detail);
    assert!(r.summary.frames > 0 && r.summary.connections >= 2, "{:?}", r.summary);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_refused_url_is_reported_offline_once_and_retried() {
    let mut input = InputConfig::new(format!("rtsp://127.0.0.1:{}/mic", closed_port()), vec![0], "mic-dead-01");
    input.live = true;
    input.reconnect_min_secs = 0.1;
    input.reconnect_max_secs = 0.2;
    let r = run(input, vec![mic("mic-dead-01")], ListenerConfig::default(), None, |_, _| false, Duration::from_secs(3));
    let offline: Vec<_> = r.health.iter().filter(|h| h.status == HealthStatus::Offline).collect();
    assert_eq!(offline.len(), 1, "one offline per outage, not per retry: {:?}", r.health);
    assert!(offline[0].detail.contains("refused"), "{}", offline[0].detail);
    assert!(r.summary.connections >= 2, "it must keep retrying: {:?}", r.summary);
    assert_eq!(r.summary.end_reason, "stopped");
}

#[test]
fn corrupt_data_is_counted_and_analysis_goes_on() {
    let dir = temp_dir("corrupt");
    let x = recording(12.0, &[(Kind::AudioGunshot, 3.0), (Kind::AudioGunshot, 9.0)], 14);
    std::fs::write(dir.join("a.wav"), wav(&x)).unwrap();
    ffmpeg_convert(&dir.join("a.wav"), &dir.join("good.mp3"), &["-b:a", "64k"]);
    let mut bytes = std::fs::read(dir.join("good.mp3")).unwrap();
    // Damage 40 bytes in 8 places in the middle third (away from both events).
    let n = bytes.len();
    for k in 0..8 {
        let at = n * 4 / 10 + k * n / 60;
        for b in &mut bytes[at..at + 40] {
            *b ^= 0x5A;
        }
    }
    std::fs::write(dir.join("bad.mp3"), &bytes).unwrap();
    let r = run(
        file_input(&dir.join("bad.mp3")),
        vec![mic("mic-ffmpeg-01")],
        ListenerConfig::default(),
        Some(t0()),
        never,
        Duration::from_secs(30),
    );
    assert!(r.summary.decoder_errors > 0, "{:?} {:?}", r.summary, r.health);
    assert!(statuses(&r.health).contains(&HealthStatus::InputCorrupt));
    assert_contract(&r.detections);
    let guns = r.detections.iter().filter(|d| d.kind == Kind::AudioGunshot).count();
    assert_eq!(guns, 2, "{:?}", r.detections);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_file_that_is_not_audio_or_lacks_a_channel_is_a_clear_error() {
    let dir = temp_dir("not-audio");
    let notes = dir.join("notes.mp3");
    std::fs::write(&notes, "these are meeting notes, not audio\n".repeat(80)).unwrap();
    let r = run(
        file_input(&notes),
        vec![mic("mic-ffmpeg-01")],
        ListenerConfig::default(),
        Some(t0()),
        never,
        Duration::from_secs(30),
    );
    assert!(r.detections.is_empty());
    let bad: Vec<_> = r.health.iter().filter(|h| h.status == HealthStatus::InputUnreadable).collect();
    assert_eq!(bad.len(), 1, "{:?}", r.health);
    assert!(bad[0].detail.contains("Invalid data") || bad[0].detail.contains("ffmpeg"), "{}", bad[0].detail);

    let x = recording(2.0, &[], 15);
    let stereo = dir.join("stereo.wav");
    std::fs::write(&stereo, vigie_audio::wav::encode_pcm16(SR, &[x.clone(), x])).unwrap();
    let mut input = file_input(&stereo);
    input.channels = vec![0, 3];
    let r = run(
        input,
        vec![mic("mic-left"), mic("mic-four")],
        ListenerConfig::default(),
        Some(t0()),
        never,
        Duration::from_secs(30),
    );
    let bad = r.health.iter().find(|h| h.status == HealthStatus::InputUnreadable).expect("reported");
    assert!(bad.detail.contains("has 2 channel(s)"), "{}", bad.detail);
    assert_eq!(r.health.iter().filter(|h| h.status == HealthStatus::InputUnreadable).count(), 2, "one per microphone");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_stream_whose_sample_clock_runs_fast_is_reported_and_its_onsets_flagged() {
    // Labelled 16 kHz, sent 3 % faster than real time: the samples' clock drifts by ~30 ms/s.
    let x = recording(9.0, &[(Kind::AudioGunshot, 8.0)], 16);
    let pace = Pace::Realtime { bytes_per_sec: 32_000.0, header: 44, rate_factor: 1.03 };
    let (port, _, _) = http_server(wav(&x), pace, 1);
    let mut input = InputConfig::new(format!("http://127.0.0.1:{port}/fast.wav"), vec![0], "mic-drift-01");
    input.live = true;
    let cfg = ListenerConfig { clock_max_offset_ms: 50.0, ..ListenerConfig::default() };
    let r = run(
        input,
        vec![mic("mic-drift-01")],
        cfg,
        None,
        |h, _| h.iter().any(|h| h.status == HealthStatus::Offline),
        Duration::from_secs(30),
    );
    let unsync = r
        .health
        .iter()
        .find(|h| h.status == HealthStatus::ClockUnsynchronised)
        .unwrap_or_else(|| panic!("{:?}", r.health));
    assert!(unsync.detail.contains("exceeds 50.000 ms"), "{}", unsync.detail);
    let d = r.detections.iter().find(|d| d.kind == Kind::AudioGunshot).unwrap_or_else(|| panic!("{:?}", r.detections));
    assert!(!clock_ok_of(d), "a drifting clock's onset must stay out of TDOA");
    assert_contract(&r.detections);
}
