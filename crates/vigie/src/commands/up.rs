//! `vigie up`: the hub with embedded defaults; `--demo` adds the bundled city and its replay.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use vigie_hub::mqtt::ExternalBroker;
use vigie_hub::{Hub, HubError, HubOptions, MqttMode};
use vigie_model::config::Config;

use crate::UsageError;

const DEFAULT_HTTP: &str = "127.0.0.1:8080";
const DEFAULT_MQTT: &str = "127.0.0.1:1883";

#[derive(Args)]
pub struct UpArgs {
    /// Load the bundled demo city (centre of Nantes) and replay a stream of detections.
    #[arg(long)]
    demo: bool,
    /// The TOML config (sensors, zones, rules). Default: ./vigie.toml if present.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Data folder: SQLite store, demo files.
    #[arg(long, default_value = "vigie-data", env = "VIGIE_DATA")]
    data: PathBuf,
    /// HTTP address of the API and console.
    #[arg(long)]
    http: Option<SocketAddr>,
    /// Address of the embedded MQTT broker.
    #[arg(long)]
    mqtt_listen: Option<SocketAddr>,
    /// Use an external MQTT broker instead of the embedded one: mqtt://[user[:pass]@]host[:port]
    #[arg(long, conflicts_with = "mqtt_listen")]
    mqtt_broker: Option<String>,
    /// Persistent-session client id at the external broker (keep it stable).
    #[arg(long, default_value = "vigie-hub", requires = "mqtt_broker")]
    mqtt_client_id: String,
    /// Shared-subscription group, to spread detections over several hubs.
    #[arg(long, requires = "mqtt_broker")]
    mqtt_share_group: Option<String>,
    /// HTTP ingest only, no MQTT.
    #[arg(long, conflicts_with_all = ["mqtt_broker", "mqtt_listen"])]
    no_mqtt: bool,
    /// Store: postgres://user@host/db for PostgreSQL; default: a SQLite file in the data folder.
    #[arg(long, env = "VIGIE_STORE")]
    store: Option<String>,
}

fn free_if_taken(addr: SocketAddr) -> SocketAddr {
    match std::net::TcpListener::bind(addr) {
        Ok(_) => addr,
        Err(_) => SocketAddr::new(addr.ip(), 0),
    }
}

