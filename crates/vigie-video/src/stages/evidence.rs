//! Stage `evidence`: one JPEG snapshot per detection, made from the masked frame (masks are
//! already burned in), with every person-like box pixelated and the event's box outlined,
//! stored under its SHA-256 and referenced from the detection as `evidence/<sha256>.jpg`.
//!
//! Storage is behind [`EvidenceStore`]: [`DirStore`] writes files at the edge; the hub
//! upload (`vigie_publish::Publisher::upload_evidence`) plugs in as another store.

use std::path::{Path, PathBuf};

use jpeg_encoder::{ColorType, Encoder};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use vigie_model::Evidence;

use crate::error::VideoError;
use crate::frame::MaskedFrame;
use crate::geometry::BoxPx;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceConfig {
    pub enabled: bool,
    /// Side of the pixelation blocks, detect pixels.
    pub pixelate_block_px: u32,
    pub jpeg_quality: u8,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig { enabled: true, pixelate_block_px: 6, jpeg_quality: 85 }
    }
}

/// Where evidence bytes go; returns the contract's reference to them.
pub trait EvidenceStore: Send {
    fn store(&mut self, media_type: &str, bytes: &[u8]) -> Result<Evidence, VideoError>;
}

/// Files under `root/evidence/<sha256>.<ext>` (content-addressed: a retry rewrites the same file).
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub fn new(root: impl Into<PathBuf>) -> DirStore {
        DirStore { root: root.into() }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl EvidenceStore for DirStore {
    fn store(&mut self, media_type: &str, bytes: &[u8]) -> Result<Evidence, VideoError> {
        let sha = sha256_hex(bytes);
        let ext = match media_type {
            "image/jpeg" => "jpg",
            _ => "bin",
        };
        let uri = format!("evidence/{sha}.{ext}");
        let dir = self.root.join("evidence");
        std::fs::create_dir_all(&dir).map_err(|e| VideoError::Evidence(format!("{}: {e}", dir.display())))?;
        let path = self.root.join(&uri);
        let tmp = dir.join(format!(".{sha}.tmp"));
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| VideoError::Evidence(format!("{}: {e}", path.display())))?;
        Ok(Evidence { media_type: media_type.to_owned(), uri, sha256: sha })
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The snapshot's pixels: RGB of the masked frame, `persons` pixelated, the event's box outlined.
pub fn snapshot_rgb(frame: &MaskedFrame, persons: &[BoxPx], outline: Option<BoxPx>, cfg: &EvidenceConfig) -> Vec<u8> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let mut rgb = frame.to_rgb();
    let block = cfg.pixelate_block_px.max(2) as usize;
    for b in persons {
        pixelate(&mut rgb, w, h, b, block);
    }
    if let Some(b) = outline {
        draw_box(&mut rgb, w, h, &b, [255, 220, 0]);
    }
    rgb
}

/// The snapshot as a JPEG.
pub fn snapshot(
    frame: &MaskedFrame,
    persons: &[BoxPx],
    outline: Option<BoxPx>,
    cfg: &EvidenceConfig,
) -> Result<Vec<u8>, VideoError> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let rgb = snapshot_rgb(frame, persons, outline, cfg);
    let mut out = Vec::new();
    let enc = Encoder::new(&mut out, cfg.jpeg_quality.clamp(10, 100));
    enc.encode(&rgb, w as u16, h as u16, ColorType::Rgb).map_err(|e| VideoError::Evidence(format!("jpeg: {e}")))?;
    Ok(out)
}

/// Replaces each `block`×`block` cell of the box (grown by one block) by its mean colour.
pub fn pixelate(rgb: &mut [u8], w: usize, h: usize, b: &BoxPx, block: usize) {
    let g = b.grown(block as u32 / 2, w as u32, h as u32);
    let (x0, y0, x1, y1) = (g.x0 as usize, g.y0 as usize, g.x1 as usize, g.y1 as usize);
    let mut by = y0;
    while by < y1 {
        let mut bx = x0;
        while bx < x1 {
            let (ex, ey) = ((bx + block).min(x1), (by + block).min(y1));
            let mut sum = [0u32; 3];
            let n = ((ex - bx) * (ey - by)) as u32;
            for y in by..ey {
                for x in bx..ex {
                    for c in 0..3 {
                        sum[c] += rgb[(y * w + x) * 3 + c] as u32;
                    }
                }
            }
            for y in by..ey {
                for x in bx..ex {
                    for c in 0..3 {
                        rgb[(y * w + x) * 3 + c] = (sum[c] / n.max(1)) as u8;
                    }
                }
            }
            bx += block;
        }
        by += block;
    }
}

