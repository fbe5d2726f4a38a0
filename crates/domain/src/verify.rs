//! Field comparison for partner verification (issue 13): a partner sends what it holds about
//! a person and learns, per field, whether it agrees with the registry, nothing more.
//! Names compare exactly (NFC) or tolerantly (tone placement, folded text, legacy-encoding
//! repair); the answer names the mode that matched, so a partner can tell a clean match from
//! a repaired one. Pure: the registry reads the record, this module only compares.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::date::PartialDate;
use crate::legacy;
use crate::text::{fold_key, nfc};
use crate::units::UnitRef;
use crate::Sex;

/// How a name may be compared, as the caller asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NameMode {
    /// NFC-equal, marks and case included.
    Exact,
    /// Exact, else the same syllables with the tone mark anywhere (`hoà`/`hòa`), else the
    /// same folded text (no marks, `đ`→`d`, case, `y`/`i`), each after repairing legacy
    /// encodings (TCVN3, VNI, VISCII read as Windows-1252) if the plain text did not match.
    #[default]
    Tolerant,
}

/// What matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MatchMode {
    /// Identical (names: NFC-equal; dates: the same precision).
    Exact,
    /// A name whose tone marks sit on other vowels of the same syllables.
    TonePlacement,
    /// A name equal once marks, `đ`, case and spacing are folded away.
    Folded,
    /// A name that matched only after undoing a legacy encoding.
    LegacyRepair,
    /// A date that agrees on every part both sides have (one is only a year or a month).
    Partial,
}

impl MatchMode {
    pub fn code(self) -> &'static str {
        match self {
            MatchMode::Exact => "exact",
            MatchMode::TonePlacement => "tone_placement",
            MatchMode::Folded => "folded",
            MatchMode::LegacyRepair => "legacy_repair",
            MatchMode::Partial => "partial",
        }
    }
}

/// The outcome for one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldOutcome {
    Match,
    Mismatch,
    NotProvided,
}

/// One field's answer: the outcome and, for a match, how it matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldResult {
    pub result: FieldOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<MatchMode>,
}

impl FieldResult {
    pub const NOT_PROVIDED: FieldResult = FieldResult { result: FieldOutcome::NotProvided, mode: None };
    pub const MISMATCH: FieldResult = FieldResult { result: FieldOutcome::Mismatch, mode: None };
    pub fn matched(mode: MatchMode) -> Self {
        FieldResult { result: FieldOutcome::Match, mode: Some(mode) }
    }
    fn of(found: Option<MatchMode>) -> Self {
        found.map_or(Self::MISMATCH, Self::matched)
    }
}

/// The whole answer: every provided field matched, one did not, or nothing was provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    Match,
    Mismatch,
    /// Only the personal ID was sent: it exists (within the caller's entitlement).
    IdOnly,
}

/// A claimed address: a 2025 (or legacy) commune and optionally the house and street.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressClaim {
    pub unit: UnitRef,
    pub detail: Option<String>,
}

/// What the caller claims about a person.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Claim {
    pub full_name: Option<String>,
    pub name_mode: NameMode,
    pub birth_date: Option<PartialDate>,
    pub sex: Option<Sex>,
    pub address: Option<AddressClaim>,
}

/// The registry side of a comparison: a residence as stored (unit reference text, detail).
#[derive(Debug, Clone, Copy)]
pub struct Residence<'a> {
    pub unit: &'a str,
    pub detail: Option<&'a str>,
}

/// The registry side, borrowed from the verification read.
#[derive(Debug, Clone, Copy)]
pub struct Recorded<'a> {
    pub full_name: &'a str,
    pub birth_date: PartialDate,
    pub sex: Sex,
    /// Permanent, temporary and current residence, those that are set.
    pub residences: &'a [Residence<'a>],
}

/// Per-field results and the overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verdict {
    pub full_name: FieldResult,
    pub date_of_birth: FieldResult,
    pub sex: FieldResult,
    pub address: FieldResult,
    pub overall: Overall,
}

/// Compares a claim with a record.
pub fn verify(claim: &Claim, rec: &Recorded<'_>) -> Verdict {
    let full_name = match &claim.full_name {
        None => FieldResult::NOT_PROVIDED,
        Some(n) => FieldResult::of(compare_name(n, rec.full_name, claim.name_mode)),
    };
    let date_of_birth = match &claim.birth_date {
        None => FieldResult::NOT_PROVIDED,
        Some(d) => FieldResult::of(compare_date(d, &rec.birth_date)),
    };
    let sex = match claim.sex {
        None => FieldResult::NOT_PROVIDED,
        Some(s) => FieldResult::of((s == rec.sex).then_some(MatchMode::Exact)),
    };
    let address = match &claim.address {
        None => FieldResult::NOT_PROVIDED,
        Some(a) => FieldResult::of(compare_address(a, rec.residences)),
    };
    let fields = [full_name, date_of_birth, sex, address];
    let overall = if fields.iter().any(|f| f.result == FieldOutcome::Mismatch) {
        Overall::Mismatch
    } else if fields.iter().all(|f| f.result == FieldOutcome::NotProvided) {
        Overall::IdOnly
    } else {
        Overall::Match
    };
    Verdict { full_name, date_of_birth, sex, address, overall }
}

