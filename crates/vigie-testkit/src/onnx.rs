//! Tiny ONNX models written by hand, protobuf field by field, and where to find ONNX
//! Runtime: the tests of the video detector and of the audio tagger run ONNX Runtime for
//! real on models they write themselves (no weights are downloaded anywhere).
//!
//! Only the part of `onnx.proto` those models need: float and int64 initialisers, nodes with
//! int and ints attributes, float tensor value infos with fixed dimensions, one graph, one
//! opset import.
//!
//! ```
//! use vigie_testkit::onnx::{Attr, graph, model, node, value_info};
//! let g = graph(
//!     "abs-max",
//!     [node("Abs", &["x"], "a", &[]), node("ReduceMax", &["a"], "y", &[Attr::Ints("axes", &[1])])],
//!     [],
//!     [value_info("x", &[1, 4])],
//!     [value_info("y", &[1, 1])],
//! );
//! let bytes = model(g, "example", 13);
//! assert!(!bytes.is_empty());
//! ```

use std::path::PathBuf;

/// Protobuf wire writer (only what ONNX needs).
#[derive(Debug, Default, Clone)]
pub struct Pb(Vec<u8>);

impl Pb {
    pub fn new() -> Pb {
        Pb(Vec::new())
    }

    /// The message's bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    pub fn varint(&mut self, mut v: u64) {
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

    /// A field's key: its number and wire type (0 varint, 2 length-delimited).
    pub fn key(&mut self, field: u32, wire: u8) {
        self.varint(((field as u64) << 3) | wire as u64);
    }

    pub fn int(&mut self, field: u32, v: i64) {
        self.key(field, 0);
        self.varint(v as u64);
    }

    pub fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    pub fn str(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }

    /// An embedded message.
    pub fn msg(&mut self, field: u32, m: Pb) {
        self.bytes(field, &m.0);
    }
}

/// `TensorProto.DataType`.
const FLOAT: i64 = 1;
const INT64: i64 = 7;

fn tensor(name: &str, dims: &[i64], data_type: i64, raw: &[u8]) -> Pb {
    let mut t = Pb::new();
    for &d in dims {
        t.int(1, d);
    }
    t.int(2, data_type);
    t.str(8, name);
    t.bytes(9, raw);
    t
}

/// A float initialiser (`TensorProto`, raw little-endian data).
pub fn tensor_f32(name: &str, dims: &[i64], data: &[f32]) -> Pb {
    let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    tensor(name, dims, FLOAT, &raw)
}

/// An int64 initialiser (shapes, axes).
pub fn tensor_i64(name: &str, dims: &[i64], data: &[i64]) -> Pb {
    let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    tensor(name, dims, INT64, &raw)
}

/// A float tensor graph input or output of fixed dimensions (`ValueInfoProto`).
pub fn value_info(name: &str, dims: &[i64]) -> Pb {
    let mut shape = Pb::new();
    for &d in dims {
        let mut dim = Pb::new();
        dim.int(1, d);
        shape.msg(1, dim);
    }
    let mut tt = Pb::new();
    tt.int(1, FLOAT);
    tt.msg(2, shape);
    let mut ty = Pb::new();
    ty.msg(1, tt);
    let mut vi = Pb::new();
    vi.str(1, name);
    vi.msg(2, ty);
    vi
}

/// A node's attribute.
#[derive(Debug, Clone, Copy)]
pub enum Attr<'a> {
    Int(&'a str, i64),
    Ints(&'a str, &'a [i64]),
}

/// A node (`NodeProto`) of one output, named after that output.
pub fn node(op: &str, inputs: &[&str], output: &str, attrs: &[Attr<'_>]) -> Pb {
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
                at.int(20, 2); // INT
            }
            Attr::Ints(name, vs) => {
                at.str(1, name);
                for v in *vs {
                    at.int(8, *v);
                }
                at.int(20, 7); // INTS
            }
        }
        n.msg(5, at);
    }
    n
}

/// A graph (`GraphProto`): nodes in topological order, initialisers, inputs, outputs.
pub fn graph(
    name: &str,
    nodes: impl IntoIterator<Item = Pb>,
    initializers: impl IntoIterator<Item = Pb>,
    inputs: impl IntoIterator<Item = Pb>,
    outputs: impl IntoIterator<Item = Pb>,
) -> Pb {
    let mut g = Pb::new();
    for n in nodes {
        g.msg(1, n);
    }
    g.str(2, name);
    for t in initializers {
        g.msg(5, t);
    }
    for i in inputs {
        g.msg(11, i);
    }
    for o in outputs {
        g.msg(12, o);
    }
    g
}

/// A model's bytes (`ModelProto`, IR version 8): `graph` against the default domain's `opset`.
pub fn model(graph: Pb, producer: &str, opset: i64) -> Vec<u8> {
    let mut op = Pb::new();
    op.str(1, "");
    op.int(2, opset);
    let mut m = Pb::new();
    m.int(1, 8);
    m.str(2, producer);
    m.msg(8, op);
    m.msg(7, graph);
    m.0
}

/// Where the tests and the benches find ONNX Runtime: `ORT_DYLIB_PATH`, else what
/// `scripts/fetch-video-media` put in `onnxruntime/libonnxruntime.so` under [`crate::media_cache`].
pub fn onnxruntime_library() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from).filter(|p| p.is_file()) {
        return Some(p);
    }
    let p = crate::media_cache().join("onnxruntime").join("libonnxruntime.so");
    p.is_file().then_some(p)
}

/// [`onnxruntime_library`], for the tests that need it.
///
/// # Panics
///
/// When ONNX Runtime is not found, with how to get it.
pub fn required_onnxruntime_library() -> PathBuf {
    onnxruntime_library().expect(
        "ONNX Runtime not found: run scripts/fetch-video-media (it extracts libonnxruntime.so from the PyPI \
         onnxruntime wheel into ~/.cache/vigie/onnxruntime/), or set ORT_DYLIB_PATH",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_fields_follow_the_wire_format() {
        let mut p = Pb::new();
        p.varint(300);
        assert_eq!(p.clone().into_bytes(), [0xAC, 0x02]);
        let mut f = Pb::new();
        f.int(1, 150);
        f.str(2, "ab");
        assert_eq!(f.into_bytes(), [0x08, 0x96, 0x01, 0x12, 0x02, b'a', b'b']);
        // Negative ints are ten-byte varints (two's complement), as protobuf writes int64.
        let mut n = Pb::new();
        n.int(1, -1);
        assert_eq!(n.into_bytes().len(), 11);
    }

    #[test]
    fn tensors_carry_raw_little_endian_data() {
        let t = tensor_f32("w", &[2], &[1.0, -2.0]).into_bytes();
        let raw: Vec<u8> = [1.0f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert!(t.ends_with(&raw));
        assert_eq!(&t[..6], [0x08, 0x02, 0x10, 0x01, 0x42, 0x01]);
    }
}
