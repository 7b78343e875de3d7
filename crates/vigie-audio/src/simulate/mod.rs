//! The simulator: multi-sensor recordings of synthetic events with ground truth.
//!
//! Sources (all synthesised; no recording, no speech): gunshot-like N-waves with echoes and a
//! reverberant tail; explosions (Friedlander wave + low rumble); glass (impact + damped
//! high-frequency partials); screams (harmonic tone 500–1100 Hz with vibrato and pitch
//! contour); sirens (wail or yelp sweeps); plain impulses (door-slam-like damped low
//! resonances). Background: traffic-like coloured noise with slow swells plus babble-like
//! noise (noise through moving formant resonators with syllabic envelopes — no words).
//!
//! Propagation: delay `(r + nlos_excess)/c`, amplitude `1/r` (SNR falls 6 dB per doubling
//! from `snr_at_100m_db`), a non-line-of-sight path adds 10–150 m and −6 dB; each sensor's
//! time stamps carry a Gaussian clock error of `jitter_ms`. Recordings are made on demand
//! from the seed, so scenarios of any size fit in memory.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use vigie_model::{Kind, SensorId, geo::metres_per_degree};

use crate::rng::Rng;

/// The classes the simulator makes, in the order of the contract.
pub const CLASSES: [Kind; 6] = [
    Kind::AudioGunshot,
    Kind::AudioExplosion,
    Kind::AudioGlassBreak,
    Kind::AudioScream,
    Kind::AudioSiren,
    Kind::AudioImpulse,
];

/// The impulsive ones.
pub fn is_impulsive(k: Kind) -> bool {
    matches!(k, Kind::AudioGunshot | Kind::AudioExplosion | Kind::AudioGlassBreak | Kind::AudioImpulse)
}

struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    z: [f32; 2],
}

impl Biquad {
    fn bandpass(f: f64, q: f64, sr: f64) -> Biquad {
        let w0 = std::f64::consts::TAU * (f / sr).min(0.49);
        let alpha = w0.sin() / (2.0 * q);
        let a0 = 1.0 + alpha;
        Biquad {
            b: [(alpha / a0) as f32, 0.0, (-alpha / a0) as f32],
            a: [(-2.0 * w0.cos() / a0) as f32, ((1.0 - alpha) / a0) as f32],
            z: [0.0; 2],
        }
    }
    fn run(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.z[0];
        self.z[0] = self.b[1] * x - self.a[0] * y + self.z[1];
        self.z[1] = self.b[2] * x - self.a[1] * y;
        y
    }
}

fn one_pole(f: f64, sr: f64) -> f32 {
    (1.0 - (-std::f64::consts::TAU * f / sr).exp()) as f32
}

/// Urban background: traffic-like and babble-like noise, scaled to RMS `rms`.
pub fn background(sr: u32, n: usize, rms: f64, rng: &mut Rng) -> Vec<f32> {
    let srf = sr as f64;
    let (a_lo, a_mid) = (one_pole(120.0, srf), one_pole(900.0, srf));
    let (mut lo, mut mid) = (0.0f32, 0.0f32);
    let swell: Vec<(f64, f64)> = (0..3).map(|_| (rng.range(0.05, 0.2), rng.range(0.0, 6.3))).collect();
    let n_voices = 6;
    let mut voices: Vec<(Biquad, Biquad, usize, usize)> = (0..n_voices)
        .map(|_| (Biquad::bandpass(500.0, 5.0, srf), Biquad::bandpass(1500.0, 6.0, srf), 0usize, 1usize))
        .collect();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = i as f64 / srf;
        lo += a_lo * (rng.normal() as f32 - lo);
        mid += a_mid * (rng.normal() as f32 - mid);
        let g: f64 = swell.iter().map(|(f, ph)| (std::f64::consts::TAU * f * t + ph).sin()).sum::<f64>() / 3.0;
        let traffic = (lo * 6.0 + mid * 1.5) * (1.0 + 0.4 * g) as f32;
        let mut babble = 0.0f32;
        if i % 8 == 0 || i == 0 {
            for v in voices.iter_mut() {
                if v.2 == 0 {
                    let syl = (rng.range(0.12, 0.3) * srf) as usize;
                    v.0 = Biquad::bandpass(rng.range(300.0, 900.0), 5.0, srf);
                    v.1 = Biquad::bandpass(rng.range(900.0, 2500.0), 6.0, srf);
                    v.2 = syl;
                    v.3 = syl;
                }
            }
        }
        for v in voices.iter_mut() {
            let phase = 1.0 - v.2 as f64 / v.3.max(1) as f64;
            let env = (std::f64::consts::PI * phase).sin().powi(2) as f32;
            let e = rng.normal() as f32;
            babble += (v.0.run(e) + 0.5 * v.1.run(e)) * env;
            v.2 = v.2.saturating_sub(1);
        }
        out.push(traffic + babble * 0.8);
    }
    let cur = (out.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / n.max(1) as f64).sqrt().max(1e-12);
    let k = (rms / cur) as f32;
    out.iter_mut().for_each(|x| *x *= k);
    out
}

