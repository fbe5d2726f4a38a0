//! Electronic identity accounts (tài khoản định danh điện tử, VNeID-style): levels, account
//! states and their moves, the level-1 self-registration check against the registry, the
//! level-2 upgrade check, and integrated documents (giấy tờ tích hợp).

use chrono::NaiveDate;
use dancu_domain::{fold_key, nfc, Citizen, LifeStatus, PartialDate, PersonalId, Sex, Violation};
use serde::{Deserialize, Serialize};

use crate::card::{Card, CardStatus};

// ---------------------------------------------------------------------------------------------
// Levels and account states
// ---------------------------------------------------------------------------------------------

/// Account level (mức độ tài khoản).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Self-registered in the app, approved by the ministry (mức 1).
    One,
    /// Verified in person with face and fingerprints (mức 2).
    Two,
}

impl Level {
    pub fn code(self) -> &'static str {
        match self {
            Level::One => "level_1",
            Level::Two => "level_2",
        }
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            Level::One => "Mức 1",
            Level::Two => "Mức 2",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Level::One => "level 1",
            Level::Two => "level 2",
        }
    }
}

/// Who acts on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Citizen,
    Officer,
}

impl Actor {
    pub fn label_vi(self) -> &'static str {
        match self {
            Actor::Citizen => "công dân",
            Actor::Officer => "cán bộ",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Actor::Citizen => "the citizen",
            Actor::Officer => "an officer",
        }
    }
}

/// The life-cycle stage of an account, locked or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Registered, waiting for approval (đã đăng ký, chờ phê duyệt).
    Registered,
    /// Approved, waiting for the citizen to activate it (đã phê duyệt, chờ kích hoạt).
    Approved,
    /// In use (đã kích hoạt).
    Activated,
}

impl Phase {
    pub fn code(self) -> &'static str {
        match self {
            Phase::Registered => "registered",
            Phase::Approved => "approved",
            Phase::Activated => "activated",
        }
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            Phase::Registered => "Đã đăng ký, chờ phê duyệt",
            Phase::Approved => "Đã phê duyệt, chờ kích hoạt",
            Phase::Activated => "Đã kích hoạt",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Phase::Registered => "registered, awaiting approval",
            Phase::Approved => "approved, awaiting activation",
            Phase::Activated => "activated",
        }
    }
}

/// The state of an account. A locked account remembers the phase it was locked in and
/// returns to it when unlocked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AccountState {
    Registered,
    Approved,
    Activated,
    Locked { by: Actor, reason: String, previous: Phase },
}

impl AccountState {
    pub fn code(&self) -> &'static str {
        match self {
            AccountState::Locked { .. } => "locked",
            other => other.phase().code(),
        }
    }

    /// The phase, for a locked account the one it returns to.
    pub fn phase(&self) -> Phase {
        match self {
            AccountState::Registered => Phase::Registered,
            AccountState::Approved => Phase::Approved,
            AccountState::Activated => Phase::Activated,
            AccountState::Locked { previous, .. } => *previous,
        }
    }

    pub fn is_locked(&self) -> bool {
        matches!(self, AccountState::Locked { .. })
    }

    pub fn label_vi(&self) -> String {
        match self {
            AccountState::Locked { by, .. } => format!("Đã khóa (bởi {})", by.label_vi()),
            other => other.phase().label_vi().to_string(),
        }
    }

    fn from_phase(p: Phase) -> AccountState {
        match p {
            Phase::Registered => AccountState::Registered,
            Phase::Approved => AccountState::Approved,
            Phase::Activated => AccountState::Activated,
        }
    }
}

/// Something that happens to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AccountEvent {
    /// The ministry approves a registration.
    Approve,
    /// The citizen activates an approved account.
    Activate,
    /// The citizen or an officer locks the account; a reason is required.
    Lock { by: Actor, reason: String },
    /// Unlocks; a citizen may lift only a lock they placed; an officer must give a reason.
    Unlock { by: Actor, reason: String },
}

fn transition_error(state: &AccountState, what_vi: &str, what_en: &str) -> Violation {
    let en = match state {
        AccountState::Locked { .. } => "locked".to_string(),
        other => other.phase().label_en().to_string(),
    };
    Violation::new(
        "state",
        "eid.transition",
        format!("Không thể {what_vi} khi tài khoản ở trạng thái “{}”", state.label_vi()),
        format!("cannot {what_en} an account that is {en}"),
    )
}

fn reason_required(what_vi: &str, what_en: &str) -> Violation {
    Violation::new(
        "reason",
        "eid.lock_reason_required",
        format!("Phải ghi lý do {what_vi} tài khoản"),
        format!("a reason is required to {what_en} the account"),
    )
}

