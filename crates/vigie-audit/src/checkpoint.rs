//! Signed checkpoints and the log's Ed25519 key.
//!
//! A checkpoint commits to the tree head of the first `size` entries. It is signed in the
//! manner of a C2SP signed note (`c2sp.org/signed-note`, `c2sp.org/tlog-checkpoint`): the
//! signed text is
//!
//! ```text
//! <origin>\n<size>\n<base64(root hash)>\n<timestamp RFC 3339>\n
//! ```
//!
//! (the timestamp is an extension line, so it is signed too) and the note's signature line
//! is `— <origin> <base64(key id ‖ signature)>`, the key id being the first 4 bytes of
//! SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ public key). [`SignedCheckpoint::to_note`] writes the
//! note, so the checkpoint can be published (transparency page) and checked by anyone who
//! holds the public key.

use std::fs;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::AuditError;
use crate::merkle::Hash;

/// File names inside the audit folder.
pub const KEY_FILE: &str = "audit.key";
pub const PUBLIC_KEY_FILE: &str = "audit.pub";

/// One signed tree head, as stored (one JSON line per checkpoint in `checkpoints.jsonl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCheckpoint {
    pub origin: String,
    pub size: u64,
    /// Base64 of the 32-byte tree head.
    pub root_hash: String,
    /// RFC 3339 UTC, seconds precision.
    pub timestamp: String,
    /// Hex of the 4-byte key id.
    pub key_id: String,
    /// Base64 of the 64-byte Ed25519 signature over [`SignedCheckpoint::body`].
    pub signature: String,
}

impl SignedCheckpoint {
    /// The signed text.
    pub fn body(&self) -> String {
        signed_text(&self.origin, self.size, &self.root_hash, &self.timestamp)
    }

    pub fn root(&self) -> Result<Hash, AuditError> {
        decode_hash(&self.root_hash).ok_or_else(|| AuditError::Malformed {
            what: "checkpoint root_hash".into(),
            reason: "not 32 bytes of base64".into(),
        })
    }

    /// Checks the signature with `key`; the key id must match too.
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        if self.key_id != key_id_hex(&self.origin, key) {
            return false;
        }
        let Ok(bytes) = B64.decode(&self.signature) else { return false };
        let Ok(bytes) = <[u8; 64]>::try_from(bytes.as_slice()) else { return false };
        key.verify(self.body().as_bytes(), &Signature::from_bytes(&bytes)).is_ok()
    }

    /// The checkpoint as a C2SP signed note.
    pub fn to_note(&self) -> String {
        let mut id_and_sig = key_id_bytes_from_hex(&self.key_id).to_vec();
        id_and_sig.extend(B64.decode(&self.signature).unwrap_or_default());
        format!("{}\n\u{2014} {} {}\n", self.body(), self.origin, B64.encode(id_and_sig))
    }
}

fn signed_text(origin: &str, size: u64, root_b64: &str, timestamp: &str) -> String {
    format!("{origin}\n{size}\n{root_b64}\n{timestamp}\n")
}

pub(crate) fn decode_hash(b64: &str) -> Option<Hash> {
    let bytes = B64.decode(b64).ok()?;
    Some(Hash(<[u8; 32]>::try_from(bytes.as_slice()).ok()?))
}

fn key_id(origin: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(origin.as_bytes());
    h.update([0x0A, 0x01]);
    h.update(key.as_bytes());
    let out = h.finalize();
    [out[0], out[1], out[2], out[3]]
}

fn key_id_hex(origin: &str, key: &VerifyingKey) -> String {
    key_id(origin, key).iter().map(|b| format!("{b:02x}")).collect()
}

fn key_id_bytes_from_hex(hex: &str) -> [u8; 4] {
    let mut out = [0u8; 4];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = hex.get(2 * i..2 * i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()).unwrap_or(0);
    }
    out
}

/// The log's signing key.
pub struct LogKey {
    key: SigningKey,
}

/// The C2SP verifier key text: `<origin>+<hex key id>+<base64(0x01 ‖ public key)>`.
pub fn vkey_text(origin: &str, key: &VerifyingKey) -> String {
    let mut bytes = vec![0x01];
    bytes.extend_from_slice(key.as_bytes());
    format!("{origin}+{}+{}", key_id_hex(origin, key), B64.encode(bytes))
}

/// Checks a signature made by [`LogKey::sign_message`].
pub fn verify_message(key: &VerifyingKey, message: &[u8], signature_b64: &str) -> bool {
    let Some(bytes) = B64.decode(signature_b64.trim()).ok().and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
    else {
        return false;
    };
    key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&bytes)).is_ok()
}

