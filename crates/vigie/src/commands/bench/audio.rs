//! `vigie bench audio`: localisation error, detection recall/precision, false events per
//! sensor-hour, channels per core, all on simulated data (see `vigie_audio::simulate`), and
//! the time from an event to its detection at a real hub (`audio_latency`).

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use clap::Args;
use vigie_audio::pipeline::run_buffer;
use vigie_audio::rng::Rng;
use vigie_audio::simulate::{CLASSES, Scenario, ScenarioConfig, background, is_impulsive, single};
use vigie_audio::stages::locate::{associate, locate};
use vigie_audio::{Listener, ListenerConfig, LocateConfig, Microphone, OnsetReport, Output};
use vigie_model::geo::haversine_m;
use vigie_model::{Kind, SensorId};

use super::percentile;

#[derive(Args)]
pub struct AudioBenchArgs {
    /// A CI-sized run (a few seconds).
    #[arg(long)]
    smoke: bool,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

fn mic(id: &str) -> Microphone {
    Microphone { id: SensorId::new(id).expect("valid id"), lon: -1.55, lat: 47.21, channel: 0 }
}

fn listener_cfg() -> ListenerConfig {
    ListenerConfig { emit_bands: false, ..ListenerConfig::default() }
}

fn detections(m: Microphone, start: DateTime<Utc>, x: &[f32]) -> anyhow::Result<Vec<vigie_model::Detection>> {
    let mut l = Listener::new(m, 16_000, start, listener_cfg())?;
    Ok(run_buffer(&mut l, x)
        .into_iter()
        .filter_map(|o| match o {
            Output::Detection(d) => Some(*d),
            _ => None,
        })
        .collect())
}

pub fn run(a: AudioBenchArgs) -> anyhow::Result<()> {
    let t_all = Instant::now();
    let (n_loc, n_per_class, bg_secs, tput_secs) =
        if a.smoke { (12, 4, 120.0, 20.0) } else { (200, 30, 3600.0, 120.0) };

    // 1. Localisation: ~8 sensors per km², 1 ms clock jitter, 25 % NLOS paths.
    let sc = Scenario::new(ScenarioConfig {
        seed: a.seed,
        n_events: n_loc,
        jitter_ms: 1.0,
        nlos_share: 0.25,
        sensors_per_km2: 8.0,
        n_sensors: 8,
        ..ScenarioConfig::default()
    });
    let lcfg = LocateConfig { temperature_c: sc.config.temperature_c, ..LocateConfig::default() };
    let (mut errors, mut errors6) = (Vec::new(), Vec::new());
    let mut heard_counts = Vec::new();
    // Honesty of the reported uncertainty: share of fixes whose error is within it.
    let (mut covered, mut uncertainties) = (0usize, Vec::new());
    let mut onset_errors_ms = Vec::new();
    for (e, ev) in sc.events.iter().enumerate() {
        let mut reports = Vec::new();
        for (s, sen) in sc.sensors.iter().enumerate() {
            let rec = sc.recording(e, s);
            let m = Microphone { id: sen.id.clone(), lon: sen.lon, lat: sen.lat, channel: 0 };
            for d in detections(m, rec.start, &rec.samples)? {
                if let Some(r) = OnsetReport::from_detection(&d) {
                    let err = (r.onset - rec.true_arrival).num_nanoseconds().unwrap_or(i64::MAX) as f64 / 1e6
                        - rec.clock_error_ms;
                    if err.abs() < 50.0 && rec.nlos_excess_m == 0.0 {
                        onset_errors_ms.push(err.abs());
                    }
                    reports.push(r);
                }
            }
        }
        let groups = associate(reports, &lcfg);
        let Some(g) = groups.iter().max_by_key(|g| g.len()) else {
            errors.push(f64::INFINITY);
            heard_counts.push(0);
            continue;
        };
        let fix = locate(g, &lcfg);
        let err = haversine_m(fix.lon, fix.lat, ev.lon, ev.lat);
        covered += (err <= fix.uncertainty_m) as usize;
        uncertainties.push(fix.uncertainty_m);
        errors.push(err);
        heard_counts.push(g.len());
        if g.len() >= 6 {
            errors6.push(err);
        }
    }
    errors.sort_by(|a, b| a.total_cmp(b));
    errors6.sort_by(|a, b| a.total_cmp(b));
    onset_errors_ms.sort_by(|a, b| a.total_cmp(b));
    uncertainties.sort_by(|a, b| a.total_cmp(b));
    let within = |v: &[f64], m: f64| v.iter().filter(|&&e| e <= m).count() as f64 / v.len().max(1) as f64;

    // 2. Detection per class and SNR on single recordings.
    let mut per: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut recall_impulsive_10 = (0usize, 0usize);
    for snr in [0.0, 10.0, 20.0] {
        let mut tp: BTreeMap<Kind, usize> = BTreeMap::new();
        let mut labelled: BTreeMap<Kind, usize> = BTreeMap::new();
        let mut detected_any: BTreeMap<Kind, usize> = BTreeMap::new();
        for (ci, &k) in CLASSES.iter().enumerate() {
            for i in 0..n_per_class {
                let seed = a.seed * 1_000_000 + (snr as u64) * 10_000 + ci as u64 * 1000 + i as u64;
                let (x, lead) = single(k, snr, 16_000, seed);
                let t0 = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).unwrap_or_default();
                let truth = t0 + chrono::Duration::nanoseconds((lead * 1e9) as i64);
                let ds = detections(mic("mic-bench"), t0, &x)?;
                let mut hit = false;
                for d in &ds {
                    *labelled.entry(d.kind).or_default() += 1;
                    let near = (d.time - truth).num_milliseconds().abs() <= 100;
                    if near && !hit {
                        hit = true;
                        if d.kind == k {
                            *tp.entry(k).or_default() += 1;
                        }
                    }
                }
                if hit {
                    *detected_any.entry(k).or_default() += 1;
                }
                if snr == 10.0 && is_impulsive(k) {
                    recall_impulsive_10.1 += 1;
                    recall_impulsive_10.0 += hit as usize;
                }
            }
        }
        for &k in &CLASSES {
            let t = *tp.get(&k).unwrap_or(&0) as f64;
            let name = format!("{}@{}db", k.as_str().trim_start_matches("audio."), snr as i64);
            per.insert(
                name,
                serde_json::json!({
                    "detected": *detected_any.get(&k).unwrap_or(&0) as f64 / n_per_class as f64,
                    "recall": t / n_per_class as f64,
                    "precision": if labelled.get(&k).copied().unwrap_or(0) > 0 { t / labelled[&k] as f64 } else { f64::NAN },
                }),
            );
        }
    }

