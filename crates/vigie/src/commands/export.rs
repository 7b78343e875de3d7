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
    /// from the hub's transparency page): proves who made the package.
    #[arg(long, required_unless_present = "integrity_only")]
    public_key: Option<String>,
    /// Check against the package's own `export.pub` instead: proves the package is intact,
    /// not who made it (anyone can sign a forgery with a key of their own).
    #[arg(long, conflicts_with = "public_key")]
    integrity_only: bool,
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
