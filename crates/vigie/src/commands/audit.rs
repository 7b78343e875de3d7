//! `vigie audit …`: check the audit log (architecture property 8).
//!
//! `vigie audit verify` exits 0 when every checkpoint's signature holds and the entries
//! rebuild every signed tree head, 1 when anything was changed, removed, reordered or cut
//! (the message names the first such entry), 2 on bad usage (a folder that does not exist).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use vigie_audit::checkpoint::{PUBLIC_KEY_FILE, SignedCheckpoint, parse_vkey};
use vigie_audit::{AuditError, CHECKPOINTS_FILE, VerifyOptions};

use crate::UsageError;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the whole log against its signed checkpoints; names the first changed entry.
    Verify(VerifyArgs),
    /// Print the log's public key (C2SP verifier key) and its latest checkpoint as a signed note.
    Key(KeyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Data folder (its `audit/` subfolder is used when present) or the audit folder itself.
    #[arg(long, default_value = "vigie-data", env = "VIGIE_DATA", conflicts_with = "log")]
    data: PathBuf,
    /// The entries file (`entries.jsonl`); checkpoints and key are read from its folder.
    #[arg(long)]
    log: Option<PathBuf>,
    /// The public key to trust (C2SP verifier key or base64, or a file holding one). By
    /// default the `audit.pub` of the folder, which whoever can write the folder could replace.
    #[arg(long)]
    public_key: Option<String>,
}

#[derive(Args)]
pub struct KeyArgs {
    /// Data folder (its `audit/` subfolder is used when present) or the audit folder itself.
    #[arg(long, default_value = "vigie-data", env = "VIGIE_DATA")]
    data: PathBuf,
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify(a) => verify(a),
        AuditCommand::Key(a) => key(a),
    }
}

/// `DIR/audit` when it holds a log, else `DIR`.
fn audit_dir(data: &Path) -> anyhow::Result<PathBuf> {
    if !data.is_dir() {
        return Err(UsageError(format!("--data {}: no such folder", data.display())).into());
    }
    let sub = data.join("audit");
    Ok(if sub.join(CHECKPOINTS_FILE).exists() { sub } else { data.to_path_buf() })
}

fn verify(a: VerifyArgs) -> anyhow::Result<()> {
    let (dir, entries) = match &a.log {
        Some(file) => {
            if !file.is_file() {
                return Err(UsageError(format!("--log {}: no such file", file.display())).into());
            }
            let dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            (dir.to_path_buf(), Some(file.clone()))
        }
        None => (audit_dir(&a.data)?, None),
    };
    let public_key = match &a.public_key {
        None => None,
        Some(text) => {
            let text = if Path::new(text).is_file() {
                std::fs::read_to_string(text).with_context(|| format!("cannot read --public-key {text}"))?
            } else {
                text.clone()
            };
            Some(parse_vkey(&text).ok_or_else(|| UsageError(format!("--public-key {text}: not an Ed25519 key")))?)
        }
    };
    match vigie_audit::verify(&dir, &VerifyOptions { entries, public_key }) {
        Ok(ok) => {
            println!(
                "ok: {} entries, root {}, checkpoint signed by {} ({} checkpoints, latest {})",
                ok.entries, ok.root, ok.signed_by, ok.checkpoints, ok.checkpoint.timestamp
            );
            Ok(())
        }
        Err(AuditError::Tampered(t)) => Err(anyhow::anyhow!("audit log {} does not verify: {t}", dir.display())),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot verify the audit log in {}", dir.display()))),
    }
}

fn key(a: KeyArgs) -> anyhow::Result<()> {
    let dir = audit_dir(&a.data)?;
    let p = dir.join(PUBLIC_KEY_FILE);
    let vkey = std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
    println!("{}", vkey.trim());
    let cps = std::fs::read_to_string(dir.join(CHECKPOINTS_FILE)).unwrap_or_default();
    if let Some(last) = cps.lines().last() {
        let cp: SignedCheckpoint = serde_json::from_str(last).context("the latest checkpoint is malformed")?;
        print!("\n{}", cp.to_note());
    }
    Ok(())
}
