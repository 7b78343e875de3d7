//! Stage `burst`: per topic, per place and per district, counts per time bin of all posts
//! and of negative posts, each watched by Kleinberg's automaton and by a mean + k·σ
//! baseline side by side. A series that starts bursting opens an *episode*; its first
//! alert becomes a `social.burst` (all posts) or `social.negative_buzz` (negative posts)
//! detection in [`super::emit`].
//!
//! Time is the posts' own (event time), so replays and tests need no clock. A bin closes
//! when the newest post seen is `allowed_lateness` past its end; a later post for a
//! closed bin is counted as late and left out of the counts.
//!
//! Guards against false bursts: a warm-up before any alert, a minimum of distinct authors
//! (counted from pseudonyms, over the episode only: a burst made by one account is not a
//! burst), and for negative buzz a minimum share of negative posts.

pub mod kleinberg;
pub mod sigma;

use std::collections::VecDeque;
use std::sync::Arc;

use kleinberg::{Kleinberg, KleinbergConfig, KleinbergStep};
use sigma::{Sigma, SigmaConfig, SigmaStep};

use crate::post::{Lang, OrgId, Pseudonym};
use crate::stages::sentiment::Polarity;

/// What a series is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A watch query (index into the query set).
    Topic(u16),
    /// A gazetteer place (not a district).
    Place(u16),
    /// A gazetteer district.
    District(u16),
}

/// Which posts of a scope a series counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Series {
    All,
    Negative,
}

/// Which detectors must agree for an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    Kleinberg,
    Sigma,
    Either,
    Both,
}

impl Policy {
    pub fn parse(s: &str) -> Option<Policy> {
        Some(match s {
            "kleinberg" => Policy::Kleinberg,
            "sigma" => Policy::Sigma,
            "either" => Policy::Either,
            "both" => Policy::Both,
            _ => return None,
        })
    }

    fn fires(self, k: bool, s: bool) -> bool {
        match self {
            Policy::Kleinberg => k,
            Policy::Sigma => s,
            Policy::Either => k || s,
            Policy::Both => k && s,
        }
    }
}

#[derive(Debug, Clone)]
pub struct BurstConfig {
    pub bin_secs: u32,
    pub allowed_lateness_secs: u32,
    pub kleinberg: KleinbergConfig,
    pub sigma: SigmaConfig,
    pub policy: Policy,
    /// Bins of history before any alert.
    pub warmup_bins: u32,
    /// Bins without either detector firing that end an episode.
    pub cooldown_bins: u32,
    pub min_distinct_authors: usize,
    /// Negative buzz: least share of negative posts among the scope's posts of the episode.
    pub min_negative_share: f64,
    /// Empty bins stepped through at most after a gap in the stream; a longer gap skips
    /// ahead (the baselines are kept).
    pub max_catchup_bins: u32,
}

impl Default for BurstConfig {
    fn default() -> Self {
        BurstConfig {
            bin_secs: 60,
            allowed_lateness_secs: 60,
            kleinberg: KleinbergConfig::default(),
            sigma: SigmaConfig::default(),
            policy: Policy::Kleinberg,
            warmup_bins: 120,
            cooldown_bins: 30,
            min_distinct_authors: 3,
            min_negative_share: 0.5,
            max_catchup_bins: 2 * 1440,
        }
    }
}

/// What the tracker keeps of a recent post of a scope (for excerpts, top terms, place).
#[derive(Debug, Clone)]
pub struct Recent {
    pub time_ms: i64,
    /// The redacted text.
    pub text: Arc<str>,
    pub lang: Lang,
    pub polarity: Polarity,
    pub author: Pseudonym,
    pub organisation: Option<OrgId>,
    /// The most precise place the post names.
    pub place: Option<u16>,
}

/// One post as the tracker sees it.
#[derive(Debug, Clone)]
pub struct Observation<'a> {
    pub time_ms: i64,
    pub scopes: &'a [Scope],
    pub negative: bool,
    pub recent: Option<Recent>,
}

