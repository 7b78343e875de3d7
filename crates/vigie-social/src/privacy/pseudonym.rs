//! Author pseudonyms: a keyed hash (SipHash-1-3) of the handle under a salt that rotates.
//!
//! Each salt period (by default a day, by post time) gets a fresh random 128-bit key read
//! from the operating system. Keys live only in memory and only the two newest are kept:
//! once a period's key is forgotten, nobody (not even this process) can link its
//! pseudonyms to handles or to the pseudonyms of another period. A post from a forgotten
//! period is hashed under the oldest key still held.

use std::hash::Hasher;
use std::io::Read;
use std::sync::{Arc, Mutex};

use siphasher::sip::SipHasher13;

use crate::post::Pseudonym;

#[derive(Debug)]
struct Ring {
    /// (period index, key), newest last; at most two.
    keys: Vec<(i64, [u64; 2])>,
}

/// Shared rotating salt; clone one per thread (each clone caches the current key).
#[derive(Debug, Clone)]
pub struct Pseudonymizer {
    ring: Arc<Mutex<Ring>>,
    period_ms: i64,
    cache: Option<(i64, [u64; 2])>,
}

fn random_key() -> [u64; 2] {
    let mut b = [0u8; 16];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)).is_ok();
    if !ok {
        // No OS randomness: fall back on std's randomly keyed hasher (still unpredictable).
        use std::hash::{BuildHasher, RandomState};
        let s = RandomState::new();
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        b[..8].copy_from_slice(&s.hash_one(t).to_le_bytes());
        b[8..].copy_from_slice(&s.hash_one(t.wrapping_add(1)).to_le_bytes());
    }
    [
        u64::from_le_bytes(b[..8].try_into().unwrap_or_default()),
        u64::from_le_bytes(b[8..].try_into().unwrap_or_default()),
    ]
}

impl Pseudonymizer {
    /// `period_secs`: how long one salt lasts (clamped to at least one second).
    pub fn new(period_secs: u64) -> Self {
        Pseudonymizer {
            ring: Arc::new(Mutex::new(Ring { keys: Vec::with_capacity(2) })),
            period_ms: (period_secs.max(1) as i64).saturating_mul(1000),
            cache: None,
        }
    }

    fn key_for(&mut self, time_ms: i64) -> [u64; 2] {
        let period = time_ms.div_euclid(self.period_ms);
        if let Some((p, k)) = self.cache
            && p == period
        {
            return k;
        }
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let key = if let Some(&(_, k)) = ring.keys.iter().find(|(p, _)| *p == period) {
            k
        } else if ring.keys.last().is_none_or(|(p, _)| period > *p) {
            let k = random_key();
            ring.keys.push((period, k));
            if ring.keys.len() > 2 {
                ring.keys.remove(0);
            }
            k
        } else {
            ring.keys[0].1
        };
        drop(ring);
        self.cache = Some((period, key));
        key
    }

    /// The pseudonym of `handle` (case-insensitive, leading `@` ignored) at `time_ms`.
    pub fn pseudonym(&mut self, handle: &str, time_ms: i64) -> Pseudonym {
        let [k0, k1] = self.key_for(time_ms);
        let mut h = SipHasher13::new_with_keys(k0, k1);
        let mut buf = [0u8; 64];
        for chunk in handle.trim_start_matches('@').as_bytes().chunks(64) {
            let b = &mut buf[..chunk.len()];
            b.copy_from_slice(chunk);
            b.make_ascii_lowercase();
            h.write(b);
        }
        // 0 stands for "no author": keep it free.
        Pseudonym(h.finish().max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn stable_within_a_period_and_unlinkable_across() {
        let mut p = Pseudonymizer::new(86_400);
        let t = 20_000 * DAY;
        let a = p.pseudonym("@Alice@Mastodon.Social", t);
        assert_eq!(a, p.pseudonym("alice@mastodon.social", t + 1000));
        assert_ne!(a, p.pseudonym("bob@mastodon.social", t));
        assert_ne!(a, p.pseudonym("alice@mastodon.social", t + DAY), "the salt rotated");
    }

    #[test]
    fn forgets_old_salts_and_shares_keys_between_clones() {
        let mut p = Pseudonymizer::new(86_400);
        let mut q = p.clone();
        let t = 20_000 * DAY;
        let day0 = p.pseudonym("alice", t);
        assert_eq!(day0, q.pseudonym("alice", t), "clones agree");
        p.pseudonym("x", t + DAY);
        p.pseudonym("x", t + 2 * DAY);
        // Day 0's key is gone: a late post of day 0 gets the oldest key still held.
        let late = p.pseudonym("alice", t);
        assert_ne!(late, day0);
        assert_eq!(late, p.pseudonym("alice", t + DAY));
    }

    #[test]
    fn two_processes_never_agree() {
        let t = 20_000 * DAY;
        assert_ne!(Pseudonymizer::new(86_400).pseudonym("alice", t), Pseudonymizer::new(86_400).pseudonym("alice", t));
    }
}
