//! The config file as written: every key documented, unknown keys refused.

use serde::Deserialize;

use crate::rules::ZoneKind;
use crate::rules::abandoned_object::AbandonedObjectConfig;
use crate::rules::crowd_density::CrowdDensityConfig;
use crate::rules::crowd_movement::CrowdMovementConfig;
use crate::rules::fire::FireConfig;
use crate::rules::intrusion::IntrusionConfig;
use crate::rules::person_down::PersonDownConfig;
use crate::rules::tamper::TamperConfig;
use crate::rules::weapon::WeaponConfig;
use crate::rules::wrong_way::WrongWayConfig;
use crate::stages::detector::DetectorConfig;
use crate::stages::evidence::EvidenceConfig;
use crate::stages::motion::MotionConfig;
use crate::stages::track::TrackerConfig;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoConfigFile {
    #[serde(default)]
    pub cameras: Vec<CameraFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraFile {
    /// Sensor id as declared at the hub: `^[a-z0-9][a-z0-9._-]{0,63}$`.
    pub id: String,
    /// `rtsp://…`, `http(s)://…`, or a file path (relative to the config file).
    pub url: String,
    /// Where the camera stands (WGS 84).
    pub lon: f64,
    pub lat: f64,
    /// Detection kinds this camera runs: each must be covered by the authorization the
    /// hub holds for it (property 4). Nothing runs that is not listed.
    pub analytics: Vec<String>,
    /// Detect stream size and rate: FFmpeg scales and drops to these (Frigate's advice: 5 fps).
    #[serde(default = "d_width")]
    pub detect_width_px: u32,
    #[serde(default = "d_height")]
    pub detect_height_px: u32,
    #[serde(default = "d_fps")]
    pub fps: f64,
    /// Default: true for rtsp/http URLs, false for files.
    #[serde(default)]
    pub live: Option<bool>,
    /// Files only: read at the file's own speed (`-re`), as a camera sends.
    #[serde(default)]
    pub realtime: bool,
    /// Files only: when the recording began (RFC 3339), so that detections carry the time
    /// of what they saw. Default: when the file is opened (then a file analysed faster than
    /// real time dates its later events ahead of the clock; use `realtime = true` to publish
    /// a file as if live).
    #[serde(default)]
    pub start_time: Option<String>,
    /// Passed to FFmpeg before `-i`, e.g. `["-hwaccel", "cuda"]` or `["-hwaccel", "vaapi"]`.
    #[serde(default)]
    pub hwaccel_args: Vec<String>,
    /// More input options, before `-i`.
    #[serde(default)]
    pub input_args: Vec<String>,
    #[serde(default = "d_stall")]
    pub stall_timeout_secs: f64,
    #[serde(default = "d_rmin")]
    pub reconnect_min_secs: f64,
    #[serde(default = "d_rmax")]
    pub reconnect_max_secs: f64,
    /// Radius given to detections placed on the calibrated ground.
    #[serde(default = "d_unc")]
    pub location_uncertainty_m: f64,
    /// Radius given to detections placed at the camera (uncalibrated or frame-wide).
    #[serde(default = "d_view")]
    pub view_radius_m: f64,
    /// Privacy masks, blacked out before anything else.
    #[serde(default)]
    pub masks: Vec<MaskFile>,
    #[serde(default)]
    pub zones: Vec<ZoneFile>,
    /// Ground-plane calibration: four or more image ↔ ground pairs.
    #[serde(default)]
    pub calibration: Vec<CalibrationPairFile>,
    #[serde(default)]
    pub motion: MotionConfig,
    #[serde(default)]
    pub tracker: TrackerConfig,
    #[serde(default)]
    pub rules: RulesFile,
    #[serde(default)]
    pub detector: Option<DetectorConfig>,
    #[serde(default)]
    pub evidence: EvidenceConfig,
}

fn d_width() -> u32 {
    320
}
fn d_height() -> u32 {
    180
}
fn d_fps() -> f64 {
    5.0
}
fn d_stall() -> f64 {
    10.0
}
fn d_rmin() -> f64 {
    1.0
}
fn d_rmax() -> f64 {
    60.0
}
fn d_unc() -> f64 {
    5.0
}
fn d_view() -> f64 {
    30.0
}

/// A polygon in relative image coordinates: `[x, y]` with 0..1 of width and height.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskFile {
    pub name: String,
    pub points: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneFile {
    /// Shown in detections (`attributes.zone`) and to operators.
    pub name: String,
    /// `forbidden` | `one_way` | `crowd`.
    pub kind: ZoneKind,
    pub points: Vec<[f64; 2]>,
    /// `one_way` zones: the allowed direction of travel, degrees clockwise from north on the
    /// ground (from image "up" without calibration).
    #[serde(default)]
    pub direction_deg: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationPairFile {
    /// Relative image point `[x, y]`.
    pub image: [f64; 2],
    /// The same point on the ground: metres east and north of the camera's `lon`/`lat`.
    pub ground_m: [f64; 2],
}

/// Each rule's parameters; every field has a default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesFile {
    pub intrusion: IntrusionConfig,
    pub wrong_way: WrongWayConfig,
    pub abandoned_object: AbandonedObjectConfig,
    pub crowd_density: CrowdDensityConfig,
    pub crowd_movement: CrowdMovementConfig,
    pub fire: FireConfig,
    pub person_down: PersonDownConfig,
    pub weapon: WeaponConfig,
    pub tamper: TamperConfig,
}
