//! The published RFC 6962/9162 reference vectors, as used by the Go implementations
//! (transparency-dev/merkle `proof/verify_test.go`, google/trillian): the eight standard
//! leaves, the tree heads of sizes 1..8, and the inclusion and consistency proofs.
//! Leaf numbers in the Go vectors are 1-based; indices here are 0-based.

use vigie_audit::merkle::{
    Hash, Tree, empty_root, leaf_hash, root_from_inclusion, verify_consistency, verify_inclusion,
};

fn h(s: &str) -> Hash {
    Hash::from_hex(s).expect("64 hex digits")
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

const LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

/// Tree heads of sizes 1..=8.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (0-based leaf index, tree size, proof).
fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (2, 3, vec![h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (0, 1, vec![]),
    ]
}

/// (old size, new size, proof).
fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

/// (description, index or old size, size or new size, leaf or old root, root or new root, proof).
type Probe = (&'static str, u64, u64, Hash, Hash, Vec<Hash>);

fn reference_tree() -> Tree {
    let mut t = Tree::new();
    for l in LEAVES {
        t.push(&unhex(l));
    }
    t
}

fn root(size: u64) -> Hash {
    h(ROOTS[size as usize - 1])
}

#[test]
fn empty_tree_and_first_leaf_match_the_rfc() {
    assert_eq!(empty_root(), h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    assert_eq!(leaf_hash(b""), root(1));
    assert_eq!(Tree::new().root(), empty_root());
}

#[test]
fn tree_heads_of_sizes_1_to_8_match_the_reference_roots() {
    let t = reference_tree();
    for size in 1..=8u64 {
        assert_eq!(t.root_at(size).unwrap(), root(size), "size {size}");
    }
    assert_eq!(t.root().to_hex(), "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
}

#[test]
fn inclusion_proofs_match_and_verify_the_reference_vectors() {
    let t = reference_tree();
    for (index, size, proof) in inclusion_vectors() {
        assert_eq!(t.inclusion_proof(index, size).unwrap(), proof, "generated proof for leaf {index} in {size}");
        let leaf = leaf_hash(&unhex(LEAVES[index as usize]));
        assert_eq!(root_from_inclusion(index, size, &leaf, &proof).unwrap(), root(size));
        verify_inclusion(index, size, &leaf, &proof, &root(size)).unwrap();
    }
}

/// The corruption probes of `corruptInclusionProof` in transparency-dev/merkle.
#[test]
fn corrupted_inclusion_proofs_are_refused() {
    let some_hash = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    for (index, size, proof) in inclusion_vectors() {
        let leaf = leaf_hash(&unhex(LEAVES[index as usize]));
        let r = root(size);
        let mut probes: Vec<Probe> = vec![
            ("index + 1", index + 1, size, leaf, r, proof.clone()),
            ("index ^ 2", index ^ 2, size, leaf, r, proof.clone()),
            ("size * 2", index, size * 2, leaf, r, proof.clone()),
            ("size / 2", index, size / 2, leaf, r, proof.clone()),
            ("wrong leaf", index, size, leaf_hash(b"WrongLeaf"), r, proof.clone()),
            ("empty root", index, size, leaf, empty_root(), proof.clone()),
            ("random root", index, size, leaf, some_hash, proof.clone()),
            ("trailing root", index, size, leaf, r, [proof.clone(), vec![r]].concat()),
            ("preceding root", index, size, leaf, r, [vec![r], proof.clone()].concat()),
        ];
        if index > 0 {
            probes.push(("index - 1", index - 1, size, leaf, r, proof.clone()));
        }
        for i in 0..proof.len() {
            let mut bad = proof.clone();
            bad[i].0[0] ^= 8;
            probes.push(("flipped bit", index, size, leaf, r, bad));
        }
        if !proof.is_empty() {
            probes.push(("removed component", index, size, leaf, r, proof[..proof.len() - 1].to_vec()));
        }
        if proof.len() > 1 {
            let inserted = [vec![proof[0], some_hash], proof[1..].to_vec()].concat();
            probes.push(("inserted component", index, size, leaf, r, inserted));
        }
        for (desc, i, s, l, r, p) in probes {
            // A probe that happens to describe the same true statement would verify; none does here.
            assert!(verify_inclusion(i, s, &l, &p, &r).is_err(), "leaf {index} size {size}: {desc} verified");
        }
    }
}

#[test]
fn consistency_proofs_match_and_verify_the_reference_vectors() {
    let t = reference_tree();
    for (old, new, proof) in consistency_vectors() {
        assert_eq!(t.consistency_proof(old, new).unwrap(), proof, "generated proof {old} → {new}");
        verify_consistency(old, new, &root(old), &root(new), &proof).unwrap();
    }
}

/// The corruption probes of `corruptConsistencyProof` in transparency-dev/merkle.
#[test]
fn corrupted_consistency_proofs_are_refused() {
    for (old, new, proof) in consistency_vectors() {
        if proof.is_empty() {
            continue;
        }
        let (r1, r2) = (root(old), root(new));
        let mut probes: Vec<Probe> = vec![
            ("old - 1", old - 1, new, r1, r2, proof.clone()),
            ("old + 1", old + 1, new, r1, r2, proof.clone()),
            ("old ^ 2", old ^ 2, new, r1, r2, proof.clone()),
            ("new * 2", old, new * 2, r1, r2, proof.clone()),
            ("new / 2", old, new / 2, r1, r2, proof.clone()),
            ("wrong old root", old, new, leaf_hash(b"WrongRoot"), r2, proof.clone()),
            ("wrong new root", old, new, r1, leaf_hash(b"WrongRoot"), proof.clone()),
            ("swapped roots", old, new, r2, r1, proof.clone()),
            ("empty proof", old, new, r1, r2, vec![]),
            ("trailing root1", old, new, r1, r2, [proof.clone(), vec![r1]].concat()),
            ("trailing root2", old, new, r1, r2, [proof.clone(), vec![r2]].concat()),
            ("preceding root1", old, new, r1, r2, [vec![r1], proof.clone()].concat()),
            ("preceding root2", old, new, r1, r2, [vec![r2], proof.clone()].concat()),
            ("preceding proof[0]", old, new, r1, r2, [vec![proof[0]], proof.clone()].concat()),
            ("truncated", old, new, r1, r2, proof[..proof.len() - 1].to_vec()),
        ];
        for i in 0..proof.len() {
            let mut bad = proof.clone();
            bad[i].0[0] ^= 16;
            probes.push(("flipped bit", old, new, r1, r2, bad));
        }
        for (desc, o, n, a, b, p) in probes {
            assert!(verify_consistency(o, n, &a, &b, &p).is_err(), "{old} → {new}: {desc} verified");
        }
    }
}

/// The edge cases of `TestVerifyConsistency` in transparency-dev/merkle.
#[test]
fn consistency_edge_cases_follow_the_reference() {
    let r1 = leaf_hash(b"don't care 1");
    let r2 = leaf_hash(b"don't care 2");
    let e = empty_root();
    assert!(verify_consistency(0, 0, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(1, 1, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(0, 0, &r1, &r1, &[]).is_ok());
    assert!(verify_consistency(0, 1, &r1, &r2, &[]).is_ok());
    assert!(verify_consistency(1, 1, &r2, &r2, &[]).is_ok());
    assert!(verify_consistency(1, 0, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(2, 1, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(1, 2, &r1, &r2, &[]).is_err());
    assert!(verify_consistency(0, 0, &e, &e, &[e]).is_err());
    assert!(verify_consistency(0, 1, &e, &e, &[e]).is_err());
    assert!(verify_consistency(1, 1, &e, &e, &[e]).is_err());
}
