//! Fusion: detections correlated in space and time into incidents, by the config's rules.
//!
//! Rules are tried in order. A detection first tries to join an open incident of a rule
//! that takes its kind, near it and within the rule's window; otherwise it waits in that
//! rule's pending set, and when enough detections (count, distinct sensors, required
//! kinds) gather within the distance and window, they open an incident together. Each rule
//! keeps its own grid whose cells are as wide as its distance, so a lookup touches 3×3
//! cells whatever the number of detections in the window.

mod grid;

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use vigie_model::config::{Config, Rule};
use vigie_model::geo::{haversine_m, metres_per_degree};
use vigie_model::{Detection, DetectionId, Incident, IncidentId, IncidentState, Kind, SensorId};

use crate::fasthash::{FastMap, FastSet};
use grid::{CellKey, Grid};

/// What fusion did with one detection.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// It joined an open incident.
    Joined(IncidentId),
    /// It joined an open incident, which a more specific rule now describes.
    Upgraded { incident: IncidentId, from_rule: String },
    /// It opened an incident, with earlier detections that were waiting for partners.
    Opened { incident: IncidentId, earlier: Vec<DetectionId> },
    /// It waits for partners (or matched no rule).
    Pending,
}

#[derive(Debug, Clone)]
struct PendingEntry {
    id: DetectionId,
    time_ns: i64,
    lon: f64,
    lat: f64,
    sensor: u32,
    kind: Kind,
}

/// The detections of one cell waiting for partners, with how many each sensor has there,
/// so a rule that needs several sensors can skip cells that cannot reach the count.
#[derive(Default)]
struct PendingCell {
    entries: VecDeque<PendingEntry>,
    /// Per sensor with entries here: how many, and the bounding box of their positions.
    /// Short (few sensors see one cell); lets a rule needing several sensors skip a cell
    /// whose sensors are all too far.
    sensors: Vec<SensorBox>,
}

#[derive(Clone, Copy)]
struct SensorBox {
    sensor: u32,
    count: u32,
    min_lon: f64,
    max_lon: f64,
    min_lat: f64,
    max_lat: f64,
}

impl SensorBox {
    /// Whether any point of the box may lie within `r_lon`/`r_lat` degrees of (lon, lat).
    fn near(&self, lon: f64, lat: f64, r_lon: f64, r_lat: f64) -> bool {
        lon + r_lon >= self.min_lon
            && lon - r_lon <= self.max_lon
            && lat + r_lat >= self.min_lat
            && lat - r_lat <= self.max_lat
    }
}

impl PendingCell {
    fn push(&mut self, e: PendingEntry) {
        match self.sensors.iter_mut().find(|b| b.sensor == e.sensor) {
            Some(b) => {
                b.count += 1;
                b.min_lon = b.min_lon.min(e.lon);
                b.max_lon = b.max_lon.max(e.lon);
                b.min_lat = b.min_lat.min(e.lat);
                b.max_lat = b.max_lat.max(e.lat);
            }
            None => self.sensors.push(SensorBox {
                sensor: e.sensor,
                count: 1,
                min_lon: e.lon,
                max_lon: e.lon,
                min_lat: e.lat,
                max_lat: e.lat,
            }),
        }
        self.entries.push_back(e);
    }

    /// The box only grows while a sensor has entries here: a safe over-estimate.
    fn forget_sensor(&mut self, sensor: u32) {
        if let Some(i) = self.sensors.iter().position(|b| b.sensor == sensor) {
            self.sensors[i].count -= 1;
            if self.sensors[i].count == 0 {
                self.sensors.swap_remove(i);
            }
        }
    }

    fn pop_expired(&mut self, cutoff: i64) -> usize {
        let mut n = 0;
        while self.entries.front().is_some_and(|e| e.time_ns < cutoff) {
            if let Some(e) = self.entries.pop_front() {
                self.forget_sensor(e.sensor);
                n += 1;
            }
        }
        n
    }

    fn remove(&mut self, ids: &HashSet<DetectionId>) -> usize {
        let before = self.entries.len();
        let mut gone = Vec::new();
        self.entries.retain(|e| {
            let keep = !ids.contains(&e.id);
            if !keep {
                gone.push(e.sensor);
            }
            keep
        });
        for s in gone {
            self.forget_sensor(s);
        }
        before - self.entries.len()
    }
}

