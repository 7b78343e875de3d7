//! One suite of store behaviour, written once against `&dyn Store`, run on every backend:
//! SQLite (a file in a temporary folder) and PostgreSQL (a throw-away server from
//! `vigie-testkit`). Each check gets a fresh, empty store; every check runs even when an
//! earlier one fails, and the failures are reported together, named.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;

use chrono::{DateTime, Duration, Utc};
use serde_json::value::RawValue;
use vigie_hub::auth::Role;
use vigie_hub::store::{
    self, DetectionQuery, ExportRecord, ExportStatus, IncidentQuery, LegalHold, NewDetection, PurgeRecord, PurgeScope,
    Requisition, SensorScope, SessionRecord, Store, StoreCounts, StoredDetection, TokenRecord, UserRecord,
};
use vigie_model::geo::BBox;
use vigie_model::{
    Detection, DetectionId, Evidence, Incident, IncidentEvent, IncidentId, IncidentState, Kind, Location, Outcome,
    Priority, SensorId,
};

type Check = fn(&dyn Store);

/// The suite: every backend must pass each of these.
const CHECKS: &[(&str, Check)] = &[
    ("insert_commit_and_existing", insert_commit_and_existing),
    ("same_id_twice_keeps_one_row", same_id_twice_keeps_one_row),
    ("rollback_on_drop_leaves_nothing", rollback_on_drop_leaves_nothing),
    ("detection_round_trip", detection_round_trip),
    ("set_incident_links_detections", set_incident_links_detections),
    ("upsert_incident_inserts_then_updates", upsert_incident_inserts_then_updates),
    ("incident_detail_has_ordered_history_and_detections", incident_detail_has_ordered_history_and_detections),
    ("incidents_filters_and_ordering", incidents_filters_and_ordering),
    ("detections_filters_newest_first", detections_filters_newest_first),
    ("open_incidents_are_new_acknowledged_in_progress", open_incidents_are_new_acknowledged_in_progress),
    ("unassigned_since_boundaries", unassigned_since_boundaries),
    ("counts", counts),
    ("accounts_round_trip_and_updates", accounts_round_trip_and_updates),
    ("sessions_expire_and_end_with_their_account", sessions_expire_and_end_with_their_account),
    ("tokens_keep_scope_and_revocation", tokens_keep_scope_and_revocation),
    ("purges_spare_open_and_held_incidents", purges_spare_open_and_held_incidents),
    ("exports_register_and_decisions", exports_register_and_decisions),
    ("recordings_index_holds_and_purges", recordings_index_holds_and_purges),
    ("wall_layouts_per_person", wall_layouts_per_person),
    ("sensor_positions_once_per_time_in_order_and_purged", sensor_positions_once_per_time_in_order_and_purged),
];

fn run_suite(backend: &str, mut open: impl FnMut(&str) -> Box<dyn Store>) {
    let mut failures = Vec::new();
    for (name, check) in CHECKS {
        let store = open(name);
        assert_eq!(store.backend(), backend);
        if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(|| check(store.as_ref()))) {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("- {name}: {msg}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{backend}: {} of {} store checks failed:\n{}",
        failures.len(),
        CHECKS.len(),
        failures.join("\n")
    );
}

#[test]
fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().expect("temporary folder");
    run_suite("sqlite", |name| {
        let path = dir.path().join(format!("{name}.db"));
        store::open(&path.display().to_string()).expect("open the SQLite store")
    });
}

#[test]
fn postgres_store_conforms() {
    let pg = vigie_testkit::PostgresServer::start().expect("start a throw-away PostgreSQL (scripts/test installs it)");
    run_suite("postgres", |name| {
        let url = pg.create_database(name).expect("create a database for the check");
        store::open(&url).expect("open the PostgreSQL store")
    });
}

// ---------------------------------------------------------------------------------------
// Builders

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("valid time")
}

/// 2026-11-22T21:00:00Z, the suite's origin.
fn base() -> DateTime<Utc> {
    t("2026-11-22T21:00:00Z")
}

fn received() -> DateTime<Utc> {
    t("2026-11-22T22:00:00.250Z")
}

fn det(sensor: &str, kind: Kind, time: DateTime<Utc>, lon: f64, lat: f64) -> Detection {
    Detection {
        id: DetectionId::generate(),
        sensor: SensorId::new(sensor).expect("valid sensor id"),
        kind,
        time,
        location: Location { lon, lat, uncertainty_m: Some(10.0) },
        confidence: 0.8,
        attributes: RawValue::from_string("{}".into()).expect("valid JSON"),
        evidence: vec![],
    }
}

/// A detection at the Bouffay, `secs` after the origin.
fn det_at(secs: i64) -> Detection {
    det("cam-fire-01", Kind::VideoFire, base() + Duration::seconds(secs), -1.5536, 47.2150)
}

fn inc(
    priority: Priority,
    state: IncidentState,
    incident_type: &str,
    district: Option<&str>,
    opened_secs: i64,
) -> Incident {
    let opened = base() + Duration::seconds(opened_secs);
    Incident {
        id: IncidentId::generate(),
        rule: "rule".into(),
        incident_type: incident_type.into(),
        title: format!("{incident_type} opened at +{opened_secs}s"),
        priority,
        state,
        district: district.map(str::to_owned),
        lon: -1.5536,
        lat: 47.2150,
        radius_m: 25.0,
        opened_at: opened,
        updated_at: opened + Duration::seconds(60),
        first_seen: opened - Duration::seconds(5),
        last_seen: opened,
        detection_count: 1,
        sensors: vec![SensorId::new("cam-fire-01").expect("valid")],
        kinds: vec![Kind::VideoFire],
        assignee: None,
        outcome: None,
        version: 1,
    }
}

fn rows<'a>(ds: &[&'a Detection], incident: Option<IncidentId>) -> Vec<NewDetection<'a>> {
    ds.iter().map(|d| NewDetection { detection: d, incident }).collect()
}

fn insert(s: &dyn Store, ds: &[&Detection], incident: Option<IncidentId>) {
    let mut tx = s.begin().expect("begin");
    tx.insert_detections(&rows(ds, incident), received()).expect("insert detections");
    tx.commit().expect("commit");
}

