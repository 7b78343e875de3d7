//! The people who use the hub, by what their job lets them see and do.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A role. Each sees only what its job needs (least privilege): operators and supervisors
/// handle incidents, the data protection officer audits, the administrator runs the system
/// — and, by design, neither the DPO nor the administrator reads live incidents or evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Watches the map and the queue, handles incidents, requests evidence exports.
    Operator,
    /// An operator who also approves or refuses exports requested by someone else.
    Supervisor,
    /// The data protection officer: the audit log, the registers, retention.
    Dpo,
    /// Accounts and device tokens.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Operator, Role::Supervisor, Role::Dpo, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
            Role::Dpo => "dpo",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?} (operator, supervisor, dpo, admin)"))
    }
}
