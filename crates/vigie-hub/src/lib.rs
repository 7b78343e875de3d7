//! The Vigie hub: ingests detections (MQTT and HTTP), fuses them into incidents, stores
//! both, serves the API and the live stream.
//!
//! [`Hub::start`] wires the parts from [`HubOptions`]: the store, the ingest writer (which
//! owns fusion), the MQTT side (embedded broker or an external one) and the HTTP server.

pub mod api;
pub mod audit;
pub mod auth;
pub mod demo;
pub mod evidence;
pub mod exports;
mod fasthash;
pub mod fusion;
pub mod ingest;
pub mod live;
pub mod metrics;
pub mod mqtt;
pub mod retention;
pub mod sensors;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use vigie_model::config::Config;

use crate::ingest::{Clock, Ingest};
use crate::metrics::Metrics;
use crate::mqtt::ExternalBroker;

/// How the hub reaches MQTT.
#[derive(Debug, Clone)]
pub enum MqttMode {
    /// Run the embedded broker on this address (default 127.0.0.1:1883).
    Embedded(SocketAddr),
    /// Consume from an external broker.
    External(ExternalBroker),
    /// HTTP ingest only.
    Off,
}

pub struct HubOptions {
    pub config: Arc<Config>,
    pub http_listen: SocketAddr,
    /// `postgres://…`, or a SQLite file path.
    pub store_url: String,
    pub mqtt: MqttMode,
    pub clock: Clock,
}

/// Why the hub could not start. Port errors name the address so the CLI can name the flag.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("the HTTP address {addr} is already in use")]
    HttpAddrInUse { addr: SocketAddr },
    #[error("the MQTT address {addr} is already in use")]
    MqttAddrInUse { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("audit log: {0}")]
    Audit(String),
    #[error("{0}")]
    Recordings(String),
    #[error("accounts: {0}")]
    Auth(#[from] auth::AuthError),
    #[error("the online-media search index ([social] index): {0}")]
    Social(String),
    #[error("embedded MQTT broker: {0}")]
    Broker(vigie_broker::BrokerError),
}

/// A running hub.
pub struct Hub {
    pub http_addr: SocketAddr,
    pub mqtt_addr: Option<SocketAddr>,
    pub ingest: Ingest,
    pub store: Arc<dyn store::Store>,
    pub auth: auth::Auth,
    /// The one-time password of the `admin` account created on a store without any
    /// account: to be shown once, now.
    pub bootstrap_password: Option<String>,
    pub audit: Option<audit::Auditor>,
    server: tokio::task::JoinHandle<()>,
    housekeeping: tokio::task::JoinHandle<()>,
    purges: tokio::task::JoinHandle<()>,
    broker: Option<vigie_broker::BrokerHandle>,
    external: Option<mqtt::ExternalClient>,
}

impl Hub {
    /// Starts a hub without an audit log (tests and benches).
    pub async fn start(opts: HubOptions) -> Result<Hub, HubError> {
        Hub::start_with_audit(opts, None).await
    }

    /// Starts a hub whose API reads and actions are written to the audit log in `audit_dir`
    /// (what `vigie up` runs). Citizen report photos go to `evidence` beside it
    /// (`<data>/audit` → `<data>/evidence`); without an audit folder, photos are refused.
    pub async fn start_with_audit(opts: HubOptions, audit_dir: Option<std::path::PathBuf>) -> Result<Hub, HubError> {
        let evidence_dir = audit_dir.as_deref().and_then(std::path::Path::parent).map(|d| d.join("evidence"));
        Hub::start_full(opts, audit_dir, evidence_dir).await
    }

    /// Starts a hub with an audit folder and an evidence folder (citizen photos, device
    /// snapshots and clips), each optional.
    pub async fn start_full(
        opts: HubOptions,
        audit_dir: Option<std::path::PathBuf>,
        evidence_dir: Option<std::path::PathBuf>,
    ) -> Result<Hub, HubError> {
        let r = &opts.config.retention;
        let budget = retention::RecordingBudget {
            max_bytes: r.recordings_max_gib.map(|g| g.saturating_mul(1 << 30)),
            min_free_share: f64::from(r.recordings_min_free_percent) / 100.0,
        };
        Hub::start_with_recordings(opts, audit_dir, evidence_dir, budget).await
    }

