use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use vigie_model::config::Config;
use vigie_model::{Detection, DetectionId, Kind, Location, SensorId};

use super::*;

fn t0() -> DateTime<Utc> {
    "2026-11-22T21:30:00Z".parse().unwrap()
}

fn det(sensor: &str, kind: Kind, secs: i64, lon: f64, lat: f64) -> Detection {
    Detection {
        id: DetectionId::generate(),
        sensor: SensorId::new(sensor).unwrap(),
        kind,
        time: t0() + Duration::seconds(secs),
        location: Location { lon, lat, uncertainty_m: None },
        confidence: 0.9,
        attributes: serde_json::value::RawValue::from_string("{}".into()).unwrap(),
        evidence: vec![],
    }
}

fn fusion() -> Fusion {
    Fusion::new(Arc::new(Config::empty()))
}

/// Metres east of Place du Commerce.
fn east(m: f64) -> f64 {
    -1.5592 + m / 75_640.0
}
const LAT: f64 = 47.2133;

#[test]
fn a_fire_opens_an_incident_and_a_second_one_nearby_joins_it() {
    let mut f = fusion();
    let (e, inc) = f.ingest(&det("cam-1", Kind::VideoFire, 0, east(0.0), LAT), t0());
    let Effect::Opened { incident, earlier } = e else { panic!("{e:?}") };
    assert!(earlier.is_empty());
    assert_eq!(inc.unwrap().rule, "fire");
    let (e, inc) = f.ingest(&det("cam-2", Kind::VideoFire, 30, east(40.0), LAT), t0());
    assert_eq!(e, Effect::Joined(incident));
    let inc = inc.unwrap();
    assert_eq!(inc.detection_count, 2);
    assert_eq!(inc.sensors.len(), 2);
    assert_eq!(inc.version, 2);
}

#[test]
fn far_or_late_detections_open_new_incidents() {
    let mut f = fusion();
    let (a, _) = f.ingest(&det("cam-1", Kind::VideoFire, 0, east(0.0), LAT), t0());
    let (b, _) = f.ingest(&det("cam-2", Kind::VideoFire, 10, east(1000.0), LAT), t0());
    let (c, _) = f.ingest(&det("cam-1", Kind::VideoFire, 3600, east(0.0), LAT), t0());
    for e in [a, b, c] {
        assert!(matches!(e, Effect::Opened { .. }), "{e:?}");
    }
}

#[test]
fn three_microphones_and_a_crowd_movement_open_one_critical_incident() {
    let mut f = fusion();
    // One impulse alone waits: the correlated rules need partners.
    let (e, _) = f.ingest(&det("mic-1", Kind::AudioImpulse, 0, east(0.0), LAT), t0());
    assert_eq!(e, Effect::Pending);
    let (e, _) = f.ingest(&det("mic-2", Kind::AudioImpulse, 0, east(60.0), LAT), t0());
    assert_eq!(e, Effect::Pending);
    // The camera sees the crowd move: detonation + crowd movement (2 sensors, 3 detections).
    let (e, inc) = f.ingest(&det("cam-1", Kind::VideoCrowdMovement, 2, east(30.0), LAT), t0());
    let Effect::Opened { earlier, .. } = e else { panic!("{e:?}") };
    assert_eq!(earlier.len(), 2);
    let inc = inc.unwrap();
    assert_eq!(inc.rule, "detonation-and-crowd-movement");
    assert_eq!(inc.priority, vigie_model::Priority::Critical);
    assert_eq!(inc.detection_count, 3);
    // The third microphone joins the same incident.
    let (e, _) = f.ingest(&det("mic-3", Kind::AudioImpulse, 0, east(90.0), LAT), t0());
    assert!(matches!(e, Effect::Joined(_)), "{e:?}");
    assert_eq!(f.stats().pending_detections, 0, "members leave every pending set");
}

#[test]
fn one_sensor_repeating_itself_is_not_three_sensors() {
    let mut f = fusion();
    for i in 0..5 {
        let (e, _) = f.ingest(&det("mic-1", Kind::AudioGunshot, i, east(0.0), LAT), t0());
        assert_eq!(e, Effect::Pending);
    }
}

#[test]
fn pending_detections_expire_with_their_window() {
    let mut f = fusion();
    f.ingest(&det("mic-1", Kind::AudioImpulse, 0, east(0.0), LAT), t0());
    f.ingest(&det("mic-2", Kind::AudioImpulse, 0, east(50.0), LAT), t0());
    assert!(f.stats().pending_detections > 0);
    f.expire(t0() + Duration::seconds(3600));
    assert_eq!(f.stats().pending_detections, 0);
    // A third microphone much later opens nothing.
    let (e, _) = f.ingest(&det("mic-3", Kind::AudioImpulse, 3600, east(20.0), LAT), t0() + Duration::seconds(3600));
    assert_eq!(e, Effect::Pending);
}

#[test]
fn resolved_incidents_take_no_more_detections() {
    let mut f = fusion();
    let (e, inc) = f.ingest(&det("cam-1", Kind::VideoFire, 0, east(0.0), LAT), t0());
    let Effect::Opened { incident, .. } = e else { panic!() };
    let mut inc = inc.unwrap().clone();
    inc.apply(&vigie_model::IncidentAction::Resolve { outcome: vigie_model::Outcome::FalseAlarm }, "op", t0()).unwrap();
    f.incident_changed(&inc);
    let (e, _) = f.ingest(&det("cam-1", Kind::VideoFire, 5, east(0.0), LAT), t0());
    let Effect::Opened { incident: other, .. } = e else { panic!("{e:?}") };
    assert_ne!(other, incident);
}

#[test]
fn low_confidence_is_ignored_by_rules_that_ask_more() {
    let mut f = fusion();
    let mut d = det("cam-1", Kind::VideoWeapon, 0, east(0.0), LAT);
    d.confidence = 0.3;
    assert_eq!(f.ingest(&d, t0()).0, Effect::Pending);
}

#[test]
fn fusion_stays_bounded_with_many_detections() {
    // 100 000 isolated impulses over a city: none opens anything, all expire.
    let mut f = fusion();
    for i in 0..100_000 {
        // About 750 m apart: no rule groups them.
        let lon = -3.0 + (i % 400) as f64 * 0.01;
        let lat = 45.0 + (i / 400) as f64 * 0.01;
        f.ingest(&det(&format!("mic-{i}"), Kind::AudioImpulse, 0, lon, lat), t0());
    }
    assert!(f.stats().pending_detections >= 100_000);
    f.expire(t0() + Duration::seconds(7200));
    assert_eq!(f.stats().pending_detections, 0);
}

#[test]
fn a_crowd_seen_after_a_detonation_upgrades_the_incident() {
    let mut f = fusion();
    for (i, m) in ["mic-1", "mic-2", "mic-3"].iter().enumerate() {
        f.ingest(&det(m, Kind::AudioImpulse, 0, east(i as f64 * 50.0), LAT), t0());
    }
    assert_eq!(f.stats().joinable_incidents, 1, "three microphones open a detonation incident");
    let (e, inc) = f.ingest(&det("cam-1", Kind::VideoCrowdMovement, 2, east(40.0), LAT), t0());
    let Effect::Upgraded { from_rule, .. } = e else { panic!("{e:?}") };
    assert_eq!(from_rule, "detonation-heard");
    let inc = inc.unwrap();
    assert_eq!(inc.rule, "detonation-and-crowd-movement");
    assert_eq!(inc.detection_count, 4);
    assert_eq!(f.stats().joinable_incidents, 1, "no second incident");
}
