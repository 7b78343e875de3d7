//! The hub's counters, exposed in the Prometheus text format at `/metrics`.
//!
//! Names follow `vigie_<area>_<name>_<unit>[_total]`; labels are bounded (transport,
//! refusal reason).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use vigie_model::{FixRefusalReason, RefusalReason};

/// Where a detection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Mqtt,
    Http,
    Internal,
}

impl Transport {
    pub const ALL: [Transport; 3] = [Transport::Mqtt, Transport::Http, Transport::Internal];
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Mqtt => "mqtt",
            Transport::Http => "http",
            Transport::Internal => "internal",
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    received: [AtomicU64; 3],
    refused: [[AtomicU64; 32]; 3],
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub store_failures: AtomicU64,
    pub batches: AtomicU64,
    pub batch_detections: AtomicU64,
    pub commit_micros: AtomicU64,
    pub fusion_micros: AtomicU64,
    pub incidents_opened: AtomicU64,
    pub incident_updates: AtomicU64,
    pub actions: AtomicU64,
    pub live_lagged: AtomicU64,
    pub fusion_pending: AtomicU64,
    pub fusion_joinable: AtomicU64,
    pub logins_locked: AtomicU64,
    fixes_received: [AtomicU64; 3],
    fixes_refused: [[AtomicU64; 16]; 3],
    pub fixes_accepted: AtomicU64,
    pub fixes_duplicate: AtomicU64,
    /// Detections of mobile sensors placed by telemetry, or left where their producer said.
    pub positioned_by_telemetry: AtomicU64,
    pub positioned_by_producer: AtomicU64,
}

fn fix_reason_index(r: FixRefusalReason) -> usize {
    FixRefusalReason::ALL.iter().position(|x| *x == r).unwrap_or(0)
}

fn reason_index(r: RefusalReason) -> usize {
    RefusalReason::ALL.iter().position(|x| *x == r).unwrap_or(0)
}

impl Metrics {
    pub fn received(&self, t: Transport) {
        self.received[t as usize].fetch_add(1, Relaxed);
    }
    pub fn refused(&self, t: Transport, r: RefusalReason) {
        self.refused[t as usize][reason_index(r)].fetch_add(1, Relaxed);
    }
    pub fn refused_count(&self, r: RefusalReason) -> u64 {
        Transport::ALL.iter().map(|t| self.refused[*t as usize][reason_index(r)].load(Relaxed)).sum()
    }
    pub fn fix_received(&self, t: Transport) {
        self.fixes_received[t as usize].fetch_add(1, Relaxed);
    }
    pub fn fix_refused(&self, t: Transport, r: FixRefusalReason) {
        self.fixes_refused[t as usize][fix_reason_index(r)].fetch_add(1, Relaxed);
    }
    pub fn fix_refused_count(&self, r: FixRefusalReason) -> u64 {
        Transport::ALL.iter().map(|t| self.fixes_refused[*t as usize][fix_reason_index(r)].load(Relaxed)).sum()
    }
    pub fn received_count(&self) -> u64 {
        self.received.iter().map(|a| a.load(Relaxed)).sum()
    }

