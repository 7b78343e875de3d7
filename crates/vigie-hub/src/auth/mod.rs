//! Accounts, sessions and tokens (safeguards, issue 4): who may see and do what.
//!
//! - People log in with a user name and a password (Argon2id). A session is a random id
//!   in an `HttpOnly`, `SameSite=Strict` cookie; the store keeps only its SHA-256. Every
//!   state-changing request made with a session carries the session's anti-CSRF token in
//!   `X-CSRF-Token`. A login always starts a new session (no fixation). Failed logins lock
//!   the account, and the client address, for a while ([`limiter`]).
//! - Machines use bearer tokens: a device token publishes detections for its own sensors
//!   only (HTTP and the embedded MQTT broker); a service token acts with a role.
//! - A fresh data folder gets an `admin` account with a one-time password, shown once.

mod limiter;
pub mod password;
mod principal;
mod role;
pub mod secret;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

pub use limiter::{Locked, LoginLimiter};
pub use principal::{ADMIN, Access, DPO, Denied, OPERATIONS, Principal, SUPERVISION, TokenPrincipal, UserPrincipal};
pub use role::Role;

use crate::ingest::Clock;
use crate::store::{SensorScope, SessionRecord, Store, StoreError, TokenRecord, UserRecord};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "vigie_session";
/// The header that carries the anti-CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session ends this long after login (one long shift).
pub const SESSION_MAX: Duration = Duration::hours(12);
/// …or after this long without a request.
pub const SESSION_IDLE: Duration = Duration::hours(2);
/// Device and service tokens start with this, so that a leaked one is easy to spot.
pub const TOKEN_PREFIX: &str = "vgt_";

/// Client ids one token may hold on the embedded broker (each keeps a session there).
pub const MQTT_CLIENT_IDS_PER_TOKEN: usize = 64;

/// Why the embedded broker refuses a CONNECT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MqttRefusal {
    #[error("no live token as password")]
    NoToken,
    #[error("the client id is held by token {by}")]
    ClientIdTaken { by: String },
    #[error("this token already holds {MQTT_CLIENT_IDS_PER_TOKEN} client ids")]
    TooManyClientIds,
}

/// What can go wrong with accounts.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("wrong user name or password")]
    BadCredentials,
    #[error("too many failed logins: try again after {until}")]
    Locked { until: DateTime<Utc> },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// A person's account as the API shows it (never the hash).
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub username: String,
    pub role: Role,
    pub display_name: String,
    pub must_change_password: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        UserView {
            username: u.username.clone(),
            role: u.role,
            display_name: u.display_name.clone(),
            must_change_password: u.must_change_password,
            disabled: u.disabled,
            created_at: u.created_at,
            password_changed_at: u.password_changed_at,
        }
    }
}

