//! The ID card (CCCD gắn chip / thẻ căn cước): kinds of application, the stages an application
//! runs through, card expiry by the 14 / 25 / 40 / 60 rule (25 / 40 / 60 for CCCD cards issued
//! before 1 July 2024), and the status of a card on a date.
//!
//! Conventions (see docs/IDENTITY.md):
//! - A card "must be changed when the holder reaches 14, 25, 40 and 60"; the expiry printed on the
//!   card is the birthday of that milestone, and the card is valid up to and including that
//!   day ([`CardStatus::Expired`] from the next day).
//! - A card issued within two years before a milestone (on or after the birthday two years
//!   earlier) stays valid until the next milestone; one issued at 58 or later never expires.
//! - A birth date known only by year or by month counts as its earliest day
//!   ([`PartialDate::earliest`]), so a card is never held valid past a milestone the holder may
//!   already have reached.
//! - Someone born on 29 February reaches an age on 1 March in common years, as
//!   [`PartialDate::age_on`] counts it.

use chrono::{Datelike, Duration, NaiveDate};
use dancu_domain::{nfc, PartialDate, PersonalId, Violation};
use serde::{Deserialize, Serialize};
use std::fmt;

// ---------------------------------------------------------------------------------------------
// Kinds of application
// ---------------------------------------------------------------------------------------------

/// Why a card is changed (cấp đổi).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenewalReason {
    /// The holder reached 25, 40 or 60 (đủ tuổi phải đổi thẻ).
    AgeMilestone,
    /// The card is damaged and cannot be used (thẻ bị hư hỏng).
    Damaged,
    /// Information printed on the card changed (thay đổi thông tin).
    ChangedInformation,
    /// The administrative units of the address were rearranged (sắp xếp đơn vị hành chính).
    AdministrativeRearrangement,
}

/// Why a card is issued again (cấp lại).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplacementReason {
    /// The card was lost (bị mất thẻ).
    Lost,
}

/// The kind of a card application: first issue (cấp mới), renewal (cấp đổi) or replacement
/// (cấp lại).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ApplicationKind {
    FirstIssue,
    Renewal { reason: RenewalReason },
    Replacement { reason: ReplacementReason },
}

impl ApplicationKind {
    /// Every kind, in the order forms list them.
    pub const ALL: [ApplicationKind; 6] = [
        ApplicationKind::FirstIssue,
        ApplicationKind::Renewal { reason: RenewalReason::AgeMilestone },
        ApplicationKind::Renewal { reason: RenewalReason::Damaged },
        ApplicationKind::Renewal { reason: RenewalReason::ChangedInformation },
        ApplicationKind::Renewal { reason: RenewalReason::AdministrativeRearrangement },
        ApplicationKind::Replacement { reason: ReplacementReason::Lost },
    ];

    /// Stable machine code (never renamed).
    pub fn code(self) -> &'static str {
        match self {
            ApplicationKind::FirstIssue => "first_issue",
            ApplicationKind::Renewal { reason } => match reason {
                RenewalReason::AgeMilestone => "renewal.age_milestone",
                RenewalReason::Damaged => "renewal.damaged",
                RenewalReason::ChangedInformation => "renewal.changed_information",
                RenewalReason::AdministrativeRearrangement => "renewal.administrative_rearrangement",
            },
            ApplicationKind::Replacement { reason: ReplacementReason::Lost } => "replacement.lost",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            ApplicationKind::FirstIssue => "Cấp mới",
            ApplicationKind::Renewal { reason } => match reason {
                RenewalReason::AgeMilestone => "Cấp đổi (đủ tuổi phải đổi thẻ)",
                RenewalReason::Damaged => "Cấp đổi (thẻ bị hư hỏng)",
                RenewalReason::ChangedInformation => "Cấp đổi (thay đổi thông tin trên thẻ)",
                RenewalReason::AdministrativeRearrangement => "Cấp đổi (sắp xếp đơn vị hành chính)",
            },
            ApplicationKind::Replacement { reason: ReplacementReason::Lost } => "Cấp lại (bị mất thẻ)",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ApplicationKind::FirstIssue => "first issue",
            ApplicationKind::Renewal { reason } => match reason {
                RenewalReason::AgeMilestone => "renewal (age milestone)",
                RenewalReason::Damaged => "renewal (damaged card)",
                RenewalReason::ChangedInformation => "renewal (changed information)",
                RenewalReason::AdministrativeRearrangement => {
                    "renewal (rearrangement of administrative units)"
                }
            },
            ApplicationKind::Replacement { reason: ReplacementReason::Lost } => "replacement (lost card)",
        }
    }

    /// Parses a [`code`](Self::code).
    pub fn from_code(code: &str) -> Result<Self, Violation> {
        let code = code.trim();
        ApplicationKind::ALL.into_iter().find(|k| k.code() == code).ok_or_else(|| {
            Violation::new(
                "kind",
                "card.kind_unknown",
                format!("Loại hồ sơ không hợp lệ: {code:?}"),
                format!("unknown application kind {code:?}"),
            )
        })
    }
}

impl fmt::Display for ApplicationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

// ---------------------------------------------------------------------------------------------
// Stages
// ---------------------------------------------------------------------------------------------

/// How a finished card reached the citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HandoverMethod {
    /// Handed over at the unit (trả trực tiếp).
    InPerson,
    /// Sent by post (trả qua dịch vụ bưu chính).
    Post,
}

impl HandoverMethod {
    pub fn code(self) -> &'static str {
        match self {
            HandoverMethod::InPerson => "in_person",
            HandoverMethod::Post => "post",
        }
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            HandoverMethod::InPerson => "Trả trực tiếp",
            HandoverMethod::Post => "Trả qua bưu chính",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            HandoverMethod::InPerson => "in person",
            HandoverMethod::Post => "by post",
        }
    }
}

