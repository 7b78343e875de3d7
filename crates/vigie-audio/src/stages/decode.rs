//! Stage `decode`: WAV, FLAC or Ogg/Vorbis (symphonia) into planar `f32` channels.
//!
//! Corrupt packets are skipped and counted; a truncated file yields what was decoded with
//! `truncated = true`; a stream where nothing decodes is an error. Never a panic.

use std::io::Cursor;
use std::path::Path;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use crate::error::AudioError;

/// Decoded audio: one `Vec<f32>` per channel, samples in -1..1.
#[derive(Debug, Clone, Default)]
pub struct Audio {
    pub sample_rate: u32,
    pub channels: Vec<Vec<f32>>,
    /// The stream ended before its declared end (or with an I/O error after some audio).
    pub truncated: bool,
    /// Packets that failed to decode and were skipped.
    pub corrupt_packets: usize,
}

impl Audio {
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }
}

/// Decodes a file; its extension is a hint to the prober.
pub fn decode_file(path: &Path) -> Result<Audio, AudioError> {
    let file = std::fs::File::open(path).map_err(|source| AudioError::Open { path: path.to_owned(), source })?;
    let ext = path.extension().and_then(|e| e.to_str());
    decode_source(Box::new(file), ext, &path.display().to_string())
}

/// Decodes bytes held in memory (tests, network buffers).
pub fn decode_bytes(bytes: Vec<u8>, ext: Option<&str>, what: &str) -> Result<Audio, AudioError> {
    decode_source(Box::new(Cursor::new(bytes)), ext, what)
}

fn decode_source(src: Box<dyn MediaSource>, ext: Option<&str>, what: &str) -> Result<Audio, AudioError> {
    let unsupported = |e: SymError| AudioError::Unsupported { what: what.to_owned(), detail: e.to_string() };
    let mss = MediaSourceStream::new(src, Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = ext {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(unsupported)?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| AudioError::Unsupported { what: what.to_owned(), detail: "no audio track".to_owned() })?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| AudioError::Unsupported { what: what.to_owned(), detail: "no audio codec parameters".into() })?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(unsupported)?;
    let mut audio = Audio::default();
    let mut interleaved: Vec<f32> = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymError::IoError(_)) => {
                audio.truncated = true;
                break;
            }
            Err(SymError::DecodeError(_)) => {
                audio.corrupt_packets += 1;
                if audio.corrupt_packets > 1000 {
                    break;
                }
                continue;
            }
            Err(SymError::ResetRequired) => break,
            Err(e) => {
                if audio.frames() > 0 {
                    audio.truncated = true;
                    break;
                }
                return Err(AudioError::Corrupt { what: what.to_owned(), detail: e.to_string() });
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                let rate = buf.spec().rate();
                let n_ch = buf.spec().channels().count().max(1);
                if audio.sample_rate == 0 {
                    audio.sample_rate = rate;
                    audio.channels = vec![Vec::new(); n_ch];
                } else if rate != audio.sample_rate || n_ch != audio.channels.len() {
                    audio.corrupt_packets += 1;
                    continue;
                }
                interleaved.resize(buf.samples_interleaved(), 0.0);
                buf.copy_to_slice_interleaved(&mut interleaved);
                for frame in interleaved.chunks_exact(n_ch) {
                    for (c, &s) in frame.iter().enumerate() {
                        audio.channels[c].push(if s.is_finite() { s } else { 0.0 });
                    }
                }
            }
            Err(SymError::DecodeError(_)) => audio.corrupt_packets += 1,
            Err(SymError::IoError(_)) => {
                audio.truncated = true;
                break;
            }
            Err(e) => {
                if audio.frames() > 0 {
                    audio.truncated = true;
                    break;
                }
                return Err(AudioError::Corrupt { what: what.to_owned(), detail: e.to_string() });
            }
        }
    }
    if audio.frames() == 0 || audio.sample_rate == 0 {
        return Err(AudioError::Empty { what: what.to_owned() });
    }
    Ok(audio)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone() -> Vec<u8> {
        let s: Vec<f32> = (0..16_000).map(|i| (i as f32 * 0.1).sin() * 0.5).collect();
        crate::wav::encode_pcm16(16_000, &[s.clone(), s])
    }

    #[test]
    fn decodes_a_stereo_wav() {
        let a = decode_bytes(tone(), Some("wav"), "tone.wav").unwrap();
        assert_eq!(a.sample_rate, 16_000);
        assert_eq!(a.channels.len(), 2);
        assert_eq!(a.frames(), 16_000);
        assert!((a.channels[0][10] - (1.0f32).sin() * 0.5).abs() < 1e-3);
    }

    #[test]
    fn truncated_wav_yields_what_was_decoded() {
        let mut b = tone();
        b.truncate(b.len() / 2 + 1);
        match decode_bytes(b, Some("wav"), "cut.wav") {
            Ok(a) => assert!(a.frames() > 0 && a.frames() < 16_000),
            Err(e) => assert!(e.to_string().contains("cut.wav"), "{e}"),
        }
    }

    #[test]
    fn garbage_is_a_clear_error_never_a_panic() {
        for bytes in [vec![], b"RIFF\x10\0\0\0WAVEjunk".to_vec(), vec![0xFFu8; 4096], b"fLaC\0\0\0\x22".to_vec()] {
            let e = decode_bytes(bytes, None, "junk.bin").unwrap_err();
            assert!(e.to_string().contains("junk.bin"), "{e}");
        }
        let mut b = tone();
        for (i, x) in b.iter_mut().enumerate().skip(44) {
            if i % 7 == 0 {
                *x ^= 0x5A;
            }
        }
        assert!(decode_bytes(b, Some("wav"), "noisy.wav").is_ok());
    }
}
