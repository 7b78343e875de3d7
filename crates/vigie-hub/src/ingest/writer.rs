//! The single writer: drains queued commands into one transaction per batch, fuses new
//! detections, commits, then answers and publishes. Batches grow with load (everything
//! queued at the time, up to a cap), so latency stays low when idle and throughput high
//! under load.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use chrono::Duration;
use tokio::sync::mpsc;
use vigie_model::config::Config;
use vigie_model::{Detection, DetectionId, Incident, IncidentEvent, IncidentId, IncidentState};

use super::{ActionError, Clock, Command, Live, Outcome};
use crate::fusion::{Effect, Fusion};
use crate::live::{Change, LiveEvent};
use crate::metrics::Metrics;
use crate::sensors::SensorActivity;
use crate::store::{NewDetection, Store, StoreError, WriteTx};

const MAX_BATCH: usize = 16_384;

struct Writer {
    config: Arc<Config>,
    store: Arc<dyn Store>,
    clock: Clock,
    metrics: Arc<Metrics>,
    live: Live,
    activity: Arc<SensorActivity>,
    fusion: Fusion,
}

/// Rebuilds fusion state and starts the writer thread; returns its queue.
pub(crate) fn spawn_writer(
    config: Arc<Config>,
    store: Arc<dyn Store>,
    clock: Clock,
    metrics: Arc<Metrics>,
    live: Live,
    activity: Arc<SensorActivity>,
) -> Result<mpsc::UnboundedSender<Command>, StoreError> {
    let fusion = rebuild(&config, store.as_ref(), &clock)?;
    let (tx, rx) = mpsc::unbounded_channel();
    let mut w = Writer { config, store, clock, metrics, live, activity, fusion };
    std::thread::Builder::new()
        .name("vigie-writer".into())
        .spawn(move || w.run(rx))
        .map_err(|e| StoreError::Open(format!("cannot start the writer thread: {e}")))?;
    Ok(tx)
}

/// Fusion state from the store: open incidents, and detections still waiting for partners.
fn rebuild(config: &Arc<Config>, store: &dyn Store, clock: &Clock) -> Result<Fusion, StoreError> {
    let mut fusion = Fusion::new(config.clone());
    let now = clock();
    for inc in store.open_incidents()? {
        fusion.restore_incident(inc);
    }
    let since = now - Duration::seconds(fusion.max_window_secs() as i64);
    for d in store.unassigned_since(since)? {
        fusion.restore_pending(&d);
    }
    fusion.expire(now);
    Ok(fusion)
}

/// What one batch decided, sent and published only after the commit.
struct Decided {
    /// Per detection, in order.
    outcomes: Vec<Outcome>,
    /// Per action, in order.
    actions: Vec<Result<Incident, ActionError>>,
    /// Incidents changed by detections: id → (opened in this batch, last cause).
    changed: HashMap<IncidentId, (bool, DetectionId)>,
}

type Action = (IncidentId, vigie_model::IncidentAction, String);

