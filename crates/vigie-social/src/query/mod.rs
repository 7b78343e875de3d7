//! The watch-query language, shared by alerting ([`crate::stages::matcher`]) and operator
//! search ([`crate::search`]).
//!
//! ```text
//! incendie OR feu OR "départ de feu"            alternatives, a phrase
//! (tram OR tramway) AND (panne OR bloqué*)       AND (or juxtaposition), prefix `*`
//! manif* NOT "feu d'artifice"                    NOT (or `-word`) excludes
//! tram NEAR/3 panne                              at most 3 words between, either order
//! ```
//!
//! Operators are upper case (`AND`, `OR`, `NOT`, `NEAR/n`); `AND` binds tighter than `OR`.
//! Words and phrases are normalised like posts ([`crate::text::normalize`]): case, accents
//! and elisions do not matter (`"l'Hôtel-Dieu"` matches `hotel dieu`). A query must say
//! what to match: `NOT x` alone is refused, and so is an `AND` of exclusions only.

mod parse;

pub use parse::parse;

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// One normalised word.
    Word(String),
    /// Consecutive normalised words.
    Phrase(Vec<String>),
    /// Words starting with this (normalised) stem.
    Prefix(String),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// Two words with at most `max_between` words between them, in either order.
    Near {
        left: String,
        right: String,
        max_between: u32,
    },
}

impl Node {
    /// True if the node can match on its own (it is not only exclusions).
    pub fn is_positive(&self) -> bool {
        match self {
            Node::Not(_) => false,
            Node::And(v) => v.iter().any(Node::is_positive),
            Node::Or(v) => v.iter().all(Node::is_positive),
            _ => true,
        }
    }

    /// Every word, phrase word and prefix stem in the query (for indexing the matcher).
    pub fn visit_leaves<'a>(&'a self, f: &mut impl FnMut(&'a Node)) {
        match self {
            Node::And(v) | Node::Or(v) => v.iter().for_each(|n| n.visit_leaves(f)),
            Node::Not(n) => n.visit_leaves(f),
            leaf => f(leaf),
        }
    }
}

/// Largest query text accepted, characters.
pub const MAX_QUERY_CHARS: usize = 4000;
/// Deepest nesting of parentheses and operators.
pub const MAX_QUERY_DEPTH: usize = 32;
