//! From the file type to the checked [`Config`]: each refusal names its line.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::file::{ConfigFile, RuleFile, SensorFile};
use super::{Config, ConfigError, DEFAULT_RULES_TOML, IngestConfig, Rule};
use crate::geo::zones_from_geojson;
use crate::ids::SensorId;
use crate::kind::Kind;
use crate::sensor::{FieldOfView, Sensor, SensorType};

const MAX_FUTURE_SKEW_SECS: u64 = 3600;
/// A districts file larger than this is refused (a city's districts fit in a few MB).
const MAX_GEOJSON_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a text file, refusing more than `limit` bytes (a wrong path such as a device must
/// not hang the check).
fn read_bounded(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut text = String::new();
    file.take(limit + 1).read_to_string(&mut text)?;
    if text.len() as u64 > limit {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("larger than {limit} bytes")));
    }
    Ok(text)
}
const MAX_AGE_SECS: u64 = 31 * 86_400;

pub(super) fn check(text: &str, path: &Path, base: Option<&Path>) -> Result<Config, ConfigError> {
    let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::at(path, text, e.span(), e.message()))?;
    let err = |span: std::ops::Range<usize>, msg: String| ConfigError::at(path, text, Some(span), msg);

    let districts = match &file.geo.districts {
        None => vec![],
        Some(rel) => {
            let p = base.map(|b| b.join(rel.get_ref())).unwrap_or_else(|| rel.get_ref().into());
            let geo = read_bounded(&p, MAX_GEOJSON_BYTES)
                .map_err(|e| err(rel.span(), format!("cannot read districts {}: {e}", p.display())))?;
            let zones =
                zones_from_geojson(&geo).map_err(|e| err(rel.span(), format!("districts {}: {e}", p.display())))?;
            let mut seen = HashSet::new();
            for z in &zones {
                if !seen.insert(z.id.clone()) {
                    return Err(err(rel.span(), format!("districts {}: id {:?} appears twice", p.display(), z.id)));
                }
            }
            zones
        }
    };

    let mut ingest = IngestConfig::default();
    if let Some(v) = &file.ingest.max_future_skew_secs {
        if *v.get_ref() > MAX_FUTURE_SKEW_SECS {
            return Err(err(v.span(), format!("max_future_skew_secs must be at most {MAX_FUTURE_SKEW_SECS}")));
        }
        ingest.max_future_skew_secs = *v.get_ref();
    }
    if let Some(v) = &file.ingest.max_age_secs {
        if *v.get_ref() == 0 || *v.get_ref() > MAX_AGE_SECS {
            return Err(err(v.span(), format!("max_age_secs must be within 1..={MAX_AGE_SECS}")));
        }
        ingest.max_age_secs = *v.get_ref();
    }
    if let Some(v) = &file.ingest.position_max_gap_secs {
        if !(1..=300).contains(v.get_ref()) {
            return Err(err(v.span(), "position_max_gap_secs must be within 1..=300".into()));
        }
        ingest.position_max_gap_secs = *v.get_ref();
    }
    if let Some(v) = &file.ingest.max_speed_mps {
        if !(v.get_ref().is_finite() && (1.0..=1000.0).contains(v.get_ref())) {
            return Err(err(v.span(), "max_speed_mps must be within 1..=1000".into()));
        }
        ingest.max_speed_mps = *v.get_ref();
    }

    let mut sensors = Vec::with_capacity(file.sensors.len());
    let mut ids = HashSet::new();
    for s in &file.sensors {
        let sensor = check_sensor(s.get_ref(), &err)?;
        if !ids.insert(sensor.id.clone()) {
            return Err(err(s.get_ref().id.span(), format!("sensor id {:?} is declared twice", sensor.id.as_str())));
        }
        let district = districts.iter().find(|z| z.contains(sensor.lon, sensor.lat)).map(|z| z.id.clone());
        sensors.push(Sensor { district, ..sensor });
    }

    let rules = if file.rules.is_empty() { default_rules() } else { check_rules(&file.rules, &err)? };

    let authorizations = check_authorizations(&file.authorizations, &sensors, &err)?;
    let retention = check_retention(&file, &err)?;
    let mut config =
        Config::from_parts(file.hub.name.clone().unwrap_or_else(|| "Vigie".into()), districts, ingest, sensors, rules);
    config.source = Some(path.to_owned());
    config.authorizations = authorizations;
    config.retention = retention;
    for p in file.http.trusted_proxies.iter().flatten() {
        let ip = p.get_ref().trim().parse::<std::net::IpAddr>().map_err(|_| {
            err(p.span(), format!("trusted_proxies: {:?} is not an IP address (e.g. \"127.0.0.1\")", p.get_ref()))
        })?;
        config.trusted_proxies.push(ip);
    }
    config.social_index = file.social.index.as_ref().map(|rel| match base {
        Some(b) => b.join(rel.get_ref()),
        None => PathBuf::from(rel.get_ref()),
    });
    Ok(config)
}