fn upsert(s: &dyn Store, incidents: &[&Incident]) {
    let mut tx = s.begin().expect("begin");
    for i in incidents {
        tx.upsert_incident(i).expect("upsert incident");
    }
    tx.commit().expect("commit");
}

fn all_detections() -> DetectionQuery {
    DetectionQuery { limit: 1000, ..Default::default() }
}

fn all_incidents() -> IncidentQuery {
    IncidentQuery { limit: 1000, ..Default::default() }
}

fn det_ids(v: &[StoredDetection]) -> Vec<DetectionId> {
    v.iter().map(|s| s.detection.id).collect()
}

fn inc_ids(v: &[Incident]) -> Vec<IncidentId> {
    v.iter().map(|i| i.id).collect()
}

fn event(
    incident: IncidentId,
    at: DateTime<Utc>,
    action: &str,
    from: IncidentState,
    to: IncidentState,
    detail: serde_json::Value,
) -> IncidentEvent {
    IncidentEvent { incident, at, actor: "op-1".into(), action: action.into(), from_state: from, to_state: to, detail }
}

// ---------------------------------------------------------------------------------------
// Checks

fn insert_commit_and_existing(s: &dyn Store) {
    let (a, b, c) = (det_at(0), det_at(1), det_at(2));
    insert(s, &[&a, &b, &c], None);
    let unknown = DetectionId::generate();

    let mut tx = s.begin().expect("begin");
    let found = tx.existing(&[a.id, unknown, b.id, c.id]).expect("existing");
    assert_eq!(found, HashSet::from([a.id, b.id, c.id]), "existing finds exactly the committed ids");
    assert!(tx.existing(&[]).expect("existing of nothing").is_empty());
    // Within a transaction, its own uncommitted rows count as existing.
    let d = det_at(3);
    tx.insert_detections(&rows(&[&d], None), received()).expect("insert");
    assert!(tx.existing(&[d.id]).expect("existing").contains(&d.id), "a transaction sees its own insert");
    drop(tx);

    assert_eq!(s.counts().expect("counts").detections, 3);
    assert!(s.detection(d.id).expect("read").is_none(), "the dropped transaction's insert is gone");
    let mut tx = s.begin().expect("begin");
    assert_eq!(tx.existing(&[d.id]).expect("existing"), HashSet::new());
}

fn same_id_twice_keeps_one_row(s: &dyn Store) {
    let a = det_at(0);
    insert(s, &[&a], None);
    // Same id again with other content, in another transaction: the first row stays.
    let mut changed = a.clone();
    changed.confidence = 0.1;
    changed.kind = Kind::VideoCrowdDensity;
    insert(s, &[&changed], None);
    assert_eq!(s.counts().expect("counts").detections, 1);
    assert_eq!(s.detection(a.id).expect("read").expect("stored").detection, a, "the first version is kept");

    // Twice in one batch, and again in the same transaction.
    let b = det_at(1);
    let mut tx = s.begin().expect("begin");
    tx.insert_detections(&rows(&[&b, &b], None), received()).expect("insert a batch holding one id twice");
    tx.insert_detections(&rows(&[&b], None), received()).expect("insert the same id again");
    tx.commit().expect("commit");
    assert_eq!(s.counts().expect("counts").detections, 2);
    let listed = s.detections(&all_detections()).expect("list");
    assert_eq!(det_ids(&listed), vec![b.id, a.id]);
}

fn rollback_on_drop_leaves_nothing(s: &dyn Store) {
    let a = det_at(0);
    let i = inc(Priority::High, IncidentState::New, "safety.fire", None, 0);
    {
        let mut tx = s.begin().expect("begin");
        tx.insert_detections(&rows(&[&a], None), received()).expect("insert");
        tx.upsert_incident(&i).expect("upsert");
        tx.set_incident(&[a.id], i.id).expect("link");
        tx.append_event(&event(
            i.id,
            base(),
            "opened",
            IncidentState::New,
            IncidentState::New,
            serde_json::Value::Null,
        ))
        .expect("event");
        // Dropped without commit.
    }
    assert_eq!(s.counts().expect("counts"), StoreCounts::default(), "nothing of the dropped transaction remains");
    assert!(s.detection(a.id).expect("read").is_none());
    assert!(s.incident(i.id).expect("read").is_none());
    assert!(s.incidents(&all_incidents()).expect("list").is_empty());

    // The store is usable afterwards: the next transaction commits.
    let b = det_at(1);
    insert(s, &[&b], None);
    upsert(s, &[&i]);
    assert_eq!(s.counts().expect("counts"), StoreCounts { detections: 1, incidents: 1, open_incidents: 1 });
    assert!(s.detection(a.id).expect("read").is_none());
}

fn detection_round_trip(s: &dyn Store) {
    const ATTRIBUTES: &str =
        r#"{"zone": "bouffay-nord",  "persons_per_m2":3.1,"nested":{"b":[1,2.5e-3,null,true],"a":"é \"q\" \u00e9"}}"#;
    let a = Detection {
        id: DetectionId::generate(),
        sensor: SensorId::new("cam-commerce-03").expect("valid"),
        kind: Kind::VideoCrowdDensity,
        time: t("2026-11-22T21:30:05.123456789Z"),
        location: Location { lon: -1.559_212_345_678_9, lat: 47.213_3, uncertainty_m: Some(12.5) },
        confidence: 0.823_456_789_012_345,
        attributes: RawValue::from_string(ATTRIBUTES.into()).expect("valid JSON"),
        evidence: vec![
            Evidence {
                media_type: "image/jpeg".into(),
                uri: "evidence/2026/11/22/01JD.jpg".into(),
                sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
            },
            Evidence {
                media_type: "video/mp4".into(),
                uri: "evidence/clip.mp4".into(),
                sha256: "0000000000000000000000000000000000000000000000000000000000000001".into(),
            },
        ],
    };
    let b = Detection {
        id: DetectionId::generate(),
        sensor: SensorId::new("mic-bouffay-03").expect("valid"),
        kind: Kind::AudioGunshot,
        time: t("2026-11-22T21:30:05.000000001Z"),
        location: Location { lon: 180.0, lat: -90.0, uncertainty_m: None },
        confidence: 0.0,
        attributes: RawValue::from_string("{}".into()).expect("valid JSON"),
        evidence: vec![],
    };
    insert(s, &[&a, &b], None);

    for d in [&a, &b] {
        let stored = s.detection(d.id).expect("read").expect("stored");
        assert_eq!(stored, StoredDetection { detection: d.clone(), received_at: received(), incident: None });
        assert_eq!(stored.detection.attributes.get(), d.attributes.get(), "attributes keep the producer's text");
        assert_eq!(stored.detection.time.timestamp_nanos_opt(), d.time.timestamp_nanos_opt(), "nanoseconds kept");
    }
    let listed = s.detections(&all_detections()).expect("list");
    assert_eq!(listed.iter().map(|s| &s.detection).collect::<Vec<_>>(), vec![&a, &b], "newest first, equal");
    assert_eq!(s.unassigned_since(base()).expect("unassigned"), vec![b.clone(), a.clone()], "oldest first, equal");
    assert!(s.detection(DetectionId::generate()).expect("read").is_none());
}

