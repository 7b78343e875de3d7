//! Normalisation: one pass over the text gives lowercase, accent-folded words joined by
//! single spaces, with a hash per word.
//!
//! - Unicode: Latin letters are folded by a table (`É` → `e`, `œ` → `oe`); other letters
//!   go through NFKD with combining marks removed; emoji become one-character tokens.
//! - Links (`http://…`, `www.…`), `@mentions` and e-mail addresses are skipped.
//! - French elisions are dropped (`l'incendie` → `incendie`, `qu'il` → `il`); English
//!   `n't` becomes `not`, so that negation is seen.
//! - Hashtags lose their `#` and CamelCase splits (`#PlaceDuCommerce` → `place du commerce`).
//! - Punctuation marks a clause break on the next token (the scope of a negation ends there).
//!
//! Output buffers are reused between posts ([`normalize_into`]), so that the hot path does
//! not allocate.

use std::hash::BuildHasher;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Token flags.
pub mod flag {
    /// The word came from a hashtag.
    pub const HASHTAG: u8 = 1;
    /// A clause break (`.`, `!`, `,`…) stands before this token.
    pub const BREAK_BEFORE: u8 = 2;
    /// The token is an emoji.
    pub const EMOJI: u8 = 4;
}

/// Most tokens analysed per post; the rest of a huge post is ignored (and flagged).
pub const MAX_TOKENS: usize = 400;
/// Longer "words" are noise (base64, hashes) and are dropped.
const MAX_TOKEN_BYTES: usize = 40;

/// One word of [`Normalized::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub start: u32,
    pub end: u32,
    /// [`token_hash`] of the word.
    pub hash: u64,
    pub flags: u8,
}

/// A normalised text: words joined by single spaces, and their spans.
#[derive(Debug, Default, Clone)]
pub struct Normalized {
    pub text: String,
    pub tokens: Vec<Token>,
    /// Number of `!` seen (an intensity cue for sentiment).
    pub exclamations: u8,
    /// A French-looking accent (é, è, à, ç, ê…) appeared.
    pub french_accents: bool,
    /// The post had more than [`MAX_TOKENS`] words.
    pub truncated: bool,
}

impl Normalized {
    pub fn clear(&mut self) {
        self.text.clear();
        self.tokens.clear();
        self.exclamations = 0;
        self.french_accents = false;
        self.truncated = false;
    }

    pub fn word(&self, i: usize) -> &str {
        let t = &self.tokens[i];
        &self.text[t.start as usize..t.end as usize]
    }

    pub fn words(&self) -> impl Iterator<Item = &str> + '_ {
        self.tokens.iter().map(|t| &self.text[t.start as usize..t.end as usize])
    }
}

/// The hash of a normalised word; fixed seed, so equal across runs and threads.
pub fn token_hash(word: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x5669_6769_6553_6f63).hash_one(word)
}

/// Normalises into a fresh buffer (convenient off the hot path).
pub fn normalize(input: &str) -> Normalized {
    let mut n = Normalized::default();
    normalize_into(input, &mut n);
    n
}

const ELISIONS: &[&str] = &["l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu"];

struct Writer<'o> {
    out: &'o mut Normalized,
    /// Start of the word being written in `out.text`, if any.
    word_start: Option<usize>,
    hashtag: bool,
    pending_break: bool,
    prev_lower: bool,
    /// Tokens and text length at the start of the current whitespace-separated chunk.
    chunk: (usize, usize),
}

