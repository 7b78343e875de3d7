//! A failed commit: nothing of the batch is acknowledged, nothing of it is stored, and the
//! hub carries on from what is committed (fusion rebuilt, the resent detection accepted as
//! new, incidents counted once).
//!
//! The store is the real SQLite store; a thin wrapper makes its commits fail on demand, the
//! way a full disk or a lost database connection would.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use vigie_hub::ingest::{Ingest, Outcome};
use vigie_hub::metrics::Metrics;
use vigie_hub::store::{
    self, DetectionQuery, IncidentDetail, IncidentQuery, NewDetection, Store, StoreCounts, StoreError, StoredDetection,
    WriteTx,
};
use vigie_model::{Detection, DetectionId, Incident, IncidentEvent, IncidentId};

struct Faulty {
    inner: Box<dyn Store>,
    fail: Arc<AtomicBool>,
}

struct FaultyTx<'a> {
    inner: Box<dyn WriteTx + 'a>,
    fail: bool,
}

impl WriteTx for FaultyTx<'_> {
    fn existing(&mut self, ids: &[DetectionId]) -> store::Result<HashSet<DetectionId>> {
        self.inner.existing(ids)
    }
    fn insert_detections(&mut self, rows: &[NewDetection<'_>], at: DateTime<Utc>) -> store::Result<()> {
        self.inner.insert_detections(rows, at)
    }
    fn set_incident(&mut self, ids: &[DetectionId], incident: IncidentId) -> store::Result<()> {
        self.inner.set_incident(ids, incident)
    }
    fn upsert_incident(&mut self, incident: &Incident) -> store::Result<()> {
        self.inner.upsert_incident(incident)
    }
    fn append_event(&mut self, event: &IncidentEvent) -> store::Result<()> {
        self.inner.append_event(event)
    }
    fn commit(self: Box<Self>) -> store::Result<()> {
        if self.fail {
            // Dropping the inner transaction rolls it back.
            return Err(StoreError::Open("injected: disk full".into()));
        }
        self.inner.commit()
    }
}

impl Store for Faulty {
    fn backend(&self) -> &'static str {
        "sqlite"
    }
    fn begin(&self) -> store::Result<Box<dyn WriteTx + '_>> {
        Ok(Box::new(FaultyTx { inner: self.inner.begin()?, fail: self.fail.load(Ordering::SeqCst) }))
    }
    fn stored(&self, ids: &[DetectionId]) -> store::Result<HashSet<DetectionId>> {
        self.inner.stored(ids)
    }
    fn detections(&self, q: &DetectionQuery) -> store::Result<Vec<StoredDetection>> {
        self.inner.detections(q)
    }
    fn detection(&self, id: DetectionId) -> store::Result<Option<StoredDetection>> {
        self.inner.detection(id)
    }
    fn incidents(&self, q: &IncidentQuery) -> store::Result<Vec<Incident>> {
        self.inner.incidents(q)
    }
    fn incident(&self, id: IncidentId) -> store::Result<Option<IncidentDetail>> {
        self.inner.incident(id)
    }
    fn open_incidents(&self) -> store::Result<Vec<Incident>> {
        self.inner.open_incidents()
    }
    fn unassigned_since(&self, since: DateTime<Utc>) -> store::Result<Vec<Detection>> {
        self.inner.unassigned_since(since)
    }
    fn counts(&self) -> store::Result<StoreCounts> {
        self.inner.counts()
    }
    fn registry(&self) -> &store::Registry {
        self.inner.registry()
    }
}

fn fire(clock_now: DateTime<Utc>) -> Detection {
    let line = common::detection(&common::new_id(), "cam-fire-01", "video.fire", clock_now, 0.9).to_string();
    let bounds = vigie_model::detection::TimeBounds::new(clock_now, 300, 86_400);
    vigie_model::decode(line.as_bytes(), &bounds).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_acknowledges_nothing_and_the_hub_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let fail = Arc::new(AtomicBool::new(false));
    let inner = store::open(dir.path().join("vigie.db").to_str().unwrap()).unwrap();
    let store: Arc<dyn Store> = Arc::new(Faulty { inner, fail: fail.clone() });
    let clock = common::ManualClock::at(common::t0());
    let ingest = Ingest::start(common::config(), store.clone(), clock.clock(), Arc::new(Metrics::default())).unwrap();

    // A fire opens an incident.
    let a = fire(clock.now());
    assert_eq!(ingest.submit(a.clone()).await.unwrap(), Outcome::Accepted);

    // The disk fills: the next detection is not acknowledged and not stored.
    fail.store(true, Ordering::SeqCst);
    let b = fire(clock.now());
    let outcome = ingest.submit(b.clone()).await.unwrap();
    assert!(matches!(outcome, Outcome::Failed(ref m) if m.contains("disk full")), "{outcome:?}");
    assert!(store.detection(b.id).unwrap().is_none(), "a failed batch leaves nothing");
    let incidents = store.incidents(&IncidentQuery { limit: 10, ..Default::default() }).unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].detection_count, 1);

    // The disk is freed; the producer resends: new, not a duplicate, and counted once.
    fail.store(false, Ordering::SeqCst);
    assert_eq!(ingest.submit(b.clone()).await.unwrap(), Outcome::Accepted);
    assert_eq!(ingest.submit(b.clone()).await.unwrap(), Outcome::Duplicate);
    let incidents = store.incidents(&IncidentQuery { limit: 10, ..Default::default() }).unwrap();
    assert_eq!(incidents.len(), 1, "the resent fire joins the same incident");
    assert_eq!(incidents[0].detection_count, 2, "fusion was rebuilt from the store: no phantom count");
    assert_eq!(store.counts().unwrap().detections, 2);
    assert_eq!(ingest.metrics().store_failures.load(Ordering::Relaxed), 1);
}
