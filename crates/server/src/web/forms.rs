//! What the write screens share: the values typed (kept when a form is refused), each
//! violation shown next to its field in words, and the communes an officer may pick.

use std::collections::HashMap;

use maud::{html, Markup};

use dancu_domain::{admin_units, Relation, Violation};
use dancu_store::Scope;

use super::{display, Lang};
use crate::error::ApiError;

/// The purpose recorded in the audit log for a write made from the pages.
pub const WRITE_PURPOSE: &str = "đăng ký, quản lý cư trú (web)";

/// The values of a submitted (or pre-filled) form, by field name.
#[derive(Default, Clone)]
pub struct Typed(pub HashMap<String, String>);

impl Typed {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Typed {
        Typed(pairs.into_iter().collect())
    }

    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(|s| s.as_str()).unwrap_or("")
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_string(), value.into());
    }

    /// A trimmed value, `None` when empty.
    pub fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name).trim()).filter(|s| !s.is_empty())
    }
}

/// Why a form was refused: the violations, each shown at its field, and a message for the
/// form as a whole (a version conflict, a refusal not tied to one field).
#[derive(Default)]
pub struct Problems {
    pub violations: Vec<Violation>,
    pub message: Option<(String, String)>,
    /// The answer's status when a refusal gave one (409 for a version conflict).
    pub status: Option<axum::http::StatusCode>,
}

impl Problems {
    pub fn from_error(e: ApiError) -> Problems {
        let message = e.violations.is_empty().then(|| (e.message_vi.clone(), e.message_en.clone()));
        Problems { violations: e.violations, message, status: Some(e.status) }
    }

    /// Adds a refusal's violations (or its message, if it names no field); the value if
    /// there was none.
    pub fn collect<T>(&mut self, r: Result<T, ApiError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                let p = Problems::from_error(e);
                self.violations.extend(p.violations);
                self.message = p.message.or(self.message.take());
                None
            }
        }
    }

    /// The status of the page showing the form: 200, the refusal's own, or 422 for violations
    /// found by the form itself.
    pub fn status(&self) -> axum::http::StatusCode {
        match self.status {
            _ if self.is_empty() => axum::http::StatusCode::OK,
            Some(s) if s.is_client_error() || s.is_server_error() => s,
            _ => axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.violations.is_empty() && self.message.is_none()
    }

    /// The messages about one field, next to it.
    pub fn at(&self, lang: Lang, field: &str) -> Markup {
        html! {
            @for v in self.violations.iter().filter(|v| v.field == field) {
                p.field-error role="alert" data-testid=(format!("error-{field}")) { (message(lang, v)) }
            }
        }
    }

    /// The form's summary: the whole-form message, and the violations of fields the form
    /// does not show (`shown` lists those it does).
    pub fn summary(&self, lang: Lang, shown: &[&str]) -> Markup {
        if self.is_empty() {
            return html! {};
        }
        html! {
            div.form-summary role="alert" data-testid="form-error" {
                @if let Some((vi, en)) = &self.message {
                    p { (match lang { Lang::Vi => vi, Lang::En => en }) }
                } @else {
                    p { (lang.t("Chưa lưu: hãy sửa các mục được đánh dấu.", "Not saved: correct the marked fields.")) }
                }
                @for v in self.violations.iter().filter(|v| !shown.contains(&v.field.as_str())) {
                    p { b { (display::field(lang, &v.field)) } ": " (message(lang, v)) }
                }
            }
        }
    }
}

fn message(lang: Lang, v: &Violation) -> &str {
    match lang {
        Lang::Vi => &v.message_vi,
        Lang::En => &v.message_en,
    }
}

/// A labelled text input with its value and its violations.
pub fn text(lang: Lang, t: &Typed, p: &Problems, name: &str, label: &str, hint: Option<&str>) -> Markup {
    let invalid = p.violations.iter().any(|v| v.field == name);
    html! {
        div.field {
            label for=(name) { (label) }
            input #(name) type="text" name=(name) value=(t.get(name)) placeholder=[hint]
                aria-invalid=[invalid.then_some("true")];
            (p.at(lang, name))
        }
    }
}

