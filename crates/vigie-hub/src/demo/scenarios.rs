//! The demo's stream: background detections plus correlated scenarios (an impulse heard by
//! three microphones next to a camera that sees the crowd move, a fire seen by two
//! cameras, a break-in…), published on `vigie/v1/detections/{sensor}` at QoS 1.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use chrono::Utc;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::json;
use vigie_model::config::Config;
use vigie_model::geo::{haversine_m, metres_per_degree};
use vigie_model::{DetectionId, Kind, Sensor, SensorType};

/// Counts of what the replay sent.
#[derive(Debug, Default)]
pub struct ReplayStats {
    pub published: AtomicU64,
    pub scenarios: AtomicU64,
}

/// A small deterministic generator (xorshift), so runs are varied but need no dependency.
/// Shared with the benches' load generators.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        (!v.is_empty()).then(|| &v[(self.next_u64() % v.len() as u64) as usize])
    }
}

/// One step of a scenario: after `delay_ms`, the sensor nearest `at` that runs `kind`
/// reports it at `at` (± `spread_m`).
struct Step {
    delay_ms: u64,
    kind: Kind,
    spread_m: f64,
    confidence: f64,
    /// How many distinct sensors report it (microphones of a cluster).
    sensors: usize,
}

const fn step(delay_ms: u64, kind: Kind, sensors: usize) -> Step {
    Step { delay_ms, kind, spread_m: 15.0, confidence: 0.85, sensors }
}

struct Scenario {
    name: &'static str,
    steps: &'static [Step],
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "détonation entendue par trois micros, mouvement de foule",
        steps: &[step(0, Kind::AudioImpulse, 3), step(1500, Kind::VideoCrowdMovement, 1)],
    },
    Scenario {
        name: "départ de feu vu par deux caméras",
        steps: &[step(0, Kind::VideoFire, 1), step(20_000, Kind::VideoFire, 1)],
    },
    Scenario {
        name: "bris de vitre puis intrusion",
        steps: &[step(0, Kind::AudioGlassBreak, 1), step(4000, Kind::VideoIntrusion, 1)],
    },
    Scenario {
        name: "personne au sol, cris",
        steps: &[step(0, Kind::AudioScream, 1), step(2000, Kind::VideoPersonDown, 1)],
    },
    Scenario {
        name: "densité et mouvement de foule",
        steps: &[
            step(0, Kind::VideoCrowdDensity, 1),
            step(8000, Kind::VideoCrowdMovement, 1),
            step(9000, Kind::FlowsPresenceAnomaly, 1),
        ],
    },
    Scenario { name: "objet abandonné", steps: &[step(0, Kind::VideoAbandonedObject, 1)] },
    Scenario { name: "circulation à contresens", steps: &[step(0, Kind::VideoWrongWay, 1)] },
    Scenario { name: "signalement citoyen", steps: &[step(0, Kind::CitizenReport, 1)] },
    Scenario {
        name: "emballement en ligne",
        steps: &[step(0, Kind::SocialNegativeBuzz, 1), step(60_000, Kind::SocialBurst, 1)],
    },
];

/// Background kinds that alone rarely open anything (single microphones, low confidence).
const BACKGROUND: &[Kind] = &[Kind::AudioImpulse, Kind::AudioSiren, Kind::VideoCrowdDensity, Kind::AudioGlassBreak];

pub struct Replay {
    config: Arc<Config>,
    rng: XorShift,
    /// Scenarios per minute, roughly.
    pub scenarios_per_minute: f64,
    pub stats: Arc<ReplayStats>,
}

impl Replay {
    pub fn new(config: Arc<Config>, seed: u64) -> Replay {
        Replay { config, rng: XorShift(seed | 1), scenarios_per_minute: 3.0, stats: Arc::new(ReplayStats::default()) }
    }

    /// Publishes forever to the broker at `host:port`, with `token` as its MQTT password.
    pub async fn run(mut self, host: String, port: u16, token: String) {
        let client_id = format!("vigie-demo-replay-{}", std::process::id());
        let mut opts = MqttOptions::new(client_id.clone(), host, port);
        opts.set_keep_alive(Duration::from_secs(30));
        opts.set_credentials(client_id, token);
        let (client, mut eventloop) = AsyncClient::new(opts, 1024);
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => tracing::debug!("demo replay connected"),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "demo replay: broker unreachable, retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        let sensors: Vec<Sensor> = self.config.sensors.clone();
        for s in &sensors {
            let topic = format!("{}{}", vigie_model::STATUS_TOPIC_PREFIX, s.id);
            let _ = client.publish(topic, QoS::AtLeastOnce, true, "online").await;
        }
        for drone in sensors.iter().filter(|s| s.mobile) {
            tokio::spawn(super::flight::fly(client.clone(), drone.clone(), self.stats.clone()));
        }
        // The first scenario comes at once, then at random intervals with background.
        let mut next_scenario = 0usize;
        let mut until_scenario_ms = 2000u64;
        loop {
            let tick = self.rng.range(400.0, 1600.0) as u64;
            tokio::time::sleep(Duration::from_millis(tick)).await;
            if let Some(kind) = self.rng.pick(BACKGROUND).copied()
                && let Some(s) = self.sensor_for(&sensors, kind, None)
            {
                let (lon, lat) = self.near(s.lon, s.lat, 20.0);
                let conf = self.rng.range(0.3, 0.6);
                self.publish(&client, s, kind, lon, lat, conf, 25.0).await;
            }
            until_scenario_ms = until_scenario_ms.saturating_sub(tick);
            if until_scenario_ms == 0 {
                let sc = &SCENARIOS[next_scenario % SCENARIOS.len()];
                next_scenario += 1;
                self.play(&client, &sensors, sc);
                until_scenario_ms = (60_000.0 / self.scenarios_per_minute * self.rng.range(0.6, 1.4)) as u64;
            }
        }
    }

