//! Evaluation on the labelled sets kept in `data/`: sentiment macro-F1 (per split and
//! language), language accuracy, and geoparsing district accuracy. `vigie bench social`
//! reports these; tests hold them above floors.

use serde::Serialize;

use crate::post::Lang;
use crate::stages::geoparse::Geoparser;
use crate::stages::lang::LangDetector;
use crate::stages::sentiment::{Polarity, SentimentScorer};
use crate::text::normalize;

pub const SENTIMENT_LABELLED: &str = include_str!("../data/sentiment-labelled.tsv");
pub const GEOPARSE_LABELLED: &str = include_str!("../data/geoparse-labelled.tsv");

/// One labelled post of the sentiment set.
#[derive(Debug, Clone)]
pub struct Labelled<'a> {
    pub split: &'a str,
    pub lang: Lang,
    pub label: Polarity,
    pub text: &'a str,
}

pub fn sentiment_set() -> Vec<Labelled<'static>> {
    SENTIMENT_LABELLED
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut it = l.splitn(4, '\t');
            let (split, lang, label, text) = (it.next()?, it.next()?, it.next()?, it.next()?);
            Some(Labelled { split, lang: Lang::from_tag(lang)?, label: Polarity::parse(label)?, text })
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct SentimentReport {
    pub posts: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// F1 of negative, neutral, positive.
    pub f1: [f64; 3],
}

fn idx(p: Polarity) -> usize {
    match p {
        Polarity::Negative => 0,
        Polarity::Neutral => 1,
        Polarity::Positive => 2,
    }
}

/// Scores the posts of `split` (and of `lang`, if given) with the detected language.
pub fn sentiment(
    scorer: &SentimentScorer,
    detector: &LangDetector,
    split: &str,
    lang: Option<Lang>,
) -> SentimentReport {
    let mut confusion = [[0usize; 3]; 3];
    for p in sentiment_set().iter().filter(|p| p.split == split && lang.is_none_or(|l| l == p.lang)) {
        let n = normalize(p.text);
        let detected = detector.detect(&n, None);
        let got = scorer.classify(scorer.score(&n, detected));
        confusion[idx(p.label)][idx(got)] += 1;
    }
    let total: usize = confusion.iter().flatten().sum();
    let correct: usize = (0..3).map(|i| confusion[i][i]).sum();
    let mut f1 = [0.0; 3];
    for (c, f) in f1.iter_mut().enumerate() {
        let tp = confusion[c][c] as f64;
        let predicted: usize = (0..3).map(|r| confusion[r][c]).sum();
        let actual: usize = confusion[c].iter().sum();
        let (p, r) = (tp / predicted.max(1) as f64, tp / actual.max(1) as f64);
        *f = if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
    }
    SentimentReport {
        posts: total,
        accuracy: correct as f64 / total.max(1) as f64,
        macro_f1: f1.iter().sum::<f64>() / 3.0,
        f1,
    }
}

/// Share of the sentiment set's posts whose language is detected right.
pub fn language_accuracy(detector: &LangDetector) -> f64 {
    let set = sentiment_set();
    let ok = set.iter().filter(|p| detector.detect(&normalize(p.text), None) == p.lang).count();
    ok as f64 / set.len().max(1) as f64
}

#[derive(Debug, Clone, Serialize)]
pub struct GeoparseReport {
    pub posts: usize,
    /// Posts whose resolved district (or "none") is the labelled one.
    pub district_accuracy: f64,
    /// Among posts labelled with a district: share resolved to it.
    pub recall: f64,
    /// Among posts resolved to a district: share right.
    pub precision: f64,
    pub errors: Vec<String>,
}

pub fn geoparse(geo: &Geoparser) -> GeoparseReport {
    let g = geo.gazetteer();
    let (mut n, mut ok, mut labelled, mut found, mut resolved, mut right) = (0, 0, 0, 0, 0, 0);
    let mut errors = Vec::new();
    for line in GEOPARSE_LABELLED.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let Some((want, text)) = line.split_once('\t') else { continue };
        let w = geo.resolve(&normalize(text));
        let got = w
            .best
            .and_then(|b| g.places[b as usize].district)
            .map(|d| g.districts[d as usize].id.as_str())
            .unwrap_or("none");
        n += 1;
        if got == want {
            ok += 1;
        } else {
            errors.push(format!("{want} ≠ {got}: {text}"));
        }
        if want != "none" {
            labelled += 1;
            found += usize::from(got == want);
        }
        if got != "none" {
            resolved += 1;
            right += usize::from(got == want);
        }
    }
    GeoparseReport {
        posts: n,
        district_accuracy: ok as f64 / n.max(1) as f64,
        recall: found as f64 / labelled.max(1) as f64,
        precision: right as f64 / resolved.max(1) as f64,
        errors,
    }
}
