//! `vigie`: the one binary. Flags and wiring only; the work is in the library crates.
//!
//! Exit codes: 0 success; 1 runtime failure (store, network); 2 bad usage or invalid
//! config (the message names the flag or the config line).

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "vigie", version, about = "Vigie — urban supervision centre, lawful by construction")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub: embedded MQTT broker, HTTP API on 127.0.0.1:8080, SQLite store.
    Up(commands::up::UpArgs),
    /// Work with the TOML config.
    Config {
        #[command(subcommand)]
        command: commands::config::ConfigCommand,
    },
    /// Mobility flows from network event records: generate, run (private releases,
    /// anomalies), risk (unicity), check (no count under k).
    Flows {
        #[command(subcommand)]
        command: commands::flows::FlowsCommand,
    },
    /// Acoustic analytics: simulate recordings, listen (detect, classify), locate (TDOA).
    Audio {
        #[command(subcommand)]
        command: commands::audio::AudioCommand,
    },
    /// Video analytics: check a camera config, run cameras (FFmpeg input, masks, motion,
    /// anonymous tracks, the lawful events), simulate scenes with ground truth.
    Video {
        #[command(subcommand)]
        command: commands::video::VideoCommand,
    },
    /// Recording and live view: record cameras in fragmented MP4 segments (stream copy, or
    /// privacy masks burned in), upload them to the hub, publish the live view.
    Record {
        #[command(subcommand)]
        command: commands::record::RecordCommand,
    },
    /// Online-media alerting on topics and places, never on people: run sources, generate
    /// a stream with planted events, search retained posts.
    Social {
        #[command(subcommand)]
        command: commands::social::SocialCommand,
    },
    /// The audit log: `vigie audit verify` checks it against its signed checkpoints.
    Audit {
        #[command(subcommand)]
        command: commands::audit::AuditCommand,
    },
    /// Evidence packages: `vigie export verify PACKAGE.zip` checks signature and files.
    Export {
        #[command(subcommand)]
        command: commands::export::ExportCommand,
    },
    /// Device and service tokens from a shell, hub stopped: `vigie token create --label L --sensor S`.
    Token {
        #[command(subcommand)]
        command: commands::token::TokenCommand,
    },
    /// Accounts: `vigie user reset-password USER` when no administrator can sign in.
    User {
        #[command(subcommand)]
        command: commands::user::UserCommand,
    },
    /// Benchmarks; each ends with one line of JSON holding its figures.
    Bench {
        #[command(subcommand)]
        command: commands::bench::BenchCommand,
    },
}

/// An error that is the user's to fix (exit code 2), as opposed to a runtime failure.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIGIE_LOG").unwrap_or_else(|_| "info,rumqttc=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Up(args) => commands::up::run(args),
        Command::Config { command } => commands::config::run(command),
        Command::Bench { command } => commands::bench::run(command),
        Command::Audit { command } => commands::audit::run(command),
        Command::Audio { command } => commands::audio::run(command),
        Command::Video { command } => commands::video::run(command),
        Command::Record { command } => commands::record::run_command(command),
        Command::User { command } => commands::user::run(command),
        Command::Export { command } => commands::export::run(command),
        Command::Token { command } => commands::token::run(command),
        Command::Flows { command } => commands::flows::run(command),
        Command::Social { command } => commands::social::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(u) = e.downcast_ref::<UsageError>() {
                eprintln!("error: {u}");
                ExitCode::from(2)
            } else {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        }
    }
}
