//! Media fragments (`moof` + `mdat`): their decode time, duration, whether they open on a
//! keyframe (where a segment or a late viewer may start), and the decode-time rewrite
//! that makes every segment file start at zero.

use super::Fmp4Error;
use super::boxes::{children, required, u8_at, u32_at, u64_at};
use super::init::Init;

/// `sample_is_non_sync_sample` in ISO/IEC 14496-12 sample flags.
const NON_SYNC: u32 = 0x0001_0000;

/// One fragment, ready to be written or sent as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// `moof` + `mdat` (with any `styp`/`prft` that came just before).
    pub bytes: Vec<u8>,
    /// Decode time of the first sample, in the track's timescale (`tfdt`).
    pub decode_time: u64,
    /// Sum of the sample durations, same timescale.
    pub duration: u64,
    pub samples: u32,
    /// The first sample is a sync sample (a keyframe).
    pub keyframe: bool,
    /// Offset of the `tfdt` value inside `bytes`, and whether it is 64 bits wide.
    tfdt_at: usize,
    tfdt_64: bool,
}

impl Fragment {
    /// The same fragment with its decode time moved back by `offset` ticks (so that a
    /// segment file starts at zero whatever the stream's clock).
    pub fn rebased(&self, offset: u64) -> Result<Vec<u8>, Fmp4Error> {
        let t = self.decode_time.checked_sub(offset).ok_or_else(|| {
            Fmp4Error::Malformed(format!("decode time {} is before the segment start {offset}", self.decode_time))
        })?;
        let mut out = self.bytes.clone();
        if self.tfdt_64 {
            out[self.tfdt_at..self.tfdt_at + 8].copy_from_slice(&t.to_be_bytes());
        } else {
            let t32 = u32::try_from(t).map_err(|_| Fmp4Error::Malformed("a 32-bit decode time overflowed".into()))?;
            out[self.tfdt_at..self.tfdt_at + 4].copy_from_slice(&t32.to_be_bytes());
        }
        Ok(out)
    }
}

/// Parses a fragment: `bytes` holds the `moof` at `moof_at` and its `mdat` after it.
pub fn parse_fragment(bytes: Vec<u8>, moof_at: usize, init: &Init) -> Result<Fragment, Fmp4Error> {
    let top = children(&bytes, moof_at, bytes.len())?;
    let moof = top
        .first()
        .copied()
        .filter(|h| h.is(b"moof"))
        .ok_or_else(|| Fmp4Error::Malformed("a fragment must start with moof".into()))?;
    if !top.iter().any(|h| h.is(b"mdat")) {
        return Err(Fmp4Error::Malformed("a fragment without mdat".into()));
    }
    let trafs: Vec<_> = children(&bytes, moof.payload, moof.end)?.into_iter().filter(|h| h.is(b"traf")).collect();
    if trafs.len() != 1 {
        return Err(Fmp4Error::Unsupported(format!(
            "{} track fragments in one moof (one video track expected)",
            trafs.len()
        )));
    }
    let traf = trafs[0];
    let tfhd = required(&bytes, &traf, b"tfhd")?;
    let flags = u32_at(&bytes, tfhd.payload)? & 0x00ff_ffff;
    let track_id = u32_at(&bytes, tfhd.payload + 4)?;
    if track_id != init.track_id {
        return Err(Fmp4Error::Malformed(format!(
            "fragment of track {track_id}, the video track is {}",
            init.track_id
        )));
    }
    if flags & 0x01 != 0 {
        // An absolute base data offset would point into the original stream, not the file.
        return Err(Fmp4Error::Unsupported("fragments with an absolute base data offset".into()));
    }
    let mut at = tfhd.payload + 8;
    if flags & 0x02 != 0 {
        at += 4; // sample_description_index
    }
    let mut default_duration = init.default_sample_duration;
    let mut default_flags = init.default_sample_flags;
    if flags & 0x08 != 0 {
        default_duration = u32_at(&bytes, at)?;
        at += 4;
    }
    if flags & 0x10 != 0 {
        at += 4; // default_sample_size
    }
    if flags & 0x20 != 0 {
        default_flags = u32_at(&bytes, at)?;
    }
    let tfdt = required(&bytes, &traf, b"tfdt")?;
    let tfdt_64 = u8_at(&bytes, tfdt.payload)? == 1;
    let tfdt_at = tfdt.payload + 4;
    let decode_time = if tfdt_64 { u64_at(&bytes, tfdt_at)? } else { u64::from(u32_at(&bytes, tfdt_at)?) };

    let mut duration = 0u64;
    let mut samples = 0u32;
    let mut first_flags: Option<u32> = None;
    for trun in children(&bytes, traf.payload, traf.end)?.into_iter().filter(|h| h.is(b"trun")) {
        let tf = u32_at(&bytes, trun.payload)? & 0x00ff_ffff;
        let count = u32_at(&bytes, trun.payload + 4)?;
        let mut p = trun.payload + 8;
        if tf & 0x01 != 0 {
            p += 4; // data_offset
        }
        let mut first_sample_flags = None;
        if tf & 0x04 != 0 {
            first_sample_flags = Some(u32_at(&bytes, p)?);
            p += 4;
        }
        let per_sample = [0x100, 0x200, 0x400, 0x800].iter().filter(|&&f| tf & f != 0).count() * 4;
        if (count as usize).saturating_mul(per_sample) > trun.end.saturating_sub(p) {
            return Err(Fmp4Error::Malformed(format!("trun announces {count} samples that do not fit in it")));
        }
        for i in 0..count {
            let mut sample_flags = default_flags;
            let mut d = default_duration;
            if tf & 0x100 != 0 {
                d = u32_at(&bytes, p)?;
                p += 4;
            }
            if tf & 0x200 != 0 {
                p += 4;
            }
            if tf & 0x400 != 0 {
                sample_flags = u32_at(&bytes, p)?;
                p += 4;
            }
            if tf & 0x800 != 0 {
                p += 4;
            }
            if i == 0
                && let Some(f) = first_sample_flags
            {
                sample_flags = f;
            }
            if first_flags.is_none() {
                first_flags = Some(sample_flags);
            }
            duration += u64::from(d);
        }
        samples = samples.saturating_add(count);
    }
    if samples == 0 {
        return Err(Fmp4Error::Malformed("a fragment without samples".into()));
    }
    let keyframe = first_flags.is_some_and(|f| f & NON_SYNC == 0);
    Ok(Fragment { bytes, decode_time, duration, samples, keyframe, tfdt_at, tfdt_64 })
}
