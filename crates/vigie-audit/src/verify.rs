//! [`verify()`]: checks an audit folder against its signed checkpoints and names the first
//! entry that was changed, removed or moved.
//!
//! Method (also in `docs/audit.md`):
//! 1. Every checkpoint's Ed25519 signature is checked with the public key (given, or
//!    `audit.pub`), and checkpoint sizes must never decrease.
//! 2. Every line of `entries.jsonl` is parsed as an [`crate::AuditEntry`] and its leaf hash
//!    recomputed from its bytes; line *i* must hold `seq` *i* (a gap is a removed entry, a
//!    `seq` found elsewhere a reordering).
//! 3. The tree of recomputed leaves is compared with **every** checkpoint, oldest first.
//!    The log signs a checkpoint per committed batch, so the first checkpoint whose root no
//!    longer matches brackets the first change between its size and the previous one's.
//! 4. Within that bracket the recomputed leaves are compared with `leaves.bin`, the hashes
//!    recorded at append time. If the recorded hashes still produce the signed root they
//!    are authentic and the first difference *is* the first changed entry (exact). If the
//!    attacker rewrote them too, the bracket (one batch) is reported with the first entry
//!    whose hash differs, or the bracket's first entry.
//! 5. Finally the log's length is compared with the latest checkpoint: shorter means
//!    entries were cut off the end; longer means entries no signature covers.

use std::fs;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

use crate::checkpoint::{PUBLIC_KEY_FILE, SignedCheckpoint, parse_vkey, vkey_text};
use crate::entry::Line;
use crate::log::{for_each_line, read_checkpoints};
use crate::merkle::{Hash, Tree, leaf_hash, root_of};
use crate::{AuditError, CHECKPOINTS_FILE, ENTRIES_FILE, LEAVES_FILE};

/// What `verify` found wrong. Lines are numbered from 1, entries (`seq`) from 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Tamper {
    #[error("no signed checkpoint: the log cannot be verified")]
    NoCheckpoint,
    #[error("checkpoint on line {line} (size {size}) has a bad signature or key id")]
    BadSignature { line: usize, size: u64 },
    #[error("checkpoint on line {line} signs size {size}, smaller than the checkpoint before it ({previous})")]
    CheckpointsShrink { line: usize, size: u64, previous: u64 },
    #[error("line {line} of the log is not an audit entry: {reason}")]
    MalformedEntry { line: u64, reason: String },
    #[error("entry {seq} was removed: line {line} holds entry {found}")]
    RemovedEntry { seq: u64, line: u64, found: u64 },
    #[error("entries were reordered: line {line} holds entry {found}, entry {seq} is on line {seq_line}")]
    ReorderedEntry { seq: u64, line: u64, found: u64, seq_line: u64 },
    #[error(
        "entry {seq} (line {line}) was changed: its hash no longer matches the tree signed at size {checkpoint_size}"
    )]
    ChangedEntry { seq: u64, line: u64, checkpoint_size: u64 },
    #[error(
        "entry {seq} (line {line}) was changed: the first checkpoint that no longer matches signs size \
         {checkpoint_size}, after the good one at size {good_size}, and the hashes recorded at append time \
         were rewritten too, so the first change is entry {seq} or a later one below {checkpoint_size}"
    )]
    ChangedEntryInRange { seq: u64, line: u64, good_size: u64, checkpoint_size: u64 },
    #[error(
        "entry {seq} (line {line}) was blanked out as if purged, but no signed purge of the log covers it \
         (the latest declares entries below {declared})"
    )]
    RedactedWithoutPurge { seq: u64, line: u64, declared: u64 },
    #[error(
        "wrong size: the log holds {entries} entries but a checkpoint signs {size}: entries from {entries} were removed"
    )]
    ShorterThanCheckpoint { entries: u64, size: u64 },
    #[error(
        "wrong size: the log holds {entries} entries but the latest checkpoint signs {size}: entries from {size} are not covered by any signature"
    )]
    LongerThanCheckpoint { entries: u64, size: u64 },
}

/// What to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The entries file, when not `<dir>/entries.jsonl`.
    pub entries: Option<PathBuf>,
    /// The public key to trust; by default `<dir>/audit.pub`. A key held outside the data
    /// folder is stronger: whoever can write the folder could replace `audit.pub`.
    pub public_key: Option<VerifyingKey>,
}

/// A log that verified.
#[derive(Debug, Clone)]
pub struct Verified {
    pub entries: u64,
    /// Entries whose content retention removed (their hashes still verify).
    pub redacted: u64,
    pub root: Hash,
    pub checkpoint: SignedCheckpoint,
    pub checkpoints: usize,
    /// The verifier key that signed (C2SP text).
    pub signed_by: String,
}