fn set_incident_links_detections(s: &dyn Store) {
    let i = inc(Priority::Critical, IncidentState::New, "safety.fire", None, 0);
    let (a, b, c, d) = (det_at(20), det_at(10), det_at(30), det_at(40));
    let mut tx = s.begin().expect("begin");
    tx.insert_detections(&rows(&[&a, &b, &d], None), received()).expect("insert waiting");
    tx.insert_detections(&rows(&[&c], Some(i.id)), received()).expect("insert linked");
    tx.upsert_incident(&i).expect("upsert");
    tx.commit().expect("commit");
    assert_eq!(s.detection(c.id).expect("read").expect("stored").incident, Some(i.id), "inserted with its incident");
    assert_eq!(s.detection(a.id).expect("read").expect("stored").incident, None);

    let mut tx = s.begin().expect("begin");
    tx.set_incident(&[a.id, b.id], i.id).expect("link");
    tx.set_incident(&[], i.id).expect("link nothing");
    tx.commit().expect("commit");

    for x in [&a, &b, &c] {
        assert_eq!(s.detection(x.id).expect("read").expect("stored").incident, Some(i.id), "{} linked", x.id);
    }
    assert_eq!(s.detection(d.id).expect("read").expect("stored").incident, None, "others untouched");
    let detail = s.incident(i.id).expect("read").expect("stored");
    assert_eq!(det_ids(&detail.detections), vec![b.id, a.id, c.id], "the incident's detections, oldest first");
    assert!(detail.detections.iter().all(|x| x.incident == Some(i.id)));
    assert_eq!(s.unassigned_since(base()).expect("unassigned"), vec![d.clone()]);
}

fn upsert_incident_inserts_then_updates(s: &dyn Store) {
    let mut first = inc(Priority::Medium, IncidentState::New, "crowd.density", Some("bouffay"), 0);
    first.rule = "crowd".into();
    first.title = "Densité de foule".into();
    upsert(s, &[&first]);
    let detail = s.incident(first.id).expect("read").expect("stored");
    assert_eq!(detail.incident, first, "inserted as given");
    assert!(detail.history.is_empty() && detail.detections.is_empty());

    let mut second = first.clone();
    second.rule = "detonation-and-crowd-movement".into();
    second.incident_type = "public_order.detonation_crowd".into();
    second.title = "Détonation et mouvement de foule".into();
    second.priority = Priority::Critical;
    second.state = IncidentState::Resolved;
    second.district = None;
    second.lon = -1.5540;
    second.lat = 47.2155;
    second.radius_m = 140.5;
    second.updated_at = first.updated_at + Duration::seconds(90);
    second.first_seen = first.first_seen - Duration::seconds(3);
    second.last_seen = first.last_seen + Duration::seconds(80);
    second.detection_count = 5;
    second.sensors.push(SensorId::new("mic-bouffay-03").expect("valid"));
    second.kinds = vec![Kind::AudioGunshot, Kind::VideoCrowdMovement];
    second.assignee = Some("Équipe 2".into());
    second.outcome = Some(Outcome::Confirmed);
    second.version = 7;
    upsert(s, &[&second]);
    assert_eq!(s.incident(first.id).expect("read").expect("stored").incident, second, "every field updated");
    assert_eq!(s.counts().expect("counts"), StoreCounts { detections: 0, incidents: 1, open_incidents: 0 });

    // The opening time belongs to the first insert.
    let mut third = second.clone();
    third.opened_at = first.opened_at + Duration::seconds(3600);
    third.state = IncidentState::Closed;
    third.version = 8;
    upsert(s, &[&third]);
    let stored = s.incident(first.id).expect("read").expect("stored").incident;
    assert_eq!(stored.opened_at, first.opened_at, "an update keeps opened_at");
    assert_eq!((stored.state, stored.version), (IncidentState::Closed, 8));
}

fn incident_detail_has_ordered_history_and_detections(s: &dyn Store) {
    use IncidentState as S;
    let i = inc(Priority::High, S::New, "safety.person_down", None, 0);
    let at = |secs: i64| base() + Duration::seconds(secs);
    // History is kept in the order appended, even when clocks disagree.
    let e1 =
        event(i.id, at(10), "opened", S::New, S::New, serde_json::json!({ "rule": "person-down", "detections": 1 }));
    let e2 = event(i.id, at(5), "acknowledge", S::New, S::Acknowledged, serde_json::Value::Null);
    let e3 = event(
        i.id,
        at(5),
        "note",
        S::Acknowledged,
        S::Acknowledged,
        serde_json::json!({ "text": "équipe \"B\" en route" }),
    );
    let e4 = event(i.id, at(30), "start", S::Acknowledged, S::InProgress, serde_json::Value::Null);
    let (d1, d2, d3) = (det_at(20), det_at(5), det_at(12));
    let other = inc(Priority::Low, S::New, "media.buzz", None, 1);

    let mut tx = s.begin().expect("begin");
    tx.upsert_incident(&i).expect("upsert");
    tx.upsert_incident(&other).expect("upsert");
    tx.insert_detections(&rows(&[&d1, &d2, &d3], Some(i.id)), received()).expect("insert");
    for e in [&e1, &e2, &e3] {
        tx.append_event(e).expect("append");
    }
    tx.append_event(&event(other.id, at(1), "opened", S::New, S::New, serde_json::Value::Null)).expect("append");
    tx.commit().expect("commit");
    let mut tx = s.begin().expect("begin");
    tx.append_event(&e4).expect("append");
    tx.commit().expect("commit");

    let detail = s.incident(i.id).expect("read").expect("stored");
    assert_eq!(detail.incident, i);
    assert_eq!(detail.history, vec![e1, e2, e3, e4], "history in append order, every field kept");
    assert_eq!(det_ids(&detail.detections), vec![d2.id, d3.id, d1.id], "detections oldest first");
    assert_eq!(detail.detections[0].detection, d2);
    assert_eq!(s.incident(other.id).expect("read").expect("stored").history.len(), 1, "histories stay apart");
    assert!(s.incident(IncidentId::generate()).expect("read").is_none());
}

