//! Ingest: the one door for detections, whatever the transport.
//!
//! [`Ingest::check`] decodes and validates against the contract and the config (on the
//! caller's task, so the work spreads over cores); [`Ingest::submit`] hands the detection
//! to the single writer, whose answer arrives only after the commit. Refusals are counted
//! per transport and reason and sampled.

mod positions;
mod refused;
mod writer;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc, oneshot};
use vigie_model::config::Config;
use vigie_model::detection::TimeBounds;
use vigie_model::{
    Detection, FixRefusal, FixRefusalReason, Incident, IncidentAction, IncidentId, PositionFix, Refusal, RefusalReason,
    SensorId,
};

pub use positions::{PositionSource, TRACK_CAPACITY};
pub use refused::{RefusedLog, RefusedSample};
use writer::spawn_writer;

use crate::live::LiveEvent;
use crate::metrics::{Metrics, Transport};
use crate::sensors::SensorActivity;
use crate::store::Store;

/// The hub's clock; injected so tests can move time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// The writer's answer for one detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Committed now.
    Accepted,
    /// Already stored: acknowledged again, stored once.
    Duplicate,
    /// The store failed: not acknowledged, the producer must resend.
    Failed(String),
}

/// Why an operator action failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("no incident {0}")]
    NotFound(IncidentId),
    #[error(transparent)]
    Transition(#[from] vigie_model::incident::TransitionError),
    #[error("store failure: {0}")]
    Store(String),
}

/// Called once with a detection's outcome, on the writer thread: keep it short.
pub type Reply = Box<dyn FnOnce(Outcome) + Send>;

pub(crate) enum Command {
    Detection {
        detection: Detection,
        reply: Option<Reply>,
    },
    Action {
        id: IncidentId,
        action: IncidentAction,
        actor: String,
        reply: oneshot::Sender<Result<Incident, ActionError>>,
    },
}

/// Shared handle to the ingest path.
#[derive(Clone)]
pub struct Ingest {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<Config>,
    clock: Clock,
    tx: mpsc::UnboundedSender<Command>,
    metrics: Arc<Metrics>,
    refused: RefusedLog,
    live: Live,
    activity: Arc<SensorActivity>,
    store: Arc<dyn Store>,
    positions: positions::Positions,
}

/// A position fix that passed its checks and is held in memory, to be stored.
#[derive(Debug, Clone, Copy)]
pub struct CheckedFix {
    pub fix: PositionFix,
    /// Held now (not a redelivery of a fix already in memory).
    held: bool,
}

/// The two live channels: incident changes (few) and accepted detections (many; only
/// filled while someone listens).
#[derive(Clone)]
pub(crate) struct Live {
    pub incidents: broadcast::Sender<Arc<LiveEvent>>,
    pub detections: broadcast::Sender<Arc<LiveEvent>>,
}

impl Ingest {
    /// Starts the writer thread over `store`.
    pub fn start(
        config: Arc<Config>,
        store: Arc<dyn Store>,
        clock: Clock,
        metrics: Arc<Metrics>,
    ) -> Result<Ingest, crate::store::StoreError> {
        let live = Live { incidents: broadcast::channel(16_384).0, detections: broadcast::channel(16_384).0 };
        let activity = Arc::new(SensorActivity::default());
        let positions = positions::Positions::load(&config, store.as_ref())?;
        let tx = spawn_writer(
            config.clone(),
            store.clone(),
            clock.clone(),
            metrics.clone(),
            live.clone(),
            activity.clone(),
        )?;
        Ok(Ingest {
            inner: Arc::new(Inner {
                config,
                clock,
                tx,
                metrics,
                refused: RefusedLog::default(),
                live,
                activity,
                store,
                positions,
            }),
        })
    }

    pub fn activity(&self) -> &Arc<SensorActivity> {
        &self.inner.activity
    }

