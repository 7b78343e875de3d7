//! Floors on the labelled sets kept in `data/` (the figures themselves are reported by
//! `vigie bench social`): a change that makes sentiment, language or geoparsing clearly
//! worse fails here.

mod common;

use vigie_social::eval;

#[test]
fn sentiment_on_the_test_half_stays_above_the_deft_median() {
    let built = common::demo();
    let a = &built.analyzer;
    let test = eval::sentiment(&a.sentiment, &a.lang, "test", None);
    assert_eq!(test.posts, 120);
    // DEFT 2015's median French tweet polarity system reached a macro-F1 of 0.69.
    assert!(test.macro_f1 >= 0.72, "{test:?}");
    assert!(eval::sentiment(&a.sentiment, &a.lang, "dev", None).posts == 120);
}

#[test]
fn language_and_geoparsing_on_the_labelled_sets() {
    let built = common::demo();
    let a = &built.analyzer;
    assert!(eval::language_accuracy(&a.lang) >= 0.95);
    let g = eval::geoparse(&a.geo);
    assert!(g.posts >= 80);
    assert!(g.district_accuracy >= 0.9, "{g:?}");
}
