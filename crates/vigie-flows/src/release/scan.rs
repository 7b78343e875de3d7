//! The release check: reads back every file of a release directory and fails on any
//! published count under k — Parquet columns named in [`super::COUNT_FIELDS`], the same
//! keys anywhere in the JSON and GeoJSON files and in detection attributes, and every
//! number under `series`. A test runs it on each release it makes; `vigie flows check`
//! runs it for the DPO.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt64Type};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use super::COUNT_FIELDS;
use crate::error::FlowsError;

/// A count under k found in a published file.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub file: String,
    pub field: String,
    pub value: f64,
}

/// What the scan looked at.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    pub files: usize,
    pub values_checked: u64,
    pub violations: Vec<Violation>,
}

pub fn scan_release(dir: &Path, k: u32) -> Result<ScanReport, FlowsError> {
    let mut rep = ScanReport::default();
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).map_err(|e| FlowsError::Open { path: dir.into(), source: e })?.flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("").to_owned();
        if name.ends_with(".parquet") {
            scan_parquet(&p, k as f64, &mut rep)?;
        } else if name.ends_with(".json") || name.ends_with(".geojson") {
            let text = std::fs::read_to_string(&p).map_err(|e| FlowsError::Open { path: p.clone(), source: e })?;
            let v: Value = serde_json::from_str(&text).map_err(|e| FlowsError::input(&p, e))?;
            scan_json(&v, false, &name, "", k as f64, &mut rep);
        } else if name.ends_with(".ndjson") {
            let text = std::fs::read_to_string(&p).map_err(|e| FlowsError::Open { path: p.clone(), source: e })?;
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let v: Value = serde_json::from_str(line).map_err(|e| FlowsError::input(&p, e))?;
                scan_json(&v["attributes"], false, &name, "attributes", k as f64, &mut rep);
            }
        } else {
            continue;
        }
        rep.files += 1;
    }
    Ok(rep)
}

fn scan_parquet(p: &Path, k: f64, rep: &mut ScanReport) -> Result<(), FlowsError> {
    let f = File::open(p).map_err(|e| FlowsError::Open { path: p.into(), source: e })?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .and_then(|b| b.build())
        .map_err(|e| FlowsError::Parquet { path: p.into(), source: e })?;
    for batch in reader {
        let batch = batch.map_err(|e| FlowsError::input(p, e))?;
        for (i, field) in batch.schema().fields().iter().enumerate() {
            if !COUNT_FIELDS.contains(&field.name().as_str()) {
                continue;
            }
            let col = batch.column(i);
            let values: Vec<f64> = match col.data_type() {
                DataType::Int64 => col.as_primitive::<Int64Type>().values().iter().map(|&v| v as f64).collect(),
                DataType::UInt64 => col.as_primitive::<UInt64Type>().values().iter().map(|&v| v as f64).collect(),
                other => {
                    return Err(FlowsError::input(p, format!("count column {} has type {other}", field.name())));
                }
            };
            for v in values {
                rep.values_checked += 1;
                if v < k {
                    rep.violations.push(Violation {
                        file: p.display().to_string(),
                        field: field.name().clone(),
                        value: v,
                    });
                }
            }
        }
    }
    Ok(())
}

fn scan_json(v: &Value, counting: bool, file: &str, path: &str, k: f64, rep: &mut ScanReport) {
    match v {
        Value::Object(m) => {
            for (key, x) in m {
                let c = counting || key == "series" || COUNT_FIELDS.contains(&key.as_str());
                scan_json(x, c, file, &format!("{path}.{key}"), k, rep);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| scan_json(x, counting, file, path, k, rep)),
        Value::Number(n) if counting => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            rep.values_checked += 1;
            if x.is_nan() || x < k {
                rep.violations.push(Violation { file: file.into(), field: path.into(), value: x });
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_scan_finds_small_counts_only_in_count_fields() {
        let v: Value = serde_json::from_str(
            r#"{"k": 20, "slot": 3, "flows": {"internal": {"trips": 25, "estimate": 71}},
               "top": [{"trips": 19}], "series": {"presence": {"a": [null, 40, 5]}}}"#,
        )
        .unwrap();
        let mut rep = ScanReport::default();
        scan_json(&v, false, "summary.json", "", 20.0, &mut rep);
        assert_eq!(rep.violations.len(), 2, "{:?}", rep.violations);
        assert_eq!(rep.values_checked, 5);
    }
}
