//! `vigie flows generate`: a synthetic metropolitan day or week of network events, with
//! its ground truth, at any size.
//!
//! The city ([`world`]) is the demo's ten central districts of Nantes inside 48 sectors
//! (a 24 × 25 km territory) and a 12 km band beyond it. People ([`people`]) live, work,
//! study, run errands, come in from the band, visit as tourists, or cross on the ring
//! road; weekends differ from weekdays; one planted gathering brings residents to a zone
//! one evening. Phones of the operator (a share of the people) produce events
//! ([`events`]) that are written in time order, day by day, to Parquet (or CSV), with
//! the cell table, the zones and the truth ([`truth`]) beside them.
//!
//! Optionally a share of rows is made bad on purpose (unknown cells, timestamps of
//! another day, missing device ids, late events) and counted in `meta.json`, so tests
//! can check that every bad row is reported.

pub mod events;
pub mod people;
pub mod truth;
pub mod world;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use chrono::{Datelike, NaiveDate, Weekday};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use serde::Serialize;

use crate::error::FlowsError;
use crate::pipeline::day_start_ms;
use crate::rng::{Rng, mix};
use people::{DayPath, GatheringPlan, Person};
use truth::{GatheringTruth, Truth};
use world::World;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Parquet,
    Csv,
}

#[derive(Debug, Clone, Serialize)]
pub struct GatheringConfig {
    pub zone: String,
    /// Day index (0 = first generated day).
    pub day: usize,
    pub start_minute: u32,
    pub duration_minutes: u32,
    /// Share of the territory's residents (and in-commuters) who attend.
    pub attend_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GenerateConfig {
    pub seed: u64,
    /// Phones of the operator, about (people = devices / market share).
    pub devices: usize,
    pub cells: usize,
    pub days: usize,
    /// Days between generated days (7: the same weekday of successive weeks).
    pub day_step: usize,
    pub start: NaiveDate,
    pub market_share: f64,
    pub events_per_device: f64,
    pub utc_offset_minutes: i32,
    pub gathering: Option<GatheringConfig>,
    pub format: OutputFormat,
    /// Share of rows made bad on purpose (0 = none).
    pub bad_rows: f64,
    pub threads: usize,
    /// Minimum stay used by the truth's trips (as `vigie flows run` defaults to).
    pub stay_min_minutes: u32,
    pub slot_minutes: u32,
    /// Row group size of the Parquet files.
    pub row_group_rows: usize,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig {
            seed: 1,
            devices: 20_000,
            cells: 2_000,
            days: 1,
            day_step: 1,
            start: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default(),
            market_share: 0.35,
            events_per_device: 100.0,
            utc_offset_minutes: 60,
            gathering: None,
            format: OutputFormat::Parquet,
            bad_rows: 0.0,
            threads: 0,
            stay_min_minutes: 30,
            slot_minutes: 30,
            row_group_rows: 1 << 20,
        }
    }
}

/// Bad rows written on purpose, by kind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BadRows {
    pub unknown_cell: u64,
    pub out_of_range: u64,
    pub missing_device: u64,
    pub late: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayFiles {
    pub day: String,
    pub events: PathBuf,
    pub truth: PathBuf,
    pub rows: u64,
    pub bad: BadRows,
}

/// What was written: `cells.csv`, `zones.geojson`, one events file and one truth file per
/// day, and `meta.json` (this report).
#[derive(Debug, Clone, Serialize)]
pub struct GenerateReport {
    pub config: GenerateConfig,
    pub people: usize,
    pub devices: usize,
    pub cells: PathBuf,
    pub zones: PathBuf,
    pub days: Vec<DayFiles>,
    pub seconds: f64,
}

const WINDOW_S: u32 = 900;

/// What one planning thread returns: its share of the truth, the paths of its phones, and
/// how many of its people attend the gathering.
type DayPart = (Truth, Vec<(usize, DayPath)>, u64);

