//! `vigie bench audit`: appends per second (batched, durable: one fsync per file and one
//! signed checkpoint per batch), time to integrate a batch (append → fsync → signed
//! checkpoint), reopen and full-verify times, proof generation and verification speed.

use std::time::Instant;

use chrono::Utc;
use clap::Args;
use vigie_audit::merkle::{verify_consistency, verify_inclusion};
use vigie_audit::{Action, AuditEntry, AuditLog, AuditOptions, VerifyOptions};

use super::{peak_rss_mb, percentile};

#[derive(Args)]
pub struct AuditBenchArgs {
    /// A CI-sized run (a few seconds).
    #[arg(long)]
    smoke: bool,
    /// Entries to append (default 1 000 000; 20 000 with --smoke).
    #[arg(long)]
    entries: Option<u64>,
    /// Entries per batch (one group commit each).
    #[arg(long, default_value_t = 1000)]
    batch: u64,
    /// Folder for the log (default: a fresh folder under the system temp dir, removed after).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

const ACTIONS: [Action; 6] =
    [Action::Login, Action::ReadIncident, Action::ReadEvidence, Action::Search, Action::Transition, Action::Note];

fn entry(i: u64) -> AuditEntry {
    AuditEntry::new(
        format!("operator{:02}", i % 40),
        ACTIONS[(i % 6) as usize],
        format!("incident/01JDQ8M6N4X2V6Z7Y8W9{i:06}"),
    )
    .with_detail(serde_json::json!({ "zone": "bouffay-nord", "n": i % 97 }))
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

pub fn run(a: AuditBenchArgs) -> anyhow::Result<()> {
    let n = a.entries.unwrap_or(if a.smoke { 20_000 } else { 1_000_000 });
    let batch = a.batch.max(1);
    let (dir, remove_after) = match &a.dir {
        Some(d) => (d.clone(), false),
        None => (std::env::temp_dir().join(format!("vigie-bench-audit-{}", std::process::id())), true),
    };
    if dir.exists() {
        anyhow::bail!("{} already exists; give an empty --dir", dir.display());
    }
    let result = bench(&dir, n, batch);
    if remove_after {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn bench(dir: &std::path::Path, n: u64, batch: u64) -> anyhow::Result<()> {
    // 1. Durable batched appends; each batch's latency is its time to integrate.
    let mut log = AuditLog::open_with(dir, AuditOptions::default())?;
    let mut latencies_ms = Vec::new();
    let t0 = Instant::now();
    let mut next = 0;
    while next < n {
        let end = (next + batch).min(n);
        let t = Instant::now();
        log.append_batch((next..end).map(entry))?;
        latencies_ms.push(t.elapsed().as_secs_f64() * 1e3);
        next = end;
    }
    let append_s = t0.elapsed().as_secs_f64();
    let appends_per_s = n as f64 / append_s;
    latencies_ms.sort_by(f64::total_cmp);
    let bytes = std::fs::metadata(dir.join(vigie_audit::ENTRIES_FILE))?.len();
    eprintln!(
        "appends: {n} entries in batches of {batch}: {append_s:.2} s, {appends_per_s:.0}/s; integration (batch → fsync → signed checkpoint) p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies_ms, 0.5),
        percentile(&latencies_ms, 0.99),
        latencies_ms.last().copied().unwrap_or(0.0)
    );

    // 2. Proofs at the full size.
    let size = log.size();
    let root = log.root();
    let k = 20_000u64;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let seqs: Vec<u64> = (0..k).map(|_| xorshift(&mut x) % size).collect();
    let t = Instant::now();
    let proofs: Vec<_> = seqs.iter().map(|&s| log.inclusion_proof(s, size)).collect::<Result<_, _>>()?;
    let incl_gen = k as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for (s, p) in seqs.iter().zip(&proofs) {
        verify_inclusion(*s, size, &log.leaf_hash(*s).expect("leaf"), p, &root)?;
    }
    let incl_ver = k as f64 / t.elapsed().as_secs_f64();
    let olds: Vec<u64> = (0..k).map(|_| 1 + xorshift(&mut x) % size).collect();
    let t = Instant::now();
    let cproofs: Vec<_> = olds.iter().map(|&o| log.consistency_proof(o, size)).collect::<Result<_, _>>()?;
    let cons_gen = k as f64 / t.elapsed().as_secs_f64();
    let old_roots: Vec<_> = olds.iter().map(|&o| log.root_at(o)).collect::<Result<_, _>>()?;
    let t = Instant::now();
    for ((o, p), r) in olds.iter().zip(&cproofs).zip(&old_roots) {
        verify_consistency(*o, size, r, &root, p)?;
    }
    let cons_ver = k as f64 / t.elapsed().as_secs_f64();
    let proof_len = proofs.iter().map(Vec::len).max().unwrap_or(0);
    eprintln!(
        "proofs at size {size}: inclusion {incl_gen:.0}/s generated, {incl_ver:.0}/s verified ({proof_len} hashes); consistency {cons_gen:.0}/s generated, {cons_ver:.0}/s verified"
    );
    let checkpoint = log.checkpoint();
    drop(log);

    // 3. Reopen (rebuilds the tree from the entries) and full verification.
    let t = Instant::now();
    let reopened = AuditLog::open(dir)?;
    let reopen_ms = t.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(reopened.root() == root, "the reopened log has another root");
    drop(reopened);
    let t = Instant::now();
    let ok = vigie_audit::verify(dir, &VerifyOptions::default())?;
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(ok.entries == n && ok.root == root, "verification disagrees with the log");
    eprintln!(
        "reopen {reopen_ms:.0} ms, full verify {verify_ms:.0} ms ({} checkpoints); latest checkpoint {} size {} at {}",
        ok.checkpoints,
        checkpoint.origin,
        checkpoint.size,
        Utc::now().to_rfc3339()
    );

    let json = serde_json::json!({
        "bench": "audit",
        "entries": n,
        "batch": batch,
        "appends_per_s": appends_per_s.round(),
        "integration_ms": round2(percentile(&latencies_ms, 0.99)),
        "integration_ms_p50": round2(percentile(&latencies_ms, 0.5)),
        "integration_ms_max": round2(latencies_ms.last().copied().unwrap_or(0.0)),
        "bytes_per_entry": (bytes as f64 / n.max(1) as f64).round(),
        "inclusion_proofs_per_s": incl_gen.round(),
        "inclusion_verifies_per_s": incl_ver.round(),
        "consistency_proofs_per_s": cons_gen.round(),
        "consistency_verifies_per_s": cons_ver.round(),
        "reopen_ms": reopen_ms.round(),
        "verify_ms": verify_ms.round(),
        "checkpoints": ok.checkpoints,
        "peak_rss_mb": peak_rss_mb().round(),
    });
    println!("{json}");
    Ok(())
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
