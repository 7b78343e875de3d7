//! Retention with a clock moved by hand (issue 4): each class of data goes when its time
//! is up, a sensor keeping less loses its data first, images never outlive the legal
//! month, an incident under legal hold keeps everything, and every purge is registered
//! and audited by count.

mod common;

use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use vigie_hub::retention::Retention;
use vigie_hub::store::LegalHold;
use vigie_hub::{Hub, HubOptions, MqttMode};
use vigie_model::DetectionId;
use vigie_model::config::Config;

use common::*;

/// A hub with its audit log in `dir`, on the manual clock.
async fn start(config: &Arc<Config>, dir: &Path, clock: &ManualClock) -> Hub {
    Hub::start_with_audit(
        HubOptions {
            config: config.clone(),
            http_listen: "127.0.0.1:0".parse().unwrap(),
            store_url: dir.join("vigie.db").display().to_string(),
            mqtt: MqttMode::Off,
            clock: clock.clock(),
        },
        Some(dir.join("audit")),
    )
    .await
    .unwrap()
}

async fn upload(addr: std::net::SocketAddr, body: &str) -> String {
    let r = request(addr, "POST", "/api/v1/evidence", &[("Content-Type", "application/json")], body.as_bytes()).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["uri"].as_str().unwrap().to_owned()
}

