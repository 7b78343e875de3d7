//! ISO BMFF box headers: `size` (32 bits, or 64 bits after `size == 1`) then a four-letter
//! type. Everything here reads from a byte slice and never panics on short or hostile input.

use super::Fmp4Error;

/// A box header read at some offset: its type, where its payload starts and where it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoxHeader {
    pub kind: [u8; 4],
    /// Offset of the box's first byte.
    pub start: usize,
    /// Offset of the payload (after size, type and any large size).
    pub payload: usize,
    /// Offset one past the box's last byte.
    pub end: usize,
}

impl BoxHeader {
    pub fn is(&self, kind: &[u8; 4]) -> bool {
        &self.kind == kind
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The header's length in bytes when at least that much is known: `Ok(None)` when `buf`
/// is too short to tell yet (a stream reader then waits for more bytes).
pub fn peek_size(buf: &[u8]) -> Result<Option<(u64, usize)>, Fmp4Error> {
    if buf.len() < 8 {
        return Ok(None);
    }
    let size32 = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    match size32 {
        0 => Err(Fmp4Error::Malformed("a box that runs to the end of the stream (size 0) cannot be framed".into())),
        1 => {
            if buf.len() < 16 {
                return Ok(None);
            }
            let size = u64::from_be_bytes(buf[8..16].try_into().unwrap_or([0; 8]));
            if size < 16 {
                return Err(Fmp4Error::Malformed(format!("large box size {size} is below its own header")));
            }
            Ok(Some((size, 16)))
        }
        s if s < 8 => Err(Fmp4Error::Malformed(format!("box size {s} is below its own header"))),
        s => Ok(Some((u64::from(s), 8))),
    }
}

/// Reads the header of the box at `at` inside `buf[..limit]`.
pub fn header_at(buf: &[u8], at: usize, limit: usize) -> Result<BoxHeader, Fmp4Error> {
    let limit = limit.min(buf.len());
    let slice = buf.get(at..limit).ok_or_else(|| Fmp4Error::Malformed("box offset past the end".into()))?;
    let (size, header) = peek_size(slice)?.ok_or_else(|| Fmp4Error::Malformed("truncated box header".into()))?;
    let end = (at as u64).checked_add(size).filter(|&e| e <= limit as u64).ok_or_else(|| {
        Fmp4Error::Malformed(format!(
            "box {} of {size} bytes overruns its container",
            kind_str(&[slice[4], slice[5], slice[6], slice[7]])
        ))
    })? as usize;
    Ok(BoxHeader { kind: [slice[4], slice[5], slice[6], slice[7]], start: at, payload: at + header, end })
}

/// The child boxes inside `buf[from..to]`.
pub fn children(buf: &[u8], from: usize, to: usize) -> Result<Vec<BoxHeader>, Fmp4Error> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        let h = header_at(buf, at, to)?;
        at = h.end;
        out.push(h);
        if out.len() > 10_000 {
            return Err(Fmp4Error::Malformed("more than 10 000 boxes in one container".into()));
        }
    }
    Ok(out)
}

/// The first child of that type inside `buf[from..to]`.
pub fn child(buf: &[u8], from: usize, to: usize, kind: &[u8; 4]) -> Result<Option<BoxHeader>, Fmp4Error> {
    Ok(children(buf, from, to)?.into_iter().find(|h| h.is(kind)))
}

/// A child that must be there, or an error naming the path.
pub fn required(buf: &[u8], parent: &BoxHeader, kind: &[u8; 4]) -> Result<BoxHeader, Fmp4Error> {
    child(buf, parent.payload, parent.end, kind)?
        .ok_or_else(|| Fmp4Error::Malformed(format!("{} has no {}", kind_str(&parent.kind), kind_str(kind))))
}

pub fn kind_str(kind: &[u8; 4]) -> String {
    kind.iter().map(|&b| if b.is_ascii_graphic() { b as char } else { '?' }).collect()
}

/// Big-endian readers that answer an error instead of panicking past the end.
pub fn u8_at(buf: &[u8], at: usize) -> Result<u8, Fmp4Error> {
    buf.get(at).copied().ok_or_else(|| Fmp4Error::Malformed("field past the end of its box".into()))
}

pub fn u16_at(buf: &[u8], at: usize) -> Result<u16, Fmp4Error> {
    let b = buf.get(at..at + 2).ok_or_else(|| Fmp4Error::Malformed("field past the end of its box".into()))?;
    Ok(u16::from_be_bytes([b[0], b[1]]))
}

pub fn u32_at(buf: &[u8], at: usize) -> Result<u32, Fmp4Error> {
    let b = buf.get(at..at + 4).ok_or_else(|| Fmp4Error::Malformed("field past the end of its box".into()))?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

pub fn u64_at(buf: &[u8], at: usize) -> Result<u64, Fmp4Error> {
    let b = buf.get(at..at + 8).ok_or_else(|| Fmp4Error::Malformed("field past the end of its box".into()))?;
    Ok(u64::from_be_bytes(b.try_into().unwrap_or([0; 8])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn reads_nested_boxes_and_large_sizes() {
        let inner = mk(b"abcd", &[1, 2, 3]);
        let outer = mk(b"moov", &inner);
        let h = header_at(&outer, 0, outer.len()).unwrap();
        assert!(h.is(b"moov"));
        assert_eq!(h.end, outer.len());
        let c = children(&outer, h.payload, h.end).unwrap();
        assert_eq!(c.len(), 1);
        assert!(c[0].is(b"abcd"));
        let mut large = vec![0, 0, 0, 1];
        large.extend_from_slice(b"mdat");
        large.extend_from_slice(&20u64.to_be_bytes());
        large.extend_from_slice(&[9; 4]);
        let h = header_at(&large, 0, large.len()).unwrap();
        assert_eq!((h.payload, h.end), (16, 20));
    }

    #[test]
    fn refuses_hostile_sizes_without_panicking() {
        assert!(header_at(&[0, 0, 0, 4, b'a', b'b', b'c', b'd'], 0, 8).is_err());
        assert!(header_at(&[0, 0, 0, 0, b'a', b'b', b'c', b'd'], 0, 8).is_err());
        assert!(header_at(&[0xff, 0xff, 0xff, 0xff, b'a', b'b', b'c', b'd'], 0, 8).is_err());
        assert!(header_at(&[0, 0], 0, 2).is_err());
        assert!(u32_at(&[1, 2, 3], 0).is_err());
        assert_eq!(peek_size(&[0, 0, 0]).unwrap(), None);
    }
}
