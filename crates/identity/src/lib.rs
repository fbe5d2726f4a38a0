//! Identity documents and accounts: the ID card (CCCD / thẻ căn cước) life cycle and expiry,
//! the card's QR payload (with repair of legacy Vietnamese encodings), TOTP second factors and
//! electronic identity (VNeID-style) accounts.
//!
//! Pure code: no I/O, no async, no database; the clock is always an argument. Every broken
//! rule is a [`dancu_domain::Violation`] with a stable rule code (listed in docs/IDENTITY.md).

pub mod appointment;
pub mod card;
pub mod eid;
pub mod law2023;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod qr;
pub mod totp;

pub use appointment::{appointment_day, appointment_day_in, PROCESSING_WORKING_DAYS};
pub use card::{
    birthday_at, card_authority, card_expiry, due_for_renewal, hand_over, issuance, issues_card,
    next_milestone, next_milestone_with, renewal_due_from, transition, transition_with, ApplicationKind,
    Card, CardStatus, ExpiryRule, HandoverMethod, Issuance, Milestone, Move, RenewalReason,
    ReplacementReason, Stage, StageKind, CARD_AUTHORITY, CARD_AUTHORITY_2023, PREVIOUS_CARDS_BECOME,
    RENEWAL_NOTICE_DAYS,
};
/// The legacy 8-bit encodings moved to `dancu_domain` (the citizen rules flag mojibake);
/// still reachable here.
pub use dancu_domain::legacy;
pub use eid::{
    apply, check_level2, check_registration, normalize_phone, validate_number, AccountEvent, AccountState,
    Actor, DocumentKind, IntegratedDocument, Level, Phase, RegistrationClaim, VerificationState,
    DOCUMENT_RULES,
};
pub use law2023::{biometrics_collected, check_application_kind, check_biometrics_claim, HeldCard};
pub use legacy::{repair, Encoding};
pub use qr::{CardQr, ParsedQr};
pub use totp::TotpParams;
