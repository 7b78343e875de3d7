//! The evidence store: small media items (masked snapshots, short clips, chart data) kept
//! under `<data>/evidence/<sha256>.<ext>`, named by their content so that a producer knows
//! the reference before it uploads and a file can never be swapped under its name.
//!
//! Images never keep metadata here: citizen photos are stripped; device evidence that
//! carries any (EXIF, GPS, XMP…) is refused, so that its SHA-256 stays the producer's.
//! Audio is never accepted: no waveform leaves a microphone (property 2).

pub mod clean;

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use vigie_model::Evidence;

/// The media types the store takes, with their file extension.
pub const MEDIA_TYPES: &[(&str, &str)] =
    &[("image/jpeg", "jpg"), ("image/png", "png"), ("video/mp4", "mp4"), ("application/json", "json")];

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("evidence of type {0:?} is not accepted (image/jpeg, image/png, video/mp4, application/json; never audio)")]
    MediaType(String),
    #[error("the file is not a valid {media_type}: {detail}")]
    Malformed { media_type: String, detail: String },
    #[error("the image carries metadata (EXIF, GPS, XMP, comments): strip it at the edge and send it again")]
    HasMetadata,
    #[error("{0:?} is not an evidence file name (<sha256>.<jpg|png|mp4|json>)")]
    BadName(String),
    #[error("no evidence file {0}")]
    NotFound(String),
    #[error("evidence store {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// A file of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub name: String,
    pub media_type: &'static str,
    pub bytes: u64,
    pub modified: std::time::SystemTime,
}

fn extension_of(media_type: &str) -> Option<&'static str> {
    MEDIA_TYPES.iter().find(|(m, _)| *m == media_type).map(|(_, e)| *e)
}

fn media_type_of(ext: &str) -> Option<&'static str> {
    MEDIA_TYPES.iter().find(|(_, e)| *e == ext).map(|(m, _)| *m)
}

