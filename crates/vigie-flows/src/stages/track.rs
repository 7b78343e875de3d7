//! Stage `track`: the per-device state machine, run online over one partition's events in
//! time order. Memory is bounded by the number of devices (a fixed state and three small
//! sets each), not by the number of events; the events themselves are never stored.
//!
//! For each device it keeps its last position and time, which places it at every slot's
//! middle (nearest event in time, within `staleness`), a candidate stay (events within the
//! stay radius of its first cell) that becomes a stay once it lasts `stay_min`, and the
//! previous stay, so that each new stay closes a trip (origin stay → destination stay,
//! by departure hour). The first and last positions of the day count as a trip's ends
//! when they are not part of a stay (a device that crosses the territory without
//! stopping is a trip from outside to outside through it). Night-time dwell picks the
//! home zone. At the end of the day every device is flushed into [`Aggregates`] and its
//! state dropped: nothing per device outlives the run.

use std::sync::Arc;

use crate::config::FlowsConfig;
use crate::stages::aggregate::Aggregates;
use crate::stages::cell_zones::CellZones;

/// Settings of the tracker in seconds, derived from [`FlowsConfig`].
#[derive(Debug, Clone, Copy)]
pub struct TrackParams {
    pub slot_s: u32,
    pub n_slots: usize,
    pub stay_min_s: u32,
    pub staleness_s: u32,
    pub reorder_tolerance_s: u32,
    pub night_end_s: u32,
    pub max_trips: u16,
}

impl TrackParams {
    pub fn from_config(c: &FlowsConfig) -> Self {
        TrackParams {
            slot_s: c.slot_minutes * 60,
            n_slots: c.slots_per_day(),
            stay_min_s: c.stay_min_minutes * 60,
            staleness_s: c.staleness_minutes * 60,
            reorder_tolerance_s: c.reorder_tolerance_s,
            night_end_s: c.night_end_hour * 3600,
            max_trips: c.max_trips_per_device.min(u16::MAX as u32) as u16,
        }
    }

    #[inline]
    fn mid(&self, slot: usize) -> u32 {
        slot as u32 * self.slot_s + self.slot_s / 2
    }
}

const NONE: u32 = u32::MAX;
/// `first_t` of a state created by the lookup, before its first event is applied.
const FRESH: u32 = u32::MAX;
const HAS_STAY: u8 = 1;
const PASSED_INSIDE: u8 = 2;

/// One device's state for the day (its key is the pseudonym, held by the index).
#[derive(Debug, Clone)]
struct Device {
    first_t: u32,
    last_t: u32,
    first_cell: u32,
    last_cell: u32,
    anchor: u32,
    cand_start: u32,
    cand_last: u32,
    stay_cell: u32,
    stay_end: u32,
    next_slot: u16,
    hour: u8,
    flags: u8,
    trips: u16,
    cells: Vec<u32>,
    hour_zones: Vec<u16>,
    night: Vec<(u32, u32)>,
}

/// Pseudonym → device index: open addressing with linear probing. The pseudonym is a
/// keyed uniform hash, so its bits index the table directly; the table is ours so that
/// its slots can be prefetched ahead of use (events arrive in time order, so every one
/// touches a different device: the run is bound by memory latency, not arithmetic).
struct DeviceIndex {
    keys: Vec<u64>,
    vals: Vec<u32>,
    mask: usize,
    len: usize,
}

/// Key 0 marks an empty slot; a pseudonym of 0 is stored as 1 (one in 2⁶⁴).
#[inline]
fn key_of(p: u64) -> u64 {
    p.max(1)
}

impl DeviceIndex {
    fn new() -> Self {
        DeviceIndex { keys: vec![0; 1024], vals: vec![0; 1024], mask: 1023, len: 0 }
    }

    #[inline]
    fn slot(&self, k: u64) -> usize {
        (k >> 20) as usize & self.mask
    }

