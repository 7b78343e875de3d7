//! The demo's mobile camera: a drone flying up and down the north arm of the Loire, its
//! position published every second on `vigie/v1/telemetry/{sensor}` (QoS 1), and a
//! detection now and then, which the hub places where the drone was at that moment.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rumqttc::{AsyncClient, QoS};
use serde_json::json;
use vigie_model::geo::{haversine_m, metres_per_degree};
use vigie_model::{Kind, Sensor};

use super::scenarios::{ReplayStats, publish};

/// The middle of the channel between the quai de la Fosse and the Île de Nantes, west to
/// east (lon, lat).
const LOIRE: &[(f64, f64)] = &[
    (-1.5700, 47.2071),
    (-1.5660, 47.2083),
    (-1.5620, 47.2093),
    (-1.5570, 47.2098),
    (-1.5530, 47.2099),
    (-1.5470, 47.2104),
];
const SPEED_MPS: f64 = 8.0;
/// Seconds between the drone's detections.
const DETECT_EVERY: u64 = 40;

/// Degrees clockwise from north, from `a` to `b`.
fn bearing(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (mx, my) = metres_per_degree(a.1);
    ((b.0 - a.0) * mx).atan2((b.1 - a.1) * my).to_degrees().rem_euclid(360.0)
}

/// Where a flight along `path` and back, at `speed` m/s, is after `secs`: (lon, lat,
/// heading of travel).
pub fn position(path: &[(f64, f64)], speed: f64, secs: f64) -> (f64, f64, f64) {
    let legs: Vec<f64> = path.windows(2).map(|w| haversine_m(w[0].0, w[0].1, w[1].0, w[1].1)).collect();
    let length: f64 = legs.iter().sum();
    let (Some(first), true) = (path.first(), length > 0.0) else {
        return path.first().map_or((0.0, 0.0, 0.0), |p| (p.0, p.1, 0.0));
    };
    let mut d = (secs * speed).rem_euclid(2.0 * length);
    let back = d > length;
    if back {
        d = 2.0 * length - d;
    }
    let mut at = *first;
    let mut heading = 0.0;
    for (w, leg) in path.windows(2).zip(&legs) {
        heading = if back { bearing(w[1], w[0]) } else { bearing(w[0], w[1]) };
        if d <= *leg {
            let f = if *leg > 0.0 { d / leg } else { 0.0 };
            at = (w[0].0 + f * (w[1].0 - w[0].0), w[0].1 + f * (w[1].1 - w[0].1));
            return (at.0, at.1, heading);
        }
        d -= leg;
        at = w[1];
    }
    (at.0, at.1, heading)
}

/// Flies `drone` forever: a fix a second, a detection every [`DETECT_EVERY`] seconds.
pub(super) async fn fly(client: AsyncClient, drone: Sensor, stats: Arc<ReplayStats>) {
    let topic = format!("{}{}", vigie_model::TELEMETRY_TOPIC_PREFIX, drone.id);
    let started = std::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n = 0u64;
    loop {
        tick.tick().await;
        let (lon, lat, heading) = position(LOIRE, SPEED_MPS, started.elapsed().as_secs_f64());
        let fix = json!({
            "time": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "lon": (lon * 1e6).round() / 1e6,
            "lat": (lat * 1e6).round() / 1e6,
            "heading_deg": (heading * 10.0).round() / 10.0 % 360.0,
            "accuracy_m": 3.0,
            "speed_mps": SPEED_MPS,
        });
        let _ = client.publish(topic.clone(), QoS::AtLeastOnce, false, fix.to_string()).await;
        n += 1;
        if n % DETECT_EVERY == DETECT_EVERY / 2 {
            // The producer knows only its home; the hub puts it where the drone is.
            publish(&client, &stats, &drone, Kind::VideoCrowdDensity, drone.lon, drone.lat, 0.7, 40.0).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flight_goes_along_the_river_and_back() {
        let (lon, lat, h) = position(LOIRE, SPEED_MPS, 0.0);
        assert_eq!((lon, lat), LOIRE[0]);
        assert!((40.0..80.0).contains(&h), "east-north-east at first: {h}");
        let length: f64 = LOIRE.windows(2).map(|w| haversine_m(w[0].0, w[0].1, w[1].0, w[1].1)).sum();
        let end = position(LOIRE, SPEED_MPS, length / SPEED_MPS - 0.01);
        assert!(haversine_m(end.0, end.1, LOIRE[5].0, LOIRE[5].1) < 1.0, "{end:?}");
        let back = position(LOIRE, SPEED_MPS, length / SPEED_MPS + 10.0);
        assert!((220.0..300.0).contains(&back.2), "westward on the way back: {back:?}");
        let home = position(LOIRE, SPEED_MPS, 2.0 * length / SPEED_MPS);
        assert!(haversine_m(home.0, home.1, LOIRE[0].0, LOIRE[0].1) < 1.0, "{home:?}");
        // Never faster than the hub's plausibility bound between two fixes a second apart.
        for s in 0..400 {
            let (a, b) = (position(LOIRE, SPEED_MPS, s as f64), position(LOIRE, SPEED_MPS, s as f64 + 1.0));
            assert!(haversine_m(a.0, a.1, b.0, b.1) <= SPEED_MPS + 0.5);
        }
    }
}
