//! `vigie flows generate|run|risk|check`: flags and wiring; the work is in `vigie-flows`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use vigie_flows::config::DpConfig;
use vigie_flows::daily::process_day;
use vigie_flows::generate::{GatheringConfig, GenerateConfig, OutputFormat, generate};
use vigie_flows::inputs::EventFile;
use vigie_flows::privacy::ledger::Ledger;
use vigie_flows::risk::{Place, Resolution, RiskConfig, unicity};
use vigie_flows::stages::anomaly::AnomalyConfig;
use vigie_flows::{FlowsConfig, Geography};

use super::publish::{PublishArgs, publish_and_report};
use crate::UsageError;

#[derive(Subcommand)]
pub enum FlowsCommand {
    /// Generate a synthetic metropolis: cells, zones, a day or more of events, ground truth.
    Generate(GenerateArgs),
    /// Aggregate event records into a private release per day (k-anonymous, optional DP),
    /// detect anomalies against earlier releases, optionally publish them.
    Run(RunArgs),
    /// Re-identification risk of a raw dataset: unicity given p random points.
    Risk(RiskArgs),
    /// Check a written release: fails if any published count is under k.
    Check(CheckArgs),
}

#[derive(Args)]
pub struct GenerateArgs {
    /// Output folder (created): cells.csv, zones.geojson, events/, truth/, meta.json.
    #[arg(long)]
    out: PathBuf,
    /// Phones of the operator (people = devices / market share).
    #[arg(long, default_value_t = 20_000)]
    devices: usize,
    #[arg(long, default_value_t = 2_000)]
    cells: usize,
    #[arg(long, default_value_t = 1)]
    days: usize,
    /// Days between generated days (7: the same weekday of successive weeks).
    #[arg(long, default_value_t = 1)]
    day_step: usize,
    /// First day (local date).
    #[arg(long, default_value = "2026-11-23")]
    start: NaiveDate,
    #[arg(long, default_value_t = 0.35)]
    market_share: f64,
    #[arg(long, default_value_t = 100.0)]
    events_per_device: f64,
    /// Zone of a planted gathering (none without it).
    #[arg(long)]
    gathering_zone: Option<String>,
    /// Day index of the gathering (0 = first generated day).
    #[arg(long, default_value_t = 0)]
    gathering_day: usize,
    /// Local start time of the gathering, HH:MM.
    #[arg(long, default_value = "20:00")]
    gathering_start: String,
    #[arg(long, default_value_t = 180)]
    gathering_minutes: u32,
    /// Share of residents and in-commuters who attend.
    #[arg(long, default_value_t = 0.01)]
    gathering_share: f64,
    #[arg(long, value_parser = ["parquet", "csv"], default_value = "parquet")]
    format: String,
    /// Share of rows made bad on purpose (counted in meta.json).
    #[arg(long, default_value_t = 0.0)]
    bad_rows: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

/// Settings shared by `run` and `risk`.
#[derive(Args, Clone)]
pub struct InputArgs {
    /// Event files (*.parquet, *.csv) or folders of them.
    #[arg(long, required = true, num_args = 1..)]
    events: Vec<PathBuf>,
    /// Cell table (CSV: cell_id, lon, lat[, azimuth_deg, range_m]).
    #[arg(long)]
    cells: PathBuf,
    /// Zones (GeoJSON FeatureCollection, properties id and name).
    #[arg(long)]
    zones: PathBuf,
    /// Settings file (TOML, the keys of `FlowsConfig`); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The operator's market share, for extrapolation.
    #[arg(long)]
    market_share: Option<f64>,
    /// Process only this local day (default: each day found in the files).
    #[arg(long)]
    day: Option<NaiveDate>,
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Releases root: one folder per day; earlier days there are the anomaly baseline.
    #[arg(long)]
    out: PathBuf,
    /// Smallest published count (observed devices or trips).
    #[arg(long)]
    k: Option<u32>,
    /// Differential privacy: ε spent per release (day), recorded in the ledger.
    #[arg(long)]
    epsilon: Option<f64>,
    /// ε ledger (JSON lines); default <out>/epsilon-ledger.jsonl.
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// Refuse a release that would take the ledger's total ε past this.
    #[arg(long)]
    epsilon_cap: Option<f64>,
    /// Weeks of same-weekday releases in the anomaly baseline.
    #[arg(long, default_value_t = 4)]
    baseline_weeks: usize,
    /// Robust z-score from which a value is anomalous.
    #[arg(long, default_value_t = 4.0)]
    z_threshold: f64,
    #[command(flatten)]
    publish: PublishArgs,
}

#[derive(Args)]
pub struct RiskArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Numbers of random points per device (comma separated).
    #[arg(long, default_value = "2,3,4")]
    points: String,
    /// Devices tested per setting.
    #[arg(long, default_value_t = 10_000)]
    sample: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Args)]
