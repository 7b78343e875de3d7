//! Stage `matcher`: which watch queries (topics) a post matches.
//!
//! All the queries' words go in one hash map keyed by the word's hash, which the
//! normaliser already computed: one lookup per word of the post, whatever the number of
//! queries. Only the queries one of whose words was seen are evaluated, on the positions
//! of the hits (phrases: consecutive positions; `NEAR/n`: at most n words between).

use crate::error::SocialError;
use crate::hashing::U64Map;
use crate::query::{Node, parse};
use crate::small::SmallIds;
use crate::text::{Normalized, token_hash};

/// A watch query with its id (used in detections: `topic`).
#[derive(Debug, Clone)]
pub struct Topic {
    pub id: String,
    pub query: Node,
}

impl Topic {
    pub fn parse(id: &str, query: &str) -> Result<Topic, SocialError> {
        Ok(Topic { id: id.to_owned(), query: parse(query)? })
    }
}

#[derive(Debug, Clone)]
enum Compiled {
    Leaf(u32),
    Phrase(Vec<u32>),
    And(Vec<Compiled>),
    Or(Vec<Compiled>),
    Not(Box<Compiled>),
    Near(u32, u32, u32),
}

/// The compiled watch queries.
#[derive(Debug, Clone)]
pub struct QuerySet {
    topics: Vec<Topic>,
    words: U64Map<u32>,
    word_text: Vec<String>,
    /// Prefix stems; their leaf ids follow the words' (`word_text.len() + i`).
    prefixes: Vec<String>,
    compiled: Vec<Compiled>,
    /// Leaf id → queries that contain it.
    triggers: Vec<Vec<u16>>,
}

/// Per-thread scratch space of [`QuerySet::matches`].
#[derive(Debug, Default)]
pub struct MatchScratch {
    hits: Vec<(u32, u32)>,
    candidates: Vec<u16>,
}

/// Most watch queries in one pipeline.
pub const MAX_TOPICS: usize = 1000;

impl QuerySet {
    pub fn new(topics: Vec<Topic>) -> Result<Self, SocialError> {
        if topics.len() > MAX_TOPICS {
            return Err(SocialError::config(format!("{} topics: at most {MAX_TOPICS}", topics.len())));
        }
        let mut set = QuerySet {
            topics: Vec::new(),
            words: U64Map::default(),
            word_text: Vec::new(),
            prefixes: Vec::new(),
            compiled: Vec::new(),
            triggers: Vec::new(),
        };
        // Words first, then prefixes, so that leaf ids are final before compiling.
        for t in &topics {
            t.query.visit_leaves(&mut |leaf| match leaf {
                Node::Word(w) => set.word_id(w),
                Node::Phrase(ws) => ws.iter().for_each(|w| set.word_id(w)),
                Node::Near { left, right, .. } => {
                    set.word_id(left);
                    set.word_id(right);
                }
                Node::Prefix(p) if !set.prefixes.contains(p) => set.prefixes.push(p.clone()),
                _ => {}
            });
        }
        set.triggers = vec![Vec::new(); set.word_text.len() + set.prefixes.len()];
        for (qi, t) in topics.iter().enumerate() {
            if topics[..qi].iter().any(|o| o.id == t.id) {
                return Err(SocialError::config(format!("topic {:?} is defined twice", t.id)));
            }
            let c = set.compile(&t.query);
            let mut leaves = Vec::new();
            collect_leaves(&c, &mut leaves);
            for l in leaves {
                let trig = &mut set.triggers[l as usize];
                if !trig.contains(&(qi as u16)) {
                    trig.push(qi as u16);
                }
            }
            set.compiled.push(c);
        }
        set.topics = topics;
        Ok(set)
    }

    fn word_id(&mut self, w: &str) {
        let h = token_hash(w);
        if !self.words.contains_key(&h) {
            self.words.insert(h, self.word_text.len() as u32);
            self.word_text.push(w.to_owned());
        }
    }

    fn leaf(&self, w: &str) -> u32 {
        self.words.get(&token_hash(w)).copied().unwrap_or(u32::MAX)
    }