/// A series that began bursting.
#[derive(Debug, Clone)]
pub struct Alert {
    pub scope: Scope,
    pub series: Series,
    /// Start of the burst (the detectors' estimate), ms.
    pub onset_ms: i64,
    /// End of the bin whose closing raised the alert, ms (stream time of the alert).
    pub alerted_ms: i64,
    pub bin_secs: u32,
    /// Posts of the series in the alerting bin.
    pub count_bin: u32,
    /// Posts of the series since the onset.
    pub count_episode: u32,
    /// Posts of the scope (all) since the onset.
    pub scope_count_episode: u32,
    /// Expected posts of the series per bin before the burst.
    pub expected_per_bin: f64,
    pub kleinberg: KleinbergStep,
    pub sigma: SigmaStep,
    pub distinct_authors: usize,
    pub negative_share: f64,
    /// Recent posts of the scope since the onset, newest last (at most 64).
    pub recent: Vec<Recent>,
}

#[derive(Debug, Clone, Default)]
struct Episode {
    start_bin: i64,
    count: u32,
    scope_count: u32,
    alerted: bool,
    quiet_bins: u32,
}

#[derive(Debug, Clone, Default)]
struct SeriesState {
    counts: Vec<u32>,
    kleinberg: Kleinberg,
    sigma: Sigma,
    episode: Option<Episode>,
}

const RECENT_PER_SCOPE: usize = 64;

pub struct BurstTracker {
    cfg: BurstConfig,
    bin_ms: i64,
    slots: usize,
    scopes: Vec<Scope>,
    /// series[2·i] = All, series[2·i + 1] = Negative, for scope index i.
    series: Vec<SeriesState>,
    recent: Vec<VecDeque<Recent>>,
    totals: Vec<u32>,
    /// Oldest open bin; `None` before the first post.
    open_from: Option<i64>,
    newest_ms: i64,
    pub late_posts: u64,
    pub skipped_gaps: u64,
    n_topics: usize,
    n_places: usize,
}

impl BurstTracker {
    /// A tracker for `topics` topics, `places` places and `districts` districts.
    pub fn new(cfg: BurstConfig, topics: usize, places: usize, districts: usize) -> Self {
        let bin_ms = i64::from(cfg.bin_secs.max(1)) * 1000;
        let slots = (i64::from(cfg.allowed_lateness_secs) * 1000 / bin_ms) as usize + 2;
        let mut scopes = Vec::with_capacity(topics + places + districts);
        scopes.extend((0..topics).map(|i| Scope::Topic(i as u16)));
        scopes.extend((0..places).map(|i| Scope::Place(i as u16)));
        scopes.extend((0..districts).map(|i| Scope::District(i as u16)));
        let series = vec![SeriesState { counts: vec![0; slots], ..SeriesState::default() }; 2 * scopes.len()];
        BurstTracker {
            recent: vec![VecDeque::new(); scopes.len()],
            cfg,
            bin_ms,
            slots,
            scopes,
            series,
            totals: vec![0; slots],
            open_from: None,
            newest_ms: i64::MIN,
            late_posts: 0,
            skipped_gaps: 0,
            n_topics: topics,
            n_places: places,
        }
    }

    pub fn config(&self) -> &BurstConfig {
        &self.cfg
    }

    fn scope_index(&self, s: Scope) -> Option<usize> {
        let i = match s {
            Scope::Topic(t) => t as usize,
            Scope::Place(p) => self.n_topics + p as usize,
            Scope::District(d) => self.n_topics + self.n_places + d as usize,
        };
        (i < self.scopes.len()).then_some(i)
    }

    fn bin_of(&self, ms: i64) -> i64 {
        ms.div_euclid(self.bin_ms)
    }

    /// Counts one post; returns the alerts of the bins its time closed.
    pub fn observe(&mut self, obs: Observation<'_>, alerts: &mut Vec<Alert>) {
        let bin = self.bin_of(obs.time_ms);
        let open_from = *self.open_from.get_or_insert(bin);
        if bin < open_from {
            self.late_posts += 1;
            return;
        }
        if obs.time_ms > self.newest_ms {
            self.newest_ms = obs.time_ms;
            self.advance(alerts);
        }
        // After a skip ahead the post may still be behind the open bins.
        let open_from = self.open_from.unwrap_or(bin);
        if bin < open_from {
            self.late_posts += 1;
            return;
        }
        let slot = bin.rem_euclid(self.slots as i64) as usize;
        self.totals[slot] += 1;
        for &s in obs.scopes {
            let Some(i) = self.scope_index(s) else { continue };
            self.series[2 * i].counts[slot] += 1;
            if obs.negative {
                self.series[2 * i + 1].counts[slot] += 1;
            }
            if let Some(r) = &obs.recent {
                let q = &mut self.recent[i];
                if q.len() == RECENT_PER_SCOPE {
                    q.pop_front();
                }
                q.push_back(r.clone());
            }
        }
    }

