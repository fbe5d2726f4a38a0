//! The one display layer of the pages: every stored code (audit actions, actors, scopes,
//! outcomes, eID events and states, match evidence, reconcile categories, relations, units)
//! becomes words in the page's language, and every date and time is written DD/MM/YYYY in
//! Vietnam time. No page prints a stored code itself: a code unknown here becomes a neutral
//! word, never the code, so a new code cannot leak onto a page.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use dancu_domain::{admin_units, Relation, Sex, UnitList, UnitRef, Violation};
use dancu_store::{Accounts, Scope};

use super::Lang;
use crate::error::ApiError;

/// Looks a code up in a (code, Vietnamese, English) table.
fn lookup(lang: Lang, table: &[(&str, &'static str, &'static str)], code: &str) -> Option<&'static str> {
    table.iter().find(|e| e.0 == code).map(|e| lang.t(e.1, e.2))
}

// ---- dates and times ----

/// Vietnam has one time zone, UTC+7, without daylight saving.
fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("UTC+7 is a valid offset")
}

/// A day, as written in Vietnam: `DD/MM/YYYY`.
pub fn day(d: &NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// A moment in Vietnam time, to the minute.
pub fn time(t: &DateTime<Utc>) -> String {
    t.with_timezone(&vietnam()).format("%d/%m/%Y %H:%M").to_string()
}

/// A moment in Vietnam time, to the second (logs, where order matters).
pub fn time_s(t: &DateTime<Utc>) -> String {
    t.with_timezone(&vietnam()).format("%d/%m/%Y %H:%M:%S").to_string()
}

/// A stored date text (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`) as `DD/MM/YYYY`, `MM/YYYY` or
/// `YYYY`; anything else unchanged.
pub fn stored_date(s: &str) -> String {
    let parts: Vec<&str> = s.trim().split('-').collect();
    match parts.as_slice() {
        [y, m, d] => format!("{d}/{m}/{y}"),
        [y, m] => format!("{m}/{y}"),
        _ => s.trim().to_string(),
    }
}

/// A form field, by its name in the form and its label in both languages.
pub type Field = (&'static str, &'static str, &'static str);

/// A day typed in a form field as `DD/MM/YYYY` (also `D/M/YYYY`, `-` or `.` between):
/// the error names the field by its label and gives the expected form.
pub fn parse_day((field, vi, en): Field, value: &str) -> Result<NaiveDate, ApiError> {
    let bad = || {
        ApiError::invalid(vec![Violation::new(
            field,
            "date.format",
            format!("“{vi}”: ngày phải viết dạng ngày/tháng/năm, ví dụ 07/03/2025 (đã nhập: “{value}”)"),
            format!("“{en}”: the date must be written DD/MM/YYYY, for example 07/03/2025 (typed: “{value}”)"),
        )])
    };
    let nums: Vec<&str> = value.trim().split(['/', '-', '.']).collect();
    // An ISO day (a link written before this form, a pasted value) is unambiguous too.
    let [d, m, y] = match nums.as_slice() {
        [y, m, d] if y.len() == 4 => [*d, *m, *y],
        [d, m, y] => [*d, *m, *y],
        _ => return Err(bad()),
    };
    if y.len() != 4 {
        return Err(bad());
    }
    let n = |s: &str| s.parse::<u32>().map_err(|_| bad());
    NaiveDate::from_ymd_opt(n(y)? as i32, n(m)?, n(d)?).ok_or_else(bad)
}

/// A probability as a percentage in the page's number style (`99,9 %` / `99.9%`).
pub fn percent(lang: Lang, p: f64) -> String {
    let v = (p * 1000.0).round() / 10.0;
    match lang {
        Lang::Vi => format!("{v:.1} %").replace('.', ","),
        Lang::En => format!("{v:.1}%"),
    }
}

/// A text written for people that names stored fields in brackets (a rule's description:
/// "nơi đăng ký khai sinh (birth_place)"), without those brackets.
pub fn without_codes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(" (") {
        let after = &rest[open + 2..];
        match after.find(')') {
            Some(close) if after[..close].chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '.') => {
                out.push_str(&rest[..open]);
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(&rest[..open + 2]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

// ---- units and scopes ----

/// A 2025 commune by name, with its province.
pub fn commune(code: &str) -> String {
    admin_units()
        .commune_2025(code)
        .map(|c| format!("{}, {}", c.name, c.province_name))
        .unwrap_or_else(|| code.to_string())
}

/// A 2025 commune's name alone (tables, where the province is known).
pub fn commune_short(code: &str) -> String {
    admin_units().commune_2025(code).map(|c| c.name.clone()).unwrap_or_else(|| code.to_string())
}

/// A unit reference by name: a unit of the old (pre-2025) list is named as it was, with
/// its district, and marked as old.
pub fn unit(lang: Lang, u: &UnitRef) -> String {
    match u.list {
        UnitList::V2025 => u.describe().to_string(),
        UnitList::Legacy => format!("{} ({})", u.describe(), lang.t("đơn vị hành chính cũ", "former unit")),
    }
}

/// An officer's scope: the whole country, a province or a commune, by name.
pub fn scope(lang: Lang, s: &Scope) -> String {
    match s {
        Scope::Nation => lang.t("Toàn quốc", "Whole country").to_string(),
        Scope::Province(p) => {
            admin_units().province_2025(p).map(|p| p.name.clone()).unwrap_or_else(|| p.clone())
        }
        Scope::Commune(c) => commune(c),
    }
}

/// A scope written as stored (`nation`, `province:24`, `commune:07408`).
pub fn scope_text(lang: Lang, s: &str) -> String {
    match s.parse::<Scope>() {
        Ok(sc) => scope(lang, &sc),
        Err(_) => lang.t("Đơn vị không xác định", "Unknown unit").to_string(),
    }
}

// ---- audit ----

const ACTIONS: &[(&str, &str, &str)] = &[
    ("citizen.read", "Xem hồ sơ công dân", "Viewed citizen record"),
    ("citizen.search", "Tìm kiếm công dân", "Searched citizens"),
    ("citizen.create", "Tạo hồ sơ công dân", "Created citizen record"),
    ("citizen.update", "Sửa hồ sơ công dân", "Updated citizen record"),
    ("citizen.history", "Xem lịch sử hồ sơ", "Viewed record history"),
    ("citizen.import", "Nhập dữ liệu công dân", "Imported citizen data"),
    ("citizen.import.begin", "Bắt đầu nhập dữ liệu", "Started a data import"),
    ("citizen.import.finish", "Kết thúc nhập dữ liệu", "Finished a data import"),
    ("household.read", "Xem hộ gia đình", "Viewed household"),
    ("household.create", "Tạo hộ gia đình", "Created household"),
    ("household.update", "Sửa hộ gia đình", "Updated household"),
    ("household.history", "Xem lịch sử hộ gia đình", "Viewed household history"),
    ("card.read", "Xem thẻ căn cước", "Viewed ID cards"),
    ("card.import", "Nhập dữ liệu thẻ căn cước", "Imported ID card data"),
    ("card.due_list", "Xem danh sách đến hạn đổi thẻ", "Listed cards due for renewal"),
    ("card.board", "Xem bảng hồ sơ cấp thẻ", "Viewed the card board"),
    ("card.application.create", "Thu nhận hồ sơ cấp thẻ", "Took in a card application"),
    ("card.application.read", "Xem hồ sơ cấp thẻ", "Viewed a card application"),
    ("card.application.list", "Xem danh sách hồ sơ cấp thẻ", "Listed card applications"),
    ("card.application.transition", "Chuyển bước hồ sơ cấp thẻ", "Moved a card application"),
    ("application.submit", "Nộp hồ sơ dịch vụ công", "Submitted a public-service application"),
    ("application.read", "Xem hồ sơ dịch vụ công", "Viewed a public-service application"),
    ("application.list", "Xem danh sách hồ sơ dịch vụ công", "Listed public-service applications"),
    ("application.transition", "Chuyển trạng thái hồ sơ dịch vụ công", "Moved a public-service application"),
    ("application.document.add", "Bổ sung giấy tờ vào hồ sơ", "Attached a document to an application"),
    ("application.counts", "Xem số liệu hồ sơ dịch vụ công", "Viewed application figures"),
    ("eid.register", "Đăng ký tài khoản định danh điện tử", "Registered an eID account"),
    ("eid.read", "Xem tài khoản định danh điện tử", "Viewed an eID account"),
    ("eid.list", "Xem danh sách tài khoản định danh", "Listed eID accounts"),
    ("eid.update", "Cập nhật tài khoản định danh điện tử", "Updated an eID account"),
    ("eid.upgrade", "Nâng tài khoản định danh lên mức 2", "Upgraded an eID account to level 2"),
    ("eid.document", "Tích hợp giấy tờ vào tài khoản định danh", "Linked a document to an eID account"),
    ("eid.reset_issue", "Cấp mã đặt lại mật khẩu", "Issued a password-reset code"),
    ("eid.reset", "Đặt lại mật khẩu", "Reset the password"),
    ("eid.own_record", "Xem thông tin của mình", "Viewed own record"),
    ("eid.access_log", "Xem nhật ký truy cập của mình", "Viewed own access log"),
    ("cmnd.read", "Xem giấy xác nhận số CMND", "Viewed an old-ID confirmation"),
    ("cmnd.confirm", "Cấp giấy xác nhận số CMND", "Issued an old-ID confirmation"),
    ("confirmation.issue", "Cấp giấy xác nhận thông tin về cư trú", "Issued a residence confirmation"),
    ("confirmation.read", "Xem giấy xác nhận thông tin về cư trú", "Viewed a residence confirmation"),
    ("confirmation.list", "Xem danh sách giấy xác nhận cư trú", "Listed residence confirmations"),
    ("confirmation.revoke", "Thu hồi giấy xác nhận thông tin về cư trú", "Revoked a residence confirmation"),
    (
        "confirmation.verify",
        "Kiểm tra giấy xác nhận cư trú qua mã QR",
        "Checked a residence confirmation by its QR code",
    ),
    ("dedup.read", "Xem cặp hồ sơ nghi trùng", "Viewed a probable duplicate pair"),
    ("dedup.list", "Xem danh sách hồ sơ nghi trùng", "Listed probable duplicates"),
    ("dedup.add", "Đề xuất cặp hồ sơ nghi trùng", "Proposed probable duplicates"),
    ("dedup.merge", "Gộp hồ sơ trùng", "Merged duplicate records"),
    ("dedup.reject", "Xác định không trùng", "Marked as not duplicates"),
    ("dedup.undo", "Hủy gộp hồ sơ", "Undid a merge"),
    ("quality.run", "Kiểm tra chất lượng dữ liệu", "Ran the data-quality rules"),
    ("quality.worklist", "Xem danh sách lỗi dữ liệu", "Viewed a data-quality worklist"),
    ("quality.mark", "Ghi nhận lỗi không khắc phục được", "Marked a finding as impossible to fix"),
    ("quality.unmark", "Mở lại lỗi dữ liệu", "Reopened a finding"),
    ("registry.match", "Đối chiếu danh sách với CSDL dân cư", "Matched a list against the registry"),
    ("personal_id.allocate", "Cấp số định danh cá nhân", "Allocated a personal ID"),
    ("officer.create", "Tạo tài khoản cán bộ", "Created an officer account"),
    ("officer.update", "Sửa tài khoản cán bộ", "Changed an officer account"),
    ("officer.password_reset", "Đặt lại mật khẩu cán bộ", "Reset an officer's password"),
    ("partner.verify", "Đối tác xác thực thông tin", "A partner verified your data"),
    ("partner.verify_batch", "Đối tác xác thực thông tin theo lô", "A partner verified data in a batch"),
    ("partner.card_lookup", "Đối tác tra cứu thông tin thẻ", "A partner looked up your card data"),
    ("partner.entitle", "Cấp quyền cho đối tác", "Set a partner's entitlements"),
    ("partner.suspend", "Tạm dừng đối tác", "Suspended a partner"),
    ("partner.resume", "Cho đối tác hoạt động lại", "Resumed a partner"),
];

/// An audit action in words.
pub fn action(lang: Lang, code: &str) -> &'static str {
    lookup(lang, ACTIONS, code).unwrap_or(lang.t("Thao tác khác trên hồ sơ", "Other access to the record"))
}

const OUTCOMES: &[(&str, &str, &str)] = &[
    ("ok", "Thành công", "Succeeded"),
    ("denied", "Bị từ chối (ngoài phạm vi hoặc không đủ quyền)", "Denied (outside the unit or not allowed)"),
    ("not_found", "Không tìm thấy", "Not found"),
    ("refused", "Bị từ chối (không hợp lệ)", "Refused (invalid)"),
    ("attempt", "Bắt đầu thực hiện", "Started"),
    ("failed", "Không thực hiện được", "Failed"),
];

/// An audit outcome in words.
pub fn outcome(lang: Lang, code: &str) -> &'static str {
    lookup(lang, OUTCOMES, code).unwrap_or(lang.t("Khác", "Other"))
}

/// Purposes the application itself writes, in English too; an officer's own words stay.
pub fn purpose(lang: Lang, text: &str) -> String {
    const KNOWN: &[(&str, &str, &str)] = &[
        (super::search::WEB_PURPOSE, "tra cứu nghiệp vụ (web)", "official lookup (web)"),
        (
            super::forms::WRITE_PURPOSE,
            "đăng ký, quản lý cư trú (web)",
            "registration and residence management (web)",
        ),
        (
            "đăng ký tài khoản định danh mức 1",
            "đăng ký tài khoản định danh mức 1",
            "level-1 eID registration",
        ),
    ];
    lookup(lang, KNOWN, text).map(str::to_string).unwrap_or_else(|| text.to_string())
}

const SYSTEM_JOBS: &[(&str, &str, &str)] = &[
    ("import", "nhập dữ liệu", "data import"),
    ("officer-add", "tạo tài khoản cán bộ", "officer accounts"),
    ("demo", "dữ liệu trình diễn", "demo set-up"),
    ("quality", "kiểm tra chất lượng dữ liệu", "data-quality check"),
    ("registry-dedup", "tìm hồ sơ trùng", "duplicate search"),
    ("reconcile", "đối chiếu danh sách", "list reconciliation"),
];

/// Who acted, in words: officers by name and unit (looked up once per page), citizens by
/// personal ID, the system's jobs by what they do.
#[derive(Default)]
pub struct Actors {
    officers: HashMap<String, (String, Scope)>,
    /// Relying parties (`rp:<client_id>`) by name.
    clients: HashMap<String, String>,
    /// Partner systems by client id: their names.
    partners: HashMap<String, String>,
}

impl Actors {
    /// Looks up the officers among `actors` (a handful per page). The names are taken
    /// before the first await, so the future holds no borrowed iterator (handlers must be
    /// `Send` for every lifetime).
    pub fn load<'a>(
        accounts: &Accounts,
        actors: impl IntoIterator<Item = &'a str>,
    ) -> impl std::future::Future<Output = Actors> + Send + '_ {
        let mut users: Vec<String> =
            actors.into_iter().filter_map(|a| a.strip_prefix("officer:")).map(str::to_string).collect();
        users.sort();
        users.dedup();
        async move {
            let mut out = Actors::default();
            for user in users {
                // A failed look-up shows the officer as "an officer": names are a courtesy,
                // the audit entry itself stays intact.
                if let Ok(Some(o)) = accounts.officer_by_username(&user).await {
                    out.officers.insert(user, (o.display_name, o.scope));
                }
            }
            out
        }
    }

    /// Names the relying parties (`rp:<client_id>`) among `actors` with `name_of` (the
    /// OAuth client cache: `oidc::bearer::client_name`).
    pub fn with_clients<'a>(
        mut self,
        actors: impl IntoIterator<Item = &'a str>,
        name_of: impl Fn(&str) -> Option<String>,
    ) -> Self {
        for id in actors.into_iter().filter_map(|a| a.strip_prefix("rp:")) {
            if let Some(n) = name_of(id) {
                self.clients.insert(id.to_string(), n);
            }
        }
        self
    }

    /// Adds the names of the partner systems among `actors` (`partner:<client_id>`).
    pub async fn with_partners<'a>(
        mut self,
        registry: &dancu_store::registry::Registry,
        actors: impl IntoIterator<Item = &'a str>,
    ) -> Actors {
        let mut ids: Vec<String> =
            actors.into_iter().filter_map(|a| a.strip_prefix("partner:")).map(str::to_string).collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            if let Ok(Some(p)) = registry.partner(&id).await {
                self.partners.insert(id, p.name);
            }
        }
        self
    }

    /// An officer's own name and unit, for a document's signature block and issuer.
    pub fn officer(&self, actor: &str) -> Option<(&str, &Scope)> {
        let (name, scope) = self.officers.get(actor.strip_prefix("officer:")?)?;
        Some((name.as_str(), scope))
    }

    pub fn name(&self, lang: Lang, actor: &str) -> String {
        if let Some(user) = actor.strip_prefix("officer:") {
            return match self.officers.get(user) {
                Some((name, sc)) => format!("{name} ({})", scope(lang, sc)),
                None => lang.t("Cán bộ", "An officer").to_string(),
            };
        }
        if let Some(id) = actor.strip_prefix("citizen:") {
            return format!("{} {id}", lang.t("Công dân", "Citizen"));
        }
        if let Some(id) = actor.strip_prefix("rp:") {
            let app = lang.t("Ứng dụng đăng nhập bằng định danh điện tử", "Application you logged in to");
            return match self.clients.get(id) {
                Some(name) => format!("{app}: {name}"),
                None => app.to_string(),
            };
        }
        if let Some(id) = actor.strip_prefix("partner:") {
            let name = self.partners.get(id).map_or(id, String::as_str);
            return format!("{}: {name}", lang.t("Cơ quan đối tác", "Partner agency"));
        }
        if let Some(job) = actor.strip_prefix("system:") {
            let what = lookup(lang, SYSTEM_JOBS, job).unwrap_or(lang.t("tác vụ tự động", "automatic job"));
            return format!("{}: {what}", lang.t("Hệ thống", "System"));
        }
        if actor == dancu_store::registry::PUBLIC_VERIFIER {
            return lang
                .t("Người kiểm tra giấy xác nhận (mã QR)", "Someone checking a confirmation (QR code)")
                .to_string();
        }
        if actor.starts_with("public:") {
            return lang.t("Công dân tự đăng ký", "The citizen, registering").to_string();
        }
        if actor == "citizen" {
            return lang.t("Công dân", "The citizen").to_string();
        }
        if actor.starts_with("test:") {
            return lang.t("Nhập dữ liệu ban đầu", "Initial data load").to_string();
        }
        lang.t("Hệ thống", "System").to_string()
    }
}

