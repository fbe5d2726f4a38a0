//! The application (hồ sơ) state machine shared by every public service: which moves are
//! allowed, who may make them and when a reason is required, plus the on-time rule. Pure
//! rules, so the store and the pages ask the same questions of the same code.
//!
//! submitted → accepted | not_accepted (reason); accepted → in_process; in_process →
//! info_requested (reason: what is missing) → in_process (supplied); in_process →
//! completed | rejected (reason) | withdrawn (the citizen's request).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::Violation;

/// How an application reached the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The citizen portal.
    Online,
    /// The one-stop desk (bộ phận một cửa).
    Desk,
    /// By post.
    Post,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Online, Channel::Desk, Channel::Post];

    pub fn code(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Desk => "desk",
            Channel::Post => "post",
        }
    }

    pub fn from_code(s: &str) -> Result<Self, Violation> {
        Channel::ALL.into_iter().find(|c| c.code() == s).ok_or_else(|| {
            Violation::new(
                "channel",
                "application.channel_unknown",
                "Kênh nộp hồ sơ phải là trực tuyến, một cửa hoặc bưu chính",
                "channel must be online, desk or post",
            )
        })
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            Channel::Online => "Trực tuyến",
            Channel::Desk => "Tại bộ phận một cửa",
            Channel::Post => "Qua bưu chính",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Channel::Online => "Online",
            Channel::Desk => "At the one-stop desk",
            Channel::Post => "By post",
        }
    }
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AppState {
    Submitted,
    Accepted,
    NotAccepted,
    InProcess,
    InfoRequested,
    Completed,
    Rejected,
    Withdrawn,
}

/// Who makes a move: the officer handling the file, or the applicant from the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mover {
    Officer,
    Citizen,
}

impl AppState {
    pub const ALL: [AppState; 8] = [
        AppState::Submitted,
        AppState::Accepted,
        AppState::NotAccepted,
        AppState::InProcess,
        AppState::InfoRequested,
        AppState::Completed,
        AppState::Rejected,
        AppState::Withdrawn,
    ];

    /// States still waiting for the unit (or the citizen): the ones a queue shows and that
    /// can be overdue.
    pub const OPEN: [AppState; 4] =
        [AppState::Submitted, AppState::Accepted, AppState::InProcess, AppState::InfoRequested];

    pub fn code(self) -> &'static str {
        match self {
            AppState::Submitted => "submitted",
            AppState::Accepted => "accepted",
            AppState::NotAccepted => "not_accepted",
            AppState::InProcess => "in_process",
            AppState::InfoRequested => "info_requested",
            AppState::Completed => "completed",
            AppState::Rejected => "rejected",
            AppState::Withdrawn => "withdrawn",
        }
    }

    pub fn from_code(s: &str) -> Result<Self, Violation> {
        AppState::ALL.into_iter().find(|c| c.code() == s).ok_or_else(|| {
            Violation::new(
                "state",
                "application.state_unknown",
                "Trạng thái hồ sơ không hợp lệ",
                "unknown state",
            )
        })
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            AppState::Submitted => "Đã nộp",
            AppState::Accepted => "Đã tiếp nhận",
            AppState::NotAccepted => "Không tiếp nhận",
            AppState::InProcess => "Đang xử lý",
            AppState::InfoRequested => "Yêu cầu bổ sung",
            AppState::Completed => "Đã giải quyết",
            AppState::Rejected => "Từ chối giải quyết",
            AppState::Withdrawn => "Đã rút hồ sơ",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            AppState::Submitted => "Submitted",
            AppState::Accepted => "Accepted",
            AppState::NotAccepted => "Not accepted",
            AppState::InProcess => "In process",
            AppState::InfoRequested => "More information requested",
            AppState::Completed => "Completed",
            AppState::Rejected => "Rejected",
            AppState::Withdrawn => "Withdrawn",
        }
    }

    pub fn is_open(self) -> bool {
        AppState::OPEN.contains(&self)
    }

    /// A decision on the file: it gets a decided day and is marked on time or overdue.
    pub fn is_decision(self) -> bool {
        matches!(self, AppState::Completed | AppState::Rejected)
    }

    /// Whether the law wants a written reason for reaching this state.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            AppState::NotAccepted | AppState::InfoRequested | AppState::Rejected | AppState::Withdrawn
        )
    }

    /// The states one may move to from here, and who may.
    pub fn next(self) -> &'static [(AppState, Mover)] {
        use AppState::*;
        match self {
            Submitted => &[(Accepted, Mover::Officer), (NotAccepted, Mover::Officer)],
            Accepted => &[(InProcess, Mover::Officer)],
            InProcess => &[
                (InfoRequested, Mover::Officer),
                (Completed, Mover::Officer),
                (Rejected, Mover::Officer),
                (Withdrawn, Mover::Citizen),
                (Withdrawn, Mover::Officer),
            ],
            InfoRequested => &[(InProcess, Mover::Officer), (InProcess, Mover::Citizen)],
            NotAccepted | Completed | Rejected | Withdrawn => &[],
        }
    }

    /// The moves `who` may make from here (each target once).
    pub fn allowed_for(self, who: Mover) -> Vec<AppState> {
        let mut out: Vec<AppState> = Vec::new();
        for (to, m) in self.next() {
            if *m == who && !out.contains(to) {
                out.push(*to);
            }
        }
        out
    }
}