/// RMS over the loudest 50-ms window.
pub fn peak_window_rms(x: &[f32], sr: u32) -> f64 {
    let w = (sr as usize / 20).max(1).min(x.len().max(1));
    let mut acc: f64 = x.iter().take(w).map(|&v| (v as f64).powi(2)).sum();
    let mut best = acc;
    for i in w..x.len() {
        acc += (x[i] as f64).powi(2) - (x[i - w] as f64).powi(2);
        best = best.max(acc);
    }
    (best.max(0.0) / w as f64).sqrt()
}

/// A source waveform of `kind` (normalised: loudest 50-ms window RMS = 1).
pub fn source(kind: Kind, sr: u32, rng: &mut Rng) -> Vec<f32> {
    let srf = sr as f64;
    let secs = |s: f64| (s * srf) as usize;
    let tau = std::f64::consts::TAU;
    let mut x: Vec<f64>;
    match kind {
        Kind::AudioGunshot => {
            x = vec![0.0; secs(0.4)];
            let tn = rng.range(1.5e-3, 3.0e-3);
            let nwave = |x: &mut Vec<f64>, at: usize, amp: f64| {
                for i in 0..secs(tn) {
                    if let Some(v) = x.get_mut(at + i) {
                        *v += amp * (1.0 - 2.0 * i as f64 / (tn * srf));
                    }
                }
            };
            nwave(&mut x, 0, 1.0);
            for _ in 0..rng.below(3) + 1 {
                let at = secs(rng.range(0.004, 0.06));
                nwave(&mut x, at, rng.range(0.15, 0.45));
            }
            let t_tail = rng.range(0.03, 0.08);
            let mut lp = 0.0;
            for (i, v) in x.iter_mut().enumerate().skip(secs(0.003)) {
                lp += 0.5 * (rng.normal() - lp);
                *v += 0.12 * lp * (-(i as f64 / srf) / t_tail).exp();
            }
        }
        Kind::AudioExplosion => {
            x = vec![0.0; secs(1.4)];
            let tp = rng.range(0.015, 0.04);
            let t_rumble = rng.range(0.3, 0.6);
            let a = one_pole(150.0, srf) as f64;
            let mut lp = 0.0;
            for (i, v) in x.iter_mut().enumerate() {
                let t = i as f64 / srf;
                let fried = if t < 6.0 * tp { (1.0 - t / tp) * (-t / tp).exp() } else { 0.0 };
                lp += a * (rng.normal() - lp);
                let attack = (t / 0.01).min(1.0);
                *v = fried + 1.2 * lp * attack * (-t / t_rumble).exp();
            }
        }
        Kind::AudioGlassBreak => {
            x = vec![0.0; secs(0.9)];
            for (i, v) in x.iter_mut().enumerate().take(secs(0.006)) {
                *v += rng.normal() * (-(i as f64) / (0.0015 * srf)).exp();
            }
            for _ in 0..(25 + rng.below(20)) {
                let at = secs(rng.range(0.0, 0.6).powf(1.5));
                let f = rng.range(2500.0, 7000.0_f64.min(srf * 0.45));
                let d = rng.range(0.005, 0.03);
                let amp = rng.range(0.2, 0.6);
                for k in 0..secs(5.0 * d) {
                    if let Some(v) = x.get_mut(at + k) {
                        let t = k as f64 / srf;
                        *v += amp * (tau * f * t).sin() * (-t / d).exp();
                    }
                }
            }
        }
        Kind::AudioScream => {
            let dur = rng.range(0.6, 1.5);
            x = vec![0.0; secs(dur)];
            let f0 = rng.range(500.0, 1100.0);
            let (vib_f, attack) = (rng.range(5.0, 7.0), rng.range(0.06, 0.12));
            let mut ph = 0.0;
            for (i, v) in x.iter_mut().enumerate() {
                let t = i as f64 / srf;
                let contour = 1.0 + 0.25 * (std::f64::consts::PI * t / dur).sin();
                let f = f0 * contour * (1.0 + 0.03 * (tau * vib_f * t).sin());
                ph += tau * f / srf;
                let env = (t / attack).min(1.0) * ((dur - t) / 0.1).clamp(0.0, 1.0);
                let mut s = 0.0;
                for h in 1..=6 {
                    if f * h as f64 <= srf * 0.45 {
                        s += (ph * h as f64).sin() / h as f64;
                    }
                }
                *v = env * (s + 0.05 * rng.normal());
            }
        }
        Kind::AudioSiren => {
            let dur = rng.range(3.0, 5.0);
            x = vec![0.0; secs(dur)];
            let yelp = rng.chance(0.5);
            let (period, lo, hi) =
                if yelp { (rng.range(0.25, 0.35), 700.0, 1500.0) } else { (rng.range(2.0, 4.0), 600.0, 1300.0) };
            let mut ph = 0.0;
            for (i, v) in x.iter_mut().enumerate() {
                let t = i as f64 / srf;
                let f = lo + (hi - lo) * (0.5 - 0.5 * (tau * t / period).cos());
                ph += tau * f / srf;
                let env = (t / 0.15).min(1.0) * ((dur - t) / 0.1).clamp(0.0, 1.0);
                *v = env * (ph.sin() + 0.3 * (3.0 * ph).sin() + 0.15 * (5.0 * ph).sin());
            }
        }
        _ => {
            // Plain impulse: a door slam or a knock.
            x = vec![0.0; secs(0.35)];
            let attack = rng.range(0.004, 0.008);
            let modes: Vec<(f64, f64, f64)> =
                (0..3).map(|_| (rng.range(80.0, 450.0), rng.range(0.02, 0.06), rng.range(0.4, 1.0))).collect();
            for (i, v) in x.iter_mut().enumerate() {
                let t = i as f64 / srf;
                let a = if t < attack { (std::f64::consts::FRAC_PI_2 * t / attack).sin() } else { 1.0 };
                let s: f64 = modes.iter().map(|(f, d, g)| g * (tau * f * t).sin() * (-t / d).exp()).sum();
                *v = a * (s + 0.3 * rng.normal() * (-t / 0.01).exp());
            }
        }
    }
    let out: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let k = peak_window_rms(&out, sr).max(1e-12);
    out.iter().map(|&v| (v as f64 / k) as f32).collect()
}

