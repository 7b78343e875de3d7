//! The settings of one `vigie flows` run, with their defaults and bounds. Unknown keys are
//! refused when read from a file; `validate` checks ranges and says which setting is wrong.

use serde::{Deserialize, Serialize};

use crate::error::FlowsError;

/// Names of the three columns of an event record file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Columns {
    pub device: String,
    pub timestamp: String,
    pub cell: String,
}

impl Default for Columns {
    fn default() -> Self {
        Columns { device: "device_id".into(), timestamp: "timestamp".into(), cell: "cell_id".into() }
    }
}

/// What an integer timestamp column counts since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TimestampUnit {
    S,
    #[default]
    Ms,
    Us,
}

impl TimestampUnit {
    pub fn to_ms(self, v: i64) -> Option<i64> {
        match self {
            TimestampUnit::S => v.checked_mul(1000),
            TimestampUnit::Ms => Some(v),
            TimestampUnit::Us => Some(v.div_euclid(1000)),
        }
    }
}

/// Optional differential privacy: two-sided geometric noise on every published count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpConfig {
    /// ε spent by one release (one day), split over its tables.
    pub epsilon_per_release: f64,
    /// Refuse a release that would take the ledger's total past this ε (none: no cap).
    #[serde(default)]
    pub epsilon_cap_total: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowsConfig {
    /// Smallest count published (observed devices); every smaller one is suppressed.
    pub k: u32,
    /// The operator's share of the population (0..1], used to extrapolate.
    pub market_share: f64,
    /// Local time = UTC + this offset; days, slots and hours are local.
    pub utc_offset_minutes: i32,
    /// Presence time slot, minutes (divides 1440).
    pub slot_minutes: u32,
    /// Shortest stay, minutes.
    pub stay_min_minutes: u32,
    /// Smallest stay radius, metres (grown to 1.2× the site spacing where sites are sparse).
    pub stay_radius_m: f64,
    /// A device silent for longer than this is no longer placed anywhere, minutes.
    pub staleness_minutes: u32,
    /// Events of one device up to this much older than its previous one are taken at the
    /// previous one's time (counted as `reordered`); older ones are left out, counted.
    pub reorder_tolerance_s: u32,
    /// Night window (local hours 0..night_end_hour) that decides a device's home zone.
    pub night_end_hour: u32,
    /// Worker threads (0: one per core).
    pub threads: usize,
    pub columns: Columns,
    pub timestamp_unit: TimestampUnit,
    /// Sensor id of a zone's detections: prefix + zone id (the demo's `flows-<district>`).
    pub sensor_prefix: String,
    /// At most this many trips of a device count in a day (bounds one device's weight).
    pub max_trips_per_device: u32,
    pub dp: Option<DpConfig>,
}

impl Default for FlowsConfig {
    fn default() -> Self {
        FlowsConfig {
            k: 20,
            market_share: 1.0,
            utc_offset_minutes: 60,
            slot_minutes: 30,
            stay_min_minutes: 30,
            stay_radius_m: 600.0,
            staleness_minutes: 120,
            reorder_tolerance_s: 300,
            night_end_hour: 6,
            threads: 0,
            columns: Columns::default(),
            timestamp_unit: TimestampUnit::Ms,
            sensor_prefix: "flows-".into(),
            max_trips_per_device: 12,
            dp: None,
        }
    }
}

impl FlowsConfig {
    pub fn validate(&self) -> Result<(), FlowsError> {
        let bad = |m: String| Err(FlowsError::Config(m));
        if !(2..=10_000).contains(&self.k) {
            return bad(format!("k = {} must be within 2..10000", self.k));
        }
        if !(self.market_share > 0.0 && self.market_share <= 1.0) {
            return bad(format!("market_share = {} must be within (0, 1]", self.market_share));
        }
        if self.utc_offset_minutes.abs() > 14 * 60 {
            return bad(format!("utc_offset_minutes = {} must be within ±840", self.utc_offset_minutes));
        }
        if self.slot_minutes == 0 || 1440 % self.slot_minutes != 0 || self.slot_minutes > 240 {
            return bad(format!("slot_minutes = {} must divide 1440 and be at most 240", self.slot_minutes));
        }
        if !(5..=720).contains(&self.stay_min_minutes) {
            return bad(format!("stay_min_minutes = {} must be within 5..720", self.stay_min_minutes));
        }
        if !(50.0..=20_000.0).contains(&self.stay_radius_m) {
            return bad(format!("stay_radius_m = {} must be within 50..20000", self.stay_radius_m));
        }
        if !(10..=720).contains(&self.staleness_minutes) {
            return bad(format!("staleness_minutes = {} must be within 10..720", self.staleness_minutes));
        }
        if self.reorder_tolerance_s > 3600 {
            return bad(format!("reorder_tolerance_s = {} must be at most 3600", self.reorder_tolerance_s));
        }
        if !(1..=12).contains(&self.night_end_hour) {
            return bad(format!("night_end_hour = {} must be within 1..12", self.night_end_hour));
        }
        if !(1..=1000).contains(&self.max_trips_per_device) {
            return bad(format!("max_trips_per_device = {} must be within 1..1000", self.max_trips_per_device));
        }
        if !vigie_model::ids::is_valid_sensor_id(&format!("{}x", self.sensor_prefix)) {
            return bad(format!("sensor_prefix {:?} cannot start a sensor id", self.sensor_prefix));
        }
        if let Some(dp) = &self.dp {
            if !(dp.epsilon_per_release > 0.0 && dp.epsilon_per_release <= 100.0) {
                return bad(format!("dp.epsilon_per_release = {} must be within (0, 100]", dp.epsilon_per_release));
            }
            if let Some(cap) = dp.epsilon_cap_total
                && !(cap > 0.0 && cap.is_finite())
            {
                return bad(format!("dp.epsilon_cap_total = {cap} must be a positive number"));
            }
        }
        Ok(())
    }

    /// Reads a TOML file of settings (unknown keys refused), then checks it.
    pub fn from_toml(text: &str) -> Result<Self, FlowsError> {
        let c: FlowsConfig = toml::from_str(text).map_err(|e| FlowsError::Config(e.to_string()))?;
        c.validate()?;
        Ok(c)
    }

    pub fn threads(&self) -> usize {
        if self.threads > 0 { self.threads } else { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) }
    }

    pub fn slots_per_day(&self) -> usize {
        (1440 / self.slot_minutes) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        FlowsConfig::default().validate().unwrap();
    }

    #[test]
    fn rejects_out_of_range_settings() {
        for cfg in [
            FlowsConfig { k: 1, ..Default::default() },
            FlowsConfig { market_share: 0.0, ..Default::default() },
            FlowsConfig { market_share: 1.5, ..Default::default() },
            FlowsConfig { slot_minutes: 7, ..Default::default() },
            FlowsConfig { sensor_prefix: "Flows-".into(), ..Default::default() },
            FlowsConfig {
                dp: Some(DpConfig { epsilon_per_release: -1.0, epsilon_cap_total: None }),
                ..Default::default()
            },
        ] {
            assert!(cfg.validate().is_err(), "{cfg:?}");
        }
    }

    #[test]
    fn rejects_unknown_keys() {
        assert!(serde_json::from_str::<FlowsConfig>(r#"{"k": 20, "kk": 1}"#).is_err());
        let c: FlowsConfig = serde_json::from_str(r#"{"k": 30}"#).unwrap();
        assert_eq!(c.k, 30);
        assert_eq!(c.slot_minutes, 30);
    }
}
