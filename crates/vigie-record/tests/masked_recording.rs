//! Property 5 in recordings: a masked camera's recording, decoded frame by frame, holds
//! no pixel of the masked region that differs from the mask colour; a camera without
//! masks is recorded by stream copy, packet for packet.

mod common;

use vigie_record::fmp4::parse_file;
use vigie_record::mask::BurnPlan;
use vigie_record::segment::spool;
use vigie_record::simulate::media::{ClipSpec, decode_yuv, synth_clip};

const MASK: &str =
    "masks = [ { name = \"fenetres-12\", points = [[0.52, 0.12], [0.88, 0.18], [0.84, 0.58], [0.56, 0.52]] } ]";

#[test]
fn masked_recording_has_only_the_mask_colour_under_the_mask() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("camera.mp4");
    // Something bright and moving right where the mask is.
    let spec = ClipSpec { secret: Some([0.50, 0.10, 0.90, 0.60]), ..ClipSpec::new(640, 360, 4.0) };
    synth_clip(&clip, &spec).unwrap();
    let cam = common::camera(dir.path(), &format!("id = \"cam-a\"\nurl = \"camera.mp4\"\nsegment_secs = 2\n{MASK}\n"));
    let masks = cam.masks.clone();
    let report = common::record_file(dir.path(), cam);
    assert_eq!(report.encoder, "libx264");
    assert!(report.segments.len() >= 2, "{report:?}");
    let plan = BurnPlan::new(&masks, 640, 360, 1);
    let region = plan.region.count();
    assert!(region > 20_000, "the mask covers {region} pixels");

    // The source does show the secret under the mask (or this test could not fail).
    let (_, _, source) = decode_yuv(&clip).unwrap();
    let visible: usize = source
        .iter()
        .map(|f| {
            (0..360u32)
                .flat_map(|y| (0..640u32).map(move |x| (x, y)))
                .filter(|&(x, y)| plan.region.get(x, y) && f[(y * 640 + x) as usize] != 16)
                .count()
        })
        .sum();
    assert!(visible > region * 50, "the secret is visible in the source ({visible})");

    let mut frames = 0;
    for s in spool::list(&dir.path().join("spool")).unwrap() {
        let bytes = std::fs::read(&s.file).unwrap();
        let parsed = parse_file(&bytes).expect("each segment is a whole fragmented MP4");
        assert_eq!(parsed.fragments[0].decode_time, 0, "a segment starts at zero");
        assert!(s.meta.masked && s.meta.masks == 1);
        let (w, h, decoded) = decode_yuv(&s.file).unwrap();
        assert_eq!((w, h), (640, 360));
        for (n, f) in decoded.iter().enumerate() {
            let (luma, chroma) = f.split_at((w * h) as usize);
            let (u, v) = chroma.split_at((w * h / 4) as usize);
            for y in 0..h {
                for x in 0..w {
                    if !plan.region.get(x, y) {
                        continue;
                    }
                    let l = luma[(y * w + x) as usize];
                    assert_eq!(l, 16, "segment {} frame {n}: luma {l} at {x},{y} under the mask", s.meta.id);
                    let c = ((y / 2) * (w / 2) + x / 2) as usize;
                    assert_eq!((u[c], v[c]), (128, 128), "segment {} frame {n}: chroma at {x},{y}", s.meta.id);
                }
            }
        }
        frames += decoded.len();
        assert_eq!(decoded.len() as u64, s.meta.frames);
    }
    assert_eq!(frames, 100, "every frame of the 4 s at 25 fps is recorded");
}

#[test]
fn camera_without_masks_is_recorded_by_stream_copy() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("camera.mp4");
    synth_clip(&clip, &ClipSpec { gop: 25, ..ClipSpec::new(640, 360, 4.0) }).unwrap();
    let cam = common::camera(dir.path(), "id = \"cam-b\"\nurl = \"camera.mp4\"\nsegment_secs = 2\n");
    let report = common::record_file(dir.path(), cam);
    assert_eq!(report.encoder, "copy");
    let segments = spool::list(&dir.path().join("spool")).unwrap();
    assert_eq!(segments.len(), 2, "{report:?}");
    let recorded: Vec<String> = segments.iter().flat_map(|s| common::packets(&s.file)).collect();
    assert_eq!(recorded, common::packets(&clip), "the same packets, none re-encoded");
    let d: u64 = segments.iter().map(|s| s.meta.duration_ms).sum();
    assert!((3900..=4100).contains(&d), "durations add up to the clip: {d} ms");
    assert!(segments.iter().all(|s| !s.meta.masked && s.meta.codec.starts_with("avc1.64")));
    // Consecutive segments are back to back in wall-clock time.
    assert_eq!(segments[0].meta.end, segments[1].meta.start);
}