/// Verifies the audit folder `dir`. `Err(AuditError::Tampered(_))` names what was found.
pub fn verify(dir: &Path, opts: &VerifyOptions) -> Result<Verified, AuditError> {
    let key = match &opts.public_key {
        Some(k) => *k,
        None => {
            let p = dir.join(PUBLIC_KEY_FILE);
            let text = fs::read_to_string(&p).map_err(|e| AuditError::io(&p, e))?;
            parse_vkey(&text).ok_or_else(|| AuditError::Malformed {
                what: p.display().to_string(),
                reason: "not an Ed25519 verifier key".into(),
            })?
        }
    };
    let tampered = |t: Tamper| Err(AuditError::Tampered(t));

    // 1. Checkpoints.
    let checkpoints = read_checkpoints(&dir.join(CHECKPOINTS_FILE))?;
    let Some(latest) = checkpoints.last().cloned() else { return tampered(Tamper::NoCheckpoint) };
    let mut previous = 0;
    let mut roots = Vec::with_capacity(checkpoints.len());
    for (i, cp) in checkpoints.iter().enumerate() {
        if !cp.verify(&key) {
            return tampered(Tamper::BadSignature { line: i + 1, size: cp.size });
        }
        if cp.size < previous {
            return tampered(Tamper::CheckpointsShrink { line: i + 1, size: cp.size, previous });
        }
        previous = cp.size;
        roots.push(cp.root()?);
    }

    // 2. Entries: recompute leaves, check `seq`.
    let entries_path = opts.entries.clone().unwrap_or_else(|| dir.join(ENTRIES_FILE));
    let mut tree = Tree::new();
    let mut seqs: Vec<u64> = Vec::new();
    let (mut declared, mut redacted) = (0u64, Vec::new());
    let n = for_each_line(&entries_path, |i, line| {
        let parsed =
            Line::parse(line).map_err(|reason| AuditError::Tampered(Tamper::MalformedEntry { line: i + 1, reason }))?;
        seqs.push(parsed.seq());
        match parsed {
            Line::Entry(e) => {
                declared = declared.max(e.redacted_before().unwrap_or(0));
                tree.push(line);
            }
            Line::Redacted { seq, leaf } => {
                redacted.push((i, seq));
                tree.push_leaf_hash(leaf);
            }
        }
        Ok(())
    })?;
    // A blanked line is legitimate only below what a signed purge declared.
    let structural = first_seq_anomaly(&seqs).or_else(|| {
        redacted
            .iter()
            .find(|(_, seq)| *seq >= declared)
            .map(|&(i, seq)| (seq, Tamper::RedactedWithoutPurge { seq, line: i + 1, declared }))
    });

    // 3. Every checkpoint against the recomputed tree.
    let mut good_size = 0;
    let mut changed: Option<Tamper> = None;
    for (cp, root) in checkpoints.iter().zip(&roots) {
        if cp.size > n {
            break;
        }
        if tree.root_at(cp.size)? == *root {
            good_size = cp.size;
            continue;
        }
        // 4. Localise within (good_size, cp.size].
        changed = Some(localise(dir, &tree, good_size, cp.size, root));
        break;
    }
    let changed_seq = match &changed {
        Some(Tamper::ChangedEntry { seq, .. }) | Some(Tamper::ChangedEntryInRange { seq, .. }) => Some(*seq),
        _ => None,
    };
    if let Some((seq, t)) = structural
        && changed_seq.is_none_or(|c| seq <= c)
    {
        return tampered(t);
    }
    if let Some(t) = changed {
        return tampered(t);
    }

    // 5. Length.
    if n < latest.size {
        return tampered(Tamper::ShorterThanCheckpoint { entries: n, size: latest.size });
    }
    if n > latest.size {
        return tampered(Tamper::LongerThanCheckpoint { entries: n, size: latest.size });
    }
    Ok(Verified {
        entries: n,
        redacted: redacted.len() as u64,
        root: tree.root(),
        checkpoint: latest.clone(),
        checkpoints: checkpoints.len(),
        signed_by: vkey_text(&latest.origin, &key),
    })
}

/// The first line whose `seq` is not its position, as (position, what happened).
fn first_seq_anomaly(seqs: &[u64]) -> Option<(u64, Tamper)> {
    let pos = seqs.iter().enumerate().position(|(i, s)| *s != i as u64)? as u64;
    let found = seqs[pos as usize];
    let line = pos + 1;
    match seqs.iter().position(|s| *s == pos) {
        Some(at) => Some((pos, Tamper::ReorderedEntry { seq: pos, line, found, seq_line: at as u64 + 1 })),
        None => Some((pos, Tamper::RemovedEntry { seq: pos, line, found })),
    }
}

fn localise(dir: &Path, tree: &Tree, good_size: u64, bad_size: u64, signed_root: &Hash) -> Tamper {
    let recorded: Vec<Hash> = fs::read(dir.join(LEAVES_FILE))
        .unwrap_or_default()
        .chunks_exact(32)
        .take(bad_size as usize)
        .map(|c| Hash(c.try_into().expect("32 bytes")))
        .collect();
    let recomputed = &tree.leaves()[..bad_size as usize];
    let first_diff = (good_size..bad_size).find(|&i| recorded.get(i as usize) != Some(&recomputed[i as usize]));
    let authentic = recorded.len() as u64 == bad_size && root_of(&recorded) == *signed_root;
    match (authentic, first_diff) {
        (true, Some(seq)) => Tamper::ChangedEntry { seq, line: seq + 1, checkpoint_size: bad_size },
        (_, diff) => {
            let seq = diff.unwrap_or(good_size);
            Tamper::ChangedEntryInRange { seq, line: seq + 1, good_size, checkpoint_size: bad_size }
        }
    }
}

/// Recomputes the leaf hash of one log line (for tools that check a single entry).
pub fn line_leaf_hash(line: &[u8]) -> Hash {
    leaf_hash(line)
}