/// Distance in metres in a local flat frame: at city scale within 0.1 % of the great
/// circle, without trigonometry per pair.
fn flat_distance_m(lon: f64, lat: f64, mx: f64, my: f64, lon2: f64, lat2: f64) -> f64 {
    ((lon2 - lon) * mx).hypot((lat2 - lat) * my)
}

struct RuleState {
    rule: Rule,
    grid: Grid,
    window_ns: i64,
    pending: FastMap<CellKey, PendingCell>,
    /// Arrival order of pending entries, for expiry.
    expiry: VecDeque<(i64, CellKey)>,
}

struct Joinable {
    incident: Incident,
    rule: usize,
    cell: CellKey,
}

/// Cell size of the index of joinable incidents (all rules share it).
const JOIN_CELL_M: f64 = 250.0;

/// The fusion engine. Owned by the ingest writer: one thread, no locks.
pub struct Fusion {
    config: Arc<Config>,
    rules: Vec<RuleState>,
    joinable: FastMap<IncidentId, Joinable>,
    join_grid: Grid,
    join_index: FastMap<CellKey, Vec<IncidentId>>,
    sensors: FastMap<SensorId, u32>,
    sensor_names: Vec<SensorId>,
    pending_total: usize,
    last_sweep_ns: i64,
}

/// Sizes for metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct FusionStats {
    pub pending_detections: usize,
    pub joinable_incidents: usize,
}

impl Fusion {
    pub fn new(config: Arc<Config>) -> Fusion {
        let rules = config
            .rules
            .iter()
            .map(|r| RuleState {
                rule: r.clone(),
                grid: Grid::new(r.within_m),
                window_ns: (r.window_secs as i64).saturating_mul(1_000_000_000),
                pending: FastMap::default(),
                expiry: VecDeque::new(),
            })
            .collect();
        Fusion {
            config,
            rules,
            joinable: FastMap::default(),
            join_grid: Grid::new(JOIN_CELL_M),
            join_index: FastMap::default(),
            sensors: FastMap::default(),
            sensor_names: Vec::new(),
            pending_total: 0,
            last_sweep_ns: 0,
        }
    }

    /// The longest rule window: how far back state must be rebuilt at start.
    pub fn max_window_secs(&self) -> u64 {
        self.rules.iter().map(|r| r.rule.window_secs).max().unwrap_or(0)
    }

    pub fn stats(&self) -> FusionStats {
        FusionStats { pending_detections: self.pending_total, joinable_incidents: self.joinable.len() }
    }

    /// An incident fusion can still add detections to.
    pub fn joinable(&self, id: IncidentId) -> Option<&Incident> {
        self.joinable.get(&id).map(|j| &j.incident)
    }

    fn sensor_index(&mut self, s: &SensorId) -> u32 {
        if let Some(i) = self.sensors.get(s) {
            return *i;
        }
        let i = self.sensor_names.len() as u32;
        self.sensors.insert(s.clone(), i);
        self.sensor_names.push(s.clone());
        i
    }

    /// Restores state at start: an open incident keeps taking detections.
    pub fn restore_incident(&mut self, incident: Incident) {
        if let Some(rule) = self.rules.iter().position(|r| r.rule.id == incident.rule)
            && incident.state.is_open()
        {
            self.index(incident, rule);
        }
    }

    /// Restores state at start: a stored detection that was waiting for partners.
    pub fn restore_pending(&mut self, d: &Detection) {
        let sensor = self.sensor_index(&d.sensor);
        for r in 0..self.rules.len() {
            if self.rules[r].rule.matches_kind(d.kind) && d.confidence >= self.rules[r].rule.min_confidence {
                self.push_pending(r, d, sensor);
            }
        }
    }

    /// An operator changed an incident: keep the copy in step, or stop joining it.
    pub fn incident_changed(&mut self, incident: &Incident) {
        if incident.state.is_open() {
            match self.joinable.get_mut(&incident.id) {
                Some(j) => j.incident = incident.clone(),
                // Reopened: it takes detections again.
                None => self.restore_incident(incident.clone()),
            }
        } else {
            self.forget(incident.id);
        }
    }

