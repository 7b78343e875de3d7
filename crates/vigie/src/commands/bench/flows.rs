//! `vigie bench flows`: a generated metropolitan day through `vigie flows` (all
//! indicators, k-threshold, suppression, release written and checked), the same Parquet
//! through DuckDB's equivalent SQL in the same run (time ratio, results compared), the
//! release against the generator's ground truth (district-level relative errors), and
//! weeks of releases with a planted gathering (found or not, false anomalies per
//! zone-week).
//!
//! The generator runs as a child process (`vigie flows generate`) so that its memory is
//! not counted in this process's peak RSS, which is the pipeline's; DuckDB runs as a
//! child Python process (PyPI `duckdb`, installed by `scripts/flows-duckdb-setup`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use chrono::NaiveDate;
use clap::Args;
use vigie_flows::daily::process_day;
use vigie_flows::generate::truth::Truth;
use vigie_flows::inputs::EventFile;
use vigie_flows::release::Release;
use vigie_flows::stages::anomaly::AnomalyConfig;
use vigie_flows::{FlowsConfig, Geography};

use super::peak_rss_mb;

#[derive(Args)]
pub struct FlowsBenchArgs {
    /// A CI-sized run (seconds).
    #[arg(long)]
    smoke: bool,
    /// Phones in the speed run (default 1 500 000; smoke 20 000).
    #[arg(long)]
    devices: Option<usize>,
    /// Phones in the anomaly weeks (default 10 000; smoke 3 000).
    #[arg(long)]
    anomaly_devices: Option<usize>,
    #[arg(long, default_value_t = 2_000)]
    cells: usize,
    /// Work folder (default: a fresh folder under the system's temporary folder, removed
    /// at the end unless --keep).
    #[arg(long)]
    work: Option<PathBuf>,
    #[arg(long)]
    keep: bool,
    /// Python with the `duckdb` module (default: $VIGIE_DUCKDB_PYTHON, then
    /// ~/.cache/vigie/duckdb-venv/bin/python, then scripts/flows-duckdb-setup).
    #[arg(long)]
    duckdb_python: Option<PathBuf>,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

const GATHERING_ZONE: &str = "ile-de-nantes-ouest";
const MARKET_SHARE: f64 = 0.35;

pub fn run(a: FlowsBenchArgs) -> anyhow::Result<()> {
    let devices = a.devices.unwrap_or(if a.smoke { 20_000 } else { 1_500_000 });
    let anomaly_devices = a.anomaly_devices.unwrap_or(if a.smoke { 3_000 } else { 10_000 });
    let cells = if a.smoke { a.cells.min(600) } else { a.cells };
    let work = a
        .work
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("vigie-bench-flows-{}", std::process::id())));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let result = bench(&a, devices, anomaly_devices, cells, &work);
    if !a.keep && a.work.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    let line = result?;
    println!("{}", serde_json::to_string(&line)?);
    Ok(())
}

fn vigie_generate(out: &Path, args: &[String]) -> anyhow::Result<f64> {
    let exe = std::env::current_exe()?;
    let t = Instant::now();
    let st = Command::new(exe)
        .args(["flows", "generate", "--out"])
        .arg(out)
        .args(args)
        .status()
        .context("starting the generator")?;
    anyhow::ensure!(st.success(), "vigie flows generate failed ({st})");
    Ok(t.elapsed().as_secs_f64())
}