// ---- eID ----

const EID_STATES: &[(&str, &str, &str)] = &[
    ("registered", "Chờ phê duyệt", "Waiting for approval"),
    ("approved", "Đã phê duyệt, chờ kích hoạt", "Approved, awaiting activation"),
    ("activated", "Đã kích hoạt", "Activated"),
    ("locked", "Đã khóa", "Locked"),
];

/// An eID account state stored as its code.
pub fn eid_state(lang: Lang, code: &str) -> &'static str {
    lookup(lang, EID_STATES, code).unwrap_or(lang.t("Không rõ", "Unknown"))
}

/// An account's state, for a locked one with who locked it.
pub fn account_state(lang: Lang, s: &dancu_identity::eid::AccountState) -> String {
    use dancu_identity::eid::AccountState;
    match (lang, s) {
        (Lang::Vi, _) => s.label_vi(),
        (Lang::En, AccountState::Locked { by, .. }) => format!("Locked (by {})", by.label_en()),
        (Lang::En, other) => eid_state(lang, other.code()).to_string(),
    }
}

const EID_EVENTS: &[(&str, &str, &str)] = &[
    ("register", "Đăng ký", "Registered"),
    ("approve", "Phê duyệt", "Approved"),
    ("activate", "Kích hoạt", "Activated"),
    ("lock", "Khóa tài khoản", "Locked"),
    ("unlock", "Mở khóa tài khoản", "Unlocked"),
    ("upgrade_level_2", "Nâng lên mức 2", "Upgraded to level 2"),
    ("reset_issued", "Cấp mã đặt lại mật khẩu", "Reset code issued"),
    ("password_reset", "Đặt lại mật khẩu", "Password reset"),
    ("document", "Tích hợp giấy tờ", "Document linked"),
];