    /// The Prometheus text exposition.
    /// `extra`: (name, help, value) of other parts' figures; names ending in `_total` are
    /// counters, the others gauges.
    pub fn render(&self, extra: &[(&str, &str, u64)]) -> String {
        let mut out = String::with_capacity(8192);
        out.push_str("# HELP vigie_ingest_detections_received_total Detections received, by transport.\n");
        out.push_str("# TYPE vigie_ingest_detections_received_total counter\n");
        for t in Transport::ALL {
            let _ = writeln!(
                out,
                "vigie_ingest_detections_received_total{{transport=\"{}\"}} {}",
                t.as_str(),
                self.received[t as usize].load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP vigie_ingest_detections_refused_total Detections refused, by transport and reason.\n# TYPE vigie_ingest_detections_refused_total counter"
        );
        for t in Transport::ALL {
            for r in RefusalReason::ALL {
                let _ = writeln!(
                    out,
                    "vigie_ingest_detections_refused_total{{transport=\"{}\",reason=\"{}\"}} {}",
                    t.as_str(),
                    r.as_str(),
                    self.refused[t as usize][reason_index(*r)].load(Relaxed)
                );
            }
        }
        self.render_telemetry(&mut out);
        let counters: [(&str, &str, &AtomicU64); 11] = [
            (
                "vigie_fusion_micros_total",
                "Time spent fusing detections into incidents, microseconds.",
                &self.fusion_micros,
            ),
            ("vigie_ingest_detections_accepted_total", "Detections committed to the store.", &self.accepted),
            (
                "vigie_ingest_detections_duplicate_total",
                "Detections already stored (redeliveries), acknowledged again.",
                &self.duplicates,
            ),
            (
                "vigie_store_commit_failures_total",
                "Batches whose commit failed (not acknowledged; producers resend).",
                &self.store_failures,
            ),
            ("vigie_store_batches_total", "Write transactions committed.", &self.batches),
            ("vigie_store_batch_detections_total", "Detections written, summed over batches.", &self.batch_detections),
            ("vigie_store_commit_micros_total", "Time spent writing batches, microseconds.", &self.commit_micros),
            ("vigie_fusion_incidents_opened_total", "Incidents opened by fusion.", &self.incidents_opened),
            ("vigie_fusion_incident_updates_total", "Incident changes caused by detections.", &self.incident_updates),
            ("vigie_incidents_actions_total", "Operator actions applied to incidents.", &self.actions),
            (
                "vigie_auth_logins_locked_total",
                "Sign-ins refused unchecked because the account or client address was locked out.",
                &self.logins_locked,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", v.load(Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP vigie_live_lagged_total Live-stream clients that fell behind and skipped events.\n# TYPE vigie_live_lagged_total counter\nvigie_live_lagged_total {}",
            self.live_lagged.load(Relaxed)
        );
        for (name, help, v) in [
            (
                "vigie_fusion_pending_detections",
                "Detections waiting for partners in fusion windows.",
                &self.fusion_pending,
            ),
            ("vigie_fusion_joinable_incidents", "Open incidents that still take detections.", &self.fusion_joinable),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}", v.load(Relaxed));
        }
        for (name, help, v) in extra {
            let kind = if name.ends_with("_total") { "counter" } else { "gauge" };
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        }
        out
    }
}

impl Metrics {
    /// Position fixes of mobile sensors, and how detections of mobile sensors were placed.
    fn render_telemetry(&self, out: &mut String) {
        out.push_str("# HELP vigie_ingest_telemetry_received_total Position fixes received, by transport.\n");
        out.push_str("# TYPE vigie_ingest_telemetry_received_total counter\n");
        for t in Transport::ALL {
            let n = self.fixes_received[t as usize].load(Relaxed);
            let _ = writeln!(out, "vigie_ingest_telemetry_received_total{{transport=\"{}\"}} {n}", t.as_str());
        }
        out.push_str("# HELP vigie_ingest_telemetry_refused_total Position fixes refused, by transport and reason.\n");
        out.push_str("# TYPE vigie_ingest_telemetry_refused_total counter\n");
        for t in Transport::ALL {
            for r in FixRefusalReason::ALL {
                let n = self.fixes_refused[t as usize][fix_reason_index(*r)].load(Relaxed);
                let _ = writeln!(
                    out,
                    "vigie_ingest_telemetry_refused_total{{transport=\"{}\",reason=\"{}\"}} {n}",
                    t.as_str(),
                    r.as_str()
                );
            }
        }
        for (name, help, v) in [
            ("vigie_ingest_telemetry_accepted_total", "Position fixes stored.", &self.fixes_accepted),
            (
                "vigie_ingest_telemetry_duplicate_total",
                "Position fixes already stored (redeliveries), acknowledged again.",
                &self.fixes_duplicate,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", v.load(Relaxed));
        }
        let name = "vigie_ingest_detections_positioned_total";
        let _ = writeln!(
            out,
            "# HELP {name} Detections of mobile sensors, by where their position came from.\n# TYPE {name} counter"
        );
        let _ = writeln!(out, "{name}{{source=\"telemetry\"}} {}", self.positioned_by_telemetry.load(Relaxed));
        let _ = writeln!(out, "{name}{{source=\"producer\"}} {}", self.positioned_by_producer.load(Relaxed));
    }
}