fn bench(
    a: &FlowsBenchArgs,
    devices: usize,
    anomaly_devices: usize,
    cells: usize,
    work: &Path,
) -> anyhow::Result<serde_json::Value> {
    let t_all = Instant::now();
    // 1. One metropolitan day.
    let data = work.join("day");
    let gen_s = vigie_generate(
        &data,
        &[
            "--devices".into(),
            devices.to_string(),
            "--cells".into(),
            cells.to_string(),
            "--seed".into(),
            a.seed.to_string(),
            "--market-share".into(),
            MARKET_SHARE.to_string(),
        ],
    )?;
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(data.join("meta.json"))?)?;
    let day_str = meta["days"][0]["day"].as_str().unwrap_or_default().to_owned();
    let day = NaiveDate::parse_from_str(&day_str, "%Y-%m-%d")?;
    let events_path = PathBuf::from(meta["days"][0]["events"].as_str().unwrap_or_default());
    let rows = meta["days"][0]["rows"].as_u64().unwrap_or(0);
    eprintln!("generated {rows} events of {} devices in {gen_s:.1} s", meta["devices"]);

    // 2. vigie flows on it: everything from reading to the checked release on disk.
    let cfg = FlowsConfig { market_share: MARKET_SHARE, ..FlowsConfig::default() };
    let rss_before = peak_rss_mb();
    let t = Instant::now();
    let geo = Geography::load(&data.join("cells.csv"), &data.join("zones.geojson"), &cfg)?;
    let files = vec![EventFile::open(&events_path, &cfg.columns)?];
    let releases = work.join("releases");
    let out = process_day(&files, &geo, &cfg, Some(day), &releases, None, &AnomalyConfig::default())?;
    let seconds = t.elapsed().as_secs_f64();
    let peak_gb = peak_rss_mb() / 1024.0;
    eprintln!(
        "vigie flows: {} events, {} devices, {} trips in {seconds:.1} s (pipeline {:.1} s), peak RSS {:.2} GB (before: {:.2})",
        out.run.aggregates.events,
        out.run.aggregates.devices,
        out.run.aggregates.trips,
        out.run.seconds,
        peak_gb,
        rss_before / 1024.0
    );

    // 3. DuckDB on the same file.
    let duck = duckdb(a, &geo, &events_path, day, &cfg, work);
    let (duck_s, duck_rss, matches) = match &duck {
        Ok(d) => (Some(d.seconds), Some(d.peak_rss_gb), Some(compare(&out.release, &d.dir, &geo)?)),
        Err(e) => {
            eprintln!("duckdb comparison skipped: {e:#}");
            (None, None, None)
        }
    };
    if let Some(s) = duck_s {
        eprintln!("duckdb: {s:.1} s → ratio (duckdb / vigie) {:.2}", s / seconds);
    }

    // 4. Accuracy against the truth.
    let truth: Truth = serde_json::from_str(&std::fs::read_to_string(data.join("truth").join(format!("{day}.json")))?)?;
    let acc = accuracy(&out.release, &truth);
    eprintln!("accuracy: {acc}");

    // 5. Weeks of releases and a planted gathering.
    let anomalies = anomaly_weeks(a, anomaly_devices, cells.min(2_000), work)?;
    eprintln!("anomalies: {anomalies}");

    Ok(serde_json::json!({
        "bench": "flows",
        "smoke": a.smoke,
        "events": rows,
        "devices": meta["devices"],
        "cells": cells,
        "seconds": round3(seconds),
        "pipeline_seconds": round3(out.run.seconds),
        "events_per_s": (rows as f64 / seconds).round(),
        "duckdb_seconds": duck_s.map(round3),
        "ratio_vs_duckdb": duck_s.map(|d| round3(d / seconds)),
        "peak_rss_gb": round3(peak_gb),
        "duckdb_peak_rss_gb": duck_rss.map(round3),
        "duckdb_same_results": matches,
        "rows_rejected": out.run.rows_rejected(),
        "published_values": out.scan.values_checked,
        "values_under_k": out.scan.violations.len(),
        "presence_rel_error": acc["presence_rel_error"],
        "presence_coverage": acc["presence_coverage"],
        "od_rel_error": acc["od_rel_error"],
        "od_coverage": acc["od_coverage"],
        "flows_rel_error": acc["flows_rel_error"],
        "gathering_found": anomalies["gathering_found"],
        "gathering_peak_z": anomalies["gathering_peak_z"],
        "false_anomalies_per_zone_week": anomalies["false_anomalies_per_zone_week"],
        "anomaly_days_evaluated": anomalies["days_evaluated"],
        "generate_seconds": round3(gen_s),
        "wall_s": round3(t_all.elapsed().as_secs_f64()),
    }))
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

struct Duck {
    seconds: f64,
    peak_rss_gb: f64,
    dir: PathBuf,
}