fn with_evidence(mut d: Value, uri: &str) -> String {
    let sha = uri.trim_start_matches("evidence/").trim_end_matches(".json").to_owned();
    d["evidence"] = json!([{ "media_type": "application/json", "uri": uri, "sha256": sha }]);
    d.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_class_goes_in_its_time_and_a_hold_keeps_everything() {
    let toml = CONFIG_TOML.replace(
        "analytics = [\"video.tamper\", \"video.abandoned_object\"]",
        "analytics = [\"video.tamper\", \"video.abandoned_object\"]\nretention_days = 2",
    ) + "\n[retention]\ndetections_days = 10\nevidence_days = 5\nincidents_days = 20\n";
    let config = Arc::new(Config::from_toml(&toml, Path::new("retention.toml"), None).unwrap());
    let dir = tempfile::tempdir().unwrap();
    // File times are real: the clock starts now.
    let clock = ManualClock::at(Utc::now());
    let hub = start(&config, dir.path(), &clock).await;
    install_test_token(&hub);
    let addr = hub.http_addr;
    let retention = Retention::new(
        hub.store.clone(),
        Some(vigie_hub::evidence::EvidenceStore::new(dir.path().join("evidence"))),
        Some(dir.path().join("exports")),
        hub.audit.clone(),
        config,
        clock.clock(),
    );
    let now = clock.now();

    // A camera keeping 2 days, a fire that stays open, a fire resolved, a fire held.
    let short_ev = upload(addr, r#"{"chart":"short"}"#).await;
    let short = new_id();
    let open_fire = new_id();
    let resolved_fire = new_id();
    let held_fire = new_id();
    let held_ev = upload(addr, r#"{"chart":"held"}"#).await;
    let resolved_ev = upload(addr, r#"{"chart":"resolved"}"#).await;
    let mut lines = vec![with_evidence(detection(&short, "cam-gare-02", "video.tamper", now, 0.9), &short_ev)];
    for (id, lon, ev) in [
        (&open_fire, -1.5536, None),
        (&resolved_fire, -1.5436, Some(&resolved_ev)),
        (&held_fire, -1.5336, Some(&held_ev)),
    ] {
        let mut d = detection(id, "cam-fire-01", "video.fire", now, 0.9);
        d["location"]["lon"] = json!(lon);
        lines.push(match ev {
            Some(uri) => with_evidence(d, uri),
            None => d.to_string(),
        });
    }
    let r = post_ndjson(addr, &lines).await;
    assert_eq!(r.json()["accepted"], 4, "{}", r.text());
    let incident_of =
        |id: &str| hub.store.detection(DetectionId::parse(id).unwrap()).unwrap().unwrap().incident.unwrap().to_string();
    let (resolved_inc, held_inc) = (incident_of(&resolved_fire), incident_of(&held_fire));
    assert_ne!(resolved_inc, held_inc);
    // (The camera's tamper opened an incident too: resolved, its detection may go.)
    for inc in [&resolved_inc, &held_inc, &incident_of(&short)] {
        let path = format!("/api/v1/incidents/{inc}/actions");
        assert_eq!(post_json(addr, &path, &json!({ "action": "resolve", "outcome": "confirmed" })).await.status, 200);
    }
    hub.store
        .registry()
        .hold(&LegalHold {
            incident_id: held_inc.clone(),
            reason: "réquisition 2026/118".into(),
            held_by: "tests".into(),
            since: now,
        })
        .unwrap();
    let stored = |id: &str| hub.store.detection(DetectionId::parse(id).unwrap()).unwrap();
    let file = |uri: &str| dir.path().join(uri);

    assert!(retention.tick().await.unwrap().is_empty(), "nothing is due yet");

    clock.advance(Duration::days(3));
    let r = retention.tick().await.unwrap();
    assert_eq!((r.detections, r.evidence_files), (1, 1), "{r:?}");
    assert!(stored(&short).is_none(), "the 2-day camera's detection went");
    assert!(!file(&short_ev).exists(), "and its evidence file");
    assert!(stored(&open_fire).is_some());

    // Past the image limit (5 days) the evidence goes, except under hold; the facts stay.
    clock.advance(Duration::days(3));
    let r = retention.tick().await.unwrap();
    assert_eq!((r.evidence_references, r.evidence_files), (1, 1), "{r:?}");
    assert!(stored(&resolved_fire).unwrap().detection.evidence.is_empty());
    assert!(!file(&resolved_ev).exists());
    assert_eq!(stored(&held_fire).unwrap().detection.evidence.len(), 1, "held evidence stays");
    assert!(file(&held_ev).exists());

    // Past 10 days: detections go, except those of an open incident and of a held one.
    clock.advance(Duration::days(5));
    let r = retention.tick().await.unwrap();
    assert_eq!(r.detections, 1, "{r:?}");
    assert!(stored(&resolved_fire).is_none());
    assert!(stored(&open_fire).is_some(), "an open incident keeps its detections");
    assert!(stored(&open_fire).unwrap().incident.is_some());
    assert!(stored(&held_fire).is_some(), "a held one too");

    // Past 20 days after resolution: the resolved incident goes, the held one stays whole.
    clock.advance(Duration::days(10));
    let r = retention.tick().await.unwrap();
    assert_eq!(r.incidents, 2, "the resolved fire and the resolved tamper: {r:?}");
    assert_eq!(get(addr, &format!("/api/v1/incidents/{resolved_inc}")).await.status, 404);
    let held = get(addr, &format!("/api/v1/incidents/{held_inc}")).await.json();
    assert_eq!(held["detections"].as_array().unwrap().len(), 1);
    assert!(file(&held_ev).exists());

    // Released, the hold's incident goes at the next run, with its evidence.
    hub.store.registry().release_hold(&held_inc).unwrap();
    let r = retention.tick().await.unwrap();
    assert_eq!((r.incidents, r.detections + r.incident_detections, r.evidence_files), (1, 1, 1), "{r:?}");

    // Every run that removed something is in the register and the audit log, by count.
    let register = hub.store.registry().purges(None, None).unwrap();
    let total = |class: &str| register.iter().filter(|p| p.data_class == class).map(|p| p.count).sum::<u64>();
    assert_eq!((total("detections"), total("incidents"), total("evidence")), (3, 3, 3), "{register:?}");
    hub.stop().await;
    let log = std::fs::read_to_string(dir.path().join("audit").join(vigie_audit::ENTRIES_FILE)).unwrap();
    assert_eq!(log.matches("\"purge\"").count(), 5, "one audit entry per run that purged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_keeps_its_hashes_and_loses_its_content_after_its_retention() {
    let toml = format!("{CONFIG_TOML}\n[retention]\naudit_days = 180\n");
    let config = Arc::new(Config::from_toml(&toml, Path::new("retention.toml"), None).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(Utc::now());
    let hub = start(&config, dir.path(), &clock).await;
    install_test_token(&hub);
    let addr = hub.http_addr;
    // Some reads and actions to audit.
    let line = detection(&new_id(), "cam-fire-01", "video.fire", clock.now(), 0.9).to_string();
    assert_eq!(post_ndjson(addr, &[line]).await.json()["accepted"], 1);
    assert_eq!(get(addr, "/api/v1/detections?kind=video.fire").await.status, 200);
    let retention = Retention::new(hub.store.clone(), None, None, hub.audit.clone(), config, clock.clock());
    assert_eq!(retention.tick().await.unwrap().audit_entries, 0, "nothing is old yet");

    clock.advance(Duration::days(181));
    let r = retention.tick().await.unwrap();
    assert!(r.audit_entries >= 2, "{r:?}");
    hub.stop().await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let audit = dir.path().join("audit");
    let ok = vigie_audit::verify(&audit, &Default::default()).expect("a log past its retention still verifies");
    assert_eq!(ok.redacted, r.audit_entries);
    let text = std::fs::read_to_string(audit.join(vigie_audit::ENTRIES_FILE)).unwrap();
    assert!(!text.contains("\"search\""), "the old search is gone from the log");
    assert!(text.contains("\"redacted_before_seq\""), "the purge of the log is declared in it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_request_nobody_decides_lapses_after_a_week_and_releases_its_hold() {
    use vigie_hub::store::{ExportRecord, ExportStatus, Requisition};
    let config = Arc::new(Config::from_toml(CONFIG_TOML, Path::new("retention.toml"), None).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(Utc::now());
    let hub = start(&config, dir.path(), &clock).await;
    let reg = hub.store.registry();
    let request = |id: &str, incident: &str| ExportRecord {
        id: id.into(),
        incident_id: incident.into(),
        requisition: Requisition {
            service: "Commissariat central de Nantes".into(),
            officer: "Capitaine A. Durand, OPJ".into(),
            number: "2026-0042".into(),
            date: "2026-11-30".into(),
        },
        reason: "vol à l'arraché".into(),
        requested_by: "marie".into(),
        requested_at: clock.now(),
        status: ExportStatus::Requested,
        decided_by: None,
        decided_at: None,
        decision_note: None,
        package_sha256: None,
        package_bytes: None,
        files: None,
        expires_at: None,
    };
    for (id, incident) in [("exp-old", "inc-a"), ("exp-decided", "inc-b")] {
        reg.create_export(&request(id, incident)).unwrap();
        reg.hold(&LegalHold {
            incident_id: incident.into(),
            reason: format!("export {id}"),
            held_by: "marie".into(),
            since: clock.now(),
        })
        .unwrap();
    }
    let mut approved = reg.export("exp-decided").unwrap().unwrap();
    approved.status = ExportStatus::Approved;
    approved.decided_by = Some("paul".into());
    approved.decided_at = Some(clock.now());
    assert!(reg.decide_export(&approved).unwrap());

    let retention = Retention::new(hub.store.clone(), None, None, hub.audit.clone(), config, clock.clock());
    clock.advance(Duration::days(6));
    assert_eq!(retention.tick().await.unwrap().exports_lapsed, 0, "six days: still waiting");
    clock.advance(Duration::days(2));
    assert_eq!(retention.tick().await.unwrap().exports_lapsed, 1);
    let lapsed = reg.export("exp-old").unwrap().unwrap();
    assert_eq!(lapsed.status, ExportStatus::Refused);
    assert_eq!(lapsed.decided_by.as_deref(), Some("vigie"));
    assert_eq!(reg.export("exp-decided").unwrap().unwrap().status, ExportStatus::Approved);
    let held: Vec<_> = reg.holds().unwrap().into_iter().map(|h| h.incident_id).collect();
    assert_eq!(held, vec!["inc-b".to_owned()], "the lapsed request's hold is released, the approved one's stays");
    hub.stop().await;
}