    fn index(&mut self, incident: Incident, rule: usize) {
        let cell = self.join_grid.key(incident.lon, incident.lat);
        self.join_index.entry(cell).or_default().push(incident.id);
        self.joinable.insert(incident.id, Joinable { incident, rule, cell });
    }

    fn forget(&mut self, id: IncidentId) {
        if let Some(j) = self.joinable.remove(&id)
            && let Some(list) = self.join_index.get_mut(&j.cell)
        {
            list.retain(|i| *i != id);
            if list.is_empty() {
                self.join_index.remove(&j.cell);
            }
        }
    }

    fn push_pending(&mut self, r: usize, d: &Detection, sensor: u32) {
        let rs = &mut self.rules[r];
        let cell = rs.grid.key(d.location.lon, d.location.lat);
        let time_ns = d.time.timestamp_nanos_opt().unwrap_or(i64::MAX);
        rs.pending.entry(cell).or_default().push(PendingEntry {
            id: d.id,
            time_ns,
            lon: d.location.lon,
            lat: d.location.lat,
            sensor,
            kind: d.kind,
        });
        rs.expiry.push_back((time_ns, cell));
        self.pending_total += 1;
    }

    /// Drops what fell out of every window; cheap when called often.
    pub fn expire(&mut self, now: DateTime<Utc>) {
        let now_ns = now.timestamp_nanos_opt().unwrap_or(i64::MAX);
        let mut dropped = 0;
        for rs in &mut self.rules {
            let cutoff = now_ns.saturating_sub(rs.window_ns);
            while let Some(&(t, cell)) = rs.expiry.front() {
                if t >= cutoff {
                    break;
                }
                rs.expiry.pop_front();
                if let Some(q) = rs.pending.get_mut(&cell) {
                    dropped += q.pop_expired(cutoff);
                    if q.entries.is_empty() {
                        rs.pending.remove(&cell);
                    }
                }
            }
        }
        self.pending_total = self.pending_total.saturating_sub(dropped);
        // Incidents quiet for longer than their window stop taking detections (they stay
        // open for operators). A full pass at most once a second.
        if now_ns.saturating_sub(self.last_sweep_ns) >= 1_000_000_000 {
            self.last_sweep_ns = now_ns;
            let stale: Vec<IncidentId> = self
                .joinable
                .values()
                .filter(|j| {
                    let last = j.incident.last_seen.timestamp_nanos_opt().unwrap_or(i64::MAX);
                    last.saturating_add(self.rules[j.rule].window_ns) < now_ns
                })
                .map(|j| j.incident.id)
                .collect();
            for id in stale {
                self.forget(id);
            }
        }
    }