fn incidents_filters_and_ordering(s: &dyn Store) {
    use IncidentState as S;
    let i1 = inc(Priority::Critical, S::New, "safety.fire", Some("bouffay"), 30);
    let i2 = inc(Priority::Critical, S::Acknowledged, "public_order.weapon", Some("gare"), 10);
    let i3 = inc(Priority::High, S::InProgress, "crowd.density", Some("bouffay"), 5);
    let i4 = inc(Priority::Medium, S::Resolved, "safety.fire", None, 1);
    let i5 = inc(Priority::Low, S::Closed, "system.sensor_offline", Some("gare"), 0);
    let i6 = inc(Priority::High, S::New, "safety.fire", Some("bouffay"), 20);
    upsert(s, &[&i4, &i6, &i1, &i5, &i3]);
    upsert(s, &[&i2]);
    let q = |f: &dyn Fn(&mut IncidentQuery)| {
        let mut q = all_incidents();
        f(&mut q);
        inc_ids(&s.incidents(&q).expect("list incidents"))
    };

    assert_eq!(q(&|_| {}), vec![i2.id, i1.id, i3.id, i6.id, i4.id, i5.id], "priority, then oldest first");
    assert_eq!(s.incidents(&all_incidents()).expect("list")[0], i2, "listed incidents are whole");
    assert_eq!(q(&|q| q.states = vec![S::New]), vec![i1.id, i6.id]);
    assert_eq!(q(&|q| q.states = vec![S::New, S::Acknowledged, S::InProgress]), vec![i2.id, i1.id, i3.id, i6.id]);
    assert_eq!(q(&|q| q.states = vec![S::Closed, S::Resolved]), vec![i4.id, i5.id]);
    assert_eq!(q(&|q| q.incident_type = Some("safety.fire".into())), vec![i1.id, i6.id, i4.id]);
    assert_eq!(q(&|q| q.incident_type = Some("safety".into())), vec![], "the type matches whole");
    assert_eq!(q(&|q| q.district = Some("bouffay".into())), vec![i1.id, i3.id, i6.id]);
    assert_eq!(q(&|q| q.min_priority = Some(Priority::Critical)), vec![i2.id, i1.id]);
    assert_eq!(q(&|q| q.min_priority = Some(Priority::High)), vec![i2.id, i1.id, i3.id, i6.id]);
    assert_eq!(q(&|q| q.min_priority = Some(Priority::Low)).len(), 6);
    assert_eq!(q(&|q| q.limit = 2), vec![i2.id, i1.id]);
    assert_eq!(
        q(&|q| q.since = Some(base() + Duration::seconds(70))),
        vec![i2.id, i1.id, i6.id],
        "since filters on updated_at (opened + 60 s here), inclusive"
    );
    assert_eq!(
        q(&|q| {
            q.states = vec![S::New, S::Acknowledged, S::InProgress];
            q.incident_type = Some("safety.fire".into());
            q.district = Some("bouffay".into());
            q.min_priority = Some(Priority::Critical);
        }),
        vec![i1.id],
        "filters combine"
    );
}

fn detections_filters_newest_first(s: &dyn Store) {
    let at = |secs: i64| base() + Duration::seconds(secs);
    let d0 = det("cam-fire-01", Kind::VideoFire, at(0), -1.5536, 47.2150);
    let d1 = det("cam-fire-01", Kind::VideoCrowdDensity, at(10), -1.5536, 47.2150);
    let d2 = det("mic-bouffay-03", Kind::AudioGunshot, at(20), -1.5540, 47.2155);
    let d3 = det("cam-gare-02", Kind::VideoTamper, at(30), -1.5420, 47.2175);
    let d4 = det("cam-fire-01", Kind::VideoFire, at(40), 2.3522, 48.8566);
    let d5 = det("flows-centre-04", Kind::FlowsPresenceAnomaly, at(50), -1.5550, 47.2140);
    let d6 = det("cam-fire-01", Kind::VideoFire, at(60) + Duration::nanoseconds(1), -1.5536, 47.2150);
    insert(s, &[&d3, &d0, &d5], None);
    insert(s, &[&d6, &d2, &d4, &d1], None);
    let q = |f: &dyn Fn(&mut DetectionQuery)| {
        let mut q = all_detections();
        f(&mut q);
        det_ids(&s.detections(&q).expect("list detections"))
    };
    let nantes = BBox { min_lon: -1.6, min_lat: 47.1, max_lon: -1.5, max_lat: 47.3 };

    assert_eq!(q(&|_| {}), vec![d6.id, d5.id, d4.id, d3.id, d2.id, d1.id, d0.id], "newest first");
    assert_eq!(
        q(&|q| {
            q.from = Some(at(10));
            q.to = Some(at(40));
        }),
        vec![d4.id, d3.id, d2.id, d1.id],
        "the time range includes both ends"
    );
    assert_eq!(q(&|q| q.to = Some(at(60))).first(), Some(&d5.id), "one nanosecond after `to` is out");
    assert_eq!(q(&|q| q.from = Some(at(60) + Duration::nanoseconds(1))), vec![d6.id], "nanosecond `from`");
    assert_eq!(q(&|q| q.bbox = Some(nantes)), vec![d6.id, d5.id, d3.id, d2.id, d1.id, d0.id], "bbox");
    let gare = BBox { min_lon: -1.5420, min_lat: 47.2175, max_lon: -1.5420, max_lat: 47.2175 };
    assert_eq!(q(&|q| q.bbox = Some(gare)), vec![d3.id], "the bbox includes its edges");
    assert_eq!(q(&|q| q.kind = Some(Kind::VideoFire)), vec![d6.id, d4.id, d0.id]);
    assert_eq!(q(&|q| q.sensor = Some(SensorId::new("cam-fire-01").expect("valid"))), vec![d6.id, d4.id, d1.id, d0.id]);
    assert_eq!(q(&|q| q.sensor = Some(SensorId::new("cam-nowhere").expect("valid"))), vec![]);
    assert_eq!(
        q(&|q| {
            q.kind = Some(Kind::VideoFire);
            q.sensor = Some(SensorId::new("cam-fire-01").expect("valid"));
            q.bbox = Some(nantes);
            q.from = Some(at(0));
        }),
        vec![d6.id, d0.id],
        "filters combine"
    );
    assert_eq!(q(&|q| q.limit = 3), vec![d6.id, d5.id, d4.id], "the limit keeps the newest");
    assert_eq!(
        q(&|q| {
            q.limit = 1;
            q.kind = Some(Kind::VideoFire);
        }),
        vec![d6.id]
    );
}

