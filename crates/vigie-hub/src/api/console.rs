//! The web console (operators) and the citizen report page, built from `console/` and
//! embedded in the binary; the street basemap; precision of analytics from outcomes.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vigie_model::{IncidentState, Outcome};

use super::{ApiError, AppState, blocking};
use crate::store::IncidentQuery;

/// The committed build of `console/` (`npm --prefix console run build`).
const INDEX_HTML: &str = include_str!("../../../../console/dist/index.html");
const REPORT_HTML: &str = include_str!("../../../../console/dist/report.html");
const APP_JS: &str = include_str!("../../../../console/dist/app.js");
const REPORT_JS: &str = include_str!("../../../../console/dist/report.js");
const TRANSPARENCY_HTML: &str = include_str!("../../../../console/dist/transparency.html");
const TRANSPARENCY_JS: &str = include_str!("../../../../console/dist/transparency.js");
const APP_CSS: &str = include_str!("../../../../console/dist/app.css");

/// Scripts and styles come from the hub only; map tiles may come from a tile server; the
/// video wall plays the hub's live streams through Media Source Extensions (`blob:` URLs
/// the page itself creates).
const CSP: &str = "default-src 'self'; img-src 'self' data: blob: https: http:; media-src 'self' blob:; \
                   style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; \
                   base-uri 'none'; frame-ancestors 'none'";

fn page(html: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        html,
    )
        .into_response()
}

pub async fn index() -> Response {
    page(INDEX_HTML)
}

pub async fn report() -> Response {
    page(REPORT_HTML)
}

pub async fn transparency() -> Response {
    page(TRANSPARENCY_HTML)
}

pub async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (body, mime) = match file.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "report.js" => (REPORT_JS, "text/javascript; charset=utf-8"),
        "transparency.js" => (TRANSPARENCY_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => return Err(ApiError::not_found(format!("no asset {file}"))),
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response())
}

/// Largest basemap file served (the streets of a city centre are a few hundred KiB).
const MAX_BASEMAP_BYTES: u64 = 32 * 1024 * 1024;

/// `streets.geojson` beside the config file, or an empty FeatureCollection.
pub async fn basemap(State(st): State<AppState>) -> Response {
    let path = st.ingest.config().source.as_ref().and_then(|p| p.parent()).map(|d| d.join("streets.geojson"));
    let text = match path {
        Some(p) => tokio::task::spawn_blocking(move || {
            let meta = std::fs::metadata(&p).ok()?;
            if meta.len() > MAX_BASEMAP_BYTES {
                tracing::warn!(path = %p.display(), "streets.geojson too large for the basemap, ignored");
                return None;
            }
            let text = std::fs::read_to_string(&p).ok()?;
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) if v["type"] == "FeatureCollection" => Some(text),
                _ => {
                    tracing::warn!(path = %p.display(), "streets.geojson is not a GeoJSON FeatureCollection, ignored");
                    None
                }
            }
        })
        .await
        .ok()
        .flatten(),
        None => None,
    };
    let body = text.unwrap_or_else(|| r#"{"type":"FeatureCollection","features":[]}"#.to_owned());
    ([(header::CONTENT_TYPE, "application/geo+json")], body).into_response()
}

/// Outcomes of resolved incidents for one analytic or sensor.
#[derive(Debug, Default, Serialize)]
pub struct PrecisionRow {
    pub resolved: u64,
    pub confirmed: u64,
    pub false_alarm: u64,
    pub unverifiable: u64,
    /// `confirmed / resolved`, `null` when nothing is resolved.
    pub precision: Option<f64>,
}

impl PrecisionRow {
    pub(crate) fn add(&mut self, o: Outcome) {
        self.resolved += 1;
        match o {
            Outcome::Confirmed => self.confirmed += 1,
            Outcome::FalseAlarm => self.false_alarm += 1,
            Outcome::Unverifiable => self.unverifiable += 1,
        }
    }
    pub(crate) fn finish(&mut self) {
        self.precision = (self.resolved > 0).then(|| self.confirmed as f64 / self.resolved as f64);
    }
}

#[derive(Debug, Serialize)]
pub struct PrecisionStats {
    /// Resolved or closed incidents with an outcome that were counted.
    pub incidents: u64,
    pub overall: PrecisionRow,
    pub by_kind: BTreeMap<String, PrecisionRow>,
    pub by_sensor: BTreeMap<String, PrecisionRow>,
}

/// How many resolved incidents are read at most (newest updates first would be better; the
/// store lists by priority then age, which is fine for a first version).
const MAX_RESOLVED: usize = 100_000;

/// Measured precision: the share of resolved incidents confirmed, per kind and per sensor.
/// An incident counts once for each of its kinds and each of its (listed) sensors.
pub async fn precision(State(st): State<AppState>) -> Result<Json<PrecisionStats>, ApiError> {
    let store = st.store.clone();
    let q = IncidentQuery {
        states: vec![IncidentState::Resolved, IncidentState::Closed],
        limit: MAX_RESOLVED,
        ..IncidentQuery::default()
    };
    let incidents = blocking(move || store.incidents(&q)).await?;
    let mut out = PrecisionStats {
        incidents: 0,
        overall: PrecisionRow::default(),
        by_kind: BTreeMap::new(),
        by_sensor: BTreeMap::new(),
    };
    for i in incidents {
        let Some(o) = i.outcome else { continue };
        out.incidents += 1;
        out.overall.add(o);
        for k in &i.kinds {
            out.by_kind.entry(k.as_str().to_owned()).or_default().add(o);
        }
        for s in &i.sensors {
            out.by_sensor.entry(s.as_str().to_owned()).or_default().add(o);
        }
    }
    out.overall.finish();
    out.by_kind.values_mut().for_each(PrecisionRow::finish);
    out.by_sensor.values_mut().for_each(PrecisionRow::finish);
    Ok(Json(out))
}
