//! Vigie acoustic analytics: a pipeline of small stages.
//!
//! ```text
//! decode → bands (⅓-octave levels every 125 ms) ┐
//!        → onset (energy ratio + AIC pick) → features → classify → emit (detections)
//! detections of several sensors → locate (TDOA, robust IRLS) → detection at the source
//! ```
//!
//! What leaves a sensor is, by construction, only [`stages::bands::BandFrame`]s, event
//! features inside [`vigie_model::Detection`]s and [`stages::health::HealthEvent`]s: the
//! waveform stays in the process memory of [`pipeline::Listener`] and is never serialised
//! (no type that leaves holds samples). Microphones never record or transcribe speech.
//!
//! [`simulate`] synthesises multi-sensor scenarios (no real recordings, no speech) with
//! their ground truth; tests and `vigie bench audio` use it.

pub mod error;
pub mod input;
pub mod pipeline;
pub mod rng;
pub mod runner;
pub mod simulate;
pub mod stages;
pub mod wav;

pub use error::AudioError;
pub use pipeline::{Listener, ListenerConfig, Microphone, Output};
pub use stages::locate::{LocateConfig, OnsetReport, locate_all};

/// Speed of sound in dry air, m/s, at a temperature in °C: `331.3·sqrt(1 + T/273.15)`.
pub fn speed_of_sound(temperature_c: f64) -> f64 {
    331.3 * (1.0 + temperature_c / 273.15).max(0.0).sqrt()
}

#[cfg(test)]
mod tests {
    #[test]
    fn speed_of_sound_follows_temperature() {
        assert!((super::speed_of_sound(0.0) - 331.3).abs() < 1e-9);
        assert!((super::speed_of_sound(20.0) - 343.2).abs() < 0.1);
    }
}
