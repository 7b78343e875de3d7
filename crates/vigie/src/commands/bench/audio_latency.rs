//! `vigie bench audio`, part 5: time from an event to its detection at the hub.
//!
//! A real hub (SQLite in a temporary folder, HTTP) and a scenario of 8 microphones played
//! in real time: every 50 ms each listener gets the samples that reached its microphone
//! meanwhile, a sensor detection is published over HTTP as soon as the listener emits it
//! (the publisher returns after the hub's commit), and the localisation runs once every
//! microphone has reported or once sound could have crossed the sensor field since the
//! first report. Latency = commit time − the event's emission, on this host's clock.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use vigie_audio::simulate::Scenario;
use vigie_audio::stages::locate::{associate, locate, to_detection};
use vigie_audio::{Listener, ListenerConfig, LocateConfig, Microphone, OnsetReport, Output};
use vigie_hub::store::SensorScope;
use vigie_hub::{Hub, HubOptions, MqttMode};
use vigie_model::config::{Config, IngestConfig};
use vigie_model::{Detection, Kind, Sensor, SensorType};
use vigie_publish::{Publisher, PublisherConfig, Target};

const TICK_MS: i64 = 50;

pub(super) struct HubLatency {
    /// Seconds from emission to a sensor detection committed by the hub.
    pub sensor_s: Vec<f64>,
    /// Seconds from emission to the located detection committed by the hub.
    pub located_s: Vec<f64>,
}

fn hub_config(sc: &Scenario, lcfg: &LocateConfig) -> Config {
    let audio = vec![
        Kind::AudioGunshot,
        Kind::AudioExplosion,
        Kind::AudioGlassBreak,
        Kind::AudioScream,
        Kind::AudioSiren,
        Kind::AudioImpulse,
    ];
    let mut sensors: Vec<Sensor> = sc
        .sensors
        .iter()
        .map(|s| Sensor {
            id: s.id.clone(),
            sensor_type: SensorType::Microphone,
            name: s.id.to_string(),
            lon: s.lon,
            lat: s.lat,
            district: None,
            analytics: audio.clone(),
            field_of_view: None,
            mobile: false,
        })
        .collect();
    sensors.push(Sensor {
        id: lcfg.sensor_id.clone(),
        sensor_type: SensorType::Microphone,
        name: "Localisation (TDOA)".into(),
        lon: sc.config.origin_lon,
        lat: sc.config.origin_lat,
        district: None,
        analytics: audio,
        field_of_view: None,
        mobile: false,
    });
    Config::from_parts("bench-audio".into(), vec![], IngestConfig::default(), sensors, Config::default_rules())
}

fn publish(p: &mut Publisher, d: &Detection) -> anyhow::Result<DateTime<Utc>> {
    let r = p.publish(std::slice::from_ref(d))?;
    if r.accepted != 1 {
        anyhow::bail!("the hub did not accept {}: {:?}", d.id, r.refused);
    }
    Ok(Utc::now())
}

