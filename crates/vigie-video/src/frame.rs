//! Frames at the detect size (YUV 4:2:0 planar, as FFmpeg writes `-pix_fmt yuv420p`), and
//! the [`MaskedFrame`] that only the mask stage can make: every analysis, display and
//! evidence function takes a `MaskedFrame`, so nothing can see pixels a privacy mask hides.

use chrono::{DateTime, Utc};

/// One decoded frame: `width`×`height` luma then two `width/2`×`height/2` chroma planes.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Index of the frame since the input was opened (across reconnects).
    pub seq: u64,
    pub time: DateTime<Utc>,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Frame {
    /// Bytes of one frame of this size.
    pub fn byte_len(width: u32, height: u32) -> usize {
        let (w, h) = (width as usize, height as usize);
        w * h + 2 * (w / 2) * (h / 2)
    }

    /// A mid-grey frame (for tests and the renderer).
    pub fn grey(width: u32, height: u32, seq: u64, time: DateTime<Utc>) -> Frame {
        let n = (width * height) as usize;
        let mut data = vec![128u8; Frame::byte_len(width, height)];
        data[..n].fill(110);
        Frame { seq, time, width, height, data }
    }

    pub fn y(&self) -> &[u8] {
        &self.data[..(self.width * self.height) as usize]
    }
    pub fn u(&self) -> &[u8] {
        let n = (self.width * self.height) as usize;
        let c = (self.width / 2 * (self.height / 2)) as usize;
        &self.data[n..n + c]
    }
    pub fn v(&self) -> &[u8] {
        let n = (self.width * self.height) as usize;
        let c = (self.width / 2 * (self.height / 2)) as usize;
        &self.data[n + c..n + 2 * c]
    }
    pub(crate) fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let n = (self.width * self.height) as usize;
        let c = (self.width / 2 * (self.height / 2)) as usize;
        let (y, rest) = self.data.split_at_mut(n);
        let (u, v) = rest.split_at_mut(c);
        (y, &mut u[..c], &mut v[..c])
    }
}

/// A frame whose privacy masks are burned in. Only [`crate::stages::mask::Masker`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskedFrame(Frame);

impl MaskedFrame {
    pub(crate) fn from_masked(frame: Frame) -> MaskedFrame {
        MaskedFrame(frame)
    }
    pub fn frame(&self) -> &Frame {
        &self.0
    }
    pub fn width(&self) -> u32 {
        self.0.width
    }
    pub fn height(&self) -> u32 {
        self.0.height
    }
    pub fn time(&self) -> DateTime<Utc> {
        self.0.time
    }

    /// Interleaved RGB of the whole frame (BT.601 limited range, as H.264 cameras send).
    pub fn to_rgb(&self) -> Vec<u8> {
        let f = &self.0;
        let (w, h) = (f.width as usize, f.height as usize);
        let (y, u, v) = (f.y(), f.u(), f.v());
        let mut out = vec![0u8; w * h * 3];
        for row in 0..h {
            for col in 0..w {
                let ci = (row / 2).min(h / 2 - 1) * (w / 2) + (col / 2).min(w / 2 - 1);
                let rgb = yuv_to_rgb(y[row * w + col], u[ci], v[ci]);
                out[(row * w + col) * 3..(row * w + col) * 3 + 3].copy_from_slice(&rgb);
            }
        }
        out
    }
}

/// BT.601 limited-range YCbCr to RGB.
pub fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = (y as f32 - 16.0) * 1.164;
    let d = u as f32 - 128.0;
    let e = v as f32 - 128.0;
    let clamp = |x: f32| x.round().clamp(0.0, 255.0) as u8;
    [clamp(c + 1.596 * e), clamp(c - 0.392 * d - 0.813 * e), clamp(c + 2.017 * d)]
}

/// RGB to BT.601 limited-range YCbCr.
pub fn rgb_to_yuv(r: u8, g: u8, b: u8) -> [u8; 3] {
    let (r, g, b) = (r as f32, g as f32, b as f32);
    let clamp = |x: f32| x.round().clamp(0.0, 255.0) as u8;
    [
        clamp(16.0 + 0.257 * r + 0.504 * g + 0.098 * b),
        clamp(128.0 - 0.148 * r - 0.291 * g + 0.439 * b),
        clamp(128.0 + 0.439 * r - 0.368 * g - 0.071 * b),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_conversions_round_trip() {
        for rgb in [[255u8, 120, 0], [20, 30, 200], [128, 128, 128], [250, 250, 250]] {
            let [y, u, v] = rgb_to_yuv(rgb[0], rgb[1], rgb[2]);
            let back = yuv_to_rgb(y, u, v);
            for i in 0..3 {
                assert!((back[i] as i32 - rgb[i] as i32).abs() <= 3, "{rgb:?} -> {back:?}");
            }
        }
    }

    #[test]
    fn planes_have_the_right_sizes() {
        let f = Frame::grey(320, 180, 0, chrono::Utc::now());
        assert_eq!(f.y().len(), 57_600);
        assert_eq!(f.u().len(), 14_400);
        assert_eq!(f.v().len(), 14_400);
        assert_eq!(f.data.len(), Frame::byte_len(320, 180));
    }
}
