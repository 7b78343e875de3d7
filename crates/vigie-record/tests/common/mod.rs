//! Helpers of the recording tests: configs written to a temporary folder, FFmpeg probes.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use vigie_record::config::{RecordCamera, parse};
use vigie_record::recorder::{CameraReport, RecorderOptions, record_camera};

/// One camera from a `[[cameras]]` body, relative paths against `dir`.
pub fn camera(dir: &Path, body: &str) -> RecordCamera {
    let text = format!("[[cameras]]\n{body}");
    parse(&text, &dir.join("recording.toml")).expect("config").cameras.remove(0)
}

/// Records a camera whose source is a file, to its end, into `<dir>/spool`.
pub fn record_file(dir: &Path, cam: RecordCamera) -> CameraReport {
    let opts = RecorderOptions::new(dir.join("spool"));
    record_camera(cam, &opts, None, Arc::new(AtomicBool::new(false)), |_| {}).expect("recording")
}

/// `size,flags` of every video packet (what stream copy must leave unchanged).
pub fn packets(path: &Path) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=size,flags", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

/// A hub as `vigie up` runs it (audit log, evidence and recordings folders under `data`),
/// on 127.0.0.1:0, with two cameras and a microphone.
pub struct TestHub {
    pub hub: vigie_hub::Hub,
    pub url: String,
    pub runtime: tokio::runtime::Runtime,
}

pub const HUB_CONFIG: &str = r#"
[hub]
name = "Vigie recording tests"
[[sensors]]
id = "cam-rec-01"
type = "camera"
name = "Place du Commerce"
lon = -1.5592
lat = 47.2133
analytics = ["video.crowd_density"]
[[sensors]]
id = "cam-rec-02"
type = "camera"
name = "Bouffay"
lon = -1.5536
lat = 47.2150
analytics = ["video.fire"]
retention_days = 7
[[sensors]]
id = "mic-rec-03"
type = "microphone"
name = "Rue de la Marne"
lon = -1.5540
lat = 47.2155
analytics = ["audio.gunshot"]
"#;

impl TestHub {
    pub fn start(
        data: &Path,
        clock: vigie_hub::ingest::Clock,
        budget: vigie_hub::retention::RecordingBudget,
    ) -> TestHub {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let config = Arc::new(
            vigie_model::config::Config::from_toml(HUB_CONFIG, Path::new("hub.toml"), None).expect("valid hub config"),
        );
        let opts = vigie_hub::HubOptions {
            config,
            http_listen: "127.0.0.1:0".parse().unwrap(),
            store_url: data.join("vigie.db").display().to_string(),
            mqtt: vigie_hub::MqttMode::Off,
            clock,
        };
        let hub = runtime
            .block_on(vigie_hub::Hub::start_with_recordings(
                opts,
                Some(data.join("audit")),
                Some(data.join("evidence")),
                budget,
            ))
            .expect("hub starts");
        let url = format!("http://{}", hub.http_addr);
        TestHub { hub, url, runtime }
    }

    /// A device token for these sensors.
    pub fn device_token(&self, sensors: &[&str]) -> String {
        let scope = vigie_hub::store::SensorScope::Only(sensors.iter().map(|s| s.to_string()).collect());
        self.hub.auth.create_token("recorder", None, scope, "tests").expect("token").1
    }

    /// A service token acting as an operator.
    pub fn operator_token(&self) -> String {
        let scope = vigie_hub::store::SensorScope::Only(vec![]);
        self.hub.auth.create_token("wall", Some(vigie_hub::auth::Role::Operator), scope, "tests").expect("token").1
    }

    pub fn stop(self) {
        let TestHub { hub, runtime, .. } = self;
        runtime.block_on(hub.stop());
    }
}

/// The mask of the hub-side tests' camera `cam-rec-01` (a rectangle on the right).
pub const HUB_MASK: &str =
    "masks = [ { name = \"fenetres\", points = [[0.55, 0.15], [0.85, 0.15], [0.85, 0.5], [0.55, 0.5]] } ]";

/// Records a synthetic 640×360 clip of `secs` seconds as camera `cam-rec-01` (masked, 2-s
/// segments, no live view) into `h` with `device`'s token, until every segment is uploaded.
pub fn record_masked_clip(h: &TestHub, dir: &Path, device: &str, secs: f64) -> vigie_record::runner::RunReport {
    use vigie_record::simulate::media::{ClipSpec, synth_clip};
    synth_clip(&dir.join("clip.mp4"), &ClipSpec::new(640, 360, secs)).unwrap();
    let text = format!(
        "[[cameras]]\nid = \"cam-rec-01\"\nurl = \"clip.mp4\"\nsegment_secs = 2\nlive_view = false\n{HUB_MASK}\n"
    );
    let config = parse(&text, &dir.join("recording.toml")).unwrap();
    let opts = vigie_record::runner::RunOptions {
        recorder: RecorderOptions::new(&config.spool_dir),
        hub: Some(vigie_record::upload::UploadTarget { hub: h.url.clone(), token: Some(device.to_owned()) }),
        drain_secs: 10.0,
    };
    vigie_record::runner::run(&config, &opts, Arc::new(AtomicBool::new(false))).unwrap()
}

/// A blocking HTTP client for the tests.
pub fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(ureq::config::Config::builder().http_status_as_error(false).build())
}

/// GET with a bearer token (or a session cookie, `vigie_session=…`): status and body.
pub fn get(url: &str, token: &str) -> (u16, Vec<u8>) {
    let req = agent().get(url);
    let req = if token.starts_with("vigie_session=") {
        req.header("cookie", token)
    } else {
        req.header("authorization", &format!("Bearer {token}"))
    };
    let mut r = req.call().expect("request");
    let status = r.status().as_u16();
    (status, r.body_mut().with_config().limit(512 << 20).read_to_vec().expect("body"))
}

pub fn get_json(url: &str, token: &str) -> serde_json::Value {
    let (status, body) = get(url, token);
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("JSON")
}

/// Waits for `check` to give `Some` within `secs`.
pub fn eventually<T>(what: &str, secs: f64, mut check: impl FnMut() -> Option<T>) -> T {
    let until = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(std::time::Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Signs in a DPO and returns the session cookie (to read the audit log).
pub fn dpo_cookie(h: &TestHub) -> String {
    person_cookie(h, "paula", vigie_hub::auth::Role::Dpo)
}

/// Creates a person with this role, signs them in, returns the session cookie.
pub fn person_cookie(h: &TestHub, name: &str, role: vigie_hub::auth::Role) -> String {
    let pw = "Registre-des-traitements-44";
    h.hub.auth.create_user_with_password(name, role, name, pw, false).expect("user");
    let body = serde_json::json!({ "username": name, "password": pw }).to_string();
    let r = agent()
        .post(&format!("{}/api/v1/login", h.url))
        .header("content-type", "application/json")
        .send(body.as_bytes())
        .expect("login");
    assert_eq!(r.status().as_u16(), 200);
    let set = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("cookie").to_owned();
    set.split(';').next().unwrap_or_default().to_owned()
}

/// The audit log as the DPO searches it, as text.
pub fn audit_text(h: &TestHub, cookie: &str, target: &str) -> String {
    let mut r = agent()
        .get(&format!("{}/api/v1/audit/entries?target={target}&limit=1000", h.url))
        .header("cookie", cookie)
        .call()
        .expect("audit");
    assert_eq!(r.status().as_u16(), 200);
    r.body_mut().read_to_string().expect("text")
}