fn open_incidents_are_new_acknowledged_in_progress(s: &dyn Store) {
    use IncidentState as S;
    let all: Vec<Incident> = [S::New, S::Acknowledged, S::InProgress, S::Resolved, S::Closed]
        .iter()
        .enumerate()
        .map(|(n, st)| inc(Priority::Medium, *st, "safety.fire", None, n as i64))
        .collect();
    upsert(s, &all.iter().collect::<Vec<_>>());
    let mut open = s.open_incidents().expect("open incidents");
    open.sort_by_key(|i| i.opened_at);
    assert_eq!(open, all[..3].to_vec(), "new, acknowledged and in progress, whole");

    let mut closing = all[2].clone();
    closing.state = S::Resolved;
    upsert(s, &[&closing]);
    assert_eq!(
        inc_ids(&s.open_incidents().expect("open")).into_iter().collect::<HashSet<_>>(),
        HashSet::from([all[0].id, all[1].id])
    );
}

fn unassigned_since_boundaries(s: &dyn Store) {
    let i = inc(Priority::High, IncidentState::New, "safety.fire", None, 0);
    let (e, a, b, c, d) = (det_at(-10), det_at(0), det_at(10), det_at(20), det_at(30));
    let mut tx = s.begin().expect("begin");
    tx.upsert_incident(&i).expect("upsert");
    tx.insert_detections(&rows(&[&d, &a, &e, &b], None), received()).expect("insert");
    tx.insert_detections(&rows(&[&c], Some(i.id)), received()).expect("insert linked");
    tx.commit().expect("commit");

    assert_eq!(s.unassigned_since(base()).expect("unassigned"), vec![a.clone(), b.clone(), d.clone()], "oldest first");
    let ten = base() + Duration::seconds(10);
    assert_eq!(s.unassigned_since(ten).expect("unassigned"), vec![b.clone(), d.clone()], "`since` is inclusive");
    assert_eq!(s.unassigned_since(ten + Duration::nanoseconds(1)).expect("unassigned"), vec![d.clone()]);
    assert_eq!(s.unassigned_since(base() + Duration::seconds(31)).expect("unassigned"), vec![]);

    let mut tx = s.begin().expect("begin");
    tx.set_incident(&[d.id], i.id).expect("link");
    tx.commit().expect("commit");
    assert_eq!(s.unassigned_since(base()).expect("unassigned"), vec![a, b], "a linked detection no longer waits");
}

fn counts(s: &dyn Store) {
    use IncidentState as S;
    assert_eq!(s.counts().expect("counts"), StoreCounts::default());
    let ds: Vec<Detection> = (0..4).map(det_at).collect();
    insert(s, &ds.iter().collect::<Vec<_>>(), None);
    insert(s, &[&ds[0]], None);
    let mut i1 = inc(Priority::High, S::New, "safety.fire", None, 0);
    let i2 = inc(Priority::High, S::InProgress, "safety.fire", None, 1);
    let i3 = inc(Priority::High, S::Closed, "safety.fire", None, 2);
    upsert(s, &[&i1, &i2, &i3]);
    assert_eq!(s.counts().expect("counts"), StoreCounts { detections: 4, incidents: 3, open_incidents: 2 });
    i1.state = S::Resolved;
    upsert(s, &[&i1]);
    assert_eq!(s.counts().expect("counts"), StoreCounts { detections: 4, incidents: 3, open_incidents: 1 });
}

fn user(name: &str, role: Role) -> UserRecord {
    UserRecord {
        username: name.into(),
        role,
        display_name: format!("{name} (CSU)"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        must_change_password: true,
        disabled: false,
        created_at: base(),
        password_changed_at: base(),
    }
}

fn accounts_round_trip_and_updates(s: &dyn Store) {
    let r = s.registry();
    assert_eq!(r.user_count().expect("count"), 0);
    let alice = user("alice", Role::Supervisor);
    assert!(r.create_user(&alice).expect("create"));
    assert!(!r.create_user(&user("alice", Role::Admin)).expect("create twice"), "a taken name is not overwritten");
    assert!(r.create_user(&user("bob", Role::Dpo)).expect("create"));
    assert_eq!(r.user("alice").expect("get"), Some(alice.clone()));
    assert_eq!(r.user("nobody").expect("get"), None);
    assert_eq!(r.users().expect("list").iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), ["alice", "bob"]);
    assert_eq!(r.user_count().expect("count"), 2);

    let later = base() + Duration::days(3);
    assert!(r.set_password("alice", "$argon2id$new", false, later).expect("set"));
    assert!(!r.set_password("nobody", "$argon2id$new", false, later).expect("set"));
    let a = r.user("alice").expect("get").expect("alice");
    assert_eq!(
        (a.password_hash.as_str(), a.must_change_password, a.password_changed_at),
        ("$argon2id$new", false, later)
    );
    assert!(r.set_disabled("bob", true).expect("disable"));
    assert!(r.user("bob").expect("get").expect("bob").disabled);
    assert!(!r.set_disabled("nobody", true).expect("disable"));
}

fn session(id: &str, user: &str, created: DateTime<Utc>) -> SessionRecord {
    SessionRecord {
        id_hash: id.into(),
        username: user.into(),
        csrf: format!("csrf-{id}"),
        created_at: created,
        last_seen: created,
        expires_at: created + Duration::hours(12),
        client: "192.0.2.1".into(),
    }
}

