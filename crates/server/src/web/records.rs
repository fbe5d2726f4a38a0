//! The officer's record screens: register a newborn (the ID allocated, the record created
//! and the child added to the household in one submit), edit a record, change an address.
//! A refused form comes back with what was typed and each violation at its field.

use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

use dancu_domain::citizen::CitizenDraft;
use dancu_domain::household::validate_number;
use dancu_domain::{admin_units, catalog, PersonalId, Relation, Sex, Violation};
use dancu_store::registry::NewBirth;
use dancu_store::{Scope, StoredCitizen};

use super::forms::{self, Problems, Typed, WRITE_PURPOSE};
use super::search::WEB_PURPOSE as WEB_PURPOSE_READ;
use super::{display, error_page, lang_choice, layout, page, Lang, WebUser};
use crate::api::citizens::{parse_id, require_reason};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

fn today() -> chrono::NaiveDate {
    dancu_domain::date::vietnam_today(chrono::Utc::now())
}

/// The form page, or the form again with its problems and the status they call for.
fn form_page(
    lang: Lang,
    uri: &Uri,
    p: &Principal,
    title: &str,
    status: StatusCode,
    form: Markup,
) -> Response {
    let body = layout(lang, title, Some(p), html! { section.card.write-form { h1 { (title) } (form) } });
    page(lang_choice(uri), status, body)
}

// ---- newborn ----

/// Each legacy province (an ID prefix) with its name and the 2025 provinces that took in its
/// communes; worked out once (it scans every commune).
static LEGACY_PROVINCES: std::sync::LazyLock<Vec<(String, String, Vec<String>)>> =
    std::sync::LazyLock::new(|| {
        let units = admin_units();
        (1..100)
            .map(|n| format!("{n:02}"))
            .filter(|code| units.is_legacy_province(code))
            .map(|code| {
                let name = units.legacy_province_name(&code).unwrap_or_default().to_string();
                let now = units.provinces_2025_of_legacy(&code).into_iter().map(str::to_string).collect();
                (code, name, now)
            })
            .collect()
    });

/// The legacy provinces (ID prefixes) whose communes became part of the caller's scope.
fn id_provinces(scope: &Scope) -> Vec<(String, String)> {
    let province = match scope {
        Scope::Nation => None,
        Scope::Province(p) => Some(p.clone()),
        Scope::Commune(c) => admin_units().commune_2025(c).map(|c| c.province_code.clone()),
    };
    LEGACY_PROVINCES
        .iter()
        .filter(|(_, _, now)| province.as_ref().is_none_or(|p| now.contains(p)))
        .map(|(code, name, _)| (code.clone(), name.clone()))
        .collect()
}

const BIRTH_FIELDS: &[&str] = &[
    "family_name",
    "middle_name",
    "given_name",
    "birth_date",
    "sex",
    "birth_place",
    "province",
    "household",
    "relation",
    "permanent_unit",
    "permanent_detail",
    "father_name",
    "mother_name",
    "reason",
];

fn birth_form(lang: Lang, p: &Principal, t: &Typed, errs: &Problems) -> Markup {
    let communes = forms::commune_options(&p.scope);
    html! {
        (errs.summary(lang, BIRTH_FIELDS))
        form method="post" action="/citizens/new-birth" data-testid="birth-form" {
            (forms::csrf(p))
            input type="hidden" name="household_version" value=(t.get("household_version"));
            div.grid {
                (forms::text(lang, t, errs, "family_name", lang.t("Họ", "Family name"), None))
                (forms::text(lang, t, errs, "middle_name", lang.t("Tên đệm", "Middle name"), None))
                (forms::text(lang, t, errs, "given_name", lang.t("Tên", "Given name"), None))
                (forms::date(lang, t, errs, "birth_date", lang.t("Ngày sinh", "Date of birth")))
                (forms::select(lang, t, errs, "sex", lang.t("Giới tính", "Sex"), &forms::sex_options(lang)))
                (forms::commune(lang, t, errs, "birth_place", lang.t("Nơi đăng ký khai sinh", "Birth registered in"), &communes))
                (forms::select(lang, t, errs, "province", lang.t("Tỉnh cấp số định danh", "Province of the personal ID"), &id_provinces(&p.scope)))
                (forms::text(lang, t, errs, "household", lang.t("Số hộ của cha/mẹ", "Parent's household number"), None))
                (forms::select(lang, t, errs, "relation", lang.t("Quan hệ với chủ hộ", "Relation to the head"), &forms::relation_options(lang, false)))
                (forms::commune(lang, t, errs, "permanent_unit", lang.t("Nơi thường trú", "Permanent residence"), &communes))
                (forms::text(lang, t, errs, "permanent_detail", lang.t("Số nhà, đường (thường trú)", "Street address (permanent)"), None))
                (forms::text(lang, t, errs, "father_name", lang.t("Họ tên cha", "Father's name"), None))
                (forms::text(lang, t, errs, "mother_name", lang.t("Họ tên mẹ", "Mother's name"), None))
                (forms::reason(lang, t, errs))
            }
            button #birth-submit type="submit" { (lang.t("Đăng ký khai sinh và cấp số định danh", "Register the birth and allocate the ID")) }
            (forms::commune_datalist(&communes))
        }
    }
}

