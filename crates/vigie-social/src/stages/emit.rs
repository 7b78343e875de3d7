//! Stage `emit`: an [`Alert`] becomes a contract-v1 detection, `social.burst` or
//! `social.negative_buzz`.
//!
//! The attributes are a fixed struct ([`BurstAttributes`]): counts, the detectors'
//! figures, top terms and at most three redacted excerpts. Nothing in it can name an
//! author: excerpts carry a source only when it is an allowlisted organisation, and the
//! distinct-author count is a number for the whole burst.
//!
//! Where: a place's point and uncertainty; a district's centre and radius; for a topic,
//! the place most of its recent posts name (uncertainty: at least the median distance of
//! the other located posts to it), else the covered area's centre and radius.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use vigie_model::geo::haversine_m;
use vigie_model::{Detection, DetectionId, Kind, Location, SensorId};

use super::burst::{Alert, Scope, Series};
use super::lang::LangDetector;
use crate::gazetteer::Gazetteer;
use crate::post::Lang;
use crate::privacy::Allowlist;
use crate::stages::matcher::QuerySet;
use crate::text::normalize;

/// Longest excerpt, characters.
pub const EXCERPT_CHARS: usize = 240;
pub const MAX_EXCERPTS: usize = 3;
pub const MAX_TOP_TERMS: usize = 8;

#[derive(Debug, Serialize)]
pub struct PlaceRef<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub kind: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Detectors {
    pub kleinberg_bursting: bool,
    /// Cost gap between the automaton's states, in entry costs.
    pub kleinberg_strength: f64,
    pub sigma_alarm: bool,
    pub sigma_z: f64,
    /// Posts in the σ detector's window.
    pub sigma_window_count: u32,
    pub sigma_window_mean: f64,
    pub policy: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Excerpt {
    pub time: String,
    pub lang: &'static str,
    pub text: String,
    /// The allowlisted organisation that published it; absent for everyone else.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Languages {
    pub fr: u32,
    pub en: u32,
    pub und: u32,
}

/// What a social detection carries in `attributes`.
#[derive(Debug, Serialize)]
pub struct BurstAttributes<'a> {
    /// `topic`, `place` or `district`.
    pub scope: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<PlaceRef<'a>>,
    /// Id of the district the event is in, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district: Option<&'a str>,
    /// `all` (social.burst) or `negative` (social.negative_buzz).
    pub series: &'static str,
    pub onset: String,
    pub alerted_at: String,
    pub bin_secs: u32,
    pub count_bin: u32,
    pub count_episode: u32,
    pub scope_posts_episode: u32,
    pub expected_per_bin: f64,
    pub distinct_authors: usize,
    pub negative_share: f64,
    /// Share of the recent posts that named a place.
    pub located_share: f64,
    pub languages: Languages,
    pub detectors: Detectors,
    pub top_terms: Vec<String>,
    pub excerpts: Vec<Excerpt>,
}

