//! The video config (TOML): one `[[cameras]]` table per camera, unknown keys refused,
//! units in the names; an optional `[defaults]` table holds camera keys (not the per-camera
//! place and view) that every camera inherits unless it sets them. [`file`] is the file as written; [`check`] turns it into checked
//! [`Camera`]s or an error naming the camera and the field.
//!
//! ```toml
//! [[cameras]]
//! id = "cam-commerce-03"
//! url = "rtsp://10.0.0.3:554/detect"
//! lon = -1.5592
//! lat = 47.2133
//! analytics = ["video.intrusion", "video.crowd_density", "video.tamper"]
//! masks = [ { name = "window-12", points = [[0.70, 0.05], [0.80, 0.05], [0.80, 0.25], [0.70, 0.25]] } ]
//! zones = [ { name = "quai", kind = "forbidden", points = [[0.1, 0.6], [0.4, 0.6], [0.4, 0.9], [0.1, 0.9]] } ]
//! calibration = [ { image = [0.0, 1.0], ground_m = [-8.0, 4.0] }, … ]   # four pairs or more
//! ```

pub mod check;
pub mod file;

pub use check::{Camera, load, parse};
pub use file::{CameraFile, RulesFile, VideoConfigFile};
