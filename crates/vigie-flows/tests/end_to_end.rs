//! A generated day through the whole pipeline: read, track, release, write; every
//! published file scanned for counts under k; bad rows counted by reason.

mod common;

use vigie_flows::inputs::{EventFile, RejectReason};
use vigie_flows::privacy::suppress;
use vigie_flows::release::{self, scan::scan_release, write::write_release};
use vigie_flows::{FlowsConfig, Geography, run_day};

#[test]
fn a_generated_day_gives_a_release_with_no_count_under_k() {
    let dir = common::TempDir::new("e2e");
    let gcfg = vigie_flows::generate::GenerateConfig { bad_rows: 0.002, ..common::small(4_000, 400) };
    let rep = common::make(dir.path(), &gcfg);
    let day = &rep.days[0];
    let cfg = FlowsConfig { market_share: gcfg.market_share, threads: 2, ..FlowsConfig::default() };
    let geo = Geography::load(&rep.cells, &rep.zones, &cfg).unwrap();
    let files = vec![EventFile::open(&day.events, &cfg.columns).unwrap()];
    let run = run_day(&files, &geo, &cfg, None).unwrap();
    assert_eq!(run.day.to_string(), day.day);
    // Every bad row is reported under its reason; none is lost silently.
    assert_eq!(run.rejects.get(RejectReason::UnknownCell), day.bad.unknown_cell);
    assert_eq!(run.rejects.get(RejectReason::OutOfRange), day.bad.out_of_range);
    assert_eq!(run.rejects.get(RejectReason::Malformed), day.bad.missing_device);
    let late = run.rejects.get(RejectReason::OutOfOrder);
    assert!(late as f64 >= 0.8 * day.bad.late as f64 && late <= day.bad.late, "{late} of {}", day.bad.late);
    assert_eq!(
        run.rows_accepted
            + run.rejects.get(RejectReason::UnknownCell)
            + run.rejects.get(RejectReason::OutOfRange)
            + run.rejects.get(RejectReason::Malformed),
        day.rows
    );
    let a = &run.aggregates;
    assert!(a.devices as f64 > 0.9 * rep.devices as f64, "{} of {}", a.devices, rep.devices);
    assert!(a.trips > a.devices, "{} trips", a.trips);
    let r = release::build(&run, &geo, &cfg, None).unwrap();
    assert!(!r.presence.is_empty() && !r.od_day.is_empty() && !r.od_hour.is_empty());
    let out = dir.path().join("release");
    write_release(&out, &r, &geo.zones, &[]).unwrap();
    let scan = scan_release(&out, cfg.k).unwrap();
    assert!(scan.files >= 12, "{}", scan.files);
    assert!(scan.values_checked > 1000);
    assert!(scan.violations.is_empty(), "{:?}", &scan.violations[..scan.violations.len().min(5)]);
    // What was published of the day OD table, read back from the release, leaves no
    // suppressed cell under k recoverable from the published margins.
    let od = r.privacy.tables.iter().find(|t| t.table == "od_day").unwrap();
    assert!(od.published > 0 && od.suppressed_primary > 0, "{od:?}");
    let table = release::od_day_table(a);
    let z1 = geo.zones.len() + 1;
    let name = |i: usize| geo.zones.zones.get(i).map(|z| z.id.clone()).unwrap_or_else(|| "outside".into());
    let mut pattern = suppress::Pattern {
        cell: vec![false; z1 * z1],
        margin: vec![false; table.margins.len()],
        ..Default::default()
    };
    for row in &r.od_day {
        let o = (0..z1).find(|&i| name(i) == row.origin).unwrap();
        let d = (0..z1).find(|&i| name(i) == row.destination).unwrap();
        pattern.cell[o * z1 + d] = true;
    }
    for m in &r.od_margins {
        let i = match m.kind.as_str() {
            "departures" => (0..z1).find(|&i| name(i) == m.key).unwrap(),
            "arrivals" => z1 + (0..z1).find(|&i| name(i) == m.key).unwrap(),
            _ => 2 * z1 + release::FLOW_CATEGORIES.iter().position(|c| *c == m.key).unwrap(),
        };
        pattern.margin[i] = true;
    }
    suppress::verify(&table, &pattern, cfg.k as f64).unwrap();
    let presence = release::presence_table(a);
    assert_eq!(r.presence.len(), r.privacy.tables[0].published);
    assert!(presence.values.iter().filter(|&&v| v >= cfg.k as f64).count() >= r.presence.len());
}