/// Where a card application stands. The main line runs
/// Intake → SentToProduction → CardReceived → HandedOver; Rejected, Error and Cancelled are
/// side states that carry a reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// The file is taken in at a unit (thu nhận hồ sơ). Only whether face and fingerprints were
    /// captured is recorded; no biometric data is kept.
    Intake { biometrics_captured: bool },
    /// The file was sent to the ministry for production (đã chuyển đi sản xuất thẻ).
    SentToProduction,
    /// The card arrived at the unit (đã nhận thẻ tại đơn vị).
    CardReceived,
    /// The card reached the citizen (đã trả thẻ).
    HandedOver { method: HandoverMethod },
    /// The application was refused (bị từ chối).
    Rejected { reason: String },
    /// Processing failed (có lỗi), for example the production centre could not use the file.
    Error { reason: String },
    /// The application was withdrawn or abandoned (đã hủy).
    Cancelled { reason: String },
}

/// A stage without its data: what boards count and what a move targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    Intake,
    SentToProduction,
    CardReceived,
    HandedOver,
    Rejected,
    Error,
    Cancelled,
}

impl StageKind {
    pub const ALL: [StageKind; 7] = [
        StageKind::Intake,
        StageKind::SentToProduction,
        StageKind::CardReceived,
        StageKind::HandedOver,
        StageKind::Rejected,
        StageKind::Error,
        StageKind::Cancelled,
    ];

    /// Stable machine code (never renamed).
    pub fn code(self) -> &'static str {
        match self {
            StageKind::Intake => "intake",
            StageKind::SentToProduction => "sent_to_production",
            StageKind::CardReceived => "card_received",
            StageKind::HandedOver => "handed_over",
            StageKind::Rejected => "rejected",
            StageKind::Error => "error",
            StageKind::Cancelled => "cancelled",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            StageKind::Intake => "Thu nhận hồ sơ",
            StageKind::SentToProduction => "Đã chuyển sản xuất thẻ",
            StageKind::CardReceived => "Đã nhận thẻ tại đơn vị",
            StageKind::HandedOver => "Đã trả thẻ cho công dân",
            StageKind::Rejected => "Bị từ chối",
            StageKind::Error => "Có lỗi",
            StageKind::Cancelled => "Đã hủy",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            StageKind::Intake => "intake",
            StageKind::SentToProduction => "sent to production",
            StageKind::CardReceived => "card received at the unit",
            StageKind::HandedOver => "handed over",
            StageKind::Rejected => "rejected",
            StageKind::Error => "error",
            StageKind::Cancelled => "cancelled",
        }
    }

    pub fn from_code(code: &str) -> Option<StageKind> {
        StageKind::ALL.into_iter().find(|k| k.code() == code.trim())
    }

    /// No move leaves a terminal stage.
    pub fn is_terminal(self) -> bool {
        matches!(self, StageKind::HandedOver | StageKind::Rejected | StageKind::Cancelled)
    }

    /// Position on the main line (Intake = 0 … HandedOver = 3); `None` for side states.
    pub fn rank(self) -> Option<u8> {
        match self {
            StageKind::Intake => Some(0),
            StageKind::SentToProduction => Some(1),
            StageKind::CardReceived => Some(2),
            StageKind::HandedOver => Some(3),
            StageKind::Rejected | StageKind::Error | StageKind::Cancelled => None,
        }
    }

    /// True for the side states whose data is a reason.
    pub fn carries_reason(self) -> bool {
        matches!(self, StageKind::Rejected | StageKind::Error | StageKind::Cancelled)
    }
}

impl Stage {
    pub fn kind(&self) -> StageKind {
        match self {
            Stage::Intake { .. } => StageKind::Intake,
            Stage::SentToProduction => StageKind::SentToProduction,
            Stage::CardReceived => StageKind::CardReceived,
            Stage::HandedOver { .. } => StageKind::HandedOver,
            Stage::Rejected { .. } => StageKind::Rejected,
            Stage::Error { .. } => StageKind::Error,
            Stage::Cancelled { .. } => StageKind::Cancelled,
        }
    }

    pub fn is_terminal(&self) -> bool {
        self.kind().is_terminal()
    }

    /// The reason a side state carries.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Stage::Rejected { reason } | Stage::Error { reason } | Stage::Cancelled { reason } => {
                Some(reason)
            }
            _ => None,
        }
    }

    /// The moves out of this stage (what a board offers as buttons), each with whether the
    /// officer must give a reason. Computed from the same table [`transition`] checks.
    pub fn moves(&self) -> Vec<Move> {
        let from = self.kind();
        let mut out = Vec::new();
        if from.is_terminal() {
            return out;
        }
        for to in StageKind::ALL {
            match edge(from, to) {
                Edge::Free => out.push(Move { to, reason_required: to.carries_reason() }),
                Edge::NeedsReason => out.push(Move { to, reason_required: true }),
                Edge::Skip | Edge::BackNever | Edge::Unchanged | Edge::NotAllowed => {}
            }
        }
        if let Stage::Intake { biometrics_captured } = self {
            // Recording the capture is a move within intake; undoing it needs a reason.
            out.insert(0, Move { to: StageKind::Intake, reason_required: *biometrics_captured });
        }
        out
    }
}

/// One move a board can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Move {
    pub to: StageKind,
    pub reason_required: bool,
}

/// The table of moves between stage kinds (terminal sources are handled before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    /// Allowed without a reason (the reason of a side state travels in its data).
    Free,
    /// Allowed only with a non-empty reason (a step back).
    NeedsReason,
    /// Forward past the next stage.
    Skip,
    /// A step back that is never allowed.
    BackNever,
    /// Same stage.
    Unchanged,
    /// Any other move.
    NotAllowed,
}

