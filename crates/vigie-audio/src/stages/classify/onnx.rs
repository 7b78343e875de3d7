//! The tagger's engine: ONNX Runtime, loaded at run time (`ort` with `load-dynamic`) from
//! `library` or `ORT_DYLIB_PATH`; nothing is downloaded. One input (waveform), one output
//! (scores); see [`super::tagger`] for the shapes accepted.

use std::path::PathBuf;
use std::sync::OnceLock;

use ort::session::Session;
use ort::value::Tensor;

use super::tagger::{TagModel, Tagger, TaggerConfig};
use crate::error::AudioError;

/// ONNX Runtime allows one environment per process: made once, from the first library asked.
static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

fn environment(library: &std::path::Path) -> Result<ort::environment::Environment, String> {
    ENVIRONMENT
        .get_or_init(|| {
            let builder = ort::init_from(library).map_err(|e| e.to_string())?;
            builder.with_name("vigie-audio").build().map_err(|e| e.to_string())
        })
        .clone()
}

/// A loaded ONNX tagging model.
pub struct OnnxModel {
    session: Session,
    /// The input's shape with the window length at `len_axis` (−1 when dynamic).
    input_shape: Vec<i64>,
    len_axis: usize,
}

impl OnnxModel {
    pub fn load(cfg: &TaggerConfig) -> Result<OnnxModel, AudioError> {
        let err = |d: String| AudioError::Classifier { model: cfg.model.display().to_string(), detail: d };
        let library = match &cfg.library {
            Some(p) => p.clone(),
            None => std::env::var_os("ORT_DYLIB_PATH")
                .map(PathBuf::from)
                .ok_or_else(|| err("no ONNX Runtime library: give its path or set ORT_DYLIB_PATH".into()))?,
        };
        if !library.is_file() {
            return Err(err(format!("ONNX Runtime library {} not found", library.display())));
        }
        if !cfg.model.is_file() {
            return Err(err("model file not found".into()));
        }
        let env = environment(&library).map_err(err)?;
        let builder = Session::builder(&env).map_err(|e| err(e.to_string()))?;
        let mut builder = builder.with_intra_threads(cfg.threads.max(1)).map_err(|e| err(e.to_string()))?;
        let session = builder.commit_from_file(&cfg.model).map_err(|e| err(e.to_string()))?;
        if session.inputs().len() != 1 || session.outputs().is_empty() {
            return Err(err(format!(
                "expected one waveform input and a score output, found {} input(s) and {} output(s)",
                session.inputs().len(),
                session.outputs().len()
            )));
        }
        let input_shape: Vec<i64> = session.inputs()[0]
            .dtype()
            .tensor_shape()
            .map(|s| s.iter().copied().collect())
            .ok_or_else(|| err("the input is not a tensor".into()))?;
        // [N], [1, N] or [1, 1, N]: the window is the last axis, the others are 1.
        let len_axis = match input_shape.as_slice() {
            [_] => 0,
            [b, _] if *b == 1 || *b == -1 => 1,
            [b, c, _] if (*b == 1 || *b == -1) && (*c == 1 || *c == -1) => 2,
            other => {
                return Err(err(format!("input shape {other:?} is not a waveform ([N], [1,N] or [1,1,N])")));
            }
        };
        if let Some(shape) = session.outputs()[0].dtype().tensor_shape() {
            let last = shape.iter().last().copied().unwrap_or(-1);
            if last >= 0 && last as usize != cfg.labels.len() {
                return Err(err(format!("the model gives {last} scores but {} labels were given", cfg.labels.len())));
            }
        }
        Ok(OnnxModel { session, input_shape, len_axis })
    }
}

impl TagModel for OnnxModel {
    fn input_len(&self) -> Option<usize> {
        let n = self.input_shape[self.len_axis];
        (n > 0).then_some(n as usize)
    }

    fn run(&mut self, window: &[f32]) -> Result<(Vec<i64>, Vec<f32>), String> {
        let shape: Vec<usize> =
            (0..self.input_shape.len()).map(|a| if a == self.len_axis { window.len() } else { 1 }).collect();
        let tensor = Tensor::from_array((shape, window.to_vec())).map_err(|e| e.to_string())?;
        let outputs = self.session.run(ort::inputs![tensor]).map_err(|e| e.to_string())?;
        let (shape, data) = outputs[0].try_extract_tensor::<f32>().map_err(|e| e.to_string())?;
        Ok((shape.iter().copied().collect(), data.to_vec()))
    }
}

/// Loads the deployer's model as a classifier.
pub fn load_tagger(cfg: TaggerConfig) -> Result<Tagger<OnnxModel>, AudioError> {
    cfg.validate()?;
    let model = OnnxModel::load(&cfg)?;
    Tagger::new(cfg, model)
}