/// Durations within their bounds; images never beyond the legal month.
fn check_retention(file: &ConfigFile, err: &ErrAt<'_>) -> Result<super::RetentionConfig, ConfigError> {
    use super::MAX_IMAGE_RETENTION_DAYS;
    let mut r = super::RetentionConfig::default();
    let days = |v: &Option<Spanned<u32>>, max: u32, what: &str, why: &str| -> Result<Option<u32>, ConfigError> {
        match v {
            None => Ok(None),
            Some(d) if *d.get_ref() == 0 || *d.get_ref() > max => {
                Err(err(d.span(), format!("{what} must be within 1..={max} days{why}")))
            }
            Some(d) => Ok(Some(*d.get_ref())),
        }
    };
    let law = " (images may be kept at most one month: Code de la sécurité intérieure, L252-5)";
    let sec = &file.retention;
    if let Some(d) = days(&sec.detections_days, 365, "detections_days", "")? {
        r.detections_days = d;
    }
    if let Some(d) = days(&sec.evidence_days, MAX_IMAGE_RETENTION_DAYS, "evidence_days", law)? {
        r.evidence_days = d;
    }
    if let Some(d) = days(&sec.incidents_days, 3650, "incidents_days", "")? {
        r.incidents_days = d;
    }
    if let Some(d) = &sec.audit_days {
        // Long enough for the DPO to look into an incident after the fact.
        if !(180..=3650).contains(d.get_ref()) {
            return Err(err(d.span(), "audit_days must be within 180..=3650 days".into()));
        }
        r.audit_days = *d.get_ref();
    }
    if let Some(v) = &sec.purge_interval_secs {
        if !(1..=86_400).contains(v.get_ref()) {
            return Err(err(v.span(), "purge_interval_secs must be within 1..=86400".into()));
        }
        r.purge_interval_secs = *v.get_ref();
    }
    if let Some(v) = &sec.recordings_max_gib {
        if *v.get_ref() == 0 {
            return Err(err(v.span(), "recordings_max_gib must be at least 1 (leave it out for no cap)".into()));
        }
        r.recordings_max_gib = Some(*v.get_ref());
    }
    if let Some(v) = &sec.recordings_min_free_percent {
        if *v.get_ref() > 90 {
            return Err(err(v.span(), "recordings_min_free_percent must be within 0..=90".into()));
        }
        r.recordings_min_free_percent = *v.get_ref();
    }
    for s in &file.sensors {
        let s = s.get_ref();
        if let Some(d) = days(
            &s.retention_days,
            MAX_IMAGE_RETENTION_DAYS,
            &format!("sensor {}: retention_days", s.id.get_ref()),
            law,
        )? {
            r.sensor_days.insert(s.id.get_ref().clone(), d);
        }
    }
    Ok(r)
}

type ErrAt<'a> = dyn Fn(std::ops::Range<usize>, String) -> ConfigError + 'a;

fn kinds(list: &Spanned<Vec<Spanned<String>>>, err: &ErrAt<'_>) -> Result<Vec<Kind>, ConfigError> {
    list.get_ref()
        .iter()
        .map(|k| {
            k.get_ref().parse::<Kind>().map_err(|_| {
                let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                err(k.span(), format!("unknown kind {:?}; known kinds: {}", k.get_ref(), known.join(", ")))
            })
        })
        .collect()
}

