//! The registers the safeguards keep beside detections and incidents: accounts, sessions,
//! device and service tokens. Written once over [`SqlConn`], so both backends run the
//! same statements and the same conformance suite.

use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use super::sql::{Dialect, Row, SqlConn};
use super::{Result, StoreError, from_ms, ms};
use crate::auth::Role;

const SCHEMA: &str = include_str!("schema_registry.sql");

/// A person's account. The password is kept only as an Argon2id PHC string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub username: String,
    pub role: Role,
    pub display_name: String,
    pub password_hash: String,
    /// A one-time password was issued: the next login must set a new one.
    pub must_change_password: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
}

/// A login session. The cookie holds a random id; the store keeps only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: String,
    pub username: String,
    /// The anti-CSRF token the console echoes in `X-CSRF-Token`.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The client's address at login, for the audit log.
    pub client: String,
}

/// Which sensors a token may publish for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SensorScope {
    /// Only these (a device token: one camera, one microphone array…).
    Only(Vec<String>),
    /// Every sensor of the config (a gateway or the demo replay).
    All,
}

impl SensorScope {
    pub fn allows(&self, sensor: &str) -> bool {
        match self {
            SensorScope::All => true,
            SensorScope::Only(list) => list.iter().any(|s| s == sensor),
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, SensorScope::Only(l) if l.is_empty())
    }

    fn to_json(&self) -> String {
        match self {
            SensorScope::All => r#"["*"]"#.into(),
            SensorScope::Only(l) => serde_json::to_string(l).unwrap_or_else(|_| "[]".into()),
        }
    }

    fn from_json(s: &str) -> Result<SensorScope> {
        let list: Vec<String> = super::parse_json("token sensors", s)?;
        Ok(if list.iter().any(|s| s == "*") { SensorScope::All } else { SensorScope::Only(list) })
    }
}

/// A bearer token for a machine: a device publishing detections for its own sensors,
/// and/or an integration acting with a role. The secret is kept only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Public identifier (`tok_…`), shown in lists and the audit log.
    pub id: String,
    pub secret_hash: String,
    pub label: String,
    /// A service token acts with this role on the API (no cookie, no CSRF).
    pub role: Option<Role>,
    pub sensors: SensorScope,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The registers, on a connection of their own (SQLite serialises it with the ingest
/// writer; PostgreSQL runs it beside).
pub struct Registry {
    conn: Mutex<Box<dyn SqlConn>>,
}

fn role_of(s: &str) -> Result<Role> {
    s.parse::<Role>().map_err(StoreError::Corrupt)
}

const USER_COLUMNS: &str =
    "username, role, display_name, password_hash, must_change_password, disabled, created_ms, password_changed_ms";

fn user_from(r: &Row) -> Result<UserRecord> {
    Ok(UserRecord {
        username: r.text(0)?,
        role: role_of(&r.text(1)?)?,
        display_name: r.text(2)?,
        password_hash: r.text(3)?,
        must_change_password: r.bool(4)?,
        disabled: r.bool(5)?,
        created_at: from_ms(r.int(6)?)?,
        password_changed_at: from_ms(r.int(7)?)?,
    })
}

const SESSION_COLUMNS: &str = "id_hash, username, csrf, created_ms, last_seen_ms, expires_ms, client";

fn session_from(r: &Row) -> Result<SessionRecord> {
    Ok(SessionRecord {
        id_hash: r.text(0)?,
        username: r.text(1)?,
        csrf: r.text(2)?,
        created_at: from_ms(r.int(3)?)?,
        last_seen: from_ms(r.int(4)?)?,
        expires_at: from_ms(r.int(5)?)?,
        client: r.text(6)?,
    })
}

const TOKEN_COLUMNS: &str = "id, secret_hash, label, role, sensors, created_by, created_ms, revoked_ms";

fn token_from(r: &Row) -> Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.text(0)?,
        secret_hash: r.text(1)?,
        label: r.text(2)?,
        role: r.opt_text(3)?.map(|s| role_of(&s)).transpose()?,
        sensors: SensorScope::from_json(&r.text(4)?)?,
        created_by: r.text(5)?,
        created_at: from_ms(r.int(6)?)?,
        revoked_at: r.opt_int(7)?.map(from_ms).transpose()?,
    })
}

impl Registry {
    /// Creates the register tables if needed.
    pub(crate) fn open(mut conn: Box<dyn SqlConn>) -> Result<Registry> {
        match conn.dialect() {
            // Serialise concurrent migrations of several hubs on one database.
            Dialect::Postgres => {
                conn.batch(&format!("SELECT pg_advisory_lock(7419); {SCHEMA} SELECT pg_advisory_unlock(7419);"))?
            }
            Dialect::Sqlite => conn.batch(SCHEMA)?,
        }
        Ok(Registry { conn: Mutex::new(conn) })
    }