/// Applies an event to an account state.
///
/// Rule codes: `eid.transition`, `eid.lock_reason_required`, `eid.unlock_forbidden`.
pub fn apply(state: &AccountState, event: &AccountEvent) -> Result<AccountState, Violation> {
    match (state, event) {
        (AccountState::Registered, AccountEvent::Approve) => Ok(AccountState::Approved),
        (AccountState::Approved, AccountEvent::Activate) => Ok(AccountState::Activated),
        (_, AccountEvent::Approve) => Err(transition_error(state, "phê duyệt", "approve")),
        (_, AccountEvent::Activate) => Err(transition_error(state, "kích hoạt", "activate")),
        (AccountState::Locked { .. }, AccountEvent::Lock { .. }) => {
            Err(transition_error(state, "khóa", "lock"))
        }
        (_, AccountEvent::Lock { by, reason }) => {
            let reason = nfc(reason);
            if reason.is_empty() {
                return Err(reason_required("khóa", "lock"));
            }
            Ok(AccountState::Locked { by: *by, reason, previous: state.phase() })
        }
        (AccountState::Locked { by: locked_by, previous, .. }, AccountEvent::Unlock { by, reason }) => {
            if *by == Actor::Citizen && *locked_by == Actor::Officer {
                return Err(Violation::new(
                    "by",
                    "eid.unlock_forbidden",
                    "Tài khoản do cán bộ khóa; công dân không tự mở khóa được",
                    "an officer locked this account; the citizen cannot unlock it",
                ));
            }
            if *by == Actor::Officer && nfc(reason).is_empty() {
                return Err(reason_required("mở khóa", "unlock"));
            }
            Ok(AccountState::from_phase(*previous))
        }
        (_, AccountEvent::Unlock { .. }) => Err(transition_error(state, "mở khóa", "unlock")),
    }
}

// ---------------------------------------------------------------------------------------------
// Level-1 registration
// ---------------------------------------------------------------------------------------------

/// What a citizen enters to self-register a level-1 account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationClaim {
    pub personal_id: PersonalId,
    pub full_name: String,
    pub birth_date: PartialDate,
    pub sex: Sex,
    pub phone: String,
    /// A portrait was taken in the app (the image itself is not kept here).
    pub portrait_captured: bool,
}

