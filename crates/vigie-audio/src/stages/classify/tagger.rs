//! The ONNX audio tagger's logic, apart from ONNX Runtime: which audio goes in, what the
//! scores mean, how AudioSet-style labels map to the six classes.
//!
//! - **Input**: the event's audio from 50 ms before the onset, resampled (linear) to the
//!   model's rate, cut or zero-padded to the model's window (its fixed input length, or
//!   `window_secs` when the length is dynamic). Shapes `[N]`, `[1, N]` or `[1, 1, N]` of
//!   waveform in −1..1, as YAMNet and PANNs exports take.
//! - **Output**: scores `[K]`, `[1, K]` or frame-wise `[T, K]` / `[1, T, K]` (the maximum over
//!   frames is kept), `K` = the number of labels; probabilities, or logits (`logits = true`,
//!   passed through a sigmoid).
//! - **Labels**: one per line, or AudioSet's `class_labels_indices.csv`
//!   (`index,mid,display_name`). Only labels in the map become a class; the best mapped
//!   label at or above `min_score` wins. Any other label (speech, music, …) is never
//!   emitted. Below `min_score` the rules decide (`fallback`).

use std::collections::HashMap;
use std::path::PathBuf;

use vigie_model::Kind;

use super::{Classification, Classifier, EventInput, Rules};
use crate::error::AudioError;

/// How a deployer's tagging model is run.
#[derive(Debug, Clone)]
pub struct TaggerConfig {
    /// The ONNX model file (the deployer's; none ships with Vigie).
    pub model: PathBuf,
    /// `libonnxruntime.so`; default: `ORT_DYLIB_PATH`.
    pub library: Option<PathBuf>,
    /// The model's output classes, in order.
    pub labels: Vec<String>,
    /// Label (case-insensitive) → class; [`default_label_map`] unless the deployer gives one.
    pub label_map: HashMap<String, Kind>,
    /// Sample rate the model expects.
    pub sample_rate: u32,
    /// Window when the model's input length is dynamic, seconds.
    pub window_secs: f64,
    /// A mapped label needs at least this score.
    pub min_score: f64,
    /// The model's outputs are logits (a sigmoid makes them scores).
    pub logits: bool,
    pub threads: usize,
}

impl TaggerConfig {
    pub fn new(model: PathBuf, labels: Vec<String>) -> TaggerConfig {
        TaggerConfig {
            model,
            library: None,
            labels,
            label_map: default_label_map(),
            sample_rate: 16_000,
            window_secs: 0.975,
            min_score: 0.3,
            logits: false,
            threads: 1,
        }
    }

    pub fn validate(&self) -> Result<(), AudioError> {
        let bad = |d: String| Err(AudioError::Classifier { model: self.model.display().to_string(), detail: d });
        if self.labels.is_empty() {
            return bad("no labels".into());
        }
        if !self.labels.iter().any(|l| self.label_map.contains_key(&l.trim().to_lowercase())) {
            return bad(
                "none of the model's labels maps to an audio class: check the labels file and the label map".into()
            );
        }
        if !(8_000..=96_000).contains(&self.sample_rate) {
            return bad(format!("sample rate {} Hz is outside 8..96 kHz", self.sample_rate));
        }
        if !(self.window_secs > 0.05 && self.window_secs <= 10.0) {
            return bad("window_secs must be within 0.05..10".into());
        }
        if !(0.0..=1.0).contains(&self.min_score) {
            return bad("min_score must be within 0..1".into());
        }
        Ok(())
    }
}