impl Writer<'_> {
    fn start_word(&mut self) {
        if self.word_start.is_none() {
            if !self.out.text.is_empty() {
                self.out.text.push(' ');
            }
            self.word_start = Some(self.out.text.len());
        }
    }

    fn current(&self) -> &str {
        match self.word_start {
            Some(s) => &self.out.text[s..],
            None => "",
        }
    }

    /// Ends the word being written (if any) and records it.
    fn end_word(&mut self, extra_flags: u8) {
        let Some(start) = self.word_start.take() else { return };
        let end = self.out.text.len();
        if end == start || end - start > MAX_TOKEN_BYTES || self.out.tokens.len() >= MAX_TOKENS {
            if self.out.tokens.len() >= MAX_TOKENS && end > start {
                self.out.truncated = true;
            }
            self.discard_from(start);
            return;
        }
        let mut flags = extra_flags;
        if self.hashtag {
            flags |= flag::HASHTAG;
        }
        if self.pending_break {
            flags |= flag::BREAK_BEFORE;
            self.pending_break = false;
        }
        let hash = token_hash(&self.out.text[start..end]);
        self.out.tokens.push(Token { start: start as u32, end: end as u32, hash, flags });
        self.prev_lower = false;
    }

    /// Drops the word being written (and the space before it).
    fn discard(&mut self) {
        if let Some(start) = self.word_start.take() {
            self.discard_from(start);
        }
        self.prev_lower = false;
    }

    /// Drops the tokens of the current whitespace-separated chunk (`jean.dupont@x.fr`).
    fn drop_chunk(&mut self) {
        let (tokens, text) = self.chunk;
        if self.out.tokens.len() > tokens {
            self.out.tokens.truncate(tokens);
            self.out.text.truncate(text);
        }
    }

    fn discard_from(&mut self, start: usize) {
        self.out.text.truncate(start.saturating_sub(usize::from(start > 0)));
    }

    fn push_str(&mut self, s: &str, upper: bool, lower: bool) {
        if self.hashtag && upper && self.prev_lower {
            self.end_word(0);
            self.hashtag = true;
        }
        self.start_word();
        self.out.text.push_str(s);
        self.prev_lower = lower;
    }

    /// Appends one ASCII letter or digit (lowercased), the hot path.
    fn push_ascii(&mut self, b: u8) {
        if self.hashtag && b.is_ascii_uppercase() && self.prev_lower {
            self.end_word(0);
            self.hashtag = true;
        }
        self.start_word();
        self.out.text.push(b.to_ascii_lowercase() as char);
        self.prev_lower = b.is_ascii_lowercase();
    }

    fn word_token(&mut self, s: &str, flags: u8) {
        self.end_word(0);
        self.start_word();
        self.out.text.push_str(s);
        let keep_hashtag = self.hashtag;
        self.hashtag = false;
        self.end_word(flags);
        self.hashtag = keep_hashtag;
    }
}

/// Folds a Latin letter: (lowercase ASCII form, was uppercase, is a French accent).
fn fold_latin(c: char) -> Option<(&'static str, bool, bool)> {
    Some(match c {
        'à' | 'â' => ("a", false, true),
        'á' | 'ã' | 'ä' | 'å' => ("a", false, false),
        'À' | 'Â' => ("a", true, true),
        'Á' | 'Ã' | 'Ä' | 'Å' => ("a", true, false),
        'æ' => ("ae", false, false),
        'Æ' => ("ae", true, false),
        'ç' => ("c", false, true),
        'Ç' => ("c", true, true),
        'é' | 'è' | 'ê' | 'ë' => ("e", false, true),
        'É' | 'È' | 'Ê' | 'Ë' => ("e", true, true),
        'î' | 'ï' => ("i", false, true),
        'í' | 'ì' => ("i", false, false),
        'Î' | 'Ï' => ("i", true, true),
        'Í' | 'Ì' => ("i", true, false),
        'ñ' => ("n", false, false),
        'Ñ' => ("n", true, false),
        'ô' => ("o", false, true),
        'ó' | 'ò' | 'õ' | 'ö' | 'ø' => ("o", false, false),
        'Ô' => ("o", true, true),
        'Ó' | 'Ò' | 'Õ' | 'Ö' | 'Ø' => ("o", true, false),
        'œ' => ("oe", false, true),
        'Œ' => ("oe", true, true),
        'ù' | 'û' => ("u", false, true),
        'ú' | 'ü' => ("u", false, false),
        'Ù' | 'Û' => ("u", true, true),
        'Ú' | 'Ü' => ("u", true, false),
        'ý' | 'ÿ' => ("y", false, false),
        'Ý' | 'Ÿ' => ("y", true, false),
        'ß' => ("ss", false, false),
        _ => return None,
    })
}

fn is_emoji(c: char) -> bool {
    let u = c as u32;
    (0x1F300..=0x1FAFF).contains(&u) && !(0x1F3FB..=0x1F3FF).contains(&u)
        || (0x2600..=0x27BF).contains(&u)
        || (0x1F000..=0x1F2FF).contains(&u)
        || (0x2B00..=0x2BFF).contains(&u)
}