    /// [`Hub::start_full`], with the disk budget of recordings (kept in `recordings`
    /// beside the evidence folder; without an evidence folder, recording uploads are refused).
    pub async fn start_with_recordings(
        opts: HubOptions,
        audit_dir: Option<std::path::PathBuf>,
        evidence_dir: Option<std::path::PathBuf>,
        recording_budget: retention::RecordingBudget,
    ) -> Result<Hub, HubError> {
        let recordings = match evidence_dir.as_deref().and_then(std::path::Path::parent) {
            Some(data) => Some(
                vigie_record::archive::Archive::open(&data.join("recordings"))
                    .map_err(|e| HubError::Recordings(e.to_string()))?,
            ),
            None => None,
        };
        let audit = match audit_dir {
            Some(dir) => Some(
                tokio::task::spawn_blocking(move || audit::Auditor::open(&dir, "vigie/audit"))
                    .await
                    .map_err(|e| HubError::Audit(e.to_string()))?
                    .map_err(|e| HubError::Audit(e.to_string()))?,
            ),
            None => None,
        };
        // Bind HTTP first: a taken port fails before anything is opened.
        let listener = tokio::net::TcpListener::bind(opts.http_listen).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => HubError::HttpAddrInUse { addr: opts.http_listen },
            _ => HubError::Listen { addr: opts.http_listen, source: e },
        })?;
        let http_addr = listener.local_addr().map_err(|e| HubError::Listen { addr: opts.http_listen, source: e })?;

        let url = opts.store_url.clone();
        let store: Arc<dyn store::Store> = tokio::task::spawn_blocking(move || store::open(&url).map(Arc::from))
            .await
            .map_err(|e| store::StoreError::Open(e.to_string()))??;
        let auth = {
            let (store, clock) = (store.clone(), opts.clock.clone());
            tokio::task::spawn_blocking(move || auth::Auth::new(store, clock))
                .await
                .map_err(|e| store::StoreError::Open(e.to_string()))??
        };
        let bootstrap_password = {
            let a = auth.clone();
            tokio::task::spawn_blocking(move || a.bootstrap_admin())
                .await
                .map_err(|e| store::StoreError::Open(e.to_string()))??
        };
        if let (Some(_), Some(log)) = (&bootstrap_password, &audit) {
            let entry = vigie_audit::AuditEntry::new("hub", vigie_audit::Action::ConfigChange, "user/admin")
                .with_detail(serde_json::json!({ "change": "first_administrator_created" }));
            log.record(entry).await.map_err(HubError::Audit)?;
        }
        if let Some(log) = &audit
            && let Some(dir) = audit_dir_of(log)
        {
            record_config_change(log, &dir, &opts.config).await?;
        }
        let social = match opts.config.social_index.clone() {
            Some(path) => Some(Arc::new(
                tokio::task::spawn_blocking(move || vigie_social::search::SearchReader::open(&path))
                    .await
                    .map_err(|e| HubError::Social(e.to_string()))?
                    .map_err(|e| HubError::Social(e.to_string()))?,
            )),
            None => None,
        };
        let metrics = Arc::new(Metrics::default());
        let ingest = {
            let (config, store, clock, metrics) =
                (opts.config.clone(), store.clone(), opts.clock.clone(), metrics.clone());
            tokio::task::spawn_blocking(move || Ingest::start(config, store, clock, metrics))
                .await
                .map_err(|e| store::StoreError::Open(e.to_string()))??
        };

        let mut external = None;
        let (broker, mqtt_addr, mqtt_desc) = match &opts.mqtt {
            MqttMode::Embedded(addr) => {
                let b = mqtt::start_embedded(*addr, ingest.clone(), auth.clone()).await.map_err(|e| match e {
                    vigie_broker::BrokerError::AddrInUse { addr } => HubError::MqttAddrInUse { addr },
                    other => HubError::Broker(other),
                })?;
                let local = b.local_addr();
                (Some(b), Some(local), format!("embedded {local}"))
            }
            MqttMode::External(ext) => {
                external = Some(mqtt::start_external(ext.clone(), ingest.clone()));
                (None, None, format!("external mqtt://{}:{}", ext.host, ext.port))
            }
            MqttMode::Off => (None, None, "off".into()),
        };

        let mut state = api::AppState {
            ingest: ingest.clone(),
            store: store.clone(),
            started: Instant::now(),
            mqtt: mqtt_desc,
            broker: broker.clone(),
            audit: audit.clone(),
            evidence: evidence_dir.map(evidence::EvidenceStore::new),
            reports: Arc::new(api::reports::RateLimiter::for_reports()),
            auth: auth.clone(),
            exports: None,
            social,
            transparency: Arc::default(),
            // Over plain HTTP only on a loopback address; anywhere else the hub must be
            // reached over TLS, and its cookie never travels in clear.
            secure_cookies: !http_addr.ip().is_loopback(),
            recordings: recordings.clone(),
            live: vigie_record::live::LiveFanout::new(),
            recording_counts: Arc::default(),
        };
        let exports_dir = state.evidence.as_ref().and_then(|e| e.dir().parent()).map(|d| d.join("exports"));
        if let Some(dir) = &exports_dir {
            let (store, evidence, dir, clock, name) =
                (store.clone(), state.evidence.clone(), dir.clone(), opts.clock.clone(), opts.config.hub_name.clone());
            state.exports = Some(
                tokio::task::spawn_blocking(move || exports::Exports::open(store, evidence, &dir, clock, name))
                    .await
                    .map_err(|e| HubError::Audit(e.to_string()))?
                    .map_err(|e| HubError::Audit(e.to_string()))
                    .map(|x| match &recordings {
                        // Cameras' clips are cut from the recordings by FFmpeg.
                        Some(archive) => x.with_clips(exports::clip::ClipSource {
                            archive: archive.clone(),
                            ffmpeg: std::path::PathBuf::from("ffmpeg"),
                        }),
                        None => x,
                    })?,
            );
        }
        let retention = retention::Retention::new(
            store.clone(),
            state.evidence.clone(),
            exports_dir,
            audit.clone(),
            opts.config.clone(),
            opts.clock.clone(),
        );
        let retention = match recordings {
            Some(a) => retention.with_recordings(a, recording_budget),
            None => retention,
        };
        let housekeeping = tokio::spawn(housekeeping(auth.clone()));
        let purges = tokio::spawn(retention.run());
        let app = api::router(state);
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await {
                tracing::error!(error = %e, "HTTP server stopped");
            }
        });
        tracing::info!(http = %http_addr, mqtt = ?mqtt_addr, store = store.backend(), sensors = opts.config.sensors.len(), "hub started");
        Ok(Hub {
            http_addr,
            mqtt_addr,
            ingest,
            store,
            auth,
            bootstrap_password,
            audit,
            server,
            housekeeping,
            purges,
            broker,
            external,
        })
    }

    /// Stops serving. Committed data is already durable; nothing else to flush.
    pub async fn stop(self) {
        self.server.abort();
        self.housekeeping.abort();
        self.purges.abort();
        if let Some(b) = self.broker {
            b.shutdown().await;
        }
        if let Some(e) = self.external {
            e.stop().await;
        }
    }
}

