//! Login and logout pages. The login form carries a double-submit CSRF token (cookie +
//! hidden field); the session cookie is HttpOnly, SameSite=Strict and Secure.

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use dancu_store::registry::now;
use dancu_store::Session;

use super::{lang_choice, layout, page, Lang, WebUser};
use crate::auth::{
    authenticate, cookie, double_submit_ok, random_token, sha256_hex, LOGIN_CSRF_COOKIE, SESSION_COOKIE,
};
use crate::AppState;

#[derive(Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

/// Where a login goes when `next` is missing or refused.
const DEFAULT_NEXT: &str = "/search";

/// Only a same-origin path is followed after login (no open redirect): it starts with one
/// `/`, has no `//` and no `\` anywhere (browsers read `/\host` and `//host` as another
/// site), and holds only URL-safe printable ASCII (no tab, CR, LF or other control character,
/// which browsers strip before resolving, and no space). A `%` escape may not hide a control
/// character, a slash or a backslash either. Anything else goes to the default page.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_string(),
        _ => DEFAULT_NEXT.to_string(),
    }
}

fn is_local_path(n: &str) -> bool {
    let b = n.as_bytes();
    if b.is_empty() || b.len() > 1024 || b[0] != b'/' || n.contains("//") {
        return false;
    }
    let url_safe = |c: u8| c.is_ascii_alphanumeric() || b"-._~/?#[]@!$&'()*+,;=:%".contains(&c);
    if !b.iter().all(|&c| url_safe(c)) {
        return false;
    }
    // Every `%` starts an escape of two hex digits that is not a control character, `/` or `\`.
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            let (Some(h), Some(l)) = (b.get(i + 1).and_then(|&c| hex(c)), b.get(i + 2).and_then(|&c| hex(c)))
            else {
                return false;
            };
            let v = (h * 16 + l) as u8;
            if v < 0x20 || v == 0x7f || v == b'/' || v == b'\\' {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

pub(super) fn cookie_header(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<u64>,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if state.config.cookie_secure {
        c.push_str("; Secure");
    }
    if let Some(a) = max_age {
        c.push_str(&format!("; Max-Age={a}"));
    }
    HeaderValue::from_str(&c).unwrap()
}

fn render(
    state: &AppState,
    lang: Lang,
    next: &str,
    username: &str,
    error: Option<String>,
    status: StatusCode,
    uri: &Uri,
) -> Response {
    let csrf = random_token();
    let body = layout(
        lang,
        lang.t("Đăng nhập", "Log in"),
        None,
        html! {
            section.card.narrow {
                h1 { (lang.t("Đăng nhập cán bộ", "Officer login")) }
                @if let Some(e) = &error {
                    p.error role="alert" data-testid="login-error" { (e) }
                }
                form method="post" action="/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="next" value=(next);
                    label for="username" { (lang.t("Tên đăng nhập", "Username")) }
                    input #username type="text" name="username" value=(username) autocomplete="username" required autofocus;
                    label for="password" { (lang.t("Mật khẩu", "Password")) }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    p { button type="submit" #login { (lang.t("Đăng nhập", "Log in")) } }
                }
            }
        },
    );
    let mut resp = page(lang_choice(uri), status, body);
    resp.headers_mut()
        .append(header::SET_COOKIE, cookie_header(state, LOGIN_CSRF_COOKIE, &csrf, "/login", Some(1800)));
    resp
}

pub async fn form(State(s): State<AppState>, lang: Lang, uri: Uri, Query(q): Query<NextParam>) -> Response {
    render(&s, lang, &safe_next(q.next.as_deref()), "", None, StatusCode::OK, &uri)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

pub async fn submit(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    if !double_submit_ok(&headers, LOGIN_CSRF_COOKIE, &f.csrf) {
        let msg =
            lang.t("Phiên đăng nhập đã hết hạn, hãy thử lại", "The login form expired; please try again");
        return render(&s, lang, &next, &f.username, Some(msg.into()), StatusCode::FORBIDDEN, &uri);
    }
    let officer = match authenticate(&s, f.username.trim(), &f.password).await {
        Ok(o) => o,
        Err(e) => {
            let msg = match lang {
                Lang::Vi => e.message_vi,
                Lang::En => e.message_en,
            };
            return render(&s, lang, &next, &f.username, Some(msg), e.status, &uri);
        }
    };
    let token = random_token();
    let created = now();
    let session = Session {
        token_hash: sha256_hex(&token),
        officer_id: officer.id,
        csrf_token: random_token(),
        created_at: created,
        expires_at: created + chrono::Duration::from_std(s.config.session_ttl).unwrap(),
    };
    if let Err(e) = s.accounts.create_session(&session).await {
        return super::error_page(lang, None, e.into());
    }
    tracing::info!(officer = %officer.username, "officer logged in");
    // `next` passed `safe_next`, so it is a valid header value; should that ever fail, the
    // default page (never a 500).
    let mut resp = match HeaderValue::from_str(&next) {
        Ok(_) => Redirect::to(&next).into_response(),
        Err(_) => Redirect::to(DEFAULT_NEXT).into_response(),
    };
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookie_header(&s, SESSION_COOKIE, &token, "/", Some(s.config.session_ttl.as_secs())),
    );
    h.append(header::SET_COOKIE, cookie_header(&s, LOGIN_CSRF_COOKIE, "", "/login", Some(0)));
    resp
}

pub async fn logout(
    State(s): State<AppState>,
    lang: Lang,
    WebUser(p): WebUser,
    headers: HeaderMap,
    Form(f): Form<super::CsrfForm>,
) -> Response {
    if let Err(e) = p.check_csrf(&f.csrf) {
        return super::error_page(lang, Some(&p), e);
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        if let Err(e) = s.accounts.delete_session(&sha256_hex(token)).await {
            return super::error_page(lang, Some(&p), e.into());
        }
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().append(header::SET_COOKIE, cookie_header(&s, SESSION_COOKIE, "", "/", Some(0)));
    resp
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_a_same_origin_path_or_the_default() {
        for good in ["/search", "/citizens/001085001234?lang=en", "/cards?stage=intake&x=%20y", "/"] {
            assert_eq!(safe_next(Some(good)), good);
        }
        for bad in [
            "//evil.com",
            "/\\evil.com",
            "/\t/evil.com",
            "/%09/evil.com",
            "/%2F/evil.com",
            "/%5Cevil.com",
            "/\x00",
            "/a\r\nSet-Cookie: x=1",
            "/%0d%0aSet-Cookie:x=1",
            "https://evil.com",
            "evil.com",
            "/a//b",
            "/ space",
            "/xã",
            "/%",
            "/%zz",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/search", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/search");
    }
}
