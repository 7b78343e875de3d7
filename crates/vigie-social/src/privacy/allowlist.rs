//! The allowlist of organisations (press, institutions, public services): the only sources
//! that may be named in what Vigie outputs. Private persons are never named.

use std::collections::HashMap;

use serde::Deserialize;

use crate::error::SocialError;
use crate::post::OrgId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Press,
    Institution,
    PublicService,
}

/// One allowlisted organisation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// The name shown in detections (`Ouest-France`).
    pub name: String,
    pub kind: OrgKind,
    /// Its Mastodon accounts (`user@instance`): their posts are attributed to it.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Its RSS/Atom feeds (a feed must belong to an allowlisted organisation).
    #[serde(default)]
    pub feeds: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Allowlist {
    orgs: Vec<Organisation>,
    by_name: HashMap<String, OrgId>,
    by_account: HashMap<String, OrgId>,
}

impl Allowlist {
    pub fn new(orgs: Vec<Organisation>) -> Result<Self, SocialError> {
        if orgs.len() > u16::MAX as usize {
            return Err(SocialError::config("allowlist: too many organisations"));
        }
        let mut a = Allowlist::default();
        for (i, o) in orgs.iter().enumerate() {
            let id = OrgId(i as u16);
            if o.name.trim().is_empty() {
                return Err(SocialError::config(format!("allowlist: organisation {i} has an empty name")));
            }
            if a.by_name.insert(o.name.to_lowercase(), id).is_some() {
                return Err(SocialError::config(format!("allowlist: organisation {:?} is listed twice", o.name)));
            }
            for acct in &o.accounts {
                a.by_account.insert(acct.trim_start_matches('@').to_lowercase(), id);
            }
        }
        a.orgs = orgs;
        Ok(a)
    }

    pub fn by_name(&self, name: &str) -> Option<OrgId> {
        self.by_name.get(&name.to_lowercase()).copied()
    }

    /// The organisation owning a Mastodon account (`user@instance`, any case).
    pub fn by_account(&self, acct: &str) -> Option<OrgId> {
        if self.by_account.is_empty() {
            return None;
        }
        self.by_account.get(&acct.trim_start_matches('@').to_lowercase()).copied()
    }

    /// The organisation a feed URL belongs to.
    pub fn by_feed(&self, url: &str) -> Option<OrgId> {
        self.orgs.iter().position(|o| o.feeds.iter().any(|f| f == url)).map(|i| OrgId(i as u16))
    }

    pub fn name(&self, id: OrgId) -> Option<&str> {
        self.orgs.get(id.0 as usize).map(|o| o.name.as_str())
    }

    pub fn len(&self) -> usize {
        self.orgs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.orgs.is_empty()
    }
}
