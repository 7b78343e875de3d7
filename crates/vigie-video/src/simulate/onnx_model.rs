//! A tiny YOLO-format ONNX model, written protobuf field by field (no weights are
//! downloaded anywhere): it "sees" strongly magenta pixels as class 1 (`knife`), class 0
//! (`person`) never fires. It exists to test the detector path for real — ONNX Runtime
//! loading a model, letterboxed motion regions in, YOLOv8 output decoded — not to recognise
//! weapons, which only the deployer's model can do.
//!
//! Graph, for an `S`×`S` input (`S` a multiple of 8): `Conv` 1×1 (R − 2G + B − 0.6) → `Mul` 8
//! → `Sigmoid` → `MaxPool` 8×8 → `Reshape` [1, 1, N] → `Concat` with constant cell boxes
//! [1, 4, N] and zero person scores [1, 1, N] → `output0` [1, 6, N], N = (S/8)².
//!
//! The protobuf writer and [`onnxruntime_library`] are `vigie_testkit::onnx`'s, shared with
//! the audio tagger's tests.

pub use vigie_testkit::onnx::onnxruntime_library;
use vigie_testkit::onnx::{Attr, graph, model, node, tensor_f32, tensor_i64, value_info};

/// The model's bytes for an `size`×`size` input.
pub fn magenta_detector(size: u32) -> Vec<u8> {
    let s = size as i64;
    let cells = s / 8;
    let n = cells * cells;
    let mut boxes = vec![0f32; 4 * n as usize];
    for i in 0..n {
        let (cx, cy) = ((i % cells) as f32 * 8.0 + 4.0, (i / cells) as f32 * 8.0 + 4.0);
        for (k, v) in [cx, cy, 8.0, 8.0].into_iter().enumerate() {
            boxes[k * n as usize + i as usize] = v;
        }
    }
    let g = graph(
        "vigie-test-magenta",
        [
            node("Conv", &["images", "w", "b"], "m", &[Attr::Ints("kernel_shape", &[1, 1])]),
            node("Mul", &["m", "k"], "mk", &[]),
            node("Sigmoid", &["mk"], "p", &[]),
            node("MaxPool", &["p"], "cellp", &[Attr::Ints("kernel_shape", &[8, 8]), Attr::Ints("strides", &[8, 8])]),
            node("Reshape", &["cellp", "shape"], "knife", &[]),
            node("Concat", &["boxes", "person", "knife"], "output0", &[Attr::Int("axis", 1)]),
        ],
        [
            tensor_f32("w", &[1, 3, 1, 1], &[1.0, -2.0, 1.0]),
            tensor_f32("b", &[1], &[-0.6]),
            tensor_f32("k", &[1], &[8.0]),
            tensor_i64("shape", &[3], &[1, 1, n]),
            tensor_f32("boxes", &[1, 4, n], &boxes),
            tensor_f32("person", &[1, 1, n], &vec![0.0; n as usize]),
        ],
        [value_info("images", &[1, 3, s, s])],
        [value_info("output0", &[1, 6, n])],
    );
    model(g, "vigie-video tests", 13)
}