    /// Closes every bin the watermark has passed.
    fn advance(&mut self, alerts: &mut Vec<Alert>) {
        let Some(mut from) = self.open_from else { return };
        let watermark = self.newest_ms - i64::from(self.cfg.allowed_lateness_secs) * 1000;
        let closable = self.bin_of(watermark) - from; // bins whose end ≤ watermark
        if closable > i64::from(self.cfg.max_catchup_bins) {
            // A gap in the stream (or a clock jump): skip ahead, keep the baselines.
            for b in from..from + self.slots as i64 {
                self.close_bin(b, alerts);
            }
            from = self.bin_of(watermark);
            self.skipped_gaps += 1;
            self.open_from = Some(from);
            return;
        }
        while (from + 1) * self.bin_ms <= watermark {
            self.close_bin(from, alerts);
            from += 1;
        }
        self.open_from = Some(from);
    }

    /// Lets the wall clock close bins when posts are few (live sources): time moves on to
    /// `now_ms` even if no post says so.
    pub fn advance_clock(&mut self, now_ms: i64, alerts: &mut Vec<Alert>) {
        if self.open_from.is_some() && now_ms > self.newest_ms {
            self.newest_ms = now_ms;
            self.advance(alerts);
        }
    }

    /// Closes every open bin (end of input).
    pub fn finish(&mut self, alerts: &mut Vec<Alert>) {
        if let Some(from) = self.open_from {
            for b in from..=self.bin_of(self.newest_ms) {
                self.close_bin(b, alerts);
            }
            self.open_from = Some(self.bin_of(self.newest_ms) + 1);
        }
    }

