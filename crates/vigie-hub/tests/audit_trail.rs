//! Property 8 on the API: reads of personal data and operator actions reach the audit log
//! before the answer, and the log verifies.

mod common;

use vigie_hub::{Hub, HubOptions, MqttMode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_actions_are_in_the_audit_log_before_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let clock = common::ManualClock::at(common::t0());
    let audit_dir = dir.path().join("audit");
    let hub = Hub::start_with_audit(
        HubOptions {
            config: common::config(),
            http_listen: "127.0.0.1:0".parse().unwrap(),
            store_url: dir.path().join("vigie.db").display().to_string(),
            mqtt: MqttMode::Off,
            clock: clock.clock(),
        },
        Some(audit_dir.clone()),
    )
    .await
    .unwrap();
    common::install_test_token(&hub);
    common::add_user(&hub, "camille", vigie_hub::auth::Role::Operator, "quai-de-la-Fosse-44");
    let addr = hub.http_addr;
    let size = |r: &common::Response| r.json()["size"].as_u64().unwrap();
    let before = size(&common::get(addr, "/api/v1/audit/checkpoint").await);

    let line = common::detection(&common::new_id(), "cam-fire-01", "video.fire", clock.now(), 0.9).to_string();
    let posted = common::post_ndjson(addr, &[line]).await;
    assert_eq!(posted.status, 200, "{}", posted.text());
    let incidents = common::get(addr, "/api/v1/incidents").await.json();
    let id = incidents[0]["id"].as_str().unwrap().to_owned();

    // An operator signs in, reads the incident's detail, searches, acknowledges.
    let camille = common::login(addr, "camille", "quai-de-la-Fosse-44").await;
    let read = common::session_request(addr, &camille, "GET", &format!("/api/v1/incidents/{id}"), None).await;
    assert_eq!(read.status, 200);
    let search = common::session_request(addr, &camille, "GET", "/api/v1/detections?kind=video.fire", None).await;
    assert_eq!(search.status, 200);
    let body = serde_json::json!({ "action": "acknowledge" });
    let path = format!("/api/v1/incidents/{id}/actions");
    let acked = common::session_request(addr, &camille, "POST", &path, Some(&body)).await;
    assert_eq!(acked.status, 200, "{}", acked.text());

    // Each answer came after its entry was committed: the checkpoint already counts them.
    let after = size(&common::get(addr, "/api/v1/audit/checkpoint").await);
    assert_eq!(after - before, 4, "login, read_incident, search, transition");
    hub.stop().await;

    let entries = std::fs::read_to_string(audit_dir.join(vigie_audit::ENTRIES_FILE)).unwrap();
    let lines: Vec<&str> = entries.lines().collect();
    assert!(lines[lines.len() - 3].contains("read_incident") && lines[lines.len() - 3].contains(&id));
    assert!(lines[lines.len() - 2].contains("search"));
    assert!(lines[lines.len() - 4].contains("\"login\"") && lines[lines.len() - 4].contains("user:camille"));
    assert!(lines[lines.len() - 1].contains("transition") && lines[lines.len() - 1].contains("user:camille"));
    let verified = vigie_audit::verify(&audit_dir, &Default::default());
    assert!(verified.is_ok(), "{verified:?}");
}

/// A hub over `dir` (its store and its audit log there) with the config file `file`.
async fn audited_hub(dir: &std::path::Path, file: &std::path::Path) -> Hub {
    let config = std::sync::Arc::new(vigie_model::config::Config::load(file).unwrap());
    common::start_hub_with(&dir.join("vigie.db"), MqttMode::Off, common::ManualClock::at(common::t0()).clock(), config)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_config_file_is_an_audited_config_change() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vigie.toml");
    let start = |toml: String| {
        let (dir, file) = (dir.path().to_owned(), file.clone());
        async move {
            std::fs::write(&file, toml).unwrap();
            let hub = audited_hub(&dir, &file).await;
            hub.stop().await;
            // (the audit thread ends once the hub is gone)
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    start(common::CONFIG_TOML.to_owned()).await;
    start(common::CONFIG_TOML.to_owned()).await;
    start(common::CONFIG_TOML.replace("Vigie tests", "Vigie tests, renamed")).await;
    let entries = std::fs::read_to_string(dir.path().join("audit").join(vigie_audit::ENTRIES_FILE)).unwrap();
    let changes: Vec<serde_json::Value> = entries
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["target"] == "config/vigie.toml")
        .collect();
    assert_eq!(changes.len(), 2, "first start and the edit, not the unchanged restart: {changes:?}");
    assert_eq!(changes[0]["detail"]["change"], "config_first_used");
    assert_eq!(changes[1]["detail"]["change"], "config_changed");
    assert_eq!(changes[1]["detail"]["previous_sha256"], changes[0]["detail"]["sha256"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_forwarded_client_is_the_one_audited() {
    let dir = tempfile::tempdir().unwrap();
    let start = |toml: String, sub: &str| {
        let dir = dir.path().join(sub);
        async move {
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join("vigie.toml");
            std::fs::write(&file, toml).unwrap();
            let hub = audited_hub(&dir, &file).await;
            common::add_user(&hub, "olivia", vigie_hub::auth::Role::Operator, "Ile-de-Nantes-2026");
            let body = serde_json::json!({ "username": "olivia", "password": "wrong" }).to_string();
            let headers = [("Content-Type", "application/json"), ("X-Forwarded-For", "203.0.113.50, 198.51.100.7")];
            let r = common::request_anonymous(hub.http_addr, "POST", "/api/v1/login", &headers, body.as_bytes()).await;
            assert_eq!(r.status, 401);
            hub.stop().await;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let entries = std::fs::read_to_string(dir.join("audit").join(vigie_audit::ENTRIES_FILE)).unwrap();
            entries
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .find(|e| e["action"] == "login_failed")
                .map(|e| e["detail"]["client"].as_str().unwrap_or_default().to_owned())
                .unwrap()
        }
    };
    let trusting = format!("{}\n[http]\ntrusted_proxies = [\"127.0.0.1\"]\n", common::CONFIG_TOML);
    assert_eq!(start(trusting, "proxied").await, "198.51.100.7", "the proxy's last hop names the client");
    assert_eq!(
        start(common::CONFIG_TOML.to_owned(), "direct").await,
        "127.0.0.1",
        "without [http] the header is ignored"
    );
}
