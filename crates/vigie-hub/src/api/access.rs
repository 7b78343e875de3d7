//! The access layer in front of every route: who is calling (session cookie, bearer
//! token, or nobody), whether that caller may use this route (`ROUTES` names what each
//! route requires), and CSRF protection for requests made with a session cookie.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState, ErrorCode, route_access};
use crate::auth::{CSRF_HEADER, Denied, Principal, SESSION_COOKIE, secret};

/// The value of the session cookie, if the request carries one.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Who is calling. A bearer token that is not live is an error (a device must learn its
/// token was revoked); a stale session cookie just means "not signed in".
async fn resolve(st: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    if let Some(token) = bearer(headers) {
        return st
            .auth
            .token_principal(token)
            .map(Principal::Token)
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "this token is unknown or revoked"));
    }
    let Some(cookie) = session_cookie(headers) else { return Ok(Principal::Anonymous) };
    let (auth, cookie) = (st.auth.clone(), cookie.to_owned());
    let user = tokio::task::spawn_blocking(move || auth.session_principal(&cookie))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::new(ErrorCode::Unavailable, e.to_string()))?;
    Ok(user.map_or(Principal::Anonymous, Principal::User))
}

/// A state-changing request from a browser must come from the hub's own pages: its
/// `Origin` (sent by every browser on such requests) must name the host it was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true; // not a browser (curl, devices): nothing ambient to abuse
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else { return false };
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    origin_host.eq_ignore_ascii_case(host)
}

pub(crate) async fn authorize(
    State(st): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let access = matched.as_ref().and_then(|m| route_access(method.as_str(), m.as_str()));
    // Every served route is in ROUTES; this is a guard against a route added otherwise.
    let Some(access) = access else {
        return ApiError::new(ErrorCode::Forbidden, "this route declares no access rule").into_response();
    };
    let unsafe_method = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && !same_origin(req.headers()) {
        return ApiError::new(ErrorCode::Forbidden, "cross-origin request refused").into_response();
    }
    let principal = match resolve(&st, req.headers()).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    if let (true, Principal::User(u)) = (unsafe_method, &principal) {
        let sent = req.headers().get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or(b"");
        if !secret::constant_time_eq(sent, u.csrf.as_bytes()) {
            return ApiError::new(
                ErrorCode::Forbidden,
                "missing or wrong X-CSRF-Token (send the csrf_token of GET /api/v1/me)",
            )
            .into_response();
        }
    }
    if let Err(denied) = access.check(&principal) {
        let had_cookie = session_cookie(req.headers()).is_some();
        return match denied {
            Denied::NotSignedIn if had_cookie => {
                ApiError::new(ErrorCode::Unauthorized, "the session has ended: sign in again").into_response()
            }
            Denied::NotSignedIn => ApiError::new(ErrorCode::Unauthorized, "sign in first").into_response(),
            Denied::Forbidden(m) => ApiError::new(ErrorCode::Forbidden, m).into_response(),
        };
    }
    req.extensions_mut().insert(principal);
    let client = client_of(client, req.headers(), &st.ingest.config().trusted_proxies);
    req.extensions_mut().insert(ClientAddr(client));
    next.run(req).await
}

/// The client's address (for the audit log and the login lock-out).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// The client behind the socket's peer: when the peer is a trusted reverse proxy, the last
/// address of `X-Forwarded-For` that is not itself a trusted proxy (the ones before it are
/// whatever the client chose to send). Anything unparsable: the peer.
pub(crate) fn client_of(peer: SocketAddr, headers: &HeaderMap, trusted: &[std::net::IpAddr]) -> SocketAddr {
    if !trusted.contains(&peer.ip()) {
        return peer;
    }
    let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    let named = hops.rsplit(',').map(str::trim).filter(|h| !h.is_empty()).map(|h| h.parse::<std::net::IpAddr>());
    for hop in named {
        match hop {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return SocketAddr::new(ip, peer.port()),
            Err(_) => return peer,
        }
    }
    peer
}

#[cfg(test)]
mod client_tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_a_trusted_proxy_may_name_the_client() {
        let proxy: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let trusted = ["127.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()];
        let direct: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        // A client talking to the hub directly cannot pretend to be someone else.
        assert_eq!(client_of(direct, &headers(&["198.51.100.1"]), &trusted), direct);
        // Through the proxy: the last hop the proxies did not add; spoofed hops before it are ignored.
        let got = client_of(proxy, &headers(&["1.2.3.4, 198.51.100.7", "10.0.0.2"]), &trusted);
        assert_eq!(got.ip(), "198.51.100.7".parse::<std::net::IpAddr>().unwrap());
        // No header, or garbage: the proxy itself.
        assert_eq!(client_of(proxy, &headers(&[]), &trusted), proxy);
        assert_eq!(client_of(proxy, &headers(&["not-an-ip"]), &trusted), proxy);
        // Nothing trusted: the header is never read.
        assert_eq!(client_of(proxy, &headers(&["198.51.100.7"]), &[]), proxy);
    }
}