#[derive(serde::Deserialize)]
pub struct BirthParams {
    household: Option<String>,
}

pub async fn birth_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Query(q): Query<BirthParams>,
) -> Response {
    let mut t = Typed::default();
    t.set("relation", Relation::Child.code());
    t.set("reason", lang.t("Đăng ký khai sinh", "Birth registration"));
    if let Some(number) = q.household.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        match s.registry.household(&p.access(WEB_PURPOSE_READ), number).await {
            Ok(h) => {
                t.set("household", &h.number);
                t.set("household_version", h.version.to_string());
                t.set("birth_place", format!("2025:{}", h.scope_commune));
                t.set("permanent_unit", format!("2025:{}", h.scope_commune));
            }
            Err(e) => return error_page(lang, Some(&p), e.into()),
        }
    }
    let title = lang.t("Đăng ký khai sinh", "Register a newborn");
    form_page(lang, &uri, &p, title, StatusCode::OK, birth_form(lang, &p, &t, &Problems::default()))
}

/// The newborn's record from the form: every violation collected, the ID a placeholder of
/// the right province, sex and year (the registry allocates the real one).
fn birth_from_form(t: &Typed, errs: &mut Problems) -> Option<NewBirth> {
    let day =
        errs.collect(display::parse_day(("birth_date", "Ngày sinh", "Date of birth"), t.get("birth_date")));
    let sex = Sex::parse(t.get("sex")).map_err(|v| errs.violations.push(v)).ok();
    let province = t.get("province").trim().to_string();
    if !admin_units().is_legacy_province(&province) {
        errs.violations.push(Violation::new(
            "province",
            "id.province",
            "Chọn tỉnh cấp số định danh",
            "choose the province of the personal ID",
        ));
    }
    let household = t.get("household").trim().to_string();
    if let Err(v) = validate_number(&household) {
        errs.violations.push(v.at("household"));
    }
    let relation = forms::relation(t, "relation").map_err(|v| errs.violations.push(v)).ok();
    let placeholder = match (day, sex) {
        (Some(d), Some(s)) => PersonalId::compose(&province, s, chrono::Datelike::year(&d), 0).ok(),
        _ => None,
    };
    let draft = CitizenDraft {
        personal_id: placeholder.map(|id| id.to_string()).unwrap_or_default(),
        family_name: t.get("family_name").into(),
        middle_name: t.get("middle_name").into(),
        given_name: t.get("given_name").into(),
        birth_date: day.map(|d| d.to_string()).unwrap_or_default(),
        sex: t.get("sex").into(),
        birth_place: t.get("birth_place").into(),
        permanent_unit: t.get("permanent_unit").into(),
        permanent_detail: t.get("permanent_detail").into(),
        father_name: t.get("father_name").into(),
        mother_name: t.get("mother_name").into(),
        ..Default::default()
    };
    let child = match draft.validate(today()) {
        Ok(c) => Some(c),
        Err(vs) => {
            // The ID is allocated, not typed; a wrong date is already reported.
            let reported: Vec<String> = errs.violations.iter().map(|v| v.field.clone()).collect();
            errs.violations
                .extend(vs.into_iter().filter(|v| v.field != "personal_id" && !reported.contains(&v.field)));
            None
        }
    };
    let household_version = t.opt("household_version").and_then(|v| v.parse().ok());
    Some(NewBirth { child: child?, province, household, relation: relation?, household_version })
        .filter(|_| errs.is_empty())
}