/// Parses a verifier key: either the C2SP text above or a bare base64 32-byte key.
pub fn parse_vkey(text: &str) -> Option<VerifyingKey> {
    let text = text.trim();
    // The base64 key data may itself contain '+': split the name and key id off the left;
    // failing that, read the whole text as a bare key.
    let candidates = [text.splitn(3, '+').nth(2), Some(text)];
    let raw = candidates.into_iter().flatten().find_map(|c| {
        let bytes = B64.decode(c).ok()?;
        match bytes.len() {
            33 if bytes[0] == 0x01 => <[u8; 32]>::try_from(&bytes[1..]).ok(),
            32 => <[u8; 32]>::try_from(bytes.as_slice()).ok(),
            _ => None,
        }
    })?;
    VerifyingKey::from_bytes(&raw).ok()
}

impl LogKey {
    /// Loads the key from `dir`, or creates it (mode 0600) with its public half beside it.
    pub fn load_or_create(dir: &Path, origin: &str) -> Result<LogKey, AuditError> {
        LogKey::load_or_create_named(dir, KEY_FILE, PUBLIC_KEY_FILE, origin)
    }

    /// The same for another key of the hub (the export signing key), under other names.
    pub fn load_or_create_named(
        dir: &Path,
        key_file: &str,
        public_file: &str,
        origin: &str,
    ) -> Result<LogKey, AuditError> {
        fs::create_dir_all(dir).map_err(|e| AuditError::io(dir, e))?;
        let path = dir.join(key_file);
        let signer = if path.exists() {
            let text = fs::read_to_string(&path).map_err(|e| AuditError::io(&path, e))?;
            let bytes = B64.decode(text.trim()).ok().and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok()).ok_or_else(
                || AuditError::Malformed {
                    what: path.display().to_string(),
                    reason: "not a base64 Ed25519 seed".into(),
                },
            )?;
            LogKey { key: SigningKey::from_bytes(&bytes) }
        } else {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed)
                .map_err(|e| AuditError::Malformed { what: "random key".into(), reason: format!("no entropy: {e}") })?;
            let mut opts = fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(&path).map_err(|e| AuditError::io(&path, e))?;
            f.write_all(format!("{}\n", B64.encode(seed)).as_bytes()).map_err(|e| AuditError::io(&path, e))?;
            f.sync_all().map_err(|e| AuditError::io(&path, e))?;
            LogKey { key: SigningKey::from_bytes(&seed) }
        };
        let pub_path = dir.join(public_file);
        let vkey = format!("{}\n", vkey_text(origin, &signer.verifying_key()));
        if fs::read_to_string(&pub_path).ok().as_deref() != Some(vkey.as_str()) {
            fs::write(&pub_path, vkey).map_err(|e| AuditError::io(&pub_path, e))?;
        }
        Ok(signer)
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Signs any message (an export manifest); base64 of the 64-byte Ed25519 signature.
    pub fn sign_message(&self, message: &[u8]) -> String {
        B64.encode(self.key.sign(message).to_bytes())
    }

    /// Signs the tree head of `size` entries.
    pub fn sign(&self, origin: &str, size: u64, root: &Hash, at: DateTime<Utc>) -> SignedCheckpoint {
        let root_hash = B64.encode(root.0);
        let timestamp = at.to_rfc3339_opts(SecondsFormat::Secs, true);
        let body = signed_text(origin, size, &root_hash, &timestamp);
        let sig = self.key.sign(body.as_bytes());
        SignedCheckpoint {
            origin: origin.to_owned(),
            size,
            root_hash,
            timestamp,
            key_id: key_id_hex(origin, &self.verifying_key()),
            signature: B64.encode(sig.to_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_refuses_changes() {
        let dir = tempfile::tempdir().unwrap();
        let s = LogKey::load_or_create(dir.path(), "test/log").unwrap();
        let cp = s.sign("test/log", 3, &Hash([7; 32]), Utc::now());
        assert!(cp.verify(&s.verifying_key()));
        let mut bad = cp.clone();
        bad.size = 4;
        assert!(!bad.verify(&s.verifying_key()));
        let note = cp.to_note();
        assert!(note.starts_with("test/log\n3\n"));
        assert!(note.contains("\n\n\u{2014} test/log "));
        // Reloading gives the same key; the public key file parses back to it.
        let again = LogKey::load_or_create(dir.path(), "test/log").unwrap();
        assert_eq!(again.verifying_key(), s.verifying_key());
        let pubtext = fs::read_to_string(dir.path().join(PUBLIC_KEY_FILE)).unwrap();
        assert_eq!(parse_vkey(&pubtext), Some(s.verifying_key()));
        // Bare base64 keys parse too, and keys whose base64 holds '+' (many seeds).
        assert_eq!(parse_vkey(&B64.encode(s.verifying_key().as_bytes())), Some(s.verifying_key()));
        for seed in 0..64u8 {
            let k = SigningKey::from_bytes(&[seed; 32]).verifying_key();
            assert_eq!(parse_vkey(&vkey_text("a/b", &k)), Some(k));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
