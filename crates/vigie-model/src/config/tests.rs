use std::path::Path;

use super::*;

fn check(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, Path::new("vigie.toml"), None)
}

const SENSOR: &str = r#"
[[sensors]]
id = "cam-1"
type = "camera"
name = "Commerce"
lon = -1.5592
lat = 47.2133
analytics = ["video.crowd_density", "video.tamper"]
heading_deg = 135
fov_deg = 70
range_m = 60
"#;

#[test]
fn default_rules_are_valid_and_used_when_none_declared() {
    let file: file::ConfigFile = toml::from_str(DEFAULT_RULES_TOML).unwrap();
    let err = |span: std::ops::Range<usize>, msg: String| {
        ConfigError::at(Path::new("d"), DEFAULT_RULES_TOML, Some(span), msg)
    };
    let rules = check::check_rules_for_test(&file.rules, &err).unwrap();
    assert!(rules.len() >= 10);
    let c = check(SENSOR).unwrap();
    assert_eq!(c.rules, rules);
    // Every kind of the contract is grouped by at least one default rule.
    for k in Kind::ALL {
        assert!(rules.iter().any(|r| r.matches_kind(*k)), "no default rule for {k}");
    }
}

#[test]
fn inherits_ingest_defaults_and_overrides_them() {
    let c = check(SENSOR).unwrap();
    assert_eq!(c.ingest, IngestConfig::default());
    let c = check(&format!("[ingest]\nmax_future_skew_secs = 60\n{SENSOR}")).unwrap();
    assert_eq!(c.ingest.max_future_skew_secs, 60);
    assert_eq!(c.ingest.max_age_secs, IngestConfig::default().max_age_secs);
}

#[test]
fn rejects_unknown_key_with_its_line() {
    let e = check(&format!("{SENSOR}colour = \"red\"\n")).unwrap_err();
    assert_eq!(e.line, 12, "{e}");
    assert!(e.message.contains("colour"), "{e}");
}

#[test]
fn rejects_kind_outside_the_sensor_namespace_at_its_line() {
    let e = check(&SENSOR.replace("\"video.tamper\"", "\"audio.gunshot\"")).unwrap_err();
    assert_eq!(e.line, 8, "{e}");
    assert!(e.message.contains("cannot produce audio.gunshot"), "{e}");
    assert!(e.to_string().contains("vigie.toml:8:"), "{e}");
}

#[test]
fn rejects_latitude_91() {
    let e = check(&SENSOR.replace("47.2133", "91.0")).unwrap_err();
    assert_eq!(e.line, 7, "{e}");
    assert!(e.message.contains("latitude"), "{e}");
}

#[test]
fn rejects_duplicate_sensor() {
    let e = check(&format!("{SENSOR}{SENSOR}")).unwrap_err();
    assert!(e.message.contains("declared twice"), "{e}");
    assert_eq!(e.line, 14, "{e}");
}

#[test]
fn rejects_bad_rule() {
    let rule = r#"
[[rules]]
id = "r"
incident_type = "t"
title = "T"
priority = "high"
kinds = ["audio.gunshot"]
require_kinds = ["video.fire"]
within_m = 100
window_secs = 10
"#;
    let e = check(rule).unwrap_err();
    assert!(e.message.contains("required kind video.fire is not in kinds"), "{e}");
    assert_eq!(e.line, 8);
    let e = check(&rule.replace("require_kinds = [\"video.fire\"]\n", "min_detections = 1\nmin_sensors = 2\n"))
        .unwrap_err();
    assert!(e.message.contains("min_sensors"), "{e}");
    let e = check(&rule.replace("priority = \"high\"", "priority = \"urgent\"")).unwrap_err();
    assert_eq!(e.line, 6, "{e}");
}

#[test]
fn camera_fields_only_on_cameras() {
    let mic = SENSOR
        .replace("camera", "microphone")
        .replace("[\"video.crowd_density\", \"video.tamper\"]", "[\"audio.gunshot\"]");
    let e = check(&mic).unwrap_err();
    assert!(e.message.contains("cameras only"), "{e}");
}

const AUTH: &str = r#"
[[authorizations]]
reference = "Arrêté préfectoral n° 44-2026-0142"
sensors = ["cam-1"]
analytics = ["video.crowd_density"]
start = "2026-01-01"
end = "2027-01-01"
"#;

#[test]
fn authorizations_are_read_and_checked() {
    let c = check(&format!("{SENSOR}{AUTH}")).unwrap();
    assert!(c.enforces_authorizations());
    let cam = crate::SensorId::new("cam-1").unwrap();
    let inside = "2026-06-01T12:00:00Z".parse().unwrap();
    let after = "2027-01-01T00:00:00Z".parse().unwrap();
    assert!(c.authorization_for(&cam, crate::Kind::VideoCrowdDensity, inside).is_some());
    assert!(c.authorization_for(&cam, crate::Kind::VideoCrowdDensity, after).is_none(), "the end is exclusive");
    assert!(c.authorization_for(&cam, crate::Kind::VideoTamper, inside).is_none(), "not an authorized analytic");
    assert!(!check(SENSOR).unwrap().enforces_authorizations());
}