pub struct CheckArgs {
    /// A release folder (`<out>/<YYYY-MM-DD>`).
    release: PathBuf,
    #[arg(long, default_value_t = 20)]
    k: u32,
}

pub fn run(cmd: FlowsCommand) -> anyhow::Result<()> {
    match cmd {
        FlowsCommand::Generate(a) => generate_cmd(a),
        FlowsCommand::Run(a) => run_cmd(a),
        FlowsCommand::Risk(a) => risk_cmd(a),
        FlowsCommand::Check(a) => check_cmd(a),
    }
}

fn generate_cmd(a: GenerateArgs) -> anyhow::Result<()> {
    let gathering = match &a.gathering_zone {
        None => None,
        Some(zone) => {
            let (h, m) = a
                .gathering_start
                .split_once(':')
                .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
                .filter(|(h, m)| *h < 24 && *m < 60)
                .ok_or_else(|| UsageError(format!("--gathering-start {:?}: expected HH:MM", a.gathering_start)))?;
            if !(0.0..=1.0).contains(&a.gathering_share) || a.gathering_day >= a.days {
                return Err(UsageError("--gathering-share within 0..1, --gathering-day below --days".into()).into());
            }
            Some(GatheringConfig {
                zone: zone.clone(),
                day: a.gathering_day,
                start_minute: h * 60 + m,
                duration_minutes: a.gathering_minutes.clamp(30, 720),
                attend_share: a.gathering_share,
            })
        }
    };
    let cfg = GenerateConfig {
        seed: a.seed,
        devices: a.devices,
        cells: a.cells,
        days: a.days,
        day_step: a.day_step,
        start: a.start,
        market_share: a.market_share,
        events_per_device: a.events_per_device,
        gathering,
        format: if a.format == "csv" { OutputFormat::Csv } else { OutputFormat::Parquet },
        bad_rows: a.bad_rows,
        threads: a.threads,
        ..GenerateConfig::default()
    };
    let rep = generate(&cfg, &a.out).map_err(|e| match e {
        vigie_flows::FlowsError::Config(m) => anyhow::Error::new(UsageError(m)),
        other => other.into(),
    })?;
    let rows: u64 = rep.days.iter().map(|d| d.rows).sum();
    eprintln!(
        "{} people, {} devices, {} cells, {} day(s), {rows} events in {:.1} s → {}",
        rep.people,
        rep.devices,
        cfg.cells,
        rep.days.len(),
        rep.seconds,
        a.out.display()
    );
    Ok(())
}

fn flows_config(i: &InputArgs) -> anyhow::Result<FlowsConfig> {
    let mut cfg = match &i.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            FlowsConfig::from_toml(&text).map_err(|e| UsageError(format!("{}: {e}", p.display())))?
        }
        None => FlowsConfig::default(),
    };
    if let Some(s) = i.market_share {
        cfg.market_share = s;
    }
    if let Some(t) = i.threads {
        cfg.threads = t;
    }
    Ok(cfg)
}

fn event_files(paths: &[PathBuf], cfg: &FlowsConfig) -> anyhow::Result<Vec<EventFile>> {
    let mut list: Vec<PathBuf> = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|q| q.extension().is_some_and(|x| x == "parquet" || x == "csv"))
                .collect();
            inner.sort();
            list.extend(inner);
        } else {
            list.push(p.clone());
        }
    }
    if list.is_empty() {
        return Err(UsageError("--events: no *.parquet or *.csv file found".into()).into());
    }
    list.iter().map(|p| EventFile::open(p, &cfg.columns).map_err(|e| UsageError(e.to_string()).into())).collect()
}

/// Files grouped by the local day of their first event (or all for `--day`).
fn by_day(
    files: Vec<EventFile>,
    cfg: &FlowsConfig,
    day: Option<NaiveDate>,
) -> BTreeMap<Option<NaiveDate>, Vec<EventFile>> {
    let mut m: BTreeMap<Option<NaiveDate>, Vec<EventFile>> = BTreeMap::new();
    for f in files {
        let d = day.or_else(|| {
            f.first_timestamp_ms(&cfg.columns, cfg.timestamp_unit)
                .and_then(|ms| vigie_flows::pipeline::local_date(ms, cfg.utc_offset_minutes))
        });
        m.entry(d).or_default().push(f);
    }
    m
}