/// A token as the API shows it (never the secret, which is shown once at creation).
#[derive(Debug, Clone, Serialize)]
pub struct TokenView {
    pub id: String,
    pub label: String,
    pub role: Option<Role>,
    /// The sensors it may publish for; `["*"]`: all.
    pub sensors: Vec<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&TokenRecord> for TokenView {
    fn from(t: &TokenRecord) -> Self {
        TokenView {
            id: t.id.clone(),
            label: t.label.clone(),
            role: t.role,
            sensors: match &t.sensors {
                SensorScope::All => vec!["*".into()],
                SensorScope::Only(l) => l.clone(),
            },
            created_by: t.created_by.clone(),
            created_at: t.created_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A new session: the cookie value (shown to the browser only) and what the API returns.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub cookie_value: String,
    pub principal: UserPrincipal,
}

/// The hub's accounts service.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Clock,
    limiter: LoginLimiter,
    /// Live tokens by the SHA-256 of their secret: looked up on every authenticated
    /// request and every MQTT CONNECT without touching the store.
    tokens: RwLock<HashMap<String, TokenRecord>>,
    /// MQTT client id → the token it connected with (for the broker's publish checks).
    mqtt_clients: Mutex<HashMap<String, TokenPrincipal>>,
    /// Argon2 costs ~19 MiB and tens of ms: at most two verifications at once.
    hashing: tokio::sync::Semaphore,
}

fn user_principal(u: &UserRecord, s: &SessionRecord) -> UserPrincipal {
    UserPrincipal {
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: u.role,
        session_hash: s.id_hash.clone(),
        csrf: s.csrf.clone(),
        must_change_password: u.must_change_password,
        expires_at: s.expires_at,
    }
}

fn token_principal(t: &TokenRecord) -> TokenPrincipal {
    TokenPrincipal { id: t.id.clone(), label: t.label.clone(), role: t.role, sensors: t.sensors.clone() }
}

/// A user name: 2 to 64 characters of letters, digits, `.`, `_`, `-`.
pub fn check_username(name: &str) -> Result<(), AuthError> {
    let ok = (2..=64).contains(&name.len())
        && name.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-'));
    if ok { Ok(()) } else { Err(AuthError::Invalid(format!("invalid user name {name:?} (2–64 of a-z 0-9 . _ -)"))) }
}

impl Auth {
    /// Loads the live tokens. Call [`Auth::refresh_tokens`] from time to time when several
    /// hubs share one store (a token revoked on one hub stops working on the others).
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Result<Auth, AuthError> {
        let auth = Auth {
            inner: Arc::new(Inner {
                store,
                clock,
                limiter: LoginLimiter::default(),
                tokens: RwLock::new(HashMap::new()),
                mqtt_clients: Mutex::new(HashMap::new()),
                hashing: tokio::sync::Semaphore::new(2),
            }),
        };
        auth.refresh_tokens()?;
        Ok(auth)
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.inner.clock)()
    }

    fn registry(&self) -> &crate::store::Registry {
        self.inner.store.registry()
    }

    /// Reloads the live (not revoked) tokens from the store.
    pub fn refresh_tokens(&self) -> Result<(), AuthError> {
        let live: HashMap<String, TokenRecord> = self
            .registry()
            .tokens()?
            .into_iter()
            .filter(|t| t.revoked_at.is_none())
            .map(|t| (t.secret_hash.clone(), t))
            .collect();
        let ids: std::collections::HashSet<&str> = live.values().map(|t| t.id.as_str()).collect();
        self.inner.mqtt_clients.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, t| ids.contains(t.id.as_str()));
        *self.inner.tokens.write().unwrap_or_else(|p| p.into_inner()) = live;
        Ok(())
    }

    // ---- bootstrap ---------------------------------------------------------------

    /// On a store with no account at all, creates `admin` with a one-time password and
    /// returns it (to be shown once).
    pub fn bootstrap_admin(&self) -> Result<Option<String>, AuthError> {
        if self.registry().user_count()? > 0 {
            return Ok(None);
        }
        let otp = secret::one_time_password();
        self.create_user_with_password("admin", Role::Admin, "Administrateur", &otp, true)?;
        Ok(Some(otp))
    }

    /// Creates an account with a chosen password (demo accounts, recovery); `false` if
    /// the name is taken.
    pub fn create_user_with_password(
        &self,
        username: &str,
        role: Role,
        display_name: &str,
        password: &str,
        must_change: bool,
    ) -> Result<bool, AuthError> {
        check_username(username)?;
        let now = self.now();
        let hash = password::hash(password).map_err(AuthError::Hash)?;
        Ok(self.registry().create_user(&UserRecord {
            username: username.to_owned(),
            role,
            display_name: display_name.to_owned(),
            password_hash: hash,
            must_change_password: must_change,
            disabled: false,
            created_at: now,
            password_changed_at: now,
        })?)
    }

    // ---- sessions ----------------------------------------------------------------

    /// Checks a user name and password and opens a new session.
    pub async fn login(&self, username: &str, password: &str, client: IpAddr) -> Result<NewSession, AuthError> {
        let user = self.verify_password(username, password, client).await?;
        let now = self.now();
        let cookie_value = secret::random_token();
        let session = SessionRecord {
            id_hash: secret::sha256_hex(&cookie_value),
            username: user.username.clone(),
            csrf: secret::random_token(),
            created_at: now,
            last_seen: now,
            expires_at: now + SESSION_MAX,
            client: client.to_string(),
        };
        let store = self.inner.store.clone();
        let s = session.clone();
        tokio::task::spawn_blocking(move || store.registry().create_session(&s))
            .await
            .map_err(|e| AuthError::Hash(e.to_string()))??;
        Ok(NewSession { cookie_value, principal: user_principal(&user, &session) })
    }

