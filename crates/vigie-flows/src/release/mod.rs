//! A release: everything one day's run publishes, built from the day's aggregates by the
//! privacy stages, and nothing else. Every count in it reached k (observed devices or
//! trips); suppressed cells are absent, never written as zero or as a small number.
//!
//! Tables (each also written as Parquet by [`write`]):
//!
//! | table | cells | margins published with it |
//! |---|---|---|
//! | `presence` | zone × slot: devices present at the slot's middle | territory total per slot |
//! | `od_day` | origin × destination (zones and `outside`): trips between stays | departures per origin, arrivals per destination, flows internal / entering / leaving / crossing |
//! | `od_hour` | origin × destination × departure hour | (sum to the `od_day` cells) |
//! | `zone_hour` | zone × hour: distinct devices with an event there | — |
//! | `cell_devices` | cell: distinct devices over the day | — |
//! | `first_last_od` | zone of the first × of the last event of the day | — |
//! | `visits` | zone × residents / visitors of the territory | — |
//! | `home` | night-time home zone (or outside) | — |

pub mod history;
pub mod scan;
pub mod write;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::config::FlowsConfig;
use crate::error::FlowsError;
use crate::inputs::RejectReason;
use crate::pipeline::{DayRun, Geography};
use crate::privacy::ledger::{Ledger, LedgerEntry, TableSpend};
use crate::privacy::noise::GeometricNoise;
use crate::privacy::suppress::{self, Pattern, Table};
use crate::stages::aggregate::Aggregates;
use crate::stages::cell_zones::OUTSIDE;

/// The names of the count fields of every published file: the k-scan checks each one.
pub const COUNT_FIELDS: [&str; 3] = ["devices", "trips", "estimate"];