pub fn eid_event(lang: Lang, code: &str) -> &'static str {
    lookup(lang, EID_EVENTS, code).unwrap_or(lang.t("Thay đổi khác", "Other change"))
}

const LOGIN_OUTCOMES: &[(&str, &str, &str)] = &[
    ("ok", "Đăng nhập thành công", "Logged in"),
    ("bad_password", "Sai mật khẩu", "Wrong password"),
    ("bad_code", "Sai mã xác thực", "Wrong authenticator code"),
    ("locked", "Tài khoản đang khóa", "Account locked"),
    ("not_active", "Tài khoản chưa kích hoạt", "Account not active"),
];

pub fn login_outcome(lang: Lang, code: &str) -> &'static str {
    lookup(lang, LOGIN_OUTCOMES, code).unwrap_or(lang.t("Không đăng nhập được", "Login failed"))
}

/// Where a login came from.
pub fn login_client(lang: Lang, code: &str) -> &'static str {
    match code {
        "web" => lang.t("trang web", "web"),
        "api" => lang.t("ứng dụng", "app"),
        _ => lang.t("khác", "other"),
    }
}

pub fn verification(lang: Lang, s: &dancu_identity::eid::VerificationState) -> String {
    use dancu_identity::eid::VerificationState::*;
    match (lang, s) {
        (Lang::Vi, _) => s.label_vi().to_string(),
        (Lang::En, Pending) => "Waiting for the agency".into(),
        (Lang::En, Verified) => "Verified".into(),
        (Lang::En, Rejected { .. }) => "Rejected".into(),
    }
}

