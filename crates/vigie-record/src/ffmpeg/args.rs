//! The FFmpeg command line of a recording: the input as `vigie video` reads it, the one
//! video stream (never audio: no speech capture), then either stream copy or masks burned
//! in and re-encoded, out as fragmented MP4 on stdout with one fragment per frame.

use crate::config::{EncoderChoice, RecordCamera};
use crate::mask::BurnPlan;

/// Ticks per second of every recording (the MPEG 90 kHz clock).
pub const TIMESCALE: u32 = 90_000;

/// A concrete encoder (after `auto` was resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoder {
    Libx264,
    Nvenc,
    Qsv,
    Vaapi,
}

impl Encoder {
    pub fn name(self) -> &'static str {
        match self {
            Encoder::Libx264 => "libx264",
            Encoder::Nvenc => "h264_nvenc",
            Encoder::Qsv => "h264_qsv",
            Encoder::Vaapi => "h264_vaapi",
        }
    }

    pub fn from_choice(c: EncoderChoice) -> Option<Encoder> {
        match c {
            EncoderChoice::Auto => None,
            EncoderChoice::Libx264 => Some(Encoder::Libx264),
            EncoderChoice::H264Nvenc => Some(Encoder::Nvenc),
            EncoderChoice::H264Qsv => Some(Encoder::Qsv),
            EncoderChoice::H264Vaapi => Some(Encoder::Vaapi),
        }
    }
}

/// The VA-API render node used when that encoder is chosen.
pub const VAAPI_DEVICE: &str = "/dev/dri/renderD128";

/// How one connection records: copy, or re-encode at a size with a burn plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Transcode {
    Copy,
    Masked { width: u32, height: u32, plan: BurnPlan, encoder: Encoder },
}

/// Input flags shared by the probe and the recording.
pub fn input_args(cam: &RecordCamera, decode: bool) -> Vec<String> {
    let s = &cam.source;
    let mut a: Vec<String> = Vec::new();
    if decode {
        a.extend(s.hwaccel_args.iter().cloned());
    }
    let us = |secs: f64| ((secs * 1e6) as u64).to_string();
    if s.url.starts_with("rtsp://") || s.url.starts_with("rtsps://") {
        a.extend(["-rtsp_transport".into(), "tcp".into(), "-timeout".into(), us(s.stall_timeout_secs)]);
    } else if s.url.starts_with("http://") || s.url.starts_with("https://") {
        a.extend(["-rw_timeout".into(), us(s.stall_timeout_secs)]);
    }
    if !s.live {
        if s.realtime {
            a.push("-re".into());
        }
        if s.loop_file {
            a.extend(["-stream_loop".into(), "-1".into()]);
        }
    }
    a.extend(s.input_args.iter().cloned());
    a
}

