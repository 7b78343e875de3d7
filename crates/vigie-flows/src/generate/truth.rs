//! Ground truth of a generated day, over everyone (with or without the operator's phone):
//! presence per zone at every slot's middle, trips between stays per zone pair, flows by
//! category, and the planted gathering. `vigie bench flows` compares releases with it.

use serde::{Deserialize, Serialize};

use super::people::{DayPath, Stay};
use super::world::World;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GatheringTruth {
    pub zone: String,
    pub start: String,
    pub end: String,
    pub start_slot: usize,
    pub end_slot: usize,
    pub attendees: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Truth {
    pub day: String,
    pub zones: Vec<String>,
    pub slot_minutes: u32,
    /// People present per slot and zone: `slot × zone`.
    pub presence: Vec<f64>,
    /// Trips between stays, `(zones + outside)²`, origin-major; outside→outside only
    /// for trips that cross the territory.
    pub od: Vec<f64>,
    /// internal, entering, leaving, crossing.
    pub flows: [f64; 4],
    pub people: u64,
    pub devices: u64,
    pub events: u64,
    pub gathering: Option<GatheringTruth>,
}

impl Truth {
    pub fn new(world: &World, day: &str, slot_minutes: u32) -> Self {
        let nz = world.zones.len();
        let ns = (1440 / slot_minutes) as usize;
        Truth {
            day: day.into(),
            zones: world.zones.zones.iter().map(|z| z.id.clone()).collect(),
            slot_minutes,
            presence: vec![0.0; ns * nz],
            od: vec![0.0; (nz + 1) * (nz + 1)],
            flows: [0.0; 4],
            people: 0,
            devices: 0,
            events: 0,
            gathering: None,
        }
    }

    pub fn add(&mut self, world: &World, path: &DayPath, stay_min_s: u32) {
        if path.present.0 >= path.present.1 {
            return;
        }
        self.people += 1;
        let nz = world.zones.len();
        let step = self.slot_minutes * 60;
        let ns = self.presence.len() / nz;
        for s in 0..ns {
            let mid = s as u32 * step + step / 2;
            if let Some(z) = path.at(mid).and_then(|p| world.zone_of(p)) {
                self.presence[s * nz + z] += 1.0;
            }
        }
        // Trips between stays long enough to be seen as stays, the day's first and last
        // positions counting as ends when they are not in one.
        let stays: Vec<Stay> = path.stays.iter().filter(|s| s.end - s.start >= stay_min_s).copied().collect();
        let mut ends: Vec<crate::geo::polygon::Pt> = Vec::new();
        let first = path.wps.first().map(|w| w.1);
        let last = path.wps.last().map(|w| w.1);
        if let Some(f) = first
            && stays.first().is_none_or(|s| s.p != f || s.start > path.present.0)
        {
            ends.push(f);
        }
        for s in &stays {
            if ends.last() != Some(&s.p) {
                ends.push(s.p);
            }
        }
        if let Some(l) = last
            && ends.last() != Some(&l)
        {
            ends.push(l);
        }
        let zone = |p| world.zone_of(p).unwrap_or(nz);
        for w in ends.windows(2) {
            let (o, d) = (zone(w[0]), zone(w[1]));
            if o == nz && d == nz && !path.through {
                continue;
            }
            self.od[o * (nz + 1) + d] += 1.0;
            let cat = match (o == nz, d == nz) {
                (false, false) => 0,
                (true, false) => 1,
                (false, true) => 2,
                (true, true) => 3,
            };
            self.flows[cat] += 1.0;
        }
    }

    pub fn merge(&mut self, o: &Truth) {
        self.presence.iter_mut().zip(&o.presence).for_each(|(a, b)| *a += b);
        self.od.iter_mut().zip(&o.od).for_each(|(a, b)| *a += b);
        for i in 0..4 {
            self.flows[i] += o.flows[i];
        }
        self.people += o.people;
        self.devices += o.devices;
        self.events += o.events;
    }
}
