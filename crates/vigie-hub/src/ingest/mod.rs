//! Ingest: the one door for detections, whatever the transport.
//!
//! [`Ingest::check`] decodes and validates against the contract and the config (on the
//! caller's task, so the work spreads over cores); [`Ingest::submit`] hands the detection
//! to the single writer, whose answer arrives only after the commit. Refusals are counted
//! per transport and reason and sampled.

mod refused;
mod writer;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc, oneshot};
use vigie_model::config::Config;
use vigie_model::detection::TimeBounds;
use vigie_model::{Detection, Incident, IncidentAction, IncidentId, Refusal, RefusalReason};

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
        let tx = spawn_writer(config.clone(), store, clock.clone(), metrics.clone(), live.clone(), activity.clone())?;
        Ok(Ingest {
            inner: Arc::new(Inner { config, clock, tx, metrics, refused: RefusedLog::default(), live, activity }),
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
        let d = vigie_model::decode(payload, &bounds)?;
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
        Ok(d)
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
