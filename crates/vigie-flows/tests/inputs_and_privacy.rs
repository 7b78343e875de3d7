//! Inputs in both formats, garbage rows, differential privacy with its ledger, and the
//! unicity measure.

mod common;

use std::io::Write;

use vigie_flows::config::DpConfig;
use vigie_flows::generate::{GenerateConfig, OutputFormat};
use vigie_flows::inputs::{EventFile, RejectReason};
use vigie_flows::privacy::ledger::Ledger;
use vigie_flows::release::{self, scan::scan_release, write::write_release};
use vigie_flows::risk::{Place, Resolution, RiskConfig, unicity};
use vigie_flows::{FlowsConfig, Geography, run_day};

fn cfg() -> FlowsConfig {
    FlowsConfig { market_share: 0.35, threads: 2, ..FlowsConfig::default() }
}

#[test]
fn csv_and_parquet_of_the_same_day_give_the_same_aggregates() {
    let dir = common::TempDir::new("formats");
    let pq = dir.path().join("pq");
    let csv = dir.path().join("csv");
    let rep_pq = common::make(&pq, &common::small(1_500, 200));
    let rep_csv = common::make(&csv, &GenerateConfig { format: OutputFormat::Csv, ..common::small(1_500, 200) });
    let c = cfg();
    let geo = Geography::load(&rep_pq.cells, &rep_pq.zones, &c).unwrap();
    let a = run_day(&[EventFile::open(&rep_pq.days[0].events, &c.columns).unwrap()], &geo, &c, None).unwrap();
    let b = run_day(&[EventFile::open(&rep_csv.days[0].events, &c.columns).unwrap()], &geo, &c, None).unwrap();
    assert_eq!(a.aggregates.events, b.aggregates.events);
    assert_eq!(a.aggregates.devices, b.aggregates.devices);
    assert_eq!(a.aggregates.cell_devices, b.aggregates.cell_devices);
    assert_eq!(a.aggregates.first_last, b.aggregates.first_last);
    assert_eq!(a.aggregates.trips, b.aggregates.trips);
}

#[test]
fn garbage_rows_are_counted_and_the_rest_is_kept() {
    let dir = common::TempDir::new("garbage");
    let rep = common::make(dir.path(), &GenerateConfig { format: OutputFormat::Csv, ..common::small(800, 120) });
    let path = &rep.days[0].events;
    let clean = run_day(
        &[EventFile::open(path, &cfg().columns).unwrap()],
        &Geography::load(&rep.cells, &rep.zones, &cfg()).unwrap(),
        &cfg(),
        None,
    )
    .unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    let first_cell =
        std::fs::read_to_string(&rep.cells).unwrap().lines().nth(1).unwrap().split(',').next().unwrap().to_owned();
    let garbage = [
        "not,a,row,at,all".to_string(),
        ",1795000000000,1".into(),
        format!("208010000000001,yesterday,{first_cell}"),
        format!("208010000000001,{},{first_cell}", i64::MAX),
        "208010000000001,1795000000000,".into(),
        "\u{0}\u{1}\u{2}".into(),
        format!("208010000000001,-99999999999999,{first_cell}"),
        "208010000000001,2026-11-23T10:00:00Z,no-such-cell".into(),
    ];
    for g in &garbage {
        writeln!(f, "{g}").unwrap();
    }
    drop(f);
    let c = cfg();
    let geo = Geography::load(&rep.cells, &rep.zones, &c).unwrap();
    let run = run_day(&[EventFile::open(path, &c.columns).unwrap()], &geo, &c, None).unwrap();
    assert_eq!(run.rejects.total(), garbage.len() as u64, "{:?}", run.rejects.counts);
    assert_eq!(run.rejects.get(RejectReason::UnknownCell), 1);
    assert!(run.rejects.get(RejectReason::OutOfRange) >= 2);
    assert_eq!(run.aggregates.events, clean.aggregates.events);
    assert!(!run.rejects.samples.is_empty());
}

#[test]
fn differential_privacy_spends_its_budget_and_stays_above_k() {
    let dir = common::TempDir::new("dp");
    let rep = common::make(dir.path(), &common::small(3_000, 300));
    let c = FlowsConfig { dp: Some(DpConfig { epsilon_per_release: 1.0, epsilon_cap_total: Some(1.5) }), ..cfg() };
    let geo = Geography::load(&rep.cells, &rep.zones, &c).unwrap();
    let run = run_day(&[EventFile::open(&rep.days[0].events, &c.columns).unwrap()], &geo, &c, None).unwrap();
    let ledger_path = dir.path().join("ledger.jsonl");
    let mut ledger = Ledger::open(&ledger_path).unwrap();
    let r = release::build(&run, &geo, &c, Some(&mut ledger)).unwrap();
    let spent = r.privacy.dp.as_ref().unwrap();
    assert!((spent.tables.iter().map(|t| t.epsilon).sum::<f64>() - 1.0).abs() < 1e-9);
    // Tables whose sensitivity is not bounded are not published under DP.
    assert!(r.zone_hour.is_empty() && r.cell_devices.is_empty() && r.visits.is_empty());
    let out = dir.path().join("rel");
    write_release(&out, &r, &geo.zones, &[]).unwrap();
    assert!(scan_release(&out, c.k).unwrap().violations.is_empty());
    // Noise moved the published values off the exact counts.
    let exact = release::build(&run, &geo, &cfg(), None).unwrap();
    let moved = r.presence.iter().zip(&exact.presence).filter(|(a, b)| a.devices != b.devices).count();
    assert!(moved > r.presence.len() / 4, "{moved} of {}", r.presence.len());
    // A second release would pass the cap: refused before anything is built.
    let mut ledger = Ledger::open(&ledger_path).unwrap();
    let e = release::build(&run, &geo, &c, Some(&mut ledger)).unwrap_err().to_string();
    assert!(e.contains("refused"), "{e}");
    assert_eq!(Ledger::open(&ledger_path).unwrap().entries.len(), 1);
}

#[test]
fn unicity_is_high_at_cell_hour_and_lower_when_coarser() {
    let dir = common::TempDir::new("risk");
    let rep = common::make(dir.path(), &common::small(2_000, 300));
    let c = cfg();
    let geo = Geography::load(&rep.cells, &rep.zones, &c).unwrap();
    let files = vec![EventFile::open(&rep.days[0].events, &c.columns).unwrap()];
    let risk = RiskConfig {
        day: None,
        resolutions: vec![
            Resolution { place: Place::Cell, bin_minutes: 60 },
            Resolution { place: Place::Zone, bin_minutes: 240 },
        ],
        points: vec![4],
        sample: 1_000,
        seed: 1,
    };
    let r = unicity(&files, &geo, &c, &risk).unwrap();
    let fine = r.results[0].unicity;
    let coarse = r.results[1].unicity;
    assert!(fine > 0.5, "{fine}");
    assert!(coarse < fine, "{coarse} vs {fine}");
    assert!(r.results[0].sampled > 500);
}
