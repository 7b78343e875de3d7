//! Corruption probes on a real audit folder: each kind of tampering is detected and
//! reported with the right message naming the right entry.

use std::fs;
use std::path::Path;

use chrono::{DateTime, Utc};
use vigie_audit::merkle::{verify_consistency, verify_inclusion};
use vigie_audit::{
    Action, AuditEntry, AuditError, AuditLog, AuditOptions, CHECKPOINTS_FILE, ENTRIES_FILE, LEAVES_FILE, Tamper,
    VerifyOptions, verify,
};

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T21:30:05.123Z").unwrap().with_timezone(&Utc)
}

fn entry(i: u64) -> AuditEntry {
    let action = [Action::Login, Action::ReadIncident, Action::ReadEvidence, Action::Search][(i % 4) as usize];
    AuditEntry::at(at(), format!("op{}", i % 3), action, format!("incident/{i:04}"))
        .with_detail(serde_json::json!({ "n": i }))
}

/// A log of 40 entries in batches of 10 (so 5 checkpoints: sizes 0, 10, 20, 30, 40).
fn sample(dir: &Path) -> AuditLog {
    let mut log = AuditLog::open_with(dir, AuditOptions { sync: false, ..AuditOptions::default() }).unwrap();
    for b in 0..4 {
        log.append_batch((b * 10..b * 10 + 10).map(entry)).unwrap();
    }
    log
}

fn lines(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join(ENTRIES_FILE)).unwrap().lines().map(str::to_owned).collect()
}

fn write_lines(dir: &Path, lines: &[String]) {
    fs::write(dir.join(ENTRIES_FILE), lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

fn tamper(dir: &Path) -> Tamper {
    match verify(dir, &VerifyOptions::default()) {
        Err(AuditError::Tampered(t)) => t,
        other => panic!("expected tampering to be found, got {other:?}"),
    }
}

#[test]
fn an_untouched_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample(dir.path());
    let ok = verify(dir.path(), &VerifyOptions::default()).unwrap();
    assert_eq!(ok.entries, 40);
    assert_eq!(ok.root, log.root());
    assert_eq!(ok.checkpoints, 5);
    assert_eq!(ok.signed_by, log.public_key());
}

#[test]
fn reopening_continues_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = sample(dir.path()).root();
    let mut log = AuditLog::open(dir.path()).unwrap();
    assert_eq!((log.size(), log.root()), (40, root));
    assert_eq!(log.append(entry(40)).unwrap(), 40);
    let cp = log.checkpoint();
    assert_eq!(cp.size, 41);
    let proof = log.consistency_proof(40, 41).unwrap();
    verify_consistency(40, 41, &root, &log.root(), &proof).unwrap();
    verify(dir.path(), &VerifyOptions::default()).unwrap();
}

#[test]
fn one_writer_per_folder() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample(dir.path());
    let second = AuditLog::open(dir.path()).err().expect("a second writer is refused");
    assert!(second.to_string().contains("in use by another process"), "{second}");
    verify(dir.path(), &VerifyOptions::default()).expect("reading while it is held is fine");
    drop(log);
    AuditLog::open(dir.path()).expect("free again once the first is closed");
}

#[test]
fn changed_entry_is_named_exactly() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let mut l = lines(dir.path());
    l[23] = l[23].replace("op2", "op9");
    write_lines(dir.path(), &l);
    let t = tamper(dir.path());
    assert_eq!(t, Tamper::ChangedEntry { seq: 23, line: 24, checkpoint_size: 30 });
    assert!(t.to_string().starts_with("entry 23 (line 24) was changed"), "{t}");
}

#[test]
fn changed_entry_with_rewritten_recorded_hashes_is_bracketed_to_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let mut l = lines(dir.path());
    l[23] = l[23].replace("op2", "op9");
    write_lines(dir.path(), &l);
    // The attacker also rewrites the recorded leaf hash of the entry.
    let mut recorded = fs::read(dir.path().join(LEAVES_FILE)).unwrap();
    let new_leaf = vigie_audit::merkle::leaf_hash(l[23].as_bytes());
    recorded[23 * 32..24 * 32].copy_from_slice(&new_leaf.0);
    fs::write(dir.path().join(LEAVES_FILE), recorded).unwrap();
    let t = tamper(dir.path());
    assert_eq!(t, Tamper::ChangedEntryInRange { seq: 20, line: 21, good_size: 20, checkpoint_size: 30 });
}

