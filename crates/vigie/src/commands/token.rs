//! `vigie token create|revoke`: device and service tokens for a data folder, from a
//! shell (provisioning scripts, a first device before anyone signs in). Works with the hub
//! stopped — the audit log allows one writer — and writes each change to the audit log.
//! With the hub running, use the console (Comptes) or `POST /api/v1/tokens`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use vigie_audit::{Action, AuditEntry, AuditLog, AuditOptions};
use vigie_hub::auth::{Auth, Role};
use vigie_hub::store::SensorScope;
use vigie_model::config::Config;

use crate::UsageError;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Issue a token; prints its secret (shown only now) on stdout.
    Create(CreateArgs),
    /// Revoke a token by its id (`tok_…`).
    Revoke(RevokeArgs),
}

#[derive(Args)]
pub struct Where {
    /// Data folder of the (stopped) hub.
    #[arg(long, default_value = "vigie-data", env = "VIGIE_DATA")]
    data: PathBuf,
    /// The hub's store, if not the SQLite file of the data folder: postgres://…
    #[arg(long, env = "VIGIE_STORE")]
    store: Option<String>,
}

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    at: Where,
    /// What it is for, e.g. "caméra place du Commerce".
    #[arg(long)]
    label: String,
    /// A sensor it may publish for (repeat; `*` for every sensor).
    #[arg(long = "sensor")]
    sensors: Vec<String>,
    /// A role it acts with on the API (operator or supervisor), for an integration.
    #[arg(long)]
    role: Option<Role>,
    /// The hub's config, to check that the sensors are declared.
    #[arg(long, short)]
    config: Option<PathBuf>,
}

#[derive(Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    at: Where,
    /// The token's id, `tok_…`.
    id: String,
}

pub fn run(cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create(a) => create(a),
        TokenCommand::Revoke(a) => revoke(a),
    }
}

fn open(at: &Where) -> anyhow::Result<(AuditLog, Auth)> {
    std::fs::create_dir_all(&at.data).with_context(|| format!("cannot create {}", at.data.display()))?;
    // The audit log first: it refuses a second writer, so a running hub stops us here.
    let log = AuditLog::open_with(at.data.join("audit"), AuditOptions { origin: "vigie/audit".into(), sync: true })
        .context("cannot open the audit log")?;
    let url = at.store.clone().unwrap_or_else(|| at.data.join("vigie.db").display().to_string());
    let store: Arc<dyn vigie_hub::store::Store> =
        Arc::from(vigie_hub::store::open(&url).with_context(|| format!("cannot open the store {url}"))?);
    Ok((log, Auth::new(store, vigie_hub::ingest::system_clock())?))
}

fn who() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
}

fn create(a: CreateArgs) -> anyhow::Result<()> {
    let sensors = if a.sensors.iter().any(|s| s == "*") {
        SensorScope::All
    } else {
        if let Some(path) = &a.config {
            let cfg = Config::load(path).map_err(|e| UsageError(e.to_string()))?;
            if let Some(s) = a.sensors.iter().find(|s| cfg.sensor(s).is_none()) {
                return Err(UsageError(format!("--sensor {s}: not declared in {}", path.display())).into());
            }
        }
        SensorScope::Only(a.sensors.clone())
    };
    let (mut log, auth) = open(&a.at)?;
    let (view, secret) = auth.create_token(&a.label, a.role, sensors, &who()).map_err(|e| UsageError(e.to_string()))?;
    log.append(AuditEntry::new(who(), Action::ConfigChange, format!("token/{}", view.id)).with_detail(
        serde_json::json!({ "change": "token_created", "sensors": view.sensors, "role": view.role, "label": view.label }),
    ))
    .context("cannot write the audit log")?;
    eprintln!("token {} ({}) issued; its secret, shown only now:", view.id, view.label);
    println!("{secret}");
    Ok(())
}

fn revoke(a: RevokeArgs) -> anyhow::Result<()> {
    let (mut log, auth) = open(&a.at)?;
    auth.revoke_token(&a.id).map_err(|e| UsageError(e.to_string()))?;
    log.append(
        AuditEntry::new(who(), Action::ConfigChange, format!("token/{}", a.id))
            .with_detail(serde_json::json!({ "change": "token_revoked" })),
    )
    .context("cannot write the audit log")?;
    eprintln!("token {} revoked", a.id);
    Ok(())
}
