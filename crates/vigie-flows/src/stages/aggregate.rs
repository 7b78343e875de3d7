//! The day's aggregates, before any privacy step: what the tracker adds to, per partition,
//! and what `privacy` turns into published tables. These never leave the process as they
//! are (they hold counts under k).

use serde::Serialize;

/// Counts of observed devices (fractional where a cell covers several zones).
/// Zone index `n_zones` is "outside the territory".
#[derive(Debug, Clone, Serialize)]
pub struct Aggregates {
    pub n_zones: usize,
    pub n_cells: usize,
    pub n_slots: usize,
    /// Devices present at each slot's middle: `slot × (n_zones + 1)`.
    pub presence: Vec<f64>,
    /// Distinct devices with an event in a cell whose primary zone is the zone, per local
    /// hour: `hour × n_zones`.
    pub zone_hour: Vec<u32>,
    /// Distinct devices per cell over the day.
    pub cell_devices: Vec<u32>,
    /// Trips between stays by departure hour: `hour × (n_zones+1)²`, origin-major.
    pub od_hour: Vec<f64>,
    /// Devices by (primary zone of first event, of last event): `(n_zones+1)²`.
    pub first_last: Vec<u32>,
    /// Devices that visited a zone during the day, residents of the territory first then
    /// visitors: `zone × 2`.
    pub visits: Vec<u32>,
    /// Devices by night-time home zone (or outside): `n_zones + 1`.
    pub home: Vec<u32>,
    pub devices: u64,
    pub events: u64,
    pub stays: u64,
    pub trips: u64,
    /// Trips past a device's daily cap, not counted in `od_hour`.
    pub trips_capped: u64,
}

impl Aggregates {
    pub fn new(n_zones: usize, n_cells: usize, n_slots: usize) -> Self {
        let z1 = n_zones + 1;
        Aggregates {
            n_zones,
            n_cells,
            n_slots,
            presence: vec![0.0; n_slots * z1],
            zone_hour: vec![0; 24 * n_zones],
            cell_devices: vec![0; n_cells],
            od_hour: vec![0.0; 24 * z1 * z1],
            first_last: vec![0; z1 * z1],
            visits: vec![0; 2 * n_zones],
            home: vec![0; z1],
            devices: 0,
            events: 0,
            stays: 0,
            trips: 0,
            trips_capped: 0,
        }
    }

    pub fn merge(&mut self, o: &Aggregates) {
        fn add<T: Copy + std::ops::AddAssign>(a: &mut [T], b: &[T]) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += *y);
        }
        add(&mut self.presence, &o.presence);
        add(&mut self.zone_hour, &o.zone_hour);
        add(&mut self.cell_devices, &o.cell_devices);
        add(&mut self.od_hour, &o.od_hour);
        add(&mut self.first_last, &o.first_last);
        add(&mut self.visits, &o.visits);
        add(&mut self.home, &o.home);
        self.devices += o.devices;
        self.events += o.events;
        self.stays += o.stays;
        self.trips += o.trips;
        self.trips_capped += o.trips_capped;
    }

    /// Day OD: the hours summed, `(n_zones+1)²`.
    pub fn od_day(&self) -> Vec<f64> {
        let s = (self.n_zones + 1) * (self.n_zones + 1);
        let mut d = vec![0.0; s];
        for h in 0..24 {
            d.iter_mut().zip(&self.od_hour[h * s..(h + 1) * s]).for_each(|(a, b)| *a += b);
        }
        d
    }
}
