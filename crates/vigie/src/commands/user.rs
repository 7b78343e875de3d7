//! `vigie user reset-password`: recovery when no administrator can sign in (the one-time
//! password of the first start was lost, or every administrator is locked out). It works
//! on the data folder directly, with the hub stopped (the audit log allows one writer),
//! and the reset is written to the audit log like any other.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use vigie_audit::{Action, AuditEntry, AuditLog, AuditOptions};
use vigie_hub::auth::Auth;

use crate::UsageError;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Give an account a new one-time password (printed once) and end its sessions.
    ResetPassword(ResetArgs),
}

#[derive(Args)]
pub struct ResetArgs {
    /// The account, e.g. `admin`.
    username: String,
    /// Data folder of the (stopped) hub.
    #[arg(long, default_value = "vigie-data", env = "VIGIE_DATA")]
    data: PathBuf,
    /// The hub's store, if not the SQLite file of the data folder: postgres://…
    #[arg(long, env = "VIGIE_STORE")]
    store: Option<String>,
}

pub fn run(cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::ResetPassword(a) => reset(a),
    }
}

fn reset(a: ResetArgs) -> anyhow::Result<()> {
    let db = a.data.join("vigie.db");
    if a.store.is_none() && !db.exists() {
        return Err(UsageError(format!(
            "{} holds no hub store (--data DIR, or --store postgres://…)",
            a.data.display()
        ))
        .into());
    }
    // The audit log first: it refuses a second writer, so a running hub stops us here.
    let mut log = AuditLog::open_with(a.data.join("audit"), AuditOptions { origin: "vigie/audit".into(), sync: true })
        .context("cannot open the audit log")?;
    let url = a.store.clone().unwrap_or_else(|| db.display().to_string());
    let store: Arc<dyn vigie_hub::store::Store> =
        Arc::from(vigie_hub::store::open(&url).with_context(|| format!("cannot open the store {url}"))?);
    let auth = Auth::new(store, vigie_hub::ingest::system_clock())?;
    let otp = auth.reset_password(&a.username).map_err(|e| UsageError(e.to_string()))?;
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    log.append(
        AuditEntry::new(format!("cli:{who}"), Action::ConfigChange, format!("user/{}", a.username))
            .with_detail(serde_json::json!({ "change": "password_reset", "by": "vigie user reset-password" })),
    )
    .context("cannot write the audit log")?;
    println!("{} / {otp}   (one-time password: change it at the next sign-in)", a.username);
    Ok(())
}
