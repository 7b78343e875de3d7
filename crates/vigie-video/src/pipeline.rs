//! One camera's analysis: frames in; detections and health events out.
//!
//! ```text
//! Frame → Masker → MaskedFrame → Motion → Tracker → [Detector on motion regions] → rules → emit (+ evidence)
//! ```
//! Built from a checked [`Camera`]; only the rules listed in its `analytics` run.

use std::collections::BTreeMap;
use std::time::Instant;

use vigie_model::{Detection, Kind, SensorId};

use crate::config::Camera;
use crate::error::VideoError;
use crate::frame::Frame;
use crate::rules::abandoned_object::AbandonedObject;
use crate::rules::crowd_density::CrowdDensity;
use crate::rules::crowd_movement::CrowdMovement;
use crate::rules::fire::Fire;
use crate::rules::intrusion::Intrusion;
use crate::rules::person_down::PersonDown;
use crate::rules::tamper::Tamper;
use crate::rules::weapon::Weapon;
use crate::rules::wrong_way::WrongWay;
use crate::rules::{Event, Rule, Scene, View};
use crate::stages::detector::{Detector, ObjectBox, regions};
use crate::stages::emit::{Placement, to_detection};
use crate::stages::evidence::{EvidenceConfig, EvidenceStore, snapshot};
use crate::stages::health::{HealthEvent, HealthStatus};
use crate::stages::mask::Masker;
use crate::stages::motion::Motion;
use crate::stages::track::Tracker;

/// What an analyser emits: nothing else leaves a camera.
#[derive(Debug, Clone)]
pub enum Output {
    Detection(Box<Detection>),
    Health(HealthEvent),
}

/// Counters of one analyser.
#[derive(Debug, Clone, Default)]
pub struct AnalyzerStats {
    pub frames: u64,
    pub detections: BTreeMap<Kind, u64>,
    pub detector_runs: u64,
    pub detector_errors: u64,
    pub evidence_errors: u64,
    /// Frames with at least one foreground blob.
    pub frames_with_motion: u64,
    /// Distinct tracks that were confirmed (anonymous, counted only).
    pub tracks_confirmed: u64,
    /// CPU-side time spent in `process`, for the bench (wall time of this thread).
    pub busy_secs: f64,
}

pub struct Analyzer {
    camera: SensorId,
    analytics: Vec<Kind>,
    fps: f64,
    masker: Masker,
    motion: Motion,
    tracker: Tracker,
    detector: Option<Box<dyn Detector>>,
    region_margin_px: u32,
    max_regions: usize,
    rules: Vec<Box<dyn Rule>>,
    view: View,
    placement: Placement,
    evidence_cfg: EvidenceConfig,
    store: Option<Box<dyn EvidenceStore>>,
    last_detector_error: Option<Instant>,
    pub stats: AnalyzerStats,
}

impl Analyzer {
    /// Builds the pipeline of a camera. Its detector (when configured) is opened here.
    pub fn new(cam: &Camera, store: Option<Box<dyn EvidenceStore>>) -> Result<Analyzer, VideoError> {
        let detector: Option<Box<dyn Detector>> = match &cam.detector {
            None => None,
            #[cfg(feature = "onnx")]
            Some(d) => Some(Box::new(crate::stages::detector::OnnxDetector::new(d.clone())?)),
            #[cfg(not(feature = "onnx"))]
            Some(d) => {
                return Err(VideoError::Detector {
                    model: d.model.display().to_string(),
                    detail: "this build has no ONNX support (feature `onnx`)".into(),
                });
            }
        };
        Ok(Analyzer::with_detector(cam, store, detector))
    }

    /// As [`Analyzer::new`] with a given detector (or none).
    pub fn with_detector(
        cam: &Camera,
        store: Option<Box<dyn EvidenceStore>>,
        detector: Option<Box<dyn Detector>>,
    ) -> Analyzer {
        let r = &cam.rules;
        let all: Vec<Box<dyn Rule>> = vec![
            Box::new(Intrusion::new(r.intrusion.clone())),
            Box::new(WrongWay::new(r.wrong_way.clone())),
            Box::new(AbandonedObject::new(r.abandoned_object.clone())),
            Box::new(CrowdDensity::new(r.crowd_density.clone())),
            Box::new(CrowdMovement::new(r.crowd_movement.clone())),
            Box::new(Fire::new(r.fire.clone())),
            Box::new(PersonDown::new(r.person_down.clone())),
            Box::new(Weapon::new(r.weapon.clone())),
            Box::new(Tamper::new(r.tamper.clone())),
        ];
        let rules = all.into_iter().filter(|rule| cam.analytics.contains(&rule.kind())).collect();
        let (w, h) = (cam.input.width, cam.input.height);
        Analyzer {
            camera: cam.id.clone(),
            analytics: cam.analytics.clone(),
            fps: cam.input.fps,
            masker: Masker::new(cam.masks.clone()),
            motion: Motion::new(cam.motion.clone(), cam.input.fps),
            tracker: Tracker::new(cam.tracker.clone(), cam.input.fps),
            region_margin_px: cam.detector.as_ref().map_or(8, |d| d.region_margin_px),
            max_regions: cam.detector.as_ref().map_or(4, |d| d.max_regions),
            detector,
            rules,
            view: View::new(w, h, cam.zones.clone(), cam.ground, cam.lon, cam.lat),
            placement: cam.placement,
            evidence_cfg: cam.evidence.clone(),
            store,
            last_detector_error: None,
            stats: AnalyzerStats::default(),
        }
    }

