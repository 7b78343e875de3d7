//! The writer, in two stages on two threads, so that fusing a batch overlaps committing the
//! previous one:
//!
//! - **fusion** (`vigie-fusion`) drains queued commands into a batch (everything queued,
//!   up to a cap: batches grow with load), drops duplicates (within the batch, against the
//!   batches still in flight, then against the store), fuses new detections into
//!   incidents, applies operator actions, and hands the prepared batch on;
//! - **store** (`vigie-writer`) writes the batch in one transaction, commits, and only then
//!   answers producers and publishes on the live stream.
//!
//! If a commit fails, every batch prepared on top of it fails too (nothing of it is
//! acknowledged, producers resend), and fusion rebuilds its state from the store.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::{mpsc, oneshot};
use vigie_model::config::Config;
use vigie_model::{Detection, DetectionId, Incident, IncidentAction, IncidentEvent, IncidentId, IncidentState};

use super::{ActionError, Clock, Command, Live, Outcome, Reply};
use crate::fasthash::{FastMap, FastSet};
use crate::fusion::{Effect, Fusion};
use crate::live::{Change, LiveEvent};
use crate::metrics::Metrics;
use crate::sensors::SensorActivity;
use crate::store::{NewDetection, Store, StoreError};

const MAX_BATCH: usize = 16_384;
/// Prepared batches waiting for the store: a small queue keeps memory and latency bounded.
const PIPELINE_DEPTH: usize = 2;
/// Incidents acted on recently, kept by the fusion stage (the only writer of incidents) so
/// an action never reads a version the store has not committed yet.
const ACTED_CACHE: usize = 10_000;

/// Shared between the stages.
struct Shared {
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    /// Bumped by each failed commit: batches prepared under an older epoch are void.
    epoch: AtomicU64,
    /// Ids of accepted detections handed to the store stage but not yet committed.
    in_flight: Mutex<FastSet<DetectionId>>,
}

type ActionReply = oneshot::Sender<Result<Incident, ActionError>>;

/// A batch decided by fusion, for the store stage.
struct Prepared {
    epoch: u64,
    now: DateTime<Utc>,
    detections: Vec<Detection>,
    replies: Vec<Option<Reply>>,
    /// Per detection: `Accepted` (to insert) or `Duplicate`.
    outcomes: Vec<Outcome>,
    /// Per detection: the incident fusion put it in.
    incident_of: Vec<Option<IncidentId>>,
    /// Detections stored earlier that now join an incident.
    relink: Vec<(IncidentId, Vec<DetectionId>)>,
    /// Incidents as they stand after the batch, with how they changed and the cause.
    incidents: Vec<(Incident, Change, Option<DetectionId>)>,
    events: Vec<IncidentEvent>,
    actions: Vec<(ActionReply, Result<Incident, ActionError>)>,
    started: Instant,
    pending_detections: usize,
    joinable_incidents: usize,
}