/// AudioSet display names (ontology of Gemmeke et al., 2017) for the six classes. Fireworks
/// and firecrackers are impulses, not explosions or gunshots: they are the usual false alarm.
pub fn default_label_map() -> HashMap<String, Kind> {
    let pairs: &[(&str, Kind)] = &[
        ("Gunshot, gunfire", Kind::AudioGunshot),
        ("Machine gun", Kind::AudioGunshot),
        ("Fusillade", Kind::AudioGunshot),
        ("Artillery fire", Kind::AudioGunshot),
        ("Cap gun", Kind::AudioGunshot),
        ("Explosion", Kind::AudioExplosion),
        ("Boom", Kind::AudioExplosion),
        ("Glass", Kind::AudioGlassBreak),
        ("Shatter", Kind::AudioGlassBreak),
        ("Screaming", Kind::AudioScream),
        ("Yell", Kind::AudioScream),
        ("Siren", Kind::AudioSiren),
        ("Civil defense siren", Kind::AudioSiren),
        ("Police car (siren)", Kind::AudioSiren),
        ("Ambulance (siren)", Kind::AudioSiren),
        ("Fire engine, fire truck (siren)", Kind::AudioSiren),
        ("Emergency vehicle", Kind::AudioSiren),
        ("Fireworks", Kind::AudioImpulse),
        ("Firecracker", Kind::AudioImpulse),
        ("Burst, pop", Kind::AudioImpulse),
        ("Bang", Kind::AudioImpulse),
        ("Slam", Kind::AudioImpulse),
        ("Smash, crash", Kind::AudioImpulse),
        ("Knock", Kind::AudioImpulse),
        ("Thump, thud", Kind::AudioImpulse),
    ];
    pairs.iter().map(|(l, k)| (l.to_lowercase(), *k)).collect()
}

/// A label map from TOML: `"Gunshot, gunfire" = "audio.gunshot"`, one line per label.
pub fn parse_label_map(text: &str, what: &str) -> Result<HashMap<String, Kind>, AudioError> {
    let table: HashMap<String, String> =
        toml::from_str(text).map_err(|e| AudioError::Config(format!("{what}: {}", e.message())))?;
    let mut map = HashMap::new();
    for (label, kind) in table {
        let k: Kind = kind.parse().map_err(|e| AudioError::Config(format!("{what}: {label:?}: {e}")))?;
        if k.namespace() != "audio" {
            return Err(AudioError::Config(format!("{what}: {label:?}: {k} is not an audio class")));
        }
        map.insert(label.trim().to_lowercase(), k);
    }
    Ok(map)
}

/// Labels, one per line, or AudioSet's `index,mid,display_name` CSV (quoted names).
pub fn parse_labels(text: &str) -> Result<Vec<String>, AudioError> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty()).peekable();
    let csv = lines.peek().is_some_and(|l| l.to_lowercase().starts_with("index,mid,display_name"));
    if csv {
        lines.next();
    }
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        if !csv {
            out.push(line.to_owned());
            continue;
        }
        let mut parts = line.splitn(3, ',');
        let (Some(_), Some(_), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(AudioError::Config(format!("labels line {}: expected index,mid,display_name", i + 2)));
        };
        let name = name.trim();
        let name = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
            Some(inner) => inner.replace("\"\"", "\""),
            None => name.to_owned(),
        };
        out.push(name);
    }
    if out.is_empty() {
        return Err(AudioError::Config("the labels file holds no label".into()));
    }
    Ok(out)
}

/// Linear resampling (enough for a tagger's input; onsets are timed on the original).
pub fn resample_linear(x: &[f32], from_hz: u32, to_hz: u32) -> Vec<f32> {
    if from_hz == to_hz || x.is_empty() {
        return x.to_vec();
    }
    let ratio = from_hz as f64 / to_hz as f64;
    let n = ((x.len() as f64) / ratio).floor() as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 * ratio;
            let k = t.floor() as usize;
            let f = (t - k as f64) as f32;
            let a = x[k.min(x.len() - 1)];
            let b = x[(k + 1).min(x.len() - 1)];
            a + (b - a) * f
        })
        .collect()
}