    #[inline]
    fn prefetch(&self, p: u64) {
        prefetch(self.keys.as_ptr().wrapping_add(self.slot(key_of(p))));
    }

    /// The index of `p`, inserting `next` if absent; `true` when inserted.
    #[inline]
    fn get_or_insert(&mut self, p: u64, next: u32) -> (u32, bool) {
        if (self.len + 1) * 2 > self.keys.len() {
            self.grow();
        }
        let k = key_of(p);
        let mut i = self.slot(k);
        loop {
            let here = self.keys[i];
            if here == k {
                return (self.vals[i], false);
            }
            if here == 0 {
                self.keys[i] = k;
                self.vals[i] = next;
                self.len += 1;
                return (next, true);
            }
            i = (i + 1) & self.mask;
        }
    }

    fn grow(&mut self) {
        let n = self.keys.len() * 2;
        let old_keys = std::mem::replace(&mut self.keys, vec![0; n]);
        let old_vals = std::mem::replace(&mut self.vals, vec![0; n]);
        self.mask = n - 1;
        for (k, v) in old_keys.into_iter().zip(old_vals) {
            if k != 0 {
                let mut i = self.slot(k);
                while self.keys[i] != 0 {
                    i = (i + 1) & self.mask;
                }
                self.keys[i] = k;
                self.vals[i] = v;
            }
        }
    }
}

