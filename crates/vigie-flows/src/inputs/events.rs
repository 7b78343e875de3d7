//! Event records: one row per network event, `device_id, timestamp, cell_id` (column names
//! configurable), in Parquet (any codec this build has: snappy, zstd, lz4) or CSV with a
//! header. Only the three columns are read. Each row is checked, its device id replaced by
//! its pseudonym at once, and handed to a [`RowSink`] as (pseudonym, second of the day,
//! cell index); a row that cannot be used is counted in [`Rejects`] with its reason.
//!
//! Supported column types — device: integers, text, binary; timestamp: Parquet/Arrow
//! timestamps (any unit), integers (epoch, unit configurable), RFC 3339 text; cell:
//! integers, text, dictionary-encoded text.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};

use crate::config::{Columns, TimestampUnit};
use crate::error::FlowsError;
use crate::inputs::cells::CellTable;
use crate::inputs::rejects::{RejectReason, Rejects};
use crate::stages::pseudonymize::DailyKey;

pub const MS_PER_DAY: i64 = 86_400_000;
const NULL_CELL: u32 = u32::MAX;
const UNKNOWN_CELL: u32 = u32::MAX - 1;
const BATCH_ROWS: usize = 65_536;

/// Receives the rows that passed every check.
pub trait RowSink {
    fn row(&mut self, pseudonym: u64, second_of_day: u32, cell: u32);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventFormat {
    Parquet,
    Csv,
}

/// An opened input file, its format, and its units of work (Parquet row groups).
#[derive(Debug, Clone)]
pub struct EventFile {
    pub path: PathBuf,
    pub format: EventFormat,
    parquet: Option<ArrowReaderMetadata>,
    /// Row count per unit (one unit for CSV, whose count is unknown: 0).
    pub unit_rows: Vec<u64>,
}

/// What one read needs to know.
pub struct ReadContext<'a> {
    pub cells: &'a CellTable,
    pub key: &'a DailyKey,
    pub columns: &'a Columns,
    pub timestamp_unit: TimestampUnit,
    /// UTC milliseconds of the local day's start.
    pub day_start_ms: i64,
}

