//! Stripping metadata from images before they are stored: EXIF (with its GPS tags), XMP,
//! ICC profiles, maker notes, comments, text chunks, and anything after the end of the
//! image. Used for citizen photos (stripped) and device evidence (refused if it carries
//! metadata, so that its SHA-256 stays the producer's).
//!
//! - JPEG: the marker segments are walked; APP1–APP15 (EXIF, XMP, IPTC, maker notes,
//!   thumbnails…) and COM are dropped, except an ICC colour profile (APP2 `ICC_PROFILE`,
//!   which says how to show colours and nothing about who, where or when); APP0 (JFIF) and
//!   the image segments are kept, nothing after EOI is kept.
//! - PNG: only IHDR, PLTE, tRNS, IDAT and IEND chunks are kept (no tEXt, iTXt, zTXt, eXIf,
//!   tIME…), nothing after IEND.

/// The largest photo accepted, before stripping.
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("the photo is {0} bytes, the limit is {MAX_PHOTO_BYTES}")]
    TooLarge(usize),
    #[error("the photo is neither a JPEG nor a PNG")]
    UnknownFormat,
    #[error("the photo is malformed: {0}")]
    Malformed(&'static str),
}

/// A photo with its metadata removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanPhoto {
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Checks the size and format, and strips the metadata.
pub fn clean_photo(data: &[u8]) -> Result<CleanPhoto, PhotoError> {
    if data.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge(data.len()));
    }
    if data.starts_with(&[0xFF, 0xD8]) {
        return Ok(CleanPhoto { media_type: "image/jpeg", bytes: strip_jpeg(data)? });
    }
    if data.starts_with(PNG_SIGNATURE) {
        return Ok(CleanPhoto { media_type: "image/png", bytes: strip_png(data)? });
    }
    Err(PhotoError::UnknownFormat)
}