/// A hint to the processor to bring a cache line in; it never faults, whatever the address.
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` is only a hint; it does not dereference or fault.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

impl Device {
    fn fresh() -> Self {
        Device {
            first_t: FRESH,
            last_t: 0,
            first_cell: 0,
            last_cell: 0,
            anchor: 0,
            cand_start: 0,
            cand_last: 0,
            stay_cell: NONE,
            stay_end: 0,
            next_slot: 0,
            hour: 0,
            flags: 0,
            trips: 0,
            cells: Vec::new(),
            hour_zones: Vec::new(),
            night: Vec::new(),
        }
    }
}

/// What a partition's tracker did, besides its aggregates.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrackCounts {
    /// Left out: older than the device's previous event by more than the tolerance.
    pub out_of_order: u64,
    /// Kept at the previous event's time: older by at most the tolerance.
    pub reordered: u64,
}

pub struct Tracker {
    cz: Arc<CellZones>,
    p: TrackParams,
    index: DeviceIndex,
    devices: Vec<Device>,
    agg: Aggregates,
    counts: TrackCounts,
}

impl Tracker {
    pub fn new(cz: Arc<CellZones>, p: TrackParams) -> Self {
        let agg = Aggregates::new(cz.n_zones, cz.n_cells, p.n_slots);
        Tracker { cz, p, index: DeviceIndex::new(), devices: Vec::new(), agg, counts: TrackCounts::default() }
    }

    /// One event of a device (its pseudonym), at a second of the day, in a cell.
    #[inline]
    pub fn push(&mut self, pseudonym: u64, t: u32, cell: u32) {
        let idx = self.lookup(pseudonym);
        self.apply(idx, t, cell);
    }

    /// A batch of events in order, with the table slots and device states of the events
    /// a few places ahead prefetched (same result as `push` one by one).
    pub fn push_batch(&mut self, pseudonym: &[u64], t: &[u32], cell: &[u32]) {
        const AHEAD_SLOT: usize = 16;
        const AHEAD_STATE: usize = 8;
        let n = pseudonym.len().min(t.len()).min(cell.len());
        let mut ring = [0u32; AHEAD_STATE];
        for (i, &p) in pseudonym.iter().take(n.min(AHEAD_STATE)).enumerate() {
            ring[i] = self.lookup(p);
        }
        for i in 0..n {
            if i + AHEAD_SLOT < n {
                self.index.prefetch(pseudonym[i + AHEAD_SLOT]);
            }
            let idx = ring[i % AHEAD_STATE];
            if i + AHEAD_STATE < n {
                let ahead = self.lookup(pseudonym[i + AHEAD_STATE]);
                ring[i % AHEAD_STATE] = ahead;
                if let Some(d) = self.devices.get(ahead as usize) {
                    let ptr = d as *const Device;
                    prefetch(ptr);
                    prefetch((ptr as *const u8).wrapping_add(64));
                }
            }
            self.apply(idx, t[i], cell[i]);
        }
    }

    /// The device's index; a new device gets a fresh state, initialised by its first event.
    #[inline]
    fn lookup(&mut self, pseudonym: u64) -> u32 {
        let next = self.devices.len() as u32;
        let (idx, new) = self.index.get_or_insert(pseudonym, next);
        if new {
            self.devices.push(Device::fresh());
        }
        idx
    }

    #[inline]
    fn apply(&mut self, idx: u32, t: u32, cell: u32) {
        self.agg.events += 1;
        let d = &mut self.devices[idx as usize];
        if d.first_t == FRESH {
            *d = first_event(t, cell, &self.cz, &self.p, &mut self.agg);
            return;
        }
        let mut t = t;
        if t < d.last_t {
            if d.last_t - t <= self.p.reorder_tolerance_s {
                self.counts.reordered += 1;
                t = d.last_t;
            } else {
                self.counts.out_of_order += 1;
                self.agg.events -= 1;
                return;
            }
        }
        on_event(d, t, cell, &self.cz, &self.p, &mut self.agg);
    }

    pub fn devices(&self) -> usize {
        self.devices.len()
    }

    /// Ends the day: every device is flushed into the aggregates, then dropped.
    pub fn finish(mut self) -> (Aggregates, TrackCounts) {
        self.index = DeviceIndex::new();
        for mut d in std::mem::take(&mut self.devices) {
            flush(&mut d, &self.cz, &self.p, &mut self.agg);
        }
        (self.agg, self.counts)
    }
}

#[inline]
fn add_presence(agg: &mut Aggregates, cz: &CellZones, slot: usize, cell: u32) {
    let z1 = cz.n_zones + 1;
    for (z, w) in cz.weights(cell) {
        agg.presence[slot * z1 + z] += w;
    }
}

fn first_event(t: u32, c: u32, cz: &CellZones, p: &TrackParams, agg: &mut Aggregates) -> Device {
    agg.devices += 1;
    // Slots whose middle falls within `staleness` before the first event: there already.
    let from = t.saturating_sub(p.staleness_s);
    let mut s = (from.saturating_sub(p.slot_s / 2)).div_ceil(p.slot_s) as usize;
    while s < p.n_slots && p.mid(s) < t {
        if p.mid(s) >= from {
            add_presence(agg, cz, s, c);
        }
        s += 1;
    }
    let hour = (t / 3600).min(23) as u8;
    let z = cz.primary[c as usize];
    let mut hour_zones = Vec::new();
    if (z as usize) < cz.n_zones {
        hour_zones.push(z);
        agg.zone_hour[hour as usize * cz.n_zones + z as usize] += 1;
    }
    agg.cell_devices[c as usize] += 1;
    let mut cells = Vec::with_capacity(4);
    cells.push(c);
    Device {
        first_t: t,
        last_t: t,
        first_cell: c,
        last_cell: c,
        anchor: c,
        cand_start: t,
        cand_last: t,
        stay_cell: NONE,
        stay_end: 0,
        next_slot: s as u16,
        hour,
        flags: 0,
        trips: 0,
        cells,
        hour_zones,
        night: Vec::new(),
    }
}

#[inline]
fn on_event(d: &mut Device, t: u32, c: u32, cz: &CellZones, p: &TrackParams, agg: &mut Aggregates) {
    // Presence at the slot middles between the previous event and this one: the nearer
    // of the two events in time, if within `staleness`.
    let mut s = d.next_slot as usize;
    while s < p.n_slots && p.mid(s) < t {
        let m = p.mid(s);
        let (before, after) = (m.saturating_sub(d.last_t), t - m);
        let (near, far, near_c, far_c) =
            if before <= after { (before, after, d.last_cell, c) } else { (after, before, c, d.last_cell) };
        if near <= p.staleness_s {
            add_presence(agg, cz, s, near_c);
        } else if far <= p.staleness_s {
            add_presence(agg, cz, s, far_c);
        }
        s += 1;
    }
    d.next_slot = s as u16;
    // Night-time dwell at the previous position.
    if d.last_t < p.night_end_s {
        let end = t.min(p.night_end_s).min(d.last_t + p.staleness_s);
        if end > d.last_t {
            add_night(d, d.last_cell, end - d.last_t);
        }
    }
    // Distinct devices per zone-hour and per cell.
    let hour = (t / 3600).min(23) as u8;
    if hour != d.hour || c != d.last_cell {
        if hour != d.hour {
            d.hour = hour;
            d.hour_zones.clear();
        }
        let z = cz.primary[c as usize];
        if (z as usize) < cz.n_zones && !d.hour_zones.contains(&z) {
            d.hour_zones.push(z);
            agg.zone_hour[hour as usize * cz.n_zones + z as usize] += 1;
        }
        if c != d.last_cell && !d.cells.contains(&c) {
            d.cells.push(c);
            agg.cell_devices[c as usize] += 1;
        }
    }
    // Stays.
    if c != d.anchor && cz.dist2(d.anchor, c) > cz.stay_radius_m[d.anchor as usize].powi(2) {
        close_candidate(d, cz, p, agg);
        d.anchor = c;
        d.cand_start = t;
    }
    d.cand_last = t;
    d.last_t = t;
    d.last_cell = c;
}

fn add_night(d: &mut Device, cell: u32, secs: u32) {
    match d.night.iter_mut().find(|x| x.0 == cell) {
        Some(x) => x.1 += secs,
        None => d.night.push((cell, secs)),
    }
}

fn close_candidate(d: &mut Device, cz: &CellZones, p: &TrackParams, agg: &mut Aggregates) {
    if d.cand_last - d.cand_start >= p.stay_min_s {
        on_stay(d, d.anchor, d.cand_start, d.cand_last, cz, agg, p);
    } else if cz.inside[d.anchor as usize] >= 0.5 {
        d.flags |= PASSED_INSIDE;
    }
}

fn on_stay(d: &mut Device, cell: u32, start: u32, end: u32, cz: &CellZones, agg: &mut Aggregates, p: &TrackParams) {
    let r2 = cz.stay_radius_m[cell as usize].powi(2);
    if d.flags & HAS_STAY != 0 {
        if cz.dist2(d.stay_cell, cell) <= r2 {
            // The same place again (a stay broken by a far-away event): extend it.
            d.stay_end = end;
            return;
        }
        trip(d, d.stay_cell, cell, d.stay_end, cz, agg, p);
    } else if d.first_t < start && cz.dist2(d.first_cell, cell) > r2 {
        trip(d, d.first_cell, cell, d.first_t, cz, agg, p);
    }
    agg.stays += 1;
    d.flags = (d.flags | HAS_STAY) & !PASSED_INSIDE;
    d.stay_cell = cell;
    d.stay_end = end;
}

fn trip(d: &mut Device, o: u32, dst: u32, depart: u32, cz: &CellZones, agg: &mut Aggregates, p: &TrackParams) {
    if d.trips >= p.max_trips {
        agg.trips_capped += 1;
        return;
    }
    d.trips += 1;
    agg.trips += 1;
    let z1 = cz.n_zones + 1;
    let out = cz.n_zones;
    let through = d.flags & PASSED_INSIDE != 0;
    let base = (depart / 3600).min(23) as usize * z1 * z1;
    for (zo, wo) in cz.weights(o) {
        for (zd, wd) in cz.weights(dst) {
            if zo == out && zd == out && !through {
                continue;
            }
            agg.od_hour[base + zo * z1 + zd] += wo * wd;
        }
    }
}

fn flush(d: &mut Device, cz: &CellZones, p: &TrackParams, agg: &mut Aggregates) {
    for s in d.next_slot as usize..p.n_slots {
        if p.mid(s) - d.last_t > p.staleness_s {
            break;
        }
        add_presence(agg, cz, s, d.last_cell);
    }
    if d.last_t < p.night_end_s {
        let end = p.night_end_s.min(d.last_t + p.staleness_s);
        add_night(d, d.last_cell, end - d.last_t);
    }
    close_candidate(d, cz, p, agg);
    let r2 = cz.stay_radius_m[d.last_cell as usize].powi(2);
    if d.flags & HAS_STAY != 0 {
        if d.last_t > d.stay_end && cz.dist2(d.stay_cell, d.last_cell) > r2 {
            trip(d, d.stay_cell, d.last_cell, d.stay_end, cz, agg, p);
        }
    } else if cz.dist2(d.first_cell, d.last_cell) > r2 {
        trip(d, d.first_cell, d.last_cell, d.first_t, cz, agg, p);
    }
    let z1 = cz.n_zones + 1;
    agg.first_last[cz.primary[d.first_cell as usize] as usize * z1 + cz.primary[d.last_cell as usize] as usize] += 1;
    let home = d.night.iter().max_by_key(|x| x.1).map(|x| cz.primary[x.0 as usize] as usize);
    if let Some(h) = home {
        agg.home[h] += 1;
    }
    let resident = home.is_some_and(|h| h < cz.n_zones);
    let mut seen: Vec<u16> =
        d.cells.iter().map(|&c| cz.primary[c as usize]).filter(|&z| (z as usize) < cz.n_zones).collect();
    seen.sort_unstable();
    seen.dedup();
    for z in seen {
        agg.visits[z as usize * 2 + if resident { 0 } else { 1 }] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::{Cell, CellTable, ZoneSet};

    /// Three zones in a row (west, centre, east), 2 km wide each, one cell in the middle
    /// of each, and one cell far outside.
    fn world() -> Arc<CellZones> {
        let zones = ZoneSet::from_geojson(
            r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"id":"w"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[0.027,0],[0.027,0.018],[0,0.018],[0,0]]]}},
            {"type":"Feature","properties":{"id":"c"},"geometry":{"type":"Polygon","coordinates":[[[0.027,0],[0.054,0],[0.054,0.018],[0.027,0.018],[0.027,0]]]}},
            {"type":"Feature","properties":{"id":"e"},"geometry":{"type":"Polygon","coordinates":[[[0.054,0],[0.081,0],[0.081,0.018],[0.054,0.018],[0.054,0]]]}}]}"#,
        )
        .unwrap();
        let cell = |id: &str, lon: f64| Cell { id: id.into(), lon, lat: 0.009, azimuth_deg: None, range_m: None };
        let at = |id: &str, lon: f64, lat: f64| Cell { id: id.into(), lon, lat, azimuth_deg: None, range_m: None };
        let mut v = vec![cell("w", 0.0135), cell("c", 0.0405), cell("e", 0.0675), cell("far", 0.30)];
        // A ring of sites beyond the zones: west (4), east (5), then rows north and south.
        v.push(at("ring-w", -0.0135, 0.009));
        v.push(at("ring-e", 0.0945, 0.009));
        for (i, lon) in [0.0135, 0.0405, 0.0675].into_iter().enumerate() {
            v.push(at(&format!("ring-n{i}"), lon, 0.027));
            v.push(at(&format!("ring-s{i}"), lon, -0.009));
        }
        let cells = CellTable::new(v).unwrap();
        Arc::new(CellZones::build(&cells, &zones, 500.0))
    }

    fn params() -> TrackParams {
        TrackParams::from_config(&FlowsConfig::default())
    }

    const H: u32 = 3600;

    #[test]
    fn a_commuter_makes_two_trips_and_is_a_resident() {
        let cz = world();
        let mut t = Tracker::new(cz.clone(), params());
        // Home in w until 8:00, work in e 8:30–17:00, home again from 17:30.
        let mut times: Vec<(u32, u32)> = Vec::new();
        for m in (0..8 * 60).step_by(40) {
            times.push((m * 60, 0));
        }
        times.push((8 * H + 15 * 60, 1));
        for m in (8 * 60 + 30..17 * 60).step_by(40) {
            times.push((m * 60, 2));
        }
        times.push((17 * H + 15 * 60, 1));
        for m in (17 * 60 + 30..24 * 60).step_by(40) {
            times.push((m * 60, 0));
        }
        for (s, c) in times {
            t.push(42, s, c);
        }
        let (a, counts) = t.finish();
        assert_eq!(counts.out_of_order, 0);
        assert_eq!(a.devices, 1);
        assert_eq!(a.trips, 2, "{a:?}");
        let z1 = 4;
        let od = a.od_day();
        let (w, e) = (0, 2);
        assert!(od[w * z1 + e] > 0.9 && od[e * z1 + w] > 0.9, "{od:?}");
        // Home zone w; visited w, c (passing through) and e as a resident.
        assert_eq!(a.home[w], 1);
        assert_eq!(a.visits[w * 2], 1);
        assert_eq!(a.visits[e * 2], 1);
        assert_eq!(a.visits[e * 2 + 1], 0);
        // Present in w at 03:15 (slot 6), in e at 12:15 (slot 24).
        assert!(a.presence[6 * z1 + w] > 0.9);
        assert!(a.presence[24 * z1 + e] > 0.9);
        // One device per slot at most.
        for s in 0..48 {
            let tot: f64 = a.presence[s * z1..(s + 1) * z1].iter().sum();
            assert!(tot <= 1.0 + 1e-6);
        }
        assert_eq!(a.first_last[w * z1 + w], 1);
    }

    #[test]
    fn a_through_trip_counts_outside_to_outside() {
        let cz = world();
        let mut t = Tracker::new(cz, params());
        // West of the zones → w → c → e → east of them, no stop inside.
        for (s, c) in [(10 * H, 4), (10 * H + 600, 0), (10 * H + 900, 1), (10 * H + 1200, 2), (10 * H + 2400, 5)] {
            t.push(7, s, c);
        }
        let (a, _) = t.finish();
        assert_eq!(a.trips, 1);
        let out = 3;
        let od = a.od_day();
        assert!(od[out * 4 + out] > 0.9, "{od:?}");
        assert_eq!(a.stays, 0);
        // Not a resident: no night presence at all.
        assert_eq!(a.home.iter().sum::<u32>(), 0);
        assert_eq!(a.visits[1], 1);
    }

    #[test]
    fn out_of_order_events_are_counted_not_applied() {
        let cz = world();
        let mut t = Tracker::new(cz, params());
        t.push(1, 5000, 0);
        t.push(1, 4900, 1); // 100 s late: taken at 5000
        t.push(1, 1000, 2); // far too late: left out
        t.push(1, 6000, 0);
        let (a, c) = t.finish();
        assert_eq!(c.reordered, 1);
        assert_eq!(c.out_of_order, 1);
        assert_eq!(a.events, 3);
    }

    #[test]
    fn distinct_counts_are_distinct() {
        let cz = world();
        let mut t = Tracker::new(cz, params());
        for i in 0..10 {
            t.push(9, 100 + i * 60, i % 2);
        }
        t.push(9, 2 * H, 0);
        t.push(10, 150, 0);
        let (a, _) = t.finish();
        assert_eq!(a.cell_devices[0], 2);
        assert_eq!(a.cell_devices[1], 1);
        assert_eq!(a.zone_hour[0], 2); // hour 0, zone w: two devices
        assert_eq!(a.zone_hour[1], 1); // hour 0, zone c
        assert_eq!(a.zone_hour[2 * 3], 1); // hour 2, zone w: device 9 again
    }
}
