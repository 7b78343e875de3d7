//! Writes 16-bit PCM WAV files (the simulator's output); reading goes through symphonia.

use std::io::Write;

/// Interleaves `channels` (equal lengths) as 16-bit PCM WAV bytes.
pub fn encode_pcm16(sample_rate: u32, channels: &[Vec<f32>]) -> Vec<u8> {
    let n_ch = channels.len().max(1) as u16;
    let frames = channels.iter().map(Vec::len).min().unwrap_or(0);
    let data_len = frames as u32 * n_ch as u32 * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&n_ch.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * n_ch as u32 * 2).to_le_bytes());
    out.extend_from_slice(&(n_ch * 2).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        for ch in channels {
            let v = (ch[i].clamp(-1.0, 1.0) * 32767.0).round() as i16;
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

pub fn write_pcm16(path: &std::path::Path, sample_rate: u32, channels: &[Vec<f32>]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(&encode_pcm16(sample_rate, channels))
}
