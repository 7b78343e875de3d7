//! Position fixes of mobile sensors, one row per (sensor, time). Same statements on both
//! backends ([`super::sql`]).

use chrono::{DateTime, Utc};
use vigie_model::PositionFix;

use super::registry::Registry;
use super::sql::{Row, in_transaction};
use super::{PurgeScope, Result, from_ns, ms, ns};

const COLUMNS: &str = "time_ns, lon, lat, heading_deg, accuracy_m, speed_mps";

fn fix_from(r: &Row) -> Result<PositionFix> {
    Ok(PositionFix {
        time: from_ns(r.int(0)?),
        lon: r.real(1)?,
        lat: r.real(2)?,
        heading_deg: r.opt_real(3)?,
        accuracy_m: r.opt_real(4)?,
        speed_mps: r.opt_real(5)?,
    })
}

impl Registry {
    /// Stores fixes of `sensor` in one transaction; returns, per fix, whether it is new
    /// (`false`: one at that time was already stored, and is kept).
    pub fn insert_positions(&self, sensor: &str, fixes: &[PositionFix], received: DateTime<Utc>) -> Result<Vec<bool>> {
        if fixes.is_empty() {
            return Ok(vec![]);
        }
        let mut conn = self.conn();
        in_transaction(&mut **conn, |conn| {
            let mut new = Vec::with_capacity(fixes.len());
            for f in fixes {
                let n = conn.exec(
                    "INSERT INTO sensor_positions (sensor, time_ns, lon, lat, heading_deg, accuracy_m, speed_mps, \
                     received_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (sensor, time_ns) DO NOTHING",
                    &[
                        sensor.into(),
                        ns(f.time).into(),
                        f.lon.into(),
                        f.lat.into(),
                        f.heading_deg.into(),
                        f.accuracy_m.into(),
                        f.speed_mps.into(),
                        ms(received).into(),
                    ],
                )?;
                new.push(n > 0);
            }
            Ok(new)
        })
    }

    /// Fixes of `sensor` within `from..=to`, oldest first, at most `limit`.
    pub fn positions(
        &self,
        sensor: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PositionFix>> {
        self.conn()
            .rows(
                &format!(
                    "SELECT {COLUMNS} FROM sensor_positions WHERE sensor = $1 AND time_ns >= $2 AND time_ns <= $3 \
                     ORDER BY time_ns LIMIT $4"
                ),
                &[sensor.into(), ns(from).into(), ns(to).into(), i64::from(limit).into()],
            )?
            .iter()
            .map(fix_from)
            .collect()
    }

    /// The newest `limit` fixes of `sensor`, oldest first (to rebuild its track at start).
    pub fn latest_positions(&self, sensor: &str, limit: u32) -> Result<Vec<PositionFix>> {
        let mut fixes: Vec<PositionFix> = self
            .conn()
            .rows(
                &format!("SELECT {COLUMNS} FROM sensor_positions WHERE sensor = $1 ORDER BY time_ns DESC LIMIT $2"),
                &[sensor.into(), i64::from(limit).into()],
            )?
            .iter()
            .map(fix_from)
            .collect::<Result<_>>()?;
        fixes.reverse();
        Ok(fixes)
    }

    /// Deletes up to `limit` fixes older than `before` in `scope`; returns how many went.
    pub fn purge_positions(&self, scope: PurgeScope<'_>, before: DateTime<Utc>, limit: u32) -> Result<u64> {
        let (clause, mut args) = super::purge::scope_clause(scope, "p.sensor", 3);
        let mut all = vec![ns(before).into(), i64::from(limit).into()];
        all.append(&mut args);
        // Row values `(a, b) IN (SELECT …)` work on both backends.
        self.conn().exec(
            &format!(
                "DELETE FROM sensor_positions WHERE (sensor, time_ns) IN (SELECT p.sensor, p.time_ns \
                 FROM sensor_positions p WHERE p.time_ns < $1{clause} ORDER BY p.time_ns LIMIT $2)"
            ),
            &all,
        )
    }
}