impl EventFile {
    /// Opens a file and checks that it has the three columns with supported types.
    pub fn open(path: &Path, columns: &Columns) -> Result<Self, FlowsError> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
        let format = if name.ends_with(".parquet") || name.ends_with(".pq") {
            EventFormat::Parquet
        } else if name.ends_with(".csv") {
            EventFormat::Csv
        } else {
            return Err(FlowsError::input(path, "unknown format: name event files *.parquet or *.csv"));
        };
        let file = File::open(path).map_err(|e| FlowsError::Open { path: path.into(), source: e })?;
        match format {
            EventFormat::Parquet => {
                let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
                    .map_err(|e| FlowsError::Parquet { path: path.into(), source: e })?;
                let schema = meta.schema();
                for (name, ok) in [
                    (&columns.device, device_type_ok as fn(&DataType) -> bool),
                    (&columns.timestamp, timestamp_type_ok),
                    (&columns.cell, cell_type_ok),
                ] {
                    let f = schema.field_with_name(name).map_err(|_| {
                        FlowsError::input(path, format!("no column {name:?} (columns: {})", field_names(schema)))
                    })?;
                    if !ok(f.data_type()) {
                        return Err(FlowsError::input(
                            path,
                            format!("column {name:?} has unsupported type {}", f.data_type()),
                        ));
                    }
                }
                let unit_rows = meta.metadata().row_groups().iter().map(|rg| rg.num_rows().max(0) as u64).collect();
                Ok(EventFile { path: path.into(), format, parquet: Some(meta), unit_rows })
            }
            EventFormat::Csv => {
                let mut rdr = csv::ReaderBuilder::new().from_reader(file);
                let h = rdr.headers().map_err(|e| FlowsError::input(path, e))?;
                for name in [&columns.device, &columns.timestamp, &columns.cell] {
                    if !h.iter().any(|c| c.trim() == name) {
                        return Err(FlowsError::input(path, format!("no column {name:?} in the CSV header")));
                    }
                }
                Ok(EventFile { path: path.into(), format, parquet: None, unit_rows: vec![0] })
            }
        }
    }

    pub fn units(&self) -> usize {
        self.unit_rows.len()
    }

    /// Reads one unit (a Parquet row group, or the whole CSV file).
    pub fn read_unit(&self, unit: usize, ctx: &ReadContext<'_>, sink: &mut dyn RowSink, rejects: &mut Rejects) {
        match self.format {
            EventFormat::Parquet => self.read_row_group(unit, ctx, sink, rejects),
            EventFormat::Csv => self.read_csv(ctx, sink, rejects),
        }
    }

    /// The first readable timestamp (UTC ms), to infer the day when none is given.
    pub fn first_timestamp_ms(&self, columns: &Columns, unit: TimestampUnit) -> Option<i64> {
        match self.format {
            EventFormat::Parquet => {
                let meta = self.parquet.clone()?;
                let file = File::open(&self.path).ok()?;
                let idx = meta.schema().index_of(&columns.timestamp).ok()?;
                let mask = ProjectionMask::roots(meta.parquet_schema(), [idx]);
                let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta)
                    .with_projection(mask)
                    .with_batch_size(1024)
                    .build()
                    .ok()?;
                for batch in reader {
                    let batch = batch.ok()?;
                    let (ts, ok) = timestamps_ms(batch.column(0), unit);
                    if let Some(i) = ok.iter().position(|&v| v) {
                        return Some(ts[i]);
                    }
                }
                None
            }
            EventFormat::Csv => {
                let mut rdr = csv::ReaderBuilder::new().from_path(&self.path).ok()?;
                let h = rdr.headers().ok()?.clone();
                let ti = h.iter().position(|c| c.trim() == columns.timestamp)?;
                rdr.byte_records().take(10_000).flatten().find_map(|r| parse_ts(r.get(ti)?, unit))
            }
        }
    }

    fn read_row_group(&self, rg: usize, ctx: &ReadContext<'_>, sink: &mut dyn RowSink, rejects: &mut Rejects) {
        let expected = self.unit_rows.get(rg).copied().unwrap_or(0);
        let corrupt = |rejects: &mut Rejects, seen: u64, detail: String| {
            let lost = expected.saturating_sub(seen).max(1);
            rejects.add(RejectReason::Corrupt, lost.saturating_sub(1));
            rejects.reject(RejectReason::Corrupt, &self.path, None, || {
                format!("row group {rg}: {lost} rows unreadable: {detail}")
            });
        };
        let Some(meta) = self.parquet.clone() else { return };
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) => return corrupt(rejects, 0, e.to_string()),
        };
        let c = ctx.columns;
        let idx: Vec<usize> =
            [&c.device, &c.timestamp, &c.cell].iter().filter_map(|n| meta.schema().index_of(n).ok()).collect();
        let mask = ProjectionMask::roots(meta.parquet_schema(), idx);
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta)
            .with_projection(mask)
            .with_row_groups(vec![rg])
            .with_batch_size(BATCH_ROWS)
            .build();
        let reader = match reader {
            Ok(r) => r,
            Err(e) => return corrupt(rejects, 0, e.to_string()),
        };
        let first_row: u64 = self.unit_rows[..rg].iter().sum();
        let mut seen = 0u64;
        let mut buf = Decoded::default();
        for batch in reader {
            match batch {
                Ok(b) => {
                    buf.decode(&b, ctx);
                    buf.deliver(ctx, sink, rejects, &self.path, first_row + seen);
                    seen += b.num_rows() as u64;
                }
                Err(e) => return corrupt(rejects, seen, e.to_string()),
            }
        }
    }

    fn read_csv(&self, ctx: &ReadContext<'_>, sink: &mut dyn RowSink, rejects: &mut Rejects) {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) => {
                return rejects.reject(RejectReason::Corrupt, &self.path, None, || e.to_string());
            }
        };
        let mut rdr = csv::ReaderBuilder::new().flexible(true).buffer_capacity(1 << 20).from_reader(file);
        let Ok(h) = rdr.headers().cloned() else {
            return rejects.reject(RejectReason::Corrupt, &self.path, None, || "unreadable header".into());
        };
        let pos = |n: &str| h.iter().position(|c| c.trim() == n).unwrap_or(usize::MAX);
        let (di, ti, ci) = (pos(&ctx.columns.device), pos(&ctx.columns.timestamp), pos(&ctx.columns.cell));
        let mut rec = csv::ByteRecord::new();
        let mut row = 0u64;
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    if e.is_io_error() {
                        return rejects.reject(RejectReason::Corrupt, &self.path, Some(row), || e.to_string());
                    }
                    rejects.reject(RejectReason::Malformed, &self.path, Some(row), || e.to_string());
                    row += 1;
                    continue;
                }
            }
            let (d, t, c) = (rec.get(di), rec.get(ti), rec.get(ci));
            let (Some(d), Some(t), Some(c)) = (d, t, c) else {
                rejects.reject(RejectReason::Malformed, &self.path, Some(row), || format!("{} fields", rec.len()));
                row += 1;
                continue;
            };
            if d.trim_ascii().is_empty() || c.trim_ascii().is_empty() {
                rejects.reject(RejectReason::Malformed, &self.path, Some(row), || "empty device or cell".into());
                row += 1;
                continue;
            }
            let Some(ts) = parse_ts(t, ctx.timestamp_unit) else {
                rejects.reject(RejectReason::Malformed, &self.path, Some(row), || {
                    format!("timestamp {:?}", String::from_utf8_lossy(t))
                });
                row += 1;
                continue;
            };
            let cell_text = String::from_utf8_lossy(c);
            let Some(cell) = ctx.cells.by_text(cell_text.trim()) else {
                rejects.reject(RejectReason::UnknownCell, &self.path, Some(row), || format!("cell {cell_text:?}"));
                row += 1;
                continue;
            };
            let rel = ts.saturating_sub(ctx.day_start_ms);
            if !(0..MS_PER_DAY).contains(&rel) {
                rejects.reject(RejectReason::OutOfRange, &self.path, Some(row), || format!("timestamp {ts} ms"));
                row += 1;
                continue;
            }
            sink.row(ctx.key.of_bytes(d), (rel / 1000) as u32, cell);
            row += 1;
        }
    }
}

