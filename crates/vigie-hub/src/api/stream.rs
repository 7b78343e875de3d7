//! `GET /api/v1/stream`: server-sent events of incident changes (`event: incident`), of
//! mobile sensors' moves (`event: sensor_position`, at most once a second per sensor) and,
//! with `?detections=true`, of accepted detections (`event: detection`). A client that
//! falls behind gets `event: lagged` with how many events it missed, and should reload.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::AppState;
use crate::auth::Principal;
use crate::live::LiveEvent;

#[derive(Debug, Deserialize)]
pub struct StreamParams {
    #[serde(default)]
    detections: bool,
}

/// How often an open stream checks that its caller may still read it.
const RECHECK: Duration = Duration::from_secs(30);

/// Resolves when `who` is no longer live (signed out, disabled, role changed, token
/// revoked): the stream then ends.
async fn revoked(auth: crate::auth::Auth, who: Principal) {
    loop {
        tokio::time::sleep(RECHECK).await;
        let (a, w) = (auth.clone(), who.clone());
        if !tokio::task::spawn_blocking(move || a.still_live(&w)).await.unwrap_or(false) {
            tracing::info!(actor = %who.actor(), "live stream closed: its caller is no longer signed in");
            return;
        }
    }
}

pub async fn sse(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<StreamParams>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let metrics = st.ingest.metrics().clone();
    let incidents = BroadcastStream::new(st.ingest.subscribe_incidents());
    let detections = p.detections.then(|| BroadcastStream::new(st.ingest.subscribe_detections()));
    let merged: std::pin::Pin<Box<dyn Stream<Item = Result<Arc<LiveEvent>, BroadcastStreamRecvError>> + Send>> =
        match detections {
            Some(d) => Box::pin(incidents.merge(d)),
            None => Box::pin(incidents),
        };
    let hello = tokio_stream::once(Ok(Event::default().event("hello").data("{}")));
    let events = merged.map(move |item| {
        Ok(match item {
            Ok(ev) => Event::default()
                .event(ev.name())
                .data(serde_json::to_string(ev.as_ref()).unwrap_or_else(|_| "{}".into())),
            Err(BroadcastStreamRecvError::Lagged(n)) => {
                metrics.live_lagged.fetch_add(1, Relaxed);
                Event::default().event("lagged").data(format!("{{\"skipped\":{n}}}"))
            }
        })
    });
    let events = futures_util::StreamExt::take_until(events, revoked(st.auth.clone(), who));
    Sse::new(hello.chain(events)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
