//! The recording config as written (TOML): every key documented, unknown keys refused,
//! units in the names.

use serde::Deserialize;
use vigie_video::config::file::MaskFile;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordConfigFile {
    /// The `vigie video` config whose cameras this file records (relative to this file).
    /// A camera listed there takes its URL, masks and FFmpeg input flags from it: masks
    /// live in one place for analysis and recording.
    #[serde(default)]
    pub video_config: Option<String>,
    /// Where finished segments wait for the hub (store-and-forward), relative to this file.
    /// Default: `spool` beside it.
    #[serde(default)]
    pub spool_dir: Option<String>,
    /// The most the spool may hold while the hub is unreachable; the oldest segments go
    /// first (counted, logged). Default 10 GiB.
    #[serde(default)]
    pub spool_max_bytes: Option<u64>,
    #[serde(default)]
    pub cameras: Vec<CameraFile>,
}

/// When a camera is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordMode {
    /// Always; the hub keeps the segments for the camera's retention.
    Continuous,
    /// Everything is recorded at the edge, but the hub keeps only the segments within
    /// `pre_secs` before and `post_secs` after one of the camera's detections.
    Events,
}

impl RecordMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordMode::Continuous => "continuous",
            RecordMode::Events => "events",
        }
    }
}

/// The video encoder of masked cameras.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EncoderChoice {
    /// The first hardware encoder that works on this machine (NVENC, Quick Sync, VA-API),
    /// else libx264; tried once at start with a few frames.
    Auto,
    Libx264,
    H264Nvenc,
    H264Qsv,
    H264Vaapi,
}

/// One camera as written (after `[defaults]` are merged in).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraFile {
    /// The sensor id declared at the hub (a camera).
    pub id: String,
    /// The stream to record: `rtsp://…`, `http(s)://…` or a file. Default: the camera's
    /// `url` in `video_config` (set this to record the main stream while analysis reads
    /// the sub-stream).
    #[serde(default)]
    pub url: Option<String>,
    /// Privacy masks (relative `[x, y]` points), for a camera not in `video_config`.
    #[serde(default)]
    pub masks: Vec<MaskFile>,
    #[serde(default = "d_mode")]
    pub mode: RecordMode,
    /// Events mode: seconds kept before a detection.
    #[serde(default = "d_pre")]
    pub pre_secs: u32,
    /// Events mode: seconds kept after a detection.
    #[serde(default = "d_post")]
    pub post_secs: u32,
    /// Target length of a segment file; a segment always starts on a keyframe.
    #[serde(default = "d_segment")]
    pub segment_secs: u32,
    /// Masked cameras: one keyframe every this many seconds (where playback can start
    /// and a late viewer joins).
    #[serde(default = "d_keyframe")]
    pub keyframe_secs: f64,
    #[serde(default = "d_encoder")]
    pub encoder: EncoderChoice,
    /// libx264 preset (`ultrafast` … `medium`).
    #[serde(default = "d_preset")]
    pub preset: String,
    /// Constant quality (libx264 CRF, NVENC/QSV/VA-API QP); lower is better.
    #[serde(default = "d_quality")]
    pub quality: u32,
    /// Masked cameras: a larger source is scaled down to this width (0: keep the size).
    #[serde(default)]
    pub max_width_px: u32,
    /// More encoder flags, after the ones Vigie sets.
    #[serde(default)]
    pub encoder_args: Vec<String>,
    /// Encoder threads for libx264 (0: FFmpeg decides).
    #[serde(default = "d_threads")]
    pub encoder_threads: u32,
    /// Send the live view to the hub.
    #[serde(default = "d_true")]
    pub live_view: bool,
    /// Input flags, for a camera not in `video_config` (see `vigie video`).
    #[serde(default)]
    pub hwaccel_args: Vec<String>,
    #[serde(default)]
    pub input_args: Vec<String>,
    /// Files: read at the file's own speed, as a camera sends.
    #[serde(default)]
    pub realtime: bool,
    /// Files: start again at the end (a demo or test camera).
    #[serde(default)]
    pub loop_file: bool,
    /// A live stream (reconnect with back-off); default: true for URLs, false for files.
    #[serde(default)]
    pub live: Option<bool>,
    #[serde(default = "d_stall")]
    pub stall_timeout_secs: f64,
    #[serde(default = "d_rmin")]
    pub reconnect_min_secs: f64,
    #[serde(default = "d_rmax")]
    pub reconnect_max_secs: f64,
}

fn d_mode() -> RecordMode {
    RecordMode::Continuous
}
fn d_pre() -> u32 {
    10
}
fn d_post() -> u32 {
    30
}
fn d_segment() -> u32 {
    10
}
fn d_keyframe() -> f64 {
    2.0
}
fn d_encoder() -> EncoderChoice {
    EncoderChoice::Libx264
}
fn d_preset() -> String {
    "veryfast".into()
}
fn d_quality() -> u32 {
    23
}
fn d_threads() -> u32 {
    0
}
fn d_true() -> bool {
    true
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