fn field_names(schema: &arrow_schema::Schema) -> String {
    schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
}

fn device_type_ok(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int64
            | DataType::UInt64
            | DataType::Int32
            | DataType::UInt32
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Binary
    )
}

fn timestamp_type_ok(t: &DataType) -> bool {
    matches!(t, DataType::Timestamp(_, _) | DataType::Int64 | DataType::Utf8 | DataType::LargeUtf8)
}

fn cell_type_ok(t: &DataType) -> bool {
    match t {
        DataType::Dictionary(_, v) => matches!(**v, DataType::Utf8 | DataType::Int64 | DataType::Int32),
        _ => matches!(
            t,
            DataType::Int64
                | DataType::UInt64
                | DataType::Int32
                | DataType::UInt32
                | DataType::Utf8
                | DataType::LargeUtf8
        ),
    }
}

/// An integer (epoch, in `unit`) or RFC 3339 text, as UTC milliseconds.
fn parse_ts(raw: &[u8], unit: TimestampUnit) -> Option<i64> {
    let s = std::str::from_utf8(raw).ok()?.trim();
    if let Ok(v) = s.parse::<i64>() {
        return unit.to_ms(v);
    }
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp_millis())
}

/// One record batch turned into plain columns.
#[derive(Default)]
struct Decoded {
    pseudonym: Vec<u64>,
    device_ok: Vec<bool>,
    ts: Vec<i64>,
    ts_ok: Vec<bool>,
    cell: Vec<u32>,
}