    fn close_bin(&mut self, bin: i64, alerts: &mut Vec<Alert>) {
        let slot = bin.rem_euclid(self.slots as i64) as usize;
        let total = std::mem::take(&mut self.totals[slot]);
        let warm = |k: &Kleinberg, cfg: &BurstConfig| k.bins_seen() >= cfg.warmup_bins;
        for i in 0..self.scopes.len() {
            let scope_count = self.series[2 * i].counts[slot];
            for (j, series) in [Series::All, Series::Negative].into_iter().enumerate() {
                let st = &mut self.series[2 * i + j];
                let r = std::mem::take(&mut st.counts[slot]);
                let was_warm = warm(&st.kleinberg, &self.cfg);
                let k = st.kleinberg.step(&self.cfg.kleinberg, bin, r, total);
                let s = st.sigma.step(&self.cfg.sigma, bin, r, total);
                let fires = was_warm && self.cfg.policy.fires(k.bursting, s.alarm);
                let active = was_warm && (k.bursting || s.alarm);
                match &mut st.episode {
                    None if fires => {
                        let since = match self.cfg.policy {
                            Policy::Kleinberg => k.since_bin,
                            Policy::Sigma => s.since_bin,
                            _ => match (k.bursting, s.alarm) {
                                (true, true) => k.since_bin.min(s.since_bin),
                                (true, false) => k.since_bin,
                                _ => s.since_bin,
                            },
                        };
                        st.episode = Some(Episode {
                            start_bin: since.min(bin),
                            count: r,
                            scope_count,
                            alerted: false,
                            quiet_bins: 0,
                        });
                    }
                    None => {}
                    Some(ep) => {
                        ep.count += r;
                        ep.scope_count += scope_count;
                        if active {
                            ep.quiet_bins = 0;
                        } else {
                            ep.quiet_bins += 1;
                        }
                    }
                }
                let Some(ep) = &mut st.episode else { continue };
                if ep.quiet_bins >= self.cfg.cooldown_bins {
                    st.episode = None;
                    continue;
                }
                if ep.alerted || !fires {
                    continue;
                }
                let start_ms = ep.start_bin * self.bin_ms;
                let recent: Vec<Recent> = self.recent[i].iter().filter(|p| p.time_ms >= start_ms).cloned().collect();
                let mut authors: Vec<u64> = recent.iter().filter(|p| p.author.0 != 0).map(|p| p.author.0).collect();
                authors.sort_unstable();
                authors.dedup();
                let negative = recent.iter().filter(|p| p.polarity == Polarity::Negative).count();
                let negative_share = if recent.is_empty() { 0.0 } else { negative as f64 / recent.len() as f64 };
                if authors.len() < self.cfg.min_distinct_authors
                    || (series == Series::Negative && negative_share < self.cfg.min_negative_share)
                {
                    continue;
                }
                ep.alerted = true;
                alerts.push(Alert {
                    scope: self.scopes[i],
                    series,
                    onset_ms: start_ms,
                    alerted_ms: (bin + 1) * self.bin_ms,
                    bin_secs: self.cfg.bin_secs,
                    count_bin: r,
                    count_episode: ep.count,
                    scope_count_episode: ep.scope_count,
                    expected_per_bin: k.expected,
                    kleinberg: k,
                    sigma: s,
                    distinct_authors: authors.len(),
                    negative_share,
                    recent,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recent(t: i64, author: u64, polarity: Polarity) -> Recent {
        Recent {
            time_ms: t,
            text: Arc::from("x"),
            lang: Lang::Fr,
            polarity,
            author: Pseudonym(author),
            organisation: None,
            place: None,
        }
    }

    /// `per_min(minute)` posts on topic 0 among 200 posts a minute.
    fn feed(
        tr: &mut BurstTracker,
        minutes: std::ops::Range<i64>,
        per_min: impl Fn(i64) -> u32,
        authors: u64,
    ) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let mut n = 0u64;
        for m in minutes {
            let k = per_min(m);
            for j in 0..200u32 {
                let t = m * 60_000 + i64::from(j) * 300;
                n += 1;
                let on_topic = j < k;
                let scopes: &[Scope] = if on_topic { &[Scope::Topic(0)] } else { &[] };
                let r = on_topic.then(|| recent(t, 1 + n % authors, Polarity::Negative));
                tr.observe(Observation { time_ms: t, scopes, negative: on_topic, recent: r }, &mut alerts);
            }
        }
        alerts
    }

    #[test]
    fn alerts_once_per_burst_with_an_onset() {
        let mut tr = BurstTracker::new(BurstConfig::default(), 1, 0, 0);
        let a = feed(&mut tr, 0..300, |m| if (200..215).contains(&m) { 12 } else { (m % 3 == 0) as u32 }, 1000);
        let bursts: Vec<_> = a.iter().filter(|a| a.series == Series::All).collect();
        assert_eq!(bursts.len(), 1, "{a:#?}");
        let b = bursts[0];
        assert!(b.onset_ms >= 199 * 60_000 && b.onset_ms <= 201 * 60_000, "onset {}", b.onset_ms / 60_000);
        assert!(b.alerted_ms <= 203 * 60_000);
        assert!(b.distinct_authors >= 3 && !b.recent.is_empty());
        assert!(a.iter().any(|a| a.series == Series::Negative));
    }

    #[test]
    fn one_account_cannot_make_a_burst() {
        let mut tr = BurstTracker::new(BurstConfig::default(), 1, 0, 0);
        let a = feed(&mut tr, 0..300, |m| if (200..215).contains(&m) { 12 } else { (m % 3 == 0) as u32 }, 1);
        assert!(a.is_empty(), "{a:#?}");
    }

    #[test]
    fn no_alert_during_warmup_or_on_late_posts() {
        let mut tr = BurstTracker::new(BurstConfig::default(), 1, 0, 0);
        let a = feed(&mut tr, 0..60, |m| if m > 30 { 50 } else { 0 }, 1000);
        assert!(a.is_empty());
        let mut alerts = Vec::new();
        tr.observe(Observation { time_ms: 0, scopes: &[Scope::Topic(0)], negative: false, recent: None }, &mut alerts);
        assert_eq!(tr.late_posts, 1);
    }

    #[test]
    fn a_clock_jump_skips_ahead_without_stepping_forever() {
        let mut tr = BurstTracker::new(BurstConfig::default(), 1, 0, 0);
        feed(&mut tr, 0..10, |_| 1, 10);
        let mut alerts = Vec::new();
        let far = 100 * 365 * 86_400_000i64;
        tr.observe(Observation { time_ms: far, scopes: &[], negative: false, recent: None }, &mut alerts);
        assert_eq!(tr.skipped_gaps, 1);
    }
}