/// Scores per label from an output tensor (maximum over frames).
pub fn label_scores(shape: &[i64], data: &[f32], n_labels: usize, logits: bool) -> Result<Vec<f64>, String> {
    let last = shape.last().copied().unwrap_or(0);
    let numel: i64 = shape.iter().product();
    if shape.is_empty() || last != n_labels as i64 || numel <= 0 || data.len() < numel as usize {
        return Err(format!("output shape {shape:?} does not hold {n_labels} label scores ([K], [1,K] or [1,T,K])"));
    }
    let frames = numel as usize / n_labels;
    let mut best = vec![f64::NEG_INFINITY; n_labels];
    for f in 0..frames {
        for (k, b) in best.iter_mut().enumerate() {
            let v = data[f * n_labels + k] as f64;
            if v.is_finite() && v > *b {
                *b = v;
            }
        }
    }
    Ok(best
        .into_iter()
        .map(|v| if v.is_finite() { v } else { 0.0 })
        .map(|v| if logits { 1.0 / (1.0 + (-v).exp()) } else { v.clamp(0.0, 1.0) })
        .collect())
}

/// An inference engine for a tagging model (ONNX Runtime in [`super::onnx`]).
pub trait TagModel: Send {
    /// The model's fixed input length in samples, if it has one.
    fn input_len(&self) -> Option<usize>;
    /// Runs the model on a window of waveform; the output tensor's shape and data.
    fn run(&mut self, window: &[f32]) -> Result<(Vec<i64>, Vec<f32>), String>;
}

/// The tagger as a [`Classifier`].
pub struct Tagger<M: TagModel> {
    cfg: TaggerConfig,
    /// Output index → class (None: a label that is never emitted).
    classes: Vec<Option<Kind>>,
    model: M,
    name: String,
}

impl<M: TagModel> Tagger<M> {
    pub fn new(cfg: TaggerConfig, model: M) -> Result<Tagger<M>, AudioError> {
        cfg.validate()?;
        let classes = cfg.labels.iter().map(|l| cfg.label_map.get(&l.trim().to_lowercase()).copied()).collect();
        let stem = cfg.model.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
        let name = format!(
            "onnx:{}",
            stem.chars().filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c)).collect::<String>()
        );
        Ok(Tagger { cfg, classes, model, name })
    }

    /// The model's input window for an event.
    pub fn window(&self, ev: &EventInput<'_>) -> Vec<f32> {
        let pre = (0.05 * ev.sample_rate as f64) as usize;
        let from = ev.onset_index.saturating_sub(pre).min(ev.samples.len());
        let mut x = resample_linear(&ev.samples[from..], ev.sample_rate, self.cfg.sample_rate);
        let n = self.model.input_len().unwrap_or((self.cfg.window_secs * self.cfg.sample_rate as f64) as usize).max(1);
        x.resize(n, 0.0);
        x
    }
}

impl<M: TagModel> Classifier for Tagger<M> {
    fn name(&self) -> &str {
        &self.name
    }