fn edge(from: StageKind, to: StageKind) -> Edge {
    use StageKind::*;
    if from == to {
        return Edge::Unchanged;
    }
    match (from, to) {
        // The main line, one step at a time.
        (Intake, SentToProduction) | (SentToProduction, CardReceived) | (CardReceived, HandedOver) => {
            Edge::Free
        }
        // Allowed steps back, each with a recorded reason:
        // the production centre returns the file to the unit (to correct it or recapture),
        (SentToProduction, Intake) => Edge::NeedsReason,
        // the card that arrived is faulty and goes back to production,
        (CardReceived, SentToProduction) => Edge::NeedsReason,
        // a file in error is reopened at intake.
        (Error, Intake) => Edge::NeedsReason,
        // Side states.
        (Intake | SentToProduction | Error, Rejected) => Edge::Free,
        (Intake | SentToProduction | CardReceived, Error) => Edge::Free,
        (Intake | SentToProduction | CardReceived | Error, Cancelled) => Edge::Free,
        (f, t) => match (f.rank(), t.rank()) {
            (Some(a), Some(b)) if b > a => Edge::Skip,
            (Some(a), Some(b)) if b < a => Edge::BackNever,
            _ => Edge::NotAllowed,
        },
    }
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

fn stage_violation(rule: &'static str, vi: String, en: String) -> Violation {
    Violation::new("stage", rule, vi, en)
}

/// Checks one move of a card application. `reason` is the officer's reason for a step back;
/// the side states (Rejected, Error, Cancelled) carry their reason in their data.
///
/// Rule codes: `card.terminal`, `card.reason_required`, `card.stage_unchanged`,
/// `card.stage_skip`, `card.stage_back_without_reason`, `card.stage_back_not_allowed`,
/// `card.stage_not_allowed`, `card.biometrics_missing`.
pub fn transition(from: &Stage, to: &Stage, reason: Option<&str>) -> Result<(), Violation> {
    transition_with(from, to, reason, true)
}

/// [`transition`] for a holder from whom biometrics are collected or not
/// ([`crate::law2023::biometrics_collected`]): a child under 6 goes to production without a
/// capture, and recording one is refused (`card.biometrics_under_6`).
pub fn transition_with(
    from: &Stage,
    to: &Stage,
    reason: Option<&str>,
    biometrics_collected: bool,
) -> Result<(), Violation> {
    if !biometrics_collected {
        match (from, to) {
            (Stage::Intake { .. }, Stage::Intake { biometrics_captured: true }) => {
                return Err(crate::law2023::biometrics_under_6())
            }
            (Stage::Intake { biometrics_captured: false }, Stage::SentToProduction) => return Ok(()),
            _ => {}
        }
    }
    let (fk, tk) = (from.kind(), to.kind());
    if fk.is_terminal() {
        return Err(stage_violation(
            "card.terminal",
            format!("Hồ sơ đã ở trạng thái cuối “{}”, không thể chuyển tiếp", fk.label_vi()),
            format!("the application is already {}, a final stage", fk.label_en()),
        ));
    }
    if let Some(r) = to.reason() {
        if blank(r) {
            return Err(stage_violation(
                "card.reason_required",
                format!("Chuyển sang “{}” phải ghi rõ lý do", tk.label_vi()),
                format!("moving to {} needs a reason", tk.label_en()),
            ));
        }
    }
    let has_reason = reason.is_some_and(|r| !blank(r));
    let back_without_reason = || {
        stage_violation(
            "card.stage_back_without_reason",
            format!("Quay lại từ “{}” về “{}” phải ghi lý do", fk.label_vi(), tk.label_vi()),
            format!("going back from {} to {} needs a reason", fk.label_en(), tk.label_en()),
        )
    };
    // Changes within intake: recording the biometric capture, or undoing it with a reason.
    if let (Stage::Intake { biometrics_captured: was }, Stage::Intake { biometrics_captured: now }) =
        (from, to)
    {
        return match (was, now) {
            (false, true) => Ok(()),
            (true, false) if has_reason => Ok(()),
            (true, false) => Err(back_without_reason()),
            _ => Err(stage_violation(
                "card.stage_unchanged",
                "Hồ sơ đã ở bước thu nhận".into(),
                "the application is already at intake".into(),
            )),
        };
    }
    match edge(fk, tk) {
        Edge::Free => {
            if let (Stage::Intake { biometrics_captured: false }, StageKind::SentToProduction) = (from, tk) {
                return Err(Violation::new(
                    "biometrics_captured",
                    "card.biometrics_missing",
                    "Chưa thu nhận ảnh chân dung và vân tay, không thể chuyển sản xuất thẻ",
                    "face and fingerprints were not captured; the file cannot go to production",
                ));
            }
            Ok(())
        }
        Edge::NeedsReason if has_reason => Ok(()),
        Edge::NeedsReason => Err(back_without_reason()),
        Edge::Unchanged => Err(stage_violation(
            "card.stage_unchanged",
            format!("Hồ sơ đã ở bước “{}”", fk.label_vi()),
            format!("the application is already at {}", fk.label_en()),
        )),
        Edge::Skip => Err(stage_violation(
            "card.stage_skip",
            format!(
                "Không được bỏ qua bước: từ “{}” không thể chuyển thẳng sang “{}”",
                fk.label_vi(),
                tk.label_vi()
            ),
            format!("stages cannot be skipped: {} cannot go straight to {}", fk.label_en(), tk.label_en()),
        )),
        Edge::BackNever => Err(stage_violation(
            "card.stage_back_not_allowed",
            format!("Không được quay lại từ “{}” về “{}”", fk.label_vi(), tk.label_vi()),
            format!("{} cannot go back to {}", fk.label_en(), tk.label_en()),
        )),
        Edge::NotAllowed => Err(stage_violation(
            "card.stage_not_allowed",
            format!("Không thể chuyển từ “{}” sang “{}”", fk.label_vi(), tk.label_vi()),
            format!("{} cannot move to {}", fk.label_en(), tk.label_en()),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Expiry
// ---------------------------------------------------------------------------------------------

/// The ages at which a card must be changed, and the margin before each within which a newly
/// issued card stays valid until the following age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryRule {
    pub milestones: &'static [u32],
    pub margin_years: u32,
}

impl ExpiryRule {
    /// The 2020 Citizen Identification Law (CCCD): 25, 40 and 60 with a two-year margin.
    pub const CCCD_2020: ExpiryRule = ExpiryRule { milestones: &[25, 40, 60], margin_years: 2 };
    /// The 2023 Law on Identification, Art. 21: 14, 25, 40 and 60 with a two-year margin
    /// (a card can be issued from birth, Art. 19).
    pub const LAW_2023: ExpiryRule = ExpiryRule { milestones: &[14, 25, 40, 60], margin_years: 2 };

    /// The rule a card issued on `issue_date` follows: a CCCD issued before 1 July 2024 keeps
    /// the expiry printed on it (Art. 46(1)), later cards follow Art. 21.
    pub fn for_issue_date(issue_date: NaiveDate) -> &'static ExpiryRule {
        if issue_date < crate::law2023::IN_FORCE {
            &ExpiryRule::CCCD_2020
        } else {
            &ExpiryRule::LAW_2023
        }
    }
}

/// An age at which a card must be changed, and the day the holder reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Milestone {
    pub age: u32,
    pub date: NaiveDate,
}

/// The day the holder reaches `age`: the birthday in that year, with a 29 February birth
/// reaching it on 1 March of a common year, and an unknown month or day counted as the
/// earliest one.
pub fn birthday_at(birth: &PartialDate, age: u32) -> NaiveDate {
    let b = birth.earliest();
    let year = b.year() + age as i32;
    NaiveDate::from_ymd_opt(year, b.month(), b.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
        .expect("1 March exists in every year")
}

/// The milestone at which a card issued on `issue_date` stops being valid, by `rule`; `None`
/// when the card is valid for life.
pub fn next_milestone_with(
    rule: &ExpiryRule,
    birth: &PartialDate,
    issue_date: NaiveDate,
) -> Option<Milestone> {
    rule.milestones.iter().find_map(|&age| {
        let window_start = birthday_at(birth, age.saturating_sub(rule.margin_years));
        (issue_date < window_start).then(|| Milestone { age, date: birthday_at(birth, age) })
    })
}

/// The milestone at which a card issued on `issue_date` stops being valid, by the law in force
/// on that day ([`ExpiryRule::for_issue_date`]); `None` when the card is valid for life
/// (issued at 58 or later).
pub fn next_milestone(birth: &PartialDate, issue_date: NaiveDate) -> Option<Milestone> {
    next_milestone_with(ExpiryRule::for_issue_date(issue_date), birth, issue_date)
}

/// The expiry date printed on a card issued on `issue_date` (the birthday of the milestone,
/// valid through that day); `None` for no expiry.
pub fn card_expiry(birth: &PartialDate, issue_date: NaiveDate) -> Option<NaiveDate> {
    next_milestone(birth, issue_date).map(|m| m.date)
}

/// The first day the card appears on a "due for renewal" list with a window of `window_days`
/// days before expiry; `None` for a card without expiry. Stores can index this date.
pub fn renewal_due_from(birth: &PartialDate, issue_date: NaiveDate, window_days: u32) -> Option<NaiveDate> {
    card_expiry(birth, issue_date).map(|e| e - Duration::days(i64::from(window_days)))
}

/// True when the card expires within `window_days` days of `today` or has already expired.
pub fn due_for_renewal(
    birth: &PartialDate,
    issue_date: NaiveDate,
    today: NaiveDate,
    window_days: u32,
) -> bool {
    renewal_due_from(birth, issue_date, window_days).is_some_and(|from| today >= from)
}

// ---------------------------------------------------------------------------------------------
// The card record and its status
// ---------------------------------------------------------------------------------------------

/// Status of a card on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    /// The day is before the issue date.
    NotYetValid,
    Valid,
    Expired,
    /// Reported lost (báo mất).
    Lost,
    /// Revoked or withdrawn (thu hồi, hủy), for example when a newer card replaced it.
    Revoked,
}

impl CardStatus {
    pub fn code(self) -> &'static str {
        match self {
            CardStatus::NotYetValid => "not_yet_valid",
            CardStatus::Valid => "valid",
            CardStatus::Expired => "expired",
            CardStatus::Lost => "lost",
            CardStatus::Revoked => "revoked",
        }
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            CardStatus::NotYetValid => "Chưa có hiệu lực",
            CardStatus::Valid => "Còn hiệu lực",
            CardStatus::Expired => "Hết hạn",
            CardStatus::Lost => "Đã báo mất",
            CardStatus::Revoked => "Đã thu hồi",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            CardStatus::NotYetValid => "not yet valid",
            CardStatus::Valid => "valid",
            CardStatus::Expired => "expired",
            CardStatus::Lost => "lost",
            CardStatus::Revoked => "revoked",
        }
    }
}

