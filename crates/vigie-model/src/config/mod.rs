//! The one TOML config: hub, geography, ingest bounds, sensors, fusion rules.
//!
//! Read in two steps, as file type then checked type: [`file::ConfigFile`] mirrors the TOML
//! (unknown keys refused, spans kept), and [`Config::from_toml`] checks it into domain
//! types. Every error points at the line and column of the offending value.

mod check;
mod error;
pub mod file;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use error::ConfigError;

use crate::geo::Zone;
use crate::incident::Priority;
use crate::kind::Kind;
use crate::sensor::Sensor;

/// Rules used when a config declares none.
pub const DEFAULT_RULES_TOML: &str = include_str!("default_rules.toml");

/// Bounds on what the hub accepts.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct IngestConfig {
    /// How far ahead of the hub's clock a detection's time may be.
    pub max_future_skew_secs: u64,
    /// How old a detection may be when it arrives (late edge buffers).
    pub max_age_secs: u64,
    /// How far in time a mobile sensor's fix may be from a detection to place it.
    pub position_max_gap_secs: u64,
    /// Fixes implying a faster move than this are refused (implausible jump).
    pub max_speed_mps: f64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_future_skew_secs: 300,
            max_age_secs: 7 * 86_400,
            position_max_gap_secs: 10,
            max_speed_mps: 150.0,
        }
    }
}

/// The longest the law allows images to be kept (Code de la sécurité intérieure, L252-5).
pub const MAX_IMAGE_RETENTION_DAYS: u32 = 30;

/// How long each class of data is kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RetentionConfig {
    pub detections_days: u32,
    pub evidence_days: u32,
    pub incidents_days: u32,
    pub audit_days: u32,
    pub purge_interval_secs: u64,
    /// Recordings may use at most this many GiB (oldest segments not on hold go first).
    pub recordings_max_gib: Option<u64>,
    /// Keep at least this percentage of the recordings' disk free.
    pub recordings_min_free_percent: u8,
    /// Sensors that keep their detections and evidence for fewer days.
    pub sensor_days: HashMap<String, u32>,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            detections_days: 30,
            evidence_days: MAX_IMAGE_RETENTION_DAYS,
            incidents_days: 365,
            audit_days: 365,
            purge_interval_secs: 60,
            recordings_max_gib: None,
            recordings_min_free_percent: 5,
            sensor_days: HashMap::new(),
        }
    }
}

impl RetentionConfig {
    /// Days a sensor's detections are kept.
    pub fn detections_days_of(&self, sensor: &str) -> u32 {
        self.sensor_days.get(sensor).map_or(self.detections_days, |d| (*d).min(self.detections_days))
    }

    /// Days a sensor's evidence is kept.
    pub fn evidence_days_of(&self, sensor: &str) -> u32 {
        self.sensor_days.get(sensor).map_or(self.evidence_days, |d| (*d).min(self.evidence_days))
    }
}

/// A fusion rule: which kinds combine, within what distance and time, into what incident.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rule {
    pub id: String,
    pub incident_type: String,
    pub title: String,
    pub priority: Priority,
    pub kinds: Vec<Kind>,
    /// Each of these must be among the grouped detections.
    pub require_kinds: Vec<Kind>,
    pub min_detections: u32,
    pub min_sensors: u32,
    pub min_confidence: f64,
    pub within_m: f64,
    pub window_secs: u64,
}

impl Rule {
    pub fn matches_kind(&self, kind: Kind) -> bool {
        self.kinds.contains(&kind)
    }
}

/// A checked config.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub hub_name: String,
    /// Where the config was read from; relative paths in it resolve against its folder.
    pub source: Option<PathBuf>,
    pub districts: Vec<Zone>,
    pub ingest: IngestConfig,
    pub sensors: Vec<Sensor>,
    pub rules: Vec<Rule>,
    /// Legal bases; empty means none declared (enforcement off, `vigie up` warns).
    pub authorizations: Vec<crate::Authorization>,
    pub retention: RetentionConfig,
    /// The online-media search index the hub lets operators search (read only).
    pub social_index: Option<PathBuf>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`[http]`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Sensor id → position in `sensors`; ingest looks a sensor up per detection.
    sensor_index: HashMap<String, usize>,
}

impl Config {
    /// Builds a checked config from parts (the config file is the usual way; benches and
    /// tests build large ones directly). Sensor ids must be unique.
    pub fn from_parts(
        hub_name: String,
        districts: Vec<Zone>,
        ingest: IngestConfig,
        sensors: Vec<Sensor>,
        rules: Vec<Rule>,
    ) -> Config {
        let sensor_index = sensors.iter().enumerate().map(|(i, s)| (s.id.as_str().to_owned(), i)).collect();
        Config {
            hub_name,
            source: None,
            districts,
            ingest,
            sensors,
            rules,
            authorizations: vec![],
            retention: RetentionConfig::default(),
            social_index: None,
            trusted_proxies: vec![],
            sensor_index,
        }
    }

    /// The default fusion rules (also used when a config declares none).
    pub fn default_rules() -> Vec<Rule> {
        check::default_rules()
    }

    /// An empty config: no sensors (so every detection is refused as from an unknown
    /// sensor) and the default rules.
    pub fn empty() -> Config {
        Config::from_toml("", Path::new("<empty>"), None).unwrap_or_else(|_| {
            Config::from_parts("Vigie".into(), vec![], IngestConfig::default(), vec![], check::default_rules())
        })
    }

    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, &e))?;
        Config::from_toml(&text, path, path.parent())
    }

    /// Checks config text. `base` resolves relative file paths (districts GeoJSON).
    pub fn from_toml(text: &str, path: &Path, base: Option<&Path>) -> Result<Config, ConfigError> {
        check::check(text, path, base)
    }

    pub fn sensor(&self, id: &str) -> Option<&Sensor> {
        self.sensor_index.get(id).and_then(|i| self.sensors.get(*i))
    }

    /// Whether detections must be covered by an authorization (some are declared).
    pub fn enforces_authorizations(&self) -> bool {
        !self.authorizations.is_empty()
    }

    /// The authorization in force that allows `kind` on `sensor` at `at`.
    pub fn authorization_for(
        &self,
        sensor: &crate::SensorId,
        kind: crate::Kind,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Option<&crate::Authorization> {
        self.authorizations.iter().find(|a| a.covers(sensor, kind, at))
    }

    /// The district holding a point, if any.
    pub fn district_at(&self, lon: f64, lat: f64) -> Option<&Zone> {
        self.districts.iter().find(|z| z.contains(lon, lat))
    }
}

#[cfg(test)]
mod tests;
