//! Recursive-descent parser of the query language (grammar in [`super`]).
//!
//! ```text
//! or      := and ("OR" and)*
//! and     := unary (["AND"] unary)*
//! unary   := ("NOT" | "-") unary | near
//! near    := primary ("NEAR/" n primary)?
//! primary := "(" or ")" | '"' words '"' | word["*"]
//! ```

use super::{MAX_QUERY_CHARS, MAX_QUERY_DEPTH, Node};
use crate::error::SocialError;
use crate::text::normalize;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Near(u32),
    Phrase(String),
    Word(String),
}

struct Lexed {
    tok: Tok,
    at: usize,
}

fn lex(q: &str) -> Result<Vec<Lexed>, (usize, String)> {
    let mut out = Vec::new();
    let mut it = q.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
            continue;
        }
        match c {
            '(' => {
                it.next();
                out.push(Lexed { tok: Tok::LParen, at: i });
            }
            ')' => {
                it.next();
                out.push(Lexed { tok: Tok::RParen, at: i });
            }
            '"' | '“' | '”' | '«' | '»' => {
                it.next();
                let mut s = String::new();
                let mut closed = false;
                for (_, d) in it.by_ref() {
                    if matches!(d, '"' | '“' | '”' | '«' | '»') {
                        closed = true;
                        break;
                    }
                    s.push(d);
                }
                if !closed {
                    return Err((i, "unterminated phrase (a closing \" is missing)".into()));
                }
                out.push(Lexed { tok: Tok::Phrase(s), at: i });
            }
            // `-word` at the start of a chunk excludes; inside a word (`x-ray`) it is a hyphen.
            '-' if chunk_start(q, i) && q[i + 1..].starts_with(|d: char| !d.is_whitespace()) => {
                it.next();
                out.push(Lexed { tok: Tok::Not, at: i });
            }
            _ => {
                let mut s = String::new();
                while let Some(&(_, d)) = it.peek() {
                    if d.is_whitespace() || matches!(d, '(' | ')' | '"' | '“' | '”' | '«' | '»') {
                        break;
                    }
                    s.push(d);
                    it.next();
                }
                let tok = match s.as_str() {
                    "AND" => Tok::And,
                    "OR" => Tok::Or,
                    "NOT" => Tok::Not,
                    _ => match s.strip_prefix("NEAR/") {
                        Some(n) => Tok::Near(
                            n.parse::<u32>()
                                .ok()
                                .filter(|&n| n <= 50)
                                .ok_or((i, format!("NEAR/{n}: the distance must be a number within 0..50")))?,
                        ),
                        None if s == "NEAR" => return Err((i, "NEAR needs a distance, as in NEAR/3".into())),
                        None => Tok::Word(s),
                    },
                };
                out.push(Lexed { tok, at: i });
            }
        }
    }
    Ok(out)
}

fn chunk_start(q: &str, i: usize) -> bool {
    q[..i].chars().next_back().is_none_or(|c| c.is_whitespace() || c == '(')
}

struct Parser {
    toks: Vec<Lexed>,
    pos: usize,
    end: usize,
}