/// A card as the registry keeps it. The card number is the holder's personal ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    pub number: PersonalId,
    pub issue_date: NaiveDate,
    /// `None`: valid for life.
    pub expiry: Option<NaiveDate>,
    pub issuing_authority: String,
    pub lost_on: Option<NaiveDate>,
    pub revoked_on: Option<NaiveDate>,
}

impl Card {
    /// A newly issued card with its expiry computed by the rule of its issue date.
    pub fn issue(
        number: PersonalId,
        birth: &PartialDate,
        issue_date: NaiveDate,
        issuing_authority: &str,
    ) -> Result<Card, Violation> {
        if issue_date < birth.earliest() {
            return Err(Violation::new(
                "issue_date",
                "card.issue_before_birth",
                "Ngày cấp thẻ trước ngày sinh",
                "the issue date is before the date of birth",
            ));
        }
        let issuing_authority = nfc(issuing_authority);
        if issuing_authority.is_empty() {
            return Err(Violation::new(
                "issuing_authority",
                "card.authority_required",
                "Thiếu cơ quan cấp thẻ",
                "the issuing authority is required",
            ));
        }
        Ok(Card {
            number,
            issue_date,
            expiry: card_expiry(birth, issue_date),
            issuing_authority,
            lost_on: None,
            revoked_on: None,
        })
    }

