//! One day's run: read → pseudonymise → partition by pseudonym → track → aggregate.
//!
//! ```text
//!  units (Parquet row groups, CSV files)
//!    │ reader r takes units r, r+R, r+2R… and decodes only the three columns
//!    ▼
//!  rows (pseudonym, second, cell) ──partition(pseudonym)──► bounded channel per worker
//!    ▼
//!  worker p: one Tracker over its devices, units taken in file order (so each device's
//!            events arrive in the order they were written)
//!    ▼
//!  Aggregates of each partition, summed
//! ```
//!
//! Memory: the trackers' per-device state plus a few batches in flight per channel.
//! Nothing per device is written anywhere; the daily key is dropped (wiped) at the end.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Instant;

use chrono::{NaiveDate, TimeZone, Utc};

use crate::config::FlowsConfig;
use crate::error::FlowsError;
use crate::inputs::events::{ReadContext, RowSink};
use crate::inputs::{CellTable, EventFile, RejectReason, Rejects, ZoneSet};
use crate::stages::aggregate::Aggregates;
use crate::stages::cell_zones::CellZones;
use crate::stages::pseudonymize::{DailyKey, partition};
use crate::stages::track::{TrackParams, Tracker};

/// Rows per batch sent to a worker.
const BATCH: usize = 16_384;
/// Batches waiting per channel before a reader blocks (back-pressure).
const CHANNEL_DEPTH: usize = 4;

/// Everything a run reads besides the events: cells, zones and the mapping between them.
pub struct Geography {
    pub cells: CellTable,
    pub zones: ZoneSet,
    pub cell_zones: Arc<CellZones>,
}

impl Geography {
    pub fn new(cells: CellTable, zones: ZoneSet, cfg: &FlowsConfig) -> Self {
        let cell_zones = Arc::new(CellZones::build(&cells, &zones, cfg.stay_radius_m));
        Geography { cells, zones, cell_zones }
    }

    pub fn load(cells: &std::path::Path, zones: &std::path::Path, cfg: &FlowsConfig) -> Result<Self, FlowsError> {
        Ok(Self::new(CellTable::from_csv(cells)?, ZoneSet::from_geojson_file(zones)?, cfg))
    }
}

/// The result of one day's run (aggregates are not yet private: see `release`).
pub struct DayRun {
    pub day: NaiveDate,
    pub aggregates: Aggregates,
    pub rejects: Rejects,
    /// Rows that passed the checks and reached a tracker.
    pub rows_accepted: u64,
    pub seconds: f64,
    pub files: Vec<PathBuf>,
}

impl DayRun {
    pub fn rows_rejected(&self) -> u64 {
        self.rejects.total()
    }
}

enum Msg {
    Rows(Batch),
    End,
}

#[derive(Default)]
struct Batch {
    pseudonym: Vec<u64>,
    t: Vec<u32>,
    cell: Vec<u32>,
}

struct Router<'a> {
    bufs: Vec<Batch>,
    to: &'a [SyncSender<Msg>],
    broken: bool,
}

impl Router<'_> {
    fn send(&mut self, w: usize) {
        let b = std::mem::take(&mut self.bufs[w]);
        if self.to[w].send(Msg::Rows(b)).is_err() {
            self.broken = true;
        }
    }
    fn end(&mut self) {
        for w in 0..self.bufs.len() {
            if !self.bufs[w].pseudonym.is_empty() {
                self.send(w);
            }
            if self.to[w].send(Msg::End).is_err() {
                self.broken = true;
            }
        }
    }
}

impl RowSink for Router<'_> {
    #[inline]
    fn row(&mut self, pseudonym: u64, second: u32, cell: u32) {
        let w = partition(pseudonym, self.bufs.len());
        let b = &mut self.bufs[w];
        b.pseudonym.push(pseudonym);
        b.t.push(second);
        b.cell.push(cell);
        if b.pseudonym.len() >= BATCH {
            self.send(w);
        }
    }
}

/// The local date of a UTC instant.
pub fn local_date(utc_ms: i64, offset_minutes: i32) -> Option<NaiveDate> {
    Utc.timestamp_millis_opt(utc_ms + offset_minutes as i64 * 60_000).single().map(|t| t.date_naive())
}

/// UTC milliseconds of a local day's midnight.
pub fn day_start_ms(day: NaiveDate, offset_minutes: i32) -> i64 {
    day.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis()).unwrap_or(0) - offset_minutes as i64 * 60_000
}

