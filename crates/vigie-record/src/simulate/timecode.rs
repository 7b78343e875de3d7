//! A wall-clock timestamp drawn into the picture as a bar code, read back from decoded
//! frames to measure glass-to-glass latency: 64 cells in a 16 × 4 grid at the top left
//! (each 1/64 of the width and 1/36 of the height, about 30 px at 1080p, so compression
//! and scaling leave them readable): an 8-cell sync pattern, 48 bits of milliseconds
//! since the epoch, an 8-bit checksum. White is 1, black is 0.

/// Cells across and down.
const COLS: u32 = 16;
const ROWS: u32 = 4;
const SYNC: u8 = 0b1010_0110;

fn cell(w: u32, h: u32) -> (u32, u32) {
    ((w / 64).max(2), (h / 36).max(2))
}

fn checksum(ms: u64) -> u8 {
    (0..6).fold(0x5au8, |acc, i| acc.rotate_left(3) ^ ((ms >> (8 * i)) as u8))
}

fn bits(ms: u64) -> [bool; 64] {
    let mut b = [false; 64];
    for (i, bit) in b.iter_mut().take(8).enumerate() {
        *bit = SYNC >> (7 - i) & 1 == 1;
    }
    for i in 0..48 {
        b[8 + i] = (ms >> (47 - i)) & 1 == 1;
    }
    let c = checksum(ms & ((1 << 48) - 1));
    for i in 0..8 {
        b[56 + i] = c >> (7 - i) & 1 == 1;
    }
    b
}

/// Width and height in pixels of the area the code covers at a picture size.
pub fn area(w: u32, h: u32) -> (u32, u32) {
    let (cw, ch) = cell(w, h);
    (cw * COLS, ch * ROWS)
}

/// Draws `ms` into a luma plane of `w`×`h` (row stride `w`).
pub fn draw(y: &mut [u8], w: u32, h: u32, ms: u64) {
    let (cw, ch) = cell(w, h);
    for (i, bit) in bits(ms).iter().enumerate() {
        let (cx, cy) = (i as u32 % COLS, i as u32 / COLS);
        let v = if *bit { 235 } else { 16 };
        for yy in cy * ch..((cy + 1) * ch).min(h) {
            let row = (yy * w) as usize;
            for xx in cx * cw..((cx + 1) * cw).min(w) {
                if let Some(p) = y.get_mut(row + xx as usize) {
                    *p = v;
                }
            }
        }
    }
}

/// Reads the timestamp back from a decoded luma plane, or `None` when there is none (or
/// it does not check out).
pub fn read(y: &[u8], w: u32, h: u32) -> Option<u64> {
    let (cw, ch) = cell(w, h);
    let mut b = [false; 64];
    for (i, bit) in b.iter_mut().enumerate() {
        let (cx, cy) = (i as u32 % COLS, i as u32 / COLS);
        // The mean of the cell's inner half: its edges are where compression smears.
        let (x0, x1) = (cx * cw + cw / 4, cx * cw + cw * 3 / 4);
        let (y0, y1) = (cy * ch + ch / 4, cy * ch + ch * 3 / 4);
        let (mut sum, mut n) = (0u64, 0u64);
        for yy in y0..y1.max(y0 + 1) {
            for xx in x0..x1.max(x0 + 1) {
                sum += u64::from(*y.get((yy * w + xx) as usize)?);
                n += 1;
            }
        }
        *bit = sum / n.max(1) > 125;
    }
    let sync = (0..8).fold(0u8, |acc, i| acc << 1 | u8::from(b[i]));
    if sync != SYNC {
        return None;
    }
    let ms = (0..48).fold(0u64, |acc, i| acc << 1 | u64::from(b[8 + i]));
    let c = (0..8).fold(0u8, |acc, i| acc << 1 | u8::from(b[56 + i]));
    (c == checksum(ms)).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_noise() {
        let (w, h) = (640, 360);
        let mut y = vec![100u8; (w * h) as usize];
        assert_eq!(read(&y, w, h), None);
        let ms = 1_790_000_123_456;
        draw(&mut y, w, h, ms);
        assert_eq!(read(&y, w, h), Some(ms));
        // Light noise is tolerated; a flipped cell fails the checksum.
        for (i, p) in y.iter_mut().enumerate() {
            *p = p.saturating_add((i % 7) as u8 * 3);
        }
        assert_eq!(read(&y, w, h), Some(ms));
        let (cw, ch) = (w / 64, h / 36);
        let flip_x = 20 * cw % (cw * 16) + cw / 2; // a cell of the milliseconds
        let flip_y = ch + ch / 2;
        let i = (flip_y * w + flip_x) as usize;
        let v = if y[i] > 125 { 16 } else { 235 };
        for yy in ch..2 * ch {
            for xx in (flip_x - cw / 2)..(flip_x + cw / 2) {
                y[(yy * w + xx) as usize] = v;
            }
        }
        assert_eq!(read(&y, w, h), None);
    }
}