/// Every 10 s: reload the live tokens (another hub on the same store may have revoked
/// one) and drop ended sessions.
async fn housekeeping(auth: auth::Auth) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let a = auth.clone();
        let result = tokio::task::spawn_blocking(move || a.refresh_tokens().and_then(|_| a.purge_sessions())).await;
        match result {
            Ok(Err(e)) => tracing::warn!(error = %e, "accounts housekeeping failed"),
            Err(e) => tracing::warn!(error = %e, "accounts housekeeping task failed"),
            Ok(Ok(_)) => {}
        }
    }
}

/// The data folder holding an audit log (`<data>/audit`), where the hub keeps the SHA-256
/// of the config it last ran with.
fn audit_dir_of(log: &audit::Auditor) -> Option<std::path::PathBuf> {
    log.dir().parent().map(std::path::Path::to_path_buf)
}

/// The config is a file edited outside the hub: each start with a config whose bytes
/// differ from the last start's is a config change, written to the audit log with both
/// hashes (the DPO compares them with the files kept in version control).
async fn record_config_change(log: &audit::Auditor, data: &std::path::Path, config: &Config) -> Result<(), HubError> {
    use sha2::Digest;
    let Some(path) = config.source.clone() else { return Ok(()) };
    let Ok(bytes) = std::fs::read(&path) else { return Ok(()) };
    let sha: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let state = data.join("config.sha256");
    let previous = std::fs::read_to_string(&state).ok().map(|s| s.trim().to_owned());
    if previous.as_deref() == Some(sha.as_str()) {
        return Ok(());
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let entry = vigie_audit::AuditEntry::new("hub", vigie_audit::Action::ConfigChange, format!("config/{name}"))
        .with_detail(serde_json::json!({
            "change": if previous.is_some() { "config_changed" } else { "config_first_used" },
            "previous_sha256": previous,
            "sha256": sha,
        }));
    log.record(entry).await.map_err(HubError::Audit)?;
    std::fs::write(&state, format!("{sha}\n")).map_err(|e| HubError::Audit(format!("{}: {e}", state.display())))
}
