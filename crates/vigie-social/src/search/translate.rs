//! The query language ([`crate::query::Node`]) as tantivy queries, with the matcher's
//! meaning: `NEAR/n` is "at most n words between, either order" (two sloppy phrases),
//! `word*` a prefix (a regular expression over the term dictionary), and `NOT` inside an
//! `OR` means "every post without it".

use tantivy::Term;
use tantivy::query::{AllQuery, BooleanQuery, Occur, PhraseQuery, Query, RegexQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};

use crate::error::SocialError;
use crate::query::Node;

fn term(field: Field, w: &str) -> Term {
    Term::from_field_text(field, w)
}

fn escape(stem: &str) -> String {
    let mut s = String::with_capacity(stem.len() + 4);
    for c in stem.chars() {
        if c.is_alphanumeric() {
            s.push(c);
        } else {
            s.push('\\');
            s.push(c);
        }
    }
    s
}

pub fn to_tantivy(node: &Node, field: Field) -> Result<Box<dyn Query>, SocialError> {
    Ok(match node {
        Node::Word(w) => Box::new(TermQuery::new(term(field, w), IndexRecordOption::WithFreqs)),
        Node::Phrase(ws) => Box::new(PhraseQuery::new(ws.iter().map(|w| term(field, w)).collect())),
        Node::Prefix(p) => Box::new(
            RegexQuery::from_pattern(&format!("{}.*", escape(p)), field)
                .map_err(|e| SocialError::Search(format!("prefix {p}*: {e}")))?,
        ),
        Node::Near { left, right, max_between } => {
            let mut ab = PhraseQuery::new(vec![term(field, left), term(field, right)]);
            ab.set_slop(*max_between);
            let mut ba = PhraseQuery::new(vec![term(field, right), term(field, left)]);
            ba.set_slop(*max_between);
            let parts: Vec<(Occur, Box<dyn Query>)> =
                vec![(Occur::Should, Box::new(ab)), (Occur::Should, Box::new(ba))];
            Box::new(BooleanQuery::new(parts))
        }
        Node::And(v) => {
            let mut parts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for c in v {
                match c {
                    Node::Not(inner) => parts.push((Occur::MustNot, to_tantivy(inner, field)?)),
                    other => parts.push((Occur::Must, to_tantivy(other, field)?)),
                }
            }
            Box::new(BooleanQuery::new(parts))
        }
        Node::Or(v) => {
            let parts = v
                .iter()
                .map(|c| Ok((Occur::Should, to_tantivy(c, field)?)))
                .collect::<Result<Vec<_>, SocialError>>()?;
            Box::new(BooleanQuery::new(parts))
        }
        Node::Not(inner) => Box::new(BooleanQuery::new(vec![
            (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
            (Occur::MustNot, to_tantivy(inner, field)?),
        ])),
    })
}