pub async fn birth_submit(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let mut t = Typed::from_pairs(pairs);
    if let Err(e) = p.check_csrf(t.get("csrf")) {
        return error_page(lang, Some(&p), e);
    }
    let mut errs = Problems::default();
    let communes = forms::commune_options(&p.scope);
    errs.violations.extend(forms::resolve_communes(&mut t, &["birth_place", "permanent_unit"], &communes));
    let reason = errs.collect(require_reason(t.get("reason")));
    let birth = birth_from_form(&t, &mut errs);
    if let (Some(b), Some(reason)) = (birth, reason) {
        match s.registry.register_birth(&p.access(WRITE_PURPOSE), &b, &reason).await {
            Ok((c, _)) => {
                return Redirect::to(&format!("/citizens/{}", c.citizen.personal_id)).into_response()
            }
            Err(e) => errs = Problems::from_error(e.into()),
        }
    }
    let title = lang.t("Đăng ký khai sinh", "Register a newborn");
    form_page(lang, &uri, &p, title, errs.status(), birth_form(lang, &p, &t, &errs))
}

// ---- edit a record ----

const EDIT_FIELDS: &[&str] = &[
    "family_name",
    "middle_name",
    "given_name",
    "other_names",
    "birth_date",
    "sex",
    "ethnicity",
    "religion",
    "nationality",
    "father_name",
    "mother_name",
    "status",
    "death_date",
    "reason",
];

fn edit_form(lang: Lang, p: &Principal, id: &str, t: &Typed, errs: &Problems) -> Markup {
    let codes = |entries: &[catalog::CodeEntry]| -> Vec<(String, String)> {
        entries.iter().map(|e| (e.code.clone(), e.name.clone())).collect()
    };
    let statuses: Vec<(String, String)> = [
        dancu_domain::LifeStatus::Alive,
        dancu_domain::LifeStatus::Deceased,
        dancu_domain::LifeStatus::Missing,
    ]
    .iter()
    .map(|s| (s.code().to_string(), display::life_status(lang, *s).to_string()))
    .collect();
    html! {
        (errs.summary(lang, EDIT_FIELDS))
        form method="post" action=(format!("/citizens/{id}/edit")) data-testid="edit-form" {
            (forms::csrf(p))
            input type="hidden" name="expected_version" value=(t.get("expected_version"));
            div.grid {
                (forms::text(lang, t, errs, "family_name", lang.t("Họ", "Family name"), None))
                (forms::text(lang, t, errs, "middle_name", lang.t("Tên đệm", "Middle name"), None))
                (forms::text(lang, t, errs, "given_name", lang.t("Tên", "Given name"), None))
                (forms::text(lang, t, errs, "other_names", lang.t("Tên gọi khác", "Other names"), None))
                (forms::date(lang, t, errs, "birth_date", lang.t("Ngày sinh", "Date of birth")))
                (forms::select(lang, t, errs, "sex", lang.t("Giới tính", "Sex"), &forms::sex_options(lang)))
                (forms::select(lang, t, errs, "ethnicity", lang.t("Dân tộc", "Ethnicity"), &codes(catalog::ethnicities())))
                (forms::select(lang, t, errs, "religion", lang.t("Tôn giáo", "Religion"), &codes(catalog::religions())))
                (forms::text(lang, t, errs, "nationality", lang.t("Quốc tịch (mã hai chữ cái, ví dụ VN)", "Nationality (two-letter code, for example VN)"), None))
                (forms::text(lang, t, errs, "father_name", lang.t("Họ tên cha", "Father's name"), None))
                (forms::text(lang, t, errs, "mother_name", lang.t("Họ tên mẹ", "Mother's name"), None))
                (forms::select(lang, t, errs, "status", lang.t("Tình trạng", "Status"), &statuses))
                (forms::date(lang, t, errs, "death_date", lang.t("Ngày mất", "Date of death")))
                (forms::reason(lang, t, errs))
            }
            button #edit-submit type="submit" { (lang.t("Lưu thay đổi", "Save the changes")) }
        }
    }
}

