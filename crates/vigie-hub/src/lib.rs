//! The Vigie hub: ingests detections (MQTT and HTTP), fuses them into incidents, stores
//! both, serves the API and the live stream.
//!
//! [`Hub::start`] wires the parts from [`HubOptions`]: the store, the ingest writer (which
//! owns fusion), the MQTT side (embedded broker or an external one) and the HTTP server.

pub mod api;
pub mod audit;
pub mod demo;
mod fasthash;
pub mod fusion;
pub mod ingest;
pub mod live;
pub mod metrics;
pub mod mqtt;
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
    #[error("embedded MQTT broker: {0}")]
    Broker(vigie_broker::BrokerError),
}

/// A running hub.
pub struct Hub {
    pub http_addr: SocketAddr,
    pub mqtt_addr: Option<SocketAddr>,
    pub ingest: Ingest,
    pub store: Arc<dyn store::Store>,
    server: tokio::task::JoinHandle<()>,
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

    /// Starts a hub with an audit folder and an evidence folder (citizen report photos), each
    /// optional.
    pub async fn start_full(
        opts: HubOptions,
        audit_dir: Option<std::path::PathBuf>,
        evidence_dir: Option<std::path::PathBuf>,
    ) -> Result<Hub, HubError> {
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
                let b = mqtt::start_embedded(*addr, ingest.clone()).await.map_err(|e| match e {
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

        let state = api::AppState {
            ingest: ingest.clone(),
            store: store.clone(),
            started: Instant::now(),
            mqtt: mqtt_desc,
            broker: broker.clone(),
            audit: audit.clone(),
            evidence_dir,
            reports: Arc::new(api::reports::RateLimiter::for_reports()),
        };
        let app = api::router(state);
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await {
                tracing::error!(error = %e, "HTTP server stopped");
            }
        });
        tracing::info!(http = %http_addr, mqtt = ?mqtt_addr, store = store.backend(), sensors = opts.config.sensors.len(), "hub started");
        Ok(Hub { http_addr, mqtt_addr, ingest, store, server, broker, external })
    }

    /// Stops serving. Committed data is already durable; nothing else to flush.
    pub async fn stop(self) {
        self.server.abort();
        if let Some(b) = self.broker {
            b.shutdown().await;
        }
        if let Some(e) = self.external {
            e.stop().await;
        }
    }
}
