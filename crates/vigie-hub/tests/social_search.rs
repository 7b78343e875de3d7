//! Operators search retained online posts through the hub (issue 8): the index that
//! `vigie social run` writes, opened read only, behind the accounts and the audit log.

mod common;

use std::sync::Arc;

use vigie_hub::auth::Role;
use vigie_hub::{Hub, HubOptions, MqttMode};
use vigie_model::config::Config;
use vigie_social::pipeline::Retained;
use vigie_social::post::Platform;
use vigie_social::search::SearchIndex;
use vigie_social::stages::sentiment::Polarity;

use common::*;

fn post(id: &str, minutes: i64, text: &str, district: &str) -> Retained {
    Retained {
        id: id.into(),
        time_ms: t0().timestamp_millis() - minutes * 60_000,
        text: Arc::from(text),
        lang: vigie_social::Lang::Fr,
        polarity: Polarity::Negative,
        score: -0.6,
        platform: Platform::Mastodon,
        organisation: None,
        topics: vec!["incendie".into()],
        places: vec!["place du Bouffay".into()],
        districts: vec![district.into()],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_search_posts_and_every_search_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("social-index");
    {
        let mut ix = SearchIndex::open(&index).unwrap();
        ix.add(&[
            post("a", 10, "Fumée noire place du Bouffay, les pompiers arrivent", "bouffay"),
            post("b", 5, "Le tram est bloqué au Commerce", "commerce"),
            post("c", 1, "Encore de la fumée vers le Bouffay", "bouffay"),
        ])
        .unwrap();
        ix.commit().unwrap();
    }
    let toml = format!("{CONFIG_TOML}\n[social]\nindex = \"social-index\"\n");
    let config = Arc::new(Config::from_toml(&toml, &dir.path().join("vigie.toml"), Some(dir.path())).unwrap());
    let hub = Hub::start_with_audit(
        HubOptions {
            config,
            http_listen: "127.0.0.1:0".parse().unwrap(),
            store_url: dir.path().join("vigie.db").display().to_string(),
            mqtt: MqttMode::Off,
            clock: ManualClock::at(t0()).clock(),
        },
        Some(dir.path().join("audit")),
    )
    .await
    .unwrap();
    add_user(&hub, "olivia", Role::Operator, "Ile-de-Nantes-2026");
    add_user(&hub, "paula", Role::Dpo, "Ile-de-Nantes-2026");
    let addr = hub.http_addr;
    let olivia = login(addr, "olivia", "Ile-de-Nantes-2026").await;

    let r = session_request(addr, &olivia, "GET", "/api/v1/social/search?q=fum%C3%A9e&district=bouffay", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["total"], 2, "{v}");
    assert_eq!(v["hits"][0]["id"], "c", "newest first");
    assert!(v.to_string().find("author").is_none(), "no author in any answer");
    let bad = session_request(addr, &olivia, "GET", "/api/v1/social/search?q=%22unclosed", None).await;
    assert_eq!(bad.status, 400, "{}", bad.text());

    // The DPO may not search posts, and sees the operator's search in the audit log.
    let paula = login(addr, "paula", "Ile-de-Nantes-2026").await;
    assert_eq!(session_request(addr, &paula, "GET", "/api/v1/social/search?q=tram", None).await.status, 403);
    let found =
        session_request(addr, &paula, "GET", "/api/v1/audit/entries?action=search&target=social", None).await.json();
    let queries: Vec<(&str, &str)> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["detail"]["q"].as_str().unwrap()))
        .collect();
    assert_eq!(queries, [("user:olivia", "\"unclosed"), ("user:olivia", "fumée")], "even a refused query is audited");
    hub.stop().await;

    // Without an index in the config the route says so.
    let other = tempfile::tempdir().unwrap();
    let plain = start_hub(&other.path().join("vigie.db"), MqttMode::Off, ManualClock::at(t0()).clock()).await;
    assert_eq!(get(plain.http_addr, "/api/v1/social/search?q=x").await.status, 403, "a device token may not search");
    add_user(&plain, "olivia", Role::Operator, "Ile-de-Nantes-2026");
    let olivia = login(plain.http_addr, "olivia", "Ile-de-Nantes-2026").await;
    let r = session_request(plain.http_addr, &olivia, "GET", "/api/v1/social/search?q=x", None).await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains("[social] index"), "{}", r.text());
    plain.stop().await;
}