/// Adds `src` into `dst` starting at fractional sample `at`, scaled by `gain` (linear interpolation).
pub fn add_delayed(dst: &mut [f32], src: &[f32], at: f64, gain: f32) {
    let base = at.floor();
    let frac = (at - base) as f32;
    let base = base as i64;
    for (i, &s) in src.iter().enumerate() {
        let prev = if i == 0 { 0.0 } else { src[i - 1] };
        let v = s * (1.0 - frac) + prev * frac;
        let j = base + i as i64;
        if j >= 0 && (j as usize) < dst.len() {
            dst[j as usize] += v * gain;
        }
        if i + 1 == src.len() && j + 1 >= 0 && ((j + 1) as usize) < dst.len() {
            dst[(j + 1) as usize] += s * frac * gain;
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SimSensor {
    pub id: SensorId,
    pub lon: f64,
    pub lat: f64,
    pub x_m: f64,
    pub y_m: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimEvent {
    pub kind: Kind,
    pub lon: f64,
    pub lat: f64,
    pub x_m: f64,
    pub y_m: f64,
    pub emission: DateTime<Utc>,
}

/// One sensor's recording of one event.
#[derive(Debug, Clone)]
pub struct SimRecording {
    pub sensor: usize,
    /// The first sample's time stamp as the sensor's clock wrote it.
    pub start: DateTime<Utc>,
    pub samples: Vec<f32>,
    pub true_arrival: DateTime<Utc>,
    pub snr_db: f64,
    pub nlos_excess_m: f64,
    pub clock_error_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioConfig {
    pub seed: u64,
    pub sample_rate: u32,
    pub sensors_per_km2: f64,
    pub n_sensors: usize,
    pub n_events: usize,
    pub classes: Vec<Kind>,
    /// SNR (loudest 50 ms over background) at 100 m from the source.
    pub snr_at_100m_db: f64,
    pub noise_rms: f64,
    pub temperature_c: f64,
    pub jitter_ms: f64,
    pub nlos_share: f64,
    pub origin_lon: f64,
    pub origin_lat: f64,
    pub start: DateTime<Utc>,
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        ScenarioConfig {
            seed: 1,
            sample_rate: 16_000,
            sensors_per_km2: 8.0,
            n_sensors: 8,
            n_events: 10,
            classes: vec![Kind::AudioGunshot, Kind::AudioExplosion],
            snr_at_100m_db: 40.0,
            noise_rms: 0.003,
            temperature_c: 15.0,
            jitter_ms: 1.0,
            nlos_share: 0.25,
            origin_lon: -1.5536,
            origin_lat: 47.2184,
            start: DateTime::<Utc>::from_timestamp(1_795_000_000, 0).unwrap_or_default(),
        }
    }
}

/// A scenario: sensors and events; recordings are synthesised on demand.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub config: ScenarioConfig,
    pub side_m: f64,
    pub sensors: Vec<SimSensor>,
    pub events: Vec<SimEvent>,
}

impl Scenario {
    pub fn new(cfg: ScenarioConfig) -> Scenario {
        let mut rng = Rng::new(cfg.seed);
        let side_m = (cfg.n_sensors as f64 / cfg.sensors_per_km2.max(0.01)).sqrt() * 1000.0;
        let (mx, my) = metres_per_degree(cfg.origin_lat);
        let min_gap = side_m / (cfg.n_sensors as f64).sqrt() * 0.5;
        let mut pts: Vec<(f64, f64)> = Vec::new();
        let mut tries = 0;
        while pts.len() < cfg.n_sensors {
            let p = (rng.range(0.0, side_m), rng.range(0.0, side_m));
            tries += 1;
            if tries > 10_000 || pts.iter().all(|q| (q.0 - p.0).hypot(q.1 - p.1) >= min_gap) {
                pts.push(p);
            }
        }
        let sensors = pts
            .iter()
            .enumerate()
            .map(|(i, p)| SimSensor {
                id: SensorId::new(format!("mic-sim-{i:02}")).expect("valid id"),
                lon: cfg.origin_lon + p.0 / mx,
                lat: cfg.origin_lat + p.1 / my,
                x_m: p.0,
                y_m: p.1,
            })
            .collect();
        let events = (0..cfg.n_events)
            .map(|i| {
                let (x, y) = (rng.range(0.05, 0.95) * side_m, rng.range(0.05, 0.95) * side_m);
                SimEvent {
                    kind: cfg.classes[i % cfg.classes.len().max(1)],
                    lon: cfg.origin_lon + x / mx,
                    lat: cfg.origin_lat + y / my,
                    x_m: x,
                    y_m: y,
                    emission: cfg.start + Duration::seconds(60 * i as i64),
                }
            })
            .collect();
        Scenario { config: cfg, side_m, sensors, events }
    }

    /// The ground truth as JSON (no samples).
    pub fn truth_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Sensor `s`'s recording of event `e` (deterministic).
    pub fn recording(&self, e: usize, s: usize) -> SimRecording {
        let cfg = &self.config;
        let mut rng = Rng::new(cfg.seed.wrapping_mul(1_000_003).wrapping_add((e * 1000 + s) as u64 + 17));
        let ev = &self.events[e];
        let sen = &self.sensors[s];
        let c = crate::speed_of_sound(cfg.temperature_c);
        let r = (ev.x_m - sen.x_m).hypot(ev.y_m - sen.y_m).max(1.0);
        let nlos = rng.chance(cfg.nlos_share);
        let excess = if nlos { rng.range(10.0, 150.0) } else { 0.0 };
        let snr_db = cfg.snr_at_100m_db - 20.0 * (r / 100.0).log10() - if nlos { 6.0 } else { 0.0 };
        let src = source(ev.kind, cfg.sample_rate, &mut rng);
        let sr = cfg.sample_rate as f64;
        let lead = rng.range(0.7, 1.0);
        let n = ((lead + 0.5) * sr) as usize + src.len();
        let mut x = background(cfg.sample_rate, n, cfg.noise_rms, &mut rng);
        add_delayed(&mut x, &src, lead * sr, (cfg.noise_rms * 10f64.powf(snr_db / 20.0)) as f32);
        let delay = (r + excess) / c;
        let true_arrival = ev.emission + Duration::nanoseconds((delay * 1e9) as i64);
        let clock_error_ms = rng.normal() * cfg.jitter_ms;
        let true_start = true_arrival - Duration::nanoseconds((lead * 1e9) as i64);
        let start = true_start + Duration::nanoseconds((clock_error_ms * 1e6) as i64);
        SimRecording { sensor: s, start, samples: x, true_arrival, snr_db, nlos_excess_m: excess, clock_error_ms }
    }
}

/// A single-sensor recording of `kind` at exactly `snr_db` (recall/precision tests).
pub fn single(kind: Kind, snr_db: f64, sr: u32, seed: u64) -> (Vec<f32>, f64) {
    let mut rng = Rng::new(seed);
    let src = source(kind, sr, &mut rng);
    let lead = rng.range(0.7, 1.0);
    let n = ((lead + 0.5) * sr as f64) as usize + src.len();
    let noise_rms = 0.003;
    let mut x = background(sr, n, noise_rms, &mut rng);
    add_delayed(&mut x, &src, lead * sr as f64, (noise_rms * 10f64.powf(snr_db / 20.0)) as f32);
    (x, lead)
}
