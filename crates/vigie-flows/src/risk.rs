//! `vigie flows risk`: how identifying a raw dataset is, measured as *unicity* (de
//! Montjoye, Hidalgo, Verleysen, Blondel, "Unique in the Crowd", Scientific Reports 3,
//! 2013): the share of devices whose trace is the only one containing p points drawn at
//! random from it, a point being (place, time bin). The paper found 95 % of 1.5 million
//! people unique given 4 points at antenna × hour resolution.
//!
//! This runs where the records are (it reads them through the same pseudonymising reader
//! as the pipeline) and reports only the shares, never a device.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::config::FlowsConfig;
use crate::error::FlowsError;
use crate::inputs::events::{ReadContext, RowSink};
use crate::inputs::{EventFile, Rejects};
use crate::pipeline::{Geography, day_start_ms, local_date};
use crate::rng::Rng;
use crate::stages::pseudonymize::DailyKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// The cell (antenna sector), as in the paper.
    Cell,
    /// The zone a cell mostly covers.
    Zone,
}

#[derive(Debug, Clone, Serialize)]
pub struct Resolution {
    pub place: Place,
    pub bin_minutes: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnicityRow {
    pub place: Place,
    pub bin_minutes: u32,
    pub points: usize,
    /// Devices with at least `points` distinct points, of which `sampled` were tested.
    pub eligible: usize,
    pub sampled: usize,
    pub unique: usize,
    pub unicity: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RiskReport {
    pub day: String,
    pub devices: usize,
    pub events: usize,
    pub rows_rejected: u64,
    pub results: Vec<UnicityRow>,
}

struct Collect<'a> {
    index: &'a mut HashMap<u64, u32>,
    rows: &'a mut Vec<(u32, u32, u32)>,
}

impl RowSink for Collect<'_> {
    fn row(&mut self, pseudonym: u64, t: u32, cell: u32) {
        let n = self.index.len() as u32;
        let d = *self.index.entry(pseudonym).or_insert(n);
        self.rows.push((d, t, cell));
    }
}

/// What to measure: at which resolutions, with how many points, on how many devices.
#[derive(Debug, Clone)]
pub struct RiskConfig {
    pub day: Option<NaiveDate>,
    pub resolutions: Vec<Resolution>,
    pub points: Vec<usize>,
    /// Devices tested per (resolution, points).
    pub sample: usize,
    pub seed: u64,
}

pub fn unicity(
    files: &[EventFile],
    geo: &Geography,
    cfg: &FlowsConfig,
    risk: &RiskConfig,
) -> Result<RiskReport, FlowsError> {
    let (day, resolutions, points, sample, seed) = (risk.day, &risk.resolutions, &risk.points, risk.sample, risk.seed);
    let day = match day {
        Some(d) => d,
        None => files
            .iter()
            .find_map(|f| f.first_timestamp_ms(&cfg.columns, cfg.timestamp_unit))
            .and_then(|ms| local_date(ms, cfg.utc_offset_minutes))
            .ok_or_else(|| FlowsError::NoEvents { day: "(none found)".into() })?,
    };
    let key = DailyKey::generate()?;
    let ctx = ReadContext {
        cells: &geo.cells,
        key: &key,
        columns: &cfg.columns,
        timestamp_unit: cfg.timestamp_unit,
        day_start_ms: day_start_ms(day, cfg.utc_offset_minutes),
    };
    let mut index = HashMap::new();
    let mut rows = Vec::new();
    let mut rejects = Rejects::default();
    for f in files {
        for u in 0..f.units() {
            f.read_unit(u, &ctx, &mut Collect { index: &mut index, rows: &mut rows }, &mut rejects);
        }
    }
    drop(key);
    let n_dev = index.len();
    drop(index);
    if rows.is_empty() {
        return Err(FlowsError::NoEvents { day: day.to_string() });
    }
    let mut results = Vec::new();
    for r in resolutions.iter() {
        let bins = 1440 / r.bin_minutes.clamp(1, 1440);
        let space = |c: u32| match r.place {
            Place::Cell => c,
            Place::Zone => geo.cell_zones.primary[c as usize] as u32,
        };
        // (point, device) pairs, distinct, sorted by point: the inverted index.
        let mut pairs: Vec<u64> = rows
            .iter()
            .map(|&(d, t, c)| {
                let bin = (t / 60 / r.bin_minutes.max(1)).min(bins - 1);
                ((space(c) as u64 * bins as u64 + bin as u64) << 32) | d as u64
            })
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        // Devices → their points (CSR).
        let mut count = vec![0u32; n_dev + 1];
        for &p in &pairs {
            count[(p & 0xffff_ffff) as usize + 1] += 1;
        }
        for i in 1..count.len() {
            count[i] += count[i - 1];
        }
        let mut fill = count.clone();
        let mut dev_points = vec![0u32; pairs.len()];
        // Postings: start of each point's run in `pairs`.
        let mut run_start: HashMap<u32, (u32, u32)> = HashMap::new();
        let mut i = 0;
        while i < pairs.len() {
            let pt = (pairs[i] >> 32) as u32;
            let mut j = i;
            while j < pairs.len() && (pairs[j] >> 32) as u32 == pt {
                j += 1;
            }
            run_start.insert(pt, (i as u32, j as u32));
            i = j;
        }
        for &p in &pairs {
            let d = (p & 0xffff_ffff) as usize;
            dev_points[fill[d] as usize] = (p >> 32) as u32;
            fill[d] += 1;
        }
        for &np in points.iter() {
            let eligible: Vec<usize> = (0..n_dev).filter(|&d| (count[d + 1] - count[d]) as usize >= np).collect();
            let mut rng = Rng::new(seed ^ np as u64);
            let take = sample.min(eligible.len());
            let (mut unique, mut tested) = (0, 0);
            for s in 0..take {
                let d = if take == eligible.len() { eligible[s] } else { eligible[rng.below(eligible.len())] };
                let pts = &dev_points[count[d] as usize..count[d + 1] as usize];
                let mut chosen: Vec<u32> = Vec::with_capacity(np);
                while chosen.len() < np {
                    let p = pts[rng.below(pts.len())];
                    if !chosen.contains(&p) {
                        chosen.push(p);
                    }
                }
                let mut lists: Vec<&[u64]> = chosen
                    .iter()
                    .filter_map(|p| run_start.get(p).map(|&(a, b)| &pairs[a as usize..b as usize]))
                    .collect();
                lists.sort_by_key(|l| l.len());
                let mut cand: Vec<u32> = lists[0].iter().map(|p| (p & 0xffff_ffff) as u32).collect();
                for l in &lists[1..] {
                    cand.retain(|&c| l.binary_search_by_key(&c, |p| (p & 0xffff_ffff) as u32).is_ok());
                    if cand.len() <= 1 {
                        break;
                    }
                }
                tested += 1;
                unique += (cand.len() == 1) as usize;
            }
            results.push(UnicityRow {
                place: r.place,
                bin_minutes: r.bin_minutes,
                points: np,
                eligible: eligible.len(),
                sampled: tested,
                unique,
                unicity: unique as f64 / tested.max(1) as f64,
            });
        }
    }
    Ok(RiskReport { day: day.to_string(), devices: n_dev, events: rows.len(), rows_rejected: rejects.total(), results })
}
