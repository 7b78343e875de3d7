//! Stage `features`: the numbers that describe an event — and the only thing about it that
//! leaves the sensor. No sample, no spectrum frame, nothing from which audio (let alone
//! speech) could be rebuilt: a few scalars and a 125-ms-averaged third-octave summary.
//!
//! Spectral features use 32-ms Hann frames (hop 16 ms) over at most `max_event_ms`, with the
//! background spectrum (measured before the onset) subtracted bin by bin.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};
use serde::Serialize;

use super::bands::BandAnalyzer;
use super::onset::RawEvent;

/// Event features, as emitted (units in the names).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Features {
    /// Peak sample level, dB (SPL when `calibration_db` is calibrated).
    pub peak_db: f64,
    /// Equivalent level over the event, dB.
    pub leq_db: f64,
    /// Loudest 2-ms block over the background, dB (high-passed).
    pub snr_db: f64,
    /// Onset to the first 2-ms block within 3 dB of the loudest.
    pub rise_ms: f64,
    pub duration_ms: f64,
    pub centroid_hz: f64,
    /// Share of the event's energy below 400 Hz.
    pub low_ratio: f64,
    /// Share of the event's energy above 3 kHz.
    pub high_ratio: f64,
    /// Median over active frames of the strongest bin over the median bin (whitened), dB.
    pub tonality_db: f64,
    /// Median strongest frequency (200 Hz–5 kHz) over active frames.
    pub dominant_hz: f64,
    /// 90th minus 10th percentile of the strongest frequency over active frames.
    pub sweep_hz: f64,
    /// Third-octave levels averaged over the event (dB), the centres of `bands`.
    pub band_levels_db: Vec<f32>,
}

pub struct FeatureExtractor {
    sr: f64,
    n: usize,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    calibration_db: f64,
    bands: BandAnalyzer,
    max_event: usize,
}

