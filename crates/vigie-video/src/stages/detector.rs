//! Stage `detector`: the deployer's ONNX object detector, run on the motion regions only.
//!
//! Any model with the common YOLO output is accepted: YOLOv8/v11 `[1, 4 + classes, N]`
//! (centre x, centre y, width, height, class scores) or YOLOv5 `[1, N, 5 + classes]` (with an
//! objectness score), input `[1, 3, S, S]` RGB in 0..1. Each motion region (blobs merged and
//! padded) is letterboxed to `S`×`S`, boxes come back to detect-frame pixels, then
//! per-class non-maximum suppression. The model is named in the camera's config; none is
//! shipped or downloaded. With the `onnx` feature, ONNX Runtime is loaded at run time from
//! `library` (or `ORT_DYLIB_PATH`); `execution_provider = "cuda"` needs the `cuda` feature
//! and an onnxruntime-gpu library.

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::VideoError;
use crate::frame::MaskedFrame;
use crate::geometry::BoxPx;
use crate::stages::blobs::Blob;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    /// The ONNX model file (the deployer's).
    pub model: PathBuf,
    /// libonnxruntime.so; default: `ORT_DYLIB_PATH`.
    #[serde(default)]
    pub library: Option<PathBuf>,
    /// Class names in the model's order.
    pub labels: Vec<String>,
    #[serde(default = "default_person_label")]
    pub person_label: String,
    #[serde(default = "default_input_size")]
    pub input_size_px: u32,
    #[serde(default = "default_min_score")]
    pub min_score: f32,
    #[serde(default = "default_nms_iou")]
    pub nms_iou: f32,
    /// At most this many motion regions per frame (largest first).
    #[serde(default = "default_max_regions")]
    pub max_regions: usize,
    #[serde(default = "default_margin")]
    pub region_margin_px: u32,
    /// `cpu` or `cuda`.
    #[serde(default = "default_ep")]
    pub execution_provider: String,
    #[serde(default = "default_threads")]
    pub threads: usize,
}

fn default_person_label() -> String {
    "person".into()
}
fn default_input_size() -> u32 {
    640
}
fn default_min_score() -> f32 {
    0.35
}
fn default_nms_iou() -> f32 {
    0.45
}
fn default_max_regions() -> usize {
    4
}
fn default_margin() -> u32 {
    8
}
fn default_ep() -> String {
    "cpu".into()
}
fn default_threads() -> usize {
    1
}

/// One detected object, in detect-frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectBox {
    pub bbox: BoxPx,
    pub class_id: usize,
    pub label: String,
    pub score: f32,
    pub is_person: bool,
}

/// A detector of objects in regions of a frame.
pub trait Detector: Send {
    fn detect(&mut self, frame: &MaskedFrame, regions: &[BoxPx]) -> Result<Vec<ObjectBox>, VideoError>;
}

/// Regions worth running the detector on: blobs grown by `margin`, overlapping ones merged,
/// largest first, at most `max`.
pub fn regions(blobs: &[Blob], margin: u32, w: u32, h: u32, max: usize) -> Vec<BoxPx> {
    let mut boxes: Vec<BoxPx> = blobs.iter().map(|b| b.bbox.grown(margin, w, h)).collect();
    let mut merged = true;
    while merged {
        merged = false;
        'outer: for i in 0..boxes.len() {
            for j in i + 1..boxes.len() {
                if boxes[i].iou(&boxes[j]) > 0.0 {
                    boxes[i] = boxes[i].union(&boxes[j]);
                    boxes.swap_remove(j);
                    merged = true;
                    break 'outer;
                }
            }
        }
    }
    boxes.sort_by_key(|b| std::cmp::Reverse(b.area()));
    boxes.truncate(max);
    boxes
}

/// How a region was fitted into the model's square input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub region: BoxPx,
    pub scale: f64,
    pub pad_x: f64,
    pub pad_y: f64,
}

/// Crops `region` from the frame's RGB and letterboxes it into `size`×`size` CHW floats
/// (grey 114 padding, as YOLO's training pipeline).
pub fn letterbox(rgb: &[u8], frame_w: u32, region: BoxPx, size: u32) -> (Vec<f32>, Letterbox) {
    let (rw, rh) = (region.width().max(1) as f64, region.height().max(1) as f64);
    let scale = (size as f64 / rw).min(size as f64 / rh);
    let (nw, nh) = ((rw * scale).round() as u32, (rh * scale).round() as u32);
    let pad_x = ((size - nw.min(size)) / 2) as f64;
    let pad_y = ((size - nh.min(size)) / 2) as f64;
    let s = size as usize;
    let mut out = vec![114.0 / 255.0; 3 * s * s];
    for oy in 0..nh.min(size) {
        let sy = (region.y0 as f64 + (oy as f64 + 0.5) / scale).min(region.y1 as f64 - 1.0) as usize;
        for ox in 0..nw.min(size) {
            let sx = (region.x0 as f64 + (ox as f64 + 0.5) / scale).min(region.x1 as f64 - 1.0) as usize;
            let si = (sy * frame_w as usize + sx) * 3;
            let di = (oy as usize + pad_y as usize) * s + ox as usize + pad_x as usize;
            for c in 0..3 {
                out[c * s * s + di] = rgb[si + c] as f32 / 255.0;
            }
        }
    }
    (out, Letterbox { region, scale, pad_x, pad_y })
}