fn sessions_expire_and_end_with_their_account(s: &dyn Store) {
    let r = s.registry();
    let (a1, a2, b1) = (
        session("a1", "alice", base()),
        session("a2", "alice", base()),
        session("b1", "bob", base() + Duration::hours(1)),
    );
    for x in [&a1, &a2, &b1] {
        r.create_session(x).expect("create");
    }
    assert_eq!(r.session("a1").expect("get"), Some(a1.clone()));
    let seen = base() + Duration::minutes(30);
    r.touch_session("a1", seen).expect("touch");
    assert_eq!(r.session("a1").expect("get").expect("a1").last_seen, seen);
    assert_eq!(r.delete_sessions_of("alice").expect("delete"), 2);
    assert_eq!(r.session("a2").expect("get"), None);
    assert!(r.delete_session("b1").expect("delete"));
    assert!(!r.delete_session("b1").expect("delete again"));

    // Stale: past expiry, or idle since before the cut.
    let (old, idle, live) = (
        session("old", "x", base() - Duration::hours(13)),
        session("idle", "x", base() - Duration::hours(3)),
        session("live", "x", base()),
    );
    for x in [&old, &idle, &live] {
        r.create_session(x).expect("create");
    }
    assert_eq!(r.delete_stale_sessions(base(), base() - Duration::hours(2)).expect("purge"), 2);
    assert!(r.session("live").expect("get").is_some());
}

fn tokens_keep_scope_and_revocation(s: &dyn Store) {
    let r = s.registry();
    let device = TokenRecord {
        id: "tok_cam".into(),
        secret_hash: "aa".repeat(32),
        label: "caméra Commerce".into(),
        role: None,
        sensors: SensorScope::Only(vec!["cam-commerce-03".into(), "cam-commerce-04".into()]),
        created_by: "user:admin".into(),
        created_at: base(),
        revoked_at: None,
    };
    let service = TokenRecord {
        id: "tok_vms".into(),
        secret_hash: "bb".repeat(32),
        label: "VMS".into(),
        role: Some(Role::Operator),
        sensors: SensorScope::All,
        created_by: "user:admin".into(),
        created_at: base() + Duration::seconds(1),
        revoked_at: None,
    };
    r.create_token(&device).expect("create");
    r.create_token(&service).expect("create");
    assert_eq!(r.tokens().expect("list"), vec![service.clone(), device.clone()], "newest first, scopes kept");
    let mut same_secret = device.clone();
    same_secret.id = "tok_other".into();
    assert!(r.create_token(&same_secret).is_err(), "a secret is unique");
    let at = base() + Duration::hours(1);
    assert!(r.revoke_token("tok_cam", at).expect("revoke"));
    assert!(!r.revoke_token("tok_cam", at).expect("revoke twice"));
    assert!(!r.revoke_token("tok_none", at).expect("revoke unknown"));
    let listed = r.tokens().expect("list");
    assert_eq!(listed[1].revoked_at, Some(at));
    assert!(device.sensors.allows("cam-commerce-04") && !device.sensors.allows("cam-gare-01"));
    assert!(service.sensors.allows("anything"));
}

fn with_file(mut d: Detection, name: &str) -> Detection {
    d.evidence =
        vec![Evidence { media_type: "image/jpeg".into(), uri: format!("evidence/{name}"), sha256: "ab".repeat(32) }];
    d
}

fn purges_spare_open_and_held_incidents(s: &dyn Store) {
    use IncidentState as S;
    let r = s.registry();
    let (open, closed, held) = (
        inc(Priority::High, S::InProgress, "safety.fire", None, 0),
        inc(Priority::High, S::Closed, "safety.fire", None, 1),
        inc(Priority::High, S::Resolved, "safety.fire", None, 2),
    );
    upsert(s, &[&open, &closed, &held]);
    let old = base() - Duration::days(40);
    let lone = with_file(det("cam-a", Kind::VideoFire, old, -1.55, 47.21), "lone.jpg");
    let other_sensor = det("cam-b", Kind::VideoFire, old, -1.55, 47.21);
    let of_open = det("cam-a", Kind::VideoFire, old, -1.55, 47.21);
    let of_closed = with_file(det("cam-a", Kind::VideoFire, old, -1.55, 47.21), "closed.jpg");
    let of_held = with_file(det("cam-a", Kind::VideoFire, old, -1.55, 47.21), "held.jpg");
    let fresh = det("cam-a", Kind::VideoFire, base(), -1.55, 47.21);
    insert(s, &[&lone, &other_sensor, &fresh], None);
    insert(s, &[&of_open], Some(open.id));
    insert(s, &[&of_closed], Some(closed.id));
    insert(s, &[&of_held], Some(held.id));
    r.hold(&LegalHold {
        incident_id: held.id.to_string(),
        reason: "réquisition".into(),
        held_by: "opj".into(),
        since: base(),
    })
    .expect("hold");
    assert!(
        !r.hold(&LegalHold {
            incident_id: held.id.to_string(),
            reason: "x".into(),
            held_by: "x".into(),
            since: base()
        })
        .expect("hold twice")
    );
    let held_files = r.held_evidence().expect("held evidence");
    assert!(held_files.contains("held.jpg") && !held_files.contains("closed.jpg"), "{held_files:?}");
    assert!(r.evidence_cited("lone.jpg").expect("cited?") && !r.evidence_cited("nothing.jpg").expect("cited?"));

    let cut = base() - Duration::days(30);
    // Evidence first: every old reference but the held one.
    let stripped = r.strip_evidence(PurgeScope::Sensor("cam-a"), cut, 100).expect("strip");
    assert_eq!(stripped.len(), 2, "{stripped:?}");
    assert!(stripped.iter().all(|e| !e.contains("held.jpg")));
    assert!(!r.evidence_cited("lone.jpg").expect("cited?"));
    // Then detections: not the open incident's, not the held one's, not cam-b's (another scope).
    let gone = r.purge_detections(PurgeScope::Sensor("cam-a"), cut, 100).expect("purge");
    assert_eq!(gone.len(), 2, "the lone one and the closed incident's");
    let left: HashSet<DetectionId> = det_ids(&s.detections(&all_detections()).expect("list")).into_iter().collect();
    assert_eq!(left, HashSet::from([other_sensor.id, of_open.id, of_held.id, fresh.id]));
    let except = vec!["cam-a".to_owned()];
    assert_eq!(r.purge_detections(PurgeScope::AllExcept(&except), cut, 100).expect("purge").len(), 1, "cam-b's");
    assert_eq!(r.purge_detections(PurgeScope::AllExcept(&[]), cut, 1).expect("purge").len(), 0, "the rest is spared");

    // Incidents: the closed one goes, the held and the open stay.
    let later = base() + Duration::days(400);
    let (incidents, detections, _) = r.purge_incidents(later, 100).expect("purge incidents");
    assert_eq!((incidents, detections), (1, 0));
    assert!(s.incident(closed.id).expect("get").is_none());
    assert!(s.incident(held.id).expect("get").is_some() && s.incident(open.id).expect("get").is_some());
    assert!(r.release_hold(&held.id.to_string()).expect("release"));
    let (incidents, detections, evidence) = r.purge_incidents(later, 100).expect("purge incidents");
    assert_eq!((incidents, detections), (1, 1));
    assert!(evidence[0].contains("held.jpg"));

    r.record_purge(&PurgeRecord {
        id: "p1".into(),
        at: base(),
        data_class: "detections".into(),
        count: 3,
        detail: "d".into(),
    })
    .expect("record");
    r.record_purge(&PurgeRecord {
        id: "p2".into(),
        at: later,
        data_class: "incidents".into(),
        count: 1,
        detail: "i".into(),
    })
    .expect("record");
    let all = r.purges(None, None).expect("purges");
    assert_eq!(all.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["p2", "p1"], "newest first");
    assert_eq!(r.purges(Some(base()), Some(base() + Duration::days(1))).expect("purges").len(), 1);
}