    pub(super) fn conn(&self) -> MutexGuard<'_, Box<dyn SqlConn>> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    // ---- accounts ----------------------------------------------------------------

    pub fn user_count(&self) -> Result<u64> {
        let rows = self.conn().rows("SELECT COUNT(*) FROM users", &[])?;
        Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0).max(0) as u64)
    }

    /// Creates an account; `false` if the name is taken.
    pub fn create_user(&self, u: &UserRecord) -> Result<bool> {
        let n = self.conn().exec(
            &format!("INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (username) DO NOTHING"),
            &[
                u.username.as_str().into(),
                u.role.as_str().into(),
                u.display_name.as_str().into(),
                u.password_hash.as_str().into(),
                u.must_change_password.into(),
                u.disabled.into(),
                ms(u.created_at).into(),
                ms(u.password_changed_at).into(),
            ],
        )?;
        Ok(n == 1)
    }

    pub fn user(&self, username: &str) -> Result<Option<UserRecord>> {
        let rows =
            self.conn().rows(&format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1"), &[username.into()])?;
        rows.first().map(user_from).transpose()
    }

    pub fn users(&self) -> Result<Vec<UserRecord>> {
        let rows = self.conn().rows(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY username"), &[])?;
        rows.iter().map(user_from).collect()
    }

    /// Sets a new password hash; `false` if there is no such account.
    pub fn set_password(&self, username: &str, hash: &str, must_change: bool, now: DateTime<Utc>) -> Result<bool> {
        let n = self.conn().exec(
            "UPDATE users SET password_hash = $2, must_change_password = $3, password_changed_ms = $4 WHERE username = $1",
            &[username.into(), hash.into(), must_change.into(), ms(now).into()],
        )?;
        Ok(n == 1)
    }

    pub fn set_disabled(&self, username: &str, disabled: bool) -> Result<bool> {
        let n = self
            .conn()
            .exec("UPDATE users SET disabled = $2 WHERE username = $1", &[username.into(), disabled.into()])?;
        Ok(n == 1)
    }

    // ---- sessions ----------------------------------------------------------------

    pub fn create_session(&self, s: &SessionRecord) -> Result<()> {
        self.conn().exec(
            &format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            &[
                s.id_hash.as_str().into(),
                s.username.as_str().into(),
                s.csrf.as_str().into(),
                ms(s.created_at).into(),
                ms(s.last_seen).into(),
                ms(s.expires_at).into(),
                s.client.as_str().into(),
            ],
        )?;
        Ok(())
    }

    pub fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>> {
        let rows = self
            .conn()
            .rows(&format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id_hash = $1"), &[id_hash.into()])?;
        rows.first().map(session_from).transpose()
    }

    pub fn touch_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn()
            .exec("UPDATE sessions SET last_seen_ms = $2 WHERE id_hash = $1", &[id_hash.into(), ms(now).into()])?;
        Ok(())
    }

    pub fn delete_session(&self, id_hash: &str) -> Result<bool> {
        Ok(self.conn().exec("DELETE FROM sessions WHERE id_hash = $1", &[id_hash.into()])? == 1)
    }

    /// Ends every session of an account (password change, disabling).
    pub fn delete_sessions_of(&self, username: &str) -> Result<u64> {
        self.conn().exec("DELETE FROM sessions WHERE username = $1", &[username.into()])
    }

    /// Removes sessions past their expiry or idle for longer than `idle_before`.
    pub fn delete_stale_sessions(&self, now: DateTime<Utc>, idle_before: DateTime<Utc>) -> Result<u64> {
        self.conn().exec(
            "DELETE FROM sessions WHERE expires_ms <= $1 OR last_seen_ms < $2",
            &[ms(now).into(), ms(idle_before).into()],
        )
    }

    // ---- tokens ------------------------------------------------------------------

    pub fn create_token(&self, t: &TokenRecord) -> Result<()> {
        self.conn().exec(
            &format!("INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
            &[
                t.id.as_str().into(),
                t.secret_hash.as_str().into(),
                t.label.as_str().into(),
                t.role.map(|r| r.as_str().to_owned()).into(),
                t.sensors.to_json().into(),
                t.created_by.as_str().into(),
                ms(t.created_at).into(),
                t.revoked_at.map(ms).into(),
            ],
        )?;
        Ok(())
    }

    /// Every token, revoked ones included (newest first).
    pub fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let rows =
            self.conn().rows(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_ms DESC, id"), &[])?;
        rows.iter().map(token_from).collect()
    }

    /// Revokes a token; `false` if there is no such token or it was already revoked.
    pub fn revoke_token(&self, id: &str, now: DateTime<Utc>) -> Result<bool> {
        let n = self.conn().exec(
            "UPDATE tokens SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL",
            &[id.into(), ms(now).into()],
        )?;
        Ok(n == 1)
    }
}