#[derive(Debug, Clone, Serialize)]
pub struct PresenceRow {
    pub zone: String,
    pub slot: u32,
    pub devices: u64,
    pub estimate: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SlotTotalRow {
    pub slot: u32,
    pub devices: u64,
    pub estimate: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OdRow {
    pub origin: String,
    pub destination: String,
    pub trips: u64,
    pub estimate: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OdHourRow {
    pub hour: u32,
    pub origin: String,
    pub destination: String,
    pub trips: u64,
    pub estimate: u64,
}

/// A published margin of the day OD table: `departures`/`arrivals` of a zone, or `flow`
/// of a category (`internal`, `entering`, `leaving`, `crossing`).
#[derive(Debug, Clone, Serialize)]
pub struct MarginRow {
    pub kind: String,
    pub key: String,
    pub trips: u64,
    pub estimate: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ZoneHourRow {
    pub zone: String,
    pub hour: u32,
    pub devices: u64,
    pub estimate: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CellRow {
    pub cell_id: String,
    pub devices: u64,
    pub estimate: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupRow {
    pub zone: String,
    /// `resident` / `visitor` (visits), or empty (home).
    pub group: String,
    pub devices: u64,
    pub estimate: u64,
}

/// How many cells each table published and suppressed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct TablePrivacy {
    pub table: String,
    pub cells: usize,
    pub published: usize,
    pub suppressed_primary: usize,
    pub suppressed_complementary: usize,
    pub margins: usize,
    pub margins_suppressed: usize,
    pub audited: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrivacyReport {
    pub k: u32,
    pub pseudonymisation: &'static str,
    pub tables: Vec<TablePrivacy>,
    /// Present when differential privacy is on.
    pub dp: Option<LedgerEntry>,
}

/// Input quality: rows used and rows set aside, by reason (never a device identifier).
#[derive(Debug, Clone, Serialize)]
pub struct QualityReport {
    pub files: Vec<String>,
    pub rows_accepted: u64,
    pub events_used: u64,
    pub rows_rejected: std::collections::BTreeMap<String, u64>,
    pub rows_reordered: u64,
    pub samples: Vec<crate::inputs::rejects::RejectSample>,
    pub run_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Release {
    pub day: NaiveDate,
    pub weekday: String,
    pub k: u32,
    pub market_share: f64,
    pub slot_minutes: u32,
    pub zone_ids: Vec<String>,
    pub zone_names: Vec<String>,
    pub presence: Vec<PresenceRow>,
    pub presence_totals: Vec<SlotTotalRow>,
    pub od_day: Vec<OdRow>,
    pub od_margins: Vec<MarginRow>,
    pub od_hour: Vec<OdHourRow>,
    pub zone_hour: Vec<ZoneHourRow>,
    pub cell_devices: Vec<CellRow>,
    pub first_last_od: Vec<OdRow>,
    pub visits: Vec<GroupRow>,
    pub home: Vec<GroupRow>,
    /// Observed devices of the day, when at least k.
    pub devices: Option<u64>,
    pub privacy: PrivacyReport,
    pub quality: QualityReport,
}

/// Turns an observed count into published (observed, extrapolated) values.
struct Publish {
    k: f64,
    share: f64,
    noise: Option<GeometricNoise>,
}

impl Publish {
    fn value(&mut self, v: f64) -> Result<(u64, u64), FlowsError> {
        let mut x = v.round();
        if let Some(n) = self.noise.as_mut() {
            x += n.sample()? as f64;
        }
        // Suppression decided on the true value; the published one never goes under k.
        let x = x.max(self.k);
        Ok((x as u64, (x / self.share).round() as u64))
    }
}

/// The categories of the day OD table, by (origin inside, destination inside).
pub const FLOW_CATEGORIES: [&str; 4] = ["internal", "entering", "leaving", "crossing"];

fn flow_category(o: usize, d: usize, out: usize) -> usize {
    match (o == out, d == out) {
        (false, false) => 0,
        (true, false) => 1,
        (false, true) => 2,
        (true, true) => 3,
    }
}

/// The presence table: cells `slot × zone` (inside zones only), one margin per slot (the
/// territory's total).
pub fn presence_table(a: &Aggregates) -> Table {
    let (nz, ns) = (a.n_zones, a.n_slots);
    let z1 = nz + 1;
    let mut t = Table { values: Vec::with_capacity(ns * nz), margins: Vec::with_capacity(ns) };
    for s in 0..ns {
        t.values.extend_from_slice(&a.presence[s * z1..s * z1 + nz]);
        t.margins.push((0..nz).map(|z| (s * nz + z) as u32).collect());
    }
    t
}

/// The day OD table: cells `(zones+outside)²`; margins: departures per origin, arrivals
/// per destination, then the four flow categories.
pub fn od_day_table(a: &Aggregates) -> Table {
    let nz = a.n_zones;
    let z1 = nz + 1;
    let mut t = Table { values: a.od_day(), margins: Vec::new() };
    for o in 0..z1 {
        t.margins.push((0..z1).map(|d| (o * z1 + d) as u32).collect());
    }
    for d in 0..z1 {
        t.margins.push((0..z1).map(|o| (o * z1 + d) as u32).collect());
    }
    let mut cats: Vec<Vec<u32>> = vec![Vec::new(); 4];
    for o in 0..z1 {
        for d in 0..z1 {
            cats[flow_category(o, d, nz)].push((o * z1 + d) as u32);
        }
    }
    t.margins.extend(cats);
    t
}

/// Builds the release of a day's run. With DP on, the ledger is checked and written first.
pub fn build(
    run: &DayRun,
    geo: &Geography,
    cfg: &FlowsConfig,
    ledger: Option<&mut Ledger>,
) -> Result<Release, FlowsError> {
    let a = &run.aggregates;
    let k = cfg.k as f64;
    let nz = a.n_zones;
    let z1 = nz + 1;
    let ns = a.n_slots;
    let zone_name =
        |z: usize| -> String { geo.zones.zones.get(z).map(|x| x.id.clone()).unwrap_or_else(|| OUTSIDE.into()) };
    let dp = cfg.dp.as_ref();
    let trips_cap = cfg.max_trips_per_device as f64;
    // (table, sensitivity) of what DP publishes; the others are left out under DP.
    let dp_tables: [(&str, f64); 5] = [
        ("presence", 2.0 * ns as f64),
        ("od_day", 4.0 * trips_cap),
        ("od_hour", trips_cap),
        ("first_last_od", 1.0),
        ("home", 1.0),
    ];
    let mut spend = None;
    if let Some(dp) = dp {
        let each = dp.epsilon_per_release / dp_tables.len() as f64;
        let entry = LedgerEntry {
            release: run.day.to_string(),
            created: chrono::Utc::now().to_rfc3339(),
            epsilon: dp.epsilon_per_release,
            tables: dp_tables
                .iter()
                .map(|(t, s)| TableSpend {
                    table: (*t).into(),
                    epsilon: each,
                    sensitivity: *s,
                    mechanism: "two-sided geometric".into(),
                })
                .collect(),
        };
        let ledger =
            ledger.ok_or_else(|| FlowsError::Budget("differential privacy is on but no ledger was given".into()))?;
        ledger.record(entry.clone(), dp.epsilon_cap_total)?;
        spend = Some(entry);
    }
    let publisher = |table: &str| -> Result<Publish, FlowsError> {
        let noise = match (&spend, dp_tables.iter().find(|t| t.0 == table)) {
            (Some(e), Some((_, s))) => Some(GeometricNoise::new(e.epsilon / dp_tables.len() as f64, *s)?),
            _ => None,
        };
        Ok(Publish { k, share: cfg.market_share, noise })
    };
    let mut privacy = Vec::new();
    let note = |name: &str, t: &Table, p: &Pattern, audited: bool| TablePrivacy {
        table: name.into(),
        cells: t.values.len(),
        published: p.cell.iter().filter(|x| **x).count(),
        suppressed_primary: p.primary,
        suppressed_complementary: p.complementary,
        margins: t.margins.len(),
        margins_suppressed: p.margins_suppressed,
        audited,
    };

    // Presence: zones × slots, with the territory total of each slot.
    let t = presence_table(a);
    let p = suppress::protect(&t, k, true);
    privacy.push(note("presence", &t, &p, true));
    let mut pb = publisher("presence")?;
    let mut presence = Vec::new();
    for s in 0..ns {
        for z in 0..nz {
            let i = s * nz + z;
            if p.cell[i] {
                let (devices, estimate) = pb.value(t.values[i])?;
                presence.push(PresenceRow { zone: zone_name(z), slot: s as u32, devices, estimate });
            }
        }
    }
    let mut presence_totals = Vec::new();
    for s in 0..ns {
        if p.margin[s] {
            let (devices, estimate) = pb.value(t.margin_value(s))?;
            presence_totals.push(SlotTotalRow { slot: s as u32, devices, estimate });
        }
    }

    // Day OD with departures, arrivals and flow categories.
    let day = a.od_day();
    let t = od_day_table(a);
    let p_day = suppress::protect(&t, k, true);
    privacy.push(note("od_day", &t, &p_day, true));
    let mut pb = publisher("od_day")?;
    let mut od_day = Vec::new();
    for o in 0..z1 {
        for d in 0..z1 {
            let i = o * z1 + d;
            if p_day.cell[i] {
                let (trips, estimate) = pb.value(day[i])?;
                od_day.push(OdRow { origin: zone_name(o), destination: zone_name(d), trips, estimate });
            }
        }
    }
    let mut od_margins = Vec::new();
    for m in 0..t.margins.len() {
        if !p_day.margin[m] {
            continue;
        }
        let (kind, key) = if m < z1 {
            ("departures", zone_name(m))
        } else if m < 2 * z1 {
            ("arrivals", zone_name(m - z1))
        } else {
            ("flow", FLOW_CATEGORIES[m - 2 * z1].to_string())
        };
        let (trips, estimate) = pb.value(t.margin_value(m))?;
        od_margins.push(MarginRow { kind: kind.into(), key, trips, estimate });
    }

    // Hour OD: children of the day cells.
    let s2 = z1 * z1;
    let children: Vec<Vec<u32>> = (0..s2).map(|i| (0..24).map(|h| (h * s2 + i) as u32).collect()).collect();
    let p_hour = suppress::protect_children(&day, &p_day.cell, &children, &a.od_hour, k);
    privacy.push(note("od_hour", &Table { values: a.od_hour.clone(), margins: Vec::new() }, &p_hour, false));
    let mut pb = publisher("od_hour")?;
    let mut od_hour = Vec::new();
    for h in 0..24 {
        for o in 0..z1 {
            for d in 0..z1 {
                let i = h * s2 + o * z1 + d;
                if p_hour.cell[i] {
                    let (trips, estimate) = pb.value(a.od_hour[i])?;
                    od_hour.push(OdHourRow {
                        hour: h as u32,
                        origin: zone_name(o),
                        destination: zone_name(d),
                        trips,
                        estimate,
                    });
                }
            }
        }
    }

    // Tables without margins: the threshold alone.
    let mut simple = |name: &str, values: Vec<f64>| -> (Vec<bool>, Vec<f64>) {
        let t = Table { values, margins: Vec::new() };
        let p = suppress::protect(&t, k, false);
        privacy.push(note(name, &t, &p, false));
        (p.cell, t.values)
    };
    let mut zone_hour = Vec::new();
    let mut cell_devices = Vec::new();
    let mut visits = Vec::new();
    if dp.is_none() {
        let (pz, vz) = simple("zone_hour", a.zone_hour.iter().map(|&v| v as f64).collect());
        let mut pb = publisher("zone_hour")?;
        for h in 0..24 {
            for z in 0..nz {
                let i = h * nz + z;
                if pz[i] {
                    let (devices, estimate) = pb.value(vz[i])?;
                    zone_hour.push(ZoneHourRow { zone: zone_name(z), hour: h as u32, devices, estimate });
                }
            }
        }
        let (pc, vc) = simple("cell_devices", a.cell_devices.iter().map(|&v| v as f64).collect());
        let mut pb = publisher("cell_devices")?;
        for c in 0..a.n_cells {
            if pc[c] {
                let (devices, estimate) = pb.value(vc[c])?;
                cell_devices.push(CellRow { cell_id: geo.cells.cells[c].id.clone(), devices, estimate });
            }
        }
        let (pv, vv) = simple("visits", a.visits.iter().map(|&v| v as f64).collect());
        let mut pb = publisher("visits")?;
        for z in 0..nz {
            for (g, name) in ["resident", "visitor"].iter().enumerate() {
                let i = z * 2 + g;
                if pv[i] {
                    let (devices, estimate) = pb.value(vv[i])?;
                    visits.push(GroupRow { zone: zone_name(z), group: (*name).into(), devices, estimate });
                }
            }
        }
    }
    let (pf, vf) = simple("first_last_od", a.first_last.iter().map(|&v| v as f64).collect());
    let mut pb = publisher("first_last_od")?;
    let mut first_last_od = Vec::new();
    for o in 0..z1 {
        for d in 0..z1 {
            let i = o * z1 + d;
            if pf[i] {
                let (trips, estimate) = pb.value(vf[i])?;
                first_last_od.push(OdRow { origin: zone_name(o), destination: zone_name(d), trips, estimate });
            }
        }
    }
    let (ph, vh) = simple("home", a.home.iter().map(|&v| v as f64).collect());
    let mut pb = publisher("home")?;
    let mut home = Vec::new();
    for z in 0..z1 {
        if ph[z] {
            let (devices, estimate) = pb.value(vh[z])?;
            home.push(GroupRow { zone: zone_name(z), group: String::new(), devices, estimate });
        }
    }

    let mut rows_rejected = std::collections::BTreeMap::new();
    for r in RejectReason::ALL {
        rows_rejected.insert(r.as_str().to_string(), run.rejects.get(r));
    }
    Ok(Release {
        day: run.day,
        weekday: run.day.weekday().to_string(),
        k: cfg.k,
        market_share: cfg.market_share,
        slot_minutes: cfg.slot_minutes,
        zone_ids: geo.zones.zones.iter().map(|z| z.id.clone()).collect(),
        zone_names: geo.zones.zones.iter().map(|z| z.name.clone()).collect(),
        presence,
        presence_totals,
        od_day,
        od_margins,
        od_hour,
        zone_hour,
        cell_devices,
        first_last_od,
        visits,
        home,
        devices: (a.devices as f64 >= k).then_some(a.devices),
        privacy: PrivacyReport {
            k: cfg.k,
            pseudonymisation: "SipHash-1-3 under a random key for this day only, wiped at the end of the run",
            tables: privacy,
            dp: spend,
        },
        quality: QualityReport {
            files: run.files.iter().map(|f| f.display().to_string()).collect(),
            rows_accepted: run.rows_accepted,
            events_used: a.events,
            rows_rejected,
            rows_reordered: run.rejects.reordered,
            samples: run.rejects.samples.clone(),
            run_seconds: run.seconds,
        },
    })
}

/// Published series the anomaly stage compares with earlier releases: presence estimates
/// per zone and slot, and arrivals / departures per zone and hour (sums of the published
/// hour cells; `None` where nothing was published).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct Series {
    pub presence: std::collections::BTreeMap<String, Vec<Option<u64>>>,
    pub arrivals: std::collections::BTreeMap<String, Vec<Option<u64>>>,
    pub departures: std::collections::BTreeMap<String, Vec<Option<u64>>>,
}

impl Release {
    pub fn series(&self) -> Series {
        let ns = (1440 / self.slot_minutes) as usize;
        let mut s = Series::default();
        for z in &self.zone_ids {
            s.presence.insert(z.clone(), vec![None; ns]);
            s.arrivals.insert(z.clone(), vec![None; 24]);
            s.departures.insert(z.clone(), vec![None; 24]);
        }
        for r in &self.presence {
            if let Some(v) = s.presence.get_mut(&r.zone) {
                v[r.slot as usize] = Some(r.estimate);
            }
        }
        for r in &self.od_hour {
            for (map, z) in [(&mut s.arrivals, &r.destination), (&mut s.departures, &r.origin)] {
                if let Some(v) = map.get_mut(z) {
                    let x = &mut v[r.hour as usize];
                    *x = Some(x.unwrap_or(0) + r.estimate);
                }
            }
        }
        s
    }
}
