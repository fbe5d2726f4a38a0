//! Rules of the 2023 Law on Identification (Luật Căn cước, No. 26/2023/QH15, in force 1 July
//! 2024) that decide whether an application may be taken: no biometrics for children under 6
//! (Art. 23(2)(a)) and the application kind against the cards the holder already has
//! (Art. 19, 24). The expiry ages (Art. 21) and the old cards' printed dates (Art. 46(1)) are
//! in [`crate::card`]. Article numbers and readings: docs/IDENTITY.md §2.

use chrono::{Months, NaiveDate};
use dancu_domain::{PartialDate, Violation};

use crate::card::{ApplicationKind, CardStatus, RenewalReason};

/// The day the 2023 law came into force.
pub const IN_FORCE: NaiveDate = match NaiveDate::from_ymd_opt(2024, 7, 1) {
    Some(d) => d,
    None => panic!("1 July 2024 exists"),
};

/// The age from which fingerprints and iris are taken (Art. 23(2)(a)-(b)).
pub const BIOMETRICS_FROM_AGE: i32 = 6;

/// Whether biometrics are collected from a holder born `birth` on day `on`. A year-only birth
/// counts from 1 January ([`PartialDate::age_on`]), so a child is never wrongly exempted.
pub fn biometrics_collected(birth: &PartialDate, on: NaiveDate) -> bool {
    birth.age_on(on) >= BIOMETRICS_FROM_AGE
}

/// A recorded capture for a child under 6 is refused: the law says the authority does not
/// collect it, so a "captured" flag is either a mistake or data that must not exist.
pub fn check_biometrics_claim(birth: &PartialDate, on: NaiveDate, captured: bool) -> Result<(), Violation> {
    if captured && !biometrics_collected(birth, on) {
        return Err(biometrics_under_6());
    }
    Ok(())
}

/// `card.biometrics_under_6` on the field `biometrics_captured`.
pub fn biometrics_under_6() -> Violation {
    Violation::new(
        "biometrics_captured",
        "card.biometrics_under_6",
        "Không thu nhận vân tay, mống mắt của người dưới 6 tuổi (Điều 23 khoản 2 Luật Căn cước)",
        "no fingerprints or iris are collected from a child under 6 (Identification Law, Art. 23(2))",
    )
}

/// One of the holder's cards, as the kind check needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldCard {
    pub status: CardStatus,
    pub expiry: Option<NaiveDate>,
}

fn kind_violation(rule: &'static str, vi: &str, en: &str) -> Violation {
    Violation::new("kind", rule, vi, en)
}

