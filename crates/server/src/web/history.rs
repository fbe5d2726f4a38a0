//! Change history with a field-by-field diff: for each version of a record or a household,
//! what changed from what to what, who changed it (name and unit) and why.

use std::collections::HashMap;

use maud::{html, Markup};

use dancu_domain::household::Member;
use dancu_domain::{catalog, Address, Citizen, PersonalId, Relation, Sex};
use dancu_store::{CitizenVersion, HouseholdVersion, HouseholdView, StoredCitizen, Timestamp};

use super::display::{self, Actors};
use super::Lang;

/// One version: its number, when, who and why, and what it changed (`None`: created).
struct Version {
    version: i64,
    at: Timestamp,
    by: String,
    why: String,
    changes: Option<Vec<(String, String, String)>>,
}

fn address(lang: Lang, a: &Option<Address>) -> String {
    match a {
        None => String::new(),
        Some(a) if a.detail.is_empty() => display::unit(lang, &a.unit),
        Some(a) => format!("{}, {}", a.detail, display::unit(lang, &a.unit)),
    }
}

fn person(name: &str, id: &Option<PersonalId>) -> String {
    match id {
        Some(id) if name.is_empty() => id.to_string(),
        Some(id) => format!("{name} ({id})"),
        None => name.to_string(),
    }
}

/// A record's fields as the page shows them, each with its label.
pub(super) fn fields(lang: Lang, c: &Citizen) -> Vec<(&'static str, String)> {
    let unit = |u: &Option<dancu_domain::UnitRef>| u.map(|u| display::unit(lang, &u)).unwrap_or_default();
    vec![
        (lang.t("Họ và tên", "Full name"), c.name.full()),
        (lang.t("Tên gọi khác", "Other names"), c.other_names.clone()),
        (lang.t("Ngày sinh", "Date of birth"), c.birth_date.display_vi()),
        (lang.t("Giới tính", "Sex"), display::sex(lang, c.sex).to_string()),
        (lang.t("Nơi đăng ký khai sinh", "Birth registered in"), unit(&c.birth_place)),
        (lang.t("Quê quán", "Hometown"), unit(&c.hometown)),
        (
            lang.t("Dân tộc", "Ethnicity"),
            catalog::ethnicity_name(&c.ethnicity).unwrap_or_default().to_string(),
        ),
        (lang.t("Tôn giáo", "Religion"), catalog::religion_name(&c.religion).unwrap_or_default().to_string()),
        (lang.t("Quốc tịch", "Nationality"), display::nationality(lang, &c.nationality)),
        (lang.t("Nơi thường trú", "Permanent residence"), address(lang, &c.permanent)),
        (lang.t("Nơi tạm trú", "Temporary residence"), address(lang, &c.temporary)),
        (lang.t("Nơi ở hiện tại", "Current residence"), address(lang, &c.current)),
        (lang.t("Cha", "Father"), person(&c.father_name, &c.father_id)),
        (lang.t("Mẹ", "Mother"), person(&c.mother_name, &c.mother_id)),
        (lang.t("Vợ/chồng", "Spouse"), person("", &c.spouse_id)),
        (lang.t("Số CMND cũ", "Old CMND number"), c.cmnd.map(|n| n.to_string()).unwrap_or_default()),
        (lang.t("Tình trạng", "Status"), display::life_status(lang, c.status).to_string()),
        (lang.t("Ngày mất", "Date of death"), c.death_date.map(|d| d.display_vi()).unwrap_or_default()),
    ]
}

/// The fields that differ between two versions of a record: (label, before, after).
fn diff(lang: Lang, before: &Citizen, after: &Citizen) -> Vec<(String, String, String)> {
    fields(lang, before)
        .into_iter()
        .zip(fields(lang, after))
        .filter(|(b, a)| b.1 != a.1)
        .map(|((label, b), (_, a))| (label.to_string(), b, a))
        .collect()
}

/// A record's versions, newest first, each with its diff against the one before.
pub fn citizen(lang: Lang, actors: &Actors, stored: &StoredCitizen, history: &[CitizenVersion]) -> Markup {
    // Oldest first: version n's diff is against version n - 1.
    let mut all: Vec<(i64, &Citizen, Timestamp, &str, &str)> = history
        .iter()
        .rev()
        .map(|v| (v.version, &v.citizen, v.changed_at, v.changed_by.as_str(), v.reason.as_str()))
        .collect();
    all.push((
        stored.version,
        &stored.citizen,
        stored.updated_at,
        stored.updated_by.as_str(),
        stored.change_reason.as_str(),
    ));
    let mut versions: Vec<Version> = Vec::new();
    for (i, (version, c, at, by, why)) in all.iter().enumerate() {
        let changes = (i > 0).then(|| diff(lang, all[i - 1].1, c));
        versions.push(Version {
            version: *version,
            at: *at,
            by: by.to_string(),
            why: why.to_string(),
            changes,
        });
    }
    table(lang, actors, &versions, stored.version, "history")
}

