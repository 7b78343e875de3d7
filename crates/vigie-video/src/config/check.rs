//! Checks the config file into [`Camera`]s: each error names the camera and the field.

use std::path::{Path, PathBuf};

use vigie_model::{Kind, SensorId};

use super::file::{CameraFile, RulesFile, VideoConfigFile};
use crate::error::VideoError;
use crate::geometry::{GroundPlane, Homography, Point, Polygon};
use crate::rules::{Zone, ZoneKind};
use crate::stages::detector::DetectorConfig;
use crate::stages::emit::Placement;
use crate::stages::evidence::EvidenceConfig;
use crate::stages::input::InputConfig;
use crate::stages::motion::MotionConfig;
use crate::stages::track::TrackerConfig;

/// One camera, checked and ready to build a pipeline from.
#[derive(Debug, Clone)]
pub struct Camera {
    pub id: SensorId,
    pub lon: f64,
    pub lat: f64,
    pub input: InputConfig,
    pub analytics: Vec<Kind>,
    pub masks: Vec<Polygon>,
    pub zones: Vec<Zone>,
    pub ground: Option<GroundPlane>,
    pub placement: Placement,
    pub motion: MotionConfig,
    pub tracker: TrackerConfig,
    pub rules: RulesFile,
    pub detector: Option<DetectorConfig>,
    pub evidence: EvidenceConfig,
}

impl Camera {
    pub fn runs(&self, k: Kind) -> bool {
        self.analytics.contains(&k)
    }
}

/// Reads and checks a config file; relative paths are relative to its folder.
pub fn load(path: &Path) -> Result<Vec<Camera>, VideoError> {
    let text = std::fs::read_to_string(path).map_err(|e| VideoError::Read { path: path.to_owned(), source: e })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse(&text, &base, path)
}

/// Keys that describe one camera's place and view: never inherited from `[defaults]`.
const PER_CAMERA: [&str; 8] = ["id", "url", "lon", "lat", "masks", "zones", "calibration", "start_time"];

