//! Property 4: a detection of an analytic that no authorization in force covers, for its
//! sensor and at its time, is refused as `unauthorized` and counted; when an authorization
//! expires its analytics stop being accepted, and the sensors API says so.

mod common;

use std::path::Path;
use std::sync::Arc;

use vigie_hub::{Hub, HubOptions, MqttMode};
use vigie_model::config::Config;

const CONFIG: &str = r#"
[[sensors]]
id = "cam-1"
type = "camera"
name = "Commerce"
lon = -1.5592
lat = 47.2133
analytics = ["video.fire", "video.crowd_density"]

[[sensors]]
id = "cam-2"
type = "camera"
name = "Bouffay"
lon = -1.5536
lat = 47.2150
analytics = ["video.fire"]

[[authorizations]]
reference = "Arrêté préfectoral n° 44-2026-0142"
sensors = ["cam-1"]
analytics = ["video.fire"]
start = "2026-01-01"
end = "2026-11-22T21:35:00Z"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_authorized_analytics_in_force_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let config = Arc::new(Config::from_toml(CONFIG, Path::new("vigie.toml"), None).unwrap());
    // The test clock starts at 21:30, five minutes before the authorization ends.
    let clock = common::ManualClock::at(common::t0());
    let hub = Hub::start(HubOptions {
        config,
        http_listen: "127.0.0.1:0".parse().unwrap(),
        store_url: dir.path().join("vigie.db").display().to_string(),
        mqtt: MqttMode::Off,
        clock: clock.clock(),
    })
    .await
    .unwrap();
    common::install_test_token(&hub);
    let addr = hub.http_addr;
    let line =
        |sensor: &str, kind: &str| common::detection(&common::new_id(), sensor, kind, clock.now(), 0.9).to_string();
    let statuses = |r: &common::Response| -> Vec<(String, Option<String>)> {
        r.json()["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["status"].as_str().unwrap().to_owned(), x["reason"].as_str().map(str::to_owned)))
            .collect()
    };

    let r = common::post_ndjson(
        addr,
        &[line("cam-1", "video.fire"), line("cam-1", "video.crowd_density"), line("cam-2", "video.fire")],
    )
    .await;
    let unauthorized = Some("unauthorized".to_owned());
    assert_eq!(
        statuses(&r),
        vec![
            ("accepted".into(), None),
            ("refused".into(), unauthorized.clone()), // configured, but no act allows it
            ("refused".into(), unauthorized.clone()), // outside the act's perimeter
        ]
    );
    let sensor = common::get(addr, "/api/v1/sensors/cam-1").await.json();
    assert_eq!(sensor["authorizations"][0]["in_force"], true);

    // The act expires: its analytics stop being accepted.
    clock.advance(chrono::Duration::minutes(10));
    let r = common::post_ndjson(addr, &[line("cam-1", "video.fire")]).await;
    assert_eq!(statuses(&r), vec![("refused".into(), unauthorized)]);
    let sensor = common::get(addr, "/api/v1/sensors/cam-1").await.json();
    assert_eq!(sensor["authorizations"][0]["in_force"], false);
    let refused = common::get(addr, "/api/v1/detections/refused").await.json();
    assert_eq!(refused["counts"]["unauthorized"], 3);
    hub.stop().await;
}