/// Zero-width joiners, variation selectors and skin tones: parts of an emoji, not breaks.
fn is_emoji_part(c: char) -> bool {
    matches!(c as u32, 0x200D | 0xFE0E | 0xFE0F | 0x1F3FB..=0x1F3FF | 0x20E3)
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '‘' | '`')
}

/// Byte offset of the next whitespace at or after `i` (or the end).
fn skip_to_space(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

fn char_at(s: &str, i: usize) -> Option<char> {
    s.get(i..).and_then(|r| r.chars().next())
}

/// Normalises `input` into `out` (cleared first).
pub fn normalize_into(input: &str, out: &mut Normalized) {
    out.clear();
    let bytes = input.as_bytes();
    let mut w =
        Writer { out, word_start: None, hashtag: false, pending_break: false, prev_lower: false, chunk: (0, 0) };
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            let c = b as char;
            if c.is_ascii_alphanumeric() {
                if w.word_start.is_none()
                    && (b == b'h' || b == b'H' || b == b'w' || b == b'W')
                    && (starts_with_ci(&bytes[i..], b"http://")
                        || starts_with_ci(&bytes[i..], b"https://")
                        || starts_with_ci(&bytes[i..], b"www."))
                {
                    i = skip_to_space(bytes, i);
                    continue;
                }
                w.push_ascii(b);
                i += 1;
                continue;
            }
            match b {
                b'\'' | b'`' => {
                    i = apostrophe(&mut w, input, i, 1);
                    continue;
                }
                b'@' => {
                    // A mention, or an e-mail address: no part of either is a word of the text.
                    w.discard();
                    w.drop_chunk();
                    w.hashtag = false;
                    i = skip_to_space(bytes, i);
                    continue;
                }
                b'#' => {
                    w.end_word(0);
                    w.hashtag = true;
                    i += 1;
                    continue;
                }
                b'-' | b'_' | b'/' | b'&' | b'+' | b'*' | b'=' | b'~' | b'|' | b'\\' | b'<' | b'>' | b'^' | b'$'
                | b'%' => {
                    w.end_word(0);
                }
                b'.' | b'!' | b'?' | b';' | b':' | b',' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'"' => {
                    w.end_word(0);
                    w.pending_break = true;
                    if b == b'!' {
                        w.out.exclamations = w.out.exclamations.saturating_add(1);
                    }
                    if b != b'.' || !matches!(bytes.get(i + 1), Some(c) if c.is_ascii_alphanumeric()) {
                        w.hashtag = false;
                    }
                }
                _ => {
                    // Whitespace and control characters.
                    w.end_word(0);
                    w.hashtag = false;
                    w.chunk = (w.out.tokens.len(), w.out.text.len());
                }
            }
            i += 1;
            continue;
        }
        let Some(c) = char_at(input, i) else { break };
        let len = c.len_utf8();
        if is_apostrophe(c) {
            i = apostrophe(&mut w, input, i, len);
            continue;
        }
        if let Some((s, upper, french)) = fold_latin(c) {
            w.out.french_accents |= french;
            w.push_str(s, upper, !upper);
        } else if is_emoji_part(c) {
        } else if is_emoji(c) {
            let mut buf = [0u8; 4];
            w.word_token(c.encode_utf8(&mut buf), flag::EMOJI);
        } else if c.is_alphabetic() {
            let upper = c.is_uppercase();
            let mut any = false;
            for d in c.nfkd().filter(|d| !is_combining_mark(*d)) {
                for l in d.to_lowercase() {
                    let mut buf = [0u8; 4];
                    w.push_str(l.encode_utf8(&mut buf), upper && !any, !upper);
                    any = true;
                }
            }
        } else if c.is_numeric() {
            let mut buf = [0u8; 4];
            w.push_str(c.encode_utf8(&mut buf), false, false);
        } else {
            w.end_word(0);
            if matches!(c, '«' | '»' | '…' | '–' | '—' | '¡' | '¿' | '·') {
                w.pending_break = true;
            } else {
                w.hashtag = false;
            }
        }
        i += len;
    }
    w.end_word(0);
}