pub fn document_kind(lang: Lang, k: dancu_identity::eid::DocumentKind) -> &'static str {
    lang.t(k.label_vi(), k.label_en())
}

pub fn level(lang: Lang, l: dancu_identity::eid::Level) -> &'static str {
    lang.t(l.label_vi(), l.label_en())
}

// ---- people ----

/// A relation to the household head; a spouse, parent, grandparent or child-in-law by sex
/// when it is known.
pub fn relation(lang: Lang, r: Relation, sex: Option<Sex>) -> &'static str {
    use Relation::*;
    use Sex::*;
    match (r, sex) {
        (Spouse, Some(Male)) => lang.t("Chồng", "Husband"),
        (Spouse, Some(Female)) => lang.t("Vợ", "Wife"),
        (Parent, Some(Male)) => lang.t("Bố", "Father"),
        (Parent, Some(Female)) => lang.t("Mẹ", "Mother"),
        (Grandparent, Some(Male)) => lang.t("Ông", "Grandfather"),
        (Grandparent, Some(Female)) => lang.t("Bà", "Grandmother"),
        (ChildInLaw, Some(Male)) => lang.t("Con rể", "Son-in-law"),
        (ChildInLaw, Some(Female)) => lang.t("Con dâu", "Daughter-in-law"),
        (Head, _) => lang.t("Chủ hộ", "Head of household"),
        (Spouse, None) => lang.t("Vợ/Chồng", "Spouse"),
        (Child, _) => lang.t("Con", "Child"),
        (Parent, None) => lang.t("Bố/Mẹ", "Parent"),
        (Grandchild, _) => lang.t("Cháu", "Grandchild"),
        (Grandparent, None) => lang.t("Ông/Bà", "Grandparent"),
        (Sibling, _) => lang.t("Anh/Chị/Em", "Sibling"),
        (ChildInLaw, None) => lang.t("Con dâu/Con rể", "Child-in-law"),
        (Other, _) => lang.t("Khác", "Other"),
    }
}