fn relation_words(lang: Lang, r: Relation, sex: Option<Sex>) -> String {
    display::relation(lang, r, sex).to_string()
}

/// A household's versions, newest first: who joined, who left, whose relation changed.
pub fn household(lang: Lang, actors: &Actors, h: &HouseholdView, history: &[HouseholdVersion]) -> Markup {
    let known: HashMap<PersonalId, (&str, Sex)> =
        h.members.iter().map(|m| (m.personal_id, (m.full_name.as_str(), m.sex))).collect();
    let name = |id: &PersonalId| match known.get(id) {
        Some((n, _)) => format!("{n} ({id})"),
        None => id.to_string(),
    };
    let sex = |id: &PersonalId| known.get(id).map(|k| k.1);
    let current: Vec<Member> =
        h.members.iter().map(|m| Member { personal_id: m.personal_id, relation: m.relation }).collect();
    let mut all: Vec<(i64, &[Member], Timestamp, &str, &str)> = history
        .iter()
        .rev()
        .map(|v| (v.version, v.members.as_slice(), v.changed_at, v.changed_by.as_str(), v.reason.as_str()))
        .collect();
    all.push((h.version, &current, h.updated_at, h.updated_by.as_str(), h.change_reason.as_str()));
    let mut versions = Vec::new();
    for (i, (version, members, at, by, why)) in all.iter().enumerate() {
        let changes = (i > 0).then(|| {
            let before = all[i - 1].1;
            let rel =
                |ms: &[Member], id: &PersonalId| ms.iter().find(|m| &m.personal_id == id).map(|m| m.relation);
            let mut out = Vec::new();
            for m in members.iter() {
                match rel(before, &m.personal_id) {
                    None => out.push((
                        name(&m.personal_id),
                        lang.t("Không ở trong hộ", "Not in the household").to_string(),
                        relation_words(lang, m.relation, sex(&m.personal_id)),
                    )),
                    Some(r) if r != m.relation => out.push((
                        name(&m.personal_id),
                        relation_words(lang, r, sex(&m.personal_id)),
                        relation_words(lang, m.relation, sex(&m.personal_id)),
                    )),
                    Some(_) => {}
                }
            }
            for m in before.iter().filter(|m| rel(members, &m.personal_id).is_none()) {
                out.push((
                    name(&m.personal_id),
                    relation_words(lang, m.relation, sex(&m.personal_id)),
                    lang.t("Đã rời hộ", "Left the household").to_string(),
                ));
            }
            out
        });
        versions.push(Version {
            version: *version,
            at: *at,
            by: by.to_string(),
            why: why.to_string(),
            changes,
        });
    }
    table(lang, actors, &versions, h.version, "household-history")
}

fn table(lang: Lang, actors: &Actors, versions: &[Version], current: i64, testid: &str) -> Markup {
    let (l_ver, l_when, l_by, l_why, l_what) = (
        lang.t("Phiên bản", "Version"),
        lang.t("Thời gian", "When"),
        lang.t("Người thực hiện", "By"),
        lang.t("Lý do", "Reason"),
        lang.t("Thay đổi", "Changes"),
    );
    html! {
        div.table-wrap { table.stack data-testid=(testid) {
            thead { tr { th { (l_ver) } th { (l_when) } th { (l_by) } th { (l_why) } th { (l_what) } } }
            tbody {
                @for v in versions.iter().rev() {
                    tr data-testid="version" {
                        td data-label=(l_ver) { (v.version) @if v.version == current { " (" (lang.t("hiện tại", "current")) ")" } }
                        td data-label=(l_when) { (display::time(&v.at)) }
                        td data-label=(l_by) { (actors.name(lang, &v.by)) }
                        td data-label=(l_why) { (v.why) }
                        td data-label=(l_what) {
                            @match &v.changes {
                                None => { (lang.t("Tạo mới", "Created")) }
                                Some(c) if c.is_empty() => { span.muted { (lang.t("Không thay đổi nội dung", "No change in content")) } }
                                Some(c) => {
                                    ul.diff { @for (what, before, after) in c {
                                        li data-testid="change" {
                                            b { (what) } ": "
                                            del { (if before.is_empty() { "—" } else { before }) }
                                            " → "
                                            ins { (if after.is_empty() { "—" } else { after }) }
                                        }
                                    } }
                                }
                            }
                        }
                    }
                }
            }
        } }
    }
}