/// Rebuilds fusion state and starts both stages; returns the queue of commands.
pub(crate) fn spawn_writer(
    config: Arc<Config>,
    store: Arc<dyn Store>,
    clock: Clock,
    metrics: Arc<Metrics>,
    live: Live,
    activity: Arc<SensorActivity>,
) -> Result<mpsc::UnboundedSender<Command>, StoreError> {
    let fusion = rebuild(&config, store.as_ref(), &clock)?;
    let shared = Arc::new(Shared { store, metrics, epoch: AtomicU64::new(0), in_flight: Mutex::default() });
    let (tx, rx) = mpsc::unbounded_channel();
    let (prepared_tx, prepared_rx) = std::sync::mpsc::sync_channel(PIPELINE_DEPTH);
    let mut stage = FusionStage { config, clock, shared: shared.clone(), fusion, epoch: 0, acted: FastMap::default() };
    let spawn_err = |e: std::io::Error| StoreError::Open(format!("cannot start the writer threads: {e}"));
    std::thread::Builder::new()
        .name("vigie-fusion".into())
        .spawn(move || stage.run(rx, prepared_tx))
        .map_err(spawn_err)?;
    let store_stage = StoreStage { shared, live, activity };
    std::thread::Builder::new()
        .name("vigie-writer".into())
        .spawn(move || store_stage.run(prepared_rx))
        .map_err(spawn_err)?;
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct FusionStage {
    config: Arc<Config>,
    clock: Clock,
    shared: Arc<Shared>,
    fusion: Fusion,
    epoch: u64,
    acted: FastMap<IncidentId, Incident>,
}

impl FusionStage {
    fn run(&mut self, mut rx: mpsc::UnboundedReceiver<Command>, out: std::sync::mpsc::SyncSender<Prepared>) {
        let mut batch = Vec::with_capacity(1024);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(c) => batch.push(c),
                    Err(_) => break,
                }
            }
            let prepared = self.prepare(std::mem::take(&mut batch));
            if out.send(prepared).is_err() {
                break;
            }
        }
        tracing::debug!("ingest fusion stage stopped");
    }

    fn prepare(&mut self, batch: Vec<Command>) -> Prepared {
        let started = Instant::now();
        let now = (self.clock)();
        let epoch = self.shared.epoch.load(SeqCst);
        if epoch != self.epoch {
            // A commit failed: what fusion holds went further than the store.
            match rebuild(&self.config, self.shared.store.as_ref(), &self.clock) {
                Ok(f) => self.fusion = f,
                Err(e) => tracing::error!(error = %e, "cannot rebuild fusion state after a failed commit"),
            }
            self.acted.clear();
            self.epoch = epoch;
        }
        self.fusion.expire(now);

        let mut detections = Vec::new();
        let mut replies = Vec::new();
        let mut actions = Vec::new();
        for c in batch {
            match c {
                Command::Detection { detection, reply } => {
                    detections.push(detection);
                    replies.push(reply);
                }
                Command::Action { id, action, actor, reply } => actions.push((id, action, actor, reply)),
            }
        }
        let mut p = Prepared {
            epoch,
            now,
            outcomes: Vec::with_capacity(detections.len()),
            incident_of: vec![None; detections.len()],
            detections: Vec::new(),
            replies,
            relink: Vec::new(),
            incidents: Vec::new(),
            events: Vec::new(),
            actions: Vec::new(),
            started,
            pending_detections: 0,
            joinable_incidents: 0,
        };
        if let Err(e) = self.dedup(&detections, &mut p.outcomes) {
            // The store cannot answer: fail the batch rather than risk double counting.
            tracing::error!(error = %e, "cannot check detections against the store");
            p.outcomes = vec![Outcome::Failed(e.to_string()); detections.len()];
        }
        self.fuse(&detections, &mut p);
        p.detections = detections;
        for (id, action, actor, reply) in actions {
            let result = self.act(id, &action, &actor, now, &mut p);
            p.actions.push((reply, result));
        }
        let stats = self.fusion.stats();
        p.pending_detections = stats.pending_detections;
        p.joinable_incidents = stats.joinable_incidents;
        self.shared.metrics.fusion_micros.fetch_add(started.elapsed().as_micros() as u64, Relaxed);
        p
    }

    /// Marks each detection `Accepted` or `Duplicate`: within the batch, against batches in
    /// flight, then against the store (in that order: a batch leaves the in-flight set only
    /// after its commit, so an id is always found in one of the two).
    fn dedup(&self, detections: &[Detection], outcomes: &mut Vec<Outcome>) -> Result<(), StoreError> {
        let mut seen = FastSet::default();
        let mut candidates = Vec::with_capacity(detections.len());
        {
            let in_flight = lock(&self.shared.in_flight);
            for d in detections {
                let dup = !seen.insert(d.id) || in_flight.contains(&d.id);
                outcomes.push(if dup { Outcome::Duplicate } else { Outcome::Accepted });
                if !dup {
                    candidates.push(d.id);
                }
            }
        }
        let stored = if candidates.is_empty() { Default::default() } else { self.shared.store.stored(&candidates)? };
        if !stored.is_empty() {
            for (d, o) in detections.iter().zip(outcomes.iter_mut()) {
                if *o == Outcome::Accepted && stored.contains(&d.id) {
                    *o = Outcome::Duplicate;
                }
            }
        }
        let mut in_flight = lock(&self.shared.in_flight);
        for (d, o) in detections.iter().zip(outcomes.iter()) {
            if *o == Outcome::Accepted {
                in_flight.insert(d.id);
            }
        }
        Ok(())
    }

    fn fuse(&mut self, detections: &[Detection], p: &mut Prepared) {
        let now = p.now;
        let mut row_of: FastMap<DetectionId, usize> = FastMap::default();
        let mut relink: HashMap<IncidentId, Vec<DetectionId>> = HashMap::new();
        // Incident → (opened in this batch, last cause).
        let mut changed: FastMap<IncidentId, (bool, DetectionId)> = FastMap::default();
        let metrics = &self.shared.metrics;
        for (i, d) in detections.iter().enumerate() {
            if p.outcomes[i] != Outcome::Accepted {
                continue;
            }
            let (effect, _) = self.fusion.ingest(d, now);
            p.incident_of[i] = match effect {
                Effect::Joined(id) => {
                    changed.entry(id).or_insert((false, d.id)).1 = d.id;
                    metrics.incident_updates.fetch_add(1, Relaxed);
                    Some(id)
                }
                Effect::Upgraded { incident, from_rule } => {
                    changed.entry(incident).or_insert((false, d.id)).1 = d.id;
                    metrics.incident_updates.fetch_add(1, Relaxed);
                    if let Some(inc) = self.fusion.joinable(incident) {
                        p.events.push(IncidentEvent {
                            incident,
                            at: now,
                            actor: "hub".into(),
                            action: "upgraded".into(),
                            from_state: inc.state,
                            to_state: inc.state,
                            detail: serde_json::json!({ "from_rule": from_rule, "to_rule": inc.rule, "priority": inc.priority, "cause": d.id }),
                        });
                    }
                    Some(incident)
                }
                Effect::Opened { incident, earlier } => {
                    for e in earlier {
                        match row_of.get(&e) {
                            Some(&row) => p.incident_of[row] = Some(incident),
                            None => relink.entry(incident).or_default().push(e),
                        }
                    }
                    changed.insert(incident, (true, d.id));
                    metrics.incidents_opened.fetch_add(1, Relaxed);
                    Some(incident)
                }
                Effect::Pending => None,
            };
            row_of.insert(d.id, i);
        }
        p.relink = relink.into_iter().collect();
        for (id, (opened, cause)) in changed {
            let Some(incident) = self.fusion.joinable(id) else { continue };
            if opened {
                p.events.push(IncidentEvent {
                    incident: id,
                    at: now,
                    actor: "hub".into(),
                    action: "opened".into(),
                    from_state: IncidentState::New,
                    to_state: IncidentState::New,
                    detail: serde_json::json!({ "rule": incident.rule, "detections": incident.detection_count, "cause": cause }),
                });
            }
            let change = if opened { Change::New } else { Change::Update };
            p.incidents.push((incident.clone(), change, Some(cause)));
        }
    }

    fn act(
        &mut self,
        id: IncidentId,
        action: &IncidentAction,
        actor: &str,
        now: DateTime<Utc>,
        p: &mut Prepared,
    ) -> Result<Incident, ActionError> {
        let current = match (self.fusion.joinable(id), self.acted.get(&id)) {
            (Some(i), _) | (None, Some(i)) => Some(i.clone()),
            (None, None) => {
                self.shared.store.incident(id).map_err(|e| ActionError::Store(e.to_string()))?.map(|d| d.incident)
            }
        };
        let Some(mut incident) = current else { return Err(ActionError::NotFound(id)) };
        let event = incident.apply(action, actor, now)?;
        self.fusion.incident_changed(&incident);
        if self.acted.len() >= ACTED_CACHE {
            self.acted.clear();
        }
        self.acted.insert(id, incident.clone());
        let change = if incident.state.is_open() { Change::Update } else { Change::End };
        p.events.push(event);
        p.incidents.push((incident.clone(), change, None));
        Ok(incident)
    }
}

