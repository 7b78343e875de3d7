//! Lock-out after failed logins: per account (someone guessing one password) and per client
//! address (someone trying many accounts). Times come from the hub's clock, so tests move
//! them by hand.
//!
//! An attempt is counted *before* its password is checked and taken back only if it
//! succeeds: fifty guesses sent at once get five checks, not fifty (hashing takes long
//! enough that counting afterwards would let a burst through before the lock).

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
/// Entries kept at most. Only entries whose window has passed are dropped to make room:
/// dropping a live one would let a flood of names wipe a lock.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Client(IpAddr),
}

impl Key {
    fn limit(&self) -> u32 {
        match self {
            Key::Account(_) => ACCOUNT_FAILURES,
            Key::Client(_) => CLIENT_FAILURES,
        }
    }

    fn locked(&self, until: DateTime<Utc>) -> Locked {
        match self {
            Key::Account(_) => Locked::Account { until },
            Key::Client(_) => Locked::Client { until },
        }
    }
}

#[derive(Debug, Clone)]
struct Failures {
    /// Failed attempts plus attempts still being checked.
    count: u32,
    first: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
}

impl Failures {
    fn expired(&self, now: DateTime<Utc>) -> bool {
        now - self.first > WINDOW && self.locked_until.is_none_or(|u| u <= now)
    }
}

/// Why a login is not even tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locked {
    Account {
        until: DateTime<Utc>,
    },
    Client {
        until: DateTime<Utc>,
    },
    /// The table of attempts is full of live entries: nobody is let in until some expire.
    Busy {
        until: DateTime<Utc>,
    },
}

impl Locked {
    pub fn until(&self) -> DateTime<Utc> {
        match self {
            Locked::Account { until } | Locked::Client { until } | Locked::Busy { until } => *until,
        }
    }
}

#[derive(Default)]
struct Table {
    entries: HashMap<Key, Failures>,
    /// Full of live entries until then: no sweep before (a sweep is O(entries), and a flood
    /// must not make every attempt pay for one).
    full_until: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct LoginLimiter {
    table: Mutex<Table>,
}

impl Failures {
    /// When this entry can go.
    fn expiry(&self) -> DateTime<Utc> {
        let end = self.first + WINDOW;
        self.locked_until.map_or(end, |u| u.max(end))
    }
}

fn keys(username: &str, client: IpAddr) -> [Key; 2] {
    [Key::Client(client), Key::Account(username.to_lowercase())]
}

impl LoginLimiter {
    /// Counts an attempt for this account from this client, or refuses it if either is
    /// locked or already has as many attempts as it may. Call [`LoginLimiter::succeeded`]
    /// if the password turns out right, [`LoginLimiter::failed`] otherwise.
    pub fn begin(&self, username: &str, client: IpAddr, now: DateTime<Utc>) -> Result<(), Locked> {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let Table { entries, full_until } = &mut *table;
        let keys = keys(username, client);
        for key in &keys {
            let Some(f) = entries.get(key) else { continue };
            if let Some(until) = f.locked_until.filter(|u| *u > now) {
                return Err(key.locked(until));
            }
            if !f.expired(now) && f.count >= key.limit() {
                // The attempts that fill the quota are still being checked.
                return Err(key.locked(f.first + WINDOW));
            }
        }
        let missing = keys.iter().filter(|k| !entries.contains_key(*k)).count();
        if entries.len() + missing > MAX_ENTRIES {
            if full_until.is_none_or(|u| now >= u) {
                entries.retain(|_, f| !f.expired(now));
                *full_until = (entries.len() + missing > MAX_ENTRIES)
                    .then(|| entries.values().map(Failures::expiry).min().unwrap_or(now + WINDOW));
            }
            if let Some(until) = *full_until {
                return Err(Locked::Busy { until });
            }
        }
        for key in keys {
            let f = entries.entry(key).or_insert(Failures { count: 0, first: now, locked_until: None });
            if f.expired(now) {
                *f = Failures { count: 0, first: now, locked_until: None };
            }
            f.count += 1;
        }
        Ok(())
    }

