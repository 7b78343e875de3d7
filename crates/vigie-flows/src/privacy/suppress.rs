//! The k-threshold and complementary suppression.
//!
//! A [`Table`] is a set of cells (observed counts) and of margins (published sums over
//! some of its cells: row and column totals, flow categories, territory totals). Primary
//! suppression removes every cell and margin under k. Complementary suppression then
//! removes more cells until no suppressed cell can be worked out from what is published:
//!
//! 1. *remainder rule*: for every published margin, the sum of its suppressed cells (what
//!    a reader gets by subtracting the published cells from the margin) must be 0 or at
//!    least k — otherwise the smallest published cell of the margin is suppressed too;
//! 2. *exact audit* ([`super::audit`]): no suppressed cell with a value in (0, k) may be
//!    determined by the linear system of all published margins; if one is, the smallest
//!    published cell of one of its margins is suppressed, and both steps run again.
//!
//! Tables linked by sums to another table (hours summing to a day) use
//! [`protect_children`].

use super::audit;

/// Below this a remainder counts as zero (observed counts are sums of area weights).
const EPS: f64 = 1e-6;

#[derive(Debug, Clone, Default)]
pub struct Table {
    pub values: Vec<f64>,
    /// Each margin: the cells it sums.
    pub margins: Vec<Vec<u32>>,
}

/// What is published: one flag per cell and per margin, and how many were suppressed why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pattern {
    pub cell: Vec<bool>,
    pub margin: Vec<bool>,
    /// Cells with a value in (0, k), plus zeros (not published either).
    pub primary: usize,
    pub complementary: usize,
    pub margins_suppressed: usize,
}

impl Table {
    pub fn margin_value(&self, m: usize) -> f64 {
        self.margins[m].iter().map(|&c| self.values[c as usize]).sum()
    }
}

/// Applies the threshold and complementary suppression. `audit` enables the exact audit
/// (its cost grows with margins × suppressed cells; every table published with margins
/// in this crate is small enough).
pub fn protect(t: &Table, k: f64, audit: bool) -> Pattern {
    let mut cell: Vec<bool> = t.values.iter().map(|&v| v >= k).collect();
    let mut margin: Vec<bool> = (0..t.margins.len()).map(|m| t.margin_value(m) >= k).collect();
    let primary = cell.iter().filter(|p| !**p).count();
    let margins_primary = margin.iter().filter(|p| !**p).count();
    let mut member_of: Vec<Vec<u32>> = vec![Vec::new(); t.values.len()];
    for (m, cells) in t.margins.iter().enumerate() {
        for &c in cells {
            member_of[c as usize].push(m as u32);
        }
    }
    let mut extra_margins = 0;
    loop {
        let mut changed = false;
        for (m, cells) in t.margins.iter().enumerate() {
            if !margin[m] {
                continue;
            }
            let d: f64 = cells.iter().filter(|&&c| !cell[c as usize]).map(|&c| t.values[c as usize]).sum();
            if d > EPS && d < k {
                match smallest_published(t, &cell, cells) {
                    Some(c) => cell[c] = false,
                    None => {
                        margin[m] = false;
                        extra_margins += 1;
                    }
                }
                changed = true;
            }
        }
        if !changed && audit {
            changed = audit_pass(t, k, &mut cell, &mut margin, &member_of, &mut extra_margins);
        }
        if !changed {
            break;
        }
    }
    let suppressed = cell.iter().filter(|p| !**p).count();
    Pattern {
        primary,
        complementary: suppressed - primary,
        margins_suppressed: margins_primary + extra_margins,
        cell,
        margin,
    }
}

fn smallest_published(t: &Table, cell: &[bool], cells: &[u32]) -> Option<usize> {
    cells.iter().map(|&c| c as usize).filter(|&c| cell[c]).min_by(|&a, &b| t.values[a].total_cmp(&t.values[b]))
}