/// The key names are compared on: [`fold_key`] (marks, tone placement, đ/d, case and spacing
/// do not matter) with a word-final `y` after a consonant read as `i` (`Lý` = `Lí`,
/// `Mỹ` = `Mĩ`), as DOMAIN.md §8 asks.
pub fn name_match_key(name: &str) -> String {
    let key = fold_key(name);
    key.split(' ')
        .map(|w| {
            let b = w.as_bytes();
            if b.len() >= 2 && b[b.len() - 1] == b'y' && !b"aeiouy".contains(&b[b.len() - 2]) {
                format!("{}i", &w[..w.len() - 1])
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The claim matches every part of the registry's date of birth and is at least as precise:
/// a registry year-only date asks for the year, a month-and-year date for both, a full date
/// for the exact day.
pub fn birth_date_matches(claim: &PartialDate, record: &PartialDate) -> bool {
    match record {
        PartialDate::Full(d) => *claim == PartialDate::Full(*d),
        PartialDate::YearMonth(y, m) => claim.year() == *y && claim.month() == Some(*m),
        PartialDate::Year(y) => claim.year() == *y,
    }
}

/// Normalises a Vietnamese mobile number to its 10-digit national form: spaces, dots,
/// hyphens and brackets are ignored; `+84…` and `84…` (11 digits) become `0…`. The number
/// must then have 10 digits and start with 03, 05, 07, 08 or 09 (*the prefix list is
/// unconfirmed*: carriers add prefixes).
pub fn normalize_phone(raw: &str) -> Result<String, Violation> {
    let err = || {
        Violation::new(
            "phone",
            "eid.phone_format",
            "Số điện thoại di động phải có 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09 (hoặc dạng +84)",
            "a mobile number has 10 digits starting with 03, 05, 07, 08 or 09 (or the +84 form)",
        )
    };
    let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')')).collect();
    let digits = if let Some(rest) = compact.strip_prefix("+84") {
        format!("0{rest}")
    } else if compact.len() == 11 && compact.starts_with("84") {
        format!("0{}", &compact[2..])
    } else {
        compact
    };
    let b = digits.as_bytes();
    if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) || b[0] != b'0' || !b"35789".contains(&b[1]) {
        return Err(err());
    }
    Ok(digits)
}

/// Checks what a level-1 claim says on its own, before any record is looked up.
///
/// Rule codes, in checking order: `eid.phone_format`, `eid.portrait_missing`.
pub fn check_claim(claim: &RegistrationClaim) -> Result<(), Violation> {
    normalize_phone(&claim.phone)?;
    if !claim.portrait_captured {
        return Err(Violation::new(
            "portrait_captured",
            "eid.portrait_missing",
            "Chưa chụp ảnh chân dung",
            "a portrait must be taken",
        ));
    }
    Ok(())
}

/// The answer to a claim whose personal ID has no record: the same as a wrong name, so that
/// the answer does not reveal whether the personal ID exists.
pub fn name_mismatch() -> Violation {
    Violation::new(
        "full_name",
        "eid.name_mismatch",
        "Họ và tên không khớp với Cơ sở dữ liệu quốc gia về dân cư",
        "the full name does not match the population database",
    )
}

/// Checks a level-1 self-registration against the registry record found under the claimed
/// personal ID. Input that does not depend on the record ([`check_claim`]) is checked first;
/// the record's status last, so that only someone who already knows the person's name, date
/// of birth and sex learns it.
///
/// Rule codes, in checking order: `eid.phone_format`, `eid.portrait_missing`,
/// `eid.personal_id_mismatch`, `eid.name_mismatch`, `eid.dob_mismatch`, `eid.sex_mismatch`,
/// `eid.deceased` (the record is not alive: deceased or missing).
///
/// A caller that finds no record answers [`name_mismatch`] (see docs/IDENTITY.md).
pub fn check_registration(claim: &RegistrationClaim, record: &Citizen) -> Result<(), Violation> {
    check_claim(claim)?;
    if claim.personal_id != record.personal_id {
        return Err(Violation::new(
            "personal_id",
            "eid.personal_id_mismatch",
            "Số định danh không khớp với hồ sơ",
            "the personal ID does not match the record",
        ));
    }
    if name_match_key(&claim.full_name) != name_match_key(&record.name.full()) {
        return Err(name_mismatch());
    }
    if !birth_date_matches(&claim.birth_date, &record.birth_date) {
        return Err(Violation::new(
            "birth_date",
            "eid.dob_mismatch",
            "Ngày sinh không khớp với Cơ sở dữ liệu quốc gia về dân cư",
            "the date of birth does not match the population database",
        ));
    }
    if claim.sex != record.sex {
        return Err(Violation::new(
            "sex",
            "eid.sex_mismatch",
            "Giới tính không khớp với Cơ sở dữ liệu quốc gia về dân cư",
            "the sex does not match the population database",
        ));
    }
    if record.status != LifeStatus::Alive {
        return Err(Violation::new(
            "personal_id",
            "eid.deceased",
            format!("Hồ sơ dân cư ở trạng thái “{}”: không thể đăng ký tài khoản", record.status.label_vi()),
            format!("the registry record is {}: no account can be registered", record.status.code()),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Level-2 upgrade
// ---------------------------------------------------------------------------------------------

/// Checks an in-person level-2 upgrade on `on`: the holder is alive, holds a card in their own
/// number that is valid that day, face and fingerprints were verified by the officer, and an
/// existing account is not locked.
///
/// Rule codes: `eid.deceased`, `eid.card_missing`, `eid.card_mismatch`, `eid.card_not_valid`,
/// `eid.biometrics_missing`, `eid.locked`.
pub fn check_level2(
    card: Option<&Card>,
    on: NaiveDate,
    record: &Citizen,
    account: Option<&AccountState>,
    biometrics_verified: bool,
) -> Result<(), Violation> {
    if record.status != LifeStatus::Alive {
        return Err(Violation::new(
            "personal_id",
            "eid.deceased",
            format!("Hồ sơ dân cư ở trạng thái “{}”", record.status.label_vi()),
            format!("the registry record is {}", record.status.code()),
        ));
    }
    let Some(card) = card else {
        return Err(Violation::new(
            "card",
            "eid.card_missing",
            "Công dân chưa được cấp thẻ căn cước",
            "the citizen holds no ID card",
        ));
    };
    if card.number != record.personal_id {
        return Err(Violation::new(
            "card",
            "eid.card_mismatch",
            "Số thẻ không phải số định danh của công dân",
            "the card number is not the citizen's personal ID",
        ));
    }
    let status = card.status_on(on);
    if status != CardStatus::Valid {
        return Err(Violation::new(
            "card",
            "eid.card_not_valid",
            format!("Thẻ căn cước không còn hiệu lực: {}", status.label_vi()),
            format!("the ID card is not valid: {}", status.label_en()),
        ));
    }
    if !biometrics_verified {
        return Err(Violation::new(
            "biometrics_verified",
            "eid.biometrics_missing",
            "Chưa xác thực ảnh chân dung và vân tay trực tiếp",
            "face and fingerprints were not verified in person",
        ));
    }
    if account.is_some_and(AccountState::is_locked) {
        return Err(Violation::new(
            "state",
            "eid.locked",
            "Tài khoản đang bị khóa; phải mở khóa trước khi nâng mức",
            "the account is locked; unlock it before the upgrade",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Integrated documents
// ---------------------------------------------------------------------------------------------

/// A document linked to the account (giấy tờ tích hợp).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    HealthInsurance,
    DrivingLicence,
    VehicleRegistration,
    TaxCode,
    SocialInsurance,
}

/// The rules of one kind of document. Everything about a kind is in [`DOCUMENT_RULES`].
#[derive(Debug)]
pub struct DocumentRule {
    pub kind: DocumentKind,
    pub code: &'static str,
    pub label_vi: &'static str,
    pub label_en: &'static str,
    /// The agency whose database vouches for the document, when none is given.
    pub default_source_agency: &'static str,
    /// The accepted number formats, for people.
    pub formats: &'static str,
    /// False where the format or the agency is best knowledge, not a checked fact.
    pub confirmed: bool,
    normalize: fn(&str) -> Option<String>,
}

/// One table for every kind of integrated document.
pub static DOCUMENT_RULES: [DocumentRule; 5] = [
    DocumentRule {
        kind: DocumentKind::HealthInsurance,
        code: "health_insurance",
        label_vi: "Thẻ bảo hiểm y tế",
        label_en: "health insurance card",
        default_source_agency: "Bảo hiểm xã hội Việt Nam",
        formats: "15 characters: 2 letters (beneficiary group) + 13 digits (benefit level, province, \
                  10-digit social insurance code), e.g. DN4797912345678; or the 10-digit social \
                  insurance code printed on cards since 2021",
        confirmed: false,
        normalize: normalize_health_insurance,
    },
    DocumentRule {
        kind: DocumentKind::DrivingLicence,
        code: "driving_licence",
        label_vi: "Giấy phép lái xe",
        label_en: "driving licence",
        default_source_agency: "Cục Cảnh sát giao thông, Bộ Công an",
        formats: "12 digits",
        confirmed: false,
        normalize: normalize_driving_licence,
    },
    DocumentRule {
        kind: DocumentKind::VehicleRegistration,
        code: "vehicle_registration",
        label_vi: "Giấy chứng nhận đăng ký xe",
        label_en: "vehicle registration",
        default_source_agency: "Cục Cảnh sát giao thông, Bộ Công an",
        formats: "number plate: car 29A-123.45 / 29A-1234 / 29LD-123.45; motorbike 29-B1 123.45 / \
                  29-B1 1234 (separators optional; a compact plate with 5 digits reads as a car plate)",
        confirmed: false,
        normalize: normalize_plate,
    },
    DocumentRule {
        kind: DocumentKind::TaxCode,
        code: "tax_code",
        label_vi: "Mã số thuế",
        label_en: "tax code",
        default_source_agency: "Cơ quan thuế, Bộ Tài chính",
        formats: "10 digits; 10 digits + '-' + 3 digits (dependent unit); or the holder's 12-digit \
                  personal ID, used as the individual tax code from 1 July 2025",
        confirmed: false,
        normalize: normalize_tax_code,
    },
    DocumentRule {
        kind: DocumentKind::SocialInsurance,
        code: "social_insurance",
        label_vi: "Mã số bảo hiểm xã hội",
        label_en: "social insurance number",
        default_source_agency: "Bảo hiểm xã hội Việt Nam",
        formats: "10 digits",
        confirmed: true,
        normalize: normalize_social_insurance,
    },
];

impl DocumentKind {
    pub const ALL: [DocumentKind; 5] = [
        DocumentKind::HealthInsurance,
        DocumentKind::DrivingLicence,
        DocumentKind::VehicleRegistration,
        DocumentKind::TaxCode,
        DocumentKind::SocialInsurance,
    ];

    pub fn rule(self) -> &'static DocumentRule {
        DOCUMENT_RULES.iter().find(|r| r.kind == self).expect("every kind has a rule")
    }
    pub fn code(self) -> &'static str {
        self.rule().code
    }
    pub fn label_vi(self) -> &'static str {
        self.rule().label_vi
    }
    pub fn label_en(self) -> &'static str {
        self.rule().label_en
    }
    pub fn from_code(code: &str) -> Option<DocumentKind> {
        DOCUMENT_RULES.iter().find(|r| r.code == code.trim()).map(|r| r.kind)
    }
}

/// Upper case without whitespace; empty (hence invalid everywhere) if anything is not ASCII.
fn compact_upper(raw: &str) -> String {
    if !raw.is_ascii() {
        return String::new();
    }
    raw.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect()
}

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

fn normalize_health_insurance(raw: &str) -> Option<String> {
    let s = compact_upper(raw).replace('-', "");
    let b = s.as_bytes();
    let card = s.len() == 15 && b[..2].iter().all(u8::is_ascii_uppercase) && all_digits(&s[2..], 13);
    (card || all_digits(&s, 10)).then_some(s)
}

fn normalize_social_insurance(raw: &str) -> Option<String> {
    let s = compact_upper(raw);
    all_digits(&s, 10).then_some(s)
}

fn normalize_driving_licence(raw: &str) -> Option<String> {
    let s = compact_upper(raw);
    all_digits(&s, 12).then_some(s)
}

fn normalize_tax_code(raw: &str) -> Option<String> {
    let s = compact_upper(raw);
    if all_digits(&s, 10) {
        return Some(s);
    }
    if all_digits(&s, 13) {
        return Some(format!("{}-{}", &s[..10], &s[10..]));
    }
    if s.len() == 14 && all_digits(&s[..10], 10) && &s[10..11] == "-" && all_digits(&s[11..], 3) {
        return Some(s);
    }
    if all_digits(&s, 12) && PersonalId::parse_until(&s, 9999).is_ok() {
        return Some(s);
    }
    None
}

/// Canonical number plate: `29A-123.45`, `29A-1234`, `29-B1 123.45`, `29-B1 1234`.
fn normalize_plate(raw: &str) -> Option<String> {
    if !raw.is_ascii() {
        return None;
    }
    let s: Vec<char> = raw.trim().chars().map(|c| c.to_ascii_uppercase()).collect();
    let is_sep = |c: char| c == '-' || c == ' ';
    if s.len() < 2 || !s[0].is_ascii_digit() || !s[1].is_ascii_digit() {
        return None;
    }
    let province: String = s[..2].iter().collect();
    if !(11..=99).contains(&province.parse::<u32>().ok()?) {
        return None;
    }
    let mut i = 2;
    if s.get(i).copied().is_some_and(is_sep) {
        i += 1;
    }
    let letters_start = i;
    while i < s.len() && s[i].is_ascii_uppercase() && i - letters_start < 2 {
        i += 1;
    }
    let letters: String = s[letters_start..i].iter().collect();
    if letters.is_empty() {
        return None;
    }
    let mut rest = &s[i..];
    let mut series_digit = None;
    if rest.len() >= 2 && rest[0].is_ascii_digit() && is_sep(rest[1]) {
        series_digit = Some(rest[0]);
        rest = &rest[2..];
    } else if rest.first().copied().is_some_and(is_sep) {
        rest = &rest[1..];
    }
    // The serial: digits, with an optional '.' before the last two.
    if let Some(dot) = rest.iter().position(|&c| c == '.') {
        if dot + 3 != rest.len() {
            return None;
        }
    }
    if !rest.iter().all(|&c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let mut digits: String = rest.iter().filter(|c| c.is_ascii_digit()).collect();
    if series_digit.is_none() && digits.len() == 6 {
        series_digit = digits.chars().next();
        digits.remove(0);
    }
    let serial = match digits.len() {
        5 => format!("{}.{}", &digits[..3], &digits[3..]),
        4 => digits,
        _ => return None,
    };
    Some(match series_digit {
        Some(d) => format!("{province}-{letters}{d} {serial}"),
        None => format!("{province}{letters}-{serial}"),
    })
}

/// Validates and normalises a document number of `kind`.
///
/// Rule code: `eid.document_number`.
pub fn validate_number(kind: DocumentKind, raw: &str) -> Result<String, Violation> {
    let rule = kind.rule();
    (rule.normalize)(raw).ok_or_else(|| {
        Violation::new(
            "number",
            "eid.document_number",
            format!("Số {} không đúng định dạng: {raw:?}", rule.label_vi.to_lowercase()),
            format!("invalid {} number {raw:?}; expected {}", rule.label_en, rule.formats),
        )
    })
}

/// Whether the source agency has confirmed a linked document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum VerificationState {
    /// Waiting for the source agency (chờ xác thực).
    Pending,
    /// Confirmed by the source agency (đã xác thực).
    Verified,
    /// Refused by the source agency (từ chối), with its reason.
    Rejected { reason: String },
}

impl VerificationState {
    pub fn code(&self) -> &'static str {
        match self {
            VerificationState::Pending => "pending",
            VerificationState::Verified => "verified",
            VerificationState::Rejected { .. } => "rejected",
        }
    }
    pub fn label_vi(&self) -> &'static str {
        match self {
            VerificationState::Pending => "Chờ xác thực",
            VerificationState::Verified => "Đã xác thực",
            VerificationState::Rejected { .. } => "Bị từ chối",
        }
    }
}

/// Checks a change of verification state: pending → verified or rejected (with a reason);
/// verified or rejected → pending (the document is checked again).
///
/// Rule codes: `eid.document_transition`, `eid.reason_required`.
pub fn verification_transition(from: &VerificationState, to: &VerificationState) -> Result<(), Violation> {
    use VerificationState::*;
    if let Rejected { reason } = to {
        if nfc(reason).is_empty() {
            return Err(Violation::new(
                "reason",
                "eid.reason_required",
                "Phải ghi lý do từ chối",
                "a rejection needs a reason",
            ));
        }
    }
    match (from, to) {
        (Pending, Verified)
        | (Pending, Rejected { .. })
        | (Verified, Pending)
        | (Rejected { .. }, Pending) => Ok(()),
        _ => Err(Violation::new(
            "state",
            "eid.document_transition",
            format!("Không thể chuyển từ “{}” sang “{}”", from.label_vi(), to.label_vi()),
            format!("cannot go from {} to {}", from.code(), to.code()),
        )),
    }
}

/// A document linked to a citizen's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegratedDocument {
    pub kind: DocumentKind,
    /// The normalised number.
    pub number: String,
    pub source_agency: String,
    pub state: VerificationState,
}

impl IntegratedDocument {
    /// Links a document of `holder`, pending verification. A 12-digit tax code must be the
    /// holder's own personal ID (`eid.document_holder`).
    pub fn link(
        holder: &PersonalId,
        kind: DocumentKind,
        raw_number: &str,
        source_agency: Option<&str>,
    ) -> Result<Self, Violation> {
        let number = validate_number(kind, raw_number)?;
        if kind == DocumentKind::TaxCode && number.len() == 12 && number != holder.as_str() {
            return Err(Violation::new(
                "number",
                "eid.document_holder",
                "Mã số thuế 12 chữ số phải là số định danh của chính công dân",
                "a 12-digit tax code must be the holder's own personal ID",
            ));
        }
        let source_agency = source_agency.map(nfc).filter(|s| !s.is_empty());
        Ok(IntegratedDocument {
            kind,
            number,
            source_agency: source_agency.unwrap_or_else(|| kind.rule().default_source_agency.to_string()),
            state: VerificationState::Pending,
        })
    }

    /// Moves to a new verification state if [`verification_transition`] allows it.
    pub fn set_state(&mut self, to: VerificationState) -> Result<(), Violation> {
        verification_transition(&self.state, &to)?;
        self.state = to;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dancu_domain::citizen::CitizenDraft;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn record(birth: &str) -> Citizen {
        CitizenDraft {
            personal_id: "001190001234".into(),
            family_name: "Nguyễn".into(),
            middle_name: "Thị".into(),
            given_name: "Hoà".into(),
            birth_date: birth.into(),
            sex: "Nữ".into(),
            permanent_unit: "2025:00004".into(),
            ..Default::default()
        }
        .validate(d(2026, 1, 1))
        .unwrap()
    }

    fn claim() -> RegistrationClaim {
        RegistrationClaim {
            personal_id: PersonalId::parse_until("001190001234", 2026).unwrap(),
            full_name: "NGUYỄN THỊ HÒA".into(),
            birth_date: PartialDate::Full(d(1990, 5, 4)),
            sex: Sex::Female,
            phone: "+84 912 345 678".into(),
            portrait_captured: true,
        }
    }

    #[test]
    fn account_life_cycle() {
        let s = apply(&AccountState::Registered, &AccountEvent::Approve).unwrap();
        assert_eq!(s, AccountState::Approved);
        let s = apply(&s, &AccountEvent::Activate).unwrap();
        assert_eq!(s, AccountState::Activated);
        assert_eq!(apply(&s, &AccountEvent::Approve).unwrap_err().rule, "eid.transition");
        assert_eq!(
            apply(&AccountState::Registered, &AccountEvent::Activate).unwrap_err().rule,
            "eid.transition"
        );
    }

    #[test]
    fn locking_remembers_the_phase() {
        let lock = AccountEvent::Lock { by: Actor::Citizen, reason: "mất điện thoại".into() };
        let locked = apply(&AccountState::Approved, &lock).unwrap();
        assert_eq!(locked.code(), "locked");
        assert_eq!(locked.phase(), Phase::Approved);
        assert_eq!(apply(&locked, &lock).unwrap_err().rule, "eid.transition");
        assert_eq!(apply(&locked, &AccountEvent::Activate).unwrap_err().rule, "eid.transition");
        let back =
            apply(&locked, &AccountEvent::Unlock { by: Actor::Citizen, reason: String::new() }).unwrap();
        assert_eq!(back, AccountState::Approved);
        assert_eq!(
            apply(&AccountState::Activated, &AccountEvent::Unlock { by: Actor::Officer, reason: "x".into() })
                .unwrap_err()
                .rule,
            "eid.transition"
        );
    }

    #[test]
    fn lock_reasons_and_who_may_unlock() {
        let e =
            apply(&AccountState::Activated, &AccountEvent::Lock { by: Actor::Officer, reason: "  ".into() })
                .unwrap_err();
        assert_eq!((e.field.as_str(), e.rule), ("reason", "eid.lock_reason_required"));
        let locked = apply(
            &AccountState::Activated,
            &AccountEvent::Lock { by: Actor::Officer, reason: "nghi bị chiếm đoạt".into() },
        )
        .unwrap();
        assert_eq!(
            apply(&locked, &AccountEvent::Unlock { by: Actor::Citizen, reason: "tôi".into() })
                .unwrap_err()
                .rule,
            "eid.unlock_forbidden"
        );
        assert_eq!(
            apply(&locked, &AccountEvent::Unlock { by: Actor::Officer, reason: "".into() }).unwrap_err().rule,
            "eid.lock_reason_required"
        );
        assert_eq!(
            apply(&locked, &AccountEvent::Unlock { by: Actor::Officer, reason: "đã xác minh".into() })
                .unwrap(),
            AccountState::Activated
        );
    }

    #[test]
    fn registration_matches_the_registry() {
        let rec = record("1990-05-04");
        assert!(check_registration(&claim(), &rec).is_ok());
        let rule = |c: RegistrationClaim, r: &Citizen| check_registration(&c, r).unwrap_err().rule;
        let mut c = claim();
        c.full_name = "Nguyễn Thị Hồng".into();
        assert_eq!(rule(c, &rec), "eid.name_mismatch");
        let mut c = claim();
        c.full_name = "Nguyễn Hoà".into();
        assert_eq!(rule(c, &rec), "eid.name_mismatch");
        // The folded key ignores every mark (DOMAIN.md §8): Hoa and Hoà compare equal.
        let mut c = claim();
        c.full_name = "nguyen thi hoa".into();
        assert!(check_registration(&c, &rec).is_ok());
        let mut c = claim();
        c.birth_date = PartialDate::Full(d(1990, 4, 5));
        assert_eq!(rule(c, &rec), "eid.dob_mismatch");
        let mut c = claim();
        c.birth_date = PartialDate::Year(1990); // less precise than the registry
        assert_eq!(rule(c, &rec), "eid.dob_mismatch");
        let mut c = claim();
        c.sex = Sex::Male;
        assert_eq!(rule(c, &rec), "eid.sex_mismatch");
        let mut c = claim();
        c.phone = "0212345678".into();
        assert_eq!(rule(c, &rec), "eid.phone_format");
        let mut c = claim();
        c.portrait_captured = false;
        assert_eq!(rule(c, &rec), "eid.portrait_missing");
        let mut c = claim();
        c.personal_id = PersonalId::parse_until("001190009999", 2026).unwrap();
        assert_eq!(rule(c, &rec), "eid.personal_id_mismatch");
        let mut dead = rec.clone();
        dead.status = LifeStatus::Deceased;
        assert_eq!(rule(claim(), &dead), "eid.deceased");
        dead.status = LifeStatus::Missing;
        assert_eq!(rule(claim(), &dead), "eid.deceased");
    }

    #[test]
    fn year_only_registry_dates_match_on_the_year() {
        let rec = record("1990");
        let mut c = claim();
        assert!(check_registration(&c, &rec).is_ok());
        c.birth_date = PartialDate::Year(1990);
        assert!(check_registration(&c, &rec).is_ok());
        c.birth_date = PartialDate::Full(d(1991, 5, 4));
        assert_eq!(check_registration(&c, &rec).unwrap_err().rule, "eid.dob_mismatch");
        let rec = record("1990-05");
        assert!(birth_date_matches(&PartialDate::Full(d(1990, 5, 20)), &rec.birth_date));
        assert!(!birth_date_matches(&PartialDate::Full(d(1990, 6, 20)), &rec.birth_date));
        assert!(!birth_date_matches(&PartialDate::Year(1990), &rec.birth_date));
    }

    #[test]
    fn name_variants() {
        assert_eq!(name_match_key("Lý Thị Thuỷ"), name_match_key("Lí Thị Thủy"));
        assert_eq!(name_match_key("Nguyễn  Mỹ"), name_match_key("nguyen mi"));
        assert_eq!(name_match_key("Đặng Hoà"), name_match_key("DANG HÒA"));
        // A y after a vowel is not an i.
        assert_ne!(name_match_key("Duy"), name_match_key("Dui"));
        assert_ne!(name_match_key("Thy"), name_match_key("Thuy"));
        assert_eq!(name_match_key("Thy"), name_match_key("Thi"));
    }

    #[test]
    fn phone_numbers() {
        for (raw, want) in [
            ("0912345678", "0912345678"),
            ("+84912345678", "0912345678"),
            ("84 912 345 678", "0912345678"),
            ("(+84) 35.123.4567", "0351234567"),
            ("0789-123-456", "0789123456"),
        ] {
            assert_eq!(normalize_phone(raw).unwrap(), want, "{raw}");
        }
        for bad in ["", "091234567", "09123456789", "0412345678", "1912345678", "+85912345678", "09123456a8"]
        {
            assert_eq!(normalize_phone(bad).unwrap_err().rule, "eid.phone_format", "{bad}");
        }
    }

    #[test]
    fn level2_needs_a_valid_card() {
        let rec = record("1990-05-04");
        let birth = rec.birth_date;
        let card = Card::issue(rec.personal_id, &birth, d(2021, 3, 15), "Cục CS QLHC về TTXH").unwrap();
        let on = d(2026, 1, 1);
        assert!(check_level2(Some(&card), on, &rec, Some(&AccountState::Activated), true).is_ok());
        assert!(check_level2(Some(&card), on, &rec, None, true).is_ok());
        let rule = |c: Option<&Card>, on, acc: Option<&AccountState>, bio| {
            check_level2(c, on, &rec, acc, bio).unwrap_err().rule
        };
        assert_eq!(rule(None, on, None, true), "eid.card_missing");
        assert_eq!(rule(Some(&card), d(2030, 5, 5), None, true), "eid.card_not_valid"); // expired at 40
        let mut lost = card.clone();
        lost.lost_on = Some(d(2025, 1, 1));
        let e = check_level2(Some(&lost), on, &rec, None, true).unwrap_err();
        assert_eq!(e.rule, "eid.card_not_valid");
        assert!(e.message_en.contains("lost"));
        let mut other = card.clone();
        other.number = PersonalId::parse_until("001190009999", 2026).unwrap();
        assert_eq!(rule(Some(&other), on, None, true), "eid.card_mismatch");
        assert_eq!(rule(Some(&card), on, None, false), "eid.biometrics_missing");
        let locked =
            AccountState::Locked { by: Actor::Officer, reason: "x".into(), previous: Phase::Activated };
        assert_eq!(rule(Some(&card), on, Some(&locked), true), "eid.locked");
        let mut dead = rec.clone();
        dead.status = LifeStatus::Deceased;
        assert_eq!(check_level2(Some(&card), on, &dead, None, true).unwrap_err().rule, "eid.deceased");
    }

    #[test]
    fn document_numbers() {
        use DocumentKind::*;
        let ok = [
            (HealthInsurance, "dn 4797912345678", "DN4797912345678"),
            (HealthInsurance, "7912345678", "7912345678"),
            (SocialInsurance, "79 1234 5678", "7912345678"),
            (TaxCode, "0101234567", "0101234567"),
            (TaxCode, "0101234567-001", "0101234567-001"),
            (TaxCode, "0101234567001", "0101234567-001"),
            (TaxCode, "001190001234", "001190001234"),
            (DrivingLicence, "790123456789", "790123456789"),
            (VehicleRegistration, "29A-123.45", "29A-123.45"),
            (VehicleRegistration, "29a12345", "29A-123.45"),
            (VehicleRegistration, "30E-1234", "30E-1234"),
            (VehicleRegistration, "29LD-123.45", "29LD-123.45"),
            (VehicleRegistration, "29-B1 123.45", "29-B1 123.45"),
            (VehicleRegistration, "29B1-12345", "29-B1 123.45"),
            (VehicleRegistration, "29B112345", "29-B1 123.45"),
            (VehicleRegistration, "59-X3 1234", "59-X3 1234"),
        ];
        for (kind, raw, want) in ok {
            assert_eq!(validate_number(kind, raw).unwrap(), want, "{kind:?} {raw}");
        }
        let bad = [
            (HealthInsurance, "D14797912345678"),
            (HealthInsurance, "DN479791234567"),
            (SocialInsurance, "791234567"),
            (TaxCode, "010123456"),
            (TaxCode, "0101234567-01"),
            (TaxCode, "003190001234"), // not a valid personal ID
            (DrivingLicence, "79012345678"),
            (VehicleRegistration, "29-123.45"),
            (VehicleRegistration, "09A-123.45"),
            (VehicleRegistration, "29A-12.345"),
            (VehicleRegistration, "29A-123"),
            (VehicleRegistration, "29ABC-123.45"),
            (VehicleRegistration, ""),
            (TaxCode, "𑯀𖼀a𐹠!"),
            (TaxCode, "0101234567-０1"),
        ];
        for (kind, raw) in bad {
            let e = validate_number(kind, raw).unwrap_err();
            assert_eq!((e.field.as_str(), e.rule), ("number", "eid.document_number"), "{kind:?} {raw}");
        }
        for kind in DocumentKind::ALL {
            assert_eq!(DocumentKind::from_code(kind.code()), Some(kind));
            assert_eq!(kind.rule().kind, kind);
        }
    }

    #[test]
    fn linking_and_verifying_documents() {
        let holder = PersonalId::parse_until("001190001234", 2026).unwrap();
        let mut doc = IntegratedDocument::link(&holder, DocumentKind::TaxCode, "001190001234", None).unwrap();
        assert_eq!(doc.source_agency, "Cơ quan thuế, Bộ Tài chính");
        assert_eq!(doc.state, VerificationState::Pending);
        assert_eq!(
            IntegratedDocument::link(&holder, DocumentKind::TaxCode, "079190001234", None).unwrap_err().rule,
            "eid.document_holder"
        );
        let doc2 = IntegratedDocument::link(
            &holder,
            DocumentKind::SocialInsurance,
            "0112345678",
            Some("BHXH Hà Nội"),
        )
        .unwrap();
        assert_eq!(doc2.source_agency, "BHXH Hà Nội");
        assert_eq!(
            doc.set_state(VerificationState::Rejected { reason: " ".into() }).unwrap_err().rule,
            "eid.reason_required"
        );
        doc.set_state(VerificationState::Verified).unwrap();
        assert_eq!(
            doc.set_state(VerificationState::Rejected { reason: "sai số".into() }).unwrap_err().rule,
            "eid.document_transition"
        );
        assert_eq!(doc.set_state(VerificationState::Verified).unwrap_err().rule, "eid.document_transition");
        doc.set_state(VerificationState::Pending).unwrap();
        doc.set_state(VerificationState::Rejected { reason: "sai số".into() }).unwrap();
        assert_eq!(doc.state.code(), "rejected");
    }

    fn event() -> impl Strategy<Value = AccountEvent> {
        let actor = prop_oneof![Just(Actor::Citizen), Just(Actor::Officer)];
        prop_oneof![
            Just(AccountEvent::Approve),
            Just(AccountEvent::Activate),
            (actor.clone(), "[a ]{0,2}").prop_map(|(by, reason)| AccountEvent::Lock { by, reason }),
            (actor, "[a ]{0,2}").prop_map(|(by, reason)| AccountEvent::Unlock { by, reason }),
        ]
    }

    proptest! {
        /// Whatever happens, the phase never goes backwards, locks always carry a reason, and
        /// a lock placed by an officer is only lifted by an officer.
        #[test]
        fn account_invariants(events in proptest::collection::vec(event(), 0..20)) {
            let mut state = AccountState::Registered;
            for ev in &events {
                let before = state.clone();
                if let Ok(next) = apply(&state, ev) {
                    prop_assert!(next.phase() >= before.phase(), "{:?} → {:?}", before, next);
                    prop_assert_eq!(next.phase(), match (&before, ev) {
                        (AccountState::Registered, AccountEvent::Approve) => Phase::Approved,
                        (AccountState::Approved, AccountEvent::Activate) => Phase::Activated,
                        _ => before.phase(),
                    });
                    if let AccountState::Locked { reason, .. } = &next {
                        prop_assert!(!reason.trim().is_empty());
                    }
                    if let (AccountState::Locked { by: Actor::Officer, .. }, AccountEvent::Unlock { by, .. }) = (&before, ev) {
                        prop_assert_eq!(*by, Actor::Officer);
                    }
                    state = next;
                }
            }
        }

        #[test]
        fn validators_never_panic(raw in "\\PC{0,20}", k in 0usize..5) {
            let _ = validate_number(DocumentKind::ALL[k], &raw);
            let _ = normalize_phone(&raw);
        }

        #[test]
        fn normalised_numbers_are_fixed_points(raw in "[0-9A-Za-z .-]{0,16}", k in 0usize..5) {
            let kind = DocumentKind::ALL[k];
            if let Ok(n) = validate_number(kind, &raw) {
                prop_assert_eq!(validate_number(kind, &n).unwrap(), n);
            }
        }
    }
}
