//! Maps keyed by values that are already hashes (token hashes): no second hashing.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Passes a `u64` key through unchanged (keys are [`crate::text::token_hash`]es).
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used for our keys; fold anything else for safety.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub type HashKeyed = BuildHasherDefault<IdHasher>;
pub type U64Map<V> = HashMap<u64, V, HashKeyed>;
pub type U64Set = HashSet<u64, HashKeyed>;