    /// Fuses one new detection. `now` stamps incident changes. Returns the effect and, when
    /// an incident changed, its new state.
    pub fn ingest(&mut self, d: &Detection, now: DateTime<Utc>) -> (Effect, Option<&Incident>) {
        let time_ns = d.time.timestamp_nanos_opt().unwrap_or(i64::MAX);
        let (lon, lat) = (d.location.lon, d.location.lat);
        let candidates: Vec<usize> = (0..self.rules.len())
            .filter(|&r| self.rules[r].rule.matches_kind(d.kind) && d.confidence >= self.rules[r].rule.min_confidence)
            .collect();

        // 1. Join the nearest open incident that a rule taking this kind correlates with
        //    it: same rule, or a rule whose kinds include one of the incident's.
        let (mx, my) = metres_per_degree(lat);
        for &r in &candidates {
            let rs = &self.rules[r];
            let mut best: Option<(f64, IncidentId)> = None;
            for cell in self.join_grid.around(lon, lat, rs.rule.within_m) {
                for id in self.join_index.get(&cell).into_iter().flatten() {
                    let Some(j) = self.joinable.get(id) else { continue };
                    let inc = &j.incident;
                    if j.rule != r && !inc.kinds.iter().any(|k| rs.rule.matches_kind(*k)) {
                        continue;
                    }
                    let first = inc.first_seen.timestamp_nanos_opt().unwrap_or(i64::MIN);
                    let last = inc.last_seen.timestamp_nanos_opt().unwrap_or(i64::MAX);
                    if time_ns < first.saturating_sub(rs.window_ns) || time_ns > last.saturating_add(rs.window_ns) {
                        continue;
                    }
                    let dist = flat_distance_m(lon, lat, mx, my, inc.lon, inc.lat);
                    if dist <= rs.rule.within_m && best.is_none_or(|(b, _)| dist < b) {
                        best = Some((dist, *id));
                    }
                }
            }
            if let Some((_, id)) = best {
                let rules = &self.rules;
                let j = self.joinable.get_mut(&id).expect("indexed incidents are joinable");
                absorb(&mut j.incident, d, now);
                // A more specific rule (earlier in order) now satisfied takes the incident over:
                // a detonation heard, then a crowd seen moving, becomes "detonation and crowd".
                let upgraded = r < j.rule && satisfies(&rules[r].rule, &j.incident);
                if upgraded {
                    let from = std::mem::replace(&mut j.rule, r);
                    let rule = &rules[r].rule;
                    j.incident.rule = rule.id.clone();
                    j.incident.incident_type = rule.incident_type.clone();
                    j.incident.title = rule.title.clone();
                    j.incident.priority = j.incident.priority.min(rule.priority);
                    return (
                        Effect::Upgraded { incident: id, from_rule: rules[from].rule.id.clone() },
                        Some(&j.incident),
                    );
                }
                return (Effect::Joined(id), Some(&j.incident));
            }
        }

        // 2. Wait for partners; open an incident when a rule's thresholds are met.
        let sensor = self.sensor_index(&d.sensor);
        for &r in &candidates {
            self.push_pending(r, d, sensor);
        }
        for &r in &candidates {
            if let Some(members) = self.gather(r, d, time_ns) {
                let incident = self.open_incident(r, &members, now);
                let id = incident.id;
                let ids: HashSet<DetectionId> = members.iter().map(|m| m.id).collect();
                self.remove_pending(&ids, &members);
                let earlier = members.iter().map(|m| m.id).filter(|m| *m != d.id).collect();
                self.index(incident, r);
                return (Effect::Opened { incident: id, earlier }, self.joinable.get(&id).map(|j| &j.incident));
            }
        }
        (Effect::Pending, None)
    }

    /// The pending detections near `d` that satisfy rule `r`, if they do.
    fn gather(&self, r: usize, d: &Detection, time_ns: i64) -> Option<Vec<PendingEntry>> {
        let rs = &self.rules[r];
        let rule = &rs.rule;
        let (lon, lat) = (d.location.lon, d.location.lat);
        let cells: Vec<&PendingCell> =
            rs.grid.around(lon, lat, rule.within_m).filter_map(|c| rs.pending.get(&c)).collect();
        // Cheap bounds first: most lone detections stop here.
        let total: usize = cells.iter().map(|c| c.entries.len()).sum();
        if total < rule.min_detections as usize {
            return None;
        }
        let (mx, my) = metres_per_degree(lat);
        if rule.min_sensors > 1 {
            let (r_lon, r_lat) = (rule.within_m / mx.max(1.0), rule.within_m / my);
            let mut sensors: Vec<u32> = cells
                .iter()
                .flat_map(|c| c.sensors.iter().filter(|b| b.near(lon, lat, r_lon, r_lat)).map(|b| b.sensor))
                .collect();
            sensors.sort_unstable();
            sensors.dedup();
            if sensors.len() < rule.min_sensors as usize {
                return None;
            }
        }
        let mut members = Vec::new();
        let mut seen = FastSet::default();
        let mut sensors = FastSet::default();
        let mut kinds = HashSet::new();
        for q in cells {
            for e in q.entries.iter().rev() {
                if (e.time_ns - time_ns).abs() > rs.window_ns
                    || flat_distance_m(lon, lat, mx, my, e.lon, e.lat) > rule.within_m
                    || !seen.insert(e.id)
                {
                    continue;
                }
                sensors.insert(e.sensor);
                kinds.insert(e.kind);
                members.push(e.clone());
            }
        }
        let enough = members.len() >= rule.min_detections as usize
            && sensors.len() >= rule.min_sensors as usize
            && rule.require_kinds.iter().all(|k| kinds.contains(k));
        enough.then_some(members)
    }