fn duckdb_python(a: &FlowsBenchArgs) -> anyhow::Result<PathBuf> {
    if let Some(p) = &a.duckdb_python {
        return Ok(p.clone());
    }
    if let Some(p) = std::env::var_os("VIGIE_DUCKDB_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    if let Some(home) = std::env::var_os("HOME") {
        let p = PathBuf::from(home).join(".cache/vigie/duckdb-venv/bin/python");
        if p.exists() {
            return Ok(p);
        }
    }
    let out =
        Command::new("scripts/flows-duckdb-setup").output().context("no DuckDB: run scripts/flows-duckdb-setup")?;
    anyhow::ensure!(out.status.success(), "scripts/flows-duckdb-setup failed");
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(PathBuf::from(text.lines().last().unwrap_or("").trim()))
}

const DUCK_SQL: &str = r#"
import duckdb, json, resource, sys, time
ev, cz, out, start, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
con = duckdb.connect()
con.execute("SET threads = 2")
t = time.time()
con.execute(f"CREATE TEMP TABLE cz AS SELECT CAST(cell_id AS BIGINT) AS cell_id, zone FROM read_csv('{cz}', header = true)")
day = f"epoch_ms(timestamp) >= {start} AND epoch_ms(timestamp) < {start} + 86400000 AND device_id IS NOT NULL"
con.execute(f"""COPY (SELECT cell_id, count(DISTINCT device_id) AS devices FROM read_parquet('{ev}')
  WHERE {day} AND cell_id IN (SELECT cell_id FROM cz)
  GROUP BY cell_id HAVING count(DISTINCT device_id) >= {k}) TO '{out}/cells.csv' (HEADER)""")
con.execute(f"""COPY (SELECT z.zone, CAST(floor((epoch_ms(e.timestamp) - {start}) / 3600000) AS INTEGER) AS hour,
  count(DISTINCT e.device_id) AS devices
  FROM read_parquet('{ev}') e JOIN cz z ON e.cell_id = z.cell_id
  WHERE {day} AND z.zone <> 'outside'
  GROUP BY 1, 2 HAVING count(DISTINCT e.device_id) >= {k}) TO '{out}/zone_hour.csv' (HEADER)""")
con.execute(f"""COPY (WITH f AS (SELECT e.device_id, arg_min(z.zone, e.timestamp) AS o, arg_max(z.zone, e.timestamp) AS d
  FROM read_parquet('{ev}') e JOIN cz z ON e.cell_id = z.cell_id WHERE {day} GROUP BY e.device_id)
  SELECT o AS origin, d AS destination, count(*) AS devices FROM f GROUP BY 1, 2 HAVING count(*) >= {k})
  TO '{out}/first_last.csv' (HEADER)""")
s = time.time() - t
print(json.dumps({"seconds": s, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024}))
"#;