fn draw_box(rgb: &mut [u8], w: usize, h: usize, b: &BoxPx, colour: [u8; 3]) {
    let g = b.grown(1, w as u32, h as u32);
    let (x0, y0, x1, y1) = (g.x0 as usize, g.y0 as usize, (g.x1 as usize).max(1) - 1, (g.y1 as usize).max(1) - 1);
    let mut put = |x: usize, y: usize| {
        if x < w && y < h {
            rgb[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&colour);
        }
    };
    for x in x0..=x1 {
        put(x, y0);
        put(x, y1);
    }
    for y in y0..=y1 {
        put(x0, y);
        put(x1, y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixelation_removes_detail_inside_the_box_only() {
        let (w, h) = (40usize, 20usize);
        let mut rgb: Vec<u8> = (0..w * h * 3).map(|i| ((i * 37) % 251) as u8).collect();
        let orig = rgb.clone();
        let b = BoxPx { x0: 10, y0: 4, x1: 22, y1: 16 };
        pixelate(&mut rgb, w, h, &b, 6);
        // Inside: each 6×6 block is flat.
        let px = |v: &[u8], x: usize, y: usize| v[(y * w + x) * 3];
        assert_eq!(px(&rgb, 8, 2), px(&rgb, 12, 6));
        // Far outside: untouched.
        assert_eq!(px(&rgb, 35, 18), px(&orig, 35, 18));
        assert_eq!(px(&rgb, 0, 0), px(&orig, 0, 0));
    }

    #[test]
    fn snapshot_keeps_masks_black_and_persons_unreadable() {
        use crate::frame::Frame;
        use crate::geometry::{Point, Polygon};
        use crate::stages::mask::Masker;
        let mut f = Frame::grey(64, 32, 0, chrono::Utc::now());
        // A fine checkerboard everywhere (the detail a face would have).
        for (i, v) in f.data[..64 * 32].iter_mut().enumerate() {
            *v = if (i + i / 64) % 2 == 0 { 40 } else { 220 };
        }
        let mask = Polygon::new(vec![
            Point::new(0.0, 0.0),
            Point::new(0.25, 0.0),
            Point::new(0.25, 1.0),
            Point::new(0.0, 1.0),
        ]);
        let masked = Masker::new(vec![mask]).apply(f);
        let person = BoxPx { x0: 36, y0: 6, x1: 48, y1: 24 };
        let cfg = EvidenceConfig::default();
        let rgb = snapshot_rgb(&masked, &[person], None, &cfg);
        let at = |x: usize, y: usize| rgb[(y * 64 + x) * 3] as i32;
        // Under the mask: black.
        assert!((0..16).all(|x| (0..32).all(|y| at(x, y) < 20)));
        // Inside the person's box: no neighbouring pixels keep the checkerboard's contrast.
        for y in 8..22 {
            for x in 37..46 {
                assert!((at(x, y) - at(x + 1, y)).abs() < 100, "detail left at {x},{y}");
            }
        }
        // Elsewhere the texture is intact.
        assert!((at(20, 10) - at(21, 10)).abs() > 100);
        assert!(snapshot(&masked, &[person], Some(person), &cfg).unwrap().starts_with(&[0xFF, 0xD8]));
    }

    #[test]
    fn stores_under_the_sha256() {
        let dir = std::env::temp_dir().join(format!("vigie-video-ev-{}", std::process::id()));
        let mut s = DirStore::new(&dir);
        let e = s.store("image/jpeg", b"hello").unwrap();
        assert_eq!(e.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(e.uri, format!("evidence/{}.jpg", e.sha256));
        assert_eq!(std::fs::read(dir.join(&e.uri)).unwrap(), b"hello");
        assert!(vigie_model::detection::is_safe_relative_path(&e.uri));
        let _ = std::fs::remove_dir_all(dir);
    }
}
