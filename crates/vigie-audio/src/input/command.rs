//! The FFmpeg command line of an audio input, and what its log says.
//!
//! `ffmpeg … -i URL -map 0:a:0 -vn -sn -dn -af pan=Nc|c0=cK0|… -ar SR -c:a pcm_f32le -f f32le
//! pipe:1`: the first audio stream (a camera's microphone track too), the microphones'
//! channels picked by `pan` in their order, resampled to the analysis rate, raw 32-bit float
//! samples on stdout. `pan` yields silence for a channel the source lacks, so the source's
//! channel count is read from FFmpeg's description of the input and checked.

use super::InputConfig;

/// The FFmpeg command line for an input.
pub fn ffmpeg_args(c: &InputConfig) -> Vec<String> {
    let mut a: Vec<String> =
        ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+info"].map(String::from).to_vec();
    let timeout_us = ((c.stall_timeout_secs * 1e6) as u64).to_string();
    if c.url.starts_with("rtsp://") || c.url.starts_with("rtsps://") {
        // TCP survives lossy links; the socket timeout (µs) ends a dead connection.
        a.extend(["-rtsp_transport".into(), "tcp".into(), "-timeout".into(), timeout_us]);
    } else if c.url.starts_with("http://") || c.url.starts_with("https://") {
        a.extend(["-rw_timeout".into(), timeout_us]);
    }
    if c.realtime && !c.live {
        a.push("-re".into());
    }
    if c.live {
        // Probe little (a paced live stream would otherwise be held back for seconds) and
        // hand packets over as they come.
        a.extend(["-probesize", "8192", "-analyzeduration", "100000", "-fflags", "nobuffer"].map(String::from));
    }
    a.extend(c.input_args.iter().cloned());
    a.extend(["-i".into(), c.url.clone()]);
    a.extend(["-map".into(), "0:a:0".into(), "-vn".into(), "-sn".into(), "-dn".into()]);
    let picks: Vec<String> = c.channels.iter().enumerate().map(|(o, i)| format!("c{o}=c{i}")).collect();
    a.extend(["-af".into(), format!("pan={}c|{}", c.channels.len(), picks.join("|"))]);
    a.extend(["-ar".into(), c.sample_rate.to_string(), "-c:a".into(), "pcm_f32le".into()]);
    if c.live {
        // Hand each packet over at once: arrival times stamp the samples.
        a.extend(["-flush_packets".into(), "1".into()]);
    }
    a.extend(["-f".into(), "f32le".into(), "pipe:1".into()]);
    a
}

/// `…Stream #0:0: Audio: pcm_s16le (…), 44100 Hz, stereo, s16, 1411 kb/s` → 2.
///
/// Layouts as FFmpeg names them: `mono`, `stereo`, `N channels`, `X.Y` (X + Y, e.g. `5.1`
/// → 6), `quad`, `hexagonal`, `octagonal`, `cube`, `hexadecagonal`, `downmix`.
pub fn parse_channels(line: &str) -> Option<usize> {
    let audio = line.split_once("Audio:")?.1;
    let mut fields = audio.split(',').map(str::trim);
    fields.find(|f| f.ends_with(" Hz"))?;
    let layout = fields.next()?;
    let name = layout.split(['(', ' ']).next().unwrap_or(layout);
    if let Some((n, _)) = layout.split_once(" channels") {
        return n.trim().parse().ok();
    }
    match name {
        "mono" => Some(1),
        "stereo" | "downmix" => Some(2),
        "quad" => Some(4),
        "hexagonal" => Some(6),
        "octagonal" | "cube" => Some(8),
        "hexadecagonal" => Some(16),
        other => {
            let (x, y) = other.split_once('.')?;
            Some(x.parse::<usize>().ok()? + y.parse::<usize>().ok()?)
        }
    }
}

/// Complaints of a decoder about the bitstream (not configuration or network errors).
pub fn is_decoder_error(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    [
        "error while decoding",
        "corrupt",
        "header missing",
        "invalid frame",
        "invalid data",
        "error decoding",
        "decode_frame",
        "crc mismatch",
        "invalid sync",
        "overread",
        "concealing",
        "channel element",
        "invalid band",
        "reserved bit",
        "big_values",
        "bad packet",
        "packet too small",
        "damaged",
    ]
    .iter()
    .any(|k| l.contains(k))
}

pub use vigie_ffmpeg::log::redact;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_picks_the_channels_and_resamples_in_ffmpeg() {
        let mut c = InputConfig::new("rtsp://u:p@10.0.0.2/audio", vec![2, 0], "mic-a");
        c.live = true;
        let a = ffmpeg_args(&c);
        let i = a.iter().position(|x| x == "-i").unwrap();
        assert_eq!(a[i + 1], "rtsp://u:p@10.0.0.2/audio");
        assert!(a.iter().position(|x| x == "tcp").unwrap() < i);
        assert!(a.contains(&"pan=2c|c0=c2|c1=c0".to_string()), "{a:?}");
        assert!(a.windows(2).any(|w| w == ["-ar", "16000"]));
        assert!(a.windows(2).any(|w| w == ["-f", "f32le"]));
        assert_eq!(a.last().unwrap(), "pipe:1");
        let file = InputConfig::new("street.mp3", vec![0], "mic-a");
        assert!(!ffmpeg_args(&file).contains(&"-flush_packets".to_string()));
    }

    #[test]
    fn channel_counts_come_from_ffmpeg_layout_names() {
        let l = |layout: &str| {
            format!(
                "[info]   Stream #0:0: Audio: pcm_s16le ([1][0][0][0] / 0x0001), 44100 Hz, {layout}, s16, 1411 kb/s"
            )
        };
        assert_eq!(parse_channels(&l("mono")), Some(1));
        assert_eq!(parse_channels(&l("stereo")), Some(2));
        assert_eq!(parse_channels(&l("5.1(side)")), Some(6));
        assert_eq!(parse_channels(&l("7.1")), Some(8));
        assert_eq!(parse_channels(&l("4 channels")), Some(4));
        assert_eq!(parse_channels(&l("12 channels (FL+FR+FC)")), Some(12));
        assert_eq!(parse_channels(&l("quad")), Some(4));
        assert_eq!(parse_channels("[info]   Stream #0:0: Video: h264, yuv420p, 320x180"), None);
    }

    #[test]
    fn decoder_complaints_are_told_from_connection_errors() {
        assert!(is_decoder_error("[mp3float @ 0x1] [error] Header missing"));
        assert!(!is_decoder_error("[tcp @ 0x1] [error] Connection refused"));
    }
}