#[test]
fn rejects_bad_authorizations_at_their_line() {
    let e = check(&format!("{SENSOR}{}", AUTH.replace("[\"cam-1\"]", "[\"cam-9\"]"))).unwrap_err();
    assert!(e.message.contains("cam-9") && e.message.contains("not declared"), "{e}");
    assert_eq!(e.line, 15, "{e}");
    let e = check(&format!("{SENSOR}{}", AUTH.replace("2027-01-01", "2025-01-01"))).unwrap_err();
    assert!(e.message.contains("end must be after start"), "{e}");
    let e = check(&format!("{SENSOR}{}", AUTH.replace("2027-01-01", "someday"))).unwrap_err();
    assert!(e.message.contains("YYYY-MM-DD"), "{e}");
}

#[test]
fn retention_defaults_and_overrides() {
    let c = check(SENSOR).unwrap();
    assert_eq!((c.retention.detections_days, c.retention.evidence_days, c.retention.incidents_days), (30, 30, 365));
    let text =
        format!("{}\nretention_days = 7\n[retention]\ndetections_days = 90\nevidence_days = 15\n", SENSOR.trim_end());
    let c = check(&text).unwrap();
    assert_eq!(c.retention.detections_days_of("cam-1"), 7, "a sensor keeps less");
    assert_eq!(c.retention.evidence_days_of("cam-1"), 7);
    assert_eq!(c.retention.detections_days_of("other"), 90);
    assert_eq!(c.retention.evidence_days_of("other"), 15);
}

#[test]
fn rejects_images_kept_beyond_the_legal_month() {
    let e = check(&format!("{SENSOR}\n[retention]\nevidence_days = 31\n")).unwrap_err();
    assert!(e.message.contains("L252-5") && e.message.contains("1..=30"), "{e}");
    assert!(e.line > 0, "points at the line: {e}");
    let e = check(&format!("{}\nretention_days = 45\n", SENSOR.trim_end())).unwrap_err();
    assert!(e.message.contains("cam-1") && e.message.contains("L252-5"), "{e}");
    let e = check(&format!("{SENSOR}\n[retention]\ndetections_days = 0\n")).unwrap_err();
    assert!(e.message.contains("detections_days"), "{e}");
}

#[test]
fn trusted_proxies_are_addresses_or_refused_at_their_line() {
    let c = check(&format!("{SENSOR}\n[http]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n")).unwrap();
    assert_eq!(c.trusted_proxies, vec!["127.0.0.1".parse::<std::net::IpAddr>().unwrap(), "::1".parse().unwrap()]);
    assert!(check(SENSOR).unwrap().trusted_proxies.is_empty(), "none by default");
    let e = check(&format!("{SENSOR}\n[http]\ntrusted_proxies = [\"proxy.local\"]\n")).unwrap_err();
    assert_eq!(e.line, 14, "{e}");
    assert!(e.message.contains("not an IP address"), "{e}");
}

#[test]
fn the_recordings_disk_budget_is_bounded() {
    let c =
        check(&format!("{SENSOR}\n[retention]\nrecordings_max_gib = 500\nrecordings_min_free_percent = 10\n")).unwrap();
    assert_eq!((c.retention.recordings_max_gib, c.retention.recordings_min_free_percent), (Some(500), 10));
    assert_eq!(check(SENSOR).unwrap().retention.recordings_min_free_percent, 5);
    let e = check(&format!("{SENSOR}\n[retention]\nrecordings_min_free_percent = 95\n")).unwrap_err();
    assert!(e.message.contains("0..=90"), "{e}");
}

#[test]
fn a_mobile_sensor_keeps_its_home_and_inherits_the_position_bounds() {
    let c = check(&format!("{SENSOR}mobile = true\n")).unwrap();
    let s = c.sensor("cam-1").unwrap();
    assert!(s.mobile);
    assert_eq!((s.lon, s.lat), (-1.5592, 47.2133), "lon/lat are its home");
    assert_eq!((c.ingest.position_max_gap_secs, c.ingest.max_speed_mps), (10, 150.0));
    assert!(!check(SENSOR).unwrap().sensor("cam-1").unwrap().mobile, "not mobile by default");
}

#[test]
fn overrides_the_position_bounds() {
    let c = check(&format!("[ingest]\nposition_max_gap_secs = 5\nmax_speed_mps = 40.5\n{SENSOR}")).unwrap();
    assert_eq!((c.ingest.position_max_gap_secs, c.ingest.max_speed_mps), (5, 40.5));
}

#[test]
fn rejects_position_bounds_out_of_range_at_their_line() {
    let e = check(&format!("[ingest]\nposition_max_gap_secs = 0\n{SENSOR}")).unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("position_max_gap_secs"), "{e}");
    let e = check(&format!("[ingest]\nmax_speed_mps = 0.5\n{SENSOR}")).unwrap_err();
    assert_eq!(e.line, 2, "{e}");
}

#[test]
fn rejects_a_mobile_flows_sensor_at_its_line() {
    let flows = "[[sensors]]\nid = \"flows-1\"\ntype = \"flows\"\nname = \"Centre\"\nlon = -1.55\nlat = 47.21\n\
                 analytics = [\"flows.presence_anomaly\"]\nmobile = true\n";
    let e = check(flows).unwrap_err();
    assert_eq!(e.line, 8, "{e}");
    assert!(e.message.contains("only cameras and microphones can be mobile"), "{e}");
}