/// Checks a move from `from` to `to` by `who` with `reason` (already trimmed). Refusals
/// name the rule: `application.final_state`, `application.transition_not_allowed`,
/// `application.not_for_citizen`, `application.reason_required`.
pub fn check_transition(from: AppState, to: AppState, who: Mover, reason: &str) -> Result<(), Violation> {
    if from.next().is_empty() {
        return Err(Violation::new(
            "to",
            "application.final_state",
            format!("Hồ sơ đã ở trạng thái cuối ({}), không chuyển tiếp được", from.name_vi()),
            format!("the application is final ({}) and cannot move", from.code()),
        ));
    }
    let targets: Vec<_> = from.next().iter().filter(|(t, _)| *t == to).collect();
    if targets.is_empty() {
        return Err(Violation::new(
            "to",
            "application.transition_not_allowed",
            format!("Không được chuyển hồ sơ từ “{}” sang “{}”", from.name_vi(), to.name_vi()),
            format!("an application cannot move from {} to {}", from.code(), to.code()),
        ));
    }
    if !targets.iter().any(|(_, m)| *m == who) {
        return Err(Violation::new(
            "to",
            "application.not_for_citizen",
            "Công dân không tự thực hiện bước này; cán bộ xử lý hồ sơ thực hiện",
            "this step is the handling officer's, not the applicant's",
        ));
    }
    if to.needs_reason() && reason.trim().is_empty() {
        return Err(Violation::new(
            "reason",
            "application.reason_required",
            format!("Cần nêu lý do khi chuyển sang “{}”", to.name_vi()),
            format!("a reason is required to move to {}", to.code()),
        ));
    }
    Ok(())
}

/// Whether a file decided on `decided` (a day in Vietnam) met its due date.
pub fn on_time(due: NaiveDate, decided: NaiveDate) -> bool {
    decided <= due
}

/// Whether an open file is overdue on `today`: its due date has passed.
pub fn overdue(state: AppState, due: NaiveDate, today: NaiveDate) -> bool {
    state.is_open() && today > due
}

/// Largest document accepted (bytes), after decoding.
pub const MAX_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;

/// Media types a document may have, with the bytes its content starts with.
pub const DOCUMENT_TYPES: [(&str, &[u8]); 3] =
    [("application/pdf", b"%PDF-"), ("image/jpeg", &[0xFF, 0xD8, 0xFF]), ("image/png", b"\x89PNG\r\n\x1a\n")];

/// The kinds of document an application takes, with their names (vi, en).
pub const DOCUMENT_KINDS: [(&str, &str, &str); 9] = [
    ("application_form", "Tờ khai", "Application form"),
    ("identity", "Giấy tờ tùy thân", "Identity document"),
    ("residence_proof", "Giấy tờ chứng minh chỗ ở hợp pháp", "Proof of lawful residence"),
    ("rental_contract", "Hợp đồng thuê, mượn, ở nhờ nhà", "Rental or loan agreement for the home"),
    ("consent", "Văn bản đồng ý của chủ hộ hoặc chủ sở hữu", "Consent of the household head or owner"),
    ("birth_certificate", "Giấy khai sinh", "Birth certificate"),
    ("marriage_certificate", "Giấy chứng nhận kết hôn", "Marriage certificate"),
    ("photo", "Ảnh", "Photograph"),
    ("other", "Giấy tờ khác", "Other document"),
];

/// A document kind's name, `None` for a kind not in [`DOCUMENT_KINDS`].
pub fn document_kind_name(kind: &str, vietnamese: bool) -> Option<&'static str> {
    DOCUMENT_KINDS.iter().find(|(k, _, _)| *k == kind).map(|(_, vi, en)| if vietnamese { *vi } else { *en })
}

