//! Checks the recording config into [`RecordCamera`]s; each error names the camera and
//! the field. Cameras of `video_config` take their URL, masks and input flags from it.

use std::path::{Path, PathBuf};

use vigie_model::SensorId;
use vigie_video::geometry::Polygon;

use super::file::{CameraFile, EncoderChoice, RecordConfigFile, RecordMode};
use crate::error::RecordError;

/// Keys that describe one camera: never inherited from `[defaults]`.
const PER_CAMERA: [&str; 3] = ["id", "url", "masks"];

/// Where a camera's stream comes from and how FFmpeg reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub url: String,
    /// A live stream: reconnect with back-off, wall-clock times.
    pub live: bool,
    pub realtime: bool,
    pub loop_file: bool,
    pub hwaccel_args: Vec<String>,
    pub input_args: Vec<String>,
    pub stall_timeout_secs: f64,
    pub reconnect_min_secs: f64,
    pub reconnect_max_secs: f64,
}

/// How a masked camera is re-encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoding {
    pub encoder: EncoderChoice,
    pub preset: String,
    pub quality: u32,
    pub keyframe_secs: f64,
    pub max_width_px: u32,
    pub encoder_args: Vec<String>,
    pub threads: u32,
}

/// One camera, checked.
#[derive(Debug, Clone)]
pub struct RecordCamera {
    pub id: SensorId,
    pub source: Source,
    /// Privacy polygons (relative coordinates); any makes the camera re-encoded.
    pub masks: Vec<Polygon>,
    pub mode: RecordMode,
    pub pre_secs: u32,
    pub post_secs: u32,
    pub segment_secs: u32,
    pub encoding: Encoding,
    pub live_view: bool,
}

impl RecordCamera {
    /// Stream copy (no re-encode) only for a camera without masks.
    pub fn masked(&self) -> bool {
        !self.masks.is_empty()
    }
}

/// The whole config, checked.
#[derive(Debug, Clone)]
pub struct RecordConfig {
    pub cameras: Vec<RecordCamera>,
    pub spool_dir: PathBuf,
    pub spool_max_bytes: u64,
}

pub fn load(path: &Path) -> Result<RecordConfig, RecordError> {
    let text = std::fs::read_to_string(path).map_err(|e| RecordError::Read { path: path.to_owned(), source: e })?;
    parse(&text, path)
}

