//! One day end to end, as `vigie flows run` and `vigie bench flows` do it: run the
//! pipeline, build the private release (checking the ε ledger first when DP is on),
//! find anomalies against the earlier releases under the same root, write everything,
//! and check the written files for counts under k before saying it is done.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use vigie_model::Detection;

use crate::config::FlowsConfig;
use crate::error::FlowsError;
use crate::inputs::EventFile;
use crate::pipeline::{DayRun, Geography, day_start_ms, run_day};
use crate::privacy::ledger::Ledger;
use crate::release::{self, Release, history, scan, write};
use crate::stages::anomaly::{self, AnomalyConfig};
use crate::stages::emit::{self, EmitContext};

pub struct DayOutcome {
    pub run: DayRun,
    pub release: Release,
    pub detections: Vec<Detection>,
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    /// Baseline releases that were looked for and not found.
    pub baseline_missing: Vec<String>,
    pub scan: scan::ScanReport,
}

pub fn process_day(
    files: &[EventFile],
    geo: &Geography,
    cfg: &FlowsConfig,
    day: Option<NaiveDate>,
    root: &Path,
    ledger: Option<&mut Ledger>,
    anomalies: &AnomalyConfig,
) -> Result<DayOutcome, FlowsError> {
    let run = run_day(files, geo, cfg, day)?;
    let release = release::build(&run, geo, cfg, ledger)?;
    let (hist, baseline_missing) = history::previous_series(root, run.day, anomalies.baseline_weeks);
    let refs: Vec<&release::Series> = hist.iter().collect();
    let below_k = cfg.k as f64 / cfg.market_share;
    let found = anomaly::detect(&release.series(), &refs, cfg.slot_minutes, below_k, anomalies);
    let start_ms = day_start_ms(run.day, cfg.utc_offset_minutes);
    let cx = EmitContext {
        zones: &geo.zones,
        sensor_prefix: &cfg.sensor_prefix,
        day: run.day,
        day_start_utc: chrono::DateTime::from_timestamp_millis(start_ms).unwrap_or_default(),
        k: cfg.k,
        z_threshold: anomalies.z_threshold,
    };
    let detections = found.iter().map(|a| emit::to_detection(a, &cx)).collect::<Result<Vec<_>, _>>()?;
    let dir = write::release_dir(root, run.day);
    let files = write::write_release(&dir, &release, &geo.zones, &detections)?;
    let scan = scan::scan_release(&dir, cfg.k)?;
    if let Some(v) = scan.violations.first() {
        return Err(FlowsError::Output {
            path: dir,
            detail: format!(
                "release check failed: {} = {} under k in {} ({} violations)",
                v.field,
                v.value,
                v.file,
                scan.violations.len()
            ),
        });
    }
    Ok(DayOutcome { run, release, detections, dir, files, baseline_missing, scan })
}