/// Checks a document before it is stored: its kind (one of [`DOCUMENT_KINDS`]), its media type
/// (PDF, JPEG or PNG, and the content must be one), its size (1 byte to
/// [`MAX_DOCUMENT_BYTES`]). Rules: `document.kind`, `document.media_type`, `document.empty`,
/// `document.too_large`, `document.content_mismatch`.
pub fn check_document(kind: &str, media_type: &str, bytes: &[u8]) -> Result<(), Violation> {
    if document_kind_name(kind, true).is_none() {
        return Err(Violation::new(
            "kind",
            "document.kind",
            "Loại giấy tờ không có trong danh mục",
            "the document kind is not one of the listed kinds",
        ));
    }
    let Some((_, magic)) = DOCUMENT_TYPES.iter().find(|(t, _)| *t == media_type) else {
        return Err(Violation::new(
            "media_type",
            "document.media_type",
            "Chỉ nhận giấy tờ dạng PDF, JPEG hoặc PNG",
            "documents must be PDF, JPEG or PNG",
        ));
    };
    if bytes.is_empty() {
        return Err(Violation::new("content", "document.empty", "Tệp giấy tờ rỗng", "the document is empty"));
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Violation::new(
            "content",
            "document.too_large",
            format!("Tệp giấy tờ vượt quá {} MB", MAX_DOCUMENT_BYTES / (1024 * 1024)),
            format!("the document is larger than {} MB", MAX_DOCUMENT_BYTES / (1024 * 1024)),
        ));
    }
    if !bytes.starts_with(magic) {
        return Err(Violation::new(
            "content",
            "document.content_mismatch",
            "Nội dung tệp không đúng định dạng đã khai",
            "the content is not of the declared media type",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use AppState::*;

    #[test]
    fn the_lifecycle_moves_in_order() {
        for (from, to) in [(Submitted, Accepted), (Accepted, InProcess), (InProcess, Completed)] {
            check_transition(from, to, Mover::Officer, "").unwrap();
        }
        check_transition(InProcess, InfoRequested, Mover::Officer, "thiếu giấy tờ").unwrap();
        check_transition(InfoRequested, InProcess, Mover::Citizen, "").unwrap();
        check_transition(InProcess, Withdrawn, Mover::Citizen, "không cần nữa").unwrap();
    }

    #[test]
    fn skipped_and_backward_moves_are_refused_with_the_rule() {
        let e = check_transition(Submitted, Completed, Mover::Officer, "").unwrap_err();
        assert_eq!(e.rule, "application.transition_not_allowed");
        let e = check_transition(InProcess, Accepted, Mover::Officer, "x").unwrap_err();
        assert_eq!(e.rule, "application.transition_not_allowed");
        for s in [NotAccepted, Completed, Rejected, Withdrawn] {
            let e = check_transition(s, InProcess, Mover::Officer, "x").unwrap_err();
            assert_eq!(e.rule, "application.final_state", "{s:?}");
        }
    }

    #[test]
    fn a_reason_is_required_where_the_law_wants_one() {
        for (from, to) in [(Submitted, NotAccepted), (InProcess, Rejected), (InProcess, InfoRequested)] {
            let e = check_transition(from, to, Mover::Officer, "  ").unwrap_err();
            assert_eq!((e.rule, e.field.as_str()), ("application.reason_required", "reason"));
            check_transition(from, to, Mover::Officer, "lý do").unwrap();
        }
    }

    #[test]
    fn a_citizen_only_withdraws_or_supplies_information() {
        let e = check_transition(Submitted, Accepted, Mover::Citizen, "").unwrap_err();
        assert_eq!(e.rule, "application.not_for_citizen");
        assert_eq!(InProcess.allowed_for(Mover::Citizen), vec![Withdrawn]);
        assert_eq!(InfoRequested.allowed_for(Mover::Citizen), vec![InProcess]);
        assert!(Submitted.allowed_for(Mover::Citizen).is_empty());
    }

    #[test]
    fn codes_round_trip_and_open_states_are_the_waiting_ones() {
        for s in AppState::ALL {
            assert_eq!(AppState::from_code(s.code()).unwrap(), s);
            assert_eq!(s.is_open(), !s.next().is_empty(), "{s:?}");
        }
        for c in Channel::ALL {
            assert_eq!(Channel::from_code(c.code()).unwrap(), c);
        }
        assert_eq!(AppState::from_code("done").unwrap_err().rule, "application.state_unknown");
        assert_eq!(Channel::from_code("fax").unwrap_err().rule, "application.channel_unknown");
    }

    #[test]
    fn documents_are_checked_for_kind_type_size_and_content() {
        let pdf = b"%PDF-1.7 test";
        check_document("birth_certificate", "application/pdf", pdf).unwrap();
        let rule = |k: &str, t: &str, b: &[u8]| check_document(k, t, b).unwrap_err().rule;
        assert_eq!(rule("Giấy", "application/pdf", pdf), "document.kind");
        assert_eq!(rule("identity", "image/gif", b"GIF89a"), "document.media_type");
        assert_eq!(rule("identity", "image/png", b""), "document.empty");
        assert_eq!(rule("identity", "image/png", pdf), "document.content_mismatch");
        let big = [b"%PDF-".as_slice(), &vec![0u8; MAX_DOCUMENT_BYTES]].concat();
        assert_eq!(rule("identity", "application/pdf", &big), "document.too_large");
    }

    #[test]
    fn on_time_is_up_to_and_including_the_due_day() {
        let due = NaiveDate::from_ymd_opt(2026, 5, 5).unwrap();
        assert!(on_time(due, due));
        assert!(!on_time(due, due.succ_opt().unwrap()));
        assert!(overdue(InProcess, due, due.succ_opt().unwrap()));
        assert!(!overdue(InProcess, due, due));
        assert!(!overdue(Completed, due, due.succ_opt().unwrap()));
    }
}