/// `<64 lowercase hex>.<ext>`, nothing else: no separator, no `..`, no other name can
/// reach the file system.
pub fn parse_name(name: &str) -> Option<(&str, &'static str)> {
    let (sha, ext) = name.split_once('.')?;
    let ok = sha.len() == 64 && sha.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
    let media_type = media_type_of(ext)?;
    ok.then_some((sha, media_type))
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The largest chart-data item (JSON evidence is figures, not documents).
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// Checks that the bytes are what their media type says. A clip must be video only: an
/// audio track (or an audio-only MP4/M4A) is refused, like any audio (property 2).
fn check_format(media_type: &str, bytes: &[u8]) -> Result<(), EvidenceError> {
    let bad = |detail: &str| EvidenceError::Malformed { media_type: media_type.to_owned(), detail: detail.to_owned() };
    match media_type {
        "video/mp4" if bytes.len() < 12 || &bytes[4..8] != b"ftyp" => Err(bad("no ftyp box")),
        "video/mp4" if matches!(&bytes[8..12], b"M4A " | b"M4B " | b"M4P ") => {
            Err(EvidenceError::MediaType("audio/mp4".into()))
        }
        // Every track's handler box names its kind: `soun` is a sound track.
        "video/mp4" if has_sound_handler(bytes) => Err(EvidenceError::MediaType("video/mp4 with a sound track".into())),
        "application/json" if bytes.len() > MAX_JSON_BYTES => {
            Err(bad(&format!("{} bytes: chart data is at most {MAX_JSON_BYTES} bytes", bytes.len())))
        }
        "application/json" => {
            serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map(|_| ()).map_err(|e| bad(&e.to_string()))
        }
        _ => Ok(()),
    }
}

/// Does an MP4 hold a track whose handler is `soun`? (`hdlr` box: size, "hdlr", version
/// and flags, pre-defined, then the handler type.)
fn has_sound_handler(bytes: &[u8]) -> bool {
    bytes.windows(4).enumerate().any(|(i, w)| w == b"hdlr" && bytes.get(i + 12..i + 16) == Some(b"soun"))
}

#[derive(Debug, Clone)]
pub struct EvidenceStore {
    dir: PathBuf,
}

impl EvidenceStore {
    pub fn new(dir: impl Into<PathBuf>) -> EvidenceStore {
        EvidenceStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn io(&self, source: std::io::Error) -> EvidenceError {
        EvidenceError::Io { path: self.dir.clone(), source }
    }

    /// Stores a file and returns its reference. `strip`: remove image metadata (citizen
    /// photos); otherwise an image with metadata is refused (device evidence). Durable
    /// when it returns (file and folder synced).
    pub fn put(&self, media_type: &str, bytes: &[u8], strip: bool) -> Result<Evidence, EvidenceError> {
        let ext = extension_of(media_type).ok_or_else(|| EvidenceError::MediaType(media_type.to_owned()))?;
        let bytes = if media_type.starts_with("image/") {
            let clean = clean::clean_photo(bytes)
                .map_err(|e| EvidenceError::Malformed { media_type: media_type.to_owned(), detail: e.to_string() })?;
            if clean.media_type != media_type {
                return Err(EvidenceError::Malformed {
                    media_type: media_type.to_owned(),
                    detail: format!("the data is {}", clean.media_type),
                });
            }
            if !strip && clean.bytes != bytes {
                return Err(EvidenceError::HasMetadata);
            }
            // An image an export could not decode and watermark is refused now, not when a
            // requisition comes.
            let (w, h) = crate::exports::watermark::dimensions(media_type, &clean.bytes)
                .map_err(|detail| EvidenceError::Malformed { media_type: media_type.to_owned(), detail })?;
            if w * h > crate::exports::watermark::MAX_PIXELS {
                return Err(EvidenceError::Malformed {
                    media_type: media_type.to_owned(),
                    detail: format!(
                        "{w}×{h} pixels: at most {} pixels per image",
                        crate::exports::watermark::MAX_PIXELS
                    ),
                });
            }
            std::borrow::Cow::Owned(clean.bytes)
        } else {
            check_format(media_type, bytes)?;
            std::borrow::Cow::Borrowed(bytes)
        };
        let sha256 = hex_sha256(&bytes);
        let name = format!("{sha256}.{ext}");
        std::fs::create_dir_all(&self.dir).map_err(|e| self.io(e))?;
        let path = self.dir.join(&name);
        if path.exists() {
            // Sent again for a new detection: its retention starts again from now.
            let touch = std::fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
            touch.map_err(|e| self.io(e))?;
        } else {
            let tmp = self.dir.join(format!(".{name}.{}.tmp", ulid::Ulid::new()));
            let write = || -> std::io::Result<()> {
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(&bytes)?;
                f.sync_all()?;
                std::fs::rename(&tmp, &path)?;
                std::fs::File::open(&self.dir)?.sync_all()
            };
            write().map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                self.io(e)
            })?;
        }
        Ok(Evidence { media_type: media_type.to_owned(), uri: format!("evidence/{name}"), sha256 })
    }

    /// Reads a file by its name (`<sha256>.<ext>`).
    pub fn read(&self, name: &str) -> Result<(&'static str, Vec<u8>), EvidenceError> {
        let (_, media_type) = parse_name(name).ok_or_else(|| EvidenceError::BadName(name.to_owned()))?;
        match std::fs::read(self.dir.join(name)) {
            Ok(b) => Ok((media_type, b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(EvidenceError::NotFound(name.to_owned())),
            Err(e) => Err(self.io(e)),
        }
    }

    /// Every file of the store (retention walks it).
    pub fn list(&self) -> Result<Vec<StoredFile>, EvidenceError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.io(e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((_, media_type)) = parse_name(&name) else { continue };
            let meta = entry.metadata().map_err(|e| self.io(e))?;
            out.push(StoredFile {
                name,
                media_type,
                bytes: meta.len(),
                modified: meta.modified().map_err(|e| self.io(e))?,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Deletes a file; `false` if it was not there.
    pub fn remove(&self, name: &str) -> Result<bool, EvidenceError> {
        parse_name(name).ok_or_else(|| EvidenceError::BadName(name.to_owned()))?;
        match std::fs::remove_file(self.dir.join(name)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_content_hashes_and_nothing_else() {
        let sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(parse_name(&format!("{sha}.jpg")), Some((sha, "image/jpeg")));
        for bad in [
            "../../etc/passwd",
            "..%2f..%2fetc%2fpasswd",
            &format!("../{sha}.jpg"),
            &format!("{sha}.jpg/.."),
            &format!("{sha}.wav"),
            &format!("{}.jpg", sha.to_uppercase()),
            &format!("{sha}.jpg.exe"),
            "x.jpg",
            "",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn stores_by_content_refuses_audio_and_bad_formats() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::new(dir.path().join("evidence"));
        let e = store.put("application/json", br#"{"presence":[1,2,3]}"#, false).unwrap();
        assert_eq!(e.uri, format!("evidence/{}.json", e.sha256));
        assert_eq!(store.put("application/json", br#"{"presence":[1,2,3]}"#, false).unwrap(), e, "idempotent");
        let (mt, bytes) = store.read(e.uri.trim_start_matches("evidence/")).unwrap();
        assert_eq!((mt, bytes.as_slice()), ("application/json", &br#"{"presence":[1,2,3]}"#[..]));
        assert!(matches!(store.put("audio/wav", b"RIFF....WAVE", false), Err(EvidenceError::MediaType(_))));
        assert!(matches!(store.put("video/mp4", b"not a video", false), Err(EvidenceError::Malformed { .. })));
        let m4a = b"\0\0\0\x18ftypM4A \0\0\0\0isomM4A ";
        assert!(matches!(store.put("video/mp4", m4a, false), Err(EvidenceError::MediaType(_))), "audio-only MP4");
        let mut with_sound = b"\0\0\0\x18ftypisom\0\0\0\0isomavc1".to_vec();
        with_sound.extend_from_slice(b"\0\0\0\x21hdlr\0\0\0\0\0\0\0\0soun\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert!(matches!(store.put("video/mp4", &with_sound, false), Err(EvidenceError::MediaType(_))), "sound track");
        let big = format!("[{}0]", "0,".repeat(MAX_JSON_BYTES / 2));
        assert!(matches!(store.put("application/json", big.as_bytes(), false), Err(EvidenceError::Malformed { .. })));
        assert!(matches!(store.put("image/jpeg", b"\x89PNG\r\n\x1a\n", false), Err(EvidenceError::Malformed { .. })));
        assert!(matches!(store.read("../vigie.db"), Err(EvidenceError::BadName(_))));
        assert_eq!(store.list().unwrap().len(), 1);
        assert!(store.remove(&format!("{}.json", e.sha256)).unwrap());
        assert!(store.list().unwrap().is_empty());
    }
}