/// One round of the exact audit; returns whether it suppressed anything.
fn audit_pass(
    t: &Table,
    k: f64,
    cell: &mut [bool],
    margin: &mut [bool],
    member_of: &[Vec<u32>],
    extra_margins: &mut usize,
) -> bool {
    // Unknowns: suppressed cells that appear in a published margin.
    let mut var_of = vec![usize::MAX; t.values.len()];
    let mut vars = Vec::new();
    let mut rows = Vec::new();
    for (m, cells) in t.margins.iter().enumerate() {
        if !margin[m] {
            continue;
        }
        let mut row = Vec::new();
        for &c in cells {
            let c = c as usize;
            if cell[c] {
                continue;
            }
            if var_of[c] == usize::MAX {
                var_of[c] = vars.len();
                vars.push(c);
            }
            row.push(var_of[c]);
        }
        if !row.is_empty() {
            rows.push(row);
        }
    }
    if vars.is_empty() {
        return false;
    }
    let det = audit::determined(&rows, vars.len());
    let mut changed = false;
    for (v, &c) in vars.iter().enumerate() {
        let x = t.values[c];
        if !det[v] || x <= EPS || x >= k {
            continue;
        }
        // Hide it behind one more suppressed cell of one of its published margins.
        let best = member_of[c]
            .iter()
            .map(|&m| m as usize)
            .filter(|&m| margin[m])
            .filter_map(|m| smallest_published(t, cell, &t.margins[m]).map(|s| (m, s)))
            .min_by(|a, b| t.values[a.1].total_cmp(&t.values[b.1]));
        match best {
            Some((_, s)) => cell[s] = false,
            None => {
                if let Some(&m) = member_of[c].iter().find(|&&m| margin[m as usize]) {
                    margin[m as usize] = false;
                    *extra_margins += 1;
                }
            }
        }
        changed = true;
    }
    changed
}

/// Children summing to parents (the hours of a day's OD cell). The children of a parent
/// whose value is at least k must leave a suppressed remainder that is 0 (parent
/// published) or at least k; a parent that is suppressed although ≥ k (complementary) must
/// keep a remainder of at least k, so that its children do not reveal it.
pub fn protect_children(
    parents: &[f64],
    parent_published: &[bool],
    children: &[Vec<u32>],
    child_values: &[f64],
    k: f64,
) -> Pattern {
    let mut cell: Vec<bool> = child_values.iter().map(|&v| v >= k).collect();
    let primary = cell.iter().filter(|p| !**p).count();
    for (p, kids) in children.iter().enumerate() {
        if parents[p] < k {
            continue;
        }
        loop {
            let d: f64 = kids.iter().filter(|&&c| !cell[c as usize]).map(|&c| child_values[c as usize]).sum();
            let ok = if parent_published[p] { d <= EPS || d >= k } else { d >= k };
            if ok {
                break;
            }
            let Some(c) = kids
                .iter()
                .map(|&c| c as usize)
                .filter(|&c| cell[c])
                .min_by(|&a, &b| child_values[a].total_cmp(&child_values[b]))
            else {
                break;
            };
            cell[c] = false;
        }
    }
    let suppressed = cell.iter().filter(|p| !**p).count();
    Pattern { primary, complementary: suppressed - primary, margins_suppressed: 0, margin: Vec::new(), cell }
}

