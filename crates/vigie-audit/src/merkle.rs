//! RFC 9162 §2.1 Merkle tree: leaf and node hashing, tree heads for any size, inclusion
//! and consistency proofs (generation and verification).
//!
//! [`Tree`] keeps every complete, aligned subtree hash (level 0 holds the leaf hashes,
//! level k the hashes of aligned runs of 2^k leaves): 2n hashes in all. Append is
//! amortised O(1) hashing and O(log n) worst case; the root of any size m ≤ n, and every
//! proof, cost O(log n) hashes because every subtree that RFC 9162 names is either complete
//! (a lookup) or on the right edge (built from O(log n) complete ones).

use std::fmt;

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Option<Hash> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Some(Hash(out))
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

fn finish(h: Sha256) -> Hash {
    let out = h.finalize();
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(&out);
    Hash(bytes)
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    finish(Sha256::new())
}

/// Leaf hash: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    finish(h)
}

/// Interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left.0);
    h.update(right.0);
    finish(h)
}

/// The largest power of two strictly smaller than `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// MTH over a slice of leaf hashes, straight from the RFC's recursive definition (O(n)).
/// Used to cross-check [`Tree`] and by the verifier over a prefix of recorded hashes.
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// Why a proof was refused or could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {size} is larger than the log ({log_size} entries)")]
    SizeOutOfRange { size: u64, log_size: u64 },
    #[error("consistency from size {old} to size {new}: the old size is larger")]
    SizesReversed { old: u64, new: u64 },
    #[error("the proof has the wrong number of hashes")]
    WrongLength,
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
}

/// Incremental RFC 9162 tree over leaf hashes.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// `levels[k][i]` = hash of leaves `i·2^k .. (i+1)·2^k`.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    pub fn new() -> Tree {
        Tree { levels: vec![Vec::new()] }
    }

    /// A tree over existing leaf hashes.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash>) -> Tree {
        let mut t = Tree::new();
        for l in leaves {
            t.push_leaf_hash(l);
        }
        t
    }

    pub fn size(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// The leaf hashes, in order.
    pub fn leaves(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// Appends the leaf hash of `entry`; returns its index.
    pub fn push(&mut self, entry: &[u8]) -> u64 {
        self.push_leaf_hash(leaf_hash(entry))
    }

    /// Appends an already computed leaf hash; returns its index.
    pub fn push_leaf_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.size();
        self.levels[0].push(leaf);
        let mut level = 0;
        while self.levels[level].len().is_multiple_of(2) {
            let n = self.levels[level].len();
            let parent = node_hash(&self.levels[level][n - 2], &self.levels[level][n - 1]);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(parent);
            level += 1;
        }
        index
    }

    /// MTH(D[start..end]) where `start` is a multiple of the largest power of two ≤ the
    /// range length, which holds for every subtree RFC 9162 names.
    fn range_hash(&self, start: u64, end: u64) -> Hash {
        let len = end - start;
        if len == 0 {
            return empty_root();
        }
        if len.is_power_of_two() {
            let k = len.trailing_zeros() as usize;
            debug_assert_eq!(start % len, 0);
            return self.levels[k][(start >> k) as usize];
        }
        let k = split_point(len);
        node_hash(&self.range_hash(start, start + k), &self.range_hash(start + k, end))
    }

    /// The tree head of the first `size` leaves (the current root when `size == self.size()`).
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        if size > self.size() {
            return Err(ProofError::SizeOutOfRange { size, log_size: self.size() });
        }
        Ok(self.range_hash(0, size))
    }

    pub fn root(&self) -> Hash {
        self.range_hash(0, self.size())
    }

    /// PATH(index, D[0..size]) (RFC 9162 §2.1.3.1), leaf to root.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        if size > self.size() {
            return Err(ProofError::SizeOutOfRange { size, log_size: self.size() });
        }
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof);
        Ok(proof)
    }

    fn path(&self, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) {
        let n = end - start;
        if n <= 1 {
            return;
        }
        let k = split_point(n);
        if m < k {
            self.path(m, start, start + k, out);
            out.push(self.range_hash(start + k, end));
        } else {
            self.path(m - k, start + k, end, out);
            out.push(self.range_hash(start, start + k));
        }
    }

    /// PROOF(old, D[0..new]) (RFC 9162 §2.1.4.1). Empty when `old` is 0 or equals `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        if new > self.size() {
            return Err(ProofError::SizeOutOfRange { size: new, log_size: self.size() });
        }
        if old > new {
            return Err(ProofError::SizesReversed { old, new });
        }
        let mut proof = Vec::new();
        if old > 0 && old < new {
            self.subproof(old, 0, new, true, &mut proof);
        }
        Ok(proof)
    }

    fn subproof(&self, m: u64, start: u64, end: u64, whole: bool, out: &mut Vec<Hash>) {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(self.range_hash(start, end));
            }
            return;
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, start, start + k, whole, out);
            out.push(self.range_hash(start + k, end));
        } else {
            self.subproof(m - k, start + k, end, false, out);
            out.push(self.range_hash(start, start + k));
        }
    }
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    let computed = root_from_inclusion(index, size, leaf, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// The root that an inclusion proof leads to.
pub fn root_from_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash]) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    Ok(r)
}