/// Decodes a YOLO output tensor (`shape`, row-major `data`) into boxes in frame pixels.
pub fn decode_yolo(
    shape: &[i64],
    data: &[f32],
    n_classes: usize,
    lb: &Letterbox,
    min_score: f32,
) -> Result<Vec<(BoxPx, usize, f32)>, String> {
    let dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
    let (n, stride_attr, stride_box, v5) = match dims.as_slice() {
        [1, a, n] if *a == 4 + n_classes => (*n, *n, 1usize, false),
        [1, n, a] if *a == 5 + n_classes => (*n, 1usize, *a, true),
        [1, n, a] if *a == 4 + n_classes => (*n, 1usize, *a, false),
        other => {
            return Err(format!(
                "output shape {other:?} is not YOLO for {n_classes} classes ([1,{},N] or [1,N,{}])",
                4 + n_classes,
                5 + n_classes
            ));
        }
    };
    if data.len() < dims.iter().product::<usize>() {
        return Err("output tensor shorter than its shape".into());
    }
    let at = |attr: usize, i: usize| data[attr * stride_attr + i * stride_box];
    let mut out = Vec::new();
    for i in 0..n {
        let obj = if v5 { at(4, i) } else { 1.0 };
        let first = if v5 { 5 } else { 4 };
        let (mut best, mut best_c) = (0.0f32, 0usize);
        for c in 0..n_classes {
            let sc = at(first + c, i) * obj;
            if sc > best {
                best = sc;
                best_c = c;
            }
        }
        if best.partial_cmp(&min_score).is_none_or(|o| o == std::cmp::Ordering::Less) {
            continue;
        }
        let (cx, cy, w, h) = (at(0, i) as f64, at(1, i) as f64, at(2, i) as f64, at(3, i) as f64);
        let to_frame_x =
            |x: f64| ((x - lb.pad_x) / lb.scale + lb.region.x0 as f64).clamp(lb.region.x0 as f64, lb.region.x1 as f64);
        let to_frame_y =
            |y: f64| ((y - lb.pad_y) / lb.scale + lb.region.y0 as f64).clamp(lb.region.y0 as f64, lb.region.y1 as f64);
        let (x0, x1) = (to_frame_x(cx - w / 2.0), to_frame_x(cx + w / 2.0));
        let (y0, y1) = (to_frame_y(cy - h / 2.0), to_frame_y(cy + h / 2.0));
        if !(x1 > x0 && y1 > y0) {
            continue;
        }
        // (The small epsilon keeps exact values exact through the float arithmetic.)
        let b = BoxPx {
            x0: (x0 + 1e-6).floor() as u32,
            y0: (y0 + 1e-6).floor() as u32,
            x1: (x1 - 1e-6).ceil() as u32,
            y1: (y1 - 1e-6).ceil() as u32,
        };
        out.push((b, best_c, best));
    }
    Ok(out)
}

/// Per-class non-maximum suppression, best scores first.
pub fn nms(mut boxes: Vec<(BoxPx, usize, f32)>, iou: f32) -> Vec<(BoxPx, usize, f32)> {
    boxes.sort_by(|a, b| b.2.total_cmp(&a.2));
    let mut kept: Vec<(BoxPx, usize, f32)> = Vec::new();
    for b in boxes {
        if kept.iter().all(|k| k.1 != b.1 || k.0.iou(&b.0) <= iou as f64) {
            kept.push(b);
        }
    }
    kept
}

#[cfg(feature = "onnx")]
pub use onnx::OnnxDetector;

#[cfg(feature = "onnx")]
mod onnx {
    use std::sync::OnceLock;

    use ort::session::Session;
    use ort::value::Tensor;

    use super::*;

    /// ONNX Runtime allows one environment per process: it is made once, from the first
    /// library path asked for.
    static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

    fn environment(library: &std::path::Path) -> Result<ort::environment::Environment, String> {
        ENVIRONMENT
            .get_or_init(|| {
                let builder = ort::init_from(library).map_err(|e| e.to_string())?;
                builder.with_name("vigie-video").build().map_err(|e| e.to_string())
            })
            .clone()
    }

    pub struct OnnxDetector {
        cfg: DetectorConfig,
        session: Session,
        model_name: String,
    }