struct StoreStage {
    shared: Arc<Shared>,
    live: Live,
    activity: Arc<SensorActivity>,
}

impl StoreStage {
    fn run(&self, rx: std::sync::mpsc::Receiver<Prepared>) {
        while let Ok(p) = rx.recv() {
            self.commit(p);
        }
        tracing::debug!("ingest store stage stopped");
    }

    fn write(&self, p: &Prepared) -> Result<(), StoreError> {
        let mut tx = self.shared.store.begin()?;
        let rows: Vec<NewDetection<'_>> = p
            .detections
            .iter()
            .zip(&p.outcomes)
            .zip(&p.incident_of)
            .filter(|((_, o), _)| **o == Outcome::Accepted)
            .map(|((d, _), inc)| NewDetection { detection: d, incident: *inc })
            .collect();
        tx.insert_detections(&rows, p.now)?;
        for (incident, ids) in &p.relink {
            tx.set_incident(ids, *incident)?;
        }
        let incidents: Vec<&Incident> = p.incidents.iter().map(|(i, _, _)| i).collect();
        tx.upsert_incidents(&incidents)?;
        for e in &p.events {
            tx.append_event(e)?;
        }
        tx.commit()
    }

    fn commit(&self, p: Prepared) {
        let m = &self.shared.metrics;
        let void = p.epoch != self.shared.epoch.load(SeqCst);
        let any_failed = p.outcomes.iter().any(|o| matches!(o, Outcome::Failed(_)));
        let result = if void {
            Err(StoreError::Open("an earlier batch failed to commit; this one was prepared on top of it".into()))
        } else if any_failed {
            Err(StoreError::Open("the store could not be read to check duplicates".into()))
        } else {
            self.write(&p)
        };
        let accepted_ids =
            p.detections.iter().zip(&p.outcomes).filter(|(_, o)| **o == Outcome::Accepted).map(|(d, _)| d.id);
        let mut finished: Vec<DetectionId> = accepted_ids.collect();
        if let Err(e) = result {
            if !void {
                m.store_failures.fetch_add(1, Relaxed);
                self.shared.epoch.fetch_add(1, SeqCst);
                tracing::error!(error = %e, detections = p.detections.len(), "batch commit failed; producers will resend");
            }
            {
                let mut in_flight = lock(&self.shared.in_flight);
                for id in finished.drain(..) {
                    in_flight.remove(&id);
                }
            }
            let msg = e.to_string();
            for r in p.replies.into_iter().flatten() {
                r(Outcome::Failed(msg.clone()));
            }
            for (reply, _) in p.actions {
                let _ = reply.send(Err(ActionError::Store(msg.clone())));
            }
            return;
        }
        {
            let mut in_flight = lock(&self.shared.in_flight);
            for id in finished.drain(..) {
                in_flight.remove(&id);
            }
        }

        let accepted = p.outcomes.iter().filter(|o| **o == Outcome::Accepted).count() as u64;
        m.accepted.fetch_add(accepted, Relaxed);
        m.duplicates.fetch_add(p.outcomes.len() as u64 - accepted, Relaxed);
        m.batches.fetch_add(1, Relaxed);
        m.batch_detections.fetch_add(accepted, Relaxed);
        m.commit_micros.fetch_add(p.started.elapsed().as_micros() as u64, Relaxed);
        m.fusion_pending.store(p.pending_detections as u64, Relaxed);
        m.fusion_joinable.store(p.joinable_incidents as u64, Relaxed);
        self.activity.detections_seen(
            p.detections
                .iter()
                .zip(&p.outcomes)
                .filter(|(_, o)| **o == Outcome::Accepted)
                .map(|(d, _)| (&d.sensor, d.time)),
        );

        // Answer first: producers wait on this.
        let live = self.live.detections.receiver_count() > 0;
        for ((reply, outcome), d) in p.replies.into_iter().zip(&p.outcomes).zip(p.detections) {
            if let Some(r) = reply {
                r(outcome.clone());
            }
            if live && *outcome == Outcome::Accepted {
                let _ = self.live.detections.send(Arc::new(LiveEvent::Detection { detection: d }));
            }
        }
        for (incident, change, cause) in p.incidents {
            let _ = self.live.incidents.send(Arc::new(LiveEvent::Incident { change, incident, cause }));
        }
        for (reply, result) in p.actions {
            if result.is_ok() {
                m.actions.fetch_add(1, Relaxed);
            }
            let _ = reply.send(result);
        }
    }
}
