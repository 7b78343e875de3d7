//! [`AuditLog`]: the durable, append-only audit log in one folder.
//!
//! Files (see `docs/audit.md`):
//! - `entries.jsonl`: one [`AuditEntry`] per line; the line's bytes are the Merkle leaf.
//! - `leaves.bin`: the 32-byte leaf hashes, recorded at append time (for proofs after a
//!   restart and to pin down a changed entry exactly during verification).
//! - `checkpoints.jsonl`: one [`SignedCheckpoint`] per committed batch.
//! - `audit.key` (mode 0600) and `audit.pub`: the Ed25519 key pair.
//!
//! A batch is committed when its entries and leaf hashes are written and fsynced *and* its
//! checkpoint is written and fsynced. On open, entries after the latest checkpoint (a batch
//! cut short by a crash) are moved aside to `uncommitted-<size>.jsonl`, never deleted.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::checkpoint::{LogKey, SignedCheckpoint, vkey_text};
use crate::entry::{Action, AuditEntry, Line, REDACTION_TARGET, RedactedLine};
use crate::merkle::{Hash, Tree, leaf_hash};
use crate::verify::Tamper;
use crate::{AuditError, CHECKPOINTS_FILE, ENTRIES_FILE, LEAVES_FILE, LOCK_FILE};

/// How the log is opened.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The log's name in its checkpoints (C2SP origin line), e.g. `vigie.example/audit`.
    pub origin: String,
    /// fsync each batch (on in production; off only for tests that measure CPU cost).
    pub sync: bool,
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions { origin: "vigie/audit".into(), sync: true }
    }
}

/// The append-only audit log. One writer; the hub serialises appends through one task.
pub struct AuditLog {
    dir: PathBuf,
    origin: String,
    sync: bool,
    entries: File,
    leaves: File,
    checkpoints: File,
    tree: Tree,
    key: LogKey,
    latest: SignedCheckpoint,
    poisoned: bool,
    line_buf: Vec<u8>,
    leaf_buf: Vec<u8>,
    /// Held for the life of the log: one writer per folder, across processes.
    _lock: File,
}

fn open_append(path: &Path) -> Result<File, AuditError> {
    OpenOptions::new().create(true).append(true).open(path).map_err(|e| AuditError::io(path, e))
}

/// Calls `f(index, line)` for each complete line of `path` (without its '\n'; a trailing
/// line without '\n' is left out). Returns the number of complete lines. A missing file
/// has no lines.
pub(crate) fn for_each_line(
    path: &Path,
    mut f: impl FnMut(u64, &[u8]) -> Result<(), AuditError>,
) -> Result<u64, AuditError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(AuditError::io(path, e)),
    };
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::with_capacity(512);
    let mut count = 0u64;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(|e| AuditError::io(path, e))?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Ok(count);
        }
        line.pop();
        f(count, &line)?;
        count += 1;
    }
}

pub(crate) fn read_checkpoints(path: &Path) -> Result<Vec<SignedCheckpoint>, AuditError> {
    let mut out = Vec::new();
    for_each_line(path, |i, l| {
        let cp = serde_json::from_slice(l).map_err(|e| AuditError::Malformed {
            what: format!("{} line {}", path.display(), i + 1),
            reason: e.to_string(),
        })?;
        out.push(cp);
        Ok(())
    })?;
    Ok(out)
}

impl AuditLog {
    /// Opens (or creates) the log in `dir` with default options.
    pub fn open(dir: impl AsRef<Path>) -> Result<AuditLog, AuditError> {
        AuditLog::open_with(dir, AuditOptions::default())
    }

