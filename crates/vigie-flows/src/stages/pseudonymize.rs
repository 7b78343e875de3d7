//! Stage `pseudonymize`: device identifiers are replaced, as they are read, by a keyed
//! hash (SipHash-1-3, a pseudo-random function) under a key drawn from the operating
//! system for one day only. The key lives in this process's memory, is never written, and
//! is overwritten when the day's run ends ([`DailyKey`]'s `Drop`): after that, nobody —
//! Vigie included — can link a pseudonym to a device or two days of the same device.
//!
//! Partitions are taken from the pseudonym, so the work is split by device exactly as a
//! distributed engine (DataFusion Ballista) would hash-partition it.

use std::hash::Hasher;

use siphasher::sip::SipHasher13;

use crate::error::FlowsError;

/// A one-day secret key. Not `Clone`, not `Debug`, not serialisable.
pub struct DailyKey {
    k: [u64; 2],
}

impl DailyKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, FlowsError> {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(|e| FlowsError::Config(format!("no random source for the daily key: {e}")))?;
        let k = [
            u64::from_le_bytes(b[..8].try_into().unwrap_or_default()),
            u64::from_le_bytes(b[8..].try_into().unwrap_or_default()),
        ];
        b.fill(0);
        Ok(DailyKey { k })
    }

    /// A fixed key, for tests that need reproducible partitions.
    #[cfg(test)]
    pub fn fixed(k0: u64, k1: u64) -> Self {
        DailyKey { k: [k0, k1] }
    }

    /// The pseudonym of a numeric identifier (IMSI, operator key).
    #[inline]
    pub fn of_u64(&self, raw: u64) -> u64 {
        let mut h = SipHasher13::new_with_keys(self.k[0], self.k[1]);
        h.write_u64(raw);
        h.finish()
    }

    /// The pseudonym of a textual or binary identifier. Decimal text that fits in 64 bits
    /// is hashed as the number, so the same device gets the same pseudonym from CSV and
    /// Parquet inputs of one day.
    pub fn of_bytes(&self, raw: &[u8]) -> u64 {
        let t = raw.trim_ascii();
        if !t.is_empty()
            && t.len() <= 19
            && t.iter().all(u8::is_ascii_digit)
            && let Some(v) = std::str::from_utf8(t).ok().and_then(|s| s.parse::<u64>().ok())
        {
            return self.of_u64(v);
        }
        let mut h = SipHasher13::new_with_keys(self.k[0], self.k[1]);
        h.write(t);
        h.write_u8(0xff);
        h.finish()
    }
}

impl Drop for DailyKey {
    fn drop(&mut self) {
        // Volatile writes so the compiler cannot elide the wipe of a value about to die.
        for w in self.k.iter_mut() {
            // SAFETY: `w` is a valid, aligned, exclusive reference to a u64.
            unsafe { std::ptr::write_volatile(w, 0) };
        }
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
    }
}

/// The partition of a pseudonym among `n` (unbiased multiply-shift on the high bits).
#[inline]
pub fn partition(pseudonym: u64, n: usize) -> usize {
    ((pseudonym as u128 * n as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_stable_within_a_day_unlinkable_across_days() {
        let a = DailyKey::fixed(1, 2);
        let b = DailyKey::fixed(3, 4);
        assert_eq!(a.of_u64(208_011_234_567_890), a.of_u64(208_011_234_567_890));
        assert_ne!(a.of_u64(208_011_234_567_890), b.of_u64(208_011_234_567_890));
        assert_ne!(a.of_u64(1), a.of_u64(2));
        // Text and number of the same identifier agree; other text does not collide.
        assert_eq!(a.of_bytes(b"208011234567890"), a.of_u64(208_011_234_567_890));
        assert_ne!(a.of_bytes(b"imsi-1"), a.of_bytes(b"imsi-2"));
    }

    #[test]
    fn generated_keys_differ() {
        let a = DailyKey::generate().unwrap();
        let b = DailyKey::generate().unwrap();
        assert_ne!(a.of_u64(42), b.of_u64(42));
    }

    #[test]
    fn partitions_are_balanced() {
        let k = DailyKey::fixed(9, 9);
        let mut n = [0usize; 3];
        for i in 0..30_000u64 {
            n[partition(k.of_u64(i), 3)] += 1;
        }
        assert!(n.iter().all(|&c| (9_000..11_000).contains(&c)), "{n:?}");
    }
}