    // 3. False events on background only.
    let mut rng = Rng::new(a.seed ^ 0xB6);
    let chunk_secs = 60.0;
    let mut false_events = 0usize;
    let mut done = 0.0;
    let t0 = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).unwrap_or_default();
    while done < bg_secs {
        let x = background(16_000, (chunk_secs * 16_000.0) as usize, 0.003, &mut rng);
        false_events += detections(mic("mic-bg"), t0, &x)?.len();
        done += chunk_secs;
    }
    let false_per_hour = false_events as f64 / (bg_secs / 3600.0);

    // 4. Throughput: one thread, 16 kHz, bands + onsets + features (events every ~5 s).
    let mut x = background(16_000, (tput_secs * 16_000.0) as usize, 0.003, &mut rng);
    let mut r2 = Rng::new(a.seed);
    let mut at = 16_000.0;
    while at + 80_000.0 < x.len() as f64 {
        let k = CLASSES[r2.below(CLASSES.len())];
        let src = vigie_audio::simulate::source(k, 16_000, &mut r2);
        vigie_audio::simulate::add_delayed(&mut x, &src, at, 0.1);
        at += 80_000.0;
    }
    let mut l = Listener::new(mic("mic-tput"), 16_000, t0, ListenerConfig::default())?;
    let t = Instant::now();
    let outs = run_buffer(&mut l, &x);
    let cpu = t.elapsed().as_secs_f64();
    let channels_per_core = tput_secs / cpu.max(1e-9);

    // 5. Time from event to detection at the hub, in real time.
    let mut lat = super::audio_latency::measure(&sc, if a.smoke { 1 } else { 10 })?;
    lat.sensor_s.sort_by(|a, b| a.total_cmp(b));
    lat.located_s.sort_by(|a, b| a.total_cmp(b));

    let heard6 = heard_counts.iter().filter(|&&n| n >= 6).count();
    let line = serde_json::json!({
        "bench": "audio",
        "smoke": a.smoke,
        "median_error_m": percentile(&errors, 0.5),
        "p90_error_m": percentile(&errors, 0.9),
        "share_within_25m": within(&errors, 25.0),
        "events_located": errors.len(),
        "p90_error_m_6plus": percentile(&errors6, 0.9),
        "share_within_25m_6plus": within(&errors6, 25.0),
        "events_heard_by_6plus": heard6,
        "uncertainty_m_median": percentile(&uncertainties, 0.5),
        "share_error_within_uncertainty": covered as f64 / uncertainties.len().max(1) as f64,
        "onset_error_ms_median": percentile(&onset_errors_ms, 0.5),
        "onset_error_ms_p90": percentile(&onset_errors_ms, 0.9),
        "recall_10db": recall_impulsive_10.0 as f64 / recall_impulsive_10.1.max(1) as f64,
        "per_class": per,
        "false_events_per_sensor_hour": false_per_hour,
        "background_hours": bg_secs / 3600.0,
        "channels_per_core": channels_per_core,
        "throughput_outputs": outs.len(),
        "hub_latency_s_median": percentile(&lat.located_s, 0.5),
        "hub_latency_s_max": lat.located_s.last().copied().unwrap_or(f64::NAN),
        "hub_latency_sensor_s_median": percentile(&lat.sensor_s, 0.5),
        "hub_latency_events": lat.located_s.len(),
        "wall_s": t_all.elapsed().as_secs_f64(),
    });
    println!("{}", serde_json::to_string(&line)?);
    Ok(())
}