    impl OnnxDetector {
        pub fn new(cfg: DetectorConfig) -> Result<OnnxDetector, VideoError> {
            let model_name = cfg.model.display().to_string();
            let err = |d: String| VideoError::Detector { model: model_name.clone(), detail: d };
            let library = match &cfg.library {
                Some(p) => p.clone(),
                None => std::env::var_os("ORT_DYLIB_PATH")
                    .map(PathBuf::from)
                    .ok_or_else(|| err("no ONNX Runtime library: set detector.library or ORT_DYLIB_PATH".into()))?,
            };
            if !library.is_file() {
                return Err(err(format!("ONNX Runtime library {} not found", library.display())));
            }
            let env = environment(&library).map_err(err)?;
            let mut builder = Session::builder(&env).map_err(|e| err(e.to_string()))?;
            builder = builder.with_intra_threads(cfg.threads.max(1)).map_err(|e| err(e.to_string()))?;
            match cfg.execution_provider.as_str() {
                "cpu" => {}
                #[cfg(feature = "cuda")]
                "cuda" => {
                    builder = builder
                        .with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()])
                        .map_err(|e| err(e.to_string()))?;
                }
                other => return Err(err(format!("execution provider {other:?} is not available in this build"))),
            }
            let session = builder.commit_from_file(&cfg.model).map_err(|e| err(e.to_string()))?;
            Ok(OnnxDetector { cfg, session, model_name })
        }
    }

    impl Detector for OnnxDetector {
        fn detect(&mut self, frame: &MaskedFrame, regions: &[BoxPx]) -> Result<Vec<ObjectBox>, VideoError> {
            if regions.is_empty() {
                return Ok(Vec::new());
            }
            let err = |d: String| VideoError::Detector { model: self.model_name.clone(), detail: d };
            let rgb = frame.to_rgb();
            let size = self.cfg.input_size_px;
            let mut found = Vec::new();
            for &r in regions {
                let (input, lb) = letterbox(&rgb, frame.width(), r, size);
                let tensor = Tensor::from_array(([1usize, 3, size as usize, size as usize], input))
                    .map_err(|e| err(e.to_string()))?;
                let outputs = self.session.run(ort::inputs![tensor]).map_err(|e| err(e.to_string()))?;
                let (shape, data) = outputs[0].try_extract_tensor::<f32>().map_err(|e| err(e.to_string()))?;
                let dims: Vec<i64> = shape.iter().copied().collect();
                found.extend(decode_yolo(&dims, data, self.cfg.labels.len(), &lb, self.cfg.min_score).map_err(&err)?);
            }
            Ok(nms(found, self.cfg.nms_iou)
                .into_iter()
                .map(|(bbox, class_id, score)| {
                    let label = self.cfg.labels.get(class_id).cloned().unwrap_or_default();
                    ObjectBox { bbox, class_id, is_person: label == self.cfg.person_label, label, score }
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yolo_v8_boxes_come_back_to_frame_pixels() {
        // One region 100×50 at (200, 100), letterboxed into 64: scale 0.64, pad_y 16.
        let region = BoxPx { x0: 200, y0: 100, x1: 300, y1: 150 };
        let rgb = vec![0u8; 400 * 200 * 3];
        let (_, lb) = letterbox(&rgb, 400, region, 64);
        assert!((lb.scale - 0.64).abs() < 1e-9);
        assert_eq!(lb.pad_y, 16.0);
        // Two candidates, classes [person, knife]: a knife at the region's centre.
        #[rustfmt::skip]
        let data = [
            32.0, 5.0,   // cx
            32.0, 5.0,   // cy
            12.8, 2.0,   // w
            6.4, 2.0,    // h
            0.1, 0.05,   // person
            0.9, 0.2,    // knife
        ];
        let b = decode_yolo(&[1, 6, 2], &data, 2, &lb, 0.3).unwrap();
        assert_eq!(b.len(), 1);
        let (bx, class, score) = b[0];
        assert_eq!(class, 1);
        assert!((score - 0.9).abs() < 1e-6);
        assert_eq!(bx, BoxPx { x0: 240, y0: 120, x1: 260, y1: 130 });
        assert!(decode_yolo(&[1, 7, 2], &data, 2, &lb, 0.3).is_err());
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes_per_class() {
        let a = BoxPx { x0: 0, y0: 0, x1: 10, y1: 10 };
        let b = BoxPx { x0: 1, y0: 1, x1: 11, y1: 11 };
        let kept = nms(vec![(a, 0, 0.5), (b, 0, 0.9), (a, 1, 0.4)], 0.45);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0], (b, 0, 0.9));
    }

    #[test]
    fn regions_merge_overlapping_blobs() {
        let blob = |x0, y0| Blob { bbox: BoxPx { x0, y0, x1: x0 + 10, y1: y0 + 10 }, pixels: 100 };
        let r = regions(&[blob(10, 10), blob(22, 10), blob(100, 100)], 4, 200, 200, 4);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0], BoxPx { x0: 6, y0: 6, x1: 36, y1: 24 });
    }
}
