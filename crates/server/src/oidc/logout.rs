//! `GET`/`POST /oauth/logout`: RP-initiated logout (OpenID Connect RP-Initiated Logout
//! 1.0). The provider session ends; the browser returns to `post_logout_redirect_uri` only
//! if it exactly matches one registered for the client named by the `id_token_hint` (an ID
//! token this provider signed, expired or not) or `client_id`. Otherwise a page says the
//! citizen is logged out.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::session;
use crate::web::{lang_choice, layout, page, Lang};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub client_id: Option<String>,
    pub state: Option<String>,
}

#[derive(Deserialize)]
struct Hint {
    aud: String,
}

/// RP-initiated logout.
pub async fn logout(
    State(state): State<AppState>,
    lang: Lang,
    uri: Uri,
    headers: HeaderMap,
    q: Result<Query<LogoutRequest>, QueryRejection>,
) -> Response {
    let req = q.map(|Query(q)| q).unwrap_or_default();
    let cleared = match session::end(&state, &headers).await {
        Ok(c) => c,
        Err(e) => return crate::web::error_page(lang, None, e),
    };
    let cfg = &state.config.oidc;
    let hinted = req
        .id_token_hint
        .as_deref()
        .and_then(|t| cfg.keys.verify_hint::<Hint>(t, &cfg.issuer))
        .map(|h| h.aud);
    let client_id = match (&hinted, &req.client_id) {
        (Some(h), Some(c)) if h != c => None,
        (Some(h), _) => Some(h.clone()),
        (None, c) => c.clone(),
    };
    let mut target = None;
    if let (Some(uri_asked), Some(id)) = (&req.post_logout_redirect_uri, &client_id) {
        if let Ok(Some(c)) = state.oidc.clients.get(&state.db.oidc(), id).await {
            if c.row.active && c.row.post_logout_redirect_uris.iter().any(|u| u == uri_asked) {
                target = Some(uri_asked.clone());
            }
        }
        if target.is_none() {
            state.oidc.refusals.record(
                "logout",
                "invalid_request",
                Some(id),
                "post_logout_redirect_uri not registered",
            );
        }
    }
    let mut r = match target {
        Some(mut url) => {
            if let Some(s) = &req.state {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("state=");
                url.push_str(&crate::web::urlencode(s).replace('/', "%2F"));
            }
            (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response()
        }
        None => {
            let body = layout(
                lang,
                lang.t("Đã đăng xuất", "Logged out"),
                None,
                html! {
                    section.card.narrow {
                        h1 data-testid="oidc-logged-out" { (lang.t("Bạn đã đăng xuất", "You are logged out")) }
                        p { (lang.t("Phiên đăng nhập bằng định danh điện tử đã kết thúc.", "Your electronic identity session has ended.")) }
                    }
                },
            );
            page(lang_choice(&uri), StatusCode::OK, body)
        }
    };
    r.headers_mut().append(header::SET_COOKIE, cleared);
    r
}