impl Decoded {
    fn decode(&mut self, b: &RecordBatch, ctx: &ReadContext<'_>) {
        let col = |n: &str| b.column_by_name(n).cloned();
        let n = b.num_rows();
        match col(&ctx.columns.device) {
            Some(c) => pseudonyms(&c, ctx.key, &mut self.pseudonym, &mut self.device_ok),
            None => {
                self.pseudonym.clear();
                self.pseudonym.resize(n, 0);
                self.device_ok.clear();
                self.device_ok.resize(n, false);
            }
        }
        match col(&ctx.columns.timestamp) {
            Some(c) => (self.ts, self.ts_ok) = timestamps_ms(&c, ctx.timestamp_unit),
            None => (self.ts, self.ts_ok) = (vec![0; n], vec![false; n]),
        }
        match col(&ctx.columns.cell) {
            Some(c) => cell_indices(&c, ctx.cells, &mut self.cell),
            None => {
                self.cell.clear();
                self.cell.resize(n, NULL_CELL);
            }
        }
    }

    fn deliver(
        &self,
        ctx: &ReadContext<'_>,
        sink: &mut dyn RowSink,
        rejects: &mut Rejects,
        path: &Path,
        first_row: u64,
    ) {
        for i in 0..self.pseudonym.len() {
            let cell = self.cell[i];
            if !self.device_ok[i] || !self.ts_ok[i] || cell == NULL_CELL {
                rejects.reject(RejectReason::Malformed, path, Some(first_row + i as u64), || {
                    "null or unreadable device, timestamp or cell".into()
                });
                continue;
            }
            if cell == UNKNOWN_CELL {
                rejects.reject(RejectReason::UnknownCell, path, Some(first_row + i as u64), || {
                    "cell not in the cell table".into()
                });
                continue;
            }
            let rel = self.ts[i].saturating_sub(ctx.day_start_ms);
            if !(0..MS_PER_DAY).contains(&rel) {
                rejects.reject(RejectReason::OutOfRange, path, Some(first_row + i as u64), || {
                    format!("timestamp {} ms is outside the day", self.ts[i])
                });
                continue;
            }
            sink.row(self.pseudonym[i], (rel / 1000) as u32, cell);
        }
    }
}