    fn compile(&self, n: &Node) -> Compiled {
        match n {
            Node::Word(w) => Compiled::Leaf(self.leaf(w)),
            Node::Phrase(ws) => Compiled::Phrase(ws.iter().map(|w| self.leaf(w)).collect()),
            Node::Prefix(p) => {
                Compiled::Leaf((self.word_text.len() + self.prefixes.iter().position(|x| x == p).unwrap_or(0)) as u32)
            }
            Node::And(v) => Compiled::And(v.iter().map(|c| self.compile(c)).collect()),
            Node::Or(v) => Compiled::Or(v.iter().map(|c| self.compile(c)).collect()),
            Node::Not(c) => Compiled::Not(Box::new(self.compile(c))),
            Node::Near { left, right, max_between } => Compiled::Near(self.leaf(left), self.leaf(right), *max_between),
        }
    }

    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    pub fn len(&self) -> usize {
        self.topics.len()
    }

    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    /// The topics (indices into [`Self::topics`]) that `text` matches.
    pub fn matches(&self, text: &Normalized, scratch: &mut MatchScratch, out: &mut SmallIds) {
        out.clear();
        scratch.hits.clear();
        scratch.candidates.clear();
        let n_words = self.word_text.len();
        for (pos, t) in text.tokens.iter().enumerate() {
            if let Some(&id) = self.words.get(&t.hash)
                && text.word(pos) == self.word_text[id as usize]
            {
                scratch.hits.push((id, pos as u32));
                scratch.candidates.extend_from_slice(&self.triggers[id as usize]);
            }
            if !self.prefixes.is_empty() {
                let w = text.word(pos);
                for (pi, p) in self.prefixes.iter().enumerate() {
                    if w.starts_with(p.as_str()) {
                        let id = n_words + pi;
                        scratch.hits.push((id as u32, pos as u32));
                        scratch.candidates.extend_from_slice(&self.triggers[id]);
                    }
                }
            }
        }
        if scratch.candidates.is_empty() {
            return;
        }
        scratch.candidates.sort_unstable();
        scratch.candidates.dedup();
        for &q in &scratch.candidates {
            if eval(&self.compiled[q as usize], &scratch.hits) {
                out.push(q);
            }
        }
    }
}

fn collect_leaves(c: &Compiled, out: &mut Vec<u32>) {
    match c {
        Compiled::Leaf(l) => out.push(*l),
        Compiled::Phrase(v) => out.extend(v.iter().copied()),
        Compiled::And(v) | Compiled::Or(v) => v.iter().for_each(|c| collect_leaves(c, out)),
        Compiled::Not(_) => {}
        Compiled::Near(a, b, _) => out.extend([*a, *b]),
    }
}

fn positions(hits: &[(u32, u32)], leaf: u32) -> impl Iterator<Item = u32> + '_ {
    hits.iter().filter(move |h| h.0 == leaf).map(|h| h.1)
}

fn eval(c: &Compiled, hits: &[(u32, u32)]) -> bool {
    match c {
        Compiled::Leaf(l) => hits.iter().any(|h| h.0 == *l),
        Compiled::Phrase(ws) => positions(hits, ws[0])
            .any(|p| ws.iter().enumerate().skip(1).all(|(k, w)| hits.contains(&(*w, p + k as u32)))),
        Compiled::And(v) => v.iter().all(|c| eval(c, hits)),
        Compiled::Or(v) => v.iter().any(|c| eval(c, hits)),
        Compiled::Not(c) => !eval(c, hits),
        Compiled::Near(a, b, n) => {
            positions(hits, *a).any(|pa| positions(hits, *b).any(|pb| pa != pb && pa.abs_diff(pb) - 1 <= *n))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize;

    fn set(qs: &[(&str, &str)]) -> QuerySet {
        QuerySet::new(qs.iter().map(|(id, q)| Topic::parse(id, q).unwrap()).collect()).unwrap()
    }

    fn hits(s: &QuerySet, text: &str) -> Vec<String> {
        let mut out = SmallIds::default();
        s.matches(&normalize(text), &mut MatchScratch::default(), &mut out);
        out.as_slice().iter().map(|&i| s.topics()[i as usize].id.clone()).collect()
    }

    #[test]
    fn matches_booleans_phrases_prefixes_and_near() {
        let s = set(&[
            ("incendie", "(incendie OR fumée OR \"départ de feu\") NOT \"feu d'artifice\""),
            ("tram", "(tram OR tramway) AND (panne OR bloqu*)"),
            ("near", "tram NEAR/2 panne"),
        ]);
        assert_eq!(hits(&s, "Énorme FUMÉE noire vers Commerce"), ["incendie"]);
        assert_eq!(hits(&s, "départ de feu rue Crébillon"), ["incendie"]);
        assert!(hits(&s, "le feu d'artifice et sa fumée").is_empty(), "NOT excludes");
        assert_eq!(hits(&s, "Le tramway est bloqué à Commerce"), ["tram"]);
        assert_eq!(hits(&s, "tram 1 en panne"), ["tram", "near"]);
        assert_eq!(hits(&s, "panne du tram"), ["tram", "near"], "either order");
        assert_eq!(hits(&s, "tram de la ligne une fois de plus en panne"), ["tram"], "too far for NEAR/2");
        assert!(hits(&s, "feu de camp").is_empty());
        assert!(hits(&s, "départ feu de").is_empty(), "phrase needs order");
    }

    #[test]
    fn rejects_duplicate_topic_ids() {
        let t = vec![Topic::parse("a", "x").unwrap(), Topic::parse("a", "y").unwrap()];
        assert!(QuerySet::new(t).is_err());
    }
}