/// A record's fields as a form shows them (dates DD/MM/YYYY).
fn typed_from(stored: &StoredCitizen) -> Typed {
    let d = stored.citizen.to_draft();
    let mut t = Typed::default();
    for (k, v) in [
        ("family_name", &d.family_name),
        ("middle_name", &d.middle_name),
        ("given_name", &d.given_name),
        ("other_names", &d.other_names),
        ("sex", &d.sex),
        ("ethnicity", &d.ethnicity),
        ("religion", &d.religion),
        ("nationality", &d.nationality),
        ("father_name", &d.father_name),
        ("mother_name", &d.mother_name),
        ("status", &d.status),
        ("permanent_unit", &d.permanent_unit),
        ("permanent_detail", &d.permanent_detail),
        ("temporary_unit", &d.temporary_unit),
        ("temporary_detail", &d.temporary_detail),
        ("current_unit", &d.current_unit),
        ("current_detail", &d.current_detail),
    ] {
        t.set(k, v.clone());
    }
    t.set("birth_date", display::stored_date(&d.birth_date));
    t.set("death_date", display::stored_date(&d.death_date));
    t.set("expected_version", stored.version.to_string());
    t
}

async fn load(s: &AppState, p: &Principal, id: &str) -> Result<StoredCitizen, ApiError> {
    let id = parse_id(id)?;
    Ok(s.registry.read_citizen(&p.access(WEB_PURPOSE_READ), &id).await?)
}

pub async fn edit_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(id): Path<String>,
) -> Response {
    open(&s, lang, &uri, &p, &id, &EDIT).await
}

/// A screen opened on the record as stored, at its current version.
async fn open(s: &AppState, lang: Lang, uri: &Uri, p: &Principal, id: &str, screen: &Screen) -> Response {
    let stored = match load(s, p, id).await {
        Ok(c) => c,
        Err(e) => return error_page(lang, Some(p), e),
    };
    let title = format!("{}: {}", lang.t(screen.title.0, screen.title.1), stored.citizen.name.full());
    let form = (screen.render)(lang, p, id, &typed_from(&stored), &Problems::default());
    form_page(lang, uri, p, &title, StatusCode::OK, form)
}

/// Saves a record from a form: the stored record with the typed `fields` replaced, from
/// the version the form was opened on.
async fn save(
    s: &AppState,
    p: &Principal,
    stored: &StoredCitizen,
    t: &Typed,
    fields: &[&str],
) -> Result<(), Problems> {
    let mut errs = Problems::default();
    let reason = errs.collect(require_reason(t.get("reason")));
    let expected: Option<i64> = t.get("expected_version").parse().ok();
    let mut draft = stored.citizen.to_draft();
    for f in fields {
        if let Some(slot) = draft_field(&mut draft, f) {
            *slot = t.get(f).to_string();
        }
    }
    let c = draft.validate(today()).map_err(|vs| errs.violations.extend(vs)).ok();
    let (Some(c), Some(reason), Some(expected)) = (c, reason, expected) else {
        if expected.is_none() {
            errs.message = Some((
                "Thiếu phiên bản hồ sơ; hãy mở lại trang".into(),
                "the record version is missing; open the page again".into(),
            ));
        }
        return Err(errs);
    };
    let access = p.access(WRITE_PURPOSE);
    s.registry
        .update_citizen(&access, &c, expected, &reason)
        .await
        .map(|_| ())
        .map_err(|e| Problems::from_error(e.into()))
}

/// The draft's field of a form field name.
fn draft_field<'a>(d: &'a mut CitizenDraft, name: &str) -> Option<&'a mut String> {
    Some(match name {
        "family_name" => &mut d.family_name,
        "middle_name" => &mut d.middle_name,
        "given_name" => &mut d.given_name,
        "other_names" => &mut d.other_names,
        "birth_date" => &mut d.birth_date,
        "sex" => &mut d.sex,
        "ethnicity" => &mut d.ethnicity,
        "religion" => &mut d.religion,
        "nationality" => &mut d.nationality,
        "father_name" => &mut d.father_name,
        "mother_name" => &mut d.mother_name,
        "status" => &mut d.status,
        "death_date" => &mut d.death_date,
        "permanent_unit" => &mut d.permanent_unit,
        "permanent_detail" => &mut d.permanent_detail,
        "temporary_unit" => &mut d.temporary_unit,
        "temporary_detail" => &mut d.temporary_detail,
        "current_unit" => &mut d.current_unit,
        "current_detail" => &mut d.current_detail,
        _ => return None,
    })
}

/// A screen that edits part of a record: the fields it saves (its reason is not a record
/// field, and is skipped), its form and its title.
struct Screen {
    fields: &'static [&'static str],
    render: fn(Lang, &Principal, &str, &Typed, &Problems) -> Markup,
    title: (&'static str, &'static str),
}