/// Drops APP1–APP15 and COM segments and anything after EOI.
pub fn strip_jpeg(data: &[u8]) -> Result<Vec<u8>, PhotoError> {
    use PhotoError::Malformed;
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(Malformed("no JPEG start marker"));
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut i = 2;
    loop {
        // Fill bytes (0xFF) may precede a marker.
        if i >= data.len() || data[i] != 0xFF {
            return Err(Malformed("expected a marker"));
        }
        while i < data.len() && data[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = data.get(i) else { return Err(Malformed("truncated marker")) };
        i += 1;
        match marker {
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Ok(out);
            }
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&[0xFF, marker]);
                continue;
            }
            0x00 | 0xD8 => return Err(Malformed("unexpected marker")),
            _ => {}
        }
        let len = match data.get(i..i + 2) {
            Some(b) => u16::from_be_bytes([b[0], b[1]]) as usize,
            None => return Err(Malformed("truncated segment length")),
        };
        if len < 2 || i + len > data.len() {
            return Err(Malformed("segment length out of bounds"));
        }
        let segment = &data[i..i + len];
        i += len;
        // Kept: the colour profile, and Adobe's APP14 (it says how to read CMYK and YCCK
        // pictures; without it their colours come out wrong). Neither says who or where.
        let icc_profile = marker == 0xE2 && segment.get(2..14) == Some(b"ICC_PROFILE\0".as_slice());
        let adobe = marker == 0xEE && segment.get(2..7) == Some(b"Adobe".as_slice());
        let metadata = ((0xE1..=0xEF).contains(&marker) && !icc_profile && !adobe) || marker == 0xFE;
        if !metadata {
            out.extend_from_slice(&[0xFF, marker]);
            out.extend_from_slice(segment);
        }
        if marker == 0xDA {
            // Entropy-coded data: up to the next marker that is not a stuffed 0xFF00 or a
            // restart marker.
            let start = i;
            while i + 1 < data.len()
                && !(data[i] == 0xFF && data[i + 1] != 0x00 && !(0xD0..=0xD7).contains(&data[i + 1]))
            {
                i += 1;
            }
            if i + 1 >= data.len() {
                return Err(Malformed("scan data without an end"));
            }
            out.extend_from_slice(&data[start..i]);
        }
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Keeps only IHDR, PLTE, tRNS, IDAT and IEND chunks.
pub fn strip_png(data: &[u8]) -> Result<Vec<u8>, PhotoError> {
    use PhotoError::Malformed;
    if !data.starts_with(PNG_SIGNATURE) {
        return Err(Malformed("no PNG signature"));
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(PNG_SIGNATURE);
    let mut i = PNG_SIGNATURE.len();
    let mut first = true;
    loop {
        let Some(head) = data.get(i..i + 8) else { return Err(Malformed("truncated chunk")) };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = &head[4..8];
        let end = i.checked_add(12).and_then(|x| x.checked_add(len)).filter(|e| *e <= data.len());
        let Some(end) = end else { return Err(Malformed("chunk length out of bounds")) };
        if first && kind != b"IHDR" {
            return Err(Malformed("the first chunk is not IHDR"));
        }
        first = false;
        if matches!(kind, b"IHDR" | b"PLTE" | b"tRNS" | b"IDAT" | b"IEND") {
            out.extend_from_slice(&data[i..end]);
        }
        i = end;
        if kind == b"IEND" {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        s.extend_from_slice(body);
        s
    }

    /// A structurally complete baseline JPEG (1×1, grey) with an EXIF block holding GPS tags,
    /// an XMP block and a comment.
    fn jpeg_with_exif() -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        j.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        // EXIF: TIFF header, IFD0 with one GPSInfo pointer, a GPS IFD with latitude ref "N".
        let mut exif = b"Exif\0\0".to_vec();
        exif.extend_from_slice(b"MM\0\x2a\0\0\0\x08");
        exif.extend_from_slice(&[0, 1, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0x1a, 0, 0, 0, 0]);
        exif.extend_from_slice(&[0, 1, 0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0, 0, 0, 0, 0]);
        exif.extend_from_slice(b"GPS 47.2155 -1.5555");
        j.extend(segment(0xE1, &exif));
        j.extend(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"));
        j.extend(segment(0xFE, b"taken at home"));
        j.extend(segment(0xDB, &[&[0u8][..], &[1u8; 64][..]].concat()));
        j.extend(segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        j.extend(segment(0xC4, &[&[0x00u8][..], &[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[0]].concat()));
        j.extend(segment(0xC4, &[&[0x10u8][..], &[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[0]].concat()));
        j.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        j.extend_from_slice(&[0x00, 0xFF, 0x00, 0x3F]); // scan data with a stuffed 0xFF
        j.extend_from_slice(&[0xFF, 0xD9]);
        j.extend_from_slice(b"trailing bytes after EOI");
        j
    }

    /// The markers of a JPEG, walked again (checks the output's structure).
    fn markers(j: &[u8]) -> Vec<u8> {
        let mut out = vec![];
        let mut i = 2;
        while i + 1 < j.len() {
            assert_eq!(j[i], 0xFF, "a marker at {i}");
            let m = j[i + 1];
            out.push(m);
            if m == 0xD9 {
                assert_eq!(i + 2, j.len(), "nothing after EOI");
                break;
            }
            let len = u16::from_be_bytes([j[i + 2], j[i + 3]]) as usize;
            i += 2 + len;
            if m == 0xDA {
                while !(j[i] == 0xFF && j[i + 1] != 0) {
                    i += 1;
                }
            }
        }
        out
    }

    #[test]
    fn jpeg_exif_gps_xmp_and_comment_are_removed() {
        let src = jpeg_with_exif();
        assert!(src.windows(4).any(|w| w == b"Exif"));
        let clean = clean_photo(&src).unwrap();
        assert_eq!(clean.media_type, "image/jpeg");
        let out = clean.bytes;
        assert!(!out.windows(4).any(|w| w == b"Exif"), "no EXIF left");
        assert!(!out.windows(3).any(|w| w == b"GPS"), "no GPS left");
        assert!(!out.windows(7).any(|w| w == b"xmpmeta"), "no XMP left");
        assert!(!out.windows(4).any(|w| w == b"home"), "no comment left");
        assert_eq!(markers(&out), vec![0xE0, 0xDB, 0xC0, 0xC4, 0xC4, 0xDA, 0xD9]);
        assert!(out.starts_with(&[0xFF, 0xD8]) && out.ends_with(&[0xFF, 0xD9]));
        // Stripping again changes nothing.
        assert_eq!(strip_jpeg(&out).unwrap(), out);
    }

    #[test]
    fn an_icc_colour_profile_is_kept() {
        // As browsers write them: JFIF, then the ICC profile, then the image.
        let src = jpeg_with_exif();
        let mut with_icc = src[..2].to_vec();
        with_icc.extend(segment(0xE2, b"ICC_PROFILE\0\x01\x01 fake profile body"));
        with_icc.extend(segment(0xE2, b"MPF\0 a second picture"));
        with_icc.extend(segment(0xEE, b"Adobe\0\x64\0\0\0\0\x02"));
        with_icc.extend_from_slice(&src[2..]);
        let out = strip_jpeg(&with_icc).unwrap();
        assert!(out.windows(11).any(|w| w == b"ICC_PROFILE"), "the colour profile stays");
        assert!(!out.windows(3).any(|w| w == b"MPF"), "a multi-picture segment goes");
        assert!(out.windows(5).any(|w| w == b"Adobe"), "Adobe's colour transform stays");
    }

    #[test]
    fn malformed_jpegs_are_refused() {
        let src = jpeg_with_exif();
        for cut in [3, 10, 30, src.len() - 40] {
            assert!(strip_jpeg(&src[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = src.clone();
        bad[4] = 0xFF; // APP0 length now out of bounds
        bad[5] = 0xFF;
        assert!(strip_jpeg(&bad).is_err());
    }

    fn chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut c = (body.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(body);
        c.extend_from_slice(&[0, 0, 0, 0]); // CRC (not checked here)
        c
    }

    #[test]
    fn png_keeps_only_image_chunks() {
        let mut p = PNG_SIGNATURE.to_vec();
        p.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
        p.extend(chunk(b"tEXt", b"Author\0someone"));
        p.extend(chunk(b"eXIf", b"MM\0*GPS"));
        p.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1]));
        p.extend(chunk(b"tIME", &[7, 0xE8, 1, 1, 0, 0, 0]));
        p.extend(chunk(b"IEND", &[]));
        p.extend_from_slice(b"trailing");
        let out = clean_photo(&p).unwrap();
        assert_eq!(out.media_type, "image/png");
        let mut want = PNG_SIGNATURE.to_vec();
        want.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
        want.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1]));
        want.extend(chunk(b"IEND", &[]));
        assert_eq!(out.bytes, want);
        assert!(strip_png(&p[..p.len() - 30]).is_err());
    }

    #[test]
    fn size_and_format_limits() {
        let mut big = jpeg_with_exif();
        big.resize(MAX_PHOTO_BYTES + 1, 0);
        assert_eq!(clean_photo(&big), Err(PhotoError::TooLarge(MAX_PHOTO_BYTES + 1)));
        assert_eq!(clean_photo(b"GIF89a"), Err(PhotoError::UnknownFormat));
    }
}