type PResult = Result<Node, (usize, String)>;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|l| &l.tok)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map(|l| l.at).unwrap_or(self.end)
    }

    fn or(&mut self, depth: usize) -> PResult {
        if depth > MAX_QUERY_DEPTH {
            return Err((self.at(), format!("nested deeper than {MAX_QUERY_DEPTH} levels")));
        }
        let mut items = vec![self.and(depth + 1)?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            items.push(self.and(depth + 1)?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Node::Or(items) })
    }

    fn and(&mut self, depth: usize) -> PResult {
        let mut items = vec![self.unary(depth + 1)?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.pos += 1;
                    items.push(self.unary(depth + 1)?);
                }
                Some(Tok::Not | Tok::LParen | Tok::Phrase(_) | Tok::Word(_)) => items.push(self.unary(depth + 1)?),
                _ => break,
            }
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Node::And(items) })
    }

    fn unary(&mut self, depth: usize) -> PResult {
        if depth > MAX_QUERY_DEPTH {
            return Err((self.at(), format!("nested deeper than {MAX_QUERY_DEPTH} levels")));
        }
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            return Ok(Node::Not(Box::new(self.unary(depth + 1)?)));
        }
        self.near(depth)
    }

    fn near(&mut self, depth: usize) -> PResult {
        let left_at = self.at();
        let left = self.primary(depth)?;
        if let Some(&Tok::Near(n)) = self.peek() {
            self.pos += 1;
            let right_at = self.at();
            let right = self.primary(depth)?;
            let word = |n: Node, at: usize| match n {
                Node::Word(w) => Ok(w),
                _ => Err((at, "NEAR/n joins two single words".to_owned())),
            };
            return Ok(Node::Near { left: word(left, left_at)?, right: word(right, right_at)?, max_between: n });
        }
        Ok(left)
    }

    fn primary(&mut self, depth: usize) -> PResult {
        let at = self.at();
        let Some(l) = self.toks.get(self.pos) else {
            return Err((at, "the query ends where a word, phrase or ( was expected".into()));
        };
        let tok = l.tok.clone();
        self.pos += 1;
        match tok {
            Tok::LParen => {
                let inner = self.or(depth + 1)?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err((self.at(), "a closing ) is missing".into()));
                }
                self.pos += 1;
                Ok(inner)
            }
            Tok::Phrase(p) => {
                let words: Vec<String> = normalize(&p).words().map(str::to_owned).collect();
                match words.len() {
                    0 => Err((at, "empty phrase".into())),
                    1 => Ok(Node::Word(words.into_iter().next().unwrap_or_default())),
                    _ => Ok(Node::Phrase(words)),
                }
            }
            Tok::Word(w) => {
                if let Some(stem) = w.strip_suffix('*') {
                    let words: Vec<String> = normalize(stem).words().map(str::to_owned).collect();
                    return match words.as_slice() {
                        [one] if one.chars().count() >= 2 => Ok(Node::Prefix(one.clone())),
                        _ => Err((at, format!("{w}: a prefix needs one word of at least 2 letters before *"))),
                    };
                }
                let words: Vec<String> = normalize(&w).words().map(str::to_owned).collect();
                match words.len() {
                    0 => Err((at, format!("{w:?} holds no word"))),
                    1 => Ok(Node::Word(words.into_iter().next().unwrap_or_default())),
                    _ => Ok(Node::Phrase(words)),
                }
            }
            Tok::RParen => Err((at, "unexpected )".into())),
            Tok::And | Tok::Or => Err((at, "AND/OR needs a word, phrase or ( on each side".into())),
            Tok::Not => Err((at, "unexpected NOT".into())),
            Tok::Near(_) => Err((at, "NEAR/n needs a word on each side".into())),
        }
    }
}

/// Parses and checks a query.
pub fn parse(query: &str) -> Result<Node, SocialError> {
    let err = |at: usize, detail: String| SocialError::Query { query: query.chars().take(200).collect(), at, detail };
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(err(0, format!("longer than {MAX_QUERY_CHARS} characters")));
    }
    let toks = lex(query).map_err(|(at, d)| err(at, d))?;
    if toks.is_empty() {
        return Err(err(0, "empty query".into()));
    }
    let mut p = Parser { toks, pos: 0, end: query.len() };
    let node = p.or(0).map_err(|(at, d)| err(at, d))?;
    if p.pos < p.toks.len() {
        return Err(err(p.at(), "unexpected text (an unmatched ) ?)".into()));
    }
    if !node.is_positive() {
        return Err(err(0, "a query must say what to match, not only what to exclude".into()));
    }
    Ok(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Node {
        Node::Word(s.into())
    }

    #[test]
    fn parses_the_operators() {
        assert_eq!(parse("Incendie OR feu").unwrap(), Node::Or(vec![w("incendie"), w("feu")]));
        assert_eq!(parse("tram panne").unwrap(), Node::And(vec![w("tram"), w("panne")]));
        assert_eq!(
            parse("a OR b AND c").unwrap(),
            Node::Or(vec![w("a"), Node::And(vec![w("b"), w("c")])]),
            "AND binds tighter"
        );
        assert_eq!(
            parse("(tram OR tramway) AND bloqué* -\"feu d'artifice\"").unwrap(),
            Node::And(vec![
                Node::Or(vec![w("tram"), w("tramway")]),
                Node::Prefix("bloque".into()),
                Node::Not(Box::new(Node::Phrase(vec!["feu".into(), "artifice".into()]))),
            ])
        );
        assert_eq!(
            parse("tram NEAR/3 panne").unwrap(),
            Node::Near { left: "tram".into(), right: "panne".into(), max_between: 3 }
        );
        assert_eq!(parse("Saint-Pierre").unwrap(), Node::Phrase(vec!["saint".into(), "pierre".into()]));
        assert_eq!(parse("x-ray").unwrap(), Node::Phrase(vec!["x".into(), "ray".into()]));
    }

    #[test]
    fn rejects_bad_queries_with_a_position() {
        for (q, needle) in [
            ("", "empty"),
            ("NOT feu", "only what to exclude"),
            ("feu AND", "ends"),
            ("(feu OR fumée", ")"),
            ("feu)", "unexpected"),
            ("\"feu", "unterminated"),
            ("tram NEAR panne", "distance"),
            ("tram NEAR/999 panne", "0..50"),
            ("\"tram ligne\" NEAR/2 panne", "single words"),
            ("a*", "prefix"),
            ("OR", "AND/OR"),
        ] {
            let e = parse(q).unwrap_err().to_string();
            assert!(e.contains(needle), "{q:?}: {e}");
        }
        let deep = format!("{}x{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep).unwrap_err().to_string().contains("deeper"));
        assert!(parse(&"x ".repeat(3000)).is_err());
    }
}
