//! Stage `geoparse`: the places a post names, resolved through the gazetteer to a point
//! with an uncertainty and a district.
//!
//! One Aho-Corasick automaton (leftmost-longest) holds every normalised form; a match
//! counts only on word boundaries, and a form that is also a common word only after a
//! context word. Of several places named, the most precise (smallest uncertainty) gives
//! the post's location; all of them count for their place and district.

use aho_corasick::{AhoCorasick, MatchKind};

use crate::error::SocialError;
use crate::gazetteer::{Gazetteer, PlaceKind};
use crate::small::SmallIds;
use crate::text::Normalized;

/// What a post says about where.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Whereabouts {
    /// Places named (indices into the gazetteer's places; districts excluded).
    pub places: SmallIds,
    /// Districts concerned (named, or containing a named place).
    pub districts: SmallIds,
    /// The most precise place named, districts included.
    pub best: Option<u16>,
}

pub struct Geoparser {
    gazetteer: Gazetteer,
    /// Pattern i of the automaton is alias i of the gazetteer.
    ac: AhoCorasick,
    context: Vec<String>,
}

impl Geoparser {
    pub fn new(gazetteer: Gazetteer) -> Result<Self, SocialError> {
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(gazetteer.aliases.iter().map(|a| a.form.as_str()))
            .map_err(|e| SocialError::Gazetteer(format!("cannot build the name automaton: {e}")))?;
        Ok(Geoparser { context: gazetteer.context_words.clone(), gazetteer, ac })
    }

    pub fn gazetteer(&self) -> &Gazetteer {
        &self.gazetteer
    }

    fn has_context(&self, before: &str) -> bool {
        before.rsplit(' ').filter(|w| !w.is_empty()).take(2).any(|w| self.context.iter().any(|c| c == w))
    }

    pub fn resolve(&self, text: &Normalized) -> Whereabouts {
        let mut w = Whereabouts::default();
        let s = text.text.as_str();
        let bytes = s.as_bytes();
        let mut best_unc = f64::INFINITY;
        for m in self.ac.find_iter(s) {
            let (a, b) = (m.start(), m.end());
            if (a > 0 && bytes[a - 1] != b' ') || (b < bytes.len() && bytes[b] != b' ') {
                continue;
            }
            let alias = &self.gazetteer.aliases[m.pattern().as_usize()];
            if alias.needs_context && !self.has_context(&s[..a]) {
                continue;
            }
            let place = &self.gazetteer.places[alias.place as usize];
            if place.kind != PlaceKind::District {
                w.places.push(alias.place);
            }
            if let Some(d) = place.district {
                w.districts.push(d);
            }
            if place.uncertainty_m < best_unc {
                best_unc = place.uncertainty_m;
                w.best = Some(alias.place);
            }
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize;

    fn demo() -> Geoparser {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/nantes/");
        let files = crate::gazetteer::GazetteerFiles {
            districts: format!("{root}districts.geojson").into(),
            places: format!("{root}places.geojson").into(),
            streets: Some(format!("{root}streets.geojson").into()),
            aliases: Some(format!("{root}gazetteer-aliases.toml").into()),
        };
        Geoparser::new(files.load().unwrap()).unwrap()
    }

    fn district(g: &Geoparser, text: &str) -> Option<String> {
        let w = g.resolve(&normalize(text));
        let p = &g.gazetteer().places[w.best? as usize];
        p.district.map(|d| g.gazetteer().districts[d as usize].id.clone())
    }

    #[test]
    fn resolves_places_to_districts() {
        let g = demo();
        assert_eq!(district(&g, "Fumée noire PLACE DU COMMERCE !").as_deref(), Some("graslin-commerce"));
        assert_eq!(district(&g, "incendie #PlaceDuBouffay").as_deref(), Some("bouffay"));
        assert_eq!(district(&g, "tram bloqué à l'arrêt Commerce").as_deref(), Some("graslin-commerce"));
        assert_eq!(district(&g, "bouchon quai de la fosse").as_deref(), Some("chantenay-quai-de-la-fosse"));
        assert_eq!(district(&g, "ça bouge vers le chateau des ducs").as_deref(), Some("bouffay"));
        assert_eq!(district(&g, "soirée à Chantenay").as_deref(), Some("chantenay-quai-de-la-fosse"));
    }

    #[test]
    fn common_words_need_context() {
        let g = demo();
        assert_eq!(district(&g, "le commerce en ligne tue les boutiques"), None);
        assert_eq!(district(&g, "vacances en Bretagne"), None);
        assert_eq!(district(&g, "station Bretagne fermée").as_deref(), Some("talensac-viarme"));
        assert!(g.resolve(&normalize("commerces")).best.is_none(), "word boundaries");
    }

    #[test]
    fn picks_the_most_precise_place_and_keeps_all() {
        let g = demo();
        let w = g.resolve(&normalize("du quartier du Bouffay jusqu'à la place Graslin"));
        let best = &g.gazetteer().places[w.best.unwrap() as usize];
        assert_eq!(best.name, "Place Graslin");
        assert_eq!(w.districts.len(), 2);
        let w = g.resolve(&normalize("ligne 1 coupée"));
        let p = &g.gazetteer().places[w.best.unwrap() as usize];
        assert_eq!((p.kind, p.district), (PlaceKind::TramLine, None));
    }
}
