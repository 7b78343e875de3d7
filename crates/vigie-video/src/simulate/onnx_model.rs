//! A tiny YOLO-format ONNX model, written protobuf field by field (no weights are
//! downloaded anywhere): it "sees" strongly magenta pixels as class 1 (`knife`), class 0
//! (`person`) never fires. It exists to test the detector path for real — ONNX Runtime
//! loading a model, letterboxed motion regions in, YOLOv8 output decoded — not to recognise
//! weapons, which only the deployer's model can do.
//!
//! Graph, for an `S`×`S` input (`S` a multiple of 8): `Conv` 1×1 (R − 2G + B − 0.6) → `Mul` 8
//! → `Sigmoid` → `MaxPool` 8×8 → `Reshape` [1, 1, N] → `Concat` with constant cell boxes
//! [1, 4, N] and zero person scores [1, 1, N] → `output0` [1, 6, N], N = (S/8)².

/// Protobuf wire writer (only what ONNX needs).
struct Pb(Vec<u8>);

impl Pb {
    fn new() -> Pb {
        Pb(Vec::new())
    }
    fn varint(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7F) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(b);
                break;
            }
            self.0.push(b | 0x80);
        }
    }
    fn key(&mut self, field: u32, wire: u8) {
        self.varint(((field as u64) << 3) | wire as u64);
    }
    fn int(&mut self, field: u32, v: i64) {
        self.key(field, 0);
        self.varint(v as u64);
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }
    fn msg(&mut self, field: u32, m: Pb) {
        self.bytes(field, &m.0);
    }
}

fn tensor_f32(name: &str, dims: &[i64], data: &[f32]) -> Pb {
    let mut t = Pb::new();
    for &d in dims {
        t.int(1, d);
    }
    t.int(2, 1); // FLOAT
    t.str(8, name);
    let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.bytes(9, &raw);
    t
}

fn tensor_i64(name: &str, dims: &[i64], data: &[i64]) -> Pb {
    let mut t = Pb::new();
    for &d in dims {
        t.int(1, d);
    }
    t.int(2, 7); // INT64
    t.str(8, name);
    let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.bytes(9, &raw);
    t
}

fn value_info(name: &str, dims: &[i64]) -> Pb {
    let mut shape = Pb::new();
    for &d in dims {
        let mut dim = Pb::new();
        dim.int(1, d);
        shape.msg(1, dim);
    }
    let mut tt = Pb::new();
    tt.int(1, 1); // FLOAT
    tt.msg(2, shape);
    let mut ty = Pb::new();
    ty.msg(1, tt);
    let mut vi = Pb::new();
    vi.str(1, name);
    vi.msg(2, ty);
    vi
}

enum Attr<'a> {
    Int(&'a str, i64),
    Ints(&'a str, &'a [i64]),
}

fn node(op: &str, inputs: &[&str], output: &str, attrs: &[Attr<'_>]) -> Pb {
    let mut n = Pb::new();
    for i in inputs {
        n.str(1, i);
    }
    n.str(2, output);
    n.str(3, output);
    n.str(4, op);
    for a in attrs {
        let mut at = Pb::new();
        match a {
            Attr::Int(name, v) => {
                at.str(1, name);
                at.int(3, *v);
                at.int(20, 2);
            }
            Attr::Ints(name, vs) => {
                at.str(1, name);
                for v in *vs {
                    at.int(8, *v);
                }
                at.int(20, 7);
            }
        }
        n.msg(5, at);
    }
    n
}

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
    let mut g = Pb::new();
    g.msg(1, node("Conv", &["images", "w", "b"], "m", &[Attr::Ints("kernel_shape", &[1, 1])]));
    g.msg(1, node("Mul", &["m", "k"], "mk", &[]));
    g.msg(1, node("Sigmoid", &["mk"], "p", &[]));
    g.msg(1, node("MaxPool", &["p"], "cellp", &[Attr::Ints("kernel_shape", &[8, 8]), Attr::Ints("strides", &[8, 8])]));
    g.msg(1, node("Reshape", &["cellp", "shape"], "knife", &[]));
    g.msg(1, node("Concat", &["boxes", "person", "knife"], "output0", &[Attr::Int("axis", 1)]));
    g.str(2, "vigie-test-magenta");
    g.msg(5, tensor_f32("w", &[1, 3, 1, 1], &[1.0, -2.0, 1.0]));
    g.msg(5, tensor_f32("b", &[1], &[-0.6]));
    g.msg(5, tensor_f32("k", &[1], &[8.0]));
    g.msg(5, tensor_i64("shape", &[3], &[1, 1, n]));
    g.msg(5, tensor_f32("boxes", &[1, 4, n], &boxes));
    g.msg(5, tensor_f32("person", &[1, 1, n], &vec![0.0; n as usize]));
    g.msg(11, value_info("images", &[1, 3, s, s]));
    g.msg(12, value_info("output0", &[1, 6, n]));
    let mut opset = Pb::new();
    opset.str(1, "");
    opset.int(2, 13);
    let mut m = Pb::new();
    m.int(1, 8); // IR version 8
    m.str(2, "vigie-video tests");
    m.msg(8, opset);
    m.msg(7, g);
    m.0
}

/// Where the tests and the bench find ONNX Runtime: `ORT_DYLIB_PATH`, else what
/// `scripts/fetch-video-media` put in `~/.cache/vigie/onnxruntime/`.
pub fn onnxruntime_library() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").map(std::path::PathBuf::from).filter(|p| p.is_file()) {
        return Some(p);
    }
    let p = super::media_cache().join("onnxruntime").join("libonnxruntime.so");
    p.is_file().then_some(p)
}