pub fn sex(lang: Lang, s: Sex) -> &'static str {
    lang.t(s.label_vi(), s.label_en())
}

pub fn life_status(lang: Lang, s: dancu_domain::LifeStatus) -> &'static str {
    use dancu_domain::LifeStatus::*;
    match s {
        Alive => lang.t("Còn sống", "Alive"),
        Deceased => lang.t("Đã chết", "Deceased"),
        Missing => lang.t("Mất tích", "Missing"),
    }
}

/// A nationality stored as its ISO code (`VN`) or as written.
pub fn nationality(lang: Lang, code: &str) -> String {
    const KNOWN: &[(&str, &str, &str)] = &[
        ("VN", "Việt Nam", "Vietnamese"),
        ("VNM", "Việt Nam", "Vietnamese"),
        ("Việt Nam", "Việt Nam", "Vietnamese"),
        ("LA", "Lào", "Lao"),
        ("KH", "Campuchia", "Cambodian"),
        ("CN", "Trung Quốc", "Chinese"),
    ];
    match lookup(lang, KNOWN, code.trim()) {
        Some(w) => w.to_string(),
        None if code.trim().is_empty() => "—".into(),
        None => code.trim().to_string(),
    }
}

// ---- matching ----

const FIELDS: &[(&str, &str, &str)] = &[
    ("family_name", "Họ", "Family name"),
    ("given_name", "Tên", "Given name"),
    ("middle_name", "Tên đệm", "Middle name"),
    ("birth_date", "Ngày sinh", "Date of birth"),
    ("personal_id", "Số định danh", "Personal ID"),
    ("cmnd", "Số CMND", "Old ID number"),
    ("unit", "Đơn vị hành chính", "Administrative unit"),
    ("address", "Địa chỉ", "Address"),
    ("place", "Nơi sinh", "Place of birth"),
    ("address_detail", "Số nhà, đường", "Street address"),
    ("postcode", "Mã bưu chính", "Postcode"),
    ("phone", "Số điện thoại", "Phone"),
    ("sex", "Giới tính", "Sex"),
    ("ethnicity", "Dân tộc", "Ethnicity"),
    ("hometown", "Quê quán", "Home town"),
    ("father_name", "Họ tên cha", "Father's name"),
    ("mother_name", "Họ tên mẹ", "Mother's name"),
];

