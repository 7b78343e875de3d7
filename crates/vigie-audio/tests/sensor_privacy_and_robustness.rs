//! On simulated data: what leaves a sensor is only band levels and event features (the
//! "microphones never record or transcribe speech" property), contract-valid detections,
//! localisation at the source, and clear health events instead of crashes.

use chrono::{DateTime, Utc};
use vigie_audio::pipeline::run_buffer;
use vigie_audio::simulate::{Scenario, ScenarioConfig, single};
use vigie_audio::stages::decode::decode_bytes;
use vigie_audio::stages::locate::{associate, locate};
use vigie_audio::{Listener, ListenerConfig, LocateConfig, Microphone, OnsetReport, Output};
use vigie_model::Kind;
use vigie_model::detection::TimeBounds;

fn mic() -> Microphone {
    Microphone { id: "mic-test-01".parse().unwrap(), lon: -1.55, lat: 47.21, channel: 0 }
}

fn t0() -> DateTime<Utc> {
    "2026-11-22T21:30:00Z".parse().unwrap()
}

fn bounds() -> TimeBounds {
    TimeBounds::new(t0(), 3600, 86_400)
}

const ALLOWED_ATTRIBUTES: &[&str] = &[
    "onset_time",
    "peak_db",
    "leq_db",
    "snr_db",
    "rise_ms",
    "duration_ms",
    "centroid_hz",
    "low_ratio",
    "high_ratio",
    "tonality_db",
    "dominant_hz",
    "sweep_hz",
    "band_levels_db",
    "sensor_lon",
    "sensor_lat",
    "clock_ok",
    "classifier",
];

#[test]
fn only_band_levels_and_event_features_leave_the_sensor() {
    // A scream-like harmonic sound (the closest thing to a voice here) and an impulse.
    let (mut x, _) = single(Kind::AudioScream, 20.0, 16_000, 5);
    let (y, _) = single(Kind::AudioGunshot, 20.0, 16_000, 6);
    x.extend(y);
    let mut l = Listener::new(mic(), 16_000, t0(), ListenerConfig::default()).unwrap();
    let outs = run_buffer(&mut l, &x);
    let (mut n_det, mut n_bands, mut bytes) = (0, 0, 0usize);
    for o in &outs {
        match o {
            Output::Detection(d) => {
                n_det += 1;
                let json = d.to_json();
                bytes += json.len();
                let back = vigie_model::decode(json.as_bytes(), &bounds()).expect("contract-valid");
                assert_eq!(back.kind.namespace(), "audio");
                assert!(back.evidence.is_empty(), "no audio clip ever leaves");
                let attrs: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(back.attributes.get()).unwrap();
                for (k, v) in &attrs {
                    assert!(ALLOWED_ATTRIBUTES.contains(&k.as_str()), "unexpected attribute {k}");
                    if let Some(a) = v.as_array() {
                        assert!(a.len() <= 22, "{k} holds {} values: too many to be features", a.len());
                    }
                }
                for k in ["peak_db", "rise_ms", "duration_ms", "onset_time", "band_levels_db"] {
                    assert!(attrs.contains_key(k), "missing {k}");
                }
            }
            Output::Bands(b) => {
                n_bands += 1;
                assert_eq!(b.levels_db.len(), 22);
                bytes += serde_json::to_string(b).unwrap().len();
            }
            Output::Health(_) => {}
        }
    }
    assert!(n_det >= 2, "{n_det}");
    let secs = x.len() as f64 / 16_000.0;
    assert_eq!(n_bands, (secs * 8.0) as usize);
    // 16-bit audio is 32 kB/s; what leaves is a few percent of it, at 8 frames of 22 levels.
    assert!((bytes as f64 / secs) < 32_000.0 * 0.1, "{} B/s", bytes as f64 / secs);
}

#[test]
fn simulated_gunshots_are_located_within_metres() {
    let sc = Scenario::new(ScenarioConfig { seed: 3, n_events: 3, nlos_share: 0.0, ..ScenarioConfig::default() });
    let cfg = LocateConfig::default();
    for (e, ev) in sc.events.iter().enumerate() {
        let mut reports = Vec::new();
        for (s, sen) in sc.sensors.iter().enumerate() {
            let rec = sc.recording(e, s);
            let m = Microphone { id: sen.id.clone(), lon: sen.lon, lat: sen.lat, channel: 0 };
            let mut l = Listener::new(m, 16_000, rec.start, ListenerConfig { emit_bands: false, ..Default::default() })
                .unwrap();
            for o in run_buffer(&mut l, &rec.samples) {
                if let Output::Detection(d) = o {
                    reports.push(OnsetReport::from_detection(&d).unwrap());
                }
            }
        }
        let groups = associate(reports, &cfg);
        assert_eq!(groups.len(), 1);
        let fix = locate(&groups[0], &cfg);
        let err = vigie_model::geo::haversine_m(fix.lon, fix.lat, ev.lon, ev.lat);
        assert_eq!(fix.method, "tdoa");
        assert!(err < 5.0, "event {e}: {err} m");
        let d = vigie_audio::stages::locate::to_detection(&fix, &groups[0], &cfg);
        let now = ev.emission;
        vigie_model::decode(d.to_json().as_bytes(), &TimeBounds::new(now, 3600, 3600)).expect("contract-valid");
    }
}

#[test]
fn corrupt_truncated_silent_and_unsynchronised_inputs_are_reported_not_crashed() {
    let (x, _) = single(Kind::AudioGunshot, 20.0, 16_000, 9);
    let wav = vigie_audio::wav::encode_pcm16(16_000, std::slice::from_ref(&x));
    for cut in [0, 10, 44, 45, wav.len() / 3] {
        let _ = decode_bytes(wav[..cut].to_vec(), Some("wav"), "cut.wav");
    }
    assert!(decode_bytes(b"OggS\0\x02garbage".to_vec(), Some("ogg"), "bad.ogg").is_err());

    let mut silent = x.clone();
    silent.extend(std::iter::repeat_n(0.0f32, 16_000 * 7));
    let cfg = ListenerConfig { clock_offset_ms: 40.0, ..Default::default() };
    let mut l = Listener::new(mic(), 16_000, t0(), cfg).unwrap();
    let outs = run_buffer(&mut l, &silent);
    let statuses: Vec<&str> =
        outs.iter().filter_map(|o| if let Output::Health(h) = o { Some(h.status.as_str()) } else { None }).collect();
    assert!(statuses.contains(&"silent"), "{statuses:?}");
    assert!(statuses.contains(&"clock_unsynchronised"), "{statuses:?}");
    let flagged =
        outs.iter().any(|o| matches!(o, Output::Detection(d) if d.attributes.get().contains("\"clock_ok\":false")));
    assert!(flagged);
}