    /// The attempt begun for this account failed: locks whichever key reached its limit,
    /// and returns the lock it caused, if any.
    pub fn failed(&self, username: &str, client: IpAddr, now: DateTime<Utc>) -> Option<Locked> {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let entries = &mut table.entries;
        let mut caused = None;
        for key in keys(username, client) {
            let Some(f) = entries.get_mut(&key) else { continue };
            if f.count >= key.limit() && f.locked_until.is_none_or(|u| u <= now) {
                let until = now + WINDOW;
                f.locked_until = Some(until);
                caused.get_or_insert(key.locked(until));
            }
        }
        caused
    }

    /// The attempt begun for this account succeeded: clears the account's failures and
    /// takes the attempt back from the client's count (but not the client's earlier
    /// failures: a guesser who owns one account must not reset the count for the others).
    pub fn succeeded(&self, username: &str, client: IpAddr) {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let entries = &mut table.entries;
        entries.remove(&Key::Account(username.to_lowercase()));
        if let Some(f) = entries.get_mut(&Key::Client(client)) {
            f.count = f.count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        "2026-12-01T08:00:00Z".parse().unwrap()
    }

    fn fail(l: &LoginLimiter, user: &str, ip: IpAddr, at: DateTime<Utc>) -> Result<Option<Locked>, Locked> {
        l.begin(user, ip, at)?;
        Ok(l.failed(user, ip, at))
    }

    #[test]
    fn locks_an_account_after_five_failures_for_fifteen_minutes() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        for i in 0..4 {
            assert_eq!(fail(&l, "Alice", ip, t0() + Duration::seconds(i)), Ok(None));
        }
        let lock = fail(&l, "alice", ip, t0() + Duration::seconds(5)).unwrap().expect("fifth failure locks");
        assert!(matches!(lock, Locked::Account { .. }));
        assert!(l.begin("ALICE", ip, t0() + Duration::minutes(14)).is_err(), "names are case-insensitive");
        assert!(l.begin("bob", ip, t0() + Duration::minutes(1)).is_ok(), "other accounts unaffected");
        assert!(l.begin("alice", ip, t0() + Duration::minutes(16)).is_ok(), "the lock expires");
    }

    #[test]
    fn attempts_being_checked_count_against_the_quota() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.11".parse().unwrap();
        let begun = (0..50).filter(|_| l.begin("dave", ip, t0()).is_ok()).count();
        assert_eq!(begun, 5, "a burst gets five checks, not fifty");
        l.succeeded("dave", ip);
        assert!(l.begin("dave", ip, t0()).is_ok(), "a success frees the account");
    }

    #[test]
    fn locks_a_client_that_tries_many_accounts() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.8".parse().unwrap();
        for i in 0..19 {
            assert_eq!(fail(&l, &format!("user{i}"), ip, t0()), Ok(None));
        }
        assert!(l.begin("someone", ip, t0()).is_ok());
        assert!(matches!(l.failed("someone", ip, t0()), Some(Locked::Client { .. })));
        assert!(matches!(l.begin("else", ip, t0()), Err(Locked::Client { .. })));
        let other: IpAddr = "192.0.2.9".parse().unwrap();
        assert!(l.begin("else", other, t0()).is_ok());
    }

    #[test]
    fn old_failures_stop_counting_and_success_clears() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.10".parse().unwrap();
        for _ in 0..4 {
            fail(&l, "carol", ip, t0()).unwrap();
        }
        l.begin("carol", ip, t0()).unwrap();
        l.succeeded("carol", ip);
        for _ in 0..4 {
            assert_eq!(fail(&l, "carol", ip, t0()), Ok(None));
        }
        assert_eq!(fail(&l, "carol", ip, t0() + Duration::minutes(20)), Ok(None), "window restarted");
    }

    #[test]
    fn a_flood_of_names_cannot_push_a_lock_out() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.12".parse().unwrap();
        for _ in 0..5 {
            fail(&l, "erin", ip, t0()).unwrap();
        }
        for i in 0..MAX_ENTRIES as u32 {
            let flooder = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            let _ = l.begin(&format!("n{i}"), flooder, t0());
        }
        assert!(matches!(l.begin("erin", ip, t0()), Err(Locked::Client { .. } | Locked::Account { .. })));
        assert!(l.table.lock().unwrap().entries.len() <= MAX_ENTRIES);
    }
}