fn check_sensor(s: &SensorFile, err: &ErrAt<'_>) -> Result<Sensor, ConfigError> {
    let id = SensorId::new(s.id.get_ref().clone()).map_err(|e| err(s.id.span(), e.to_string()))?;
    let (lon, lat) = (*s.lon.get_ref(), *s.lat.get_ref());
    if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
        return Err(err(s.lon.span(), format!("sensor {id}: longitude {lon} is outside -180..180")));
    }
    if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
        return Err(err(s.lat.span(), format!("sensor {id}: latitude {lat} is outside -90..90")));
    }
    let analytics = kinds(&s.analytics, err)?;
    for (k, spanned) in analytics.iter().zip(s.analytics.get_ref()) {
        if k.namespace() != s.sensor_type.namespace() {
            return Err(err(
                spanned.span(),
                format!(
                    "sensor {id}: a {} cannot produce {k} (only {}.* kinds)",
                    s.sensor_type.as_str(),
                    s.sensor_type.namespace()
                ),
            ));
        }
    }
    let fov_fields = [&s.heading_deg, &s.fov_deg, &s.range_m];
    let field_of_view = if s.sensor_type == SensorType::Camera {
        match (&s.heading_deg, &s.fov_deg, &s.range_m) {
            (Some(h), Some(f), Some(r)) => {
                if !(0.0..360.0).contains(h.get_ref()) {
                    return Err(err(h.span(), format!("sensor {id}: heading_deg must be within 0..360")));
                }
                if !(*f.get_ref() > 0.0 && *f.get_ref() <= 360.0) {
                    return Err(err(f.span(), format!("sensor {id}: fov_deg must be more than 0 and at most 360")));
                }
                if !(*r.get_ref() > 0.0 && *r.get_ref() <= 5000.0) {
                    return Err(err(
                        r.span(),
                        format!("sensor {id}: range_m must be more than 0 and at most 5000 metres"),
                    ));
                }
                Some(FieldOfView { heading_deg: *h.get_ref(), fov_deg: *f.get_ref(), range_m: *r.get_ref() })
            }
            (None, None, None) => None,
            _ => {
                return Err(err(
                    s.id.span(),
                    format!("sensor {id}: give heading_deg, fov_deg and range_m together, or none of them"),
                ));
            }
        }
    } else {
        if let Some(f) = fov_fields.into_iter().flatten().next() {
            return Err(err(f.span(), format!("sensor {id}: heading_deg, fov_deg and range_m are for cameras only")));
        }
        None
    };
    let mobile = match &s.mobile {
        Some(m) if *m.get_ref() && !matches!(s.sensor_type, SensorType::Camera | SensorType::Microphone) => {
            return Err(err(
                m.span(),
                format!("sensor {id}: only cameras and microphones can be mobile, not a {}", s.sensor_type.as_str()),
            ));
        }
        Some(m) => *m.get_ref(),
        None => false,
    };
    Ok(Sensor {
        id,
        sensor_type: s.sensor_type,
        name: s.name.clone(),
        lon,
        lat,
        district: None,
        analytics,
        field_of_view,
        mobile,
    })
}

fn parse_day_or_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
}

fn check_authorizations(
    list: &[Spanned<super::file::AuthorizationFile>],
    sensors: &[Sensor],
    err: &ErrAt<'_>,
) -> Result<Vec<crate::Authorization>, ConfigError> {
    let mut out = Vec::with_capacity(list.len());
    for a in list {
        let a = a.get_ref();
        let reference = a.reference.get_ref().trim().to_owned();
        if reference.is_empty() {
            return Err(err(a.reference.span(), "an authorization needs its act's reference".into()));
        }
        let mut ids = Vec::new();
        for s in a.sensors.get_ref() {
            let Some(sensor) = sensors.iter().find(|x| x.id.as_str() == s.get_ref()) else {
                return Err(err(
                    s.span(),
                    format!("authorization {reference:?}: sensor {:?} is not declared", s.get_ref()),
                ));
            };
            ids.push(sensor.id.clone());
        }
        if ids.is_empty() {
            return Err(err(a.sensors.span(), format!("authorization {reference:?}: sensors must not be empty")));
        }
        let analytics = kinds(&a.analytics, err)?;
        if analytics.is_empty() {
            return Err(err(a.analytics.span(), format!("authorization {reference:?}: analytics must not be empty")));
        }
        let time = |v: &Spanned<String>| {
            parse_day_or_time(v.get_ref()).ok_or_else(|| {
                err(v.span(), format!("authorization {reference:?}: {:?} is not YYYY-MM-DD nor RFC 3339", v.get_ref()))
            })
        };
        let (start, end) = (time(&a.start)?, time(&a.end)?);
        if start >= end {
            return Err(err(a.end.span(), format!("authorization {reference:?}: end must be after start")));
        }
        out.push(crate::Authorization { reference, sensors: ids, analytics, start, end });
    }
    Ok(out)
}

