//! Who is asking: a person with a session, a machine with a token, or the public — and
//! what each may reach.

use serde::Serialize;

use super::Role;
use crate::store::SensorScope;

/// The caller of a request, resolved once by the access layer.
#[derive(Debug, Clone)]
pub enum Principal {
    /// No credentials: the public (transparency page, citizen reports).
    Anonymous,
    /// A person logged in with a session cookie.
    User(UserPrincipal),
    /// A device or integration with a bearer token.
    Token(TokenPrincipal),
}

#[derive(Debug, Clone)]
pub struct UserPrincipal {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub session_hash: String,
    pub csrf: String,
    pub must_change_password: bool,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone)]
pub struct TokenPrincipal {
    pub id: String,
    pub label: String,
    pub role: Option<Role>,
    pub sensors: SensorScope,
}

impl Principal {
    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        match self {
            Principal::Anonymous => "public".into(),
            Principal::User(u) => format!("user:{}", u.username),
            Principal::Token(t) => format!("token:{}", t.id),
        }
    }

    /// The role it acts with on the API, if any.
    pub fn role(&self) -> Option<Role> {
        match self {
            Principal::Anonymous => None,
            Principal::User(u) if u.must_change_password => None,
            Principal::User(u) => Some(u.role),
            Principal::Token(t) => t.role,
        }
    }

    /// Whether it may publish detections for this sensor.
    pub fn may_publish_for(&self, sensor: &str) -> bool {
        matches!(self, Principal::Token(t) if t.sensors.allows(sensor))
    }

    pub fn user(&self) -> Option<&UserPrincipal> {
        match self {
            Principal::User(u) => Some(u),
            _ => None,
        }
    }
}

/// What a route requires. Every route of the API declares one (`api::ROUTES`), and a
/// table-driven test walks every route with every kind of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Access {
    /// Anyone, without logging in.
    Public,
    /// Any logged-in person, even one who must still change a one-time password; or any
    /// token (who am I, log out, change my password).
    Signed,
    /// A token allowed to publish for at least one sensor; each detection is then checked
    /// against the token's sensors.
    Device,
    /// A person or service token with one of these roles.
    Roles(&'static [Role]),
    /// A signed-in person with one of these roles, never a token: what shows people
    /// (evidence, recordings, online posts), hands data out (exports) or governs access,
    /// so that every such act has a person to answer for it.
    People(&'static [Role]),
}

/// Operators and supervisors: the live picture and incident handling.
pub const OPERATIONS: &[Role] = &[Role::Operator, Role::Supervisor];
/// Supervisors only: approving exports.
pub const SUPERVISION: &[Role] = &[Role::Supervisor];
/// The data protection officer: audit log, registers.
pub const DPO: &[Role] = &[Role::Dpo];
/// The administrator: accounts and tokens.
pub const ADMIN: &[Role] = &[Role::Admin];

/// Why a caller is turned away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// No (valid) credentials where some are needed: 401.
    NotSignedIn,
    /// Signed in, but this needs another role, or a password change comes first: 403.
    Forbidden(String),
}

impl Access {
    pub fn check(self, p: &Principal) -> Result<(), Denied> {
        match self {
            Access::Public => Ok(()),
            Access::Signed => match p {
                Principal::Anonymous => Err(Denied::NotSignedIn),
                _ => Ok(()),
            },
            Access::Device => match p {
                Principal::Token(t) if !t.sensors.is_empty() => Ok(()),
                Principal::Anonymous => Err(Denied::NotSignedIn),
                _ => Err(Denied::Forbidden("publishing detections needs a device token for those sensors".into())),
            },
            Access::People(_) if matches!(p, Principal::Token(_)) => {
                Err(Denied::Forbidden("only a signed-in person may do this, not a token".into()))
            }
            Access::Roles(roles) | Access::People(roles) => match p {
                Principal::Anonymous => Err(Denied::NotSignedIn),
                Principal::User(u) if u.must_change_password => {
                    Err(Denied::Forbidden("change the one-time password first (POST /api/v1/me/password)".into()))
                }
                _ => match p.role() {
                    Some(r) if roles.contains(&r) => Ok(()),
                    Some(r) => Err(Denied::Forbidden(format!(
                        "this needs the role {} (you are {r})",
                        roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" or ")
                    ))),
                    None => Err(Denied::Forbidden("this token has no role on the API".into())),
                },
            },
        }
    }
}
