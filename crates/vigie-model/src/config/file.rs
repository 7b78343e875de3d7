//! The config file as written: every section and key documented, unknown keys refused.

use serde::Deserialize;
use toml::Spanned;

use crate::incident::Priority;
use crate::sensor::SensorType;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub hub: HubSection,
    #[serde(default)]
    pub geo: GeoSection,
    #[serde(default)]
    pub ingest: IngestSection,
    #[serde(default)]
    pub sensors: Vec<Spanned<SensorFile>>,
    #[serde(default)]
    pub rules: Vec<Spanned<RuleFile>>,
    /// Legal bases. When any is declared, every detection must be covered by one in force.
    #[serde(default)]
    pub authorizations: Vec<Spanned<AuthorizationFile>>,
    #[serde(default)]
    pub retention: RetentionSection,
    #[serde(default)]
    pub social: SocialSection,
    #[serde(default)]
    pub http: HttpSection,
}

/// The HTTP side of the hub.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// Addresses of the reverse proxies in front of the hub (e.g. `["127.0.0.1"]`). A
    /// request from one of them is taken as coming from the address it names in
    /// `X-Forwarded-For` (the last one that is not itself a trusted proxy), for the login
    /// lock-out, the citizen-report rate limit and the audit log. Default: none, the
    /// socket's peer is the client.
    pub trusted_proxies: Option<Vec<Spanned<String>>>,
}

/// Online-media search for operators, through the hub's accounts and audit log.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialSection {
    /// The search index folder that `vigie social run` writes (its `[index] path`),
    /// relative to this config file. The hub only reads it.
    pub index: Option<Spanned<String>>,
}

/// How long the hub keeps each class of data; purges run continuously.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSection {
    /// Detections (the facts, without media), days (default 30, at most 365).
    pub detections_days: Option<Spanned<u32>>,
    /// Evidence media (snapshots, clips, photos), days (default 30; the law's maximum for
    /// images is one month: Code de la sécurité intérieure, L252-5).
    pub evidence_days: Option<Spanned<u32>>,
    /// Resolved and closed incidents with their history, days after their last change
    /// (default 365, at most 3650).
    pub incidents_days: Option<Spanned<u32>>,
    /// The audit log: after this many days its entries lose their content (who, what,
    /// on what) and keep only their hashes, so that it still verifies (default 365,
    /// 180 to 3650).
    pub audit_days: Option<Spanned<u32>>,
    /// How often purges run, seconds (default 60).
    pub purge_interval_secs: Option<Spanned<u64>>,
    /// Disk budget of recordings, GiB (default: none, only the free share below).
    pub recordings_max_gib: Option<Spanned<u64>>,
    /// Share of the recordings' disk kept free, percent (default 5, at most 90).
    pub recordings_min_free_percent: Option<Spanned<u8>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationFile {
    /// The act's reference, e.g. "Arrêté préfectoral n° 44-2026-0142".
    pub reference: Spanned<String>,
    /// Sensor ids it covers (each must be declared).
    pub sensors: Spanned<Vec<Spanned<String>>>,
    /// Detection kinds it allows on them.
    pub analytics: Spanned<Vec<Spanned<String>>>,
    /// First day in force: `YYYY-MM-DD` (00:00 UTC) or an RFC 3339 time.
    pub start: Spanned<String>,
    /// End, exclusive: `YYYY-MM-DD` (00:00 UTC) or an RFC 3339 time.
    pub end: Spanned<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubSection {
    /// Shown in the console and on the transparency page.
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoSection {
    /// GeoJSON FeatureCollection of districts (properties `id`, `name`), relative to the config file.
    pub districts: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSection {
    /// How far ahead of the hub's clock a detection's time may be (default 300, at most 3600).
    pub max_future_skew_secs: Option<Spanned<u64>>,
    /// How old a detection may be on arrival (default 604800 = 7 days, at most 31 days).
    /// Position fixes of mobile sensors have the same bounds.
    pub max_age_secs: Option<Spanned<u64>>,
    /// A detection of a mobile sensor takes the telemetry position at its time when a fix
    /// lies within this many seconds of it (default 10, 1..=300).
    pub position_max_gap_secs: Option<Spanned<u64>>,
    /// A position fix implying a faster move from its neighbouring fixes is refused as an
    /// implausible jump, metres per second (default 150, 1..=1000).
    pub max_speed_mps: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorFile {
    /// `^[a-z0-9][a-z0-9._-]{0,63}$`, unique.
    pub id: Spanned<String>,
    /// camera | microphone | flows | social | citizen
    #[serde(rename = "type")]
    pub sensor_type: SensorType,
    pub name: String,
    pub lon: Spanned<f64>,
    pub lat: Spanned<f64>,
    /// Detection kinds this sensor produces; they must belong to its type's namespace.
    pub analytics: Spanned<Vec<Spanned<String>>>,
    /// Cameras only: direction of view, degrees clockwise from north.
    pub heading_deg: Option<Spanned<f64>>,
    /// Cameras only: horizontal field of view, degrees.
    pub fov_deg: Option<Spanned<f64>>,
    /// Cameras only: useful range, metres.
    pub range_m: Option<Spanned<f64>>,
    /// Keep this sensor's detections and evidence fewer days than `[retention]` says.
    pub retention_days: Option<Spanned<u32>>,
    /// Cameras and microphones only: the sensor moves (a drone, a camera on board a tram)
    /// and publishes its position on `vigie/v1/telemetry/{id}`; `lon`/`lat` are then its
    /// home, used until a first fix (default false).
    pub mobile: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub id: Spanned<String>,
    /// Namespaced type of the incident it opens, e.g. `public_order.detonation_crowd`.
    pub incident_type: String,
    /// Title shown to operators.
    pub title: String,
    pub priority: Priority,
    /// Kinds grouped by this rule.
    pub kinds: Spanned<Vec<Spanned<String>>>,
    /// Kinds that must each be present among the grouped detections.
    #[serde(default)]
    pub require_kinds: Option<Spanned<Vec<Spanned<String>>>>,
    /// Detections needed to open an incident (default 1).
    pub min_detections: Option<Spanned<u32>>,
    /// Distinct sensors needed to open an incident (default 1).
    pub min_sensors: Option<Spanned<u32>>,
    /// Detections below this confidence do not count (default 0.5).
    pub min_confidence: Option<Spanned<f64>>,
    /// Detections within this distance of each other group together, metres.
    pub within_m: Spanned<f64>,
    /// Detections within this time of each other group together, seconds.
    pub window_secs: Spanned<u64>,
}
