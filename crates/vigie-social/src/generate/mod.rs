//! `vigie social generate`: a realistic stream of French and English posts about the demo
//! city, with planted events and their ground truth, deterministic from a seed.
//!
//! - Background posts about the city follow a daily cycle (quiet at 4 am, busiest in the
//!   evening) with over-dispersion (a Gamma-distributed multiplier per 10 minutes) and name
//!   places the way people write them (official name, lower case, no accents, CamelCase
//!   hashtag, aliases). Some of them touch the watched topics (a bin fire, a late tram,
//!   "il paraît que…"), so that false bursts are possible and measured.
//! - Chatter with no place fills a firehose (for throughput).
//! - Noise: reshares, copy-paste campaigns (one long text by many accounts), `#nobot`
//!   posts, mentions, links, the odd very long post, and arrival jitter (out of order).
//! - Planted events: a fire at a named square, a tram breakdown at a stop, a rumour about
//!   a landmark, each rising to a peak rate and fading, with onset, place and district in
//!   the truth.
//!
//! Handles are synthetic (`heron_bleu_0042`) and drawn from a Zipf-like pool.

pub mod rng;
pub mod templates;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::gazetteer::{Gazetteer, PlaceKind};
use crate::post::Lang;
use rng::Rng;
use templates::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Fire,
    TramBreakdown,
    Rumour,
}

impl EventKind {
    /// The watch query (topic id of `demo/nantes/social.toml`) that should fire.
    pub fn topic(self) -> &'static str {
        match self {
            EventKind::Fire => "incendie",
            EventKind::TramBreakdown => "tram",
            EventKind::Rumour => "rumeur",
        }
    }
}

/// A planted event and its ground truth.
#[derive(Debug, Clone, Serialize)]
pub struct EventTruth {
    pub id: u32,
    pub kind: EventKind,
    pub topic: &'static str,
    pub onset: String,
    #[serde(skip)]
    pub onset_ms: i64,
    #[serde(skip)]
    pub end_ms: i64,
    /// Peak on-topic posts per minute.
    pub peak_per_min: f64,
    pub place_id: String,
    pub place: String,
    pub district: Option<String>,
    pub lon: f64,
    pub lat: f64,
}

/// What is true of one generated post.
#[derive(Debug, Clone, Default)]
pub struct PostTruth {
    pub lang: Lang,
    /// District of the place the text names (when the place has one).
    pub district: Option<u16>,
    pub event: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    pub seed: u64,
    pub start_ms: i64,
    pub duration_secs: u64,
    /// Mean background posts about the city per minute (over a day).
    pub city_per_min: f64,
    /// Mean chatter posts (no place) per minute.
    pub chatter_per_min: f64,
    /// Planted events (spread over the duration, at least 3 h apart).
    pub events: usize,
    /// Peak on-topic posts per minute of an event: drawn in this range.
    pub event_peak_per_min: (f64, f64),
    pub english_share: f64,
    pub reshare_share: f64,
    pub optout_share: f64,
    pub mention_share: f64,
    pub link_share: f64,
    /// Copy-paste campaigns per day.
    pub campaigns_per_day: f64,
    /// Arrival jitter, seconds (posts arrive slightly out of order).
    pub jitter_secs: f64,
    pub authors: usize,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            seed: 1,
            start_ms: 1_795_000_000_000,
            duration_secs: 86_400,
            city_per_min: 6.0,
            chatter_per_min: 0.0,
            events: 3,
            event_peak_per_min: (3.0, 12.0),
            english_share: 0.2,
            reshare_share: 0.06,
            optout_share: 0.01,
            mention_share: 0.1,
            link_share: 0.08,
            campaigns_per_day: 2.0,
            jitter_secs: 20.0,
            authors: 20_000,
        }
    }
}

/// Relative activity per hour of the day (mean 1).
const DIURNAL: [f64; 24] = [
    0.35, 0.22, 0.15, 0.12, 0.12, 0.2, 0.45, 0.9, 1.25, 1.2, 1.1, 1.15, 1.35, 1.3, 1.15, 1.1, 1.2, 1.45, 1.65, 1.75,
    1.7, 1.5, 1.1, 0.7,
];

/// Minutes before the first planted event (the detectors' warm-up is two hours).
const LEAD_IN_MIN: u64 = 180;

struct PlaceChoice {
    index: u16,
    forms: Vec<String>,
}

/// The stream, minute by minute.
pub struct Generator {
    cfg: GeneratorConfig,
    rng: Rng,
    gazetteer: Gazetteer,
    places: Vec<PlaceChoice>,
    squares: Vec<usize>,
    stops: Vec<usize>,
    landmarks: Vec<usize>,
    pub events: Vec<EventTruth>,
    event_places: Vec<usize>,
    minute: u64,
    minutes: u64,
    block_factor: f64,
    serial: u64,
    recent_texts: Vec<String>,
    campaign: Option<(String, u32)>,
}