/// Plays each event of `sc` in real time through listeners into a real hub.
pub(super) fn measure(sc: &Scenario, events: usize) -> anyhow::Result<HubLatency> {
    let lcfg = LocateConfig { temperature_c: sc.config.temperature_c, ..LocateConfig::default() };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let dir = std::env::temp_dir().join(format!("vigie-bench-audio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let hub = rt
        .block_on(Hub::start(HubOptions {
            config: Arc::new(hub_config(sc, &lcfg)),
            http_listen: "127.0.0.1:0".parse()?,
            store_url: dir.join("bench.db").display().to_string(),
            mqtt: MqttMode::Off,
            clock: vigie_hub::ingest::system_clock(),
        }))
        .context("cannot start the hub")?;
    let (_, token) = hub.auth.create_token("bench audio", None, SensorScope::All, "bench")?;
    let target = Target::Http { authority: hub.http_addr.to_string(), prefix: String::new() };
    let mut publisher = Publisher::connect(PublisherConfig::new(target, "vigie-bench-audio").token(Some(token)))?;
    let c = vigie_audio::speed_of_sound(sc.config.temperature_c);
    let crossing = Duration::milliseconds((sc.side_m * std::f64::consts::SQRT_2 / c * 1000.0) as i64 + 250);
    let mut out = HubLatency { sensor_s: Vec::new(), located_s: Vec::new() };
    let cfg = ListenerConfig { emit_bands: false, ..ListenerConfig::default() };
    for e in 0..events.min(sc.events.len()) {
        let recs: Vec<_> = (0..sc.sensors.len()).map(|s| sc.recording(e, s)).collect();
        let sr = f64::from(sc.config.sample_rate);
        // Physical time of each recording's first sample (its `start` carries the clock error).
        let true_start =
            |r: &vigie_audio::simulate::SimRecording| r.start - Duration::nanoseconds((r.clock_error_ms * 1e6) as i64);
        let t0 = recs.iter().map(true_start).min().context("no sensor")?;
        let t1 = recs
            .iter()
            .map(|r| true_start(r) + Duration::nanoseconds((r.samples.len() as f64 / sr * 1e9) as i64))
            .max()
            .context("no sensor")?;
        // Scenario time + shift = wall time: the event happens now.
        let shift = Utc::now() - t0;
        let emission = sc.events[e].emission + shift;
        let mut listeners = Vec::new();
        for (s, r) in recs.iter().enumerate() {
            let sen = &sc.sensors[s];
            let m = Microphone { id: sen.id.clone(), lon: sen.lon, lat: sen.lat, channel: 0 };
            listeners.push((Listener::new(m, sc.config.sample_rate, r.start + shift, cfg.clone())?, 0usize));
        }
        let mut reports: Vec<OnsetReport> = Vec::new();
        let mut first_report: Option<DateTime<Utc>> = None;
        let mut located = false;
        let mut k = 0i64;
        loop {
            let tick_end = t0 + Duration::milliseconds(TICK_MS * (k + 1));
            let wall = tick_end + shift;
            let wait = (wall - Utc::now()).to_std().unwrap_or_default();
            std::thread::sleep(wait);
            for ((l, fed), r) in listeners.iter_mut().zip(&recs) {
                if *fed >= r.samples.len() {
                    continue; // this microphone's recording is over
                }
                let upto =
                    ((tick_end - true_start(r)).num_microseconds().unwrap_or(0) as f64 / 1e6 * sr).max(0.0) as usize;
                let upto = upto.min(r.samples.len());
                let mut outs = l.process(&r.samples[*fed..upto]);
                *fed = upto;
                if upto == r.samples.len() {
                    outs.extend(l.finish());
                }
                for o in outs {
                    if let Output::Detection(d) = o {
                        let at = publish(&mut publisher, &d)?;
                        out.sensor_s.push((at - emission).num_milliseconds() as f64 / 1000.0);
                        if let Some(rep) = OnsetReport::from_detection(&d) {
                            reports.push(rep);
                            first_report.get_or_insert(at);
                        }
                    }
                }
            }
            let heard_all = reports.len() >= sc.sensors.len();
            let waited = first_report.is_some_and(|f| Utc::now() - f >= crossing);
            if !located && (heard_all || waited) && !reports.is_empty() {
                if let Some(g) = associate(reports.clone(), &lcfg).into_iter().max_by_key(Vec::len) {
                    let fix = locate(&g, &lcfg);
                    let at = publish(&mut publisher, &to_detection(&fix, &g, &lcfg))?;
                    out.located_s.push((at - emission).num_milliseconds() as f64 / 1000.0);
                }
                located = true;
            }
            k += 1;
            if located || (tick_end > t1 + crossing) {
                break;
            }
        }
        std::thread::sleep(StdDuration::from_millis(200));
    }
    rt.block_on(hub.stop());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out)
}