    pub fn camera(&self) -> &SensorId {
        &self.camera
    }

    pub fn analytics(&self) -> &[Kind] {
        &self.analytics
    }

    /// The input reconnected: tracks and rule states start again (the scene may have changed).
    pub fn reset(&mut self) {
        self.tracker.reset();
        for r in &mut self.rules {
            r.reset();
        }
    }

    pub fn process(&mut self, frame: Frame) -> Vec<Output> {
        let started = Instant::now();
        self.stats.frames += 1;
        let mut out = Vec::new();
        // Privacy masks first: nothing below sees the unmasked frame.
        let masked = self.masker.apply(frame);
        self.view.resize(masked.width(), masked.height());
        let motion = self.motion.process(&masked);
        if motion.relearned {
            self.tracker.reset();
        }
        let time = masked.time();
        self.tracker.update(&motion.blobs, time);
        self.stats.frames_with_motion += u64::from(!motion.blobs.is_empty());
        for t in self.tracker.tracks_mut().iter_mut().filter(|t| t.confirmed && !t.counted) {
            t.counted = true;
            self.stats.tracks_confirmed += 1;
        }
        let mut objects: Vec<ObjectBox> = Vec::new();
        let mut detector_ran = false;
        if let Some(d) = self.detector.as_mut() {
            let regs = regions(&motion.blobs, self.region_margin_px, masked.width(), masked.height(), self.max_regions);
            if !regs.is_empty() {
                self.stats.detector_runs += 1;
                match d.detect(&masked, &regs) {
                    Ok(o) => {
                        detector_ran = true;
                        objects = o;
                    }
                    Err(e) => {
                        self.stats.detector_errors += 1;
                        if self.last_detector_error.is_none_or(|t| t.elapsed().as_secs() >= 60) {
                            self.last_detector_error = Some(Instant::now());
                            out.push(Output::Health(HealthEvent {
                                sensor: self.camera.to_string(),
                                time,
                                status: HealthStatus::DetectorError,
                                detail: e.to_string(),
                            }));
                        }
                    }
                }
            } else {
                // No motion: nothing to detect, and the rules know there is nothing.
                detector_ran = true;
            }
            for o in objects.iter().filter(|o| o.is_person) {
                if let Some(t) = self
                    .tracker
                    .tracks_mut()
                    .iter_mut()
                    .max_by(|a, b| a.bbox.iou(&o.bbox).total_cmp(&b.bbox.iou(&o.bbox)))
                    && t.bbox.iou(&o.bbox) > 0.3
                {
                    t.person_hits += 1;
                }
            }
        }
        let scene = Scene {
            time,
            fps: self.fps,
            frame: &masked,
            motion: &motion,
            tracks: self.tracker.tracks(),
            objects: &objects,
            detector_ran,
            view: &self.view,
        };
        let mut events: Vec<Event> = Vec::new();
        for r in &mut self.rules {
            events.extend(r.observe(&scene));
        }
        for ev in events {
            let mut evidence = Vec::new();
            if self.evidence_cfg.enabled
                && let Some(store) = self.store.as_mut()
            {
                // Every tracked box is pixelated (persons are tracks); the object of an
                // abandoned-object or fire event is left visible.
                let keep_visible = matches!(ev.kind, Kind::VideoAbandonedObject | Kind::VideoFire);
                let mut hide: Vec<_> = self
                    .tracker
                    .tracks()
                    .iter()
                    .filter(|t| t.confirmed)
                    .map(|t| t.bbox)
                    .filter(|b| !(keep_visible && ev.bbox.is_some_and(|e| e.iou(b) > 0.5)))
                    .collect();
                hide.extend(objects.iter().filter(|o| o.is_person).map(|o| o.bbox));
                if !keep_visible && let Some(b) = ev.bbox {
                    hide.push(b);
                }
                match snapshot(&masked, &hide, ev.bbox, &self.evidence_cfg)
                    .and_then(|jpg| store.store("image/jpeg", &jpg))
                {
                    Ok(e) => evidence.push(e),
                    Err(e) => {
                        self.stats.evidence_errors += 1;
                        out.push(Output::Health(HealthEvent {
                            sensor: self.camera.to_string(),
                            time,
                            status: HealthStatus::EvidenceError,
                            detail: e.to_string(),
                        }));
                    }
                }
            }
            let d = to_detection(&self.camera, &self.view, &self.placement, &ev, evidence);
            *self.stats.detections.entry(d.kind).or_default() += 1;
            out.push(Output::Detection(Box::new(d)));
        }
        self.stats.busy_secs += started.elapsed().as_secs_f64();
        out
    }
}