fn exports_register_and_decisions(s: &dyn Store) {
    let r = s.registry();
    let requisition = Requisition {
        service: "Commissariat central".into(),
        officer: "Capitaine Durand, OPJ".into(),
        number: "2026/118".into(),
        date: "2026-11-22".into(),
    };
    let mut e = ExportRecord {
        id: "EXP1".into(),
        incident_id: "INC1".into(),
        requisition,
        reason: "enquête".into(),
        requested_by: "user:olivia".into(),
        requested_at: base(),
        status: ExportStatus::Requested,
        decided_by: None,
        decided_at: None,
        decision_note: None,
        package_sha256: None,
        package_bytes: None,
        files: None,
        expires_at: None,
    };
    r.create_export(&e).expect("create");
    assert_eq!(r.export("EXP1").expect("get"), Some(e.clone()));
    e.status = ExportStatus::Approved;
    e.decided_by = Some("user:samir".into());
    e.decided_at = Some(base() + Duration::hours(1));
    e.package_sha256 = Some("cd".repeat(32));
    e.package_bytes = Some(12_345);
    e.files = Some(2);
    e.expires_at = Some(base() + Duration::hours(25));
    assert!(r.decide_export(&e).expect("decide"));
    assert!(!r.decide_export(&e).expect("decide twice"), "a decision is final");
    assert_eq!(r.export("EXP1").expect("get"), Some(e.clone()));
    assert!(r.expire_exports(base() + Duration::hours(24)).expect("expire").is_empty());
    let expired = r.expire_exports(base() + Duration::hours(25)).expect("expire");
    assert_eq!(expired.len(), 1);
    assert_eq!(r.export("EXP1").expect("get").expect("EXP1").status, ExportStatus::Expired);
    assert_eq!(r.exports(None, None).expect("list").len(), 1);
    assert!(r.exports(Some(base() + Duration::seconds(1)), None).expect("list").is_empty());
}

// ---------------------------------------------------------------------------------------
// Recordings (issue 9)

fn segment(
    camera: &str,
    start: DateTime<Utc>,
    secs: i64,
    mode: vigie_record::config::RecordMode,
) -> vigie_record::segment::SegmentMeta {
    vigie_record::segment::SegmentMeta {
        id: ulid::Ulid::new().to_string(),
        camera: camera.into(),
        start,
        end: start + Duration::seconds(secs),
        duration_ms: secs as u64 * 1000,
        bytes: 1000 + secs as u64,
        sha256: "cd".repeat(32),
        codec: "avc1.64001f".into(),
        width: 1920,
        height: 1080,
        frames: secs as u64 * 25,
        masked: true,
        masks: 2,
        mode,
        pre_secs: 10,
        post_secs: 30,
    }
}

