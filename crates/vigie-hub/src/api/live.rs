//! Live view over WebSocket: a camera's recorder publishes its fragmented MP4
//! (`GET /api/v1/live/{camera}/publish`, device token), operators watch it
//! (`GET /api/v1/live/{camera}`, an audited read) — one encode per camera, forwarded to
//! every viewer by [`vigie_record::live::LiveFanout`]; `GET /api/v1/live` lists who is live.
//!
//! A viewer receives a JSON text message `{"type":"init","mime":…,"masked":…}`, the init
//! segment as a binary message, the fragments since the last keyframe, then each new
//! fragment; a JSON `{"type":"time","time":…}` precedes each keyframe (when the hub
//! received it), for the console's clock.

use axum::Extension;
use axum::Json;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use vigie_audit::Action;
use vigie_model::SensorType;
use vigie_record::live::{LiveMessage, LiveStatus};

use super::{ApiError, AppState, ErrorCode, audited};
use crate::auth::Principal;

fn ws_or_400(
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<WebSocketUpgrade, ApiError> {
    ws.map_err(|e| ApiError::bad_request(format!("this route speaks WebSocket: {e}")))
}

/// The camera must be declared, and a camera.
pub(crate) fn camera_of(st: &AppState, id: &str) -> Result<(), ApiError> {
    match st.ingest.config().sensor(id) {
        Some(s) if s.sensor_type == SensorType::Camera => Ok(()),
        Some(_) => Err(ApiError::bad_request(format!("sensor {id} is not a camera"))),
        None => Err(ApiError::not_found(format!("no camera {id} in the hub's config"))),
    }
}

#[derive(Debug, Serialize)]
pub struct LiveCamera {
    pub camera: String,
    pub name: String,
    #[serde(flatten)]
    pub status: Option<LiveStatus>,
}

/// Every camera of the config and, for those live, their stream.
pub async fn list(State(st): State<AppState>) -> Json<Vec<LiveCamera>> {
    let live = st.live.status();
    let cams = st
        .ingest
        .config()
        .sensors
        .iter()
        .filter(|s| s.sensor_type == SensorType::Camera)
        .map(|s| LiveCamera {
            camera: s.id.to_string(),
            name: s.name.clone(),
            status: live.iter().find(|l| l.camera == s.id.as_str()).cloned(),
        })
        .collect();
    Json(cams)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishQuery {
    /// Privacy masks are burned into this stream.
    #[serde(default)]
    masked: bool,
}

pub async fn publish(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(camera): Path<String>,
    q: Result<Query<PublishQuery>, axum::extract::rejection::QueryRejection>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    camera_of(&st, &camera)?;
    if !who.may_publish_for(&camera) {
        return Err(ApiError::new(ErrorCode::Forbidden, format!("this token may not publish for {camera}")));
    }
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let ws = ws_or_400(ws)?;
    let fanout = st.live.clone();
    tracing::info!(camera = %camera, by = %who.actor(), masked = q.masked, "live view published");
    Ok(ws.max_message_size(vigie_record::fmp4::MAX_BOX_BYTES as usize * 2).on_upgrade(move |socket| async move {
        let mut publication = fanout.publish(&camera, q.masked);
        let mut socket = socket;
        while let Some(Ok(msg)) = socket.recv().await {
            let bytes = match msg {
                Message::Binary(b) => b,
                Message::Close(_) => break,
                _ => continue,
            };
            if let Err(e) = publication.push(&bytes, chrono::Utc::now()) {
                tracing::warn!(camera = %camera, error = %e, "live view: publication refused");
                let _ = socket
                    .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                        code: 1008,
                        reason: e.to_string().chars().take(120).collect::<String>().into(),
                    })))
                    .await;
                break;
            }
        }
    }))
}

/// A browser opening a WebSocket sends its page's `Origin`: it must be the hub's own
/// (the session cookie would otherwise let another site watch; cross-site WebSocket
/// hijacking). Clients that are not browsers send none.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
}

pub async fn view(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(camera): Path<String>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    if !same_origin(&headers) {
        return Err(ApiError::new(ErrorCode::Forbidden, "a live view opens only from the hub's own pages"));
    }
    camera_of(&st, &camera)?;
    let ws = ws_or_400(ws)?;
    let Some(sub) = st.live.subscribe(&camera) else {
        return Err(ApiError::not_found(format!("camera {camera} is not live now (no recorder publishes it)")));
    };
    let masked = st.live.status().iter().any(|s| s.camera == camera && s.masked);
    // Opening a live view is a read of personal data: logged before the first frame.
    audited(&st, &who, Action::ReadEvidence, format!("live/{camera}"), serde_json::json!({ "view": "live" })).await?;
    Ok(ws.on_upgrade(move |socket| serve_viewer(socket, sub, camera, masked)).into_response())
}

async fn send_message(socket: &mut WebSocket, m: &LiveMessage, masked: bool, camera: &str) -> bool {
    match m {
        LiveMessage::Init { bytes, mime, width, height } => {
            let info = serde_json::json!({ "type": "init", "camera": camera, "mime": mime, "width": width, "height": height, "masked": masked });
            socket.send(Message::Text(info.to_string().into())).await.is_ok()
                && socket.send(Message::Binary(bytes.clone())).await.is_ok()
        }
        LiveMessage::Fragment { bytes, keyframe, time } => {
            if *keyframe {
                let t = serde_json::json!({ "type": "time", "time": time });
                if socket.send(Message::Text(t.to_string().into())).await.is_err() {
                    return false;
                }
            }
            socket.send(Message::Binary(bytes.clone())).await.is_ok()
        }
    }
}

async fn serve_viewer(mut socket: WebSocket, mut sub: vigie_record::live::Subscription, camera: String, masked: bool) {
    let first = std::mem::take(&mut sub.first);
    for m in &first {
        if !send_message(&mut socket, m, masked, &camera).await {
            return;
        }
    }
    loop {
        tokio::select! {
            m = sub.next() => match m {
                Some(m) => if !send_message(&mut socket, &m, masked, &camera).await { return },
                None => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            },
        }
    }
}