    /// Queues a detection the hub made itself (sensor offline), skipping the config checks
    /// that apply to producers.
    pub fn submit_internal(&self, detection: Detection) {
        self.inner.metrics.received(Transport::Internal);
        let _ = self.inner.tx.send(Command::Detection { detection, reply: None });
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.inner.config
    }
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }
    pub fn refused(&self) -> &RefusedLog {
        &self.inner.refused
    }
    pub fn now(&self) -> DateTime<Utc> {
        (self.inner.clock)()
    }
    /// Incident changes (`new`, `update`, `end`).
    pub fn subscribe_incidents(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.inner.live.incidents.subscribe()
    }

    /// Accepted detections, as committed.
    pub fn subscribe_detections(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.inner.live.detections.subscribe()
    }

    /// Decodes and validates one detection. `topic_sensor` is the sensor named by the MQTT
    /// topic, which must be the payload's. Refusals are counted and sampled here.
    pub fn check(&self, transport: Transport, payload: &[u8], topic: Option<&str>) -> Result<Detection, Refusal> {
        self.check_scoped(transport, payload, topic, None)
    }

    /// [`Ingest::check`] for a detection sent by an authenticated caller: its token must
    /// cover the detection's sensor (a camera's token cannot speak for another camera).
    pub fn check_from(
        &self,
        transport: Transport,
        payload: &[u8],
        topic: Option<&str>,
        who: &crate::auth::Principal,
    ) -> Result<Detection, Refusal> {
        self.check_scoped(transport, payload, topic, Some(who))
    }

    /// Counts and samples a detection refused before it could be decoded or checked (a
    /// body too large, a publish its token does not allow).
    pub fn record_refusal(&self, transport: Transport, topic: Option<&str>, refusal: &Refusal, payload: &[u8]) {
        let m = &self.inner.metrics;
        m.received(transport);
        m.refused(transport, refusal.reason);
        self.inner.refused.record(self.now(), transport, topic, refusal, payload);
    }

    /// Counts a position fix refused before it could be decoded (a publish its token does
    /// not allow).
    pub fn record_fix_refusal(&self, transport: Transport, reason: FixRefusalReason) {
        self.inner.metrics.fix_received(transport);
        self.inner.metrics.fix_refused(transport, reason);
    }

    fn check_scoped(
        &self,
        transport: Transport,
        payload: &[u8],
        topic: Option<&str>,
        who: Option<&crate::auth::Principal>,
    ) -> Result<Detection, Refusal> {
        let m = &self.inner.metrics;
        m.received(transport);
        let result = self.check_inner(payload, topic).and_then(|d| match who {
            Some(p) if !p.may_publish_for(d.sensor.as_str()) => Err(Refusal::new(
                RefusalReason::SensorNotInToken,
                format!("the token of {} does not cover sensor {}", p.actor(), d.sensor),
            )),
            _ => Ok(d),
        });
        if let Err(r) = &result {
            m.refused(transport, r.reason);
            self.inner.refused.record(self.now(), transport, topic, r, payload);
            tracing::debug!(transport = transport.as_str(), reason = r.reason.as_str(), detail = %r.detail, "detection refused");
        }
        result
    }

    fn check_inner(&self, payload: &[u8], topic: Option<&str>) -> Result<Detection, Refusal> {
        let cfg = &self.inner.config;
        let bounds = TimeBounds::new(self.now(), cfg.ingest.max_future_skew_secs, cfg.ingest.max_age_secs);
        let mut d = vigie_model::decode(payload, &bounds)?;
        if let Some(topic) = topic {
            let named = topic.strip_prefix(vigie_model::DETECTION_TOPIC_PREFIX).unwrap_or(topic);
            if named != d.sensor.as_str() {
                return Err(Refusal::new(
                    RefusalReason::SensorMismatch,
                    format!("topic names sensor {named:?} but the detection is from {:?}", d.sensor.as_str()),
                ));
            }
        }
        let Some(sensor) = cfg.sensor(d.sensor.as_str()) else {
            return Err(Refusal::new(
                RefusalReason::UnknownSensor,
                format!("sensor {:?} is not declared in the hub's config", d.sensor.as_str()),
            ));
        };
        if !sensor.runs(d.kind) {
            return Err(Refusal::new(
                RefusalReason::AnalyticNotConfigured,
                format!(
                    "sensor {} does not run {} (its analytics: {})",
                    d.sensor,
                    d.kind,
                    sensor.analytics.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if cfg.enforces_authorizations() && cfg.authorization_for(&d.sensor, d.kind, d.time).is_none() {
            return Err(Refusal::new(
                RefusalReason::Unauthorized,
                format!(
                    "no authorization in force covers {} on sensor {} at {}",
                    d.kind,
                    d.sensor,
                    d.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            ));
        }
        if sensor.mobile {
            // Before fusion, so that incidents gather around where the sensor really was.
            let counter = match self.inner.positions.resolve(&mut d) {
                PositionSource::Telemetry => &self.inner.metrics.positioned_by_telemetry,
                PositionSource::Producer => &self.inner.metrics.positioned_by_producer,
            };
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(d)
    }

    /// Decodes and checks one position fix of `sensor` (named by the MQTT topic or the URL)
    /// and holds it in memory; `who`'s token, when given, must cover the sensor. Refusals
    /// are counted here. Store it with [`Ingest::store_fixes`] before answering.
    pub fn check_fix(
        &self,
        transport: Transport,
        sensor: &str,
        payload: &[u8],
        who: Option<&crate::auth::Principal>,
    ) -> Result<(SensorId, CheckedFix), FixRefusal> {
        let m = &self.inner.metrics;
        m.fix_received(transport);
        let result = self.check_fix_inner(sensor, payload, who);
        if let Err(r) = &result {
            m.fix_refused(transport, r.reason);
            tracing::debug!(transport = transport.as_str(), sensor, reason = r.reason.as_str(), detail = %r.detail, "position fix refused");
        }
        result
    }

    fn check_fix_inner(
        &self,
        sensor: &str,
        payload: &[u8],
        who: Option<&crate::auth::Principal>,
    ) -> Result<(SensorId, CheckedFix), FixRefusal> {
        let cfg = &self.inner.config;
        let Some(declared) = cfg.sensor(sensor) else {
            return Err(FixRefusal::new(
                FixRefusalReason::UnknownSensor,
                format!("sensor {sensor:?} is not declared in the hub's config"),
            ));
        };
        if let Some(p) = who
            && !p.may_publish_for(sensor)
        {
            return Err(FixRefusal::new(
                FixRefusalReason::SensorNotInToken,
                format!("the token of {} does not cover sensor {sensor}", p.actor()),
            ));
        }
        if !declared.mobile {
            return Err(FixRefusal::new(
                FixRefusalReason::NotMobile,
                format!("sensor {sensor} is not declared mobile = true: its position is its config's"),
            ));
        }
        let bounds = TimeBounds::new(self.now(), cfg.ingest.max_future_skew_secs, cfg.ingest.max_age_secs);
        let fix = vigie_model::telemetry::decode_fix(payload, &bounds)?;
        let held = self.inner.positions.hold(&declared.id, fix)?;
        Ok((declared.id.clone(), CheckedFix { fix, held }))
    }

    /// Stores checked fixes of one sensor in one transaction, then tells the live stream
    /// where it is. Per fix: `true` if new, `false` if already stored. On a store failure
    /// nothing is kept (the producer must resend).
    pub async fn store_fixes(&self, sensor: &SensorId, fixes: &[CheckedFix]) -> Result<Vec<bool>, String> {
        let (store, id, now) = (self.inner.store.clone(), sensor.to_string(), self.now());
        let rows: Vec<PositionFix> = fixes.iter().map(|f| f.fix).collect();
        let stored = tokio::task::spawn_blocking(move || store.registry().insert_positions(&id, &rows, now)).await;
        let result = match stored {
            Ok(Ok(new)) => Ok(new),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(format!("the store task failed: {e}")),
        };
        let m = &self.inner.metrics;
        match &result {
            Ok(new) => {
                let fresh = new.iter().filter(|n| **n).count() as u64;
                m.fixes_accepted.fetch_add(fresh, std::sync::atomic::Ordering::Relaxed);
                m.fixes_duplicate.fetch_add(new.len() as u64 - fresh, std::sync::atomic::Ordering::Relaxed);
                if let Some(position) = self.inner.positions.live_update(sensor) {
                    let event = LiveEvent::SensorPosition { sensor: sensor.clone(), position };
                    let _ = self.inner.live.incidents.send(Arc::new(event));
                }
            }
            Err(e) => {
                tracing::error!(sensor = %sensor, error = %e, "position fixes not stored; the producer will resend");
                let held: Vec<DateTime<Utc>> = fixes.iter().filter(|f| f.held).map(|f| f.fix.time).collect();
                self.inner.positions.forget(sensor, &held);
            }
        }
        result
    }

    /// The newest position of a mobile sensor (`None`: not mobile, or no fix yet).
    pub fn sensor_position(&self, sensor: &SensorId) -> Option<PositionFix> {
        self.inner.positions.latest(sensor)
    }

    /// Queues a checked detection; the receiver answers after the commit.
    pub fn submit(&self, detection: Detection) -> oneshot::Receiver<Outcome> {
        let (reply, rx) = oneshot::channel();
        self.submit_with(detection, move |o| {
            let _ = reply.send(o);
        });
        rx
    }

    /// Queues a checked detection; `reply` runs after the commit (or the failure). If the
    /// writer has stopped, `reply` is dropped unrun: the producer gets no acknowledgement.
    pub fn submit_with(&self, detection: Detection, reply: impl FnOnce(Outcome) + Send + 'static) {
        let _ = self.inner.tx.send(Command::Detection { detection, reply: Some(Box::new(reply)) });
    }

    /// Applies an operator action through the writer (so fusion sees it in order).
    pub async fn act(&self, id: IncidentId, action: IncidentAction, actor: &str) -> Result<Incident, ActionError> {
        let (reply, rx) = oneshot::channel();
        let sent = self.inner.tx.send(Command::Action { id, action, actor: actor.to_owned(), reply });
        if sent.is_err() {
            return Err(ActionError::Store("the writer has stopped".into()));
        }
        rx.await.unwrap_or_else(|_| Err(ActionError::Store("the writer has stopped".into())))
    }
}
