//! Store and forward: finished segments leave the spool for the hub, oldest first,
//! `POST /api/v1/recordings/{camera}/segments` with the device token. A segment is
//! deleted only once the hub answers that it holds it (stored, or already stored: the
//! segment id makes a resend harmless) with the same SHA-256. A refusal (4xx) sets it
//! aside with the reason; a failure (5xx, network) is retried with back-off, and the
//! spool keeps recording meanwhile, within its bound.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::segment::SegmentMeta;
use crate::segment::spool::{self, Spooled};

/// Where segments go.
#[derive(Debug, Clone)]
pub struct UploadTarget {
    /// `http://host:port[/prefix]`
    pub hub: String,
    pub token: Option<String>,
}

/// Counters of the uploader.
#[derive(Debug, Default)]
pub struct UploadStats {
    pub uploaded: AtomicU64,
    pub duplicates: AtomicU64,
    pub refused: AtomicU64,
    pub failures: AtomicU64,
    /// Dropped from a full spool before the hub could take them.
    pub dropped: AtomicU64,
    pub bytes: AtomicU64,
}

/// How one upload went.
#[derive(Debug)]
enum Outcome {
    Held { duplicate: bool },
    Refused(String),
    Retry(String),
}

/// The hub's answer to an upload.
#[derive(serde::Deserialize)]
struct Answer {
    status: String,
    sha256: String,
}

fn query(m: &SegmentMeta) -> String {
    let start = m.start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    format!(
        "id={}&start={}&masked={}&masks={}&mode={}&pre_secs={}&post_secs={}",
        m.id,
        start.replace('+', "%2B").replace(':', "%3A"),
        m.masked,
        m.masks,
        m.mode.as_str(),
        m.pre_secs,
        m.post_secs
    )
}

fn upload(agent: &ureq::Agent, target: &UploadTarget, s: &Spooled) -> Outcome {
    let body = match std::fs::read(&s.file) {
        Ok(b) => b,
        Err(e) => return Outcome::Retry(format!("{}: {e}", s.file.display())),
    };
    let url =
        format!("{}/api/v1/recordings/{}/segments?{}", target.hub.trim_end_matches('/'), s.meta.camera, query(&s.meta));
    let mut req = agent.post(&url).header("content-type", "video/mp4");
    if let Some(t) = &target.token {
        req = req.header("authorization", &format!("Bearer {t}"));
    }
    let mut resp = match req.send(&body[..]) {
        Ok(r) => r,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    match status {
        200 | 201 => match serde_json::from_str::<Answer>(&text) {
            Ok(a) if a.sha256 == s.meta.sha256 => Outcome::Held { duplicate: a.status == "duplicate" },
            Ok(a) => Outcome::Retry(format!("the hub holds another file under this id (sha256 {})", a.sha256)),
            Err(e) => Outcome::Retry(format!("unreadable answer from the hub: {e}")),
        },
        // Too many requests, or the hub's store busy: later.
        408 | 429 => Outcome::Retry(format!("{status}: {}", text.trim())),
        400..=499 => Outcome::Refused(format!("{status}: {}", text.trim())),
        _ => Outcome::Retry(format!("{status}: {}", text.trim())),
    }
}

/// Uploads until `stop` is set and nothing is left (or the hub stays unreachable past
/// `drain_secs` after the stop).
pub fn run(
    target: UploadTarget,
    spool_dir: PathBuf,
    max_bytes: u64,
    stop: Arc<AtomicBool>,
    stats: Arc<UploadStats>,
    drain_secs: f64,
) {
    let agent = ureq::Agent::new_with_config(
        ureq::config::Config::builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build(),
    );
    let mut backoff = Duration::from_millis(250);
    let mut stopped_at: Option<Instant> = None;
    loop {
        if stop.load(Ordering::Relaxed) && stopped_at.is_none() {
            stopped_at = Some(Instant::now());
        }
        match spool::enforce_budget(&spool_dir, max_bytes) {
            Ok(d) => {
                stats.dropped.fetch_add(d.len() as u64, Ordering::Relaxed);
            }
            Err(e) => tracing::error!(error = %e, "spool"),
        }
        let pending = spool::list(&spool_dir).unwrap_or_default();
        if pending.is_empty() {
            if stopped_at.is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        let mut failed = false;
        for s in &pending {
            match upload(&agent, &target, s) {
                Outcome::Held { duplicate } => {
                    if duplicate {
                        stats.duplicates.fetch_add(1, Ordering::Relaxed);
                    } else {
                        stats.uploaded.fetch_add(1, Ordering::Relaxed);
                        stats.bytes.fetch_add(s.meta.bytes, Ordering::Relaxed);
                    }
                    if let Err(e) = s.remove() {
                        tracing::error!(error = %e, "cannot remove an uploaded segment from the spool");
                    }
                    backoff = Duration::from_millis(250);
                }
                Outcome::Refused(reason) => {
                    stats.refused.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(camera = %s.meta.camera, segment = %s.meta.id, %reason,
                        "the hub refused a segment: set aside in the spool's refused folder");
                    if let Err(e) = spool::set_aside(&spool_dir, s, &reason) {
                        tracing::error!(error = %e, "cannot set the refused segment aside");
                    }
                }
                Outcome::Retry(reason) => {
                    stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(camera = %s.meta.camera, segment = %s.meta.id, %reason, "upload failed, retrying");
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            if stopped_at.is_some_and(|t| t.elapsed().as_secs_f64() > drain_secs) {
                tracing::warn!(
                    left = pending.len(),
                    "stopping with segments still in the spool (uploaded at the next start)"
                );
                return;
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }
}
