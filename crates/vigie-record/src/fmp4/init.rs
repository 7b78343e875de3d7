//! The initialisation segment (`ftyp` + `moov`): the one video track's timescale, size,
//! codec (as the `codecs` string a browser's Media Source wants) and fragment defaults.

use super::Fmp4Error;
use super::boxes::{BoxHeader, child, children, kind_str, required, u8_at, u16_at, u32_at};

/// What a recording needs to know from its initialisation segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Init {
    /// The bytes, `ftyp` then `moov`, as written at the head of every segment file.
    pub bytes: Vec<u8>,
    pub track_id: u32,
    /// Ticks per second of the track's decode times.
    pub timescale: u32,
    pub width: u32,
    pub height: u32,
    /// RFC 6381 codec, e.g. `avc1.64001f` (what `MediaSource.isTypeSupported` takes).
    pub codec: String,
    /// Defaults from `mvex/trex` for fragments that do not say otherwise.
    pub default_sample_duration: u32,
    pub default_sample_flags: u32,
}

impl Init {
    /// The MIME type with its codec, for Media Source Extensions.
    pub fn mime(&self) -> String {
        format!("video/mp4; codecs=\"{}\"", self.codec)
    }
}

/// Parses `ftyp` + `moov` (other top-level boxes before `moov` are kept in `bytes`).
pub fn parse_init(bytes: Vec<u8>) -> Result<Init, Fmp4Error> {
    let top = children(&bytes, 0, bytes.len())?;
    let moov = top
        .iter()
        .find(|h| h.is(b"moov"))
        .copied()
        .ok_or_else(|| Fmp4Error::Malformed("the initialisation segment has no moov".into()))?;
    let mut video: Option<(u32, BoxHeader)> = None;
    for trak in children(&bytes, moov.payload, moov.end)?.into_iter().filter(|h| h.is(b"trak")) {
        let mdia = required(&bytes, &trak, b"mdia")?;
        let hdlr = required(&bytes, &mdia, b"hdlr")?;
        // full box (4) + pre_defined (4) + handler_type (4)
        let handler = bytes.get(hdlr.payload + 8..hdlr.payload + 12).unwrap_or(b"????");
        if handler != b"vide" {
            continue;
        }
        if video.is_some() {
            return Err(Fmp4Error::Unsupported("more than one video track".into()));
        }
        let tkhd = required(&bytes, &trak, b"tkhd")?;
        let version = u8_at(&bytes, tkhd.payload)?;
        // version 1: creation (8) + modification (8); version 0: 4 + 4; then track_ID.
        let track_id = u32_at(&bytes, tkhd.payload + 4 + if version == 1 { 16 } else { 8 })?;
        video = Some((track_id, trak));
    }
    let (track_id, trak) = video.ok_or_else(|| Fmp4Error::Unsupported("no video track".into()))?;
    let mdia = required(&bytes, &trak, b"mdia")?;
    let mdhd = required(&bytes, &mdia, b"mdhd")?;
    let version = u8_at(&bytes, mdhd.payload)?;
    let timescale = u32_at(&bytes, mdhd.payload + 4 + if version == 1 { 16 } else { 8 })?;
    if timescale == 0 {
        return Err(Fmp4Error::Malformed("the video track's timescale is 0".into()));
    }
    let stbl = required(&bytes, &required(&bytes, &mdia, b"minf")?, b"stbl")?;
    let stsd = required(&bytes, &stbl, b"stsd")?;
    // full box (4) + entry_count (4), then the sample entries.
    let entry = children(&bytes, stsd.payload + 8, stsd.end)?
        .into_iter()
        .next()
        .ok_or_else(|| Fmp4Error::Malformed("stsd has no sample entry".into()))?;
    // Visual sample entry: reserved (6) + data_reference_index (2) + pre_defined/reserved
    // (16) + width (2) + height (2) + … 78 bytes in all before its child boxes.
    let width = u32::from(u16_at(&bytes, entry.payload + 24)?);
    let height = u32::from(u16_at(&bytes, entry.payload + 26)?);
    let codec = codec_string(&bytes, &entry)?;
    let (mut default_sample_duration, mut default_sample_flags) = (0, 0);
    if let Some(mvex) = child(&bytes, moov.payload, moov.end, b"mvex")? {
        for trex in children(&bytes, mvex.payload, mvex.end)?.into_iter().filter(|h| h.is(b"trex")) {
            // full box (4) + track_ID + sample_description_index + duration + size + flags
            if u32_at(&bytes, trex.payload + 4)? == track_id {
                default_sample_duration = u32_at(&bytes, trex.payload + 12)?;
                default_sample_flags = u32_at(&bytes, trex.payload + 20)?;
            }
        }
    }
    Ok(Init { bytes, track_id, timescale, width, height, codec, default_sample_duration, default_sample_flags })
}

/// `avc1.PPCCLL` from `avcC`; `hvc1`/`hev1` with their profile from `hvcC`.
fn codec_string(buf: &[u8], entry: &BoxHeader) -> Result<String, Fmp4Error> {
    let name = kind_str(&entry.kind);
    let boxes_from = entry.payload + 78;
    match &entry.kind {
        b"avc1" | b"avc3" => {
            let avcc = child(buf, boxes_from, entry.end, b"avcC")?
                .ok_or_else(|| Fmp4Error::Malformed(format!("{name} has no avcC")))?;
            // configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication
            let (p, c, l) =
                (u8_at(buf, avcc.payload + 1)?, u8_at(buf, avcc.payload + 2)?, u8_at(buf, avcc.payload + 3)?);
            Ok(format!("{name}.{p:02x}{c:02x}{l:02x}"))
        }
        b"hvc1" | b"hev1" => {
            let hvcc = child(buf, boxes_from, entry.end, b"hvcC")?
                .ok_or_else(|| Fmp4Error::Malformed(format!("{name} has no hvcC")))?;
            let b1 = u8_at(buf, hvcc.payload + 1)?;
            let (space, tier, profile) = (b1 >> 6, (b1 >> 5) & 1, b1 & 0x1f);
            let compat = u32_at(buf, hvcc.payload + 2)?.reverse_bits();
            let level = u8_at(buf, hvcc.payload + 12)?;
            let space = ["", "A", "B", "C"][usize::from(space & 3)];
            Ok(format!("{name}.{space}{profile}.{compat:x}.{}{level}.B0", if tier == 1 { 'H' } else { 'L' }))
        }
        _ => Err(Fmp4Error::Unsupported(format!("video codec {name} (H.264 or H.265 expected)"))),
    }
}