/// Checks an application `kind` against the holder's cards (any status) on day `today`:
/// - a first issue (cấp mới) only for someone who never had a card (`card.kind_has_card`);
/// - a change (cấp đổi) or a re-issue (cấp lại) only for someone who had one (Art. 24:
///   `card.kind_no_card`);
/// - a change for age only when a card is expired or within two years of its expiry, the
///   margin of Art. 21(2) (`card.kind_not_due`); a card valid for life never is.
pub fn check_application_kind(
    kind: ApplicationKind,
    cards: &[HeldCard],
    today: NaiveDate,
) -> Result<(), Violation> {
    match kind {
        ApplicationKind::FirstIssue if !cards.is_empty() => Err(kind_violation(
            "card.kind_has_card",
            "Công dân đã được cấp thẻ: chọn cấp đổi hoặc cấp lại, không cấp mới",
            "the holder already has a card: apply for a change or a re-issue, not a first issue",
        )),
        ApplicationKind::FirstIssue => Ok(()),
        _ if cards.is_empty() => Err(kind_violation(
            "card.kind_no_card",
            "Công dân chưa từng được cấp thẻ: chọn cấp mới (Điều 24 chỉ áp dụng cho người đã có thẻ)",
            "the holder never had a card: apply for a first issue (Art. 24 applies to card holders)",
        )),
        ApplicationKind::Renewal { reason: RenewalReason::AgeMilestone } => {
            let margin_start = |e: NaiveDate| e.checked_sub_months(Months::new(24)).unwrap_or(NaiveDate::MIN);
            let due = cards
                .iter()
                .filter(|c| matches!(c.status, CardStatus::Valid | CardStatus::Expired))
                .any(|c| c.expiry.is_some_and(|e| today >= margin_start(e)));
            if due {
                Ok(())
            } else {
                Err(kind_violation(
                    "card.kind_not_due",
                    "Thẻ hiện tại chưa đến tuổi phải đổi (chỉ đổi trong 2 năm trước tuổi 14, 25, 40, 60 hoặc khi đã hết hạn)",
                    "the current card is not due for an age change (only within two years before 14, 25, 40 or 60, or once expired)",
                ))
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::{card_expiry, ReplacementReason};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn held(status: CardStatus, expiry: Option<NaiveDate>) -> HeldCard {
        HeldCard { status, expiry }
    }
    const AGE: ApplicationKind = ApplicationKind::Renewal { reason: RenewalReason::AgeMilestone };
    const LOST: ApplicationKind = ApplicationKind::Replacement { reason: ReplacementReason::Lost };

    #[test]
    fn no_biometrics_under_six() {
        let birth = PartialDate::Full(d(2020, 5, 10));
        assert!(!biometrics_collected(&birth, d(2026, 5, 9)));
        assert!(biometrics_collected(&birth, d(2026, 5, 10)));
        let v = check_biometrics_claim(&birth, d(2026, 5, 9), true).unwrap_err();
        assert_eq!((v.field.as_str(), v.rule), ("biometrics_captured", "card.biometrics_under_6"));
        assert!(check_biometrics_claim(&birth, d(2026, 5, 9), false).is_ok());
        assert!(check_biometrics_claim(&birth, d(2026, 5, 10), true).is_ok());
    }

    #[test]
    fn a_first_issue_needs_no_card_and_a_change_needs_one() {
        let today = d(2026, 1, 1);
        let valid = held(CardStatus::Valid, Some(d(2040, 1, 1)));
        assert!(check_application_kind(ApplicationKind::FirstIssue, &[], today).is_ok());
        let v = check_application_kind(ApplicationKind::FirstIssue, &[valid], today).unwrap_err();
        assert_eq!((v.field.as_str(), v.rule), ("kind", "card.kind_has_card"));
        for kind in ApplicationKind::ALL.into_iter().filter(|k| *k != ApplicationKind::FirstIssue) {
            assert_eq!(check_application_kind(kind, &[], today).unwrap_err().rule, "card.kind_no_card");
        }
        assert!(check_application_kind(LOST, &[valid], today).is_ok());
    }

    #[test]
    fn an_age_change_only_near_or_after_expiry() {
        let today = d(2026, 1, 1);
        let far = held(CardStatus::Valid, Some(d(2030, 1, 1)));
        let near = held(CardStatus::Valid, Some(d(2027, 6, 1)));
        let expired = held(CardStatus::Expired, Some(d(2025, 6, 1)));
        let life = held(CardStatus::Valid, None);
        assert_eq!(check_application_kind(AGE, &[far], today).unwrap_err().rule, "card.kind_not_due");
        assert_eq!(check_application_kind(AGE, &[life], today).unwrap_err().rule, "card.kind_not_due");
        assert!(check_application_kind(AGE, &[near], today).is_ok());
        assert!(check_application_kind(AGE, &[expired], today).is_ok());
    }

    #[test]
    fn a_childs_card_expires_at_14_and_is_then_due() {
        let birth = PartialDate::Full(d(2022, 3, 15));
        let expiry = card_expiry(&birth, d(2024, 8, 1)).unwrap();
        assert_eq!(expiry, d(2036, 3, 15));
        let card = held(CardStatus::Valid, Some(expiry));
        assert!(check_application_kind(AGE, &[card], d(2034, 3, 15)).is_ok());
        assert!(check_application_kind(AGE, &[card], d(2030, 3, 15)).is_err());
    }
}