/// Ctrl-C (SIGINT) or SIGTERM (service managers).
async fn wait_for_stop() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("cannot wait for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}

pub fn run(args: UpArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
    rt.block_on(up(args))
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    let config_path = if args.demo {
        if args.config.is_some() {
            return Err(UsageError("--demo brings its own config; drop --config".into()).into());
        }
        let dir = args.data.join("demo");
        Some(vigie_hub::demo::install(&dir).with_context(|| format!("cannot write the demo into {}", dir.display()))?)
    } else {
        args.config.clone().or_else(|| {
            let p = PathBuf::from("vigie.toml");
            p.exists().then_some(p)
        })
    };
    if args.demo {
        // The online-media search of the demo: half a day of generated posts, indexed.
        let dir = args.data.join("demo");
        let now = chrono::Utc::now().timestamp_millis();
        vigie_social::demo::build_index(&dir.join("social.toml"), &dir.join("social-index"), now, 12)
            .context("cannot build the demo's online-media index")?;
    }
    let config = match &config_path {
        Some(p) => Config::load(p).map_err(|e| UsageError(e.to_string()))?,
        None => {
            eprintln!(
                "note: no config given (--config FILE) and no ./vigie.toml: no sensors are declared, so every detection is refused as unknown_sensor. Try `vigie up --demo`."
            );
            Config::empty()
        }
    };
    if config.authorizations.is_empty() && !config.sensors.is_empty() {
        eprintln!(
            "warning: the config declares no [[authorizations]]: no legal basis is checked, every configured analytic is accepted. Declare the prefectoral orders and council decisions (docs/configuration.md#authorizations) to enforce them."
        );
    }
    let config = Arc::new(config);

    // --demo alone may move off taken default ports; explicit flags never move.
    let mut http = args.http.unwrap_or_else(|| DEFAULT_HTTP.parse().expect("valid default"));
    let mut mqtt_listen = args.mqtt_listen.unwrap_or_else(|| DEFAULT_MQTT.parse().expect("valid default"));
    if args.demo {
        if args.http.is_none() {
            http = free_if_taken(http);
        }
        if args.mqtt_listen.is_none() {
            mqtt_listen = free_if_taken(mqtt_listen);
        }
    }
    if args.demo && (args.no_mqtt || args.mqtt_broker.is_some()) {
        return Err(UsageError("--demo replays over the embedded broker; drop --no-mqtt/--mqtt-broker".into()).into());
    }
    let mqtt = if args.no_mqtt {
        MqttMode::Off
    } else if let Some(url) = &args.mqtt_broker {
        let mut b = ExternalBroker::parse(url).map_err(|e| UsageError(format!("--mqtt-broker: {e}")))?;
        b.client_id = args.mqtt_client_id.clone();
        b.share_group = args.mqtt_share_group.clone();
        MqttMode::External(b)
    } else {
        MqttMode::Embedded(mqtt_listen)
    };
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("cannot create the data folder {}", args.data.display()))?;
    let store_url = args.store.clone().unwrap_or_else(|| args.data.join("vigie.db").display().to_string());

    let audit_dir = args.data.join("audit");
    let hub = Hub::start_with_audit(HubOptions {
        config: config.clone(),
        http_listen: http,
        store_url: store_url.clone(),
        mqtt,
        clock: vigie_hub::ingest::system_clock(),
    }, Some(audit_dir.clone()))
    .await
    .map_err(|e| -> anyhow::Error {
        match e {
            HubError::HttpAddrInUse { addr } => {
                UsageError(format!("the HTTP address {addr} is already in use; choose another with --http ADDR (e.g. --http 127.0.0.1:8081)")).into()
            }
            HubError::MqttAddrInUse { addr } => UsageError(format!(
                "the MQTT address {addr} is already in use (another broker?); choose another with --mqtt-listen ADDR, or use that broker with --mqtt-broker mqtt://{addr}"
            ))
            .into(),
            other => anyhow::Error::new(other).context("cannot start the hub"),
        }
    })?;

    let store_desc = if store_url.starts_with("postgres") { "postgresql".to_owned() } else { store_url.clone() };
    println!("Vigie hub — {}", config.hub_name);
    println!(
        "  API              http://{}/api/v1/  (health: /api/v1/health, OpenAPI: /api/v1/openapi.json, live: /api/v1/stream)",
        hub.http_addr
    );
    match hub.mqtt_addr {
        Some(a) => println!("  MQTT (embedded)  mqtt://{a}  — publish detections on vigie/v1/detections/{{sensor}}"),
        None if args.no_mqtt => println!("  MQTT             off"),
        None => match &args.mqtt_broker {
            Some(url) => match ExternalBroker::parse(url) {
                Ok(b) => println!("  MQTT (external)  mqtt://{}:{} as {}", b.host, b.port, args.mqtt_client_id),
                Err(_) => println!("  MQTT (external)"),
            },
            None => println!("  MQTT             off"),
        },
    }
    println!("  store            {store_desc}");
    println!("  audit log        {}  (verify: vigie audit verify --data {})", audit_dir.display(), audit_dir.display());
    println!("  sensors {}, rules {}, districts {}", config.sensors.len(), config.rules.len(), config.districts.len());
    if let Some(p) = &config_path {
        println!("  config           {}", p.display());
    }
    println!(
        "  console          http://{}/  (sign in)   public report page: http://{}/report",
        hub.http_addr, hub.http_addr
    );
    if let Some(otp) = &hub.bootstrap_password {
        println!(
            "  administrator    admin / {otp}   (one-time password, shown only now: change it at the first sign-in; if lost, stop the hub and run `vigie user reset-password admin`)"
        );
    }
    let demo_accounts = if args.demo {
        let auth = hub.auth.clone();
        tokio::task::spawn_blocking(move || vigie_hub::demo::install_accounts(&auth))
            .await
            .context("cannot create the demo accounts")?
            .context("cannot create the demo accounts")?
    } else {
        Vec::new()
    };
    for a in &demo_accounts {
        println!("  demo account     {:<15} / {:<27} ({})", a.username, a.password, a.role);
    }
    if args.demo {
        println!(
            "  demo token       {}  (publishes for every demo sensor: HTTP Authorization: Bearer, MQTT password)",
            vigie_hub::demo::DEMO_TOKEN
        );
    }

    if args.demo {
        let Some(mqtt) = hub.mqtt_addr else {
            return Err(anyhow::anyhow!("the embedded broker did not start"));
        };
        let replay = vigie_hub::demo::Replay::new(config.clone(), ulid::Ulid::new().random() as u64);
        tokio::spawn(replay.run(mqtt.ip().to_string(), mqtt.port(), vigie_hub::demo::DEMO_TOKEN.to_owned()));
        println!(
            "  demo             replaying detections over MQTT; incidents form within a minute (GET /api/v1/incidents)"
        );
    }
    println!("Ctrl-C to stop.");
    wait_for_stop().await?;
    println!("stopping");
    hub.stop().await;
    Ok(())
}