fn recordings_index_holds_and_purges(s: &dyn Store) {
    use vigie_record::config::RecordMode::{Continuous, Events};
    let r = s.registry();
    let old = base() - Duration::days(40);
    let s1 = segment("cam-a", old, 10, Continuous);
    let s2 = segment("cam-a", old + Duration::seconds(10), 10, Continuous);
    let s3 = segment("cam-b", old, 10, Continuous);
    let s4 = segment("cam-a", base(), 10, Continuous);
    let s5 = segment("cam-e", base() - Duration::hours(1), 10, Events);
    let s6 = segment("cam-e", base() - Duration::minutes(30), 10, Events);
    for m in [&s1, &s2, &s3, &s4, &s5, &s6] {
        assert!(r.insert_segment(m, &format!("{}/d/{}.mp4", m.camera, m.id), received()).expect("insert"));
    }
    assert!(!r.insert_segment(&s1, "again", received()).expect("insert twice"), "an id is indexed once");
    // s2 is held: a detection of its camera, 2 s into it, belongs to an incident on hold.
    let held = inc(Priority::High, IncidentState::Resolved, "safety.fire", None, 0);
    let d = det("cam-a", Kind::VideoFire, old + Duration::seconds(12), -1.55, 47.21);
    insert(s, &[&d], Some(held.id));
    r.hold(&LegalHold {
        incident_id: held.id.to_string(),
        reason: "réquisition".into(),
        held_by: "opj".into(),
        since: base(),
    })
    .expect("hold");
    // A detection of cam-e keeps s6 (events mode).
    let e = det("cam-e", Kind::VideoFire, s6.start + Duration::seconds(20), -1.55, 47.21);
    insert(s, &[&e], None);

    let listed = r.segments("cam-a", old - Duration::days(1), base() + Duration::days(1), 100).expect("list");
    let ids: Vec<&str> = listed.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, vec![s1.id.as_str(), s2.id.as_str(), s4.id.as_str()], "in time order");
    // The 5-minute hold margin reaches s1 too (it ends 2 s before the detection).
    assert!(listed[0].held && listed[1].held && !listed[2].held, "{listed:?}");
    assert_eq!((listed[1].start, listed[1].end, listed[1].masks), (s2.start, s2.end, 2));
    assert_eq!(listed[1].path, format!("cam-a/d/{}.mp4", s2.id));
    let one = r.segment(&s4.id).expect("get").expect("s4");
    assert_eq!((one.width, one.height, one.frames, one.mode.as_str()), (1920, 1080, 250, "continuous"));
    assert!(r.segment("01JDQ8M6N4X2V6Z7Y8W9A0B1C2").expect("get").is_none());
    let window = r.segments("cam-a", base() + Duration::seconds(5), base() + Duration::seconds(6), 100).expect("list");
    assert_eq!(window.len(), 1, "a segment overlapping the window is listed");
    let cams = r.recording_cameras().expect("cameras");
    let a = cams.iter().find(|c| c.camera == "cam-a").expect("cam-a");
    assert_eq!((a.segments, a.bytes), (3, 3030));
    assert_eq!(r.recordings_bytes().expect("bytes"), 6060);

    let cut = base() - Duration::days(30);
    let gone = r.purge_recordings(PurgeScope::Sensor("cam-a"), cut, 100).expect("purge cam-a");
    assert!(gone.is_empty(), "s1 and s2 are within the hold's margin: {gone:?}");
    let gone = r.purge_recordings(PurgeScope::AllExcept(&["cam-a".into()]), cut, 100).expect("purge others");
    assert_eq!(gone.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), vec![s3.id.as_str()]);
    assert_eq!((gone[0].camera.as_str(), gone[0].bytes), ("cam-b", 1010));
    let gone = r.purge_unneeded_event_recordings(base(), Duration::seconds(60), 100).expect("events");
    assert_eq!(
        gone.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        vec![s5.id.as_str()],
        "s6 is kept by its detection"
    );
    let gone = r.purge_oldest_recordings(100).expect("budget");
    let mut ids: Vec<&str> = gone.iter().map(|g| g.id.as_str()).collect();
    ids.sort();
    let mut want = vec![s4.id.as_str(), s6.id.as_str()];
    want.sort();
    assert_eq!(ids, want, "everything not held goes, oldest first");
    // Once the hold is lifted, the old segments can go.
    assert!(r.release_hold(&held.id.to_string()).expect("release"));
    assert_eq!(r.purge_recordings(PurgeScope::Sensor("cam-a"), cut, 100).expect("purge").len(), 2);
    assert_eq!(r.recordings_bytes().expect("bytes"), 0);
}

fn wall_layouts_per_person(s: &dyn Store) {
    let r = s.registry();
    let l4 = serde_json::json!({ "grid": 4, "tiles": ["cam-a", null, "cam-b", null] });
    r.save_wall_layout("user:olivia", "Centre", &l4, base()).expect("save");
    r.save_wall_layout("user:samir", "Centre", &serde_json::json!({ "grid": 1 }), base()).expect("save");
    let l9 = serde_json::json!({ "grid": 9, "tour": { "secs": 20 } });
    r.save_wall_layout("user:olivia", "Centre", &l9, base() + Duration::seconds(1)).expect("replace");
    r.save_wall_layout("user:olivia", "Gare", &l4, base()).expect("save");
    let mine = r.wall_layouts("user:olivia").expect("list");
    assert_eq!(mine.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), vec!["Centre", "Gare"]);
    assert_eq!(mine[0].layout, l9);
    assert_eq!(mine[0].updated_at, base() + Duration::seconds(1));
    assert_eq!(r.wall_layouts("user:samir").expect("list").len(), 1, "layouts are per person");
    assert!(r.delete_wall_layout("user:olivia", "Gare").expect("delete"));
    assert!(!r.delete_wall_layout("user:olivia", "Gare").expect("delete twice"));
    assert_eq!(r.wall_layouts("user:olivia").expect("list").len(), 1);
}

fn fix(secs: i64, lon: f64, heading: Option<f64>) -> vigie_model::PositionFix {
    vigie_model::PositionFix {
        time: base() + Duration::milliseconds(secs * 1000 + 123),
        lon,
        lat: 47.2135,
        heading_deg: heading,
        accuracy_m: heading.map(|_| 4.5),
        speed_mps: None,
    }
}

fn sensor_positions_once_per_time_in_order_and_purged(s: &dyn Store) {
    let r = s.registry();
    let (a, b, c) = (fix(2, -1.5530, Some(87.5)), fix(0, -1.5540, None), fix(1, -1.5535, Some(359.0)));
    assert_eq!(r.insert_positions("drone-1", &[a, b], received()).expect("insert"), vec![true, true]);
    // A redelivery of `a` with another position keeps the first; `c` is new.
    let moved = vigie_model::PositionFix { lon: 0.0, ..a };
    assert_eq!(r.insert_positions("drone-1", &[moved, c], received()).expect("insert"), vec![false, true]);
    r.insert_positions("tram-1", &[fix(1, -1.56, None)], received()).expect("insert");

    let all = r.positions("drone-1", base() - Duration::days(1), base() + Duration::days(1), 100).expect("list");
    assert_eq!(all, vec![b, c, a], "in time order, nanoseconds and nulls kept");
    let window = r.positions("drone-1", b.time + Duration::milliseconds(1), a.time, 100).expect("window");
    assert_eq!(window, vec![c, a], "the range is inclusive at its end");
    assert_eq!(r.positions("drone-1", b.time, a.time, 1).expect("limit"), vec![b]);
    assert_eq!(r.latest_positions("drone-1", 2).expect("latest"), vec![c, a], "the newest, oldest first");
    assert!(r.latest_positions("cam-fixed", 10).expect("none").is_empty());

    assert_eq!(r.purge_positions(PurgeScope::Sensor("drone-1"), c.time, 100).expect("purge"), 1, "b only");
    let others = ["drone-1".to_owned()];
    assert_eq!(r.purge_positions(PurgeScope::AllExcept(&others), base() + Duration::days(1), 100).expect("purge"), 1);
    assert_eq!(
        r.positions("drone-1", base() - Duration::days(1), base() + Duration::days(1), 100).expect("list"),
        vec![c, a]
    );
    assert!(r.latest_positions("tram-1", 10).expect("list").is_empty());
}