const EDIT: Screen =
    Screen { fields: EDIT_FIELDS, render: edit_form, title: ("Sửa hồ sơ", "Edit record") };

const ADDRESS: Screen = Screen {
    fields: ADDRESS_FIELDS,
    render: address_form,
    title: ("Thay đổi nơi cư trú", "Change of address"),
};

/// A write screen's submit: the save, then the citizen page, or the form again.
async fn submit(
    s: &AppState,
    lang: Lang,
    uri: &Uri,
    p: &Principal,
    id: &str,
    pairs: Vec<(String, String)>,
    screen: &Screen,
) -> Response {
    let Screen { fields, render, title } = screen;
    let mut t = Typed::from_pairs(pairs);
    if let Err(e) = p.check_csrf(t.get("csrf")) {
        return error_page(lang, Some(p), e);
    }
    let stored = match load(s, p, id).await {
        Ok(c) => c,
        Err(e) => return error_page(lang, Some(p), e),
    };
    // Communes picked by name (a nation-wide officer's text boxes) become references first;
    // a name that names no commune is refused before anything else is checked.
    let units: Vec<&str> = fields.iter().copied().filter(|f| f.ends_with("_unit")).collect();
    let unresolved = forms::resolve_communes(&mut t, &units, &forms::commune_options(&p.scope));
    let errs = if !unresolved.is_empty() {
        Problems { violations: unresolved, ..Problems::default() }
    } else {
        match save(s, p, &stored, &t, fields).await {
            Ok(()) => return Redirect::to(&format!("/citizens/{id}")).into_response(),
            Err(errs) => errs,
        }
    };
    let title = format!("{}: {}", lang.t(title.0, title.1), stored.citizen.name.full());
    form_page(lang, uri, p, &title, errs.status(), render(lang, p, id, &t, &errs))
}

pub async fn edit_submit(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    submit(&s, lang, &uri, &p, &id, pairs, &EDIT).await
}

// ---- change an address ----

const ADDRESS_FIELDS: &[&str] = &[
    "permanent_unit",
    "permanent_detail",
    "temporary_unit",
    "temporary_detail",
    "current_unit",
    "current_detail",
    "reason",
];

fn address_form(lang: Lang, p: &Principal, id: &str, t: &Typed, errs: &Problems) -> Markup {
    let mut communes = forms::commune_options(&p.scope);
    // The units the record has now stay selectable, even outside the officer's list.
    for k in ["permanent_unit", "temporary_unit", "current_unit"] {
        if let Ok(u) = t.get(k).parse::<dancu_domain::UnitRef>() {
            if !communes.iter().any(|(v, _)| v == t.get(k)) {
                communes.push((t.get(k).to_string(), display::unit(lang, &u)));
            }
        }
    }
    let mut options = vec![(String::new(), lang.t("— Không có —", "— None —").to_string())];
    options.extend(communes);
    let part = |kind: &str, vi: &'static str, en: &'static str| {
        let (unit, detail) = (format!("{kind}_unit"), format!("{kind}_detail"));
        html! {
            fieldset.address {
                legend { (lang.t(vi, en)) }
                (forms::commune(lang, t, errs, &unit, lang.t("Xã, phường", "Commune"), &options))
                (forms::text(lang, t, errs, &detail, lang.t("Số nhà, đường", "Street address"), None))
            }
        }
    };
    html! {
        (errs.summary(lang, ADDRESS_FIELDS))
        form method="post" action=(format!("/citizens/{id}/address")) data-testid="address-form" {
            (forms::csrf(p))
            input type="hidden" name="expected_version" value=(t.get("expected_version"));
            (part("permanent", "Nơi thường trú", "Permanent residence"))
            (part("temporary", "Nơi tạm trú", "Temporary residence"))
            (part("current", "Nơi ở hiện tại", "Current residence"))
            (forms::reason(lang, t, errs))
            button #address-submit type="submit" { (lang.t("Lưu địa chỉ", "Save the address")) }
            (forms::commune_datalist(&options))
        }
    }
}

pub async fn address_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(id): Path<String>,
) -> Response {
    open(&s, lang, &uri, &p, &id, &ADDRESS).await
}

pub async fn address_submit(
    State(s): State<AppState>,
    lang: Lang,
    uri: Uri,
    WebUser(p): WebUser,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    submit(&s, lang, &uri, &p, &id, pairs, &ADDRESS).await
}
