//! Stage `dedup`: near-duplicate posts (copy-paste campaigns, syndicated copies, a bot
//! posting the same text again) are dropped, by SimHash over the words, with a bounded
//! index.
//!
//! Two fingerprints within `max_distance` bits (≤ 3 of 64) share at least one of four
//! 16-bit blocks unchanged (pigeonhole), so the index has four tables of 65 536 buckets,
//! one per block, each bucket a cache line of four recent entries. Lookup and insertion
//! touch four cache lines whatever the volume; memory is fixed (16 MiB); entries older
//! than the window are ignored and overwritten.
//!
//! Many people writing the same short sentence ("Incendie place du Commerce !") is a
//! signal, not a duplicate: posts shorter than `min_words_across_authors` are duplicates
//! only of the same author's posts.

use crate::post::Pseudonym;
use crate::text::Token;

/// SimHash of the words (each word's hash votes on each of the 64 bits).
pub fn simhash(tokens: &[Token]) -> u64 {
    let mut votes = [0i16; 64];
    for t in tokens {
        let h = t.hash;
        for (bit, v) in votes.iter_mut().enumerate() {
            // +1 if the bit is set, -1 if not, without a branch.
            *v += (((h >> bit) & 1) as i16) * 2 - 1;
        }
    }
    votes.iter().enumerate().fold(0u64, |acc, (bit, &v)| acc | (u64::from(v > 0) << bit))
}

#[derive(Debug, Clone)]
pub struct DedupConfig {
    /// Largest Hamming distance between two near-duplicate fingerprints (0..=3).
    pub max_distance: u32,
    /// How long a post is remembered, seconds.
    pub window_secs: u32,
    /// Shorter posts are compared with the same author's posts only.
    pub min_words_across_authors: usize,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig { max_distance: 3, window_secs: 6 * 3600, min_words_across_authors: 8 }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    fingerprint: u64,
    /// Low 32 bits of the author's pseudonym (0: none).
    author: u32,
    /// Seconds since `base_s`, plus one (0: empty slot).
    time: u32,
}

const WAYS: usize = 4;
const BUCKETS: usize = 1 << 16;

pub struct NearDuplicates {
    cfg: DedupConfig,
    /// 4 tables × 65 536 buckets × 4 ways.
    slots: Vec<[Entry; WAYS]>,
    base_s: Option<i64>,
}

/// What the index said about a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    New,
    Duplicate,
}

impl NearDuplicates {
    pub fn new(cfg: DedupConfig) -> Self {
        NearDuplicates { cfg, slots: vec![[Entry::default(); WAYS]; 4 * BUCKETS], base_s: None }
    }

    fn rel_time(&mut self, time_ms: i64) -> u32 {
        let s = time_ms.div_euclid(1000);
        let base = *self.base_s.get_or_insert(s - 86_400);
        (s - base).clamp(0, u32::MAX as i64 - 1) as u32 + 1
    }

    /// Checks a post against the index, then remembers it.
    pub fn check(&mut self, fingerprint: u64, words: usize, author: Pseudonym, time_ms: i64) -> Verdict {
        let now = self.rel_time(time_ms);
        let author = (author.0 as u32).max(u32::from(author.0 != 0));
        let across = words >= self.cfg.min_words_across_authors;
        let mut dup = false;
        for block in 0..4 {
            let b = block * BUCKETS + ((fingerprint >> (16 * block)) & 0xFFFF) as usize;
            let bucket = &mut self.slots[b];
            for e in bucket.iter() {
                if e.time == 0 || now.saturating_sub(e.time) > self.cfg.window_secs || e.time > now + 3600 {
                    continue;
                }
                if (e.fingerprint ^ fingerprint).count_ones() <= self.cfg.max_distance
                    && (across || (author != 0 && e.author == author))
                {
                    dup = true;
                }
            }
            // Replace the oldest (or an empty) way.
            let oldest = (0..WAYS).min_by_key(|&w| bucket[w].time).unwrap_or(0);
            bucket[oldest] = Entry { fingerprint, author, time: now };
        }
        if dup { Verdict::Duplicate } else { Verdict::New }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize;

    fn fp(s: &str) -> (u64, usize) {
        let n = normalize(s);
        (simhash(&n.tokens), n.tokens.len())
    }

    #[test]
    fn near_copies_are_close_and_others_far() {
        let (a, _) = fp("Incendie en cours place du Commerce, les pompiers arrivent, évitez le secteur svp");
        let (b, _) = fp("incendie en cours Place du Commerce les pompiers arrivent évitez le secteur svp !!");
        let (c, _) = fp("Le tram 1 est en panne à Duchesse Anne depuis vingt minutes, aucune info");
        assert!((a ^ b).count_ones() <= 3);
        assert!((a ^ c).count_ones() > 10);
    }

    #[test]
    fn drops_copies_but_not_short_posts_of_other_authors() {
        let mut d = NearDuplicates::new(DedupConfig::default());
        let t = 1_800_000_000_000;
        let long = "Incendie en cours place du Commerce, les pompiers arrivent, évitez le secteur svp";
        let (f, n) = fp(long);
        assert_eq!(d.check(f, n, Pseudonym(1), t), Verdict::New);
        assert_eq!(d.check(f, n, Pseudonym(2), t + 1000), Verdict::Duplicate, "copy-paste by another account");
        let (s, m) = fp("Incendie place du Commerce !");
        assert_eq!(d.check(s, m, Pseudonym(3), t), Verdict::New);
        assert_eq!(d.check(s, m, Pseudonym(4), t + 1000), Verdict::New, "another person saying it");
        assert_eq!(d.check(s, m, Pseudonym(3), t + 2000), Verdict::Duplicate, "the same person again");
        assert_eq!(d.check(f, n, Pseudonym(5), t + 7 * 3600 * 1000), Verdict::New, "outside the window");
    }
}