#[test]
fn removed_entry_is_named() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let mut l = lines(dir.path());
    l.remove(12);
    write_lines(dir.path(), &l);
    let t = tamper(dir.path());
    assert_eq!(t, Tamper::RemovedEntry { seq: 12, line: 13, found: 13 });
    assert_eq!(t.to_string(), "entry 12 was removed: line 13 holds entry 13");
}

#[test]
fn reordered_entries_are_named() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let mut l = lines(dir.path());
    l.swap(5, 6);
    write_lines(dir.path(), &l);
    let t = tamper(dir.path());
    assert_eq!(t, Tamper::ReorderedEntry { seq: 5, line: 6, found: 6, seq_line: 7 });
}

#[test]
fn reordered_entries_with_renumbered_seq_are_caught_by_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let mut l = lines(dir.path());
    l.swap(5, 6);
    l[5] = l[5].replacen("\"seq\":6", "\"seq\":5", 1);
    l[6] = l[6].replacen("\"seq\":5", "\"seq\":6", 1);
    write_lines(dir.path(), &l);
    assert_eq!(tamper(dir.path()), Tamper::ChangedEntry { seq: 5, line: 6, checkpoint_size: 10 });
}

#[test]
fn truncated_log_is_a_wrong_size() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let l = lines(dir.path());
    write_lines(dir.path(), &l[..37]);
    let t = tamper(dir.path());
    assert_eq!(t, Tamper::ShorterThanCheckpoint { entries: 37, size: 40 });
    assert!(t.to_string().starts_with("wrong size: the log holds 37 entries but a checkpoint signs 40"));
}

#[test]
fn unsigned_extra_entries_are_a_wrong_size() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let mut l = lines(dir.path());
    let mut extra = entry(40);
    extra.seq = 40;
    l.push(String::from_utf8(extra.to_line()).unwrap());
    write_lines(dir.path(), &l);
    assert_eq!(tamper(dir.path()), Tamper::LongerThanCheckpoint { entries: 41, size: 40 });
}

#[test]
fn forged_checkpoint_size_fails_its_signature() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let text = fs::read_to_string(dir.path().join(CHECKPOINTS_FILE)).unwrap();
    let mut cps: Vec<String> = text.lines().map(str::to_owned).collect();
    let last = cps.len() - 1;
    cps[last] = cps[last].replace("\"size\":40", "\"size\":39");
    fs::write(dir.path().join(CHECKPOINTS_FILE), cps.join("\n") + "\n").unwrap();
    assert_eq!(tamper(dir.path()), Tamper::BadSignature { line: 5, size: 39 });
}

#[test]
fn checkpoint_signed_by_another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let other = tempfile::tempdir().unwrap();
    let other_log = AuditLog::open(other.path()).unwrap();
    let key = vigie_audit::checkpoint::parse_vkey(&other_log.public_key()).unwrap();
    let opts = VerifyOptions { public_key: Some(key), ..VerifyOptions::default() };
    assert!(matches!(verify(dir.path(), &opts), Err(AuditError::Tampered(Tamper::BadSignature { line: 1, .. }))));
}

#[test]
fn malformed_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let mut l = lines(dir.path());
    l[3] = l[3].replace("\"actor\"", "\"face\"");
    write_lines(dir.path(), &l);
    assert!(matches!(tamper(dir.path()), Tamper::MalformedEntry { line: 4, .. }));
}

#[test]
fn proofs_from_the_log_verify_and_flipped_bits_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample(dir.path());
    let (size, root) = (log.size(), log.root());
    for seq in 0..size {
        let mut proof = log.inclusion_proof(seq, size).unwrap();
        let leaf = log.leaf_hash(seq).unwrap();
        verify_inclusion(seq, size, &leaf, &proof, &root).unwrap();
        proof[0].0[5] ^= 1;
        assert!(verify_inclusion(seq, size, &leaf, &proof, &root).is_err());
    }
    let old_root = log.root_at(10).unwrap();
    let mut proof = log.consistency_proof(10, size).unwrap();
    verify_consistency(10, size, &old_root, &root, &proof).unwrap();
    proof[1].0[31] ^= 0x80;
    assert!(verify_consistency(10, size, &old_root, &root, &proof).is_err());
}