/// Compares a claimed name with the recorded one; `None` when they differ in the mode asked.
pub fn compare_name(claimed: &str, recorded: &str, mode: NameMode) -> Option<MatchMode> {
    let claimed_nfc = nfc(claimed);
    let recorded_nfc = nfc(recorded);
    if claimed_nfc == recorded_nfc {
        return Some(MatchMode::Exact);
    }
    if mode == NameMode::Exact {
        return None;
    }
    if let Some(m) = tolerant(&claimed_nfc, &recorded_nfc) {
        return Some(m);
    }
    let repaired = legacy::repair_detailed(&claimed_nfc);
    if repaired.from.is_some() {
        let text = nfc(&repaired.text);
        if text == recorded_nfc || tolerant(&text, &recorded_nfc).is_some() {
            return Some(MatchMode::LegacyRepair);
        }
    }
    None
}

fn tolerant(claimed: &str, recorded: &str) -> Option<MatchMode> {
    if tone_key(claimed) == tone_key(recorded) {
        return Some(MatchMode::TonePlacement);
    }
    if crate::text::fold_key(claimed).is_empty() {
        return None;
    }
    (match_key(claimed) == match_key(recorded)).then_some(MatchMode::Folded)
}

/// The five Vietnamese tone marks as combining characters (grave, acute, tilde, hook, dot).
const TONES: [char; 5] = ['\u{300}', '\u{301}', '\u{303}', '\u{309}', '\u{323}'];

/// Each syllable lower-cased with its tone mark taken off and appended, so the same
/// syllable with the tone on another vowel gives the same key; vowel shapes (â, ă, ơ, ư)
/// and `đ` stay.
fn tone_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for (i, word) in s.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let mut tone = None;
        let mut base = String::with_capacity(word.len());
        for c in word.nfd() {
            if TONES.contains(&c) {
                tone = Some(c);
            } else {
                base.extend(c.to_lowercase());
            }
        }
        out.extend(base.nfc());
        if let Some(t) = tone {
            out.push('#');
            out.push(t);
        }
    }
    out
}

/// The folded key with a word-final `y` after a consonant read as `i` (`Lý` = `Lí`), as the
/// eID registration compares names (DOMAIN.md §8).
fn match_key(name: &str) -> String {
    let key = fold_key(name);
    let mut out = String::with_capacity(key.len());
    for (i, w) in key.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let b = w.as_bytes();
        if b.len() >= 2 && b[b.len() - 1] == b'y' && !b"aeiouy".contains(&b[b.len() - 2]) {
            out.push_str(&w[..w.len() - 1]);
            out.push('i');
        } else {
            out.push_str(w);
        }
    }
    out
}

/// A date matches when every part both sides give agrees: `Exact` at the same precision,
/// `Partial` when one side is only a year or a year and month.
pub fn compare_date(claimed: &PartialDate, recorded: &PartialDate) -> Option<MatchMode> {
    if claimed == recorded {
        return Some(MatchMode::Exact);
    }
    if claimed.year() != recorded.year() {
        return None;
    }
    let day = |d: &PartialDate| match d {
        PartialDate::Full(d) => Some(chrono::Datelike::day(d)),
        _ => None,
    };
    let agree = |a: Option<u32>, b: Option<u32>| a.is_none() || b.is_none() || a == b;
    (agree(claimed.month(), recorded.month()) && agree(day(claimed), day(recorded)))
        .then_some(MatchMode::Partial)
}

