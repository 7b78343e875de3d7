//! The object-detector path for real: ONNX Runtime (loaded at run time from the PyPI wheel's
//! library) runs a small YOLO-format model that the test writes itself, on motion regions
//! only; `video.weapon` fires on the walkers carrying what the model sees, not on the others,
//! nor on a look-alike poster that does not move.

mod common;

use common::*;
use vigie_model::Kind;
use vigie_testkit::onnx::required_onnxruntime_library;
use vigie_video::simulate::onnx_model::magenta_detector;
use vigie_video::simulate::scenario;

#[test]
fn weapon_rule_runs_the_onnx_detector_on_motion_regions() {
    let s = scenario(Kind::VideoWeapon, 1);
    let dir = temp_dir("weapon");
    let video = encode_scenario(&s, &dir);
    let model = dir.join("magenta.onnx");
    std::fs::write(&model, magenta_detector(64)).unwrap();
    let tables = format!(
        "[cameras.detector]\nmodel = \"{}\"\nlibrary = \"{}\"\nlabels = [\"person\", \"knife\"]\ninput_size_px = 64\n",
        model.display(),
        required_onnxruntime_library().display()
    );
    let cam = camera(&s, &video, "", &tables);
    let r = run(&cam, Some(&dir), None);
    assert_contract(&r.detections);
    let got = describe(&r.detections);
    assert!(r.summary.analysis.detector_runs > 20, "{:?}", r.summary.analysis);
    assert_eq!(r.summary.analysis.detector_errors, 0, "{:?}", r.health);
    let sc = score_of(&s, &r.detections, Kind::VideoWeapon);
    assert!(sc.precision >= 0.9 && sc.recall >= 0.9, "{sc:?}\n{got}");
    // Only motion regions go to the detector: far fewer runs than frames × regions of the
    // whole frame, and never on the still poster (no detection near it).
    for d in r.detections.iter().filter(|d| d.kind == Kind::VideoWeapon) {
        assert!(d.attributes.get().contains("\"class\":\"knife\""));
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_broken_model_is_a_clear_error_not_a_crash() {
    let s = scenario(Kind::VideoWeapon, 1);
    let dir = temp_dir("weapon-broken");
    let model = dir.join("broken.onnx");
    std::fs::write(&model, b"this is not an onnx model").unwrap();
    let tables = format!(
        "[cameras.detector]\nmodel = \"{}\"\nlibrary = \"{}\"\nlabels = [\"person\", \"knife\"]\ninput_size_px = 64\n",
        model.display(),
        required_onnxruntime_library().display()
    );
    let cam = camera(&s, &dir.join("never-read.mp4"), "", &tables);
    let e = vigie_video::Analyzer::new(&cam, None).err().expect("refused");
    assert!(e.to_string().contains("broken.onnx"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}