#[test]
fn a_crash_before_the_checkpoint_moves_the_tail_aside() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let mut l = lines(dir.path());
    let mut extra = entry(40);
    extra.seq = 40;
    l.push(String::from_utf8(extra.to_line()).unwrap());
    write_lines(dir.path(), &l);
    let mut text = fs::read_to_string(dir.path().join(ENTRIES_FILE)).unwrap();
    text.push_str("{\"seq\":41,\"at\""); // half a line
    fs::write(dir.path().join(ENTRIES_FILE), text).unwrap();
    let log = AuditLog::open(dir.path()).unwrap();
    assert_eq!(log.size(), 40);
    assert!(dir.path().join("uncommitted-40.jsonl").exists());
    verify(dir.path(), &VerifyOptions::default()).unwrap();
}

#[test]
fn open_refuses_a_tampered_log() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let mut l = lines(dir.path());
    l[39] = l[39].replace("op0", "op1");
    write_lines(dir.path(), &l);
    assert!(AuditLog::open(dir.path()).is_err());
}

/// 40 entries, each a minute after the one before, in batches of 10.
fn dated(dir: &Path) -> AuditLog {
    let mut log = AuditLog::open_with(dir, AuditOptions { sync: false, ..AuditOptions::default() }).unwrap();
    for b in 0..4 {
        let batch = (b * 10..b * 10 + 10).map(|i| {
            let mut e = entry(i);
            e.at = at() + chrono::Duration::minutes(i as i64);
            e
        });
        log.append_batch(batch).unwrap();
    }
    log
}

#[test]
fn retention_blanks_old_entries_and_the_log_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = dated(dir.path());
    let root_before = log.root_at(40).unwrap();
    // Entries 0..25 are older than the cut.
    assert_eq!(log.redact_before(at() + chrono::Duration::minutes(25)).unwrap(), 25);
    assert_eq!(log.redact_before(at() + chrono::Duration::minutes(25)).unwrap(), 0, "nothing more to do");
    let l = lines(dir.path());
    assert_eq!(l.len(), 41, "40 entries and the purge's declaration");
    assert!(l[..25].iter().all(|x| x.contains("\"redacted\"") && !x.contains("op")), "no actor left: {}", l[0]);
    assert!(l[25].contains("\"op"), "newer entries are untouched: {}", l[25]);
    assert!(l[40].contains("\"redacted_before_seq\":25"), "{}", l[40]);
    let ok = verify(dir.path(), &VerifyOptions::default()).expect("a purged log verifies");
    assert_eq!((ok.entries, ok.redacted), (41, 25));
    assert_eq!(log.root_at(40).unwrap(), root_before, "the tree is the same");
    drop(log);
    let mut again = AuditLog::open(dir.path()).expect("reopens with the blanked lines");
    assert_eq!(again.size(), 41);
    again.append(entry(99)).unwrap();
    verify(dir.path(), &VerifyOptions::default()).unwrap();
}

#[test]
fn a_blanked_entry_that_no_purge_declared_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = dated(dir.path());
    log.redact_before(at() + chrono::Duration::minutes(10)).unwrap();
    let leaf = log.leaf_hash(30).unwrap();
    drop(log);
    // Someone hides entry 30 by blanking it like a purge would, with its true hash.
    let mut l = lines(dir.path());
    l[30] = format!(r#"{{"seq":30,"redacted":"{}"}}"#, leaf.to_hex());
    write_lines(dir.path(), &l);
    assert!(matches!(tamper(dir.path()), Tamper::RedactedWithoutPurge { seq: 30, declared: 10, .. }));
    // With a made-up hash, the tree no longer matches its signature.
    l[30] = format!(r#"{{"seq":30,"redacted":"{}"}}"#, "00".repeat(32));
    write_lines(dir.path(), &l);
    let t = tamper(dir.path());
    assert!(matches!(t, Tamper::ChangedEntry { seq: 30, .. } | Tamper::RedactedWithoutPurge { seq: 30, .. }), "{t:?}");
}
