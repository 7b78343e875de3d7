//! Running sources side by side: one thread per source, a bounded channel to the pipeline,
//! per-source counters, and a stop flag that every source checks between waits.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::post::{Platform, Post, RawPost};
use crate::privacy::{Admission, Rejection};

/// What a source hands the pipeline.
#[derive(Debug)]
pub enum SourceMsg {
    Post(Post<'static>),
    /// The platform says this post was deleted: drop it from the search index.
    Delete(String),
}

/// Counters of one source, readable while it runs.
#[derive(Debug, Default)]
pub struct SourceStats {
    pub name: String,
    pub posts: AtomicU64,
    pub deletes: AtomicU64,
    pub rejected: Mutex<BTreeMap<&'static str, u64>>,
    /// Errors by kind (`connect`, `http_status`, `not_a_feed`, `stalled`, `bad_event`…).
    pub errors: Mutex<BTreeMap<&'static str, u64>>,
    pub last_error: Mutex<Option<String>>,
}

impl SourceStats {
    pub fn error_count(&self, kind: &str) -> u64 {
        self.errors.lock().map(|e| e.get(kind).copied().unwrap_or(0)).unwrap_or(0)
    }

    pub fn rejected_count(&self, reason: &str) -> u64 {
        self.rejected.lock().map(|e| e.get(reason).copied().unwrap_or(0)).unwrap_or(0)
    }

    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "source": self.name,
            "posts": self.posts.load(Ordering::Relaxed),
            "deletes": self.deletes.load(Ordering::Relaxed),
            "rejected": self.rejected.lock().map(|m| m.clone()).unwrap_or_default(),
            "errors": self.errors.lock().map(|m| m.clone()).unwrap_or_default(),
            "last_error": self.last_error.lock().ok().and_then(|e| e.clone()),
        })
    }
}

/// A cooperative stop flag.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Sleeps up to `d`, waking early when stopped; false if stopped.
    pub fn sleep(&self, d: Duration) -> bool {
        let end = std::time::Instant::now() + d;
        while !self.stopped() {
            let now = std::time::Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(100)));
        }
        false
    }
}

/// A source's door into the pipeline: admission (privacy) happens here, on the source's
/// thread, so that handles never cross the channel.
pub struct Intake {
    tx: SyncSender<SourceMsg>,
    pub stats: Arc<SourceStats>,
    admission: Admission,
    stop: Stop,
}

impl Intake {
    pub fn new(tx: SyncSender<SourceMsg>, stats: Arc<SourceStats>, admission: Admission, stop: Stop) -> Self {
        Intake { tx, stats, admission, stop }
    }

    /// Admits and forwards one post; false once the pipeline is gone or stopped.
    pub fn offer(&mut self, raw: RawPost<'_>, platform: Platform) -> bool {
        match self.admission.admit(raw, platform) {
            Ok(p) => {
                self.stats.posts.fetch_add(1, Ordering::Relaxed);
                self.send(SourceMsg::Post(p.into_owned()))
            }
            Err(r) => {
                self.reject(r);
                true
            }
        }
    }

    pub fn delete(&mut self, id: String) -> bool {
        self.stats.deletes.fetch_add(1, Ordering::Relaxed);
        self.send(SourceMsg::Delete(id))
    }

    /// Blocks while the pipeline is busy (back-pressure), but not past a stop.
    fn send(&self, mut msg: SourceMsg) -> bool {
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(m)) => {
                    if self.stop.stopped() {
                        return false;
                    }
                    msg = m;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }

    pub fn reject(&self, r: Rejection) {
        if let Ok(mut m) = self.stats.rejected.lock() {
            *m.entry(r.as_str()).or_insert(0) += 1;
        }
    }

    pub fn error(&self, kind: &'static str, detail: impl Into<String>) {
        let detail = detail.into();
        tracing::warn!(source = %self.stats.name, error_type = kind, error = %detail, "source error");
        if let Ok(mut m) = self.stats.errors.lock() {
            *m.entry(kind).or_insert(0) += 1;
        }
        if let Ok(mut e) = self.stats.last_error.lock() {
            *e = Some(detail);
        }
    }

    pub fn stop(&self) -> &Stop {
        &self.stop
    }
}

/// A source of posts that runs until stopped (or, for files, until its end).
pub trait Source: Send {
    fn name(&self) -> String;
    fn run(self: Box<Self>, intake: Intake);
}

/// Running sources.
pub struct Running {
    pub rx: Receiver<SourceMsg>,
    pub stats: Vec<Arc<SourceStats>>,
    pub stop: Stop,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Running {
    /// True once every source thread has ended (files read to their end).
    pub fn all_done(&self) -> bool {
        self.handles.iter().all(|h| h.is_finished())
    }

    pub fn join(self) {
        self.stop.stop();
        drop(self.rx);
        for h in self.handles {
            let _ = h.join();
        }
    }
}

/// Starts each source on its own thread.
pub fn spawn(sources: Vec<Box<dyn Source>>, admission: &Admission, channel_capacity: usize) -> Running {
    let (tx, rx) = std::sync::mpsc::sync_channel(channel_capacity.max(1));
    let stop = Stop::default();
    let mut stats = Vec::new();
    let mut handles = Vec::new();
    for s in sources {
        let st = Arc::new(SourceStats { name: s.name(), ..SourceStats::default() });
        stats.push(st.clone());
        let intake = Intake::new(tx.clone(), st, admission.clone(), stop.clone());
        let name = s.name();
        let h = std::thread::Builder::new()
            .name(format!("src-{}", name.chars().take(10).collect::<String>()))
            .spawn(move || s.run(intake));
        match h {
            Ok(h) => handles.push(h),
            Err(e) => tracing::error!(source = %name, error = %e, "cannot start the source's thread"),
        }
    }
    Running { rx, stats, stop, handles }
}

/// Exponential back-off with jitter: `base · 2^failures`, capped, ±20 %.
pub fn backoff(base: Duration, failures: u32, cap: Duration, jitter_seed: u64) -> Duration {
    let exp = base.saturating_mul(1u32 << failures.min(16)).min(cap);
    let j = (jitter_seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as f64 / (1u64 << 24) as f64; // 0..1
    exp.mul_f64(0.8 + 0.4 * j).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let b = Duration::from_secs(10);
        let cap = Duration::from_secs(300);
        assert!(backoff(b, 0, cap, 1) <= Duration::from_secs(12));
        assert!(backoff(b, 3, cap, 1) >= Duration::from_secs(64));
        assert!(backoff(b, 30, cap, 7) <= cap);
    }
}