    pub fn open_with(dir: impl AsRef<Path>, opts: AuditOptions) -> Result<AuditLog, AuditError> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| AuditError::io(&dir, e))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| AuditError::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(AuditError::Locked { dir: dir.display().to_string() }),
            Err(fs::TryLockError::Error(e)) => return Err(AuditError::io(&lock_path, e)),
        }
        let key = LogKey::load_or_create(&dir, &opts.origin)?;
        let cp_path = dir.join(CHECKPOINTS_FILE);
        let entries_path = dir.join(ENTRIES_FILE);
        let leaves_path = dir.join(LEAVES_FILE);

        let checkpoints = read_checkpoints(&cp_path)?;
        let latest = checkpoints.last().cloned();
        let committed = latest.as_ref().map_or(0, |c| c.size);
        let mut tree = Tree::new();
        let mut committed_bytes = 0u64;
        let lines = for_each_line(&entries_path, |i, line| {
            if i < committed {
                match crate::entry::looks_redacted(line).then(|| Line::parse(line)) {
                    Some(Ok(Line::Redacted { leaf, .. })) => tree.push_leaf_hash(leaf),
                    _ => tree.push(line),
                };
                committed_bytes += line.len() as u64 + 1;
            }
            Ok(())
        })?;
        if lines < committed {
            return Err(AuditError::Tampered(Tamper::ShorterThanCheckpoint { entries: lines, size: committed }));
        }
        if let Some(cp) = &latest {
            if !cp.verify(&key.verifying_key()) {
                return Err(AuditError::Tampered(Tamper::BadSignature { line: checkpoints.len(), size: cp.size }));
            }
            if tree.root() != cp.root()? {
                return Err(AuditError::Malformed {
                    what: dir.display().to_string(),
                    reason: format!(
                        "the entries no longer match the checkpoint at size {}; run `vigie audit verify`",
                        cp.size
                    ),
                });
            }
        }

        // Move an uncommitted tail aside (a crash between writing entries and the checkpoint).
        let file_len = fs::metadata(&entries_path).map(|m| m.len()).unwrap_or(0);
        if file_len > committed_bytes {
            let mut tail = Vec::new();
            let mut f = File::open(&entries_path).map_err(|e| AuditError::io(&entries_path, e))?;
            std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(committed_bytes))
                .map_err(|e| AuditError::io(&entries_path, e))?;
            f.read_to_end(&mut tail).map_err(|e| AuditError::io(&entries_path, e))?;
            let aside = dir.join(format!("uncommitted-{committed}.jsonl"));
            fs::write(&aside, &tail).map_err(|e| AuditError::io(&aside, e))?;
            tracing::warn!(
                path = %aside.display(),
                bytes = tail.len(),
                "audit log: entries after the latest checkpoint were never committed; moved aside"
            );
            let f = OpenOptions::new().write(true).open(&entries_path).map_err(|e| AuditError::io(&entries_path, e))?;
            f.set_len(committed_bytes).map_err(|e| AuditError::io(&entries_path, e))?;
            f.sync_all().map_err(|e| AuditError::io(&entries_path, e))?;
        }

        // The recorded leaf hashes: keep the committed ones, rebuild any that are missing.
        let recorded_len = fs::metadata(&leaves_path).map(|m| m.len()).unwrap_or(0);
        if recorded_len != committed * 32 {
            let f = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&leaves_path)
                .map_err(|e| AuditError::io(&leaves_path, e))?;
            let keep = recorded_len.min(committed * 32) / 32;
            f.set_len(keep * 32).map_err(|e| AuditError::io(&leaves_path, e))?;
            drop(f);
            let mut f = open_append(&leaves_path)?;
            let missing: Vec<u8> = tree.leaves()[keep as usize..].iter().flat_map(|h| h.0).collect();
            f.write_all(&missing).map_err(|e| AuditError::io(&leaves_path, e))?;
            f.sync_all().map_err(|e| AuditError::io(&leaves_path, e))?;
        }

        let mut log = AuditLog {
            _lock: lock,
            entries: open_append(&entries_path)?,
            leaves: open_append(&leaves_path)?,
            checkpoints: open_append(&cp_path)?,
            dir,
            origin: opts.origin,
            sync: opts.sync,
            tree,
            latest: SignedCheckpoint {
                origin: String::new(),
                size: 0,
                root_hash: String::new(),
                timestamp: String::new(),
                key_id: String::new(),
                signature: String::new(),
            },
            key,
            poisoned: false,
            line_buf: Vec::new(),
            leaf_buf: Vec::new(),
        };
        match latest {
            Some(cp) => log.latest = cp,
            // A new log starts with a signed checkpoint of the empty tree.
            None => log.write_checkpoint()?,
        }
        Ok(log)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of committed entries (the next entry's `seq`).
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The current tree head.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The leaf hash of entry `seq`.
    pub fn leaf_hash(&self, seq: u64) -> Option<Hash> {
        self.tree.leaves().get(seq as usize).copied()
    }

    /// The C2SP verifier key (`origin+keyid+base64`), to publish.
    pub fn public_key(&self) -> String {
        vkey_text(&self.origin, &self.key.verifying_key())
    }

    /// Appends one entry durably; returns its `seq`.
    pub fn append(&mut self, entry: AuditEntry) -> Result<u64, AuditError> {
        Ok(self.append_batch(std::iter::once(entry))?.start)
    }

    /// Appends a batch durably (one write and one fsync per file, one signed checkpoint);
    /// returns the `seq`s given. The entries' `seq` fields are overwritten.
    pub fn append_batch(&mut self, batch: impl IntoIterator<Item = AuditEntry>) -> Result<Range<u64>, AuditError> {
        if self.poisoned {
            return Err(AuditError::Poisoned);
        }
        let start = self.tree.size();
        self.line_buf.clear();
        self.leaf_buf.clear();
        for mut entry in batch {
            entry.seq = self.tree.size();
            let before = self.line_buf.len();
            serde_json::to_writer(&mut self.line_buf, &entry).expect("an audit entry always serialises");
            let leaf = leaf_hash(&self.line_buf[before..]);
            self.line_buf.push(b'\n');
            self.tree.push_leaf_hash(leaf);
            self.leaf_buf.extend_from_slice(&leaf.0);
        }
        let end = self.tree.size();
        if end == start {
            return Ok(start..end);
        }
        // From here a failure leaves the tree ahead of the disk: refuse further appends.
        self.poisoned = true;
        self.entries.write_all(&self.line_buf).map_err(|e| AuditError::io(&self.dir.join(ENTRIES_FILE), e))?;
        self.leaves.write_all(&self.leaf_buf).map_err(|e| AuditError::io(&self.dir.join(LEAVES_FILE), e))?;
        if self.sync {
            self.entries.sync_data().map_err(|e| AuditError::io(&self.dir.join(ENTRIES_FILE), e))?;
            self.leaves.sync_data().map_err(|e| AuditError::io(&self.dir.join(LEAVES_FILE), e))?;
        }
        self.write_checkpoint()?;
        self.poisoned = false;
        Ok(start..end)
    }

    fn write_checkpoint(&mut self) -> Result<(), AuditError> {
        let cp = self.key.sign(&self.origin, self.tree.size(), &self.tree.root(), Utc::now());
        let mut line = serde_json::to_vec(&cp).expect("a checkpoint always serialises");
        line.push(b'\n');
        let path = self.dir.join(CHECKPOINTS_FILE);
        self.checkpoints.write_all(&line).map_err(|e| AuditError::io(&path, e))?;
        if self.sync {
            self.checkpoints.sync_data().map_err(|e| AuditError::io(&path, e))?;
        }
        self.latest = cp;
        Ok(())
    }

    /// Retention of the log itself: the entries older than `cutoff` (a prefix: the log is
    /// in time order) lose their content — actor, action, target, detail — and keep only
    /// their position and leaf hash, so that every signed checkpoint still verifies.
    /// First a `purge` entry of target `audit` declaring `redacted_before_seq` is appended
    /// and signed; only then is the file rewritten (atomically). `vigie audit verify`
    /// refuses a redacted line that no such declaration covers. Returns how many entries
    /// were redacted now.
    pub fn redact_before(&mut self, cutoff: chrono::DateTime<Utc>) -> Result<u64, AuditError> {
        let path = self.dir.join(ENTRIES_FILE);
        let committed = self.tree.size();
        let (mut already, mut upto) = (0u64, 0u64);
        let mut stop = false;
        for_each_line(&path, |i, line| {
            if stop || i >= committed {
                return Ok(());
            }
            match Line::parse(line) {
                Ok(Line::Redacted { .. }) => {
                    already = i + 1;
                    upto = i + 1;
                }
                Ok(Line::Entry(e)) if e.at < cutoff => upto = i + 1,
                _ => stop = true,
            }
            Ok(())
        })?;
        if upto <= already {
            return Ok(0);
        }
        let declaration = AuditEntry::at(Utc::now(), "hub", Action::Purge, REDACTION_TARGET).with_detail(
            serde_json::json!({ "redacted_before_seq": upto, "before": cutoff.to_rfc3339(), "entries": upto - already }),
        );
        self.append(declaration)?;

        let tmp = self.dir.join(format!(".{ENTRIES_FILE}.redacting"));
        let leaves = self.tree.leaves().to_vec();
        let mut out = std::io::BufWriter::new(File::create(&tmp).map_err(|e| AuditError::io(&tmp, e))?);
        for_each_line(&path, |i, line| {
            let written = if i < upto {
                let r = RedactedLine { seq: i, redacted: leaves[i as usize].to_hex() };
                serde_json::to_writer(&mut out, &r)
                    .map_err(|e| AuditError::Malformed { what: "redacted line".into(), reason: e.to_string() })
            } else {
                out.write_all(line).map_err(|e| AuditError::io(&tmp, e))
            };
            written?;
            out.write_all(b"\n").map_err(|e| AuditError::io(&tmp, e))
        })?;
        let file = out.into_inner().map_err(|e| AuditError::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| AuditError::io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| AuditError::io(&path, e))?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(|e| AuditError::io(&self.dir, e))?;
        self.entries = open_append(&path)?;
        Ok(upto - already)
    }

    /// The latest signed checkpoint: it covers every committed entry.
    pub fn checkpoint(&self) -> SignedCheckpoint {
        self.latest.clone()
    }

    /// Inclusion proof of entry `seq` in the tree of `size` entries (leaf to root).
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>, AuditError> {
        Ok(self.tree.inclusion_proof(seq, size)?)
    }

    /// Consistency proof between the trees of `old` and `new` entries.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, AuditError> {
        Ok(self.tree.consistency_proof(old, new)?)
    }

    /// The tree head of the first `size` entries.
    pub fn root_at(&self, size: u64) -> Result<Hash, AuditError> {
        Ok(self.tree.root_at(size)?)
    }
}