fn stamp(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn excerpt_text(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(EXCERPT_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// 0.5 at the detection threshold, towards 1 as the evidence grows.
fn confidence(a: &Alert, sigma_k: f64) -> f64 {
    let mut c: f64 = 0.5;
    if a.kleinberg.bursting {
        c = c.max(1.0 - 0.5 * (-a.kleinberg.strength.max(0.0)).exp());
    }
    if a.sigma.alarm {
        c = c.max(1.0 - 0.5 * (-(a.sigma.z / sigma_k - 1.0).max(0.0)).exp());
    }
    (c * 1000.0).round() / 1000.0
}

/// Builds detections from alerts.
pub struct Emitter {
    pub sensor: SensorId,
    pub sigma_k: f64,
    pub policy: &'static str,
}

pub struct EmitContext<'a> {
    pub gazetteer: &'a Gazetteer,
    pub queries: &'a QuerySet,
    pub allowlist: &'a Allowlist,
    pub lang: &'a LangDetector,
}

impl Emitter {
    pub fn detection(&self, a: &Alert, cx: &EmitContext<'_>) -> Detection {
        let g = cx.gazetteer;
        let (scope, topic, place, district_idx) = match a.scope {
            Scope::Topic(t) => ("topic", cx.queries.topics().get(t as usize).map(|t| t.id.as_str()), None, None),
            Scope::Place(p) => {
                let pl = &g.places[p as usize];
                ("place", None, Some(p), pl.district)
            }
            Scope::District(d) => ("district", None, None, Some(d)),
        };
        let (lon, lat, unc, located_share, topic_district) = self.location(a, g);
        let district_idx = district_idx.or(topic_district);
        let mut languages = Languages::default();
        for r in &a.recent {
            match r.lang {
                Lang::Fr => languages.fr += 1,
                Lang::En => languages.en += 1,
                Lang::Und => languages.und += 1,
            }
        }
        let place_ref = place.map(|p| {
            let pl = &g.places[p as usize];
            PlaceRef { id: &pl.id, name: &pl.name, kind: pl.kind.as_str() }
        });
        let district_ref = match a.scope {
            Scope::District(d) => {
                let dd = &g.districts[d as usize];
                Some(PlaceRef { id: &dd.id, name: &dd.name, kind: "district" })
            }
            _ => None,
        };
        let mut excerpts: Vec<Excerpt> = Vec::new();
        for r in a.recent.iter().rev() {
            if excerpts.len() == MAX_EXCERPTS {
                break;
            }
            let text = excerpt_text(&r.text);
            // Copies that differ only by a link or a mention are one excerpt.
            let key = normalize(&text).text;
            if excerpts.iter().any(|e| normalize(&e.text).text == key) {
                continue;
            }
            excerpts.push(Excerpt {
                time: stamp(r.time_ms),
                lang: r.lang.as_str(),
                text,
                source: r.organisation.and_then(|o| cx.allowlist.name(o)).map(str::to_owned),
            });
        }
        excerpts.reverse();
        let attrs = BurstAttributes {
            scope,
            topic,
            place: place_ref.or(district_ref),
            district: district_idx.map(|d| g.districts[d as usize].id.as_str()),
            series: match a.series {
                Series::All => "all",
                Series::Negative => "negative",
            },
            onset: stamp(a.onset_ms),
            alerted_at: stamp(a.alerted_ms),
            bin_secs: a.bin_secs,
            count_bin: a.count_bin,
            count_episode: a.count_episode,
            scope_posts_episode: a.scope_count_episode,
            expected_per_bin: (a.expected_per_bin * 1000.0).round() / 1000.0,
            distinct_authors: a.distinct_authors,
            negative_share: (a.negative_share * 1000.0).round() / 1000.0,
            located_share: (located_share * 1000.0).round() / 1000.0,
            languages,
            detectors: Detectors {
                kleinberg_bursting: a.kleinberg.bursting,
                kleinberg_strength: (a.kleinberg.strength * 1000.0).round() / 1000.0,
                sigma_alarm: a.sigma.alarm,
                sigma_z: (a.sigma.z * 100.0).round() / 100.0,
                sigma_window_count: a.sigma.count,
                sigma_window_mean: (a.sigma.mean * 1000.0).round() / 1000.0,
                policy: self.policy,
            },
            top_terms: top_terms(a, cx.lang),
            excerpts,
        };
        Detection {
            id: DetectionId::generate(),
            sensor: self.sensor.clone(),
            kind: match a.series {
                Series::All => Kind::SocialBurst,
                Series::Negative => Kind::SocialNegativeBuzz,
            },
            time: DateTime::<Utc>::from_timestamp_millis(a.onset_ms).unwrap_or_default(),
            location: Location {
                lon,
                lat,
                uncertainty_m: Some(unc.clamp(1.0, vigie_model::detection::MAX_UNCERTAINTY_M)),
            },
            confidence: confidence(a, self.sigma_k),
            attributes: raw_json(&attrs),
            evidence: Vec::new(),
        }
    }

    /// (lon, lat, uncertainty, located share, district of the topic's place).
    fn location(&self, a: &Alert, g: &Gazetteer) -> (f64, f64, f64, f64, Option<u16>) {
        let located: Vec<u16> = a.recent.iter().filter_map(|r| r.place).collect();
        let share = if a.recent.is_empty() { 0.0 } else { located.len() as f64 / a.recent.len() as f64 };
        match a.scope {
            Scope::Place(p) => {
                let pl = &g.places[p as usize];
                (pl.lon, pl.lat, pl.uncertainty_m, share, pl.district)
            }
            Scope::District(d) => {
                let dd = &g.districts[d as usize];
                (dd.lon, dd.lat, dd.radius_m, share, Some(d))
            }
            Scope::Topic(_) => {
                let mut counts: Vec<(u16, usize)> = Vec::new();
                for &p in &located {
                    match counts.iter_mut().find(|(q, _)| *q == p) {
                        Some(c) => c.1 += 1,
                        None => counts.push((p, 1)),
                    }
                }
                let Some(&(modal, _)) = counts.iter().max_by_key(|(p, n)| (*n, std::cmp::Reverse(*p))) else {
                    let (lon, lat, r) = g.centre;
                    return (lon, lat, r, share, None);
                };
                let m = &g.places[modal as usize];
                let mut d: Vec<f64> = located
                    .iter()
                    .filter(|&&p| p != modal)
                    .map(|&p| haversine_m(m.lon, m.lat, g.places[p as usize].lon, g.places[p as usize].lat))
                    .collect();
                d.sort_by(f64::total_cmp);
                let spread =
                    if d.len() * 2 >= located.len() { d.get(d.len() / 2).copied().unwrap_or(0.0) } else { 0.0 };
                (m.lon, m.lat, m.uncertainty_m.max(spread), share, m.district)
            }
        }
    }
}

fn top_terms(a: &Alert, lang: &LangDetector) -> Vec<String> {
    let mut counts: Vec<(String, u32)> = Vec::new();
    for r in &a.recent {
        let n = normalize(&r.text);
        let mut seen: Vec<u64> = Vec::new();
        for (i, t) in n.tokens.iter().enumerate() {
            let w = n.word(i);
            if w.chars().count() < 3 || w.chars().all(|c| c.is_ascii_digit()) || lang.is_function_word(t.hash) {
                continue;
            }
            if seen.contains(&t.hash) {
                continue; // count documents, not repetitions
            }
            seen.push(t.hash);
            match counts.iter_mut().find(|(x, _)| x == w) {
                Some(c) => c.1 += 1,
                None => counts.push((w.to_owned(), 1)),
            }
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts.into_iter().filter(|(_, n)| *n >= 2).take(MAX_TOP_TERMS).map(|(w, _)| w).collect()
}

/// Serialises attributes (these plain structs always serialise; NaN would become null).
pub fn raw_json<T: Serialize>(v: &T) -> Box<serde_json::value::RawValue> {
    let text = serde_json::to_string(v).unwrap_or_else(|_| "{}".to_owned());
    serde_json::value::RawValue::from_string(text)
        .unwrap_or_else(|_| serde_json::value::RawValue::from_string("{}".to_owned()).expect("literal json"))
}
