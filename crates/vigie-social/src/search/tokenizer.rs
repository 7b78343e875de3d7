//! The tantivy tokenizer `vigie`: the words of [`crate::text::normalize`], so that the
//! index and the watch queries agree on case, accents, elisions, links and mentions.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use crate::text::{Normalized, normalize_into};

/// The name the tokenizer is registered under.
pub const TOKENIZER: &str = "vigie";

#[derive(Clone, Default)]
pub struct VigieTokenizer {
    buf: Normalized,
}

pub struct VigieTokenStream<'a> {
    text: &'a Normalized,
    next: usize,
    token: Token,
}

impl Tokenizer for VigieTokenizer {
    type TokenStream<'a> = VigieTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VigieTokenStream<'a> {
        normalize_into(text, &mut self.buf);
        VigieTokenStream { text: &self.buf, next: 0, token: Token::default() }
    }
}

impl TokenStream for VigieTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let Some(t) = self.text.tokens.get(self.next) else { return false };
        self.token.text.clear();
        self.token.text.push_str(&self.text.text[t.start as usize..t.end as usize]);
        self.token.offset_from = t.start as usize;
        self.token.offset_to = t.end as usize;
        self.token.position = self.next;
        self.token.position_length = 1;
        self.next += 1;
        true
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}
