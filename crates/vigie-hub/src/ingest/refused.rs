//! A bounded sample of recent refusals, visible through the API, so an integrator sees why
//! a device's detections bounce without reading hub logs.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;
use vigie_model::Refusal;

use crate::metrics::Transport;

const SAMPLE_LEN: usize = 200;
const EXCERPT_BYTES: usize = 256;

#[derive(Debug, Clone, Serialize)]
pub struct RefusedSample {
    pub at: DateTime<Utc>,
    pub transport: Transport,
    /// The MQTT topic, when it came over MQTT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    pub reason: &'static str,
    pub detail: String,
    /// The first bytes of the payload, lossily decoded.
    pub excerpt: String,
}

#[derive(Default)]
pub struct RefusedLog {
    recent: Mutex<VecDeque<RefusedSample>>,
}

impl RefusedLog {
    pub fn record(
        &self,
        at: DateTime<Utc>,
        transport: Transport,
        topic: Option<&str>,
        refusal: &Refusal,
        payload: &[u8],
    ) {
        let cut = payload.len().min(EXCERPT_BYTES);
        let sample = RefusedSample {
            at,
            transport,
            topic: topic.map(str::to_owned),
            reason: refusal.reason.as_str(),
            detail: refusal.detail.chars().take(500).collect(),
            excerpt: String::from_utf8_lossy(&payload[..cut]).into_owned(),
        };
        let mut q = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() == SAMPLE_LEN {
            q.pop_front();
        }
        q.push_back(sample);
    }

    /// Newest first.
    pub fn recent(&self, limit: usize) -> Vec<RefusedSample> {
        let q = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        q.iter().rev().take(limit).cloned().collect()
    }
}