/// A form or record field named in an error, in words.
pub fn field(lang: Lang, name: &str) -> String {
    const FORM: &[(&str, &str, &str)] = &[
        ("on", "Ngày", "On"),
        ("since", "Tính từ ngày", "Count from"),
        ("within_days", "Trong vòng (ngày)", "Within (days)"),
        ("reason", "Lý do", "Reason"),
        ("kind", "Loại", "Kind"),
        ("stage", "Bước", "Stage"),
        ("q", "Số định danh hoặc họ tên", "Personal ID or name"),
        ("commune", "Xã", "Commune"),
        ("full_name", "Họ và tên", "Full name"),
        ("password", "Mật khẩu", "Password"),
        ("code", "Mã", "Code"),
        ("list", "Tệp danh sách", "List file"),
        ("mapping", "Ánh xạ cột", "Column mapping"),
        ("keep", "Hồ sơ giữ lại", "Record to keep"),
        ("action", "Thao tác", "Action"),
        ("role", "Vai trò", "Role"),
        ("scope", "Phạm vi", "Scope"),
    ];
    lookup(lang, FORM, name).map(str::to_string).unwrap_or_else(|| match_field(lang, name))
}

/// A compared field of a match in words.
pub fn match_field(lang: Lang, name: &str) -> String {
    lookup(lang, FIELDS, name).map(str::to_string).unwrap_or_else(|| name.replace('_', " "))
}

const LEVELS: &[(&str, &str, &str)] = &[
    ("exact", "Trùng khớp", "Identical"),
    ("similar", "Gần giống", "Similar"),
    ("very_similar", "Rất giống", "Very similar"),
    ("different", "Khác nhau", "Different"),
    ("missing", "Thiếu dữ liệu", "Missing"),
    ("missing_or_extra_word", "Thiếu hoặc thừa một từ", "A word missing or extra"),
    ("day_month_swapped", "Đảo ngày và tháng", "Day and month swapped"),
    ("partial_date_agrees", "Khớp phần ngày đã biết", "Known part agrees"),
    ("one_part_differs", "Lệch một phần", "One part differs"),
    ("same_year", "Cùng năm sinh", "Same year"),
    ("one_edit", "Sai một ký tự", "One keystroke apart"),
    ("one_digit_off", "Lệch một chữ số", "One digit off"),
    ("same_commune", "Cùng xã", "Same commune"),
    ("same_province", "Cùng tỉnh", "Same province"),
    ("same_commune_and_detail", "Cùng xã và địa chỉ", "Same commune and address"),
    ("same_commune_and_numbers", "Cùng xã và số nhà", "Same commune and house number"),
    ("same_commune_other_house", "Cùng xã, khác nhà", "Same commune, another house"),
    ("same_province_and_detail", "Cùng tỉnh và địa chỉ", "Same province and address"),
    ("same_province_and_numbers", "Cùng tỉnh và số nhà", "Same province and house number"),
    ("same_numbers_and_words", "Cùng số nhà và tên đường", "Same numbers and words"),
    ("same_numbers", "Cùng số nhà", "Same numbers"),
    ("most_words", "Phần lớn các từ", "Most words"),
];

/// A comparison level of match evidence in words.
pub fn match_level(lang: Lang, code: &str) -> &'static str {
    lookup(lang, LEVELS, code).unwrap_or(lang.t("Mức khác", "Other level"))
}

/// How strongly a piece of evidence points to one person.
pub fn weight_words(lang: Lang, w: f64) -> &'static str {
    match w {
        w if w >= 4.0 => lang.t("ủng hộ mạnh", "strongly for"),
        w if w > 0.5 => lang.t("ủng hộ", "for"),
        w if w >= -0.5 => lang.t("trung tính", "neutral"),
        w if w > -4.0 => lang.t("phản bác", "against"),
        _ => lang.t("phản bác mạnh", "strongly against"),
    }
}

const DEDUP_STATUSES: &[(&str, &str, &str)] =
    &[("open", "Chờ xử lý", "Open"), ("merged", "Đã gộp", "Merged"), ("rejected", "Không trùng", "Rejected")];

pub fn dedup_status(lang: Lang, code: &str) -> &'static str {
    lookup(lang, DEDUP_STATUSES, code).unwrap_or(lang.t("Khác", "Other"))
}

const RECONCILE: &[(&str, &str, &str)] = &[
    ("ok", "Số định danh đúng", "ID correct"),
    ("no_id", "Không có số định danh", "No personal ID"),
    ("id_bad_format", "Số định danh sai định dạng", "ID in a wrong format"),
    ("id_not_in_registry", "Số định danh không có trong CSDL", "ID not in the registry"),
    ("matched", "Khớp", "Matched"),
    ("details_disagree", "Thông tin không khớp", "Details disagree"),
    ("probable_match", "Gợi ý số định danh", "Suggested ID"),
    ("no_match", "Không tìm thấy", "Not found"),
    ("rejected", "Dòng lỗi, bị loại", "Unreadable row"),
];