pub fn generate(cfg: &GenerateConfig, out: &Path) -> Result<GenerateReport, FlowsError> {
    if !(cfg.market_share > 0.0 && cfg.market_share <= 1.0) || cfg.devices == 0 || cfg.days == 0 || cfg.cells < 4 {
        return Err(FlowsError::Config("generate: devices, days ≥ 1, cells ≥ 4, market share within (0, 1]".into()));
    }
    if !(0.0..0.5).contains(&cfg.bad_rows) {
        return Err(FlowsError::Config("generate: bad_rows must be within 0..0.5".into()));
    }
    let started = std::time::Instant::now();
    std::fs::create_dir_all(out).map_err(|e| FlowsError::output(out, e))?;
    let world = World::new(cfg.cells, cfg.seed).map_err(FlowsError::Zones)?;
    let cells_path = out.join("cells.csv");
    std::fs::write(&cells_path, world.cells.to_csv()).map_err(|e| FlowsError::output(&cells_path, e))?;
    let zones_path = out.join("zones.geojson");
    std::fs::write(&zones_path, &world.zones_geojson).map_err(|e| FlowsError::output(&zones_path, e))?;
    let n_people = (cfg.devices as f64 / cfg.market_share).round() as usize;
    let people = population(&world, n_people, cfg);
    let n_devices = people.iter().filter(|p| p.device.is_some()).count();
    let threads =
        if cfg.threads > 0 { cfg.threads } else { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) };
    let mut days = Vec::new();
    for d in 0..cfg.days {
        let date = cfg.start + chrono::Duration::days((d * cfg.day_step.max(1)) as i64);
        days.push(generate_day(cfg, &world, &people, d, date, threads, out)?);
    }
    let report = GenerateReport {
        config: cfg.clone(),
        people: people.len(),
        devices: n_devices,
        cells: cells_path,
        zones: zones_path,
        days,
        seconds: started.elapsed().as_secs_f64(),
    };
    let meta = out.join("meta.json");
    std::fs::write(&meta, serde_json::to_string_pretty(&report).unwrap_or_default())
        .map_err(|e| FlowsError::output(&meta, e))?;
    Ok(report)
}

fn population(world: &World, n: usize, cfg: &GenerateConfig) -> Vec<Person> {
    people::population(world, n, cfg.market_share, cfg.seed)
}

fn gathering_plan(
    world: &World,
    cfg: &GenerateConfig,
    day: usize,
) -> Result<Option<(GatheringPlan, usize)>, FlowsError> {
    let Some(g) = cfg.gathering.as_ref().filter(|g| g.day == day) else { return Ok(None) };
    let z = world.zones.zones.iter().position(|z| z.id == g.zone).ok_or_else(|| {
        FlowsError::Config(format!("gathering zone {:?} is not a zone of the generated city", g.zone))
    })?;
    let c = world.zones.zones[z].centroid;
    let start_s = g.start_minute * 60;
    Ok(Some((
        GatheringPlan {
            venue: world.zones.frame.to_xy(c.0, c.1),
            start_s,
            end_s: (start_s + g.duration_minutes * 60).min(people::DAY - 1),
            attend: g.attend_share,
        },
        z,
    )))
}

