//! Differential-privacy noise: the two-sided geometric mechanism (the discrete Laplace),
//! ε-differentially private for integer counts of L1 sensitivity Δ when its parameter is
//! α = exp(−ε/Δ). Integer noise avoids the floating-point weaknesses of a continuous
//! Laplace sampler. Randomness comes from the operating system, never from a seed.

use crate::error::FlowsError;

/// A source of geometric noise for one table: ε and the table's sensitivity.
pub struct GeometricNoise {
    /// ln α = −ε/Δ.
    ln_alpha: f64,
    buf: Vec<u64>,
}

impl GeometricNoise {
    pub fn new(epsilon: f64, sensitivity: f64) -> Result<Self, FlowsError> {
        if !(epsilon > 0.0 && sensitivity > 0.0 && epsilon.is_finite() && sensitivity.is_finite()) {
            return Err(FlowsError::Budget(format!("noise needs ε > 0 and Δ > 0 (ε = {epsilon}, Δ = {sensitivity})")));
        }
        Ok(GeometricNoise { ln_alpha: -epsilon / sensitivity, buf: Vec::new() })
    }

    fn uniform(&mut self) -> Result<f64, FlowsError> {
        if self.buf.is_empty() {
            let mut bytes = vec![0u8; 8 * 1024];
            getrandom::fill(&mut bytes).map_err(|e| FlowsError::Budget(format!("no random source for noise: {e}")))?;
            self.buf = bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default())).collect();
        }
        let x = self.buf.pop().unwrap_or(0);
        // (0, 1]: never 0, so the logarithm is finite.
        Ok(((x >> 11) as f64 + 1.0) / (1u64 << 53) as f64)
    }

    /// One geometric variable on {0, 1, …}: P(G = g) = (1 − α) α^g.
    fn geometric(&mut self) -> Result<i64, FlowsError> {
        let u = self.uniform()?;
        Ok((u.ln() / self.ln_alpha).floor().min(1e12) as i64)
    }

    /// Two-sided geometric noise (difference of two geometric variables).
    pub fn sample(&mut self) -> Result<i64, FlowsError> {
        Ok(self.geometric()? - self.geometric()?)
    }

    /// The expected absolute noise, for the report.
    pub fn mean_abs(epsilon: f64, sensitivity: f64) -> f64 {
        let a = (-epsilon / sensitivity).exp();
        2.0 * a / (1.0 - a * a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_centred_with_the_expected_spread() {
        let (eps, delta) = (0.5, 2.0);
        let mut n = GeometricNoise::new(eps, delta).unwrap();
        let xs: Vec<i64> = (0..40_000).map(|_| n.sample().unwrap()).collect();
        let mean = xs.iter().sum::<i64>() as f64 / xs.len() as f64;
        let mabs = xs.iter().map(|x| x.abs()).sum::<i64>() as f64 / xs.len() as f64;
        let want = GeometricNoise::mean_abs(eps, delta);
        assert!(mean.abs() < 0.15, "{mean}");
        assert!((mabs - want).abs() / want < 0.05, "{mabs} vs {want}");
    }

    #[test]
    fn rejects_a_nonsense_budget() {
        assert!(GeometricNoise::new(0.0, 1.0).is_err());
        assert!(GeometricNoise::new(1.0, f64::NAN).is_err());
    }
}