pub fn parse(text: &str, path: &Path) -> Result<RecordConfig, RecordError> {
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let syntax = |detail: String| RecordError::ConfigSyntax { path: path.to_owned(), detail };
    let mut doc: toml::Table = text.parse().map_err(|e: toml::de::Error| syntax(e.to_string()))?;
    if let Some(defaults) = doc.remove("defaults") {
        let toml::Value::Table(defaults) = defaults else { return Err(syntax("[defaults] must be a table".into())) };
        if let Some(k) = defaults.keys().find(|k| PER_CAMERA.contains(&k.as_str())) {
            return Err(syntax(format!("defaults.{k}: is per camera, it cannot be a default")));
        }
        if let Some(toml::Value::Array(cams)) = doc.get_mut("cameras") {
            for cam in cams.iter_mut() {
                if let toml::Value::Table(t) = cam {
                    for (k, v) in &defaults {
                        t.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
    }
    let file: RecordConfigFile =
        toml::Value::Table(doc).try_into().map_err(|e: toml::de::Error| syntax(e.to_string()))?;
    if file.cameras.is_empty() {
        return Err(syntax("no [[cameras]]".into()));
    }
    let video = match &file.video_config {
        Some(v) => vigie_video::config::load(&base.join(v))?,
        None => vec![],
    };
    let mut seen = std::collections::HashSet::new();
    let mut cameras = Vec::new();
    for c in file.cameras {
        if !seen.insert(c.id.clone()) {
            return Err(RecordError::config(&c.id, "id", "declared twice"));
        }
        let from_video = video.iter().find(|v| v.id.as_str() == c.id);
        cameras.push(check_camera(c, from_video, &base)?);
    }
    let spool_dir = base.join(file.spool_dir.as_deref().unwrap_or("spool"));
    let spool_max_bytes = file.spool_max_bytes.unwrap_or(10 << 30);
    if spool_max_bytes < (64 << 20) {
        return Err(syntax(format!("spool_max_bytes = {spool_max_bytes}: at least 64 MiB (a few segments)")));
    }
    Ok(RecordConfig { cameras, spool_dir, spool_max_bytes })
}

fn is_url(s: &str) -> bool {
    ["rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "srt://"].iter().any(|p| s.starts_with(p))
}

fn within(cam: &str, field: &str, v: f64, lo: f64, hi: f64) -> Result<(), RecordError> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(RecordError::config(cam, field, format!("{v} is outside {lo}..{hi}")))
    }
}

fn check_camera(c: CameraFile, video: Option<&vigie_video::Camera>, base: &Path) -> Result<RecordCamera, RecordError> {
    let cam = c.id.clone();
    let id = SensorId::new(c.id.clone()).map_err(|e| RecordError::config(&cam, "id", e.to_string()))?;
    let (source, masks) = match video {
        Some(v) => {
            if !c.masks.is_empty() {
                return Err(RecordError::config(
                    &cam,
                    "masks",
                    "this camera's masks are in video_config: keep them in one place",
                ));
            }
            let i = &v.input;
            let url = match &c.url {
                Some(u) => resolve(u, base),
                None => i.url.clone(),
            };
            let source = Source {
                live: is_url(&url) && i.live,
                url,
                realtime: i.realtime,
                loop_file: c.loop_file,
                hwaccel_args: i.hwaccel_args.clone(),
                input_args: i.input_args.clone(),
                stall_timeout_secs: i.stall_timeout_secs,
                reconnect_min_secs: i.reconnect_min_secs,
                reconnect_max_secs: i.reconnect_max_secs,
            };
            (source, v.masks.clone())
        }
        None => {
            let url =
                c.url.as_deref().filter(|u| !u.trim().is_empty()).ok_or_else(|| {
                    RecordError::config(&cam, "url", "missing (and the camera is not in video_config)")
                })?;
            let url = resolve(url, base);
            let masks = c
                .masks
                .iter()
                .map(|m| vigie_video::config::check::polygon(&cam, &format!("masks.{}", m.name), &m.points))
                .collect::<Result<Vec<_>, _>>()?;
            let source = Source {
                live: c.live.unwrap_or_else(|| is_url(&url)),
                url,
                realtime: c.realtime,
                loop_file: c.loop_file,
                hwaccel_args: c.hwaccel_args.clone(),
                input_args: c.input_args.clone(),
                stall_timeout_secs: c.stall_timeout_secs,
                reconnect_min_secs: c.reconnect_min_secs,
                reconnect_max_secs: c.reconnect_max_secs,
            };
            (source, masks)
        }
    };
    within(&cam, "stall_timeout_secs", source.stall_timeout_secs, 0.1, 600.0)?;
    within(&cam, "reconnect_min_secs", source.reconnect_min_secs, 0.01, 3600.0)?;
    within(&cam, "reconnect_max_secs", source.reconnect_max_secs, source.reconnect_min_secs, 3600.0)?;
    if !(2..=300).contains(&c.segment_secs) {
        return Err(RecordError::config(&cam, "segment_secs", format!("{} is outside 2..300", c.segment_secs)));
    }
    within(&cam, "keyframe_secs", c.keyframe_secs, 0.2, f64::from(c.segment_secs))?;
    if c.pre_secs > 600 || c.post_secs > 3600 {
        return Err(RecordError::config(&cam, "pre_secs/post_secs", "at most 600 s before and 3600 s after"));
    }
    if c.quality > 51 {
        return Err(RecordError::config(&cam, "quality", format!("{} is outside 0..51", c.quality)));
    }
    const PRESETS: [&str; 7] = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"];
    if !PRESETS.contains(&c.preset.as_str()) {
        return Err(RecordError::config(&cam, "preset", format!("{:?} is not one of {PRESETS:?}", c.preset)));
    }
    if c.max_width_px != 0 && (!(64..=7680).contains(&c.max_width_px) || !c.max_width_px.is_multiple_of(16)) {
        return Err(RecordError::config(&cam, "max_width_px", "0, or a multiple of 16 within 64..7680"));
    }
    if c.encoder_threads > 64 {
        return Err(RecordError::config(&cam, "encoder_threads", "at most 64"));
    }
    Ok(RecordCamera {
        id,
        source,
        masks,
        mode: c.mode,
        pre_secs: c.pre_secs,
        post_secs: c.post_secs,
        segment_secs: c.segment_secs,
        encoding: Encoding {
            encoder: c.encoder,
            preset: c.preset,
            quality: c.quality,
            keyframe_secs: c.keyframe_secs,
            max_width_px: c.max_width_px,
            encoder_args: c.encoder_args,
            threads: c.encoder_threads,
        },
        live_view: c.live_view,
    })
}

fn resolve(url: &str, base: &Path) -> String {
    if is_url(url) || Path::new(url).is_absolute() { url.to_owned() } else { base.join(url).display().to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<RecordConfig, RecordError> {
        parse(s, Path::new("/etc/vigie/recording.toml"))
    }

    #[test]
    fn inherits_defaults_and_resolves_relative_paths() {
        let c = parse_str(
            r#"
[defaults]
segment_secs = 6
mode = "events"
[[cameras]]
id = "cam-a"
url = "clips/a.mp4"
[[cameras]]
id = "cam-b"
url = "rtsp://10.0.0.2/main"
segment_secs = 20
masks = [ { name = "fenetre", points = [[0.1, 0.1], [0.3, 0.1], [0.3, 0.3]] } ]
"#,
        )
        .unwrap();
        assert_eq!(c.cameras[0].segment_secs, 6);
        assert_eq!(c.cameras[0].mode, RecordMode::Events);
        assert_eq!(c.cameras[0].source.url, "/etc/vigie/clips/a.mp4");
        assert!(!c.cameras[0].source.live);
        assert!(!c.cameras[0].masked());
        assert_eq!(c.cameras[1].segment_secs, 20);
        assert!(c.cameras[1].source.live);
        assert!(c.cameras[1].masked());
        assert_eq!(c.spool_dir, PathBuf::from("/etc/vigie/spool"));
    }

    #[test]
    fn rejects_what_cannot_work_naming_the_camera_and_field() {
        let cases = [
            ("[[cameras]]\nid = \"cam-a\"\n", "url"),
            ("[[cameras]]\nid = \"cam-a\"\nurl = \"a.mp4\"\nsegment_secs = 1\n", "segment_secs"),
            ("[[cameras]]\nid = \"cam-a\"\nurl = \"a.mp4\"\npreset = \"placebo\"\n", "preset"),
            ("[[cameras]]\nid = \"cam-a\"\nurl = \"a.mp4\"\nquality = 70\n", "quality"),
            ("[[cameras]]\nid = \"Cam A\"\nurl = \"a.mp4\"\n", "id"),
            (
                "[[cameras]]\nid = \"cam-a\"\nurl = \"a.mp4\"\nmasks = [ { name = \"m\", points = [[0.1, 0.1], [0.2, 0.2]] } ]\n",
                "masks.m",
            ),
            (
                "[[cameras]]\nid = \"cam-a\"\nurl = \"a.mp4\"\n[[cameras]]\nid = \"cam-a\"\nurl = \"b.mp4\"\n",
                "declared twice",
            ),
        ];
        for (text, needle) in cases {
            let e = parse_str(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{e} should mention {needle}");
            assert!(e.contains("cam-a") || e.contains("Cam A"), "{e} should name the camera");
        }
        assert!(parse_str("[[cameras]]\nid = \"cam-a\"\nurl = \"a.mp4\"\ncolour = 1\n").is_err());
        assert!(parse_str("[defaults]\nid = \"x\"\n[[cameras]]\nid = \"cam-a\"\nurl = \"a\"\n").is_err());
        assert!(parse_str("").is_err());
    }
}
