//! The public transparency page's data (property 9), `GET /api/v1/transparency`, no login:
//! every sensor with its type, place, analytics and the authorization behind each, the
//! retention in force; per month, incidents by type, operator-confirmed precision per
//! analytic, exports, requisitions and purges; the latest signed checkpoint of the audit
//! log and the keys that verify it and the export packages. Computed at most once a
//! minute (the page is public and may be read often).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;

use super::console::PrecisionRow;
use super::{ApiError, AppState, blocking};
use crate::store::IncidentQuery;

const CACHE_FOR: Duration = Duration::from_secs(60);
/// Months shown, the current one included.
const MONTHS: i64 = 12;

#[derive(Serialize)]
struct AuthorizationLine {
    reference: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    in_force: bool,
}

#[derive(Serialize)]
struct Analytic {
    kind: &'static str,
    /// The acts that allow it on this sensor; none in force means it does not run.
    authorizations: Vec<AuthorizationLine>,
    in_force: bool,
}

#[derive(Serialize)]
struct SensorLine {
    id: String,
    #[serde(rename = "type")]
    sensor_type: &'static str,
    name: String,
    /// For a mobile sensor (a drone, an onboard camera): its home, not where it is.
    lon: f64,
    lat: f64,
    district: Option<String>,
    /// The sensor moves; the public page says so rather than showing where it is.
    mobile: bool,
    analytics: Vec<Analytic>,
    detections_retention_days: u32,
    evidence_retention_days: u32,
}

#[derive(Serialize, Default)]
struct Month {
    month: String,
    incidents: u64,
    incidents_by_type: BTreeMap<String, u64>,
    precision_by_analytic: BTreeMap<String, PrecisionRow>,
    exports_requested: u64,
    exports_approved: u64,
    /// Distinct judicial requisitions behind the exports requested.
    requisitions: u64,
    purged: BTreeMap<String, u64>,
}

#[derive(Serialize)]
struct Retention {
    detections_days: u32,
    evidence_days: u32,
    incidents_days: u32,
    audit_days: u32,
    legal_max_image_days: u32,
}

#[derive(Serialize)]
struct Transparency {
    hub: String,
    generated_at: DateTime<Utc>,
    retention: Retention,
    sensors: Vec<SensorLine>,
    months: Vec<Month>,
    audit_checkpoint: Option<vigie_audit::SignedCheckpoint>,
    export_public_key: Option<String>,
}

fn month_of(t: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", t.year(), t.month())
}

async fn build(st: &AppState) -> Result<Transparency, ApiError> {
    let cfg = st.ingest.config().clone();
    let now = st.ingest.now();
    let sensors = cfg
        .sensors
        .iter()
        .map(|s| SensorLine {
            id: s.id.as_str().to_owned(),
            sensor_type: s.sensor_type.as_str(),
            name: s.name.clone(),
            lon: s.lon,
            lat: s.lat,
            district: s.district.clone(),
            mobile: s.mobile,
            analytics: s
                .analytics
                .iter()
                .map(|k| {
                    let acts: Vec<AuthorizationLine> = cfg
                        .authorizations
                        .iter()
                        .filter(|a| a.sensors.contains(&s.id) && a.analytics.contains(k))
                        .map(|a| AuthorizationLine {
                            reference: a.reference.clone(),
                            start: a.start,
                            end: a.end,
                            in_force: a.in_force(now),
                        })
                        .collect();
                    let in_force = !cfg.enforces_authorizations() || acts.iter().any(|a| a.in_force);
                    Analytic { kind: k.as_str(), authorizations: acts, in_force }
                })
                .collect(),
            detections_retention_days: cfg.retention.detections_days_of(s.id.as_str()),
            evidence_retention_days: cfg.retention.evidence_days_of(s.id.as_str()),
        })
        .collect();

    // The first day of the oldest month shown.
    let mut first = now.date_naive().with_day(1).unwrap_or(now.date_naive());
    for _ in 1..MONTHS {
        first = (first - chrono::Duration::days(1)).with_day(1).unwrap_or(first);
    }
    let since = first.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(now);
    let store = st.store.clone();
    let q = IncidentQuery { since: Some(since), limit: 1_000_000, ..IncidentQuery::default() };
    let (incidents, exports, purges) = blocking(move || {
        Ok((
            store.incidents(&q)?,
            store.registry().exports(Some(since), None)?,
            store.registry().purges(Some(since), None)?,
        ))
    })
    .await?;
    let mut months: BTreeMap<String, Month> = BTreeMap::new();
    let mut d = first;
    while d <= now.date_naive() {
        let key = format!("{:04}-{:02}", d.year(), d.month());
        months.insert(key.clone(), Month { month: key, ..Month::default() });
        d = (d + chrono::Duration::days(32)).with_day(1).unwrap_or(d + chrono::Duration::days(31));
    }
    for i in &incidents {
        let Some(m) = months.get_mut(&month_of(i.opened_at)) else { continue };
        m.incidents += 1;
        *m.incidents_by_type.entry(i.incident_type.clone()).or_default() += 1;
        if let Some(o) = i.outcome {
            for k in &i.kinds {
                m.precision_by_analytic.entry(k.as_str().to_owned()).or_default().add(o);
            }
        }
    }
    let mut requisitions: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for e in &exports {
        let key = month_of(e.requested_at);
        let Some(m) = months.get_mut(&key) else { continue };
        m.exports_requested += 1;
        if e.decided_at.is_some() && e.package_sha256.is_some() {
            m.exports_approved += 1;
        }
        requisitions.entry(key).or_default().insert((e.requisition.service.clone(), e.requisition.number.clone()));
    }
    for (key, set) in requisitions {
        if let Some(m) = months.get_mut(&key) {
            m.requisitions = set.len() as u64;
        }
    }
    for p in &purges {
        if let Some(m) = months.get_mut(&month_of(p.at)) {
            *m.purged.entry(p.data_class.clone()).or_default() += p.count;
        }
    }
    let mut months: Vec<Month> = months.into_values().collect();
    for m in &mut months {
        m.precision_by_analytic.values_mut().for_each(PrecisionRow::finish);
    }
    months.reverse();
    Ok(Transparency {
        hub: cfg.hub_name.clone(),
        generated_at: now,
        retention: Retention {
            detections_days: cfg.retention.detections_days,
            evidence_days: cfg.retention.evidence_days,
            incidents_days: cfg.retention.incidents_days,
            audit_days: cfg.retention.audit_days,
            legal_max_image_days: vigie_model::config::MAX_IMAGE_RETENTION_DAYS,
        },
        sensors,
        months,
        audit_checkpoint: st.audit.as_ref().map(|a| a.checkpoint()),
        export_public_key: st.exports.as_ref().map(|x| x.public_key()),
    })
}

pub async fn get(State(st): State<AppState>) -> Result<Response, ApiError> {
    let cached = st.transparency.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let body = match cached {
        Some((at, body)) if at.elapsed() < CACHE_FOR => body,
        _ => {
            let t = build(&st).await?;
            let body = bytes::Bytes::from(serde_json::to_vec(&t).map_err(|e| ApiError::internal(e.to_string()))?);
            *st.transparency.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), body.clone()));
            body
        }
    };
    let mut resp = body.into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    resp.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    Ok(resp)
}
