//! Each rule on its synthetic scene (real H.264 through a real FFmpeg child): true events
//! found, look-alikes ignored (precision and recall ≥ 0.9), detections contract-valid, with
//! evidence, and `video.tamper` silent outside the tamper scene.

mod common;

use common::*;
use vigie_model::Kind;
use vigie_video::simulate::scenario;

fn check_rule(kind: Kind) {
    let s = scenario(kind, 1);
    let dir = temp_dir(&s.spec.name);
    let video = encode_scenario(&s, &dir);
    let cam = camera(&s, &video, "", "");
    let r = run(&cam, Some(&dir), None);
    assert_contract(&r.detections);
    let got = describe(&r.detections);
    let sc = score_of(&s, &r.detections, kind);
    assert!(sc.precision >= 0.9 && sc.recall >= 0.9, "{kind}: {sc:?}\n{got}");
    if kind != Kind::VideoTamper {
        let tamper = score_of(&s, &r.detections, Kind::VideoTamper);
        assert_eq!(tamper.detections, 0, "tamper fired on a normal scene:\n{got}");
    }
    for d in r.detections.iter().filter(|d| d.kind == kind) {
        assert_eq!(d.evidence.len(), 1, "{kind} without evidence");
        let e = &d.evidence[0];
        let bytes = std::fs::read(dir.join(&e.uri)).expect("evidence file written");
        assert_eq!(vigie_video::stages::evidence::sha256_hex(&bytes), e.sha256);
        assert_eq!(&bytes[..2], &[0xFF, 0xD8], "a JPEG");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn intrusion() {
    check_rule(Kind::VideoIntrusion);
}

#[test]
fn wrong_way() {
    check_rule(Kind::VideoWrongWay);
}

#[test]
fn abandoned_object() {
    check_rule(Kind::VideoAbandonedObject);
}

#[test]
fn crowd_density() {
    check_rule(Kind::VideoCrowdDensity);
}

#[test]
fn crowd_movement() {
    check_rule(Kind::VideoCrowdMovement);
}

#[test]
fn fire() {
    check_rule(Kind::VideoFire);
}

#[test]
fn person_down() {
    check_rule(Kind::VideoPersonDown);
}

#[test]
fn tamper() {
    check_rule(Kind::VideoTamper);
}
