//! Stage `lang`: a restricted French/English detector.
//!
//! Vigie only needs to know whether a post is French, English or neither (to pick the
//! sentiment lexicon), so a general detector (75 languages, tens of MB) is not worth its
//! cost here: counting function words of each language, plus French accents, decides in
//! about a hundred nanoseconds. Posts with no evidence are `und`, unless the source gave a
//! hint. Its accuracy on the labelled set is reported by `vigie bench social`.

use crate::hashing::U64Set;
use crate::post::Lang;
use crate::text::{Normalized, token_hash};

/// Function words specific to French (accents folded; none is an English word).
const FR: &[&str] = &[
    "le", "la", "les", "des", "du", "un", "une", "est", "et", "dans", "pour", "sur", "pas", "que", "qui", "il", "elle",
    "ils", "elles", "nous", "vous", "je", "tu", "ce", "cette", "ces", "au", "aux", "avec", "mais", "ou", "donc",
    "sont", "ont", "fait", "tres", "par", "sa", "ses", "leur", "ne", "se", "comme", "tout", "tous", "toute", "deja",
    "encore", "ici", "aussi", "bien", "quand", "apres", "avant", "chez", "vers", "sans", "depuis", "rien", "etait",
    "ete", "etre", "avoir", "mon", "ma", "mes", "ton", "ta", "notre", "nos", "votre", "vos", "quoi", "pourquoi",
    "comment", "tres", "trop", "peu", "beaucoup", "y", "en", "suis", "sommes", "etes", "ai", "avons", "avez", "va",
    "vont", "faut", "cela", "ca", "ceci", "alors", "puis", "aujourd", "hier", "demain", "soir", "matin", "nuit", "rue",
    "ville", "gens", "personne", "quelqu", "jamais", "toujours", "moins", "entre", "sous",
];

/// Function words specific to English.
const EN: &[&str] = &[
    "the", "and", "is", "are", "was", "were", "of", "to", "in", "that", "it", "this", "with", "for", "not", "be",
    "have", "has", "had", "you", "they", "we", "he", "she", "at", "by", "from", "or", "but", "an", "will", "would",
    "can", "could", "there", "their", "what", "which", "who", "when", "just", "my", "your", "our", "about", "been",
    "very", "so", "if", "do", "does", "did", "no", "yes", "all", "get", "got", "out", "up", "than", "them", "into",
    "its", "i", "am", "im", "here", "now", "today", "tonight", "near", "going", "people", "street", "city", "should",
    "really", "some", "any", "how", "why", "where", "again", "still", "never", "always", "because",
];

#[derive(Debug, Clone)]
pub struct LangDetector {
    fr: U64Set,
    en: U64Set,
}

impl Default for LangDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl LangDetector {
    pub fn new() -> Self {
        LangDetector { fr: FR.iter().map(|w| token_hash(w)).collect(), en: EN.iter().map(|w| token_hash(w)).collect() }
    }

    /// True for a function word of either language (left out of a burst's top terms).
    pub fn is_function_word(&self, hash: u64) -> bool {
        self.fr.contains(&hash) || self.en.contains(&hash)
    }

    pub fn detect(&self, text: &Normalized, hint: Option<Lang>) -> Lang {
        let (mut fr, mut en) = (0.0f32, 0.0f32);
        for t in &text.tokens {
            if self.fr.contains(&t.hash) {
                fr += 1.0;
            }
            if self.en.contains(&t.hash) {
                en += 1.0;
            }
        }
        if text.french_accents {
            fr += 1.5;
        }
        if fr > en {
            Lang::Fr
        } else if en > fr {
            Lang::En
        } else {
            hint.unwrap_or(Lang::Und)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize;

    #[test]
    fn tells_french_from_english() {
        let d = LangDetector::new();
        let cases = [
            ("Gros incendie place du Commerce, les pompiers sont là", Lang::Fr),
            ("Huge fire near the castle, firefighters are on their way", Lang::En),
            ("Le tram est encore en panne", Lang::Fr),
            ("The tram is stuck again", Lang::En),
            ("Fumée énorme", Lang::Fr),
            ("#nantes 🔥", Lang::Und),
        ];
        for (text, want) in cases {
            assert_eq!(d.detect(&normalize(text), None), want, "{text}");
        }
        assert_eq!(d.detect(&normalize("#nantes"), Some(Lang::En)), Lang::En);
    }
}