/// Runs one day over the given event files.
pub fn run_day(
    files: &[EventFile],
    geo: &Geography,
    cfg: &FlowsConfig,
    day: Option<NaiveDate>,
) -> Result<DayRun, FlowsError> {
    cfg.validate()?;
    let started = Instant::now();
    let day = match day {
        Some(d) => d,
        None => files
            .iter()
            .find_map(|f| f.first_timestamp_ms(&cfg.columns, cfg.timestamp_unit))
            .and_then(|ms| local_date(ms, cfg.utc_offset_minutes))
            .ok_or_else(|| FlowsError::NoEvents { day: "(none given, none found)".into() })?,
    };
    let key = DailyKey::generate()?;
    let ctx = ReadContext {
        cells: &geo.cells,
        key: &key,
        columns: &cfg.columns,
        timestamp_unit: cfg.timestamp_unit,
        day_start_ms: day_start_ms(day, cfg.utc_offset_minutes),
    };
    let units: Vec<(usize, usize)> =
        files.iter().enumerate().flat_map(|(f, ef)| (0..ef.units()).map(move |u| (f, u))).collect();
    let workers = cfg.threads().max(1);
    let readers = (workers / 2).max(1).min(units.len().max(1));
    let params = TrackParams::from_config(cfg);

    // channels[r][w]
    let mut senders: Vec<Vec<SyncSender<Msg>>> = Vec::new();
    let mut receivers: Vec<Vec<Receiver<Msg>>> = (0..workers).map(|_| Vec::new()).collect();
    for _ in 0..readers {
        let mut row = Vec::new();
        for rx in receivers.iter_mut() {
            let (s, r) = sync_channel(CHANNEL_DEPTH);
            row.push(s);
            rx.push(r);
        }
        senders.push(row);
    }

    let (reader_rejects, worker_results) = std::thread::scope(|scope| {
        let ctx = &ctx;
        let units = &units;
        let reader_handles: Vec<_> = senders
            .into_iter()
            .enumerate()
            .map(|(r, to)| {
                std::thread::Builder::new().name(format!("flows-read-{r}")).spawn_scoped(scope, move || {
                    let mut rejects = Rejects::default();
                    let mut router =
                        Router { bufs: (0..to.len()).map(|_| Batch::default()).collect(), to: &to, broken: false };
                    for &(f, u) in units.iter().skip(r).step_by(readers) {
                        if router.broken {
                            break;
                        }
                        files[f].read_unit(u, ctx, &mut router, &mut rejects);
                        router.end();
                    }
                    rejects
                })
            })
            .collect();
        let worker_handles: Vec<_> = receivers
            .into_iter()
            .enumerate()
            .map(|(w, rx)| {
                let cz = geo.cell_zones.clone();
                std::thread::Builder::new().name(format!("flows-track-{w}")).spawn_scoped(scope, move || {
                    let mut tracker = Tracker::new(cz, params);
                    let mut rows = 0u64;
                    'units: for u in 0..units.len() {
                        loop {
                            match rx[u % readers].recv() {
                                Ok(Msg::Rows(b)) => {
                                    rows += b.pseudonym.len() as u64;
                                    tracker.push_batch(&b.pseudonym, &b.t, &b.cell);
                                }
                                Ok(Msg::End) => break,
                                Err(_) => break 'units,
                            }
                        }
                    }
                    let (agg, counts) = tracker.finish();
                    (agg, counts, rows)
                })
            })
            .collect();
        let mut rejects = Rejects::default();
        let mut failure = None;
        for h in reader_handles {
            match h.map(|h| h.join()) {
                Ok(Ok(r)) => rejects.merge(r),
                _ => failure = Some("a reader thread stopped"),
            }
        }
        let mut results = Vec::new();
        for h in worker_handles {
            match h.map(|h| h.join()) {
                Ok(Ok(r)) => results.push(r),
                _ => failure = Some("a tracker thread stopped"),
            }
        }
        match failure {
            Some(f) => Err(FlowsError::Worker(f.into())),
            None => Ok((rejects, results)),
        }
    })?;
    drop(key);

    let mut rejects = reader_rejects;
    let mut agg = Aggregates::new(geo.zones.len(), geo.cells.len(), params.n_slots);
    let mut rows = 0;
    for (a, counts, r) in worker_results {
        agg.merge(&a);
        rows += r;
        rejects.add(RejectReason::OutOfOrder, counts.out_of_order);
        rejects.reordered += counts.reordered;
    }
    if agg.events == 0 {
        return Err(FlowsError::NoEvents { day: day.to_string() });
    }
    Ok(DayRun {
        day,
        aggregates: agg,
        rejects,
        rows_accepted: rows,
        seconds: started.elapsed().as_secs_f64(),
        files: files.iter().map(|f| f.path.clone()).collect(),
    })
}
