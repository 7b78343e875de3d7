//! The HTTP API of a hub started in process (MQTT off, SQLite in a temporary folder, a
//! clock the test holds), driven over raw TCP.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use common::{ManualClock, detection, get, new_id, post_json, post_ndjson, request, t0};
use serde_json::{Value, json};
use vigie_hub::{Hub, MqttMode};

struct TestHub {
    hub: Hub,
    clock: ManualClock,
    _dir: tempfile::TempDir,
}

impl TestHub {
    async fn start() -> TestHub {
        let dir = tempfile::tempdir().expect("temporary folder");
        let clock = ManualClock::at(t0());
        let hub = common::start_hub(&dir.path().join("vigie.db"), MqttMode::Off, clock.clock()).await;
        TestHub { hub, clock, _dir: dir }
    }
    fn addr(&self) -> SocketAddr {
        self.hub.http_addr
    }
}

/// A good detection line from `sensor`, one minute before the hub's clock.
fn good(sensor: &str, kind: &str) -> Value {
    detection(&new_id(), sensor, kind, t0() - chrono::Duration::seconds(60), 0.9)
}

fn statuses(answer: &Value) -> Vec<(u64, String, Option<String>)> {
    answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().expect("line"),
                r["status"].as_str().expect("status").to_owned(),
                r["reason"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

async fn detections_of(addr: SocketAddr, sensor: &str) -> Vec<Value> {
    let r = get(addr, &format!("/api/v1/detections?sensor={sensor}&limit=1000")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json().as_array().expect("a list").clone()
}

async fn refused_total(addr: SocketAddr, reason: &str) -> (u64, u64) {
    let report = get(addr, "/api/v1/detections/refused").await.json();
    let from_report = report["counts"][reason].as_u64().unwrap_or_else(|| panic!("no count for {reason}: {report}"));
    let metrics = get(addr, "/metrics").await;
    assert_eq!(metrics.status, 200);
    let series = format!("vigie_ingest_detections_refused_total{{transport=\"http\",reason=\"{reason}\"}}");
    let from_metrics = common::metric(&metrics.text(), &series).unwrap_or_else(|| panic!("no series {series}"));
    (from_report, from_metrics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_then_duplicate_and_stored_once() {
    let h = TestHub::start().await;
    let lines: Vec<String> = (0..3).map(|_| good("cam-gare-02", "video.tamper").to_string()).collect();

    let first = post_ndjson(h.addr(), &lines).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let first = first.json();
    assert_eq!(statuses(&first), (1..=3).map(|n| (n, "accepted".to_owned(), None)).collect::<Vec<_>>());
    assert_eq!((first["accepted"].as_u64(), first["duplicate"].as_u64()), (Some(3), Some(0)));

    let again = post_ndjson(h.addr(), &lines).await.json();
    assert_eq!(statuses(&again), (1..=3).map(|n| (n, "duplicate".to_owned(), None)).collect::<Vec<_>>());
    assert_eq!((again["accepted"].as_u64(), again["duplicate"].as_u64()), (Some(0), Some(3)));

    // The same line twice in one body: the second is a duplicate.
    let once_more = good("cam-gare-02", "video.tamper").to_string();
    let twice = post_ndjson(h.addr(), &[once_more.clone(), once_more]).await.json();
    assert_eq!(statuses(&twice), vec![(1, "accepted".into(), None), (2, "duplicate".into(), None)]);

    let stored = detections_of(h.addr(), "cam-gare-02").await;
    assert_eq!(stored.len(), 4, "each detection stored once: {stored:?}");
    let ids: HashSet<&str> = stored.iter().map(|d| d["id"].as_str().expect("id")).collect();
    assert_eq!(ids.len(), 4);
    for line in &lines {
        let sent: Value = serde_json::from_str(line).expect("json");
        let id = sent["id"].as_str().expect("id");
        assert!(ids.contains(id), "{id} listed");
        let one = get(h.addr(), &format!("/api/v1/detections/{id}")).await;
        assert_eq!(one.status, 200);
        let one = one.json();
        assert_eq!((one["id"].as_str(), one["sensor"].as_str()), (Some(id), Some("cam-gare-02")));
        assert_eq!(one["attributes"], sent["attributes"]);
    }
    let metrics = get(h.addr(), "/metrics").await.text();
    assert_eq!(common::metric(&metrics, "vigie_ingest_detections_accepted_total"), Some(4));
    assert_eq!(common::metric(&metrics, "vigie_ingest_detections_duplicate_total"), Some(4));
    assert!(detections_of(h.addr(), "mic-bouffay-03").await.is_empty(), "the sensor filter applies");
    h.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_detection_is_refused_with_its_reason_and_counted() {
    let h = TestHub::start().await;
    let year_ahead = t0() + chrono::Duration::days(365);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = good("cam-fire-01", "video.crowd_density");
        f(&mut v);
        v.to_string()
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("malformed JSON", "{\"id\": \"01J".into(), "malformed_json"),
        ("unknown field", with(&|v| v["colour"] = json!("red")), "schema_violation"),
        ("unknown sensor", with(&|v| v["sensor"] = json!("cam-nowhere-99")), "unknown_sensor"),
        ("latitude 91", with(&|v| v["location"]["lat"] = json!(91.0)), "invalid_location"),
        ("a year ahead", with(&|v| v["time"] = json!(common::rfc3339(year_ahead))), "time_in_future"),
        ("NaN confidence", with(&|v| v["confidence"] = json!(0.5)).replace("0.5", "NaN"), "malformed_json"),
        ("confidence 1.5", with(&|v| v["confidence"] = json!(1.5)), "invalid_confidence"),
        ("kind not run", with(&|v| v["kind"] = json!("video.weapon")), "analytic_not_configured"),
        ("kind of another family", with(&|v| v["kind"] = json!("audio.gunshot")), "analytic_not_configured"),
    ];
    for (what, line, reason) in &cases {
        let r = post_ndjson(h.addr(), std::slice::from_ref(line)).await;
        assert_eq!(r.status, 200, "{what}: {}", r.text());
        let answer = r.json();
        assert_eq!(statuses(&answer), vec![(1, "refused".into(), Some(reason.to_string()))], "{what}: {answer}");
        let detail = answer["results"][0]["detail"].as_str().unwrap_or_default();
        assert!(!detail.is_empty(), "{what}: a refusal says why");
        assert_eq!(answer["refused"].as_u64(), Some(1));
    }

    let mut expected: std::collections::BTreeMap<&str, u64> = Default::default();
    for (_, _, reason) in &cases {
        *expected.entry(reason).or_default() += 1;
    }
    for (reason, n) in &expected {
        assert_eq!(refused_total(h.addr(), reason).await, (*n, *n), "{reason} counted in the report and /metrics");
    }
    let report = get(h.addr(), "/api/v1/detections/refused").await.json();
    let recent = report["recent"].as_array().expect("recent");
    assert_eq!(recent.len(), cases.len());
    assert_eq!(recent[0]["reason"], "analytic_not_configured", "newest first");
    assert_eq!(recent[0]["transport"], "http");
    assert!(recent[0]["excerpt"].as_str().is_some_and(|e| e.contains("audio.gunshot")));
    let counts = get(h.addr(), "/api/v1/health").await.json();
    assert_eq!(counts["detections"].as_u64(), Some(0), "nothing refused was stored");
    h.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_lines_are_accepted_next_to_bad_ones() {
    let h = TestHub::start().await;
    let good1 = good("cam-fire-01", "video.crowd_density");
    let good2 = good("flows-centre-04", "flows.presence_anomaly");
    let mut bad_sensor = good("cam-fire-01", "video.crowd_density");
    bad_sensor["sensor"] = json!("cam-nowhere-99");
    let body = format!("{good1}\nnot json at all\n\n{}\n{good2}\r\n", bad_sensor);
    let r = request(h.addr(), "POST", "/api/v1/detections", &[], body.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    assert_eq!(
        statuses(&answer),
        vec![
            (1, "accepted".into(), None),
            (2, "refused".into(), Some("malformed_json".into())),
            (4, "refused".into(), Some("unknown_sensor".into())),
            (5, "accepted".into(), None),
        ],
        "blank lines skipped, line numbers kept: {answer}"
    );
    assert_eq!((answer["accepted"].as_u64(), answer["refused"].as_u64()), (Some(2), Some(2)));
    assert_eq!(answer["results"][0]["id"], good1["id"]);
    assert_eq!(detections_of(h.addr(), "cam-fire-01").await.len(), 1);
    assert_eq!(detections_of(h.addr(), "flows-centre-04").await.len(), 1);
    h.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_megabyte_body_is_refused_as_too_large_and_the_hub_still_serves() {
    let h = TestHub::start().await;
    let line = good("cam-fire-01", "video.crowd_density").to_string() + "\n";
    let mut body = Vec::with_capacity(10 * 1024 * 1024 + line.len());
    while body.len() < 10 * 1024 * 1024 {
        body.extend_from_slice(line.as_bytes());
    }
    let r = common::request_streaming_body(h.addr(), "POST", "/api/v1/detections", body).await;
    assert_eq!(r.status, 413, "{}", r.text());
    let err = r.json();
    assert_eq!(err["error"]["code"], "payload_too_large", "{err}");
    assert!(err["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(refused_total(h.addr(), "too_large").await, (1, 1));

    let health = get(h.addr(), "/api/v1/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["detections"].as_u64(), Some(0), "nothing of the large body was stored");
    let after = post_ndjson(h.addr(), &[line.trim_end().to_owned()]).await.json();
    assert_eq!(statuses(&after), vec![(1, "accepted".into(), None)], "the hub still ingests");
    h.hub.stop().await;
}

/// Posts a fire at the Bouffay and returns the incident it opened (via the list).
async fn open_fire_incident(h: &TestHub) -> (Value, String) {
    let fire = good("cam-fire-01", "video.fire");
    let r = post_ndjson(h.addr(), &[fire.to_string()]).await.json();
    assert_eq!(statuses(&r), vec![(1, "accepted".into(), None)], "{r}");
    // The answer comes after the commit, which holds the incident too.
    let list = get(h.addr(), "/api/v1/incidents").await;
    assert_eq!(list.status, 200);
    let list = list.json();
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), 1, "one incident: {list:?}");
    let incident = list[0].clone();
    assert_eq!(incident["incident_type"], "safety.fire");
    assert_eq!(incident["state"], "new");
    assert_eq!(incident["priority"], "critical");
    assert_eq!(incident["sensors"], json!(["cam-fire-01"]));
    (fire, incident["id"].as_str().expect("id").to_owned())
}

async fn act(addr: SocketAddr, id: &str, action: Value) -> common::Response {
    request(
        addr,
        "POST",
        &format!("/api/v1/incidents/{id}/actions"),
        // A self-declared name is ignored: the actor is whoever authenticated.
        &[("Content-Type", "application/json"), ("X-Vigie-Operator", "op-ana")],
        action.to_string().as_bytes(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_forms_and_follows_its_lifecycle() {
    let h = TestHub::start().await;
    let (fire, id) = open_fire_incident(&h).await;
    let filtered = get(h.addr(), "/api/v1/incidents?state=open&type=safety.fire&priority=high").await.json();
    assert_eq!(filtered.as_array().map(Vec::len), Some(1), "{filtered}");
    assert_eq!(get(h.addr(), "/api/v1/incidents?state=closed").await.json(), json!([]));

    let step = |action: Value, state: &'static str| {
        let id = id.clone();
        let addr = h.addr();
        async move {
            let r = act(addr, &id, action.clone()).await;
            assert_eq!(r.status, 200, "{action}: {}", r.text());
            let inc = r.json();
            assert_eq!(inc["state"], state, "{action}: {inc}");
            inc
        }
    };
    step(json!({ "action": "acknowledge" }), "acknowledged").await;
    h.clock.advance(chrono::Duration::seconds(30));
    step(json!({ "action": "note", "text": "pompiers prévenus" }), "acknowledged").await;
    let note = post_json(h.addr(), &format!("/api/v1/incidents/{id}/notes"), &json!({ "text": "fumée visible" })).await;
    assert_eq!(note.status, 200, "{}", note.text());
    step(json!({ "action": "start" }), "in_progress").await;

    let illegal = act(h.addr(), &id, json!({ "action": "acknowledge" })).await;
    assert_eq!(illegal.status, 409, "acknowledging an incident in progress: {}", illegal.text());
    assert_eq!(illegal.json()["error"]["code"], "conflict");
    let close_early = act(h.addr(), &id, json!({ "action": "close" })).await;
    assert_eq!(close_early.status, 409, "closing before resolving");

    let resolved = step(json!({ "action": "resolve", "outcome": "confirmed" }), "resolved").await;
    assert_eq!(resolved["outcome"], "confirmed");
    let closed = step(json!({ "action": "close" }), "closed").await;
    assert_eq!(act(h.addr(), &id, json!({ "action": "start" })).await.status, 409, "a closed incident stays closed");
    assert!(closed["version"].as_u64() > resolved["version"].as_u64());

    let bad_body = act(h.addr(), &id, json!({ "action": "resolve" })).await;
    assert_eq!(bad_body.status, 400, "resolve without an outcome: {}", bad_body.text());
    let unknown = act(h.addr(), &ulid::Ulid::new().to_string(), json!({ "action": "acknowledge" })).await;
    assert_eq!(unknown.status, 404, "{}", unknown.text());
    assert_eq!(unknown.json()["error"]["code"], "not_found");
    let malformed = act(h.addr(), "not-an-id", json!({ "action": "acknowledge" })).await;
    assert_eq!(malformed.status, 400, "{}", malformed.text());
    assert_eq!(malformed.json()["error"]["code"], "bad_request");
    assert_eq!(get(h.addr(), &format!("/api/v1/incidents/{}", ulid::Ulid::new())).await.status, 404);
    assert_eq!(get(h.addr(), "/api/v1/incidents/42").await.status, 400);

    let detail = get(h.addr(), &format!("/api/v1/incidents/{id}")).await;
    assert_eq!(detail.status, 200);
    let detail = detail.json();
    assert_eq!(detail["incident"]["state"], "closed");
    assert_eq!(detail["incident"]["outcome"], "confirmed");
    let history = detail["history"].as_array().expect("history");
    let actions: Vec<&str> = history.iter().map(|e| e["action"].as_str().expect("action")).collect();
    assert_eq!(actions, vec!["opened", "acknowledge", "note", "note", "start", "resolve", "close"]);
    assert_eq!(history[2]["detail"]["text"], "pompiers prévenus");
    assert_eq!(history[3]["detail"]["text"], "fumée visible");
    let actor = history[1]["actor"].as_str().expect("actor");
    assert!(actor.starts_with("token:tok_"), "the authenticated caller is the actor, not a header: {actor}");
    assert_eq!(history[0]["actor"], "hub");
    assert_eq!(history[5]["detail"]["outcome"], "confirmed");
    assert_eq!(
        (history[4]["from_state"].as_str(), history[4]["to_state"].as_str()),
        (Some("acknowledged"), Some("in_progress"))
    );
    let at = |e: &Value| e["at"].as_str().and_then(|s| s.parse::<chrono::DateTime<chrono::Utc>>().ok());
    assert_eq!(at(&history[1]), Some(t0()), "times come from the hub's clock");
    assert_eq!(at(&history[2]), Some(t0() + chrono::Duration::seconds(30)));
    let dets = detail["detections"].as_array().expect("detections");
    assert_eq!(dets.len(), 1);
    assert_eq!(dets[0]["id"], fire["id"]);
    assert_eq!(dets[0]["incident"].as_str(), Some(id.as_str()));
    h.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_announces_a_new_incident_within_two_seconds() {
    let h = TestHub::start().await;
    let mut stream = common::SseClient::connect(h.addr(), "/api/v1/stream").await;
    let hello = stream.next_event().await;
    assert_eq!(hello.event, "hello", "the stream greets first (it is subscribed by then)");

    let fire = good("cam-fire-01", "video.fire");
    let addr = h.addr();
    let post = tokio::spawn(async move { post_ndjson(addr, &[fire.to_string()]).await });
    let ev = stream
        .wait_for(Duration::from_secs(2), |e| {
            e.event == "incident" && serde_json::from_str::<Value>(&e.data).is_ok_and(|d| d["change"] == "new")
        })
        .await;
    let data: Value = serde_json::from_str(&ev.data).expect("JSON data");
    assert_eq!(data["type"], "incident");
    assert_eq!(data["incident"]["incident_type"], "safety.fire");
    let posted = post.await.expect("post task").json();
    assert_eq!(data["cause"], posted["results"][0]["id"], "the cause is the posted detection");
    h.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_documented_and_every_plain_get_answers() {
    // The document the hub embeds (api/system.rs includes this file).
    let doc: Value = serde_json::from_str(include_str!("../src/api/openapi.json")).expect("openapi.json is JSON");
    let mut missing = Vec::new();
    for r in vigie_hub::api::ROUTES {
        if doc["paths"][r.path][r.method].is_null() {
            missing.push(format!("{} {}", r.method.to_uppercase(), r.path));
        }
    }
    assert!(missing.is_empty(), "routes missing from openapi.json: {missing:?}");

    let h = TestHub::start().await;
    let served = get(h.addr(), "/api/v1/openapi.json").await;
    assert_eq!(served.status, 200);
    assert_eq!(served.json(), doc, "the hub serves the same document");
    for r in vigie_hub::api::ROUTES {
        if r.method != "get" || r.path.contains('{') {
            continue;
        }
        let status = common::get_status_only(h.addr(), r.path).await;
        // 403: the test token's role (supervisor) may not read that route.
        assert!(status != 404 && status < 500, "GET {} answered {status}", r.path);
    }

    let unknown = get(h.addr(), "/api/v1/nothing-here").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.header("content-type").is_some_and(|c| c.starts_with("application/json")));
    let body = unknown.json();
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("/api/v1/nothing-here")));
    h.hub.stop().await;
}