pub fn parse(text: &str, base: &Path, path: &Path) -> Result<Vec<Camera>, VideoError> {
    let syntax = |detail: String| VideoError::ConfigSyntax { path: path.to_owned(), detail };
    let mut doc: toml::Table = text.parse().map_err(|e: toml::de::Error| syntax(e.to_string()))?;
    // `[defaults]`: any camera key but the per-camera ones; a camera overrides what it sets
    // (tables are merged key by key, so one rule parameter can be overridden alone).
    let file: VideoConfigFile = match doc.remove("defaults") {
        None => toml::from_str(text).map_err(|e| syntax(e.to_string()))?,
        Some(toml::Value::Table(defaults)) => {
            if let Some(k) = defaults.keys().find(|k| PER_CAMERA.contains(&k.as_str())) {
                return Err(syntax(format!("defaults.{k}: is per camera, it cannot be a default")));
            }
            if let Some(toml::Value::Array(cams)) = doc.get_mut("cameras") {
                for cam in cams.iter_mut() {
                    if let toml::Value::Table(t) = cam {
                        inherit(t, &defaults);
                    }
                }
            }
            toml::Value::Table(doc).try_into().map_err(|e: toml::de::Error| syntax(e.to_string()))?
        }
        Some(_) => return Err(syntax("[defaults] must be a table".into())),
    };
    if file.cameras.is_empty() {
        return Err(VideoError::ConfigSyntax { path: path.to_owned(), detail: "no [[cameras]]".into() });
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for c in file.cameras {
        if !seen.insert(c.id.clone()) {
            return Err(VideoError::config(&c.id, "id", "declared twice"));
        }
        out.push(check_camera(c, base)?);
    }
    Ok(out)
}

/// Copies into `cam` what it does not set itself, recursively for tables.
fn inherit(cam: &mut toml::Table, defaults: &toml::Table) {
    for (k, v) in defaults {
        match (cam.get_mut(k), v) {
            (Some(toml::Value::Table(c)), toml::Value::Table(d)) => inherit(c, d),
            (Some(_), _) => {}
            (None, v) => {
                cam.insert(k.clone(), v.clone());
            }
        }
    }
}

fn is_url(s: &str) -> bool {
    ["rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "srt://"].iter().any(|p| s.starts_with(p))
}

/// Checks a polygon of relative image points (also used by `vigie-record` for its masks).
pub fn polygon(cam: &str, field: &str, pts: &[[f64; 2]]) -> Result<Polygon, VideoError> {
    if pts.len() < 3 {
        return Err(VideoError::config(cam, field, format!("a polygon needs 3 points or more, got {}", pts.len())));
    }
    for p in pts {
        if !(p[0].is_finite() && p[1].is_finite() && (-0.5..=1.5).contains(&p[0]) && (-0.5..=1.5).contains(&p[1])) {
            return Err(VideoError::config(
                cam,
                field,
                format!("point {p:?} is not a relative image point (0..1 of width and height)"),
            ));
        }
    }
    let poly = Polygon::new(pts.iter().map(|p| Point::new(p[0], p[1])).collect());
    if poly.area() < 1e-6 {
        return Err(VideoError::config(cam, field, "the polygon has no area"));
    }
    Ok(poly)
}

fn positive(cam: &str, field: &str, v: f64, max: f64) -> Result<(), VideoError> {
    if v.is_finite() && v > 0.0 && v <= max {
        Ok(())
    } else {
        Err(VideoError::config(cam, field, format!("{v} must be within 0..{max} (exclusive of 0)")))
    }
}

fn check_camera(c: CameraFile, base: &Path) -> Result<Camera, VideoError> {
    let cam = c.id.clone();
    let id = SensorId::new(c.id.clone()).map_err(|e| VideoError::config(&cam, "id", e.to_string()))?;
    if !(c.lon.is_finite() && (-180.0..=180.0).contains(&c.lon) && c.lat.is_finite() && (-90.0..=90.0).contains(&c.lat))
    {
        return Err(VideoError::config(&cam, "lon/lat", format!("({}, {}) is not a WGS 84 position", c.lon, c.lat)));
    }
    if c.url.trim().is_empty() {
        return Err(VideoError::config(&cam, "url", "empty"));
    }
    let live = c.live.unwrap_or_else(|| is_url(&c.url));
    let url = if is_url(&c.url) || Path::new(&c.url).is_absolute() {
        c.url.clone()
    } else {
        base.join(&c.url).display().to_string()
    };
    let (w, h) = (c.detect_width_px, c.detect_height_px);
    if !(32..=3840).contains(&w) || !(32..=2160).contains(&h) || w % 2 == 1 || h % 2 == 1 {
        return Err(VideoError::config(
            &cam,
            "detect_width_px/detect_height_px",
            format!("{w}x{h}: even sizes within 32x32..3840x2160"),
        ));
    }
    if !(c.fps.is_finite() && (0.5..=30.0).contains(&c.fps)) {
        return Err(VideoError::config(&cam, "fps", format!("{} is outside 0.5..30", c.fps)));
    }
    positive(&cam, "stall_timeout_secs", c.stall_timeout_secs, 600.0)?;
    positive(&cam, "reconnect_min_secs", c.reconnect_min_secs, 3600.0)?;
    positive(&cam, "reconnect_max_secs", c.reconnect_max_secs, 3600.0)?;
    if c.reconnect_min_secs > c.reconnect_max_secs {
        return Err(VideoError::config(&cam, "reconnect_min_secs", "is above reconnect_max_secs"));
    }
    positive(&cam, "location_uncertainty_m", c.location_uncertainty_m, vigie_model::detection::MAX_UNCERTAINTY_M)?;
    positive(&cam, "view_radius_m", c.view_radius_m, vigie_model::detection::MAX_UNCERTAINTY_M)?;
    let mut analytics = Vec::new();
    for a in &c.analytics {
        let k: Kind = a
            .parse()
            .map_err(|e: vigie_model::kind::UnknownKind| VideoError::config(&cam, "analytics", e.to_string()))?;
        if k.namespace() != "video" {
            return Err(VideoError::config(&cam, "analytics", format!("{k} is not a video analytic")));
        }
        if analytics.contains(&k) {
            return Err(VideoError::config(&cam, "analytics", format!("{k} listed twice")));
        }
        analytics.push(k);
    }
    if analytics.is_empty() {
        return Err(VideoError::config(
            &cam,
            "analytics",
            "lists nothing: a camera runs only the analytics it is authorised for",
        ));
    }
    let masks = c
        .masks
        .iter()
        .map(|m| polygon(&cam, &format!("masks.{}", m.name), &m.points))
        .collect::<Result<Vec<_>, _>>()?;
    let ground = if c.calibration.is_empty() {
        None
    } else {
        if c.calibration.len() < 4 {
            return Err(VideoError::config(
                &cam,
                "calibration",
                format!("needs 4 pairs or more, got {}", c.calibration.len()),
            ));
        }
        let src: Vec<Point> = c.calibration.iter().map(|p| Point::new(p.image[0], p.image[1])).collect();
        let dst: Vec<Point> = c.calibration.iter().map(|p| Point::new(p.ground_m[0], p.ground_m[1])).collect();
        if src.iter().chain(&dst).any(|p| !p.x.is_finite() || !p.y.is_finite())
            || dst.iter().any(|p| p.x.abs() > 10_000.0 || p.y.abs() > 10_000.0)
        {
            return Err(VideoError::config(
                &cam,
                "calibration",
                "points must be finite, ground within 10 km of the camera",
            ));
        }
        let h = Homography::from_pairs(&src, &dst)
            .ok_or_else(|| VideoError::config(&cam, "calibration", "degenerate pairs (three of them on a line?)"))?;
        // Every pair must be reproduced: a typo in one pair shows here.
        for (s, d) in src.iter().zip(&dst) {
            let err = h.apply(*s).map_or(f64::INFINITY, |p| p.dist(*d));
            if err > 0.5 + 0.05 * d.x.hypot(d.y) {
                return Err(VideoError::config(
                    &cam,
                    "calibration",
                    format!("pair {s:?} ↔ {d:?} is off by {err:.1} m from the others"),
                ));
            }
        }
        Some(GroundPlane { to_ground: h })
    };
    let mut zones: Vec<Zone> = Vec::new();
    for z in &c.zones {
        let field = format!("zones.{}", z.name);
        if z.name.trim().is_empty() || z.name.len() > 64 {
            return Err(VideoError::config(&cam, "zones", "a zone needs a name of 1..64 characters"));
        }
        if zones.iter().any(|o| o.name == z.name) {
            return Err(VideoError::config(&cam, &field, "declared twice"));
        }
        let poly = polygon(&cam, &field, &z.points)?;
        let direction_deg = match (z.kind, z.direction_deg) {
            (ZoneKind::OneWay, Some(d)) if d.is_finite() && (0.0..360.0).contains(&d) => Some(d),
            (ZoneKind::OneWay, _) => {
                return Err(VideoError::config(&cam, &field, "one_way needs direction_deg within 0..360"));
            }
            (_, Some(_)) => return Err(VideoError::config(&cam, &field, "direction_deg is for one_way zones only")),
            (_, None) => None,
        };
        let area_m2 = ground.as_ref().and_then(|g| {
            let pts: Option<Vec<Point>> = poly.points.iter().map(|p| g.ground(*p)).collect();
            pts.map(|p| Polygon::new(p).area())
        });
        zones.push(Zone { name: z.name.clone(), kind: z.kind, polygon: poly, direction_deg, area_m2 });
    }
    let need_zone = |k: Kind, zk: ZoneKind, what: &str| -> Result<(), VideoError> {
        if analytics.contains(&k) && !zones.iter().any(|z| z.kind == zk) {
            return Err(VideoError::config(&cam, "analytics", format!("{k} needs at least one {what} zone")));
        }
        Ok(())
    };
    need_zone(Kind::VideoIntrusion, ZoneKind::Forbidden, "forbidden")?;
    need_zone(Kind::VideoWrongWay, ZoneKind::OneWay, "one_way")?;
    need_zone(Kind::VideoCrowdDensity, ZoneKind::Crowd, "crowd")?;
    if analytics.contains(&Kind::VideoCrowdDensity) && ground.is_none() {
        return Err(VideoError::config(
            &cam,
            "calibration",
            "video.crowd_density counts persons per m²: it needs a ground calibration",
        ));
    }
    if analytics.contains(&Kind::VideoWeapon) && c.detector.is_none() {
        return Err(VideoError::config(
            &cam,
            "detector",
            "video.weapon needs an object detector (no heuristic can see a weapon)",
        ));
    }
    let detector = match c.detector.clone() {
        None => None,
        Some(mut d) => {
            if d.labels.is_empty() {
                return Err(VideoError::config(&cam, "detector.labels", "lists no class"));
            }
            if !(32..=2048).contains(&d.input_size_px) {
                return Err(VideoError::config(&cam, "detector.input_size_px", "must be within 32..2048"));
            }
            if !(d.min_score > 0.0 && d.min_score < 1.0 && d.nms_iou > 0.0 && d.nms_iou <= 1.0) {
                return Err(VideoError::config(&cam, "detector", "min_score within 0..1, nms_iou within 0..1"));
            }
            if !matches!(d.execution_provider.as_str(), "cpu" | "cuda") {
                return Err(VideoError::config(&cam, "detector.execution_provider", "cpu or cuda"));
            }
            if d.model.is_relative() {
                d.model = base.join(&d.model);
            }
            if let Some(l) = d.library.as_mut().filter(|l| l.is_relative()) {
                *l = base.join(&*l);
            }
            Some(d)
        }
    };
    let m = &c.motion;
    if m.threshold == 0 {
        return Err(VideoError::config(&cam, "motion.threshold", "must be above 0"));
    }
    positive(&cam, "motion.background_secs", m.background_secs, 86_400.0)?;
    positive(&cam, "motion.static_absorb_secs", m.static_absorb_secs, 86_400.0)?;
    positive(&cam, "motion.relearn_share", m.relearn_share, 1.0)?;
    positive(&cam, "tracker.max_missed_secs", c.tracker.max_missed_secs, 600.0)?;
    positive(&cam, "tracker.history_secs", c.tracker.history_secs, 600.0)?;
    let r = &c.rules;
    positive(&cam, "rules.crowd_density.max_persons_per_m2", r.crowd_density.max_persons_per_m2, 20.0)?;
    positive(&cam, "rules.crowd_density.occupied_m2_per_person", r.crowd_density.occupied_m2_per_person, 10.0)?;
    positive(&cam, "rules.abandoned_object.unattended_secs", r.abandoned_object.unattended_secs, 86_400.0)?;
    positive(&cam, "rules.person_down.min_down_secs", r.person_down.min_down_secs, 3600.0)?;
    positive(&cam, "rules.fire.min_duration_secs", r.fire.min_duration_secs, 3600.0)?;
    positive(&cam, "rules.crowd_movement.run_speed_mps", r.crowd_movement.run_speed_mps, 50.0)?;
    positive(&cam, "rules.wrong_way.window_secs", r.wrong_way.window_secs, 600.0)?;
    if !(1..=100).contains(&c.evidence.jpeg_quality) {
        return Err(VideoError::config(&cam, "evidence.jpeg_quality", "must be within 1..100"));
    }
    let start_time = match &c.start_time {
        None => None,
        Some(t) if !live => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|e| VideoError::config(&cam, "start_time", format!("{t:?} is not RFC 3339: {e}")))?
                .with_timezone(&chrono::Utc),
        ),
        Some(_) => return Err(VideoError::config(&cam, "start_time", "is for files; live streams use the clock")),
    };
    let input = InputConfig {
        camera: cam.clone(),
        url,
        width: w,
        height: h,
        fps: c.fps,
        live,
        realtime: c.realtime,
        hwaccel_args: c.hwaccel_args.clone(),
        input_args: c.input_args.clone(),
        stall_timeout_secs: c.stall_timeout_secs,
        reconnect_min_secs: c.reconnect_min_secs,
        reconnect_max_secs: c.reconnect_max_secs,
        max_attempts: if live { None } else { Some(1) },
        start_time,
        ffmpeg: PathBuf::from("ffmpeg"),
        threads: 1,
    };
    Ok(Camera {
        id,
        lon: c.lon,
        lat: c.lat,
        input,
        analytics,
        masks,
        zones,
        ground,
        placement: Placement { location_uncertainty_m: c.location_uncertainty_m, view_radius_m: c.view_radius_m },
        motion: c.motion,
        tracker: c.tracker,
        rules: c.rules,
        detector,
        evidence: c.evidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[cameras]]
id = "cam-quai-01"
url = "rtsp://10.0.0.3/detect"
lon = -1.55
lat = 47.21
analytics = ["video.intrusion", "video.crowd_density", "video.tamper"]
masks = [ { name = "window", points = [[0.7, 0.05], [0.8, 0.05], [0.8, 0.25]] } ]
zones = [
  { name = "voie", kind = "forbidden", points = [[0.1, 0.6], [0.4, 0.6], [0.4, 0.9]] },
  { name = "parvis", kind = "crowd", points = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]] },
]
calibration = [
  { image = [0.0, 0.0], ground_m = [0.0, 18.0] },
  { image = [1.0, 0.0], ground_m = [32.0, 18.0] },
  { image = [1.0, 1.0], ground_m = [32.0, 0.0] },
  { image = [0.0, 1.0], ground_m = [0.0, 0.0] },
]
[cameras.rules.crowd_density]
max_persons_per_m2 = 1.5
"#;

    fn parse_str(s: &str) -> Result<Vec<Camera>, VideoError> {
        parse(s, Path::new("/etc/vigie"), Path::new("video.toml"))
    }

    #[test]
    fn accepts_a_full_camera_and_overrides_rule_defaults() {
        let c = &parse_str(GOOD).unwrap()[0];
        assert!(c.input.live);
        assert_eq!(c.rules.crowd_density.max_persons_per_m2, 1.5);
        assert_eq!(c.rules.crowd_density.min_duration_secs, 3.0);
        assert!((c.zones[1].area_m2.unwrap() - 576.0).abs() < 1e-6);
        assert_eq!(c.masks.len(), 1);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values_naming_the_field() {
        let cases = [
            (GOOD.replace("lat = 47.21", "lat = 47.21\ncolour = 1"), "unknown field"),
            (GOOD.replace("\"video.tamper\"", "\"video.face_match\""), "analytics"),
            (GOOD.replace("\"video.tamper\"", "\"audio.gunshot\""), "not a video analytic"),
            (GOOD.replace("kind = \"forbidden\"", "kind = \"one_way\""), "direction_deg"),
            (GOOD.replace("ground_m = [32.0, 0.0]", "ground_m = [32.0, 18.0]"), "calibration"),
            (GOOD.replace("max_persons_per_m2 = 1.5", "max_persons_per_m2 = -1"), "max_persons_per_m2"),
            (GOOD.replace("\"video.tamper\"", "\"video.weapon\""), "detector"),
            (GOOD.replace("[[0.7, 0.05], [0.8, 0.05], [0.8, 0.25]]", "[[0.7, 0.05], [0.8, 0.05]]"), "masks.window"),
            (GOOD.replace("id = \"cam-quai-01\"", "id = \"Cam 1\""), "id"),
        ];
        for (text, needle) in cases {
            let e = parse_str(&text).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle:?} not in {e:?}");
        }
    }

    #[test]
    fn inherits_defaults_and_overrides_them_key_by_key() {
        let text = format!(
            "[defaults]\nfps = 4.0\nhwaccel_args = [\"-hwaccel\", \"vaapi\"]\n[defaults.rules.crowd_density]\nmax_persons_per_m2 = 3.0\nmin_duration_secs = 7.0\n\n{GOOD}\n[[cameras]]\nid = \"cam-2\"\nurl = \"b.mp4\"\nlon = 0.0\nlat = 0.0\nanalytics = [\"video.tamper\"]\nfps = 2.0\n"
        );
        let cams = parse_str(&text).unwrap();
        // The first camera sets max_persons_per_m2 = 1.5 itself and inherits the rest.
        assert_eq!(cams[0].rules.crowd_density.max_persons_per_m2, 1.5);
        assert_eq!(cams[0].rules.crowd_density.min_duration_secs, 7.0);
        assert_eq!(cams[0].input.fps, 4.0);
        assert_eq!(cams[0].input.hwaccel_args, ["-hwaccel", "vaapi"]);
        assert_eq!(cams[1].input.fps, 2.0);
        assert_eq!(cams[1].rules.crowd_density.max_persons_per_m2, 3.0);
    }

    #[test]
    fn rejects_per_camera_keys_and_unknown_keys_in_defaults() {
        let e = parse_str(&format!("[defaults]\nurl = \"rtsp://x/y\"\n{GOOD}")).unwrap_err().to_string();
        assert!(e.contains("defaults.url"), "{e}");
        let e = parse_str(&format!("[defaults]\nframerate = 5\n{GOOD}")).unwrap_err().to_string();
        assert!(e.contains("unknown field"), "{e}");
    }

    #[test]
    fn crowd_density_needs_a_calibration() {
        let start = GOOD.find("calibration = [").unwrap();
        let end = GOOD.find("[cameras.rules").unwrap();
        let text = format!("{}{}", &GOOD[..start], &GOOD[end..]);
        let e = parse_str(&text).unwrap_err().to_string();
        assert!(e.contains("ground calibration"), "{e}");
    }

    #[test]
    fn files_are_relative_to_the_config_and_not_live() {
        let c = &parse_str(&GOOD.replace("rtsp://10.0.0.3/detect", "clips/a.mp4")).unwrap()[0];
        assert!(!c.input.live);
        assert_eq!(c.input.url, "/etc/vigie/clips/a.mp4");
    }
}
