//! Administration: accounts (`/api/v1/users`) and device or service tokens
//! (`/api/v1/tokens`). Every change is in the audit log; passwords and token secrets are
//! shown once, in the answer that creates them.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use vigie_audit::Action;

use super::session::auth_error;
use super::{ApiError, AppState, audited};
use crate::auth::{Principal, Role, TokenView, UserView};
use crate::store::SensorScope;

async fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::auth::AuthError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::internal(e.to_string()))?.map_err(auth_error)
}

pub async fn users(State(st): State<AppState>) -> Result<Json<Vec<UserView>>, ApiError> {
    let auth = st.auth.clone();
    Ok(Json(off_thread(move || auth.users()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    username: String,
    role: Role,
    #[serde(default)]
    display_name: Option<String>,
}

/// A one-time password, to hand to its owner; the next login must replace it.
#[derive(Debug, Serialize)]
pub struct OneTimePassword {
    pub username: String,
    pub one_time_password: String,
}

pub async fn create_user(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Result<Json<NewUser>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<OneTimePassword>, ApiError> {
    let Json(b) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (auth, name) = (st.auth.clone(), b.username.trim().to_owned());
    let display = b.display_name.unwrap_or_else(|| name.clone());
    let n = name.clone();
    let otp = off_thread(move || auth.create_user(&n, b.role, &display)).await?;
    let detail = serde_json::json!({ "change": "user_created", "role": b.role });
    audited(&st, &who, Action::ConfigChange, format!("user/{name}"), detail).await?;
    Ok(Json(OneTimePassword { username: name, one_time_password: otp }))
}

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum UserAction {
    ResetPassword,
    Disable,
    Enable,
}

pub async fn user_action(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(username): Path<String>,
    body: Result<Json<UserAction>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(action) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if who.user().is_some_and(|u| u.username == username) && matches!(action, UserAction::Disable) {
        return Err(ApiError::bad_request("an administrator cannot disable their own account"));
    }
    let auth = st.auth.clone();
    let name = username.clone();
    let (change, answer) = match action {
        UserAction::ResetPassword => {
            let otp = off_thread(move || auth.reset_password(&name)).await?;
            ("password_reset", serde_json::json!({ "username": username, "one_time_password": otp }))
        }
        UserAction::Disable => {
            off_thread(move || auth.set_disabled(&name, true)).await?;
            ("disabled", serde_json::json!({ "username": username, "disabled": true }))
        }
        UserAction::Enable => {
            off_thread(move || auth.set_disabled(&name, false)).await?;
            ("enabled", serde_json::json!({ "username": username, "disabled": false }))
        }
    };
    audited(&st, &who, Action::ConfigChange, format!("user/{username}"), serde_json::json!({ "change": change }))
        .await?;
    Ok(Json(answer))
}

pub async fn tokens(State(st): State<AppState>) -> Result<Json<Vec<TokenView>>, ApiError> {
    let auth = st.auth.clone();
    Ok(Json(off_thread(move || auth.tokens()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    label: String,
    /// Sensors it may publish for; `["*"]` for all.
    #[serde(default)]
    sensors: Vec<String>,
    /// A role it acts with on the API (operator or supervisor), if any.
    #[serde(default)]
    role: Option<Role>,
}

#[derive(Debug, Serialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub view: TokenView,
    /// The secret, shown only now: `Authorization: Bearer …` over HTTP, the password over MQTT.
    pub token: String,
}

pub async fn create_token(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Result<Json<NewToken>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<CreatedToken>, ApiError> {
    let Json(b) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let config = st.ingest.config();
    let sensors = if b.sensors.iter().any(|s| s == "*") {
        SensorScope::All
    } else {
        for s in &b.sensors {
            if config.sensor(s).is_none() {
                return Err(ApiError::bad_request(format!("sensor {s:?} is not declared in the hub's config")));
            }
        }
        SensorScope::Only(b.sensors.clone())
    };
    let (auth, actor) = (st.auth.clone(), who.actor());
    let label = b.label.clone();
    let (view, token) = off_thread(move || auth.create_token(&label, b.role, sensors, &actor)).await?;
    let detail = serde_json::json!({ "change": "token_created", "sensors": view.sensors, "role": view.role, "label": view.label });
    audited(&st, &who, Action::ConfigChange, format!("token/{}", view.id), detail).await?;
    Ok(Json(CreatedToken { view, token }))
}

pub async fn revoke_token(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let auth = st.auth.clone();
    let i = id.clone();
    off_thread(move || auth.revoke_token(&i)).await?;
    audited(&st, &who, Action::ConfigChange, format!("token/{id}"), serde_json::json!({ "change": "token_revoked" }))
        .await?;
    Ok(Json(serde_json::json!({ "id": id, "revoked": true })))
}
