//! `vigie config check FILE`: validates a config; errors point at the line.

use std::path::PathBuf;

use clap::Subcommand;
use vigie_model::config::Config;

use crate::UsageError;

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Check a config file: unknown keys, bad values and references are reported with their line.
    Check {
        /// The TOML config, e.g. demo/nantes/vigie.toml
        file: PathBuf,
    },
}

pub fn run(cmd: ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Check { file } => {
            let cfg = Config::load(&file).map_err(|e| UsageError(e.to_string()))?;
            println!(
                "{}: ok — {} sensors, {} rules, {} districts",
                file.display(),
                cfg.sensors.len(),
                cfg.rules.len(),
                cfg.districts.len()
            );
            let outside = cfg.sensors.iter().filter(|s| s.district.is_none()).count();
            if !cfg.districts.is_empty() && outside > 0 {
                println!("note: {outside} sensors lie outside every district");
            }
            Ok(())
        }
    }
}