/// The claimed commune is one of the person's residences (legacy units read as their 2025
/// commune); a claimed detail must then fold to that residence's detail.
pub fn compare_address(claim: &AddressClaim, residences: &[Residence<'_>]) -> Option<MatchMode> {
    let unit = claim.unit.to_2025().ok()?;
    let mut found = None;
    for r in residences {
        let Some(stored) = r.unit.parse::<UnitRef>().ok().and_then(|u| u.to_2025().ok()) else { continue };
        if stored != unit {
            continue;
        }
        let Some(detail) = &claim.detail else { return Some(MatchMode::Exact) };
        let Some(rec) = r.detail else { continue };
        if nfc(detail) == nfc(rec) {
            return Some(MatchMode::Exact);
        }
        if fold_key(detail) == fold_key(rec) {
            found = Some(MatchMode::Folded);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec<'a>(name: &'a str, dob: &str, res: &'a [Residence<'a>]) -> Recorded<'a> {
        Recorded { full_name: name, birth_date: dob.parse().unwrap(), sex: Sex::Female, residences: res }
    }

    #[test]
    fn names_by_mode() {
        let r = "Nguyễn Thị Hòa";
        assert_eq!(compare_name("Nguyễn  Thị Hòa", r, NameMode::Exact), Some(MatchMode::Exact));
        assert_eq!(compare_name("Nguyễn Thị Hoà", r, NameMode::Exact), None);
        assert_eq!(compare_name("Nguyễn Thị Hoà", r, NameMode::Tolerant), Some(MatchMode::TonePlacement));
        assert_eq!(compare_name("NGUYỄN THỊ HOÀ", r, NameMode::Tolerant), Some(MatchMode::TonePlacement));
        assert_eq!(compare_name("Nguyen Thi Hoa", r, NameMode::Tolerant), Some(MatchMode::Folded));
        assert_eq!(compare_name("Nguyễn Thị Hà", r, NameMode::Tolerant), None);
        assert_eq!(compare_name("Lê Thị Lí", "Lê Thị Lý", NameMode::Tolerant), Some(MatchMode::Folded));
        // Tone placement keeps the tone: a different tone on the same syllable is folded only.
        assert_eq!(compare_name("Nguyễn Thị Hóa", r, NameMode::Tolerant), Some(MatchMode::Folded));
    }

    #[test]
    fn garbled_names_are_repaired() {
        let name = "Nguyễn Thị Hòa";
        for enc in [legacy::Encoding::Tcvn3, legacy::Encoding::Vni] {
            let bytes = legacy::encode_with(enc, name).unwrap();
            let garbled = legacy::decode_cp1252(&bytes);
            assert_ne!(garbled, name);
            assert_eq!(
                compare_name(&garbled, name, NameMode::Tolerant),
                Some(MatchMode::LegacyRepair),
                "{enc:?}"
            );
            assert_eq!(compare_name(&garbled, name, NameMode::Exact), None);
            assert_eq!(compare_name(&garbled, "Trần Văn Hùng", NameMode::Tolerant), None);
        }
    }

    #[test]
    fn dates_full_and_partial() {
        let full: PartialDate = "1990-05-17".parse().unwrap();
        let p = |s: &str| s.parse::<PartialDate>().unwrap();
        assert_eq!(compare_date(&full, &full), Some(MatchMode::Exact));
        assert_eq!(compare_date(&p("1990"), &full), Some(MatchMode::Partial));
        assert_eq!(compare_date(&p("1990-05"), &full), Some(MatchMode::Partial));
        assert_eq!(compare_date(&full, &p("1990")), Some(MatchMode::Partial));
        assert_eq!(compare_date(&p("1990-06"), &full), None);
        assert_eq!(compare_date(&p("1990-05-18"), &full), None);
        assert_eq!(compare_date(&p("1991"), &full), None);
    }

    #[test]
    fn overall_and_fields() {
        let res = [Residence { unit: "2025:00004", detail: Some("12 Hàng Bạc") }];
        let r = rec("Trần Thị Mai", "1985-02-03", &res);
        let none = Claim::default();
        let v = verify(&none, &r);
        assert_eq!(v.overall, Overall::IdOnly);
        assert_eq!(v.full_name, FieldResult::NOT_PROVIDED);
        let claim = Claim {
            full_name: Some("tran thi mai".into()),
            name_mode: NameMode::Tolerant,
            birth_date: Some("1985".parse().unwrap()),
            sex: Some(Sex::Female),
            address: Some(AddressClaim {
                unit: "2025:00004".parse().unwrap(),
                detail: Some("12 hang bac".into()),
            }),
        };
        let v = verify(&claim, &r);
        assert_eq!(v.overall, Overall::Match);
        assert_eq!(v.full_name, FieldResult::matched(MatchMode::Folded));
        assert_eq!(v.date_of_birth, FieldResult::matched(MatchMode::Partial));
        assert_eq!(v.sex, FieldResult::matched(MatchMode::Exact));
        assert_eq!(v.address, FieldResult::matched(MatchMode::Folded));
        let wrong = Claim { sex: Some(Sex::Male), ..claim.clone() };
        let v = verify(&wrong, &r);
        assert_eq!(v.sex, FieldResult::MISMATCH);
        assert_eq!(v.overall, Overall::Mismatch);
        let elsewhere = Claim {
            address: Some(AddressClaim { unit: "2025:00008".parse().unwrap(), detail: None }),
            ..claim
        };
        assert_eq!(verify(&elsewhere, &r).address, FieldResult::MISMATCH);
    }
}