/// A reconciliation category (ID check or row status) in words.
pub fn reconcile_category(lang: Lang, code: &str) -> &'static str {
    lookup(lang, RECONCILE, code).unwrap_or(lang.t("Khác", "Other"))
}

// ---- OAuth clients (the OpenID Connect provider) ----

/// What a scope releases or allows, in words.
pub fn oauth_scope(lang: Lang, scope: &str) -> &'static str {
    match scope {
        "openid" => lang.t(
            "Mã định danh riêng cho ứng dụng này (không phải số định danh cá nhân)",
            "An identifier for this application only (not your personal ID)",
        ),
        "profile" => lang.t("Họ, chữ đệm, tên và giới tính", "Name and sex"),
        "birthdate" => lang.t("Ngày sinh", "Date of birth"),
        "address" => lang.t("Nơi cư trú", "Residence"),
        "personal_id" => lang.t("Số định danh cá nhân", "Personal ID number"),
        "offline_access" => lang.t("Duy trì đăng nhập khi vắng mặt", "Stay signed in while away"),
        "partner:verify" => lang.t("Đối chiếu thông tin công dân", "Verify citizens' data"),
        "partner:card" => lang.t("Tra cứu thẻ (bảo hiểm y tế…)", "Card look-up (health insurance…)"),
        "partner:residence" => lang.t("Xác nhận nơi cư trú", "Residence check"),
        "partner:feed" => lang.t("Nhận thông báo thay đổi", "Change feed"),
        "partner:civil" => lang.t("Gửi đăng ký khai sinh, khai tử", "Send birth and death registrations"),
        _ => lang.t("Quyền khác", "Another permission"),
    }
}

/// How a client authenticates at the token endpoint, in words.
pub fn oauth_auth_method(lang: Lang, method: &str) -> &'static str {
    match method {
        "client_secret_basic" => lang.t("Mã bí mật (HTTP Basic)", "Secret (HTTP Basic)"),
        "client_secret_post" => lang.t("Mã bí mật (trong biểu mẫu)", "Secret (in the form)"),
        "private_key_jwt" => {
            lang.t("Khóa riêng của ứng dụng (JWT ký số)", "The client's private key (signed JWT)")
        }
        "none" => lang.t("Ứng dụng công khai (chỉ PKCE)", "Public application (PKCE only)"),
        _ => lang.t("Khác", "Other"),
    }
}

/// What a client is, from its grant types, in words.
pub fn oauth_kind(lang: Lang, grants: &[String]) -> &'static str {
    if grants.iter().any(|g| g == "client_credentials") {
        lang.t("Hệ thống đối tác", "Partner system")
    } else {
        lang.t("Cổng đăng nhập bằng định danh điện tử", "Portal (log in with eID)")
    }
}

// ---- partners ----

const PARTNER_OPERATIONS: &[(&str, &str, &str)] = &[
    ("verify", "Xác thực thông tin", "Verification"),
    ("card_lookup", "Tra cứu thẻ (bệnh viện)", "Card look-up (hospitals)"),
    ("residence_check", "Kiểm tra nơi cư trú", "Residence check"),
    ("feed", "Nhận dữ liệu thay đổi", "Change feed"),
    (
        "civil_registration",
        "Đăng ký hộ tịch liên thông (khai sinh, khai tử)",
        "Civil registration (births, deaths)",
    ),
];

/// A partner operation in words.
pub fn partner_operation(lang: Lang, code: &str) -> &'static str {
    lookup(lang, PARTNER_OPERATIONS, code).unwrap_or(lang.t("Nghiệp vụ khác", "Other operation"))
}

const CARD_FIELDS: &[(&str, &str, &str)] = &[
    ("full_name", "Họ và tên", "Full name"),
    ("date_of_birth", "Ngày sinh", "Date of birth"),
    ("sex", "Giới tính", "Sex"),
    ("life_status", "Tình trạng (còn sống / đã mất)", "Life status"),
    ("card_number", "Số thẻ căn cước", "ID card number"),
    ("card_expiry", "Hạn thẻ căn cước", "ID card expiry"),
    ("permanent_address", "Nơi thường trú", "Permanent residence"),
    ("health_insurance_number", "Số thẻ bảo hiểm y tế", "Health-insurance card number"),
    ("social_insurance_number", "Số sổ bảo hiểm xã hội", "Social-insurance number"),
    ("household", "Hộ gia đình (số hộ, quan hệ với chủ hộ)", "Household (number, relation to the head)"),
];

/// A card look-up field in words.
pub fn card_field(lang: Lang, code: &str) -> &'static str {
    lookup(lang, CARD_FIELDS, code).unwrap_or(lang.t("Trường khác", "Other field"))
}

const PARTNER_OUTCOMES: &[(&str, &str, &str)] = &[
    ("match", "Khớp", "Matched"),
    ("mismatch", "Không khớp", "Did not match"),
    ("id_only", "Có số định danh (không gửi trường nào)", "ID exists (no fields sent)"),
    ("not_found", "Không tìm thấy", "Not found"),
    ("found", "Tìm thấy", "Found"),
    ("insufficient_scope", "Từ chối: mã truy cập thiếu phạm vi", "Refused: token scope missing"),
    ("partner_unknown", "Từ chối: chưa đăng ký đối tác", "Refused: not a registered partner"),
    ("partner_suspended", "Từ chối: đối tác bị tạm dừng", "Refused: partner suspended"),
    ("partner_not_entitled", "Từ chối: chưa được cấp quyền", "Refused: not entitled"),
    ("rate_limited", "Từ chối: vượt giới hạn tốc độ", "Refused: over the rate limit"),
    ("validation_failed", "Từ chối: dữ liệu gửi không hợp lệ", "Refused: invalid request"),
    ("batch_too_large", "Từ chối: lô quá lớn", "Refused: batch too large"),
];