/// The whole command line (without the program).
pub fn record_args(cam: &RecordCamera, t: &Transcode) -> Vec<String> {
    let mut a: Vec<String> =
        ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+info"].map(String::from).to_vec();
    let masked = matches!(t, Transcode::Masked { .. });
    if let Transcode::Masked { encoder: Encoder::Vaapi, .. } = t {
        a.extend(["-vaapi_device".into(), VAAPI_DEVICE.into()]);
    }
    a.extend(input_args(cam, masked));
    a.extend(["-i".into(), cam.source.url.clone()]);
    // The first video stream only: audio is never recorded (no speech capture).
    a.extend(["-map".into(), "0:v:0".into(), "-an".into(), "-sn".into(), "-dn".into()]);
    match t {
        Transcode::Copy => a.extend(["-c:v".into(), "copy".into()]),
        Transcode::Masked { width, height, plan, encoder } => {
            let e = &cam.encoding;
            // Scale first, so that a camera changing resolution keeps its masks in place.
            let mut vf = vec![format!("scale={width}:{height}:flags=bicubic"), "format=yuv420p".into()];
            vf.extend(plan.filters());
            let k = e.keyframe_secs;
            let keyframes = format!("expr:gte(t,n_forced*{k})");
            match encoder {
                Encoder::Libx264 => {
                    a.extend(["-vf".into(), vf.join(",")]);
                    a.extend(
                        [
                            "-c:v",
                            "libx264",
                            "-preset",
                            &e.preset,
                            "-tune",
                            "zerolatency",
                            "-crf",
                            &e.quality.to_string(),
                            "-profile:v",
                            "high",
                            "-pix_fmt",
                            "yuv420p",
                            "-bf",
                            "0",
                            "-sc_threshold",
                            "0",
                            "-force_key_frames",
                            &keyframes,
                            "-threads",
                            &e.threads.to_string(),
                        ]
                        .map(String::from),
                    );
                }
                Encoder::Nvenc => {
                    a.extend(["-vf".into(), vf.join(",")]);
                    a.extend(
                        [
                            "-c:v",
                            "h264_nvenc",
                            "-preset",
                            "p4",
                            "-tune",
                            "ll",
                            "-rc",
                            "constqp",
                            "-qp",
                            &e.quality.to_string(),
                            "-bf",
                            "0",
                            "-forced-idr",
                            "1",
                            "-force_key_frames",
                            &keyframes,
                        ]
                        .map(String::from),
                    );
                }
                Encoder::Qsv => {
                    vf.push("format=nv12".into());
                    a.extend(["-vf".into(), vf.join(",")]);
                    a.extend(
                        [
                            "-c:v",
                            "h264_qsv",
                            "-global_quality",
                            &e.quality.to_string(),
                            "-bf",
                            "0",
                            "-force_key_frames",
                            &keyframes,
                        ]
                        .map(String::from),
                    );
                }
                Encoder::Vaapi => {
                    vf.extend(["format=nv12".into(), "hwupload".into()]);
                    a.extend(["-vf".into(), vf.join(",")]);
                    a.extend(
                        [
                            "-c:v",
                            "h264_vaapi",
                            "-qp",
                            &e.quality.to_string(),
                            "-bf",
                            "0",
                            "-force_key_frames",
                            &keyframes,
                        ]
                        .map(String::from),
                    );
                }
            }
            a.extend(e.encoder_args.iter().cloned());
        }
    }
    a.extend(
        [
            "-video_track_timescale",
            &TIMESCALE.to_string(),
            "-f",
            "mp4",
            "-movflags",
            "+frag_every_frame+empty_moov+default_base_moof",
            "-flush_packets",
            "1",
            "pipe:1",
        ]
        .map(String::from),
    );
    a
}

/// The output size of a masked recording: the source's, or scaled down to `max_width`
/// keeping the aspect ratio; always even (4:2:0 chroma).
pub fn output_size(src_w: u32, src_h: u32, max_width: u32) -> (u32, u32) {
    let (w, h) = if max_width != 0 && src_w > max_width {
        (max_width, (f64::from(src_h) * f64::from(max_width) / f64::from(src_w)).round() as u32)
    } else {
        (src_w, src_h)
    };
    (w.max(2) & !1, h.max(2) & !1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    fn cam(extra: &str) -> RecordCamera {
        let text = format!("[[cameras]]\nid = \"cam-1\"\nurl = \"rtsp://u:p@10.0.0.2/main\"\n{extra}");
        parse(&text, std::path::Path::new("/r/recording.toml")).unwrap().cameras.remove(0)
    }

    #[test]
    fn copy_keeps_the_stream_and_drops_audio() {
        let a = record_args(&cam(""), &Transcode::Copy);
        let s = a.join(" ");
        assert!(s.contains("-rtsp_transport tcp"));
        assert!(s.contains("-map 0:v:0 -an"));
        assert!(s.contains("-c:v copy"));
        assert!(!s.contains("drawbox"));
        assert!(s.ends_with("+frag_every_frame+empty_moov+default_base_moof -flush_packets 1 pipe:1"));
    }

    #[test]
    fn masked_burns_before_encoding_and_forces_keyframes() {
        let c = cam(
            "masks = [ { name = \"m\", points = [[0.1, 0.1], [0.3, 0.1], [0.3, 0.3]] } ]\nhwaccel_args = [\"-hwaccel\", \"cuda\"]\n",
        );
        let plan = BurnPlan::new(&c.masks, 1280, 720, 1);
        let a = record_args(&c, &Transcode::Masked { width: 1280, height: 720, plan, encoder: Encoder::Libx264 });
        let i = a.iter().position(|x| x == "-i").unwrap();
        assert!(a.iter().position(|x| x == "-hwaccel").unwrap() < i);
        let vf = &a[a.iter().position(|x| x == "-vf").unwrap() + 1];
        assert!(vf.starts_with("scale=1280:720"));
        assert!(vf.contains("drawbox=x=112:y=48:"), "{vf}");
        assert!(a.join(" ").contains("-force_key_frames expr:gte(t,n_forced*2)"));
        assert_eq!(output_size(3840, 2160, 1920), (1920, 1080));
        assert_eq!(output_size(1279, 721, 0), (1278, 720));
    }
}
