//! What the officers' list pages share: the query read and its filter made (a refusal for
//! the error page), the links to the list's views, and the links to the previous and next
//! pages.

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use maud::{html, Markup};

use super::Lang;
use crate::error::ApiError;

/// A list page's query parameters and the filter made from them, or why not (parameters
/// that do not parse, a broken rule), for the error page.
pub fn filtered<Q, F>(
    q: Result<Query<Q>, QueryRejection>,
    filter: impl FnOnce(&Q) -> Result<F, ApiError>,
) -> Result<(Q, F), ApiError> {
    let Query(q) = q?;
    let f = filter(&q)?;
    Ok((q, f))
}

/// One of a list's views: its address, its label and, for the tests, its id.
pub struct View {
    pub href: String,
    pub label: &'static str,
    pub testid: Option<&'static str>,
}

impl View {
    pub fn new(href: impl Into<String>, label: &'static str) -> View {
        View { href: href.into(), label, testid: None }
    }

    pub fn testid(self, testid: &'static str) -> View {
        View { testid: Some(testid), ..self }
    }
}

/// The links to a list's views, in a line.
pub fn views(testid: Option<&str>, views: impl IntoIterator<Item = View>) -> Markup {
    html! {
        p data-testid=[testid] {
            @for (i, v) in views.into_iter().enumerate() {
                @if i > 0 { " · " }
                a href=(v.href) data-testid=[v.testid] { (v.label) }
            }
        }
    }
}

/// The links to the previous and next pages of a list `step` items a page that shows
/// `shown` items from `offset` of `total`; `link(offset)` is a page's address.
pub fn pager(
    lang: Lang,
    offset: u64,
    shown: usize,
    total: u64,
    step: u64,
    link: impl Fn(u64) -> String,
) -> Markup {
    html! {
        nav.pager {
            @if offset > 0 {
                a rel="prev" data-testid="prev-page" href=(link(offset.saturating_sub(step))) { "← " (lang.t("Trang trước", "Previous")) }
            }
            @if offset + (shown as u64) < total {
                a rel="next" data-testid="next-page" href=(link(offset + step)) { (lang.t("Trang sau", "Next")) " →" }
            }
        }
    }
}
