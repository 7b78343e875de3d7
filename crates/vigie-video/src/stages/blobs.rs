//! Connected foreground regions (8-connectivity, two passes with union-find).

use crate::geometry::BoxPx;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blob {
    pub bbox: BoxPx,
    pub pixels: u32,
}

/// Labels the non-zero cells of a `w`×`h` mask; blobs smaller than `min_px` are dropped.
pub fn label(mask: &[u8], w: u32, h: u32, min_px: u32) -> Vec<Blob> {
    let (w, h) = (w as usize, h as usize);
    let mut labels = vec![0u32; w * h];
    let mut parent: Vec<u32> = vec![0];
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    for y in 0..h {
        for x in 0..w {
            if mask[y * w + x] == 0 {
                continue;
            }
            let mut best = 0u32;
            let neighbours = [
                (x > 0).then(|| labels[y * w + x - 1]),
                (y > 0 && x > 0).then(|| labels[(y - 1) * w + x - 1]),
                (y > 0).then(|| labels[(y - 1) * w + x]),
                (y > 0 && x + 1 < w).then(|| labels[(y - 1) * w + x + 1]),
            ];
            for l in neighbours.into_iter().flatten().filter(|&l| l != 0) {
                if best == 0 {
                    best = find(&mut parent, l);
                } else {
                    let (a, b) = (find(&mut parent, best), find(&mut parent, l));
                    if a != b {
                        let (lo, hi) = (a.min(b), a.max(b));
                        parent[hi as usize] = lo;
                        best = lo;
                    }
                }
            }
            if best == 0 {
                best = parent.len() as u32;
                parent.push(best);
            }
            labels[y * w + x] = best;
        }
    }
    let mut stats: Vec<Option<Blob>> = vec![None; parent.len()];
    for y in 0..h {
        for x in 0..w {
            let l = labels[y * w + x];
            if l == 0 {
                continue;
            }
            let r = find(&mut parent, l) as usize;
            let (x, y) = (x as u32, y as u32);
            let b = stats[r].get_or_insert(Blob { bbox: BoxPx { x0: x, y0: y, x1: x + 1, y1: y + 1 }, pixels: 0 });
            b.pixels += 1;
            b.bbox.x0 = b.bbox.x0.min(x);
            b.bbox.y0 = b.bbox.y0.min(y);
            b.bbox.x1 = b.bbox.x1.max(x + 1);
            b.bbox.y1 = b.bbox.y1.max(y + 1);
        }
    }
    stats.into_iter().flatten().filter(|b| b.pixels >= min_px).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_regions_and_joins_diagonals() {
        #[rustfmt::skip]
        let m = [
            1, 1, 0, 0, 0,
            0, 1, 0, 0, 1,
            0, 0, 1, 0, 1,
            0, 0, 0, 0, 1,
        ];
        let mut b = label(&m, 5, 4, 1);
        b.sort_by_key(|b| b.bbox.x0);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].pixels, 4);
        assert_eq!(b[0].bbox, BoxPx { x0: 0, y0: 0, x1: 3, y1: 3 });
        assert_eq!(b[1].bbox, BoxPx { x0: 4, y0: 1, x1: 5, y1: 4 });
        assert_eq!(label(&m, 5, 4, 4).len(), 1);
    }

    #[test]
    fn u_shape_is_one_blob() {
        #[rustfmt::skip]
        let m = [
            1, 0, 1,
            1, 0, 1,
            1, 1, 1,
        ];
        assert_eq!(label(&m, 3, 3, 1).len(), 1);
    }
}