    fn sensor_for<'a>(&mut self, sensors: &'a [Sensor], kind: Kind, near: Option<(f64, f64)>) -> Option<&'a Sensor> {
        let able: Vec<&Sensor> = sensors.iter().filter(|s| s.runs(kind)).collect();
        match near {
            None => self.rng.pick(&able).copied(),
            Some((lon, lat)) => able
                .into_iter()
                .min_by(|a, b| haversine_m(lon, lat, a.lon, a.lat).total_cmp(&haversine_m(lon, lat, b.lon, b.lat))),
        }
    }

    fn near(&mut self, lon: f64, lat: f64, spread_m: f64) -> (f64, f64) {
        let (mx, my) = metres_per_degree(lat);
        (lon + self.rng.range(-spread_m, spread_m) / mx, lat + self.rng.range(-spread_m, spread_m) / my)
    }

    /// Plays a scenario in the background so that its steps keep their delays.
    fn play(&mut self, client: &AsyncClient, sensors: &[Sensor], sc: &Scenario) {
        let Some(first) = sc.steps.first() else { return };
        let Some(anchor) = self.sensor_for(sensors, first.kind, None) else { return };
        // Where it happens: within a few tens of metres of the first sensor (for a camera,
        // in front of it).
        let (lon, lat) = match (&anchor.field_of_view, anchor.sensor_type) {
            (Some(f), SensorType::Camera) => {
                let (mx, my) = metres_per_degree(anchor.lat);
                let d = f.range_m * 0.5;
                let a = f.heading_deg.to_radians();
                (anchor.lon + d * a.sin() / mx, anchor.lat + d * a.cos() / my)
            }
            _ => self.near(anchor.lon, anchor.lat, 30.0),
        };
        tracing::info!(scenario = sc.name, near = %anchor.name, "demo scenario");
        self.stats.scenarios.fetch_add(1, Relaxed);
        let mut plan = Vec::new();
        for st in sc.steps {
            let mut used: Vec<&Sensor> = Vec::new();
            for _ in 0..st.sensors {
                let mut able: Vec<&Sensor> =
                    sensors.iter().filter(|s| s.runs(st.kind) && !used.iter().any(|u| u.id == s.id)).collect();
                able.sort_by(|a, b| {
                    haversine_m(lon, lat, a.lon, a.lat).total_cmp(&haversine_m(lon, lat, b.lon, b.lat))
                });
                let Some(s) = able.first().copied() else { break };
                used.push(s);
                let (plon, plat) = self.near(lon, lat, st.spread_m);
                let jitter = self.rng.range(0.0, 300.0) as u64;
                let conf = (st.confidence + self.rng.range(-0.05, 0.1)).clamp(0.0, 1.0);
                plan.push((st.delay_ms + jitter, s.clone(), st.kind, plon, plat, conf));
            }
        }
        let client = client.clone();
        let stats = self.stats.clone();
        tokio::spawn(async move {
            plan.sort_by_key(|p| p.0);
            let mut elapsed = 0;
            for (at, s, kind, lon, lat, conf) in plan {
                tokio::time::sleep(Duration::from_millis(at.saturating_sub(elapsed))).await;
                elapsed = at;
                publish(&client, &stats, &s, kind, lon, lat, conf, 20.0).await;
            }
        });
    }

    #[allow(clippy::too_many_arguments)]
    async fn publish(&self, client: &AsyncClient, s: &Sensor, kind: Kind, lon: f64, lat: f64, conf: f64, unc: f64) {
        publish(client, &self.stats, s, kind, lon, lat, conf, unc).await
    }
}

/// Attributes that look like what each analytic reports (never personal data).
fn attributes(kind: Kind, conf: f64) -> serde_json::Value {
    match kind {
        Kind::VideoCrowdDensity => json!({ "persons_per_m2": (2.0 + conf * 3.0 * 10.0).round() / 10.0 }),
        Kind::VideoCrowdMovement => json!({ "mean_speed_m_s": 2.8, "direction_deg": 140 }),
        Kind::AudioImpulse
        | Kind::AudioGunshot
        | Kind::AudioExplosion
        | Kind::AudioGlassBreak
        | Kind::AudioScream
        | Kind::AudioSiren => json!({ "peak_db": 96.0 + conf * 20.0, "rise_ms": 1.2, "duration_ms": 180 }),
        Kind::FlowsPresenceAnomaly => json!({ "presence": 4200, "baseline": 1900, "z": 5.1 }),
        Kind::SocialBurst | Kind::SocialNegativeBuzz => {
            json!({ "posts": 87, "baseline": 6.5, "top_terms": ["tram", "panne", "commerce"] })
        }
        Kind::CitizenReport => json!({ "category": "voirie", "reference": format!("SIG-{}", (conf * 1e6) as u64) }),
        _ => json!({}),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn publish(
    client: &AsyncClient,
    stats: &ReplayStats,
    s: &Sensor,
    kind: Kind,
    lon: f64,
    lat: f64,
    conf: f64,
    unc: f64,
) {
    let d = json!({
        "id": DetectionId::generate().to_string(),
        "sensor": s.id,
        "kind": kind,
        "time": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "location": { "lon": lon, "lat": lat, "uncertainty_m": unc },
        "confidence": (conf * 100.0).round() / 100.0,
        "attributes": attributes(kind, conf),
    });
    let topic = format!("{}{}", vigie_model::DETECTION_TOPIC_PREFIX, s.id);
    if client.publish(topic, QoS::AtLeastOnce, false, d.to_string()).await.is_ok() {
        stats.published.fetch_add(1, Relaxed);
    }
}