/// Checks a consistency proof between two tree heads (RFC 9162 §2.1.4.2). Size 0 is
/// consistent with anything (empty proof); equal sizes need equal roots and an empty proof.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesReversed { old: old_size, new: new_size });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if old_root == new_root { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    if old_size == 0 {
        return if proof.is_empty() { Ok(()) } else { Err(ProofError::WrongLength) };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if fr != *old_root || sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    #[test]
    fn tree_root_matches_the_recursive_definition_for_every_size() {
        let all = leaves(300);
        let tree = Tree::from_leaves(all.iter().copied());
        for n in 0..=300u64 {
            assert_eq!(tree.root_at(n).unwrap(), root_of(&all[..n as usize]), "size {n}");
        }
    }

    #[test]
    fn inclusion_proofs_verify_for_every_leaf_up_to_64() {
        let tree = Tree::from_leaves(leaves(64));
        for n in 1..=64u64 {
            let root = tree.root_at(n).unwrap();
            for m in 0..n {
                let proof = tree.inclusion_proof(m, n).unwrap();
                let leaf = tree.leaves()[m as usize];
                assert_eq!(verify_inclusion(m, n, &leaf, &proof, &root), Ok(()), "leaf {m} size {n}");
                // A flipped bit anywhere in the proof is refused.
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i].0[0] ^= 8;
                    assert!(verify_inclusion(m, n, &leaf, &bad, &root).is_err());
                }
                // The wrong leaf is refused.
                if n > 1 {
                    let other = tree.leaves()[((m + 1) % n) as usize];
                    assert!(verify_inclusion(m, n, &other, &proof, &root).is_err());
                }
            }
        }
    }

    #[test]
    fn consistency_proofs_verify_for_every_pair_up_to_64() {
        let tree = Tree::from_leaves(leaves(64));
        for n in 0..=64u64 {
            let new_root = tree.root_at(n).unwrap();
            for m in 0..=n {
                let old_root = tree.root_at(m).unwrap();
                let proof = tree.consistency_proof(m, n).unwrap();
                assert_eq!(verify_consistency(m, n, &old_root, &new_root, &proof), Ok(()), "{m} → {n}");
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i].0[0] ^= 16;
                    assert!(verify_consistency(m, n, &old_root, &new_root, &bad).is_err(), "{m} → {n} bit {i}");
                }
                if m > 0 && m < n {
                    assert!(verify_consistency(m, n, &new_root, &new_root, &proof).is_err());
                    assert!(verify_consistency(m, n, &old_root, &old_root, &proof).is_err());
                }
            }
        }
    }

    #[test]
    fn random_sizes_up_to_5000_have_valid_proofs() {
        let tree = Tree::from_leaves(leaves(5000));
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..500 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = 1 + x % 5000;
            let m = (x >> 20) % n;
            let root = tree.root_at(n).unwrap();
            let proof = tree.inclusion_proof(m, n).unwrap();
            assert_eq!(verify_inclusion(m, n, &tree.leaves()[m as usize], &proof, &root), Ok(()));
            let old = 1 + (x >> 40) % n;
            let cp = tree.consistency_proof(old, n).unwrap();
            assert_eq!(verify_consistency(old, n, &tree.root_at(old).unwrap(), &root, &cp), Ok(()));
        }
    }

    #[test]
    fn proofs_beyond_the_log_are_refused() {
        let tree = Tree::from_leaves(leaves(5));
        assert!(matches!(tree.inclusion_proof(5, 5), Err(ProofError::IndexOutOfRange { .. })));
        assert!(matches!(tree.inclusion_proof(0, 6), Err(ProofError::SizeOutOfRange { .. })));
        assert!(matches!(tree.consistency_proof(4, 3), Err(ProofError::SizesReversed { .. })));
    }
}
