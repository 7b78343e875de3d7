//! Fragmented MP4 (ISO/IEC 14496-12), the one format of recording and live view: an
//! initialisation segment (`ftyp` + `moov`) then fragments (`moof` + `mdat`).
//!
//! FFmpeg writes it on a pipe (`-movflags +frag_every_frame+empty_moov+default_base_moof`);
//! [`Splitter`] cuts that byte stream into the init and one [`Fragment`] per frame, which
//! the recorder groups into segment files and the live view forwards as they are. A
//! segment file is the init followed by its fragments, decode times rebased to zero, so
//! any player opens it alone. [`parse_file`] checks such a file (the hub does, on upload).

pub mod boxes;
mod fragment;
mod init;

pub use fragment::{Fragment, parse_fragment};
pub use init::{Init, parse_init};

/// The largest top-level box accepted from a stream: one frame of a 4K camera at a high
/// bit rate is well under it; a hostile size fails here instead of exhausting memory.
pub const MAX_BOX_BYTES: u64 = 32 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fmp4Error {
    #[error("malformed fragmented MP4: {0}")]
    Malformed(String),
    #[error("unsupported fragmented MP4: {0}")]
    Unsupported(String),
}

/// What the splitter found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// A (new) initialisation segment: what follows is decoded with it.
    Init(Init),
    Fragment(Fragment),
}

/// Cuts a byte stream into an init and fragments. Boxes it does not need (`mfra`, `free`,
/// `sidx` …) are skipped; `styp` and `prft` stay with the fragment they precede.
#[derive(Debug, Default)]
pub struct Splitter {
    buf: Vec<u8>,
    init: Option<Init>,
    /// Bytes of the init being gathered (`ftyp` and anything before `moov`).
    pending_init: Vec<u8>,
    /// Bytes of the fragment being gathered, and where its `moof` starts in them.
    pending_fragment: Vec<u8>,
    moof_at: Option<usize>,
    /// Boxes skipped so far (telemetry).
    pub skipped_boxes: u64,
}

impl Splitter {
    pub fn new() -> Splitter {
        Splitter::default()
    }

    /// The init in force, once one was seen.
    pub fn init(&self) -> Option<&Init> {
        self.init.as_ref()
    }

    /// Feeds bytes; returns every chunk they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Chunk>, Fmp4Error> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some((size, _)) = boxes::peek_size(&self.buf)? {
            if size > MAX_BOX_BYTES {
                return Err(Fmp4Error::Malformed(format!("a box of {size} bytes (more than {MAX_BOX_BYTES})")));
            }
            let size = size as usize;
            if self.buf.len() < size {
                break;
            }
            let rest = self.buf.split_off(size);
            let whole = std::mem::replace(&mut self.buf, rest);
            let kind = [whole[4], whole[5], whole[6], whole[7]];
            if let Some(c) = self.take_box(kind, whole)? {
                out.push(c);
            }
        }
        Ok(out)
    }

    fn take_box(&mut self, kind: [u8; 4], whole: Vec<u8>) -> Result<Option<Chunk>, Fmp4Error> {
        match &kind {
            b"ftyp" => {
                // A new stream (FFmpeg restarted): what was half gathered is void.
                self.pending_init = whole;
                self.pending_fragment.clear();
                self.moof_at = None;
                Ok(None)
            }
            b"moov" => {
                let mut bytes = std::mem::take(&mut self.pending_init);
                bytes.extend_from_slice(&whole);
                let init = parse_init(bytes)?;
                self.init = Some(init.clone());
                self.pending_fragment.clear();
                self.moof_at = None;
                Ok(Some(Chunk::Init(init)))
            }
            b"styp" | b"prft" if self.moof_at.is_none() => {
                self.pending_fragment.extend_from_slice(&whole);
                Ok(None)
            }
            b"moof" => {
                if self.moof_at.is_some() {
                    return Err(Fmp4Error::Malformed("moof followed by moof without mdat".into()));
                }
                self.moof_at = Some(self.pending_fragment.len());
                self.pending_fragment.extend_from_slice(&whole);
                Ok(None)
            }
            b"mdat" => {
                let Some(moof_at) = self.moof_at.take() else {
                    self.skipped_boxes += 1;
                    return Ok(None);
                };
                let init =
                    self.init.as_ref().ok_or_else(|| Fmp4Error::Malformed("a fragment before any moov".into()))?;
                let mut bytes = std::mem::take(&mut self.pending_fragment);
                bytes.extend_from_slice(&whole);
                Ok(Some(Chunk::Fragment(parse_fragment(bytes, moof_at, init)?)))
            }
            _ => {
                self.skipped_boxes += 1;
                Ok(None)
            }
        }
    }
}

/// A whole segment file, checked: one init, then at least one fragment, the first on a
/// keyframe, decode times that never go backwards.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    pub init: Init,
    pub fragments: Vec<Fragment>,
}

impl ParsedFile {
    /// Duration in the track's timescale, from the first decode time to the end of the
    /// last fragment.
    pub fn duration_ticks(&self) -> u64 {
        match (self.fragments.first(), self.fragments.last()) {
            (Some(a), Some(b)) => (b.decode_time + b.duration).saturating_sub(a.decode_time),
            _ => 0,
        }
    }

    pub fn duration_ms(&self) -> u64 {
        self.duration_ticks().saturating_mul(1000) / u64::from(self.init.timescale.max(1))
    }

    pub fn samples(&self) -> u64 {
        self.fragments.iter().map(|f| u64::from(f.samples)).sum()
    }
}

pub fn parse_file(bytes: &[u8]) -> Result<ParsedFile, Fmp4Error> {
    let mut s = Splitter::new();
    let mut init = None;
    let mut fragments: Vec<Fragment> = Vec::new();
    for c in s.push(bytes)? {
        match c {
            Chunk::Init(i) if init.is_none() => init = Some(i),
            Chunk::Init(_) => return Err(Fmp4Error::Unsupported("a second initialisation segment in one file".into())),
            Chunk::Fragment(f) => {
                if let Some(prev) = fragments.last()
                    && f.decode_time < prev.decode_time
                {
                    return Err(Fmp4Error::Malformed("decode times go backwards".into()));
                }
                fragments.push(f)
            }
        }
    }
    if !s.buf.is_empty() {
        return Err(Fmp4Error::Malformed(format!("{} trailing bytes are not a whole box", s.buf.len())));
    }
    let init = init.ok_or_else(|| Fmp4Error::Malformed("no initialisation segment".into()))?;
    match fragments.first() {
        None => return Err(Fmp4Error::Malformed("no fragment".into())),
        Some(f) if !f.keyframe => return Err(Fmp4Error::Malformed("the first fragment is not a keyframe".into())),
        Some(_) => {}
    }
    Ok(ParsedFile { init, fragments })
}