/// The outcome of a partner call in words.
pub fn partner_outcome(lang: Lang, code: &str) -> &'static str {
    lookup(lang, PARTNER_OUTCOMES, code).unwrap_or(lang.t("Kết quả khác", "Other outcome"))
}

// ---- public-service applications ----

/// A handling unit (a 2025 commune or province code, or `ministry`) by name.
pub fn handling_unit(lang: Lang, code: &str) -> String {
    if code == "ministry" {
        return lang.t("Bộ, ngành trung ương", "Central ministry").to_string();
    }
    match code.len() {
        2 => scope(lang, &Scope::Province(code.into())),
        _ => commune(code),
    }
}

/// An application state in words.
pub fn app_state(lang: Lang, s: dancu_domain::application::AppState) -> &'static str {
    lang.t(s.name_vi(), s.name_en())
}

/// A stored application state (events keep codes; empty before submission) in words.
pub fn app_state_code(lang: Lang, code: &str) -> &'static str {
    match dancu_domain::application::AppState::from_code(code) {
        Ok(s) => app_state(lang, s),
        Err(_) => lang.t("(mới)", "(new)"),
    }
}

/// A submission channel in words.
pub fn channel(lang: Lang, c: dancu_domain::application::Channel) -> &'static str {
    lang.t(c.name_vi(), c.name_en())
}

/// A service of the catalogue by name.
pub fn service(lang: Lang, code: &str) -> String {
    match dancu_domain::services::service(code) {
        Some(s) => match lang {
            Lang::Vi => s.name_vi.clone(),
            Lang::En => s.name_en.clone(),
        },
        None => lang.t("Dịch vụ không còn trong danh mục", "Service no longer listed").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every comparison level the matcher can report has words on the dedup page.
    #[test]
    fn every_match_level_has_words() {
        use dancu_matching::compare::Field;
        let fields = [
            Field::FamilyName,
            Field::GivenName,
            Field::MiddleName,
            Field::BirthDate,
            Field::PersonalId,
            Field::Cmnd,
            Field::Unit,
            Field::Address,
            Field::Place,
            Field::Detail,
            Field::Postcode,
            Field::Phone,
            Field::Category(0),
        ];
        for f in fields {
            for level in f.levels() {
                for lang in [Lang::Vi, Lang::En] {
                    assert!(lookup(lang, LEVELS, level).is_some(), "{f:?} {level} has no words");
                }
            }
        }
    }

    #[test]
    fn days_are_parsed_with_the_field_named() {
        let on = ("on", "Ngày", "On");
        assert_eq!(parse_day(on, "07/03/2025").unwrap(), NaiveDate::from_ymd_opt(2025, 3, 7).unwrap());
        assert_eq!(parse_day(on, " 7-3-2025 ").unwrap(), NaiveDate::from_ymd_opt(2025, 3, 7).unwrap());
        assert_eq!(parse_day(on, "2025-03-07").unwrap(), NaiveDate::from_ymd_opt(2025, 3, 7).unwrap());
        for bad in ["07/2025/03", "31/02/2025", "07/03/25", "", "hôm nay"] {
            let e = parse_day(("since", "Tính từ ngày", "Count from"), bad).unwrap_err();
            assert_eq!(e.violations[0].field, "since", "{bad}");
            assert_eq!(e.violations[0].rule, "date.format");
            assert!(e.violations[0].message_en.contains("Count from"), "{bad}");
        }
    }

    #[test]
    fn times_are_vietnam_time() {
        let t = DateTime::parse_from_rfc3339("2025-03-07T20:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(time(&t), "08/03/2025 03:30");
        assert_eq!(stored_date("1985-03-15"), "15/03/1985");
        assert_eq!(stored_date("1985-03"), "03/1985");
    }

    #[test]
    fn codes_become_words() {
        assert_eq!(without_codes("nơi sinh (birth_place), quê (x y)"), "nơi sinh, quê (x y)");
        assert_eq!(action(Lang::Vi, "citizen.read"), "Xem hồ sơ công dân");
        assert_eq!(action(Lang::En, "citizen.read"), "Viewed citizen record");
        assert_eq!(action(Lang::En, "something.new"), "Other access to the record");
        assert_eq!(scope_text(Lang::Vi, "nation"), "Toàn quốc");
        assert!(!scope_text(Lang::Vi, "commune:00004").contains("00004"));
        assert_eq!(relation(Lang::Vi, Relation::Spouse, Some(Sex::Female)), "Vợ");
        assert_eq!(percent(Lang::Vi, 0.99912), "99,9 %");
        assert_eq!(Actors::default().name(Lang::En, "system:import"), "System: data import");
        let legacy: UnitRef = "legacy:00004".parse().unwrap();
        assert!(!unit(Lang::Vi, &legacy).contains("legacy"));
    }
}