/// A date typed as people write it (DD/MM/YYYY), not a locale-dependent picker.
pub fn date(lang: Lang, t: &Typed, p: &Problems, name: &str, label: &str) -> Markup {
    let invalid = p.violations.iter().any(|v| v.field == name);
    html! {
        div.field {
            label for=(name) { (label) " " span.muted { (lang.t("(ngày/tháng/năm)", "(DD/MM/YYYY)")) } }
            input #(name) type="text" name=(name) value=(t.get(name)) inputmode="numeric" placeholder="DD/MM/YYYY"
                aria-invalid=[invalid.then_some("true")];
            (p.at(lang, name))
        }
    }
}

/// A labelled select of (value, words) options, the typed value selected.
pub fn select(
    lang: Lang,
    t: &Typed,
    p: &Problems,
    name: &str,
    label: &str,
    options: &[(String, String)],
) -> Markup {
    html! {
        div.field {
            label for=(name) { (label) }
            select #(name) name=(name) {
                @for (value, words) in options {
                    option value=(value) selected[t.get(name) == value] { (words) }
                }
            }
            (p.at(lang, name))
        }
    }
}

/// The reason for a change (field `reason`): required, kept in the history.
pub fn reason(lang: Lang, t: &Typed, p: &Problems) -> Markup {
    reason_named(lang, t, p, "reason")
}

/// The reason field of one of several forms on a page.
pub fn reason_named(lang: Lang, t: &Typed, p: &Problems, name: &str) -> Markup {
    html! {
        div.field {
            label for=(name) { (lang.t("Lý do thay đổi (bắt buộc)", "Reason for the change (required)")) }
            input #(name) type="text" name=(name) value=(t.get(name)) required
                aria-invalid=[p.violations.iter().any(|v| v.field == name).then_some("true")];
            (p.at(lang, name))
        }
    }
}

