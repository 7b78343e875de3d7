//! Exact-disclosure audit: given the published sums (margins) over a table whose
//! suppressed cells are unknowns, which unknowns does the linear system pin down?
//!
//! A suppressed cell is determined exactly when the unit vector of its column lies in the
//! row space of the margins restricted to the suppressed cells. The test is done by
//! Gauss–Jordan elimination over the prime field GF(2⁶¹−1): coefficients are 0/1, so the
//! arithmetic is exact (no tolerance), and a rank over this field differs from the rank
//! over the rationals only if the prime divides a minor, which for 0/1 matrices of the
//! sizes used here does not happen in practice.

const P: u64 = (1 << 61) - 1;

#[inline]
fn mulmod(a: u64, b: u64) -> u64 {
    let r = a as u128 * b as u128;
    let lo = (r as u64) & P;
    let hi = (r >> 61) as u64;
    let s = lo + hi;
    if s >= P { s - P } else { s }
}

#[inline]
fn submod(a: u64, b: u64) -> u64 {
    if a >= b { a - b } else { a + P - b }
}

fn powmod(mut a: u64, mut e: u64) -> u64 {
    let mut r = 1;
    while e > 0 {
        if e & 1 == 1 {
            r = mulmod(r, a);
        }
        a = mulmod(a, a);
        e >>= 1;
    }
    r
}

fn inv(a: u64) -> u64 {
    powmod(a, P - 2)
}

/// `rows[i]` lists the unknowns (0..n) summed by published margin `i`. Returns, for each
/// unknown, whether the margins determine its value.
pub fn determined(rows: &[Vec<usize>], n: usize) -> Vec<bool> {
    let mut m: Vec<Vec<u64>> = rows
        .iter()
        .filter(|r| !r.is_empty())
        .map(|r| {
            let mut v = vec![0u64; n];
            for &j in r {
                v[j] = (v[j] + 1) % P;
            }
            v
        })
        .collect();
    let mut rank = 0;
    for col in 0..n {
        if rank == m.len() {
            break;
        }
        let Some(piv) = (rank..m.len()).find(|&r| m[r][col] != 0) else { continue };
        m.swap(rank, piv);
        let iv = inv(m[rank][col]);
        if iv != 1 {
            for x in m[rank].iter_mut() {
                *x = mulmod(*x, iv);
            }
        }
        let pivot = m[rank].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r == rank || row[col] == 0 {
                continue;
            }
            let f = row[col];
            for (x, &p) in row.iter_mut().zip(&pivot).skip(col) {
                if p != 0 {
                    *x = submod(*x, mulmod(f, p));
                }
            }
        }
        rank += 1;
    }
    let mut out = vec![false; n];
    for row in &m[..rank] {
        let mut nz = row.iter().enumerate().filter(|(_, v)| **v != 0);
        if let (Some((j, _)), None) = (nz.next(), nz.next()) {
            out[j] = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_unknown_in_a_sum_is_determined() {
        assert_eq!(determined(&[vec![0]], 2), vec![true, false]);
        assert_eq!(determined(&[vec![0, 1]], 2), vec![false, false]);
    }

    #[test]
    fn a_rectangle_of_unknowns_is_protected() {
        // 2×2 unknowns with both row sums and both column sums published: rank 3 of 4.
        let rows = vec![vec![0, 1], vec![2, 3], vec![0, 2], vec![1, 3]];
        assert_eq!(determined(&rows, 4), vec![false; 4]);
    }

    #[test]
    fn an_l_shape_is_solved_by_elimination() {
        // x0+x1 = a, x1+x2 = b, x2 = c → all three determined.
        let rows = vec![vec![0, 1], vec![1, 2], vec![2]];
        assert_eq!(determined(&rows, 3), vec![true, true, true]);
        // x0+x1+x2 = a, x0+x1 = b → x2 determined, x0 and x1 not.
        let rows = vec![vec![0, 1, 2], vec![0, 1]];
        assert_eq!(determined(&rows, 3), vec![false, false, true]);
    }
}