fn generate_day(
    cfg: &GenerateConfig,
    world: &World,
    people: &[Person],
    d: usize,
    date: NaiveDate,
    threads: usize,
    out: &Path,
) -> Result<DayFiles, FlowsError> {
    let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
    let gathering = gathering_plan(world, cfg, d)?;
    let stay_min = cfg.stay_min_minutes * 60;
    // 1. Plans of everyone (truth), kept for the phones only.
    let chunk = people.len().div_ceil(threads);
    let parts: Vec<DayPart> = std::thread::scope(|s| {
        let hs: Vec<_> = people
            .chunks(chunk.max(1))
            .enumerate()
            .map(|(ci, ps)| {
                let gathering = gathering.as_ref().map(|g| &g.0);
                s.spawn(move || {
                    let mut truth = Truth::new(world, &date.to_string(), cfg.slot_minutes);
                    let mut keep = Vec::new();
                    let mut attendees = 0u64;
                    for (k, p) in ps.iter().enumerate() {
                        let i = ci * chunk + k;
                        let path = people::plan_day(world, p, i, d, weekend, gathering, cfg.seed);
                        truth.add(world, &path, stay_min);
                        attendees += path.attends as u64;
                        if p.device.is_some() && path.present.0 < path.present.1 {
                            keep.push((i, path));
                        }
                    }
                    (truth, keep, attendees)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap_or_else(|_| (Truth::new(world, "", cfg.slot_minutes), Vec::new(), 0)))
            .collect()
    });
    let mut truth = Truth::new(world, &date.to_string(), cfg.slot_minutes);
    let mut paths: Vec<Vec<(usize, DayPath)>> = Vec::new();
    let mut attendees = 0;
    for (t, k, a) in parts {
        truth.merge(&t);
        paths.push(k);
        attendees += a;
    }
    if let (Some((g, z)), Some(gc)) = (&gathering, &cfg.gathering) {
        let step = cfg.slot_minutes * 60;
        let fmt = |s: u32| format!("{date}T{:02}:{:02}:00", s / 3600, s % 3600 / 60);
        truth.gathering = Some(GatheringTruth {
            zone: world.zones.zones[*z].id.clone(),
            start: fmt(g.start_s),
            end: fmt(g.end_s),
            start_slot: (g.start_s / step) as usize,
            end_slot: (g.end_s.div_ceil(step)) as usize,
            attendees,
        });
        let _ = gc;
    }
    truth.devices = paths.iter().map(|p| p.len() as u64).sum();

    // 2. Events, window by window, in time order.
    let ext = match cfg.format {
        OutputFormat::Parquet => "parquet",
        OutputFormat::Csv => "csv",
    };
    let events_dir = out.join("events");
    std::fs::create_dir_all(&events_dir).map_err(|e| FlowsError::output(&events_dir, e))?;
    let path = events_dir.join(format!("{date}.{ext}"));
    let mut sink = EventWriter::create(&path, cfg)?;
    let base_ms = day_start_ms(date, cfg.utc_offset_minutes);
    let scale = events::activity_scale(cfg.events_per_device);
    let mut bad = BadRows::default();
    let mut bad_rng = Rng::new(mix(&[cfg.seed, d as u64, 0xBAD]));
    let mut rows = 0u64;
    for w in 0..(people::DAY / WINDOW_S) {
        let win = (w * WINDOW_S, (w + 1) * WINDOW_S);
        let mut parts: Vec<Vec<(u32, i64, i64)>> = std::thread::scope(|s| {
            let hs: Vec<_> = paths
                .iter()
                .map(|ps| {
                    s.spawn(move || {
                        let mut out = Vec::new();
                        let mut buf = Vec::new();
                        for (i, path) in ps {
                            let Some(imsi) = people[*i].device else { continue };
                            buf.clear();
                            events::window_events(
                                world,
                                path,
                                mix(&[cfg.seed, imsi as u64, d as u64]),
                                win,
                                scale,
                                &mut buf,
                            );
                            out.extend(buf.iter().map(|&(t, c)| (t, imsi, world.cell_key[c as usize])));
                        }
                        out
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap_or_default()).collect()
        });
        let mut all: Vec<(u32, i64, i64)> = parts.iter_mut().flat_map(std::mem::take).collect();
        all.sort_unstable_by_key(|e| e.0);
        let mut batch = Batch::with_capacity(all.len());
        for (t, imsi, cell) in all {
            let mut ts = base_ms + t as i64;
            let mut dev = Some(imsi);
            let mut cell = cell;
            if cfg.bad_rows > 0.0 && bad_rng.chance(cfg.bad_rows) {
                // Late rows only where two hours earlier is still the same day.
                let kind = bad_rng.below(4);
                match if kind == 3 && t < 3 * 3_600_000 { 0 } else { kind } {
                    0 => {
                        cell = 999_999_999;
                        bad.unknown_cell += 1;
                    }
                    1 => {
                        ts += 3 * 86_400_000;
                        bad.out_of_range += 1;
                    }
                    2 => {
                        dev = None;
                        bad.missing_device += 1;
                    }
                    _ => {
                        // Written in place, stamped two hours earlier.
                        ts -= 7_200_000;
                        bad.late += 1;
                    }
                }
            }
            batch.push(dev, ts, cell);
        }
        rows += batch.ts.len() as u64;
        truth.events += batch.ts.len() as u64;
        sink.write(&batch)?;
    }
    sink.finish()?;
    let truth_dir = out.join("truth");
    std::fs::create_dir_all(&truth_dir).map_err(|e| FlowsError::output(&truth_dir, e))?;
    let tpath = truth_dir.join(format!("{date}.json"));
    std::fs::write(&tpath, serde_json::to_string(&truth).unwrap_or_default())
        .map_err(|e| FlowsError::output(&tpath, e))?;
    Ok(DayFiles { day: date.to_string(), events: path, truth: tpath, rows, bad })
}

struct Batch {
    dev: Vec<Option<i64>>,
    ts: Vec<i64>,
    cell: Vec<i64>,
}

impl Batch {
    fn with_capacity(n: usize) -> Self {
        Batch { dev: Vec::with_capacity(n), ts: Vec::with_capacity(n), cell: Vec::with_capacity(n) }
    }
    fn push(&mut self, d: Option<i64>, t: i64, c: i64) {
        self.dev.push(d);
        self.ts.push(t);
        self.cell.push(c);
    }
}

enum EventWriter {
    Parquet(Box<ArrowWriter<File>>, Arc<Schema>, PathBuf),
    Csv(std::io::BufWriter<File>, PathBuf),
}

impl EventWriter {
    fn create(path: &Path, cfg: &GenerateConfig) -> Result<Self, FlowsError> {
        let file = File::create(path).map_err(|e| FlowsError::output(path, e))?;
        match cfg.format {
            OutputFormat::Parquet => {
                let schema = Arc::new(Schema::new(vec![
                    Field::new("device_id", DataType::Int64, true),
                    Field::new("timestamp", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), false),
                    Field::new("cell_id", DataType::Int64, false),
                ]));
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(cfg.row_group_rows.max(1024)))
                    .set_column_dictionary_enabled(ColumnPath::from("device_id"), false)
                    .set_column_dictionary_enabled(ColumnPath::from("timestamp"), false)
                    .set_column_encoding(ColumnPath::from("timestamp"), Encoding::DELTA_BINARY_PACKED)
                    .build();
                let w =
                    ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| FlowsError::output(path, e))?;
                Ok(EventWriter::Parquet(Box::new(w), schema, path.into()))
            }
            OutputFormat::Csv => {
                let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
                writeln!(w, "device_id,timestamp,cell_id").map_err(|e| FlowsError::output(path, e))?;
                Ok(EventWriter::Csv(w, path.into()))
            }
        }
    }

    fn write(&mut self, b: &Batch) -> Result<(), FlowsError> {
        match self {
            EventWriter::Parquet(w, schema, path) => {
                if b.ts.is_empty() {
                    return Ok(());
                }
                let cols: Vec<ArrayRef> = vec![
                    Arc::new(Int64Array::from(b.dev.clone())),
                    Arc::new(TimestampMillisecondArray::from(b.ts.clone()).with_timezone("UTC")),
                    Arc::new(Int64Array::from(b.cell.clone())),
                ];
                let rb = RecordBatch::try_new(schema.clone(), cols).map_err(|e| FlowsError::output(&*path, e))?;
                w.write(&rb).map_err(|e| FlowsError::output(&*path, e))
            }
            EventWriter::Csv(w, path) => {
                for i in 0..b.ts.len() {
                    let dev = b.dev[i].map(|d| d.to_string()).unwrap_or_default();
                    writeln!(w, "{dev},{},{}", b.ts[i], b.cell[i]).map_err(|e| FlowsError::output(&*path, e))?;
                }
                Ok(())
            }
        }
    }

    fn finish(self) -> Result<(), FlowsError> {
        match self {
            EventWriter::Parquet(w, _, path) => w.close().map(|_| ()).map_err(|e| FlowsError::output(path, e)),
            EventWriter::Csv(mut w, path) => w.flush().map_err(|e| FlowsError::output(path, e)),
        }
    }
}
