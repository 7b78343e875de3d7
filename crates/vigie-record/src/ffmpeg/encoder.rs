//! `encoder = "auto"`: the first hardware H.264 encoder that works here, else libx264.
//! Each candidate encodes a few frames once; the answer is kept for the process.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::args::{Encoder, VAAPI_DEVICE};

static CHOSEN: OnceLock<Encoder> = OnceLock::new();

/// Whether `encoder` can encode a few frames on this machine.
pub fn works(ffmpeg: &Path, encoder: Encoder) -> bool {
    let mut c = Command::new(ffmpeg);
    c.args(["-hide_banner", "-loglevel", "error", "-nostdin"]);
    if encoder == Encoder::Vaapi {
        if !Path::new(VAAPI_DEVICE).exists() {
            return false;
        }
        c.args(["-vaapi_device", VAAPI_DEVICE]);
    }
    c.args(["-f", "lavfi", "-i", "color=black:s=256x144:r=25", "-frames:v", "5"]);
    if encoder == Encoder::Vaapi {
        c.args(["-vf", "format=nv12,hwupload"]);
    }
    c.args(["-c:v", encoder.name(), "-f", "null", "-"]);
    c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    c.status().map(|s| s.success()).unwrap_or(false)
}

/// The encoder `auto` stands for on this machine.
pub fn auto(ffmpeg: &Path) -> Encoder {
    *CHOSEN.get_or_init(|| {
        let found = [Encoder::Nvenc, Encoder::Qsv, Encoder::Vaapi].into_iter().find(|&e| works(ffmpeg, e));
        let e = found.unwrap_or(Encoder::Libx264);
        tracing::info!(encoder = e.name(), "masked recordings encoder chosen");
        e
    })
}