fn pseudonyms(c: &ArrayRef, key: &DailyKey, out: &mut Vec<u64>, ok: &mut Vec<bool>) {
    let n = c.len();
    out.clear();
    ok.clear();
    macro_rules! ints {
        ($t:ty) => {{
            let a = c.as_primitive::<$t>();
            out.extend(a.values().iter().map(|&v| key.of_u64(v as u64)));
            ok.extend((0..n).map(|i| a.is_valid(i)));
        }};
    }
    match c.data_type() {
        DataType::Int64 => ints!(Int64Type),
        DataType::UInt64 => ints!(UInt64Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::UInt32 => ints!(UInt32Type),
        DataType::Utf8 => {
            let a = c.as_string::<i32>();
            for i in 0..n {
                out.push(if a.is_valid(i) { key.of_bytes(a.value(i).as_bytes()) } else { 0 });
                ok.push(a.is_valid(i) && !a.value(i).trim().is_empty());
            }
        }
        DataType::LargeUtf8 => {
            let a = c.as_string::<i64>();
            for i in 0..n {
                out.push(if a.is_valid(i) { key.of_bytes(a.value(i).as_bytes()) } else { 0 });
                ok.push(a.is_valid(i) && !a.value(i).trim().is_empty());
            }
        }
        DataType::Binary => {
            let a = c.as_binary::<i32>();
            for i in 0..n {
                out.push(if a.is_valid(i) { key.of_bytes(a.value(i)) } else { 0 });
                ok.push(a.is_valid(i) && !a.value(i).is_empty());
            }
        }
        _ => {
            out.resize(n, 0);
            ok.resize(n, false);
        }
    }
}

fn timestamps_ms(c: &ArrayRef, unit: TimestampUnit) -> (Vec<i64>, Vec<bool>) {
    let n = c.len();
    macro_rules! conv {
        ($t:ty, $f:expr) => {{
            let a = c.as_primitive::<$t>();
            let f = $f;
            let ts: Vec<Option<i64>> = a.values().iter().map(|&v| f(v)).collect();
            let ok = (0..n).map(|i| a.is_valid(i) && ts[i].is_some()).collect();
            (ts.into_iter().map(|v| v.unwrap_or(0)).collect(), ok)
        }};
    }
    match c.data_type() {
        DataType::Timestamp(TimeUnit::Millisecond, _) => conv!(TimestampMillisecondType, |v: i64| Some(v)),
        DataType::Timestamp(TimeUnit::Second, _) => conv!(TimestampSecondType, |v: i64| v.checked_mul(1000)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            conv!(TimestampMicrosecondType, |v: i64| Some(v.div_euclid(1000)))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            conv!(TimestampNanosecondType, |v: i64| Some(v.div_euclid(1_000_000)))
        }
        DataType::Int64 => conv!(Int64Type, |v: i64| unit.to_ms(v)),
        DataType::Utf8 | DataType::LargeUtf8 => {
            let mut ts = Vec::with_capacity(n);
            let mut ok = Vec::with_capacity(n);
            for i in 0..n {
                let v = if c.is_valid(i) {
                    let s = if c.data_type() == &DataType::Utf8 {
                        c.as_string::<i32>().value(i)
                    } else {
                        c.as_string::<i64>().value(i)
                    };
                    parse_ts(s.as_bytes(), unit)
                } else {
                    None
                };
                ts.push(v.unwrap_or(0));
                ok.push(v.is_some());
            }
            (ts, ok)
        }
        _ => (vec![0; n], vec![false; n]),
    }
}

fn cell_indices(c: &ArrayRef, cells: &CellTable, out: &mut Vec<u32>) {
    let n = c.len();
    out.clear();
    // One-entry cache: consecutive rows often share a cell.
    let mut last = (i64::MIN, UNKNOWN_CELL);
    let mut by_int = |v: i64| {
        if v != last.0 {
            last = (v, cells.by_int(v).unwrap_or(UNKNOWN_CELL));
        }
        last.1
    };
    macro_rules! ints {
        ($t:ty) => {{
            let a = c.as_primitive::<$t>();
            for (i, &v) in a.values().iter().enumerate() {
                out.push(if a.is_valid(i) { by_int(v as i64) } else { NULL_CELL });
            }
        }};
    }
    match c.data_type() {
        DataType::Int64 => ints!(Int64Type),
        DataType::UInt64 => ints!(UInt64Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::UInt32 => ints!(UInt32Type),
        DataType::Utf8 | DataType::LargeUtf8 => {
            for i in 0..n {
                if !c.is_valid(i) {
                    out.push(NULL_CELL);
                    continue;
                }
                let s = if c.data_type() == &DataType::Utf8 {
                    c.as_string::<i32>().value(i)
                } else {
                    c.as_string::<i64>().value(i)
                };
                out.push(cells.by_text(s).unwrap_or(UNKNOWN_CELL));
            }
        }
        DataType::Dictionary(_, _) => {
            let Some(d) = c.as_any_dictionary_opt() else {
                out.resize(n, NULL_CELL);
                return;
            };
            let values = d.values().clone();
            let mut mapped = Vec::new();
            cell_indices(&values, cells, &mut mapped);
            let keys = d.normalized_keys();
            for (i, k) in keys.into_iter().enumerate() {
                out.push(if c.is_valid(i) { mapped.get(k).copied().unwrap_or(NULL_CELL) } else { NULL_CELL });
            }
        }
        _ => out.resize(n, NULL_CELL),
    }
}