impl Writer {
    fn run(&mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        let mut batch = Vec::with_capacity(1024);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(c) => batch.push(c),
                    Err(_) => break,
                }
            }
            self.process(std::mem::take(&mut batch));
        }
        tracing::info!("ingest writer stopped");
    }

    fn process(&mut self, batch: Vec<Command>) {
        let started = Instant::now();
        let now = (self.clock)();
        self.fusion.expire(now);
        let mut detections = Vec::new();
        let mut detection_replies = Vec::new();
        let mut actions = Vec::new();
        let mut action_replies = Vec::new();
        for c in batch {
            match c {
                Command::Detection { detection, reply } => {
                    detections.push(detection);
                    detection_replies.push(reply);
                }
                Command::Action { id, action, actor, reply } => {
                    actions.push((id, action, actor));
                    action_replies.push(reply);
                }
            }
        }
        let store = self.store.clone();
        let result = store.begin().and_then(|mut tx| {
            let decided = self.write(tx.as_mut(), &detections, &actions, now)?;
            tx.commit()?;
            Ok(decided)
        });
        let decided = match result {
            Ok(d) => d,
            Err(e) => {
                self.metrics.store_failures.fetch_add(1, Relaxed);
                tracing::error!(error = %e, detections = detections.len(), "batch commit failed; producers will resend");
                let msg = e.to_string();
                for r in detection_replies.into_iter().flatten() {
                    r(Outcome::Failed(msg.clone()));
                }
                for r in action_replies {
                    let _ = r.send(Err(ActionError::Store(msg.clone())));
                }
                // Fusion moved ahead of the store: start again from what is committed.
                match rebuild(&self.config, self.store.as_ref(), &self.clock) {
                    Ok(f) => self.fusion = f,
                    Err(e) => tracing::error!(error = %e, "cannot rebuild fusion state after a failed commit"),
                }
                return;
            }
        };

        let accepted = decided.outcomes.iter().filter(|o| **o == Outcome::Accepted).count() as u64;
        let m = &self.metrics;
        m.accepted.fetch_add(accepted, Relaxed);
        m.duplicates.fetch_add(decided.outcomes.len() as u64 - accepted, Relaxed);
        m.batches.fetch_add(1, Relaxed);
        m.batch_detections.fetch_add(accepted, Relaxed);
        m.commit_micros.fetch_add(started.elapsed().as_micros() as u64, Relaxed);
        let stats = self.fusion.stats();
        m.fusion_pending.store(stats.pending_detections as u64, Relaxed);
        m.fusion_joinable.store(stats.joinable_incidents as u64, Relaxed);

        self.activity.detections_seen(
            detections
                .iter()
                .zip(&decided.outcomes)
                .filter(|(_, o)| **o == Outcome::Accepted)
                .map(|(d, _)| (&d.sensor, d.time)),
        );
        // Answer first: producers wait on this.
        let live = self.live.detections.receiver_count() > 0;
        for ((reply, outcome), d) in detection_replies.into_iter().zip(&decided.outcomes).zip(detections) {
            if let Some(r) = reply {
                r(outcome.clone());
            }
            if live && *outcome == Outcome::Accepted {
                let _ = self.live.detections.send(Arc::new(LiveEvent::Detection { detection: d }));
            }
        }
        for (id, (opened, cause)) in decided.changed {
            let Some(incident) = self.fusion.joinable(id) else { continue };
            let change = if opened { Change::New } else { Change::Update };
            let _ = self.live.incidents.send(Arc::new(LiveEvent::Incident {
                change,
                incident: incident.clone(),
                cause: Some(cause),
            }));
        }
        for (reply, result) in action_replies.into_iter().zip(decided.actions) {
            if let Ok(incident) = &result {
                m.actions.fetch_add(1, Relaxed);
                let change = if incident.state.is_open() { Change::Update } else { Change::End };
                let _ = self.live.incidents.send(Arc::new(LiveEvent::Incident {
                    change,
                    incident: incident.clone(),
                    cause: None,
                }));
            }
            let _ = reply.send(result);
        }
    }

    fn write(
        &mut self,
        tx: &mut dyn WriteTx,
        detections: &[Detection],
        actions: &[Action],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Decided, StoreError> {
        let ids: Vec<DetectionId> = detections.iter().map(|d| d.id).collect();
        let stored = if ids.is_empty() { HashSet::new() } else { tx.existing(&ids)? };
        let mut seen = HashSet::with_capacity(detections.len());
        let mut outcomes = Vec::with_capacity(detections.len());
        let mut rows: Vec<NewDetection<'_>> = Vec::with_capacity(detections.len());
        let mut row_of: HashMap<DetectionId, usize> = HashMap::new();
        let mut relink: HashMap<IncidentId, Vec<DetectionId>> = HashMap::new();
        let mut changed: HashMap<IncidentId, (bool, DetectionId)> = HashMap::new();
        let mut upgrades = Vec::new();
        for d in detections {
            if stored.contains(&d.id) || !seen.insert(d.id) {
                outcomes.push(Outcome::Duplicate);
                continue;
            }
            outcomes.push(Outcome::Accepted);
            let (effect, _) = self.fusion.ingest(d, now);
            let incident = match effect {
                Effect::Joined(id) => {
                    changed.entry(id).or_insert((false, d.id)).1 = d.id;
                    self.metrics.incident_updates.fetch_add(1, Relaxed);
                    Some(id)
                }
                Effect::Upgraded { incident, from_rule } => {
                    changed.entry(incident).or_insert((false, d.id)).1 = d.id;
                    self.metrics.incident_updates.fetch_add(1, Relaxed);
                    upgrades.push((incident, from_rule, d.id));
                    Some(incident)
                }
                Effect::Opened { incident, earlier } => {
                    for e in earlier {
                        match row_of.get(&e) {
                            Some(&i) => rows[i].incident = Some(incident),
                            None => relink.entry(incident).or_default().push(e),
                        }
                    }
                    changed.insert(incident, (true, d.id));
                    self.metrics.incidents_opened.fetch_add(1, Relaxed);
                    Some(incident)
                }
                Effect::Pending => None,
            };
            row_of.insert(d.id, rows.len());
            rows.push(NewDetection { detection: d, incident });
        }
        tx.insert_detections(&rows, now)?;
        for (incident, ids) in &relink {
            tx.set_incident(ids, *incident)?;
        }
        for (id, (opened, cause)) in &changed {
            let Some(incident) = self.fusion.joinable(*id) else { continue };
            tx.upsert_incident(incident)?;
            if *opened {
                tx.append_event(&IncidentEvent {
                    incident: *id,
                    at: now,
                    actor: "hub".into(),
                    action: "opened".into(),
                    from_state: IncidentState::New,
                    to_state: IncidentState::New,
                    detail: serde_json::json!({ "rule": incident.rule, "detections": incident.detection_count, "cause": cause }),
                })?;
            }
        }

        for (id, from_rule, cause) in upgrades {
            let Some(incident) = self.fusion.joinable(id) else { continue };
            tx.append_event(&IncidentEvent {
                incident: id,
                at: now,
                actor: "hub".into(),
                action: "upgraded".into(),
                from_state: incident.state,
                to_state: incident.state,
                detail: serde_json::json!({ "from_rule": from_rule, "to_rule": incident.rule, "priority": incident.priority, "cause": cause }),
            })?;
        }

        let mut results = Vec::with_capacity(actions.len());
        // Incidents acted on earlier in this batch are not committed yet: read them here.
        let mut acted: HashMap<IncidentId, Incident> = HashMap::new();
        for (id, action, actor) in actions {
            let current = match (self.fusion.joinable(*id), acted.get(id)) {
                (Some(i), _) | (None, Some(i)) => Some(i.clone()),
                (None, None) => self.store.incident(*id)?.map(|d| d.incident),
            };
            let Some(mut incident) = current else {
                results.push(Err(ActionError::NotFound(*id)));
                continue;
            };
            match incident.apply(action, actor, now) {
                Ok(event) => {
                    tx.upsert_incident(&incident)?;
                    tx.append_event(&event)?;
                    self.fusion.incident_changed(&incident);
                    acted.insert(*id, incident.clone());
                    results.push(Ok(incident));
                }
                Err(e) => results.push(Err(e.into())),
            }
        }
        Ok(Decided { outcomes, actions: results, changed })
    }
}