/// The 2025 communes an officer may place a record in, by name (`2025:` unit references as
/// values): their commune, their province's communes, or every commune by province.
pub fn commune_options(scope: &Scope) -> Vec<(String, String)> {
    let units = admin_units();
    let of_province = |code: &str| -> Vec<(String, String)> {
        units
            .communes_of_province_2025(code)
            .iter()
            .filter_map(|c| units.commune_2025(c))
            .map(|c| (format!("2025:{}", c.code), format!("{}, {}", c.name, c.province_name)))
            .collect()
    };
    let mut out = match scope {
        Scope::Commune(c) => units
            .commune_2025(c)
            .map(|u| vec![(format!("2025:{c}"), display::commune(&u.code))])
            .unwrap_or_default(),
        Scope::Province(p) => of_province(p),
        Scope::Nation => units.provinces_2025.iter().flat_map(|p| of_province(&p.code)).collect(),
    };
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// Above this many communes a select is a long scroll with no search: the field becomes a
/// text box with the names as suggestions (a `datalist`, which the browser filters as the
/// officer types, with no JavaScript), and the name picked is turned back into its unit
/// reference by [`resolve_communes`]. Only a nation-wide officer's list is this long.
const SELECT_MAX: usize = 400;

/// The id of the page's one commune `datalist` ([`commune_datalist`]).
const COMMUNE_LIST: &str = "communes-all";

/// A commune field: a select for an officer's own communes, a searchable text box with
/// suggestions for a nation-wide list. A stored reference is shown by its name.
pub fn commune(
    lang: Lang,
    t: &Typed,
    p: &Problems,
    name: &str,
    label: &str,
    options: &[(String, String)],
) -> Markup {
    if options.len() <= SELECT_MAX {
        return select(lang, t, p, name, label, options);
    }
    let typed = t.get(name);
    let shown = options.iter().find(|(v, _)| !v.is_empty() && v == typed).map_or(typed, |(_, w)| w.as_str());
    let invalid = p.violations.iter().any(|v| v.field == name);
    html! {
        div.field {
            label for=(name) { (label) }
            input #(name) type="search" name=(name) value=(shown) list=(COMMUNE_LIST) autocomplete="off"
                placeholder=(lang.t("Gõ tên xã, phường rồi chọn", "Type a commune's name, then pick it"))
                aria-invalid=[invalid.then_some("true")];
            (p.at(lang, name))
        }
    }
}

/// The suggestions the commune text boxes share, once per page (nothing when the fields are
/// selects).
pub fn commune_datalist(options: &[(String, String)]) -> Markup {
    html! {
        @if options.len() > SELECT_MAX {
            datalist #(COMMUNE_LIST) { @for (v, words) in options { @if !v.is_empty() { option value=(words) {} } } }
        }
    }
}

/// Commune fields submitted by name (from [`commune`]'s text box) turned into their `2025:`
/// references among `options`, so that the record rules see unit references. A reference, or
/// an empty value, is left as it is. The name is compared without marks or case; a name
/// without its province matches if only one commune has it. Each name that matches none or
/// several is a violation at its field, and the typed name is kept for the form.
pub fn resolve_communes(t: &mut Typed, fields: &[&str], options: &[(String, String)]) -> Vec<Violation> {
    let mut out = Vec::new();
    for f in fields {
        let typed = t.get(f).trim().to_string();
        if typed.is_empty() || typed.parse::<dancu_domain::UnitRef>().is_ok() {
            continue;
        }
        let want = dancu_domain::fold_key(&typed);
        let named = |full: bool| -> Vec<&String> {
            options
                .iter()
                .filter(|(v, words)| {
                    let words =
                        if full { words.as_str() } else { words.split(',').next().unwrap_or_default() };
                    !v.is_empty() && dancu_domain::fold_key(words) == want
                })
                .map(|(v, _)| v)
                .collect()
        };
        let mut found = named(true);
        if found.is_empty() {
            found = named(false);
        }
        match found.as_slice() {
            [one] => t.set(f, one.as_str()),
            [] => out.push(Violation::new(
                *f,
                "unit.unknown",
                format!("Không có xã, phường nào tên “{typed}”: hãy chọn trong danh sách gợi ý"),
                format!("no commune is named “{typed}”: pick one from the suggestions"),
            )),
            _ => out.push(Violation::new(
                *f,
                "unit.ambiguous",
                format!("Có {} xã, phường tên “{typed}”: hãy chọn tên kèm tỉnh, thành phố", found.len()),
                format!("{} communes are named “{typed}”: pick the name with its province", found.len()),
            )),
        }
    }
    out
}

/// The relations to a household head, in words (the head itself first when `with_head`).
pub fn relation_options(lang: Lang, with_head: bool) -> Vec<(String, String)> {
    Relation::ALL
        .iter()
        .filter(|r| with_head || **r != Relation::Head)
        .map(|r| (r.code().to_string(), display::relation(lang, *r, None).to_string()))
        .collect()
}

/// A relation picked in a form; refused in words (the domain's message lists the codes).
pub fn relation(t: &Typed, field: &str) -> Result<Relation, Violation> {
    Relation::parse(t.get(field)).map_err(|_| {
        Violation::new(
            field,
            "relation.invalid",
            "Chọn quan hệ với chủ hộ",
            "choose the relation to the head",
        )
    })
}

/// The sexes, in words.
pub fn sex_options(lang: Lang) -> Vec<(String, String)> {
    [dancu_domain::Sex::Male, dancu_domain::Sex::Female]
        .iter()
        .map(|s| (s.code().to_string(), display::sex(lang, *s).to_string()))
        .collect()
}

/// The CSRF token of the officer's session, as the hidden field every form carries.
pub fn csrf(p: &crate::auth::Principal) -> Markup {
    html! { input type="hidden" name="csrf" value=(p.csrf.clone().unwrap_or_default()); }
}
