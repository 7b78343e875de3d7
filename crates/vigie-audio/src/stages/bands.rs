//! Stage `bands`: third-octave band levels every 125 ms, as in the CENSE project (Nantes).
//!
//! Each 125-ms frame is Hann-windowed and transformed (realfft); the power of the bins whose
//! frequency falls in a band `[fc·2^-1/6, fc·2^1/6)` is summed (Parseval, window-corrected).
//! Centres are the base-2 series `1000·2^(k/3)` Hz from 50 Hz up to the last band below
//! Nyquist (22 bands, 50 Hz–6.3 kHz at 16 kHz). Levels are `dB = 10·log10(power) +
//! calibration_db`, where `calibration_db` is the level of a full-scale RMS signal (dB SPL
//! when calibrated). These frames are the only continuous data that leaves a sensor.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};
use serde::Serialize;

/// One 125-ms frame of band levels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BandFrame {
    pub sensor: String,
    /// Start of the frame (UTC, RFC 3339 with milliseconds).
    pub time: String,
    /// Level per band, dB, one decimal; centres in [`BandAnalyzer::centres_hz`].
    pub levels_db: Vec<f32>,
}

/// Third-octave centre frequencies (Hz) up to Nyquist, from 50 Hz.
pub fn third_octave_centres(sample_rate: u32) -> Vec<f64> {
    let nyquist = sample_rate as f64 / 2.0;
    (-13..=20).map(|k| 1000.0 * 2f64.powf(k as f64 / 3.0)).filter(|fc| fc * 2f64.powf(1.0 / 6.0) <= nyquist).collect()
}

pub struct BandAnalyzer {
    frame_len: usize,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// For each band, the bin range.
    bins: Vec<(usize, usize)>,
    centres: Vec<f64>,
    norm: f64,
    calibration_db: f64,
    buf: Vec<f32>,
    scratch_in: Vec<f32>,
    spectrum: Vec<realfft::num_complex::Complex<f32>>,
    /// Index (in samples since start) of the first sample in `buf`.
    frame_start: u64,
}

impl BandAnalyzer {
    pub fn new(sample_rate: u32, calibration_db: f64) -> BandAnalyzer {
        let frame_len = (sample_rate as usize / 8).max(16);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(frame_len);
        let window: Vec<f32> = (0..frame_len)
            .map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / frame_len as f64).cos())
            .map(|w| w as f32)
            .collect();
        let w2: f64 = window.iter().map(|&w| (w as f64) * (w as f64)).sum::<f64>() / frame_len as f64;
        let df = sample_rate as f64 / frame_len as f64;
        let centres = third_octave_centres(sample_rate);
        let bins = centres
            .iter()
            .map(|fc| {
                let lo = (fc * 2f64.powf(-1.0 / 6.0) / df).ceil() as usize;
                let hi = ((fc * 2f64.powf(1.0 / 6.0) / df).ceil() as usize).max(lo + 1);
                (lo.max(1), hi.min(frame_len / 2 + 1))
            })
            .collect();
        let spectrum = fft.make_output_vec();
        BandAnalyzer {
            frame_len,
            fft,
            window,
            bins,
            centres,
            norm: 2.0 / (frame_len as f64 * frame_len as f64 * w2),
            calibration_db,
            buf: Vec::with_capacity(frame_len),
            scratch_in: vec![0.0; frame_len],
            spectrum,
            frame_start: 0,
        }
    }

    pub fn centres_hz(&self) -> &[f64] {
        &self.centres
    }

    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// Feeds samples; returns `(first sample index, levels)` for each completed frame.
    pub fn process(&mut self, samples: &[f32]) -> Vec<(u64, Vec<f32>)> {
        let mut out = Vec::new();
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (self.frame_len - self.buf.len()).min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buf.len() == self.frame_len {
                let levels = self.levels_of(&self.buf.clone());
                out.push((self.frame_start, levels));
                self.frame_start += self.frame_len as u64;
                self.buf.clear();
            }
        }
        out
    }

    /// Band levels (dB) of one block of any length ≤ the frame length (zero-padded).
    pub fn levels_of(&mut self, block: &[f32]) -> Vec<f32> {
        let n = block.len().min(self.frame_len);
        self.scratch_in.iter_mut().for_each(|x| *x = 0.0);
        for ((o, &x), &w) in self.scratch_in.iter_mut().zip(&block[..n]).zip(&self.window) {
            *o = x * w;
        }
        if self.fft.process(&mut self.scratch_in, &mut self.spectrum).is_err() {
            return vec![f32::NAN; self.bins.len()];
        }
        let scale = self.frame_len as f64 / n.max(1) as f64;
        self.bins
            .iter()
            .map(|&(lo, hi)| {
                let p: f64 = self.spectrum[lo..hi].iter().map(|c| c.norm_sqr() as f64).sum::<f64>() * self.norm * scale;
                let db = 10.0 * (p + 1e-20).log10() + self.calibration_db;
                ((db * 10.0).round() / 10.0) as f32
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_1khz_tone_lands_in_the_1khz_band_at_its_level() {
        let mut b = BandAnalyzer::new(16_000, 0.0);
        assert_eq!(b.centres_hz().len(), 22);
        let amp = 0.1f32;
        let s: Vec<f32> =
            (0..4000).map(|i| amp * (std::f32::consts::TAU * 1000.0 * i as f32 / 16_000.0).sin()).collect();
        let frames = b.process(&s);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].0, 2000);
        let k = b.centres_hz().iter().position(|&f| (f - 1000.0).abs() < 1.0).unwrap();
        let expected = 20.0 * (amp as f64 / 2f64.sqrt()).log10();
        assert!((frames[0].1[k] as f64 - expected).abs() < 0.5, "{} vs {expected}", frames[0].1[k]);
        assert!(frames[0].1[k - 3] < frames[0].1[k] - 30.0);
    }
}