fn duckdb(
    a: &FlowsBenchArgs,
    geo: &Geography,
    events: &Path,
    day: NaiveDate,
    cfg: &FlowsConfig,
    work: &Path,
) -> anyhow::Result<Duck> {
    let py = duckdb_python(a)?;
    let dir = work.join("duckdb");
    std::fs::create_dir_all(&dir)?;
    // The cell → primary zone map, as vigie flows uses it for these indicators.
    let mut cz = String::from("cell_id,zone\n");
    for (c, cell) in geo.cells.cells.iter().enumerate() {
        cz.push_str(&format!(
            "{},{}\n",
            cell.id,
            geo.cell_zones.zone_name(&geo.zones, geo.cell_zones.primary[c] as usize)
        ));
    }
    std::fs::write(dir.join("cell_zone.csv"), cz)?;
    std::fs::write(dir.join("bench.py"), DUCK_SQL)?;
    let start = vigie_flows::pipeline::day_start_ms(day, cfg.utc_offset_minutes);
    let out = Command::new(&py)
        .arg(dir.join("bench.py"))
        .arg(events)
        .arg(dir.join("cell_zone.csv"))
        .arg(&dir)
        .arg(start.to_string())
        .arg(cfg.k.to_string())
        .output()
        .with_context(|| format!("running {}", py.display()))?;
    anyhow::ensure!(out.status.success(), "duckdb failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or("{}"))?;
    Ok(Duck {
        seconds: v["seconds"].as_f64().unwrap_or(f64::NAN),
        peak_rss_gb: v["peak_rss_gb"].as_f64().unwrap_or(f64::NAN),
        dir,
    })
}

/// Share of DuckDB's rows that vigie flows published with the same count, per indicator
/// (and the reverse count of rows, to see nothing is missing on either side).
fn compare(r: &Release, dir: &Path, geo: &Geography) -> anyhow::Result<serde_json::Value> {
    let read = |name: &str| -> anyhow::Result<HashMap<String, u64>> {
        // DuckDB's CSV of plain ids and numbers: no quoting to undo.
        let text = std::fs::read_to_string(dir.join(name))?;
        let mut m = HashMap::new();
        for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
            let (key, n) = line.rsplit_once(',').ok_or_else(|| anyhow::anyhow!("{name}: bad line {line:?}"))?;
            m.insert(key.replace(',', "|"), n.parse()?);
        }
        Ok(m)
    };
    let ours_cells: HashMap<String, u64> = r.cell_devices.iter().map(|c| (c.cell_id.clone(), c.devices)).collect();
    let ours_zh: HashMap<String, u64> =
        r.zone_hour.iter().map(|z| (format!("{}|{}", z.zone, z.hour), z.devices)).collect();
    let ours_fl: HashMap<String, u64> =
        r.first_last_od.iter().map(|o| (format!("{}|{}", o.origin, o.destination), o.trips)).collect();
    let _ = geo;
    let mut out = serde_json::Map::new();
    for (name, ours) in [("cells.csv", &ours_cells), ("zone_hour.csv", &ours_zh), ("first_last.csv", &ours_fl)] {
        let theirs = read(name)?;
        let same = theirs.iter().filter(|(k, v)| ours.get(*k) == Some(v)).count();
        out.insert(
            name.trim_end_matches(".csv").into(),
            serde_json::json!({"duckdb_rows": theirs.len(), "vigie_rows": ours.len(), "same": same,
                "share_same": round3(same as f64 / theirs.len().max(1) as f64)}),
        );
    }
    Ok(serde_json::Value::Object(out))
}

/// District-level relative errors of the published estimates against the truth: the sum
/// of |estimate − truth| over the published cells divided by the truth there, and the
/// share of the truth those cells hold (coverage).
fn accuracy(r: &Release, t: &Truth) -> serde_json::Value {
    let nz = t.zones.len();
    let zi: HashMap<&str, usize> = t.zones.iter().enumerate().map(|(i, z)| (z.as_str(), i)).collect();
    let (mut err, mut tot) = (0.0, 0.0);
    for p in &r.presence {
        let Some(&z) = zi.get(p.zone.as_str()) else { continue };
        let truth = t.presence[p.slot as usize * nz + z];
        err += (p.estimate as f64 - truth).abs();
        tot += truth;
    }
    let all_presence: f64 = t.presence.iter().sum();
    let zone = |s: &str| zi.get(s).copied().unwrap_or(nz);
    let (mut oerr, mut otot) = (0.0, 0.0);
    for o in &r.od_day {
        let (a, b) = (zone(&o.origin), zone(&o.destination));
        if a == nz || b == nz {
            continue;
        }
        let truth = t.od[a * (nz + 1) + b];
        oerr += (o.estimate as f64 - truth).abs();
        otot += truth;
    }
    let inside_od: f64 = (0..nz).flat_map(|a| (0..nz).map(move |b| (a, b))).map(|(a, b)| t.od[a * (nz + 1) + b]).sum();
    let mut flows = serde_json::Map::new();
    for (i, c) in vigie_flows::release::FLOW_CATEGORIES.iter().enumerate() {
        if let Some(m) = r.od_margins.iter().find(|m| m.kind == "flow" && m.key == *c) {
            flows
                .insert((*c).into(), serde_json::json!(round3((m.estimate as f64 - t.flows[i]) / t.flows[i].max(1.0))));
        }
    }
    serde_json::json!({
        "presence_rel_error": round3(err / tot.max(1.0)),
        "presence_coverage": round3(tot / all_presence.max(1.0)),
        "od_rel_error": round3(oerr / otot.max(1.0)),
        "od_coverage": round3(otot / inside_od.max(1.0)),
        "flows_rel_error": flows,
    })
}