fn db(e: f64) -> f64 {
    10.0 * (e + 1e-20).log10()
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

impl FeatureExtractor {
    pub fn new(sample_rate: u32, calibration_db: f64, max_event_ms: f64) -> FeatureExtractor {
        let n = if sample_rate >= 32_000 { 1024 } else { 512 };
        let window = (0..n).map(|i| (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos()) as f32).collect();
        FeatureExtractor {
            sr: sample_rate as f64,
            n,
            fft: RealFftPlanner::<f32>::new().plan_fft_forward(n),
            window,
            calibration_db,
            bands: BandAnalyzer::new(sample_rate, calibration_db),
            max_event: (max_event_ms * sample_rate as f64 / 1000.0) as usize,
        }
    }

    fn power_spectrum(&self, frame: &[f32], input: &mut Vec<f32>, out: &mut Vec<f64>) {
        let mut spec = self.fft.make_output_vec();
        input.clear();
        input.extend(frame.iter().zip(&self.window).map(|(x, w)| x * w));
        input.resize(self.n, 0.0);
        if self.fft.process(input, &mut spec).is_err() {
            out.clear();
            out.resize(self.n / 2 + 1, 0.0);
            return;
        }
        out.clear();
        out.extend(spec.iter().map(|c| c.norm_sqr() as f64));
    }

    pub fn extract(&mut self, ev: &RawEvent) -> Features {
        let sr = self.sr;
        let onset_rel = ((ev.onset_sample - ev.offset as f64).max(0.0) as usize).min(ev.samples.len());
        let end_rel = ((ev.end_sample.saturating_sub(ev.offset)) as usize).clamp(onset_rel, ev.samples.len());
        let end_rel = end_rel.min(onset_rel + self.max_event).max(onset_rel);
        let pre = &ev.samples[..onset_rel];
        let mean_pre = if pre.is_empty() { 0.0 } else { pre.iter().map(|&x| x as f64).sum::<f64>() / pre.len() as f64 };
        let body: Vec<f32> = ev.samples[onset_rel..end_rel].iter().map(|&x| x - mean_pre as f32).collect();
        let body = if body.is_empty() { vec![0.0f32] } else { body };

        let peak = body.iter().fold(0.0f32, |m, x| m.max(x.abs())) as f64;
        let energy = body.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>() / body.len() as f64;
        // Rise: 2-ms envelope.
        let blk = ((sr / 500.0) as usize).max(1);
        let env: Vec<f64> = body
            .chunks(blk)
            .take((sr as usize) / blk)
            .map(|c| c.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>() / c.len() as f64)
            .collect();
        let env_max = env.iter().cloned().fold(0.0, f64::max);
        let rise_blocks = env.iter().position(|&e| e >= env_max * 0.5).unwrap_or(0);
        let rise_ms = rise_blocks as f64 * blk as f64 / sr * 1000.0;

        // Background spectrum from the pre-onset audio.
        let (n, hop) = (self.n, self.n / 2);
        let bins = n / 2 + 1;
        let df = sr / n as f64;
        let mut input = Vec::with_capacity(n);
        let mut ps = Vec::with_capacity(bins);
        let mut noise = vec![0.0f64; bins];
        let mut noise_frames = 0usize;
        let pre_usable = pre.len().saturating_sub(n / 4);
        let mut i = 0;
        while i + n <= pre_usable {
            self.power_spectrum(&pre[i..i + n], &mut input, &mut ps);
            noise.iter_mut().zip(&ps).for_each(|(a, b)| *a += b);
            noise_frames += 1;
            i += hop;
        }
        if noise_frames > 0 {
            noise.iter_mut().for_each(|a| *a /= noise_frames as f64);
        }
        let noise_energy: f64 = noise.iter().sum();
        let (k200, k400, k3000, k5000) = (
            (200.0 / df) as usize,
            (400.0 / df) as usize,
            ((3000.0 / df) as usize).min(bins - 1),
            ((5000.0 / df) as usize).min(bins - 1),
        );
        let (mut tot, mut low, mut high, mut cent) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        let (mut tonal, mut dom) = (Vec::new(), Vec::new());
        let mut clean = vec![0.0f64; bins];
        let mut start = 0usize;
        loop {
            let frame: &[f32] = if start + n <= body.len() {
                &body[start..start + n]
            } else if start == 0 {
                &body[..]
            } else {
                break;
            };
            self.power_spectrum(frame, &mut input, &mut ps);
            let mut fe = 0.0;
            for k in 1..bins {
                clean[k] = (ps[k] - noise[k]).max(0.0);
                fe += clean[k];
            }
            let first = start == 0;
            if fe > noise_energy.max(1e-30) || noise_frames == 0 || (first && tot == 0.0) {
                for (k, &c) in clean.iter().enumerate().skip(1) {
                    let f = k as f64 * df;
                    tot += c;
                    cent += c * f;
                    if k < k400 {
                        low += c;
                    }
                    if k > k3000 {
                        high += c;
                    }
                }
                if k5000 > k200 + 8 {
                    let mut white: Vec<f64> =
                        (k200..k5000).map(|k| ps[k] / noise[k].max(ps[k] * 1e-6).max(1e-30)).collect();
                    let (kmax, &wmax) = white.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap_or((0, &1.0));
                    let cmax = (k200..k5000).max_by(|&a, &b| clean[a].total_cmp(&clean[b])).unwrap_or(k200);
                    let _ = kmax;
                    let med = percentile(&mut white, 0.5).max(1e-30);
                    tonal.push(db(wmax / med));
                    dom.push(cmax as f64 * df);
                }
            }
            if frame.len() < n {
                break;
            }
            start += hop;
        }
        let tot_safe = tot.max(1e-30);
        // Band summary: power mean of 125-ms blocks over the event.
        let blen = self.bands.frame_len();
        let mut acc: Vec<f64> = Vec::new();
        let mut nb = 0usize;
        for chunk in body.chunks(blen) {
            let lv = self.bands.levels_of(chunk);
            if acc.is_empty() {
                acc = vec![0.0; lv.len()];
            }
            acc.iter_mut().zip(&lv).for_each(|(a, &l)| *a += 10f64.powf(l as f64 / 10.0));
            nb += 1;
        }
        let band_levels_db = acc.iter().map(|a| ((db(a / nb.max(1) as f64) * 10.0).round() / 10.0) as f32).collect();
        let r1 = |x: f64| (x * 10.0).round() / 10.0;
        let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
        Features {
            peak_db: r1(20.0 * (peak + 1e-10).log10() + self.calibration_db),
            leq_db: r1(db(energy) + self.calibration_db),
            snr_db: r1(ev.peak_block_db - ev.noise_db),
            rise_ms: r1(rise_ms),
            duration_ms: r1(body.len() as f64 / sr * 1000.0),
            centroid_hz: r1(cent / tot_safe),
            low_ratio: r3(low / tot_safe),
            high_ratio: r3(high / tot_safe),
            tonality_db: r1(percentile(&mut tonal.clone(), 0.5)),
            dominant_hz: r1(percentile(&mut dom.clone(), 0.5)),
            sweep_hz: r1(percentile(&mut dom.clone(), 0.9) - percentile(&mut dom, 0.1)),
            band_levels_db,
        }
    }
}
