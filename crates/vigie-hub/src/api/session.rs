//! Signing in and out: `POST /api/v1/login`, `POST /api/v1/logout`, `GET /api/v1/me`,
//! `POST /api/v1/me/password`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vigie_audit::Action;

use super::{ApiError, AppState, ClientAddr, ErrorCode, audited};
use crate::auth::{AuthError, NewSession, Principal, Role, SESSION_COOKIE, SESSION_MAX, UserPrincipal};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

/// Who is signed in, and the token to echo in `X-CSRF-Token`.
#[derive(Debug, Serialize)]
pub struct Me {
    pub kind: &'static str,
    pub username: String,
    pub display_name: String,
    pub role: Option<Role>,
    /// Echo it in `X-CSRF-Token` on every POST made with the session cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    pub must_change_password: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_expires_at: Option<DateTime<Utc>>,
}

impl Me {
    fn of_user(u: &UserPrincipal) -> Me {
        Me {
            kind: "user",
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: Some(u.role),
            csrf_token: Some(u.csrf.clone()),
            must_change_password: u.must_change_password,
            session_expires_at: Some(u.expires_at),
        }
    }
}

/// `Secure` when the hub listens beyond loopback, or when a TLS proxy in front says the
/// browser came over HTTPS (the cookie then never travels in clear, even on a loopback
/// hub behind that proxy).
fn session_cookie(st: &AppState, headers: &HeaderMap, value: &str, max_age_secs: i64) -> HeaderValue {
    let proxied_https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').next().is_some_and(|p| p.trim().eq_ignore_ascii_case("https")));
    let secure = if st.secure_cookies || proxied_https { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("vigie_session=; Max-Age=0"))
}

pub(crate) fn auth_error(e: AuthError) -> ApiError {
    match e {
        AuthError::BadCredentials => ApiError::new(ErrorCode::Unauthorized, e.to_string()),
        AuthError::Locked { .. } => ApiError::new(ErrorCode::TooManyRequests, e.to_string()),
        AuthError::Invalid(m) => ApiError::bad_request(m),
        AuthError::NotFound(m) => ApiError::not_found(m),
        AuthError::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
        AuthError::Store(e) => ApiError::from(e),
        AuthError::Hash(m) => ApiError::internal(m),
    }
}

fn signed_in(st: &AppState, headers: &HeaderMap, s: NewSession) -> Response {
    let cookie = session_cookie(st, headers, &s.cookie_value, SESSION_MAX.num_seconds());
    let mut resp = Json(Me::of_user(&s.principal)).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Always a new session, whatever cookie came with the request: a session id planted
/// before login is never promoted (no session fixation).
pub async fn login(
    State(st): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    headers: HeaderMap,
    body: Result<Json<LoginBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(b) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    // Names are lower case: "Alice" signs in as "alice".
    let username = b.username.trim().to_lowercase();
    let anonymous = Principal::Anonymous;
    match st.auth.login(&username, &b.password, client.ip()).await {
        Ok(s) => {
            let who = Principal::User(s.principal.clone());
            audited(
                &st,
                &who,
                Action::Login,
                format!("user/{username}"),
                serde_json::json!({ "client": client.ip().to_string() }),
            )
            .await?;
            Ok(signed_in(&st, &headers, s))
        }
        Err(e @ AuthError::Locked { .. }) => {
            // The failures that caused the lock are in the audit log; the attempts it then
            // turns away are only counted, so that a flood cannot swell the log.
            st.ingest.metrics().logins_locked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut err = auth_error(e).into_response();
            err.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("900"));
            Ok(err)
        }
        Err(e) => {
            let detail = serde_json::json!({ "client": client.ip().to_string(), "reason": e.to_string() });
            // Only an existing account is named: what someone types in the name field may
            // be a password typed in the wrong box.
            let target =
                if st.auth.user_exists(&username).await { format!("user/{username}") } else { "user/?".into() };
            audited(&st, &anonymous, Action::LoginFailed, target, detail).await?;
            Ok(auth_error(e).into_response())
        }
    }
}

pub async fn logout(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Principal::User(u) = &who {
        let (auth, hash) = (st.auth.clone(), u.session_hash.clone());
        tokio::task::spawn_blocking(move || auth.logout(&hash))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(auth_error)?;
        audited(&st, &who, Action::Logout, format!("user/{}", u.username), serde_json::Value::Null).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(header::SET_COOKIE, session_cookie(&st, &headers, "", 0));
    Ok(resp)
}

pub async fn me(Extension(who): Extension<Principal>) -> Result<Response, ApiError> {
    let me = match &who {
        Principal::User(u) => Me::of_user(u),
        Principal::Token(t) => Me {
            kind: "token",
            username: t.id.clone(),
            display_name: t.label.clone(),
            role: t.role,
            csrf_token: None,
            must_change_password: false,
            session_expires_at: None,
        },
        Principal::Anonymous => Me {
            kind: "anonymous",
            username: String::new(),
            display_name: String::new(),
            role: None,
            csrf_token: None,
            must_change_password: false,
            session_expires_at: None,
        },
    };
    let mut resp = Json(me).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    headers: HeaderMap,
    body: Result<Json<PasswordBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(b) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let Some(user) = who.user() else {
        return Err(ApiError::bad_request("tokens have no password; ask an administrator for a new token"));
    };
    let s =
        st.auth.change_password(user, &b.current_password, &b.new_password, client.ip()).await.map_err(auth_error)?;
    audited(
        &st,
        &who,
        Action::ConfigChange,
        format!("user/{}", user.username),
        serde_json::json!({ "change": "password" }),
    )
    .await?;
    Ok(signed_in(&st, &headers, s))
}
