//! Network events of one phone over a time window: periodic location updates (every
//! 54 min, the usual T3412 timer), activity (calls, data sessions) in bursts at a rate
//! that follows the hour of the day, and a handover each time the serving cell changes
//! while moving. Standing still, a phone sometimes flips to the second-best cell.
//!
//! Each window is generated on its own from seeds of (person, day, window), so a day can
//! be produced window by window in time order with bounded memory.

use crate::rng::{Rng, mix};

use super::people::DayPath;
use super::world::World;

const PERIODIC_S: u32 = 3240;
const HANDOVER_TICK_S: u32 = 45;
const FLIP: f64 = 0.12;
/// Activity bursts per hour by local hour (before scaling).
const RATE: [f64; 24] = [
    0.35, 0.25, 0.2, 0.2, 0.2, 0.3, 0.8, 1.5, 1.8, 1.5, 1.4, 1.4, 1.6, 1.5, 1.4, 1.4, 1.5, 1.8, 1.8, 1.6, 1.4, 1.2,
    0.9, 0.6,
];

/// Events of one device for `[w0, w1)` (seconds of the day), appended to `out` as
/// (milliseconds of the day, cell index).
pub fn window_events(
    world: &World,
    path: &DayPath,
    device_seed: u64,
    w: (u32, u32),
    activity_scale: f64,
    out: &mut Vec<(u32, u32)>,
) {
    let (a, b) = (w.0.max(path.present.0), w.1.min(path.present.1));
    if a >= b {
        return;
    }
    let mut rng = Rng::new(mix(&[device_seed, w.0 as u64]));
    let cell_at = |t: u32, rng: &mut Rng| -> Option<u32> {
        let p = path.at(t)?;
        let (best, alt) = world.serving(p);
        Some(if !path.moving(t) && rng.chance(FLIP) { alt } else { best })
    };
    // Periodic updates.
    let phase = (device_seed % PERIODIC_S as u64) as u32;
    let mut t = if a > phase { phase + (a - phase).div_ceil(PERIODIC_S) * PERIODIC_S } else { phase };
    while t < b {
        if let Some(c) = cell_at(t, &mut rng) {
            out.push((t * 1000 + rng.below(1000) as u32, c));
        }
        t += PERIODIC_S;
    }
    // Activity bursts (Poisson).
    let lambda = RATE[(a / 3600).min(23) as usize] * activity_scale * (b - a) as f64 / 3600.0;
    let n = poisson(lambda, &mut rng);
    for _ in 0..n {
        let t0 = a + rng.below((b - a) as usize) as u32;
        let mut t = t0;
        loop {
            if let Some(c) = cell_at(t, &mut rng) {
                out.push((t * 1000 + rng.below(1000) as u32, c));
            }
            if !rng.chance(0.5) {
                break;
            }
            t += 5 + rng.below(60) as u32;
            if t >= b {
                break;
            }
        }
    }
    // Handovers while moving: ticks of the travel segments that overlap the window.
    let first = path.wps.partition_point(|w| w.0 <= a).saturating_sub(1);
    for seg in path.wps[first..].windows(2) {
        let ((t0, p0), (t1, p1)) = (seg[0], seg[1]);
        if t0 >= b {
            break;
        }
        if p0 == p1 || t1 <= a {
            continue;
        }
        let (s0, s1) = (t0.max(a), t1.min(b));
        let mut t = s0.div_ceil(HANDOVER_TICK_S) * HANDOVER_TICK_S;
        let mut prev = path.at(t.saturating_sub(HANDOVER_TICK_S).max(t0)).map(|p| world.serving(p).0);
        while t < s1 {
            let c = path.at(t).map(|p| world.serving(p).0);
            if let Some(c) = c
                && prev != Some(c)
            {
                out.push((t * 1000 + rng.below(1000) as u32, c));
            }
            prev = c;
            t += HANDOVER_TICK_S;
        }
    }
}

fn poisson(lambda: f64, rng: &mut Rng) -> u32 {
    if lambda > 30.0 {
        return (lambda + lambda.sqrt() * rng.normal()).round().max(0.0) as u32;
    }
    let l = (-lambda).exp();
    let mut k = 0;
    let mut p = rng.f64();
    while p > l {
        k += 1;
        p *= rng.f64();
    }
    k
}

/// Activity scale for a target number of events per device and day.
pub fn activity_scale(events_per_device: f64) -> f64 {
    // About 27 periodic updates and ~20 handovers a day; each burst averages 2 events.
    let per_unit = RATE.iter().sum::<f64>() * 2.0;
    ((events_per_device - 45.0) / per_unit).max(0.05)
}
