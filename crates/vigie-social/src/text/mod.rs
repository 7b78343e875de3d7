//! Text handling shared by every stage, the gazetteer, the queries and the search index,
//! so that all of them see the same words: normalisation into folded tokens, HTML to text,
//! and the redaction of handles and links.

pub mod html;
pub mod normalize;
pub mod redact;

pub use normalize::{Normalized, Token, normalize, normalize_into, token_hash};