    fn remove_pending(&mut self, ids: &HashSet<DetectionId>, members: &[PendingEntry]) {
        let mut removed = 0;
        for rs in &mut self.rules {
            let cells: HashSet<CellKey> = members.iter().map(|m| rs.grid.key(m.lon, m.lat)).collect();
            for cell in cells {
                if let Some(q) = rs.pending.get_mut(&cell) {
                    removed += q.remove(ids);
                    if q.entries.is_empty() {
                        rs.pending.remove(&cell);
                    }
                }
            }
        }
        self.pending_total = self.pending_total.saturating_sub(removed);
    }

    fn open_incident(&self, r: usize, members: &[PendingEntry], now: DateTime<Utc>) -> Incident {
        let rule = &self.rules[r].rule;
        let n = members.len().max(1) as f64;
        let lon = members.iter().map(|m| m.lon).sum::<f64>() / n;
        let lat = members.iter().map(|m| m.lat).sum::<f64>() / n;
        let radius_m = members.iter().map(|m| haversine_m(lon, lat, m.lon, m.lat)).fold(0.0, f64::max);
        let first = members.iter().map(|m| m.time_ns).min().unwrap_or(0);
        let last = members.iter().map(|m| m.time_ns).max().unwrap_or(0);
        let mut sensors: Vec<SensorId> = Vec::new();
        let mut kinds: Vec<Kind> = Vec::new();
        for m in members {
            let s = &self.sensor_names[m.sensor as usize];
            if !sensors.contains(s) {
                sensors.push(s.clone());
            }
            if !kinds.contains(&m.kind) {
                kinds.push(m.kind);
            }
        }
        Incident {
            id: IncidentId::generate(),
            rule: rule.id.clone(),
            incident_type: rule.incident_type.clone(),
            title: rule.title.clone(),
            priority: rule.priority,
            state: IncidentState::New,
            district: self.config.district_at(lon, lat).map(|z| z.id.clone()),
            lon,
            lat,
            radius_m,
            opened_at: now,
            updated_at: now,
            first_seen: DateTime::from_timestamp_nanos(first),
            last_seen: DateTime::from_timestamp_nanos(last),
            detection_count: members.len() as u32,
            sensors,
            kinds,
            assignee: None,
            outcome: None,
            version: 1,
        }
    }
}

/// Whether an incident's detections meet a rule's thresholds.
fn satisfies(rule: &Rule, inc: &Incident) -> bool {
    inc.detection_count >= rule.min_detections
        && inc.sensors.len() as u32 >= rule.min_sensors
        && rule.require_kinds.iter().all(|k| inc.kinds.contains(k))
}

/// Most sensors listed on one incident; the count goes on beyond it.
const MAX_LISTED_SENSORS: usize = 64;

fn absorb(inc: &mut Incident, d: &Detection, now: DateTime<Utc>) {
    let n = f64::from(inc.detection_count.max(1));
    let (lon, lat) = (d.location.lon, d.location.lat);
    // Running mean of positions; the radius holds every member seen so far.
    inc.lon += (lon - inc.lon) / (n + 1.0);
    inc.lat += (lat - inc.lat) / (n + 1.0);
    let (mx, my) = metres_per_degree(inc.lat);
    let moved = ((lon - inc.lon) * mx).hypot((lat - inc.lat) * my);
    inc.radius_m = inc.radius_m.max(moved);
    inc.detection_count = inc.detection_count.saturating_add(1);
    if d.time < inc.first_seen {
        inc.first_seen = d.time;
    }
    if d.time > inc.last_seen {
        inc.last_seen = d.time;
    }
    if inc.sensors.len() < MAX_LISTED_SENSORS && !inc.sensors.contains(&d.sensor) {
        inc.sensors.push(d.sensor.clone());
    }
    if !inc.kinds.contains(&d.kind) {
        inc.kinds.push(d.kind);
    }
    inc.updated_at = now;
    inc.version += 1;
}

#[cfg(test)]
mod tests;
