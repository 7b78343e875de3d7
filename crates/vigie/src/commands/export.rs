//! `vigie export verify PACKAGE.zip`: checks an evidence package as its recipient would —
//! the manifest's Ed25519 signature and the SHA-256 of every file.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::UsageError;

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Check a package's signature and files. Exit code 1 if anything does not match.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The package (`vigie-extraction-<id>.zip`).
    package: PathBuf,
    /// The hub's export key to trust (C2SP verifier key text, or a file holding it, e.g.
    /// from the hub's transparency page). Without it, the package's own `export.pub` is
    /// used: that proves the package is intact, not who made it.
    #[arg(long)]
    public_key: Option<String>,
}

pub fn run(cmd: ExportCommand) -> anyhow::Result<()> {
    match cmd {
        ExportCommand::Verify(a) => verify(a),
    }
}

fn verify(a: VerifyArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&a.package).with_context(|| format!("cannot read {}", a.package.display()))?;
    let key = match &a.public_key {
        Some(k) if std::path::Path::new(k).is_file() => {
            Some(std::fs::read_to_string(k).with_context(|| format!("cannot read the key file {k}"))?)
        }
        Some(k) => Some(k.clone()),
        None => None,
    };
    if key.as_deref().is_some_and(|k| vigie_audit::parse_vkey(k).is_none()) {
        return Err(UsageError("--public-key is not an Ed25519 verifier key".into()).into());
    }
    match vigie_hub::exports::package::verify(&bytes, key.as_deref()) {
        Ok(c) => {
            let whose = if key.is_some() { "the given key" } else { "the key inside the package (integrity only)" };
            println!("ok: export {} — signature valid ({whose}), {} file(s) match the manifest", c.export_id, c.files);
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!("{}: {e}", a.package.display())),
    }
}