fn check_rules(rules: &[Spanned<RuleFile>], err: &ErrAt<'_>) -> Result<Vec<Rule>, ConfigError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(rules.len());
    for r in rules {
        let r = r.get_ref();
        let id = r.id.get_ref().clone();
        if id.is_empty() || !seen.insert(id.clone()) {
            return Err(err(r.id.span(), format!("rule id {id:?} is empty or declared twice")));
        }
        let kinds_list = kinds(&r.kinds, err)?;
        if kinds_list.is_empty() {
            return Err(err(r.kinds.span(), format!("rule {id}: kinds must not be empty")));
        }
        let require_kinds = match &r.require_kinds {
            None => vec![],
            Some(req) => {
                let req_kinds = kinds(req, err)?;
                if let Some((k, s)) = req_kinds.iter().zip(req.get_ref()).find(|(k, _)| !kinds_list.contains(k)) {
                    return Err(err(s.span(), format!("rule {id}: required kind {k} is not in kinds")));
                }
                req_kinds
            }
        };
        let min_detections = r.min_detections.as_ref().map(|v| (*v.get_ref(), v.span()));
        let min_sensors = r.min_sensors.as_ref().map(|v| (*v.get_ref(), v.span()));
        let (min_det, min_sen) = (min_detections.as_ref().map_or(1, |v| v.0), min_sensors.as_ref().map_or(1, |v| v.0));
        if let Some((v, span)) = &min_detections
            && !(1..=10_000).contains(v)
        {
            return Err(err(span.clone(), format!("rule {id}: min_detections must be within 1..=10000")));
        }
        if let Some((v, span)) = &min_sensors
            && (*v == 0 || *v > min_det)
        {
            return Err(err(
                span.clone(),
                format!("rule {id}: min_sensors must be within 1..=min_detections ({min_det})"),
            ));
        }
        let min_confidence = match &r.min_confidence {
            None => 0.5,
            Some(v) if (0.0..=1.0).contains(v.get_ref()) => *v.get_ref(),
            Some(v) => return Err(err(v.span(), format!("rule {id}: min_confidence must be within 0..=1"))),
        };
        let within_m = *r.within_m.get_ref();
        if !(within_m > 0.0 && within_m <= 50_000.0) {
            return Err(err(
                r.within_m.span(),
                format!("rule {id}: within_m must be more than 0 and at most 50000 metres"),
            ));
        }
        let window_secs = *r.window_secs.get_ref();
        if !(1..=86_400).contains(&window_secs) {
            return Err(err(r.window_secs.span(), format!("rule {id}: window_secs must be within 1..=86400")));
        }
        out.push(Rule {
            id,
            incident_type: r.incident_type.clone(),
            title: r.title.clone(),
            priority: r.priority,
            kinds: kinds_list,
            require_kinds,
            min_detections: min_det,
            min_sensors: min_sen,
            min_confidence,
            within_m,
            window_secs,
        });
    }
    Ok(out)
}

pub(super) fn default_rules() -> Vec<Rule> {
    let path = Path::new("<default rules>");
    let file: ConfigFile = match toml::from_str(DEFAULT_RULES_TOML) {
        Ok(f) => f,
        Err(_) => return vec![],
    };
    let err = |span: std::ops::Range<usize>, msg: String| ConfigError::at(path, DEFAULT_RULES_TOML, Some(span), msg);
    check_rules(&file.rules, &err).unwrap_or_default()
}

#[cfg(test)]
pub(super) fn check_rules_for_test(rules: &[Spanned<RuleFile>], err: &ErrAt<'_>) -> Result<Vec<Rule>, ConfigError> {
    check_rules(rules, err)
}
