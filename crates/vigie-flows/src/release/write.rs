//! Writes a release to a directory: one Parquet file per table, `zones.geojson` (zones
//! with their day's published figures), `od_day.geojson` (published OD pairs as lines),
//! `summary.json` (what the console charts, and the series later runs compare against),
//! and `detections.ndjson`. Files are written to a temporary name and renamed, so a
//! reader never sees half a release.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::{Value, json};
use vigie_model::Detection;

use super::{FLOW_CATEGORIES, Release};
use crate::error::FlowsError;
use crate::inputs::ZoneSet;

enum Col {
    Str(&'static str, Vec<String>),
    U32(&'static str, Vec<u32>),
    I64(&'static str, Vec<i64>),
}

fn write_parquet(path: &Path, cols: Vec<Col>) -> Result<(), FlowsError> {
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for c in cols {
        match c {
            Col::Str(n, v) => {
                fields.push(Field::new(n, DataType::Utf8, false));
                arrays.push(Arc::new(StringArray::from(v)));
            }
            Col::U32(n, v) => {
                fields.push(Field::new(n, DataType::UInt32, false));
                arrays.push(Arc::new(UInt32Array::from(v)));
            }
            Col::I64(n, v) => {
                fields.push(Field::new(n, DataType::Int64, false));
                arrays.push(Arc::new(Int64Array::from(v)));
            }
        }
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| FlowsError::output(path, e))?;
    let tmp = tmp_name(path);
    let file = File::create(&tmp).map_err(|e| FlowsError::output(&tmp, e))?;
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| FlowsError::output(path, e))?;
    w.write(&batch).map_err(|e| FlowsError::output(path, e))?;
    w.close().map_err(|e| FlowsError::output(path, e))?;
    std::fs::rename(&tmp, path).map_err(|e| FlowsError::output(path, e))
}

fn tmp_name(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

fn write_text(path: &Path, text: &str) -> Result<(), FlowsError> {
    let tmp = tmp_name(path);
    std::fs::write(&tmp, text).map_err(|e| FlowsError::output(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| FlowsError::output(path, e))
}

fn i64s<T: Copy + Into<u64>>(v: impl Iterator<Item = T>) -> Vec<i64> {
    v.map(|x| x.into() as i64).collect()
}

/// The directory of a day's release under `root`.
pub fn release_dir(root: &Path, day: chrono::NaiveDate) -> PathBuf {
    root.join(day.to_string())
}

/// Writes everything; returns the files written.
pub fn write_release(
    dir: &Path,
    r: &Release,
    zones: &ZoneSet,
    detections: &[Detection],
) -> Result<Vec<PathBuf>, FlowsError> {
    std::fs::create_dir_all(dir).map_err(|e| FlowsError::output(dir, e))?;
    let mut files = Vec::new();
    let mut pq = |name: &str, cols: Vec<Col>| -> Result<(), FlowsError> {
        let p = dir.join(name);
        write_parquet(&p, cols)?;
        files.push(p);
        Ok(())
    };
    pq(
        "presence.parquet",
        vec![
            Col::Str("zone", r.presence.iter().map(|x| x.zone.clone()).collect()),
            Col::U32("slot", r.presence.iter().map(|x| x.slot).collect()),
            Col::I64("devices", i64s(r.presence.iter().map(|x| x.devices))),
            Col::I64("estimate", i64s(r.presence.iter().map(|x| x.estimate))),
        ],
    )?;
    pq(
        "presence_totals.parquet",
        vec![
            Col::U32("slot", r.presence_totals.iter().map(|x| x.slot).collect()),
            Col::I64("devices", i64s(r.presence_totals.iter().map(|x| x.devices))),
            Col::I64("estimate", i64s(r.presence_totals.iter().map(|x| x.estimate))),
        ],
    )?;
    let od = |rows: &[super::OdRow]| {
        vec![
            Col::Str("origin", rows.iter().map(|x| x.origin.clone()).collect()),
            Col::Str("destination", rows.iter().map(|x| x.destination.clone()).collect()),
            Col::I64("trips", i64s(rows.iter().map(|x| x.trips))),
            Col::I64("estimate", i64s(rows.iter().map(|x| x.estimate))),
        ]
    };
    pq("od_day.parquet", od(&r.od_day))?;
    pq("first_last_od.parquet", od(&r.first_last_od))?;
    pq(
        "od_margins.parquet",
        vec![
            Col::Str("kind", r.od_margins.iter().map(|x| x.kind.clone()).collect()),
            Col::Str("key", r.od_margins.iter().map(|x| x.key.clone()).collect()),
            Col::I64("trips", i64s(r.od_margins.iter().map(|x| x.trips))),
            Col::I64("estimate", i64s(r.od_margins.iter().map(|x| x.estimate))),
        ],
    )?;
    pq(
        "od_hour.parquet",
        vec![
            Col::U32("hour", r.od_hour.iter().map(|x| x.hour).collect()),
            Col::Str("origin", r.od_hour.iter().map(|x| x.origin.clone()).collect()),
            Col::Str("destination", r.od_hour.iter().map(|x| x.destination.clone()).collect()),
            Col::I64("trips", i64s(r.od_hour.iter().map(|x| x.trips))),
            Col::I64("estimate", i64s(r.od_hour.iter().map(|x| x.estimate))),
        ],
    )?;
    pq(
        "zone_hour.parquet",
        vec![
            Col::Str("zone", r.zone_hour.iter().map(|x| x.zone.clone()).collect()),
            Col::U32("hour", r.zone_hour.iter().map(|x| x.hour).collect()),
            Col::I64("devices", i64s(r.zone_hour.iter().map(|x| x.devices))),
            Col::I64("estimate", i64s(r.zone_hour.iter().map(|x| x.estimate))),
        ],
    )?;
    pq(
        "cell_devices.parquet",
        vec![
            Col::Str("cell_id", r.cell_devices.iter().map(|x| x.cell_id.clone()).collect()),
            Col::I64("devices", i64s(r.cell_devices.iter().map(|x| x.devices))),
            Col::I64("estimate", i64s(r.cell_devices.iter().map(|x| x.estimate))),
        ],
    )?;
    for (name, rows) in [("visits.parquet", &r.visits), ("home.parquet", &r.home)] {
        pq(
            name,
            vec![
                Col::Str("zone", rows.iter().map(|x| x.zone.clone()).collect()),
                Col::Str("group", rows.iter().map(|x| x.group.clone()).collect()),
                Col::I64("devices", i64s(rows.iter().map(|x| x.devices))),
                Col::I64("estimate", i64s(rows.iter().map(|x| x.estimate))),
            ],
        )?;
    }
    let p = dir.join("zones.geojson");
    write_text(&p, &zones_geojson(r, zones).to_string())?;
    files.push(p);
    let p = dir.join("od_day.geojson");
    write_text(&p, &od_geojson(r, zones).to_string())?;
    files.push(p);
    let p = dir.join("summary.json");
    write_text(
        &p,
        &serde_json::to_string_pretty(&summary(r, detections.len())).map_err(|e| FlowsError::output(&p, e))?,
    )?;
    files.push(p);
    let p = dir.join("detections.ndjson");
    let mut nd = String::new();
    for d in detections {
        nd.push_str(&d.to_json());
        nd.push('\n');
    }
    write_text(&p, &nd)?;
    files.push(p);
    Ok(files)
}

fn ring_lonlat(zones: &ZoneSet, ring: &[(f64, f64)]) -> Value {
    let mut pts: Vec<Value> = ring
        .iter()
        .map(|&p| {
            let (lo, la) = zones.frame.to_lonlat(p);
            json!([(lo * 1e6).round() / 1e6, (la * 1e6).round() / 1e6])
        })
        .collect();
    if let Some(first) = pts.first().cloned() {
        pts.push(first);
    }
    Value::Array(pts)
}

/// Zones with their published day figures as properties (absent = suppressed).
pub fn zones_geojson(r: &Release, zones: &ZoneSet) -> Value {
    let mut feats = Vec::new();
    for z in &zones.zones {
        let mut props = serde_json::Map::new();
        props.insert("id".into(), json!(z.id));
        props.insert("name".into(), json!(z.name));
        let peak = r.presence.iter().filter(|p| p.zone == z.id).max_by_key(|p| p.estimate);
        if let Some(p) = peak {
            props.insert("presence_peak".into(), json!({"slot": p.slot, "devices": p.devices, "estimate": p.estimate}));
        }
        for m in r.od_margins.iter().filter(|m| m.key == z.id) {
            props.insert(m.kind.clone(), json!({"trips": m.trips, "estimate": m.estimate}));
        }
        for v in r.visits.iter().filter(|v| v.zone == z.id) {
            props.insert(format!("{}s", v.group), json!({"devices": v.devices, "estimate": v.estimate}));
        }
        if let Some(h) = r.home.iter().find(|h| h.zone == z.id) {
            props.insert("night_population".into(), json!({"devices": h.devices, "estimate": h.estimate}));
        }
        let polys: Vec<Value> = z
            .polygons
            .iter()
            .map(|(ext, holes)| {
                let mut rings = vec![ring_lonlat(zones, ext)];
                rings.extend(holes.iter().map(|h| {
                    let mut h = h.clone();
                    h.reverse();
                    ring_lonlat(zones, &h)
                }));
                Value::Array(rings)
            })
            .collect();
        feats.push(json!({
            "type": "Feature",
            "properties": props,
            "geometry": {"type": "MultiPolygon", "coordinates": polys},
        }));
    }
    json!({"type": "FeatureCollection", "features": feats})
}

/// Published OD pairs between distinct zones as lines between centroids.
pub fn od_geojson(r: &Release, zones: &ZoneSet) -> Value {
    let at = |id: &str| zones.zones.iter().find(|z| z.id == id).map(|z| z.centroid);
    let feats: Vec<Value> = r
        .od_day
        .iter()
        .filter(|o| o.origin != o.destination)
        .filter_map(|o| {
            let (a, b) = (at(&o.origin)?, at(&o.destination)?);
            Some(json!({
                "type": "Feature",
                "properties": {"origin": o.origin, "destination": o.destination, "trips": o.trips, "estimate": o.estimate},
                "geometry": {"type": "LineString", "coordinates": [[a.0, a.1], [b.0, b.1]]},
            }))
        })
        .collect();
    json!({"type": "FeatureCollection", "features": feats})
}

/// The summary: what a console charts, and the published series for later anomaly runs.
pub fn summary(r: &Release, n_detections: usize) -> Value {
    let slot_label = |s: u32| format!("{:02}:{:02}", s * r.slot_minutes / 60, s * r.slot_minutes % 60);
    let flows: serde_json::Map<String, Value> = FLOW_CATEGORIES
        .iter()
        .filter_map(|c| {
            r.od_margins
                .iter()
                .find(|m| m.kind == "flow" && m.key == *c)
                .map(|m| ((*c).to_string(), json!({"trips": m.trips, "estimate": m.estimate})))
        })
        .collect();
    let mut top: Vec<&super::OdRow> = r.od_day.iter().filter(|o| o.origin != o.destination).collect();
    top.sort_by_key(|o| std::cmp::Reverse(o.estimate));
    top.truncate(20);
    json!({
        "release": r.day.to_string(),
        "weekday": r.weekday,
        "k": r.k,
        "market_share": r.market_share,
        "slot_minutes": r.slot_minutes,
        "devices": r.devices,
        "zones": r.zone_ids.iter().zip(&r.zone_names).map(|(i, n)| json!({"id": i, "name": n})).collect::<Vec<_>>(),
        "territory_presence": r.presence_totals.iter().map(|t| json!({"slot": t.slot, "start": slot_label(t.slot), "devices": t.devices, "estimate": t.estimate})).collect::<Vec<_>>(),
        "flows": flows,
        "top_od": top,
        "series": r.series(),
        "detections": n_detections,
        "privacy": r.privacy,
        "quality": r.quality,
    })
}