/// For tests and the release check: every published margin's suppressed remainder is 0
/// or ≥ k, and no suppressed cell in (0, k) is determined by the published margins.
pub fn verify(t: &Table, p: &Pattern, k: f64) -> Result<(), String> {
    for (i, &v) in t.values.iter().enumerate() {
        if p.cell[i] && v < k {
            return Err(format!("cell {i} = {v} is published under k"));
        }
    }
    for m in 0..t.margins.len() {
        if !p.margin[m] {
            continue;
        }
        if t.margin_value(m) < k {
            return Err(format!("margin {m} is published under k"));
        }
        let d: f64 = t.margins[m].iter().filter(|&&c| !p.cell[c as usize]).map(|&c| t.values[c as usize]).sum();
        if d > EPS && d < k {
            return Err(format!("margin {m} leaves a remainder of {d} < k"));
        }
    }
    let mut var_of = vec![usize::MAX; t.values.len()];
    let mut vars = Vec::new();
    let mut rows = Vec::new();
    for (m, cells) in t.margins.iter().enumerate() {
        if !p.margin[m] {
            continue;
        }
        let row: Vec<usize> = cells
            .iter()
            .map(|&c| c as usize)
            .filter(|&c| !p.cell[c])
            .map(|c| {
                if var_of[c] == usize::MAX {
                    var_of[c] = vars.len();
                    vars.push(c);
                }
                var_of[c]
            })
            .collect();
        rows.push(row);
    }
    let det = audit::determined(&rows, vars.len());
    for (v, &c) in vars.iter().enumerate() {
        if det[v] && t.values[c] > EPS && t.values[c] < k {
            return Err(format!("cell {c} = {} is recoverable from the margins", t.values[c]));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An r×c table with row and column totals as margins.
    fn grid(values: &[&[f64]]) -> Table {
        let (r, c) = (values.len(), values[0].len());
        let mut margins = Vec::new();
        for i in 0..r {
            margins.push((0..c).map(|j| (i * c + j) as u32).collect());
        }
        for j in 0..c {
            margins.push((0..r).map(|i| (i * c + j) as u32).collect());
        }
        Table { values: values.iter().flat_map(|r| r.iter().copied()).collect(), margins }
    }

    #[test]
    fn a_lone_small_cell_gets_a_partner_in_its_row_and_column() {
        let t = grid(&[&[5.0, 50.0, 60.0], &[70.0, 80.0, 90.0], &[30.0, 40.0, 100.0]]);
        let p = protect(&t, 20.0, true);
        assert!(!p.cell[0]);
        assert!(p.complementary >= 3, "{p:?}");
        verify(&t, &p, 20.0).unwrap();
        // Without complementary suppression the small cell is recoverable from its row.
        let naive = Pattern {
            cell: t.values.iter().map(|&v| v >= 20.0).collect(),
            margin: vec![true; 6],
            ..Default::default()
        };
        assert!(verify(&t, &naive, 20.0).is_err());
    }

    #[test]
    fn the_audit_catches_what_the_remainder_rule_misses() {
        // Row margins and column margins plus one more margin over (0,0)+(1,1):
        // the remainder rule alone can leave an L-shaped chain that pins a cell.
        let mut t = grid(&[&[5.0, 30.0], &[25.0, 8.0]]);
        t.margins.push(vec![0, 3]);
        let p = protect(&t, 20.0, true);
        verify(&t, &p, 20.0).unwrap();
    }

    #[test]
    fn random_tables_always_verify() {
        let mut rng = crate::rng::Rng::new(11);
        for _ in 0..200 {
            let (r, c) = (2 + rng.below(6), 2 + rng.below(6));
            let vals: Vec<Vec<f64>> = (0..r)
                .map(|_| {
                    (0..c)
                        .map(|_| {
                            if rng.chance(0.4) { rng.range(0.0, 20.0).floor() } else { rng.range(20.0, 200.0).floor() }
                        })
                        .collect()
                })
                .collect();
            let refs: Vec<&[f64]> = vals.iter().map(|v| v.as_slice()).collect();
            let mut t = grid(&refs);
            // A grand total too.
            t.margins.push((0..(r * c) as u32).collect());
            let p = protect(&t, 20.0, true);
            verify(&t, &p, 20.0).unwrap_or_else(|e| panic!("{e}: {vals:?} {p:?}"));
        }
    }

    #[test]
    fn children_never_reveal_a_parent_remainder() {
        // Parent 60 published; hours 45, 10, 5: the two small hours sum to 15 < k, so the
        // 45 must go too.
        let p = protect_children(&[60.0], &[true], &[vec![0, 1, 2]], &[45.0, 10.0, 5.0], 20.0);
        assert_eq!(p.cell, vec![false, false, false]);
        // Parent 90 published; hours 45, 25, 20: nothing to hide.
        let p = protect_children(&[90.0], &[true], &[vec![0, 1, 2]], &[45.0, 25.0, 20.0], 20.0);
        assert_eq!(p.cell, vec![true, true, true]);
        // Parent 90 suppressed for its table's sake: its hours must not add up to it.
        let p = protect_children(&[90.0], &[false], &[vec![0, 1, 2]], &[45.0, 25.0, 20.0], 20.0);
        assert_eq!(p.cell, vec![true, true, false]);
    }
}