/// Same-weekday releases with a gathering on the last evaluated day. Full: five weeks of
/// consecutive days (false anomalies counted over the fifth week); smoke: four same
/// weekdays (false anomalies over the last day, scaled to a week).
fn anomaly_weeks(a: &FlowsBenchArgs, devices: usize, cells: usize, work: &Path) -> anyhow::Result<serde_json::Value> {
    let dir = work.join("weeks");
    let (days, step, baseline, gathering_day, eval_from) = if a.smoke { (4, 7, 3, 3, 3) } else { (35, 1, 4, 31, 28) };
    vigie_generate(
        &dir,
        &[
            "--devices".into(),
            devices.to_string(),
            "--cells".into(),
            cells.to_string(),
            "--days".into(),
            days.to_string(),
            "--day-step".into(),
            step.to_string(),
            "--seed".into(),
            (a.seed + 1).to_string(),
            "--market-share".into(),
            MARKET_SHARE.to_string(),
            "--gathering-zone".into(),
            GATHERING_ZONE.into(),
            "--gathering-day".into(),
            gathering_day.to_string(),
            "--gathering-share".into(),
            "0.01".into(),
        ],
    )?;
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json"))?)?;
    let cfg = FlowsConfig { market_share: MARKET_SHARE, ..FlowsConfig::default() };
    let geo = Geography::load(&dir.join("cells.csv"), &dir.join("zones.geojson"), &cfg)?;
    let acfg = AnomalyConfig { baseline_weeks: baseline, ..AnomalyConfig::default() };
    let releases = dir.join("releases");
    let (mut found, mut peak_z, mut false_count, mut evaluated) = (false, 0.0f64, 0usize, 0usize);
    let list = meta["days"].as_array().cloned().unwrap_or_default();
    for (i, d) in list.iter().enumerate() {
        let day = NaiveDate::parse_from_str(d["day"].as_str().unwrap_or_default(), "%Y-%m-%d")?;
        let files = vec![EventFile::open(Path::new(d["events"].as_str().unwrap_or_default()), &cfg.columns)?];
        let out = process_day(&files, &geo, &cfg, Some(day), &releases, None, &acfg)?;
        if i < eval_from {
            continue;
        }
        evaluated += 1;
        let truth: Truth = serde_json::from_str(&std::fs::read_to_string(d["truth"].as_str().unwrap_or_default())?)?;
        for det in &out.detections {
            let attrs: serde_json::Value = serde_json::from_str(det.attributes.get())?;
            let zone = attrs["zone"].as_str().unwrap_or_default();
            let planted = truth.gathering.as_ref().is_some_and(|g| {
                let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).map(|x| x.timestamp()).unwrap_or(0);
                // The truth gives local times; the detection UTC instants.
                let local = |s: &str| {
                    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
                        .map(|x| x.and_utc().timestamp() - 60 * cfg.utc_offset_minutes as i64)
                        .unwrap_or(0)
                };
                let (gs, ge) = (local(&g.start), local(&g.end));
                zone == g.zone
                    && t(attrs["start"].as_str().unwrap_or("")) <= ge + 3600
                    && t(attrs["end"].as_str().unwrap_or("")) >= gs - 3600
            });
            if planted {
                if det.kind == vigie_model::Kind::FlowsPresenceAnomaly {
                    found = true;
                }
                peak_z = peak_z.max(attrs["z"].as_f64().unwrap_or(0.0));
            } else {
                false_count += 1;
            }
        }
    }
    let zone_weeks = geo.zones.len() as f64 * evaluated as f64 / 7.0;
    Ok(serde_json::json!({
        "gathering_found": found,
        "gathering_peak_z": peak_z,
        "false_anomalies": false_count,
        "false_anomalies_per_zone_week": round3(false_count as f64 / zone_weeks.max(1e-9)),
        "days_evaluated": evaluated,
    }))
}