#[derive(Serialize)]
struct Out<'a> {
    id: String,
    time: String,
    text: &'a str,
    author: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reshare_of: Option<String>,
}

fn fold_accents(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'É' => 'E',
            'Î' => 'I',
            c => c,
        })
        .collect()
}

fn camel_hashtag(s: &str) -> String {
    let mut out = String::from("#");
    for w in s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let mut cs = w.chars();
        if let Some(f) = cs.next() {
            out.extend(f.to_uppercase());
            out.push_str(cs.as_str());
        }
    }
    out
}

impl Generator {
    pub fn new(cfg: GeneratorConfig, gazetteer: Gazetteer) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let mut places = Vec::new();
        let (mut squares, mut stops, mut landmarks) = (Vec::new(), Vec::new(), Vec::new());
        for (i, p) in gazetteer.places.iter().enumerate() {
            if matches!(p.kind, PlaceKind::District | PlaceKind::TramLine | PlaceKind::Area) {
                continue;
            }
            let mut forms = vec![p.name.clone(), p.name.to_lowercase(), fold_accents(&p.name), camel_hashtag(&p.name)];
            // Aliases people write (not those that need a context word).
            let own = crate::text::normalize(&p.name).text;
            for a in gazetteer.aliases.iter().filter(|a| a.place as usize == i && !a.needs_context && a.form != own) {
                forms.push(a.form.clone());
            }
            if gazetteer.aliases.iter().any(|a| a.place as usize == i && a.needs_context) {
                // Its own name is a common word: write it as a stop ("arrêt X").
                forms = vec![format!("l'arrêt {}", p.name), format!("station {}", p.name)];
            }
            match p.kind {
                PlaceKind::Square => squares.push(places.len()),
                PlaceKind::TramStop => stops.push(places.len()),
                PlaceKind::Landmark => landmarks.push(places.len()),
                _ => {}
            }
            places.push(PlaceChoice { index: i as u16, forms });
        }
        let minutes = cfg.duration_secs / 60;
        let mut events = Vec::new();
        let mut event_places = Vec::new();
        if cfg.events > 0 && minutes > 0 && !squares.is_empty() {
            // Events start after a lead-in, so that the detectors have a baseline.
            let lead = LEAD_IN_MIN.min(minutes / 4);
            let slot = (minutes - lead) / cfg.events as u64;
            for e in 0..cfg.events {
                let kind = [EventKind::Fire, EventKind::TramBreakdown, EventKind::Rumour][e % 3];
                let pool = match kind {
                    EventKind::Fire => &squares,
                    EventKind::TramBreakdown if !stops.is_empty() => &stops,
                    EventKind::Rumour if !landmarks.is_empty() => &landmarks,
                    _ => &squares,
                };
                let pi = *rng.pick(pool);
                // Onset somewhere in the middle of its slot, leaving room before and after.
                let lo = lead + e as u64 * slot + slot / 6;
                let hi = (lead + e as u64 * slot + slot * 2 / 3).max(lo + 1);
                let onset_min = lo + rng.below((hi - lo) as usize) as u64;
                let duration_min = rng.range(25.0, 60.0);
                let onset_ms = cfg.start_ms + onset_min as i64 * 60_000 + rng.below(60_000) as i64;
                let p = &gazetteer.places[places[pi].index as usize];
                events.push(EventTruth {
                    id: e as u32,
                    kind,
                    topic: kind.topic(),
                    onset: DateTime::<Utc>::from_timestamp_millis(onset_ms)
                        .unwrap_or_default()
                        .to_rfc3339_opts(SecondsFormat::Millis, true),
                    onset_ms,
                    end_ms: onset_ms + (duration_min * 60_000.0) as i64,
                    peak_per_min: rng.range(cfg.event_peak_per_min.0, cfg.event_peak_per_min.1),
                    place_id: p.id.clone(),
                    place: p.name.clone(),
                    district: p.district.map(|d| gazetteer.districts[d as usize].id.clone()),
                    lon: p.lon,
                    lat: p.lat,
                });
                event_places.push(pi);
            }
        }
        Generator {
            cfg,
            rng,
            gazetteer,
            places,
            squares,
            stops,
            landmarks,
            events,
            event_places,
            minute: 0,
            minutes,
            block_factor: 1.0,
            serial: 0,
            recent_texts: Vec::new(),
            campaign: None,
        }
    }

    pub fn gazetteer(&self) -> &Gazetteer {
        &self.gazetteer
    }

    pub fn done(&self) -> bool {
        self.minute >= self.minutes
    }

    fn handle(&mut self) -> String {
        // Zipf-like: a few accounts post a lot.
        let u = self.rng.f64();
        let n = ((self.cfg.authors.max(1) as f64).powf(u) as usize).saturating_sub(1);
        let a = HANDLE_A[n % HANDLE_A.len()];
        let b = HANDLE_B[(n / HANDLE_A.len()) % HANDLE_B.len()];
        format!("{b}_{a}_{n:04}")
    }

    /// Fills a template; returns the text and the district of the place it names.
    fn fill(&mut self, template: &str, place: Option<usize>) -> (String, Option<u16>) {
        let mut district = None;
        let mut text = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(i) = rest.find('{') {
            text.push_str(&rest[..i]);
            let slot = &rest[i..(i + 3).min(rest.len())];
            rest = &rest[(i + 3).min(rest.len())..];
            match slot {
                "{P}" => {
                    let pi = place.unwrap_or_else(|| self.rng.below(self.places.len()));
                    let pc = &self.places[pi];
                    let form = pc.forms[self.rng.below(pc.forms.len())].clone();
                    district = self.gazetteer.places[pc.index as usize].district;
                    text.push_str(&form);
                }
                "{S}" => {
                    let pi = match place {
                        Some(p) if self.stops.contains(&p) => p,
                        _ => *self.rng.pick(&self.stops),
                    };
                    let idx = self.places[pi].index as usize;
                    let name = self.gazetteer.places[idx].name.clone();
                    district = self.gazetteer.places[idx].district;
                    text.push_str(&if self.rng.chance(0.3) { name.to_lowercase() } else { name });
                }
                "{L}" => text.push_str(["1", "2", "3"][self.rng.below(3)]),
                "{H}" => {
                    let h = 8 + self.rng.below(14);
                    text.push_str(&format!("{h}h"));
                }
                _ => text.push_str(slot),
            }
        }
        text.push_str(rest);
        (text, district)
    }

    fn emit(&mut self, out: &mut Vec<u8>, truths: &mut Vec<PostTruth>, t_ms: i64, text: String, truth: PostTruth) {
        self.serial += 1;
        let mut text = text;
        let mut reshare_of = None;
        if self.rng.chance(self.cfg.reshare_share) && !self.recent_texts.is_empty() {
            let orig = self.recent_texts[self.rng.below(self.recent_texts.len())].clone();
            if self.rng.chance(0.5) {
                text = format!("RT @{}: {orig}", self.handle());
            } else {
                text = orig;
                reshare_of = Some(format!("g-{}", self.serial.saturating_sub(1 + self.rng.below(50) as u64)));
            }
        } else {
            if self.rng.chance(self.cfg.mention_share) {
                text = format!("@{} {text}", self.handle());
            }
            if self.rng.chance(self.cfg.link_share) {
                text.push_str(&format!(" https://example.org/p/{}", self.rng.below(100_000)));
            }
            if self.rng.chance(self.cfg.optout_share) {
                text.push_str(" #nobot");
            }
            if self.rng.chance(0.0005) {
                text = format!("{text} {}", "bla ".repeat(900));
            }
            if self.recent_texts.len() < 256 {
                self.recent_texts.push(text.clone());
            } else {
                let i = self.rng.below(256);
                self.recent_texts[i] = text.clone();
            }
        }
        let o = Out {
            id: format!("g-{}", self.serial),
            time: DateTime::<Utc>::from_timestamp_millis(t_ms)
                .unwrap_or_default()
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            text: &text,
            author: self.handle(),
            reshare_of,
        };
        if serde_json::to_writer(&mut *out, &o).is_ok() {
            out.push(b'\n');
            truths.push(truth);
        }
    }

    /// Appends the next minute's posts (NDJSON) and their truths; false when done.
    pub fn next_minute(&mut self, out: &mut Vec<u8>, truths: &mut Vec<PostTruth>) -> bool {
        if self.done() {
            return false;
        }
        let m = self.minute;
        self.minute += 1;
        let t0 = self.cfg.start_ms + m as i64 * 60_000;
        if m.is_multiple_of(10) {
            self.block_factor = self.rng.gamma(8.0) / 8.0;
        }
        let hour = ((t0.div_euclid(3_600_000)) % 24) as usize;
        let mut posts: Vec<(i64, String, PostTruth)> = Vec::new();
        let jitter = |rng: &mut Rng, j: f64| (rng.normal() * j * 1000.0) as i64;
        // Background about the city.
        let n = self.rng.poisson(self.cfg.city_per_min * DIURNAL[hour] * self.block_factor);
        for _ in 0..n {
            let en = self.rng.chance(self.cfg.english_share);
            let tpl = if en { *self.rng.pick(CITY_EN) } else { *self.rng.pick(CITY_FR) };
            let (text, district) = self.fill(tpl, None);
            let t = t0 + self.rng.below(60_000) as i64 + jitter(&mut self.rng, self.cfg.jitter_secs);
            posts.push((t, text, PostTruth { lang: if en { Lang::En } else { Lang::Fr }, district, event: None }));
        }
        // Chatter.
        let n = self.rng.poisson(self.cfg.chatter_per_min * DIURNAL[hour]);
        for _ in 0..n {
            let en = self.rng.chance(0.4);
            let text = if en { *self.rng.pick(CHATTER_EN) } else { *self.rng.pick(CHATTER_FR) };
            let t = t0 + self.rng.below(60_000) as i64;
            posts.push((
                t,
                text.to_owned(),
                PostTruth { lang: if en { Lang::En } else { Lang::Fr }, ..PostTruth::default() },
            ));
        }
        // A copy-paste campaign: one long text, many accounts, over a few minutes.
        if self.campaign.is_none() && self.rng.chance(self.cfg.campaigns_per_day / 1440.0) {
            let pi = self.rng.below(self.places.len());
            let (text, _) = self.fill(
                "Signez la pétition pour sauver {P} : partagez au maximum, c'est très important pour tout le quartier",
                Some(pi),
            );
            self.campaign = Some((text, 40));
        }
        if let Some((text, left)) = self.campaign.take() {
            let k = left.min(8);
            for _ in 0..k {
                let t = t0 + self.rng.below(60_000) as i64;
                posts.push((t, text.clone(), PostTruth { lang: Lang::Fr, ..PostTruth::default() }));
            }
            if left > k {
                self.campaign = Some((text, left - k));
            }
        }
        // Planted events.
        for e in 0..self.events.len() {
            let ev = &self.events[e];
            if t0 + 60_000 <= ev.onset_ms || t0 >= ev.end_ms + 30 * 60_000 {
                continue;
            }
            let (onset, end, peak, kind, id) = (ev.onset_ms, ev.end_ms, ev.peak_per_min, ev.kind, ev.id);
            let place = self.event_places[e];
            let k = self.rng.poisson(peak);
            for _ in 0..k {
                let t = t0 + self.rng.below(60_000) as i64;
                if t < onset {
                    continue;
                }
                // Rise over 5 minutes, plateau, fade over 20 minutes after the end.
                let since = (t - onset) as f64 / 60_000.0;
                let level =
                    if t < end { (0.25 + since / 5.0).min(1.0) } else { (-(t - end) as f64 / 60_000.0 / 8.0).exp() };
                if !self.rng.chance(level) {
                    continue;
                }
                let en = self.rng.chance(self.cfg.english_share);
                let tpl = match (kind, en) {
                    (EventKind::Fire, false) => *self.rng.pick(FIRE_FR),
                    (EventKind::Fire, true) => *self.rng.pick(FIRE_EN),
                    (EventKind::TramBreakdown, false) => *self.rng.pick(TRAM_FR),
                    (EventKind::TramBreakdown, true) => *self.rng.pick(TRAM_EN),
                    (EventKind::Rumour, false) => *self.rng.pick(RUMOUR_FR),
                    (EventKind::Rumour, true) => *self.rng.pick(RUMOUR_EN),
                };
                let (text, district) = self.fill(tpl, Some(place));
                posts.push((
                    t,
                    text,
                    PostTruth { lang: if en { Lang::En } else { Lang::Fr }, district, event: Some(id) },
                ));
            }
        }
        posts.sort_by_key(|p| p.0);
        for (t, text, truth) in posts {
            self.emit(out, truths, t, text, truth);
        }
        true
    }

    /// The whole stream at once.
    pub fn run_all(&mut self) -> (Vec<u8>, Vec<PostTruth>) {
        let mut out = Vec::new();
        let mut truths = Vec::new();
        while self.next_minute(&mut out, &mut truths) {}
        (out, truths)
    }

    /// Ground truth as JSON (the events).
    pub fn truth_json(&self) -> String {
        serde_json::to_string_pretty(&serde_json::json!({
            "seed": self.cfg.seed,
            "start": DateTime::<Utc>::from_timestamp_millis(self.cfg.start_ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true),
            "duration_secs": self.cfg.duration_secs,
            "events": self.events,
        }))
        .unwrap_or_default()
    }

    /// (squares, tram stops, landmarks) available for events.
    pub fn pools(&self) -> (usize, usize, usize) {
        (self.squares.len(), self.stops.len(), self.landmarks.len())
    }
}