fn geography(i: &InputArgs, cfg: &FlowsConfig) -> anyhow::Result<Geography> {
    Geography::load(&i.cells, &i.zones, cfg).map_err(|e| UsageError(e.to_string()).into())
}

fn run_cmd(a: RunArgs) -> anyhow::Result<()> {
    let mut cfg = flows_config(&a.input)?;
    if let Some(k) = a.k {
        cfg.k = k;
    }
    if let Some(eps) = a.epsilon {
        cfg.dp = Some(DpConfig { epsilon_per_release: eps, epsilon_cap_total: a.epsilon_cap });
    }
    cfg.validate().map_err(|e| UsageError(e.to_string()))?;
    let anomalies = AnomalyConfig {
        baseline_weeks: a.baseline_weeks.clamp(1, 52),
        z_threshold: a.z_threshold,
        ..AnomalyConfig::default()
    };
    let geo = geography(&a.input, &cfg)?;
    let files = event_files(&a.input.events, &cfg)?;
    let mut ledger = match &cfg.dp {
        Some(_) => Some(Ledger::open(&a.ledger.clone().unwrap_or_else(|| a.out.join("epsilon-ledger.jsonl")))?),
        None => None,
    };
    let mut publisher = a.publish.connect("vigie-flows")?;
    for (day, files) in by_day(files, &cfg, a.input.day) {
        let out = process_day(&files, &geo, &cfg, day, &a.out, ledger.as_mut(), &anomalies)?;
        let r = &out.run;
        let rejected: Vec<String> = out
            .release
            .quality
            .rows_rejected
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        eprintln!(
            "{}: {} rows in {:.1} s ({} used, rejected: {}; {} reordered), {} devices, {} trips → {} ({} files, {} values checked ≥ k={})",
            r.day,
            r.rows_accepted + r.rows_rejected(),
            r.seconds,
            r.aggregates.events,
            if rejected.is_empty() { "none".into() } else { rejected.join(", ") },
            r.rejects.reordered,
            r.aggregates.devices,
            r.aggregates.trips,
            out.dir.display(),
            out.files.len(),
            out.scan.values_checked,
            cfg.k
        );
        for s in &r.rejects.samples {
            eprintln!("  rejected ({}): {} row {:?}: {}", s.reason.as_str(), s.file, s.row, s.detail);
        }
        if !out.baseline_missing.is_empty() {
            eprintln!("  anomaly baseline: no release for {}", out.baseline_missing.join(", "));
        }
        for d in &out.detections {
            eprintln!("  {} {} {}", d.kind, d.sensor, d.attributes.get());
        }
        if let Some(p) = publisher.as_mut() {
            publish_and_report(p, &out.detections)?;
        }
    }
    Ok(())
}

fn risk_cmd(a: RiskArgs) -> anyhow::Result<()> {
    let cfg = flows_config(&a.input)?;
    let geo = geography(&a.input, &cfg)?;
    let files = event_files(&a.input.events, &cfg)?;
    let points: Vec<usize> = a
        .points
        .split(',')
        .map(|p| p.trim().parse::<usize>().ok().filter(|n| (1..=20).contains(n)))
        .collect::<Option<_>>()
        .ok_or_else(|| UsageError(format!("--points {:?}: numbers 1..20, comma separated", a.points)))?;
    let risk = RiskConfig {
        day: a.input.day,
        resolutions: vec![
            Resolution { place: Place::Cell, bin_minutes: 60 },
            Resolution { place: Place::Zone, bin_minutes: 60 },
            Resolution { place: Place::Zone, bin_minutes: 240 },
        ],
        points,
        sample: a.sample.max(1),
        seed: a.seed,
    };
    let rep = unicity(&files, &geo, &cfg, &risk)?;
    for r in &rep.results {
        eprintln!(
            "{:?} × {} min, {} points: {:.1} % unique ({} of {} tested)",
            r.place,
            r.bin_minutes,
            r.points,
            100.0 * r.unicity,
            r.unique,
            r.sampled
        );
    }
    println!("{}", serde_json::to_string(&rep)?);
    Ok(())
}

fn check_cmd(a: CheckArgs) -> anyhow::Result<()> {
    let rep = vigie_flows::release::scan::scan_release(Path::new(&a.release), a.k)?;
    for v in &rep.violations {
        eprintln!("under k: {} {} = {}", v.file, v.field, v.value);
    }
    anyhow::ensure!(rep.violations.is_empty(), "{} published count(s) under k = {}", rep.violations.len(), a.k);
    eprintln!(
        "{}: {} files, {} counts checked, none under k = {}",
        a.release.display(),
        rep.files,
        rep.values_checked,
        a.k
    );
    Ok(())
}
