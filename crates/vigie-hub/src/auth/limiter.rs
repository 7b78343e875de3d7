//! Lock-out after failed logins: per account (someone guessing one password) and per client
//! address (someone trying many accounts). Times come from the hub's clock, so tests move
//! them by hand.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Failures allowed within [`WINDOW`] before an account is locked.
pub const ACCOUNT_FAILURES: u32 = 5;
/// Failures allowed within [`WINDOW`] from one client address before it is locked out.
pub const CLIENT_FAILURES: u32 = 20;
/// How far back failures count, and how long a lock lasts.
pub const WINDOW: Duration = Duration::minutes(15);
/// Entries kept at most; the oldest go first (a flood of names cannot exhaust memory).
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Client(IpAddr),
}

#[derive(Debug, Clone)]
struct Failures {
    count: u32,
    first: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
}

/// Why a login is not even tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locked {
    Account { until: DateTime<Utc> },
    Client { until: DateTime<Utc> },
}

impl Locked {
    pub fn until(&self) -> DateTime<Utc> {
        match self {
            Locked::Account { until } | Locked::Client { until } => *until,
        }
    }
}

#[derive(Default)]
pub struct LoginLimiter {
    entries: Mutex<HashMap<Key, Failures>>,
}

impl LoginLimiter {
    /// Is a login for this account from this client locked out now?
    pub fn check(&self, username: &str, client: IpAddr, now: DateTime<Utc>) -> Result<(), Locked> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let locked = |k: &Key| entries.get(k).and_then(|f| f.locked_until).filter(|u| *u > now);
        if let Some(until) = locked(&Key::Client(client)) {
            return Err(Locked::Client { until });
        }
        if let Some(until) = locked(&Key::Account(username.to_lowercase())) {
            return Err(Locked::Account { until });
        }
        Ok(())
    }

    /// Counts a failed login; returns the lock it caused, if any.
    pub fn failed(&self, username: &str, client: IpAddr, now: DateTime<Utc>) -> Option<Locked> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            let oldest = entries.iter().min_by_key(|(_, f)| f.first).map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                entries.remove(&k);
            }
        }
        let mut caused = None;
        for (key, limit) in
            [(Key::Account(username.to_lowercase()), ACCOUNT_FAILURES), (Key::Client(client), CLIENT_FAILURES)]
        {
            let f = entries.entry(key.clone()).or_insert(Failures { count: 0, first: now, locked_until: None });
            if now - f.first > WINDOW {
                *f = Failures { count: 0, first: now, locked_until: None };
            }
            f.count += 1;
            if f.count >= limit && f.locked_until.is_none_or(|u| u <= now) {
                let until = now + WINDOW;
                f.locked_until = Some(until);
                caused.get_or_insert(match key {
                    Key::Account(_) => Locked::Account { until },
                    Key::Client(_) => Locked::Client { until },
                });
            }
        }
        caused
    }

    /// A successful login clears its account's failures (not the client's: a guesser who
    /// owns one account must not reset the count for the others).
    pub fn succeeded(&self, username: &str) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(&Key::Account(username.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        "2026-12-01T08:00:00Z".parse().unwrap()
    }

    #[test]
    fn locks_an_account_after_five_failures_for_fifteen_minutes() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        for i in 0..4 {
            assert_eq!(l.failed("Alice", ip, t0() + Duration::seconds(i)), None);
            assert!(l.check("alice", ip, t0()).is_ok());
        }
        let lock = l.failed("alice", ip, t0() + Duration::seconds(5)).expect("fifth failure locks");
        assert!(matches!(lock, Locked::Account { .. }));
        assert!(l.check("ALICE", ip, t0() + Duration::minutes(14)).is_err(), "names are case-insensitive");
        assert!(l.check("bob", ip, t0() + Duration::minutes(1)).is_ok(), "other accounts unaffected");
        assert!(l.check("alice", ip, t0() + Duration::minutes(16)).is_ok(), "the lock expires");
    }

    #[test]
    fn locks_a_client_that_tries_many_accounts() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.8".parse().unwrap();
        for i in 0..19 {
            l.failed(&format!("user{i}"), ip, t0());
        }
        assert!(l.check("someone", ip, t0()).is_ok());
        assert!(matches!(l.failed("user19", ip, t0()), Some(Locked::Client { .. })));
        assert!(matches!(l.check("someone", ip, t0()), Err(Locked::Client { .. })));
        let other: IpAddr = "192.0.2.9".parse().unwrap();
        assert!(l.check("someone", other, t0()).is_ok());
    }

    #[test]
    fn old_failures_stop_counting_and_success_clears() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.10".parse().unwrap();
        for _ in 0..4 {
            l.failed("carol", ip, t0());
        }
        l.succeeded("carol");
        for _ in 0..4 {
            assert_eq!(l.failed("carol", ip, t0()), None);
        }
        assert_eq!(l.failed("carol", ip, t0() + Duration::minutes(20)), None, "window restarted");
    }
}