    /// The status on `on`: revoked over lost over expired; valid through the expiry day.
    pub fn status_on(&self, on: NaiveDate) -> CardStatus {
        if self.revoked_on.is_some_and(|d| d <= on) {
            CardStatus::Revoked
        } else if self.lost_on.is_some_and(|d| d <= on) {
            CardStatus::Lost
        } else if on < self.issue_date {
            CardStatus::NotYetValid
        } else if self.expiry.is_some_and(|e| on > e) {
            CardStatus::Expired
        } else {
            CardStatus::Valid
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Issuing: what a hand-over decides
// ---------------------------------------------------------------------------------------------

/// Who issued CCCD cards before 1 July 2024 (printed on the card).
pub const CARD_AUTHORITY: &str = "Cục Cảnh sát quản lý hành chính về trật tự xã hội";

/// Who issues the thẻ căn cước from 1 July 2024 (printed on the card; *unconfirmed*, see
/// docs/IDENTITY.md).
pub const CARD_AUTHORITY_2023: &str = "Bộ Công an";

/// The authority printed on a card issued on `issue_date`.
pub fn card_authority(issue_date: NaiveDate) -> &'static str {
    if issue_date < crate::law2023::IN_FORCE {
        CARD_AUTHORITY
    } else {
        CARD_AUTHORITY_2023
    }
}

/// The registry's standing notice window: a card is due for renewal from this many days
/// before its expiry ([`renewal_due_from`]).
pub const RENEWAL_NOTICE_DAYS: u32 = 30;

/// One valid card per person: a newly issued card replaces the holder's earlier valid cards,
/// which take this status.
pub const PREVIOUS_CARDS_BECOME: CardStatus = CardStatus::Revoked;

/// A card being issued, as the rules decide it: the card (expiry by the rule of its issue date)
/// and the first day it is due for renewal. Storing it also gives the holder's earlier valid
/// cards the status [`PREVIOUS_CARDS_BECOME`]. Storage records exactly this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuance {
    pub card: Card,
    /// The card's expiry less [`RENEWAL_NOTICE_DAYS`]; `None` for a card valid for life.
    pub renewal_due_from: Option<NaiveDate>,
}

/// Whether a move to `to` issues a card: a hand-over does, nothing else.
pub fn issues_card(to: &Stage) -> bool {
    to.kind() == StageKind::HandedOver
}

/// The card a hand-over at `at` issues to `number` (born `birth`): dated the Vietnam day of
/// `at`, by the authority of that day.
pub fn hand_over(
    number: PersonalId,
    birth: &PartialDate,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Issuance, Violation> {
    issuance(number, birth, dancu_domain::date::vietnam_today(at))
}

/// A card issued on `issue_date` (a hand-over, or a card issued before the registry kept
/// applications), by the authority of that day ([`card_authority`]).
pub fn issuance(
    number: PersonalId,
    birth: &PartialDate,
    issue_date: NaiveDate,
) -> Result<Issuance, Violation> {
    let card = Card::issue(number, birth, issue_date, card_authority(issue_date))?;
    Ok(Issuance { renewal_due_from: renewal_due_from(birth, issue_date, RENEWAL_NOTICE_DAYS), card })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn full(y: i32, m: u32, day: u32) -> PartialDate {
        PartialDate::Full(d(y, m, day))
    }
    fn intake(b: bool) -> Stage {
        Stage::Intake { biometrics_captured: b }
    }
    #[test]
    fn a_hand_over_issues_a_card_on_the_vietnam_day_and_replaces_the_old_ones() {
        use chrono::TimeZone;
        let id = PersonalId::parse_until("001090012345", 2026).unwrap();
        // 18:00 UTC on 31 December is already 1 January in Vietnam.
        let at = chrono::Utc.with_ymd_and_hms(2025, 12, 31, 18, 0, 0).unwrap();
        let i = hand_over(id, &full(1990, 6, 15), at).unwrap();
        assert_eq!(i.card.issue_date, d(2026, 1, 1));
        assert_eq!(i.card.expiry, Some(d(2030, 6, 15)));
        assert_eq!(i.renewal_due_from, Some(d(2030, 6, 15) - chrono::Duration::days(30)));
        assert_eq!(i.card.issuing_authority, CARD_AUTHORITY_2023);
        assert_eq!(PREVIOUS_CARDS_BECOME, CardStatus::Revoked);
        assert!(issues_card(&Stage::HandedOver { method: HandoverMethod::Post }));
        assert!(!issues_card(&Stage::CardReceived));
        let late = issuance(id, &full(1960, 1, 1), d(2025, 1, 1)).unwrap();
        assert_eq!((late.card.expiry, late.renewal_due_from), (None, None));
        assert_eq!(
            issuance(id, &full(1990, 6, 15), d(1980, 1, 1)).unwrap_err().rule,
            "card.issue_before_birth"
        );
    }

    fn rule_of(r: Result<(), Violation>) -> &'static str {
        r.unwrap_err().rule
    }
    fn rejected(r: &str) -> Stage {
        Stage::Rejected { reason: r.into() }
    }
    fn error(r: &str) -> Stage {
        Stage::Error { reason: r.into() }
    }
    fn cancelled(r: &str) -> Stage {
        Stage::Cancelled { reason: r.into() }
    }
    const HAND: Stage = Stage::HandedOver { method: HandoverMethod::InPerson };

    #[test]
    fn kinds_have_stable_codes_and_labels() {
        for k in ApplicationKind::ALL {
            assert_eq!(ApplicationKind::from_code(k.code()).unwrap(), k);
            assert!(!k.label_vi().is_empty() && !k.label_en().is_empty());
        }
        assert_eq!(ApplicationKind::FirstIssue.code(), "first_issue");
        assert_eq!(
            ApplicationKind::Replacement { reason: ReplacementReason::Lost }.label_vi(),
            "Cấp lại (bị mất thẻ)"
        );
        assert_eq!(ApplicationKind::from_code("renewal").unwrap_err().rule, "card.kind_unknown");
        assert_eq!(
            ApplicationKind::Renewal { reason: RenewalReason::Damaged }.to_string(),
            "renewal.damaged"
        );
        for k in StageKind::ALL {
            assert_eq!(StageKind::from_code(k.code()), Some(k));
        }
    }

    #[test]
    fn main_line_runs_forward() {
        assert!(transition(&intake(false), &intake(true), None).is_ok());
        assert!(transition(&intake(true), &Stage::SentToProduction, None).is_ok());
        assert!(transition(&Stage::SentToProduction, &Stage::CardReceived, None).is_ok());
        assert!(transition(&Stage::CardReceived, &HAND, None).is_ok());
        let post = Stage::HandedOver { method: HandoverMethod::Post };
        assert!(transition(&Stage::CardReceived, &post, None).is_ok());
    }

    #[test]
    fn biometrics_are_required_for_production() {
        let v = transition(&intake(false), &Stage::SentToProduction, None).unwrap_err();
        assert_eq!((v.field.as_str(), v.rule), ("biometrics_captured", "card.biometrics_missing"));
        // A reason does not lift the requirement.
        assert_eq!(
            rule_of(transition(&intake(false), &Stage::SentToProduction, Some("urgent"))),
            "card.biometrics_missing"
        );
    }

    #[test]
    fn no_skipping() {
        for (from, to) in
            [(intake(true), Stage::CardReceived), (intake(true), HAND), (Stage::SentToProduction, HAND)]
        {
            assert_eq!(
                rule_of(transition(&from, &to, Some("reason"))),
                "card.stage_skip",
                "{from:?} → {to:?}"
            );
        }
    }

    #[test]
    fn going_back_needs_a_reason_and_only_one_step() {
        assert_eq!(
            rule_of(transition(&Stage::CardReceived, &Stage::SentToProduction, None)),
            "card.stage_back_without_reason"
        );
        assert_eq!(
            rule_of(transition(&Stage::CardReceived, &Stage::SentToProduction, Some("   "))),
            "card.stage_back_without_reason"
        );
        assert!(transition(&Stage::CardReceived, &Stage::SentToProduction, Some("chip lỗi")).is_ok());
        assert!(transition(&Stage::SentToProduction, &intake(false), Some("ảnh mờ, chụp lại")).is_ok());
        assert_eq!(
            rule_of(transition(&Stage::SentToProduction, &intake(true), None)),
            "card.stage_back_without_reason"
        );
        assert_eq!(
            rule_of(transition(&Stage::CardReceived, &intake(true), Some("x"))),
            "card.stage_back_not_allowed"
        );
        // Undoing the capture flag is a step back too.
        assert_eq!(
            rule_of(transition(&intake(true), &intake(false), None)),
            "card.stage_back_without_reason"
        );
        assert!(transition(&intake(true), &intake(false), Some("vân tay không đạt")).is_ok());
    }

    #[test]
    fn terminal_states_are_terminal() {
        for from in [HAND, rejected("r"), cancelled("c")] {
            for to in
                [intake(true), Stage::SentToProduction, Stage::CardReceived, HAND, error("e"), cancelled("c")]
            {
                assert_eq!(rule_of(transition(&from, &to, Some("reason"))), "card.terminal");
            }
            assert!(from.moves().is_empty());
        }
    }

    #[test]
    fn side_states_need_a_reason_and_a_sensible_source() {
        assert_eq!(rule_of(transition(&intake(true), &rejected(" "), None)), "card.reason_required");
        assert_eq!(rule_of(transition(&Stage::SentToProduction, &error(""), None)), "card.reason_required");
        assert_eq!(rule_of(transition(&Stage::CardReceived, &cancelled(""), None)), "card.reason_required");
        assert!(transition(&intake(false), &rejected("thiếu giấy tờ"), None).is_ok());
        assert!(transition(&Stage::SentToProduction, &rejected("trùng hồ sơ"), None).is_ok());
        assert!(transition(&Stage::CardReceived, &error("thẻ hỏng chip"), None).is_ok());
        assert!(transition(&Stage::CardReceived, &cancelled("công dân không đến nhận"), None).is_ok());
        assert_eq!(rule_of(transition(&Stage::CardReceived, &rejected("r"), None)), "card.stage_not_allowed");
        // From an error: reopen at intake with a reason, reject or cancel; nothing else.
        assert!(transition(&error("e"), &intake(false), Some("bổ sung hồ sơ")).is_ok());
        assert_eq!(rule_of(transition(&error("e"), &intake(false), None)), "card.stage_back_without_reason");
        assert!(transition(&error("e"), &rejected("r"), None).is_ok());
        assert!(transition(&error("e"), &cancelled("c"), None).is_ok());
        assert_eq!(
            rule_of(transition(&error("e"), &Stage::SentToProduction, None)),
            "card.stage_not_allowed"
        );
        assert_eq!(rule_of(transition(&error("e"), &error("again"), None)), "card.stage_unchanged");
        assert_eq!(
            rule_of(transition(&Stage::CardReceived, &Stage::CardReceived, None)),
            "card.stage_unchanged"
        );
        assert_eq!(rule_of(transition(&intake(true), &intake(true), None)), "card.stage_unchanged");
    }

    #[test]
    fn violations_carry_both_languages() {
        let v = transition(&HAND, &intake(true), None).unwrap_err();
        assert_eq!(v.field, "stage");
        assert!(v.message_vi.contains("Đã trả thẻ cho công dân"), "{}", v.message_vi);
        assert!(v.message_en.contains("handed over"), "{}", v.message_en);
    }

    #[test]
    fn moves_offer_what_transition_accepts() {
        let m = Stage::CardReceived.moves();
        let kinds: Vec<StageKind> = m.iter().map(|m| m.to).collect();
        assert_eq!(
            kinds,
            vec![StageKind::SentToProduction, StageKind::HandedOver, StageKind::Error, StageKind::Cancelled]
        );
        assert!(m[0].reason_required && !m[1].reason_required);
        assert_eq!(intake(false).moves()[0], Move { to: StageKind::Intake, reason_required: false });
    }

    fn stage_strategy() -> impl Strategy<Value = Stage> {
        prop_oneof![
            any::<bool>().prop_map(|b| Stage::Intake { biometrics_captured: b }),
            Just(Stage::SentToProduction),
            Just(Stage::CardReceived),
            prop_oneof![Just(HandoverMethod::InPerson), Just(HandoverMethod::Post)]
                .prop_map(|method| Stage::HandedOver { method }),
            "[a-z ]{0,3}".prop_map(|reason| Stage::Rejected { reason }),
            "[a-z ]{0,3}".prop_map(|reason| Stage::Error { reason }),
            "[a-z ]{0,3}".prop_map(|reason| Stage::Cancelled { reason }),
        ]
    }

    proptest! {
        /// `moves()` and `transition` agree: a move a board offers succeeds with a reason (and
        /// biometrics where needed), a kind it does not offer always fails.
        #[test]
        fn moves_agree_with_transition(from in stage_strategy(), to in stage_strategy(), reason in proptest::option::of("[a-z ]{0,3}")) {
            let offered = from.moves().iter().any(|m| m.to == to.kind());
            let ok = transition(&from, &to, reason.as_deref()).is_ok();
            if !offered {
                prop_assert!(!ok, "{:?} → {:?} accepted but not offered", from, to);
            }
            if ok {
                let r = reason.as_deref().unwrap_or("");
                let m = from.moves().into_iter().find(|m| m.to == to.kind()).unwrap();
                if m.reason_required && !to.kind().carries_reason() {
                    prop_assert!(!r.trim().is_empty());
                }
                prop_assert!(!from.is_terminal());
                if let Some(tr) = to.reason() {
                    prop_assert!(!tr.trim().is_empty());
                }
                if let (Some(a), Some(b)) = (from.kind().rank(), to.kind().rank()) {
                    prop_assert!(b <= a + 1, "skip accepted: {:?} → {:?}", from, to);
                    if b < a {
                        prop_assert!(!r.trim().is_empty(), "back without reason: {:?} → {:?}", from, to);
                    }
                }
            }
        }
    }

    // ----- expiry -----

    #[test]
    fn first_card_at_14_expires_at_25() {
        let birth = full(2000, 6, 15);
        assert_eq!(card_expiry(&birth, d(2014, 7, 1)), Some(d(2025, 6, 15)));
        assert_eq!(next_milestone(&birth, d(2014, 7, 1)).unwrap().age, 25);
    }

    #[test]
    fn two_year_margin_before_25() {
        let birth = full(2000, 6, 15);
        // 22 years 11 months: still expires at 25.
        assert_eq!(card_expiry(&birth, d(2023, 5, 15)), Some(d(2025, 6, 15)));
        // The day before the 23rd birthday: expires at 25.
        assert_eq!(card_expiry(&birth, d(2023, 6, 14)), Some(d(2025, 6, 15)));
        // On the 23rd birthday (exactly two years before): valid to 40 (the margin is inclusive).
        assert_eq!(card_expiry(&birth, d(2023, 6, 15)), Some(d(2040, 6, 15)));
        // 23 years 0 months 1 day: valid to 40.
        assert_eq!(card_expiry(&birth, d(2023, 6, 16)), Some(d(2040, 6, 15)));
        // Issued after 25: valid to 40.
        assert_eq!(card_expiry(&birth, d(2026, 1, 1)), Some(d(2040, 6, 15)));
    }

    #[test]
    fn two_year_margin_before_40_and_60() {
        let birth = full(1980, 3, 10);
        assert_eq!(card_expiry(&birth, d(2018, 3, 9)), Some(d(2020, 3, 10))); // 37y 11m 30d
        assert_eq!(card_expiry(&birth, d(2018, 3, 10)), Some(d(2040, 3, 10))); // at 38
        assert_eq!(card_expiry(&birth, d(2021, 5, 1)), Some(d(2040, 3, 10))); // at 41
        assert_eq!(card_expiry(&birth, d(2038, 3, 9)), Some(d(2040, 3, 10))); // 57y 11m 30d
        assert_eq!(card_expiry(&birth, d(2038, 3, 10)), None); // at 58: for life
        assert_eq!(card_expiry(&birth, d(2039, 12, 31)), None); // at 59
        assert_eq!(card_expiry(&birth, d(2041, 3, 10)), None); // at 61
        assert_eq!(next_milestone(&birth, d(2041, 3, 10)), None);
    }

    #[test]
    fn leap_day_births_reach_their_age_on_1_march() {
        let birth = full(2000, 2, 29);
        assert_eq!(birthday_at(&birth, 25), d(2025, 3, 1)); // 2025 is a common year
        assert_eq!(birthday_at(&birth, 24), d(2024, 2, 29));
        assert_eq!(card_expiry(&birth, d(2016, 1, 1)), Some(d(2025, 3, 1)));
        // Window start at 23 = 1 March 2023.
        assert_eq!(card_expiry(&birth, d(2023, 2, 28)), Some(d(2025, 3, 1)));
        assert_eq!(card_expiry(&birth, d(2023, 3, 1)), Some(d(2040, 2, 29))); // 2040 is a leap year
                                                                              // Consistent with the domain's age arithmetic.
        assert_eq!(birth.age_on(d(2025, 2, 28)), 24);
        assert_eq!(birth.age_on(d(2025, 3, 1)), 25);
    }

    #[test]
    fn partial_birth_dates_use_the_earliest_day() {
        assert_eq!(card_expiry(&PartialDate::Year(1990), d(2010, 6, 1)), Some(d(2015, 1, 1)));
        assert_eq!(card_expiry(&PartialDate::YearMonth(1990, 8), d(2010, 6, 1)), Some(d(2015, 8, 1)));
        // Year-only: the margin also counts from 1 January.
        assert_eq!(card_expiry(&PartialDate::Year(1990), d(2013, 1, 1)), Some(d(2030, 1, 1)));
        assert_eq!(card_expiry(&PartialDate::Year(1950), d(2021, 1, 1)), None);
    }

    #[test]
    fn a_child_under_six_goes_to_production_without_biometrics() {
        assert!(transition_with(&intake(false), &Stage::SentToProduction, None, false).is_ok());
        assert_eq!(
            transition_with(&intake(false), &intake(true), None, false).unwrap_err().rule,
            "card.biometrics_under_6"
        );
        assert_eq!(
            transition_with(&intake(false), &Stage::SentToProduction, None, true).unwrap_err().rule,
            "card.biometrics_missing"
        );
        // Other moves are unchanged.
        assert_eq!(
            transition_with(&intake(false), &Stage::CardReceived, None, false).unwrap_err().rule,
            "card.stage_skip"
        );
    }

    #[test]
    fn cards_issued_from_july_2024_change_at_14() {
        let birth = full(2015, 9, 1);
        // A child's card under the 2023 law expires on the 14th birthday.
        assert_eq!(next_milestone(&birth, d(2024, 9, 1)), Some(Milestone { age: 14, date: d(2029, 9, 1) }));
        // Issued at 12 (within two years of 14): valid to 25.
        assert_eq!(next_milestone(&birth, d(2027, 9, 1)).unwrap().age, 25);
        // The day before the law: the 2020 rule, no change at 14.
        assert_eq!(next_milestone(&full(2009, 9, 1), d(2024, 6, 30)).unwrap().age, 25);
        assert_eq!(next_milestone(&full(2009, 9, 1), d(2024, 7, 1)).unwrap().age, 25); // at 14y 10m
        assert_eq!(next_milestone(&full(2012, 9, 1), d(2024, 7, 1)).unwrap().age, 14);
        assert_eq!(card_authority(d(2024, 6, 30)), CARD_AUTHORITY);
        assert_eq!(card_authority(d(2024, 7, 1)), CARD_AUTHORITY_2023);
    }

    #[test]
    fn due_for_renewal_window() {
        let birth = full(2000, 6, 15);
        let issued = d(2016, 1, 1);
        assert!(!due_for_renewal(&birth, issued, d(2025, 5, 15), 30));
        assert!(due_for_renewal(&birth, issued, d(2025, 5, 16), 30)); // 30 days before
        assert!(due_for_renewal(&birth, issued, d(2025, 6, 15), 30));
        assert!(due_for_renewal(&birth, issued, d(2026, 6, 15), 30)); // overdue still due
        assert!(!due_for_renewal(&full(1950, 1, 1), d(2021, 1, 1), d(2060, 1, 1), 30));
        assert_eq!(renewal_due_from(&birth, issued, 0), Some(d(2025, 6, 15)));
    }

    #[test]
    fn card_status_on_dates() {
        let id = PersonalId::parse_until("001200001234", 2026).unwrap();
        let birth = full(2000, 6, 15);
        let mut card = Card::issue(id, &birth, d(2021, 3, 1), "Cục Cảnh sát QLHC về TTXH").unwrap();
        assert_eq!(card.expiry, Some(d(2025, 6, 15)));
        assert_eq!(card.status_on(d(2021, 2, 28)), CardStatus::NotYetValid);
        assert_eq!(card.status_on(d(2021, 3, 1)), CardStatus::Valid);
        assert_eq!(card.status_on(d(2025, 6, 15)), CardStatus::Valid); // valid through expiry day
        assert_eq!(card.status_on(d(2025, 6, 16)), CardStatus::Expired);
        card.lost_on = Some(d(2023, 1, 1));
        assert_eq!(card.status_on(d(2022, 12, 31)), CardStatus::Valid);
        assert_eq!(card.status_on(d(2023, 1, 1)), CardStatus::Lost);
        assert_eq!(card.status_on(d(2026, 1, 1)), CardStatus::Lost);
        card.revoked_on = Some(d(2023, 2, 1));
        assert_eq!(card.status_on(d(2023, 2, 1)), CardStatus::Revoked);
        assert_eq!(Card::issue(id, &birth, d(1999, 1, 1), "x").unwrap_err().rule, "card.issue_before_birth");
        assert_eq!(Card::issue(id, &birth, d(2021, 1, 1), "  ").unwrap_err().rule, "card.authority_required");
    }

    proptest! {
        /// The expiry is always a milestone birthday after the issue date, the card is never
        /// issued inside the margin before it, and cards issued at 58 or later never expire.
        #[test]
        fn expiry_invariants(by in 1930i32..2020, bm in 1u32..=12, bd in 1u32..=28, age_days in 0i64..(80 * 366)) {
            let birth = full(by, bm, bd);
            let issue = d(by, bm, bd) + Duration::days(age_days);
            let ages: &[u32] = if issue < crate::law2023::IN_FORCE { &[25, 40, 60] } else { &[14, 25, 40, 60] };
            match next_milestone(&birth, issue) {
                Some(m) => {
                    prop_assert!(ages.contains(&m.age));
                    prop_assert_eq!(m.date, d(by + m.age as i32, bm, bd));
                    prop_assert!(issue < birthday_at(&birth, m.age - 2));
                    prop_assert!(birth.age_on(issue) < m.age as i32 - 2);
                    // No earlier milestone was skipped: every earlier age's margin had begun.
                    for &a in ages.iter().filter(|&&a| a < m.age) {
                        prop_assert!(issue >= birthday_at(&birth, a - 2));
                    }
                }
                None => prop_assert!(birth.age_on(issue) >= 58),
            }
        }

        /// A card issued on or after 1 July 2024 before the holder is 12 expires on the 14th
        /// birthday; one issued before then never expires at 14 (Art. 21, Art. 46(1)).
        #[test]
        fn the_age_14_change_follows_the_issue_date(by in 2000i32..2030, bm in 1u32..=12, bd in 1u32..=28, age_days in 0i64..(14 * 366)) {
            let birth = full(by, bm, bd);
            let issue = d(by, bm, bd) + Duration::days(age_days);
            let expiry = card_expiry(&birth, issue);
            if issue >= crate::law2023::IN_FORCE && issue < birthday_at(&birth, 12) {
                prop_assert_eq!(expiry, Some(d(by + 14, bm, bd)));
            } else {
                prop_assert_ne!(expiry, Some(d(by + 14, bm, bd)));
            }
        }
    }
}
