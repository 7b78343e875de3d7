//! What makes a release private: the k-threshold with complementary suppression
//! ([`suppress`]), the exact-disclosure audit behind it ([`audit`]), optional
//! differential-privacy noise ([`noise`]) and the ε budget ledger ([`ledger`]).

pub mod audit;
pub mod ledger;
pub mod noise;
pub mod suppress;

pub use suppress::{Pattern, Table};