    /// Checks a password under the lock-out rules: a wrong one counts as a failed login.
    /// An unknown name, a disabled account and a wrong password answer alike and cost
    /// the same time, so that none tells which accounts exist.
    async fn verify_password(&self, username: &str, password: &str, client: IpAddr) -> Result<UserRecord, AuthError> {
        let now = self.now();
        self.inner.limiter.begin(username, client, now).map_err(|l| AuthError::Locked { until: l.until() })?;
        match self.check_password(username, password).await {
            Ok(Some(user)) => {
                self.inner.limiter.succeeded(username, client);
                Ok(user)
            }
            outcome => {
                if let Some(l) = self.inner.limiter.failed(username, client, now) {
                    tracing::warn!(username, %client, until = %l.until(), "login locked after repeated failures");
                }
                outcome.and(Err(AuthError::BadCredentials))
            }
        }
    }

    /// The account if the password is its own and it may sign in.
    async fn check_password(&self, username: &str, password: &str) -> Result<Option<UserRecord>, AuthError> {
        let plausible = check_username(username).is_ok() && password.len() <= password::MAX_LEN;
        let found = if plausible {
            let store = self.inner.store.clone();
            let name = username.to_owned();
            tokio::task::spawn_blocking(move || store.registry().user(&name))
                .await
                .map_err(|e| AuthError::Hash(e.to_string()))??
        } else {
            None
        };
        let phc = found.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| password::decoy_hash().to_owned());
        // Overlong input is hashed as an empty password: same cost, never a match.
        let pw = if plausible { password.to_owned() } else { String::new() };
        let ok = {
            let _permit = self.inner.hashing.acquire().await.map_err(|e| AuthError::Hash(e.to_string()))?;
            tokio::task::spawn_blocking(move || password::verify(&pw, &phc))
                .await
                .map_err(|e| AuthError::Hash(e.to_string()))?
        };
        Ok(found.filter(|u| ok && !u.disabled))
    }

    /// Does an account of this name exist? (False on any store error.)
    pub async fn user_exists(&self, username: &str) -> bool {
        if check_username(username).is_err() {
            return false;
        }
        let (store, name) = (self.inner.store.clone(), username.to_owned());
        matches!(tokio::task::spawn_blocking(move || store.registry().user(&name)).await, Ok(Ok(Some(_))))
    }

    /// The person behind a session cookie, if the session is live; refreshes its
    /// last-seen time (at most once a minute). Blocking: call off the async workers.
    pub fn session_principal(&self, cookie_value: &str) -> Result<Option<UserPrincipal>, AuthError> {
        let now = self.now();
        let id_hash = secret::sha256_hex(cookie_value);
        let reg = self.registry();
        let Some(session) = reg.session(&id_hash)? else { return Ok(None) };
        if session.expires_at <= now || session.last_seen + SESSION_IDLE <= now {
            reg.delete_session(&id_hash)?;
            return Ok(None);
        }
        let Some(user) = reg.user(&session.username)? else { return Ok(None) };
        if user.disabled {
            return Ok(None);
        }
        if now - session.last_seen > Duration::minutes(1) {
            reg.touch_session(&id_hash, now)?;
        }
        Ok(Some(user_principal(&user, &session)))
    }

    /// The token behind a bearer secret, if it is live.
    pub fn token_principal(&self, secret: &str) -> Option<TokenPrincipal> {
        let hash = secret::sha256_hex(secret);
        self.inner.tokens.read().unwrap_or_else(|p| p.into_inner()).get(&hash).map(token_principal)
    }

    /// Is this caller still who it was when its request came in: session live and account
    /// enabled, token not revoked? Long answers (the live stream) ask it from time to
    /// time and end when it says no. Blocking.
    pub fn still_live(&self, who: &Principal) -> bool {
        match who {
            Principal::Anonymous => true,
            Principal::Token(t) => {
                self.inner.tokens.read().unwrap_or_else(|p| p.into_inner()).values().any(|r| r.id == t.id)
            }
            Principal::User(u) => {
                let now = self.now();
                let reg = self.registry();
                let session = reg.session(&u.session_hash).ok().flatten();
                let live = session.is_some_and(|s| s.expires_at > now && s.last_seen + SESSION_IDLE > now);
                live && reg.user(&u.username).ok().flatten().is_some_and(|user| !user.disabled && user.role == u.role)
            }
        }
    }

    /// Ends a session. Blocking.
    pub fn logout(&self, session_hash: &str) -> Result<(), AuthError> {
        self.registry().delete_session(session_hash)?;
        Ok(())
    }

    /// Changes one's own password (after checking the current one); ends every session of
    /// the account and opens a fresh one.
    pub async fn change_password(
        &self,
        user: &UserPrincipal,
        current: &str,
        new: &str,
        client: IpAddr,
    ) -> Result<NewSession, AuthError> {
        password::check_policy(&user.username, new).map_err(AuthError::Invalid)?;
        if current == new {
            return Err(AuthError::Invalid("the new password must differ from the current one".into()));
        }
        self.verify_password(&user.username, current, client).await?;
        let hash = {
            let _permit = self.inner.hashing.acquire().await.map_err(|e| AuthError::Hash(e.to_string()))?;
            let pw = new.to_owned();
            tokio::task::spawn_blocking(move || password::hash(&pw))
                .await
                .map_err(|e| AuthError::Hash(e.to_string()))?
                .map_err(AuthError::Hash)?
        };
        let store = self.inner.store.clone();
        let (name, now) = (user.username.clone(), self.now());
        tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
            store.registry().set_password(&name, &hash, false, now)?;
            store.registry().delete_sessions_of(&name)?;
            Ok(())
        })
        .await
        .map_err(|e| AuthError::Hash(e.to_string()))??;
        // A fresh session with the new password (the old ids are gone).
        self.login(&user.username, new, client).await
    }

    /// Removes expired and idle sessions. Blocking.
    pub fn purge_sessions(&self) -> Result<u64, AuthError> {
        let now = self.now();
        Ok(self.registry().delete_stale_sessions(now, now - SESSION_IDLE)?)
    }

    // ---- administration (blocking) ------------------------------------------------

    pub fn users(&self) -> Result<Vec<UserView>, AuthError> {
        Ok(self.registry().users()?.iter().map(UserView::from).collect())
    }

    /// Creates an account with a one-time password, returned to be handed over.
    pub fn create_user(&self, username: &str, role: Role, display_name: &str) -> Result<String, AuthError> {
        let otp = secret::one_time_password();
        if !self.create_user_with_password(username, role, display_name, &otp, true)? {
            return Err(AuthError::Conflict(format!("the user name {username:?} is taken")));
        }
        Ok(otp)
    }

    /// Issues a new one-time password and ends the account's sessions.
    pub fn reset_password(&self, username: &str) -> Result<String, AuthError> {
        let otp = secret::one_time_password();
        let hash = password::hash(&otp).map_err(AuthError::Hash)?;
        if !self.registry().set_password(username, &hash, true, self.now())? {
            return Err(AuthError::NotFound(format!("no user {username:?}")));
        }
        self.registry().delete_sessions_of(username)?;
        Ok(otp)
    }

    /// Disables (or enables) an account; disabling ends its sessions.
    pub fn set_disabled(&self, username: &str, disabled: bool) -> Result<(), AuthError> {
        if !self.registry().set_disabled(username, disabled)? {
            return Err(AuthError::NotFound(format!("no user {username:?}")));
        }
        if disabled {
            self.registry().delete_sessions_of(username)?;
        }
        Ok(())
    }

    pub fn tokens(&self) -> Result<Vec<TokenView>, AuthError> {
        Ok(self.registry().tokens()?.iter().map(TokenView::from).collect())
    }

    /// Issues a token; returns its view and its secret (shown once).
    pub fn create_token(
        &self,
        label: &str,
        role: Option<Role>,
        sensors: SensorScope,
        created_by: &str,
    ) -> Result<(TokenView, String), AuthError> {
        let secret = format!("{TOKEN_PREFIX}{}", secret::random_token());
        let view = self.create_token_with_secret(label, role, sensors, created_by, &secret)?;
        Ok((view, secret))
    }

    /// Issues a token with a chosen secret (the demo's well-known token).
    pub fn create_token_with_secret(
        &self,
        label: &str,
        role: Option<Role>,
        sensors: SensorScope,
        created_by: &str,
        secret: &str,
    ) -> Result<TokenView, AuthError> {
        let label = label.trim();
        if label.is_empty() || label.len() > 100 {
            return Err(AuthError::Invalid("a token needs a label of 1 to 100 characters".into()));
        }
        if role.is_none() && sensors.is_empty() {
            return Err(AuthError::Invalid("a token needs sensors to publish for, a role, or both".into()));
        }
        if matches!(role, Some(Role::Admin | Role::Dpo)) {
            return Err(AuthError::Invalid(
                "a token may act as operator or supervisor only: the DPO and administrators log in".into(),
            ));
        }
        let record = TokenRecord {
            id: format!("tok_{}", ulid::Ulid::new()),
            secret_hash: secret::sha256_hex(secret),
            label: label.to_owned(),
            role,
            sensors,
            created_by: created_by.to_owned(),
            created_at: self.now(),
            revoked_at: None,
        };
        self.registry().create_token(&record)?;
        let view = TokenView::from(&record);
        self.inner.tokens.write().unwrap_or_else(|p| p.into_inner()).insert(record.secret_hash.clone(), record);
        Ok(view)
    }

    /// Revokes a token: it stops working at once on this hub.
    pub fn revoke_token(&self, id: &str) -> Result<(), AuthError> {
        if !self.registry().revoke_token(id, self.now())? {
            return Err(AuthError::NotFound(format!("no live token {id:?}")));
        }
        self.inner.tokens.write().unwrap_or_else(|p| p.into_inner()).retain(|_, t| t.id != id);
        self.inner.mqtt_clients.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, t| t.id != id);
        Ok(())
    }

    // ---- the embedded broker ------------------------------------------------------

    /// An MQTT CONNECT: the password must be a live token, and the client id must not be
    /// one another token already uses: taking over a client id takes over its session
    /// (its subscriptions and queued messages) and closes the device that held it.
    /// Non-blocking.
    pub fn mqtt_connect(&self, client_id: &str, password: Option<&[u8]>) -> Result<(), MqttRefusal> {
        let token = password
            .and_then(|p| std::str::from_utf8(p).ok())
            .and_then(|s| self.token_principal(s))
            .ok_or(MqttRefusal::NoToken)?;
        let mut clients = self.inner.mqtt_clients.lock().unwrap_or_else(|p| p.into_inner());
        match clients.get(client_id) {
            Some(bound) if bound.id != token.id => return Err(MqttRefusal::ClientIdTaken { by: bound.id.clone() }),
            Some(_) => {}
            None if clients.values().filter(|t| t.id == token.id).count() >= MQTT_CLIENT_IDS_PER_TOKEN => {
                return Err(MqttRefusal::TooManyClientIds);
            }
            None => {}
        }
        clients.insert(client_id.to_owned(), token);
        Ok(())
    }

    /// May this MQTT client publish (or subscribe) on this topic? Devices publish their own
    /// sensors' detections and status; tokens with an operations role may subscribe to
    /// incidents, detections and status. Non-blocking.
    pub fn mqtt_authorize(&self, client_id: &str, topic: &str, is_subscribe: bool) -> bool {
        let clients = self.inner.mqtt_clients.lock().unwrap_or_else(|p| p.into_inner());
        let Some(token) = clients.get(client_id) else { return false };
        if is_subscribe {
            // `$share/{group}/{filter}` spreads a subscription over several readers.
            let filter = match topic.strip_prefix("$share/").and_then(|r| r.split_once('/')) {
                Some((_, f)) => f,
                None => topic,
            };
            let readable = ["vigie/v1/incidents/", "vigie/v1/detections/", "vigie/v1/status/"];
            return token.role.is_some_and(|r| OPERATIONS.contains(&r))
                && readable.iter().any(|p| filter.starts_with(p) || filter == p.trim_end_matches('/'));
        }
        let sensor = topic
            .strip_prefix(vigie_model::DETECTION_TOPIC_PREFIX)
            .or_else(|| topic.strip_prefix(vigie_model::STATUS_TOPIC_PREFIX))
            .or_else(|| topic.strip_prefix(vigie_model::TELEMETRY_TOPIC_PREFIX));
        sensor.is_some_and(|s| !s.contains(['/', '+', '#']) && token.sensors.allows(s))
    }
}