    fn classify(&mut self, ev: &EventInput<'_>) -> Result<Classification, AudioError> {
        let window = self.window(ev);
        let err = |d: String| AudioError::Classifier { model: self.cfg.model.display().to_string(), detail: d };
        let (shape, data) = self.model.run(&window).map_err(err)?;
        let scores = label_scores(&shape, &data, self.classes.len(), self.cfg.logits).map_err(err)?;
        let best =
            scores.iter().zip(&self.classes).filter_map(|(s, c)| c.map(|k| (k, *s))).max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((kind, score)) if score >= self.cfg.min_score => {
                Ok(Classification { kind, confidence: score.clamp(0.01, 0.99), fallback: false })
            }
            _ => Ok(Classification { fallback: true, ..Rules.decide(ev.features) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::features::Features;

    #[test]
    fn audioset_csv_and_plain_labels_parse() {
        let csv = "index,mid,display_name\n0,/m/09x0r,\"Speech\"\n427,/m/032s66,\"Gunshot, gunfire\"\n5,/m/x,Siren\n";
        assert_eq!(parse_labels(csv).unwrap(), ["Speech", "Gunshot, gunfire", "Siren"]);
        assert_eq!(parse_labels("Speech\n\nSiren\n").unwrap(), ["Speech", "Siren"]);
        assert!(parse_labels("\n").is_err());
        assert!(parse_labels("index,mid,display_name\n0\n").is_err());
    }

    #[test]
    fn label_maps_refuse_non_audio_classes() {
        let m = parse_label_map("\"Gunshot, gunfire\" = \"audio.gunshot\"\n", "map.toml").unwrap();
        assert_eq!(m.get("gunshot, gunfire"), Some(&Kind::AudioGunshot));
        assert!(parse_label_map("\"Speech\" = \"video.fire\"\n", "map.toml").is_err());
        assert!(parse_label_map("\"Speech\" = \"audio.speech\"\n", "map.toml").is_err());
    }

    #[test]
    fn frame_wise_scores_keep_the_maximum_and_check_the_shape() {
        let s = label_scores(&[1, 2, 3], &[0.1, 0.9, 0.2, 0.5, 0.3, 0.4], 3, false).unwrap();
        let want = [0.5, 0.9, 0.4];
        assert!(s.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{s:?}");
        assert!(label_scores(&[1, 4], &[0.0; 4], 3, false).is_err());
        let l = label_scores(&[3], &[0.0, 10.0, -10.0], 3, true).unwrap();
        assert!((l[0] - 0.5).abs() < 1e-9 && l[1] > 0.99 && l[2] < 0.01);
    }

    #[test]
    fn resampling_keeps_duration() {
        let x: Vec<f32> = (0..16_000).map(|i| (i as f32 * 0.01).sin()).collect();
        assert_eq!(resample_linear(&x, 16_000, 32_000).len(), 32_000);
        assert_eq!(resample_linear(&x, 16_000, 8_000).len(), 8_000);
    }

    /// A fixed-output engine: the tagger's mapping logic alone.
    struct Fixed(Vec<f32>);
    impl TagModel for Fixed {
        fn input_len(&self) -> Option<usize> {
            Some(100)
        }
        fn run(&mut self, window: &[f32]) -> Result<(Vec<i64>, Vec<f32>), String> {
            assert_eq!(window.len(), 100);
            Ok((vec![1, self.0.len() as i64], self.0.clone()))
        }
    }

    fn features() -> Features {
        Features {
            peak_db: 100.0,
            leq_db: 90.0,
            snr_db: 30.0,
            rise_ms: 1.0,
            duration_ms: 200.0,
            centroid_hz: 1500.0,
            low_ratio: 0.1,
            high_ratio: 0.1,
            tonality_db: 5.0,
            dominant_hz: 1000.0,
            sweep_hz: 0.0,
            band_levels_db: vec![],
        }
    }

    #[test]
    fn unmapped_labels_are_never_emitted_and_low_scores_fall_back_to_the_rules() {
        let labels = vec!["Speech".to_owned(), "Siren".to_owned(), "Music".to_owned()];
        let cfg = TaggerConfig::new("m.onnx".into(), labels);
        let f = features();
        let samples = vec![0.0f32; 4000];
        let ev = EventInput { features: &f, samples: &samples, onset_index: 1000, sample_rate: 16_000 };
        // Speech scores highest, but only the siren maps to a class.
        let mut t = Tagger::new(cfg.clone(), Fixed(vec![0.95, 0.6, 0.9])).unwrap();
        let c = t.classify(&ev).unwrap();
        assert_eq!((c.kind, c.fallback), (Kind::AudioSiren, false));
        assert!((c.confidence - 0.6).abs() < 1e-6, "{c:?}");
        assert_eq!(t.name(), "onnx:m");
        let mut low = Tagger::new(cfg.clone(), Fixed(vec![0.95, 0.1, 0.9])).unwrap();
        let c = low.classify(&ev).unwrap();
        assert!(c.fallback);
        assert_eq!(c.kind, Rules.decide(&f).kind);
        // A model whose outputs do not match the labels is an error, not a guess.
        let mut wrong = Tagger::new(cfg, Fixed(vec![0.5, 0.5])).unwrap();
        assert!(wrong.classify(&ev).is_err());
        let none = TaggerConfig::new("m.onnx".into(), vec!["Speech".into()]);
        assert!(Tagger::new(none, Fixed(vec![1.0])).is_err());
    }
}