/// Handles an apostrophe at byte `i` (of `len` bytes); returns where to continue.
fn apostrophe(w: &mut Writer<'_>, input: &str, i: usize, len: usize) -> usize {
    let next = char_at(input, i + len);
    let next_is_letter = next.is_some_and(|c| c.is_alphabetic());
    let word = w.current();
    if next_is_letter && ELISIONS.contains(&word) {
        // French elision: the article or pronoun goes, the next word starts fresh.
        w.discard();
        return i + len;
    }
    if word.len() > 1
        && word.ends_with('n')
        && matches!(next, Some('t' | 'T'))
        && !char_at(input, i + len + 1).is_some_and(|c| c.is_alphabetic())
    {
        // English "n't": "don't" → "do" "not".
        if let Some(start) = w.word_start {
            w.out.text.truncate(w.out.text.len() - 1);
            if w.out.text.len() == start {
                w.discard();
            }
        }
        w.end_word(0);
        w.word_token("not", 0);
        return i + len + 1;
    }
    w.end_word(0);
    i + len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        normalize(s).words().map(str::to_owned).collect()
    }

    #[test]
    fn folds_case_and_accents() {
        assert_eq!(
            words("Incendie PLACE du Maréchal Foch, ÉNORME fumée"),
            ["incendie", "place", "du", "marechal", "foch", "enorme", "fumee"]
        );
        assert_eq!(words("Œuvre cœur naïve Straße"), ["oeuvre", "coeur", "naive", "strasse"]);
        assert!(normalize("très").french_accents);
        assert!(!normalize("tres").french_accents);
    }

    #[test]
    fn drops_french_elisions_and_keeps_english_negation() {
        assert_eq!(
            words("l'incendie d'hier qu'il a vu jusqu'à l’arrêt"),
            ["incendie", "hier", "il", "a", "vu", "a", "arret"]
        );
        assert_eq!(words("I don't like it, it isn't fun"), ["i", "do", "not", "like", "it", "it", "is", "not", "fun"]);
        assert_eq!(words("aujourd'hui"), ["aujourd", "hui"]);
    }

    #[test]
    fn skips_links_mentions_and_emails() {
        assert_eq!(
            words("voir https://ouest-france.fr/a?b=c et www.x.fr @alice @bob@mastodon.social ok"),
            ["voir", "et", "ok"]
        );
        assert_eq!(words("écrire à jean.dupont@example.org merci"), ["ecrire", "a", "merci"]);
    }

    #[test]
    fn splits_camel_case_hashtags() {
        let n = normalize("Fumée #PlaceDuCommerce #nantes #FCNantes");
        assert_eq!(n.words().collect::<Vec<_>>(), ["fumee", "place", "du", "commerce", "nantes", "fcnantes"]);
        assert_eq!(n.tokens[0].flags & flag::HASHTAG, 0);
        assert!(n.tokens[1..].iter().all(|t| t.flags & flag::HASHTAG != 0));
    }

    #[test]
    fn marks_clause_breaks_emoji_and_exclamations() {
        let n = normalize("pas bien. super 😡😡!!");
        assert_eq!(n.words().collect::<Vec<_>>(), ["pas", "bien", "super", "😡", "😡"]);
        assert_ne!(n.tokens[2].flags & flag::BREAK_BEFORE, 0);
        assert_ne!(n.tokens[3].flags & flag::EMOJI, 0);
        assert_eq!(n.exclamations, 2);
    }

    #[test]
    fn hyphens_split_and_hashes_match_words() {
        let n = normalize("Saint-Pierre");
        assert_eq!(n.words().collect::<Vec<_>>(), ["saint", "pierre"]);
        assert_eq!(n.tokens[0].hash, token_hash("saint"));
        assert_eq!(n.text, "saint pierre");
    }

    #[test]
    fn caps_huge_posts_and_garbage_tokens() {
        let huge = "mot ".repeat(10_000);
        let n = normalize(&huge);
        assert_eq!(n.tokens.len(), MAX_TOKENS);
        assert!(n.truncated);
        assert_eq!(words(&format!("a {} b", "x".repeat(500))), ["a", "b"]);
    }

    #[test]
    fn never_panics_on_odd_unicode() {
        for s in ["", "'", "’’", "#", "@", "n't", "\u{0301}e", "ﬁ", "Ⅻ", "🏳️‍🌈", "\u{FEFF}x", "x'"] {
            let n = normalize(s);
            for t in &n.tokens {
                assert!(n.text.is_char_boundary(t.start as usize) && n.text.is_char_boundary(t.end as usize));
            }
        }
        assert_eq!(words("ﬁn"), ["fin"]);
    }
}
