//! OpenAPI schemas (feature `openapi`) of the domain's values, as they appear in the HTTP
//! API: the patterns say what the parsers accept, so a client (or a fuzzer) can tell a
//! well-formed value from one the API will refuse.
//!
//! Types with their own serde forms (`PersonalId`, `CmndNumber`, `PartialDate`, `UnitRef`)
//! implement the schema here by hand; the others derive it next to their definitions.

use std::borrow::Cow;

use chrono::Datelike;
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::citizen::{CitizenDraft, MAX_ADDRESS_DETAIL};
use crate::{admin_units, catalog, CmndNumber, PartialDate, PersonalId, UnitRef};

/// The current year in Vietnam: personal IDs and dates after it are refused.
fn this_year() -> i32 {
    crate::date::vietnam_today(chrono::Utc::now()).year()
}

/// A regular-expression alternation of two-digit years `00..=last` (`last` in 0..=99).
fn years_up_to(last: u32) -> String {
    let (tens, units) = (last / 10, last % 10);
    let mut alts = Vec::new();
    if tens > 0 {
        alts.push(if tens == 1 { "0[0-9]".to_string() } else { format!("[0-{}][0-9]", tens - 1) });
    }
    alts.push(format!("{tens}[0-{units}]"));
    format!("(?:{})", alts.join("|"))
}

/// What [`PersonalId`]'s parser accepts: `0`, a legacy province code, the century/sex digit
/// and the year of a birth no later than `max_year`, and a 6-digit serial.
pub fn personal_id_pattern_until(max_year: i32) -> String {
    let provinces: Vec<&str> = admin_units().provinces_legacy.iter().map(|p| p.code.as_str()).collect();
    // Century/sex digit 2k or 2k+1: 1900 + 100k. Whole centuries before max_year's, then
    // max_year's own century up to its year.
    let century = ((max_year - 1900) / 100).max(0) as u32;
    let last = ((max_year - 1900) % 100).max(0) as u32;
    let mut births = Vec::new();
    if century > 0 {
        births.push(format!("[0-{}][0-9]{{2}}", 2 * century - 1));
    }
    births.push(format!("[{}{}]{}", 2 * century, 2 * century + 1, years_up_to(last)));
    format!("^0(?:{})(?:{})[0-9]{{6}}$", provinces.join("|"), births.join("|"))
}

/// [`personal_id_pattern_until`] this year.
pub fn personal_id_pattern() -> String {
    personal_id_pattern_until(this_year())
}

/// A personal ID as the API reads and writes it.
pub fn personal_id_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(personal_id_pattern()))
        .description(Some(
            "Personal ID (số định danh cá nhân): 12 digits, `0` + legacy province code, \
             century/sex digit, birth year, serial",
        ))
        .examples(["001090000123"])
        .build()
}

/// The stored form of a [`PartialDate`]: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, years 1800–2200.
pub const PARTIAL_DATE_PATTERN: &str = "^(?:18[0-9]{2}|19[0-9]{2}|2[01][0-9]{2}|2200)\
(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12][0-9]|3[01]))?)?$";

/// Month and day of a real date in any year (29 February left out).
const MONTH_DAY: &str =
    "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)";
/// The same, written day first (`DD/MM`).
const DAY_MONTH: &str =
    "(?:(?:0[1-9]|1[0-9]|2[0-8])/(?:0[1-9]|1[0-2])|(?:29|30)/(?:0[13-9]|1[0-2])|31/(?:0[13578]|1[02]))";
const MONTH: &str = "(?:0[1-9]|1[0-2])";

/// A date as a request may give it (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `MM/YYYY` or
/// `DD/MM/YYYY`) with a year that matches `year`, every match a real day (29 February left
/// out).
fn date_pattern(year: &str) -> String {
    format!("^(?:{year}(?:-{MONTH}|-{MONTH_DAY})?|(?:{MONTH}|{DAY_MONTH})/{year})$")
}

/// A date in any form [`PartialDate`] parses, years 1800–2200 (search criteria).
pub fn date_pattern_any() -> String {
    date_pattern("(?:18[0-9]{2}|19[0-9]{2}|2[01][0-9]{2}|2200)")
}

/// A past date (birth, death): as [`date_pattern_any`], years 1800 to last year, so that no
/// match is in the future. (The API also takes this year's past days.)
pub fn past_date_pattern() -> String {
    let last = this_year() - 1;
    date_pattern(&format!(
        "(?:18[0-9]{{2}}|19[0-9]{{2}}|20{})",
        years_up_to((last - 2000).clamp(0, 99) as u32)
    ))
}

/// A commune code with its list: `2025:00004` or `legacy:00004`.
pub const UNIT_PATTERN: &str = "^(?:2025|legacy):[0-9]{5}$";

/// The old 9-digit identity-card number.
pub const CMND_PATTERN: &str = "^[0-9]{9}$";

/// The letters a Vietnamese name is written with (precomposed, NFC).
pub const NAME_LETTERS: &str = "A-Za-zÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúýĂăĐđĨĩŨũƠơƯưẠ-ỹ";

/// One part of a name (family, middle or given): words of Vietnamese letters joined by a
/// space, `-` or `'`. The length (at most 100 characters) is a separate `maxLength`.
pub fn name_pattern() -> String {
    format!("^[{NAME_LETTERS}]+(?:[ '-][{NAME_LETTERS}]+)*$")
}

/// Free text without control or invisible characters (the rule `text.control_char`).
pub const VISIBLE_TEXT_PATTERN: &str =
    "^[^\\u0000-\\u001F\\u007F-\\u009F\\u00AD\\u061C\\u180E\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2069\\uFEFF]*$";

fn string(pattern: &str, description: &str, example: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .examples([example])
        .build()
}

impl PartialSchema for PersonalId {
    fn schema() -> RefOr<Schema> {
        personal_id_schema().into()
    }
}

impl ToSchema for PersonalId {
    fn name() -> Cow<'static, str> {
        "PersonalId".into()
    }
}

impl PartialSchema for CmndNumber {
    fn schema() -> RefOr<Schema> {
        string(CMND_PATTERN, "Old identity-card (CMND) number: 9 digits", "012345678").into()
    }
}

impl ToSchema for CmndNumber {
    fn name() -> Cow<'static, str> {
        "CmndNumber".into()
    }
}

impl PartialSchema for PartialDate {
    fn schema() -> RefOr<Schema> {
        string(
            PARTIAL_DATE_PATTERN,
            "A date known to the year, the month or the day: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`",
            "1950-03-07",
        )
        .into()
    }
}

impl ToSchema for PartialDate {
    fn name() -> Cow<'static, str> {
        "PartialDate".into()
    }
}

impl PartialSchema for UnitRef {
    fn schema() -> RefOr<Schema> {
        string(
            UNIT_PATTERN,
            "A commune-level unit with its list: `2025:NNNNN` (from 1 July 2025) or `legacy:NNNNN`",
            "2025:00004",
        )
        .into()
    }
}

impl ToSchema for UnitRef {
    fn name() -> Cow<'static, str> {
        "UnitRef".into()
    }
}

/// `pattern`, or the empty string (absent).
fn or_empty(pattern: &str) -> String {
    format!("^(?:{})?$", pattern.trim_start_matches('^').trim_end_matches('$'))
}

fn text(pattern: String, max_len: Option<usize>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .max_length(max_len)
        .description(Some(description))
        .build()
}

fn one_of(values: impl IntoIterator<Item = String>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .build()
}

/// The fields of the wire form (`CitizenDraft`) with the rules its validation applies to
/// each on its own. Rules between fields (the ID's birth year and sex against `birth_date`
/// and `sex`, a death date only for the deceased, a relative who is the person) and those
/// that need the registry's lists (a unit code that exists) are not expressible here: they
/// answer 422 with their rule.
pub fn citizen_draft_properties() -> Vec<(&'static str, Object)> {
    let id = personal_id_pattern();
    let name = name_pattern();
    let unit = |d: &str| text(or_empty(UNIT_PATTERN), None, d);
    let detail = |d: &str| text(VISIBLE_TEXT_PATTERN.to_string(), Some(MAX_ADDRESS_DETAIL), d);
    let codes = |list: &[catalog::CodeEntry]| {
        std::iter::once(String::new()).chain(list.iter().map(|e| e.code.clone())).collect::<Vec<_>>()
    };
    vec![
        ("personal_id", text(id.clone(), None, "Personal ID (12 digits)")),
        ("family_name", text(name.clone(), Some(100), "Family name (họ)")),
        ("middle_name", text(or_empty(&name), Some(100), "Middle name (tên đệm), may be empty")),
        ("given_name", text(name, Some(100), "Given name (tên)")),
        ("other_names", text(VISIBLE_TEXT_PATTERN.to_string(), Some(200), "Other names, free text")),
        ("birth_date", text(past_date_pattern(), None, "Date of birth, known to the year, month or day")),
        (
            "sex",
            one_of(["M", "F", "Nam", "Nữ", "male", "female"].map(String::from), "Sex: `M`/`F` or `Nam`/`Nữ`"),
        ),
        ("birth_place", unit("Unit of birth (`2025:NNNNN` or `legacy:NNNNN`), may be empty")),
        ("hometown", unit("Hometown unit (quê quán), may be empty")),
        ("ethnicity", one_of(codes(catalog::ethnicities()), "Ethnic group code; empty: 01 (Kinh)")),
        ("religion", one_of(codes(catalog::religions()), "Religion code; empty: 00 (none)")),
        ("nationality", text(or_empty("^[A-Z]{2}$"), None, "ISO 3166 two-letter code; empty: VN")),
        ("permanent_unit", text(UNIT_PATTERN.to_string(), None, "Permanent residence unit (thường trú)")),
        ("permanent_detail", detail("Permanent residence: street-level detail")),
        ("temporary_unit", unit("Temporary residence unit (tạm trú), may be empty")),
        ("temporary_detail", detail("Temporary residence: street-level detail")),
        ("current_unit", unit("Current residence unit (nơi ở hiện tại), may be empty")),
        ("current_detail", detail("Current residence: street-level detail")),
        ("father_id", text(or_empty(&id), None, "Father's personal ID, may be empty")),
        ("father_name", text(VISIBLE_TEXT_PATTERN.to_string(), Some(200), "Father's name")),
        ("mother_id", text(or_empty(&id), None, "Mother's personal ID, may be empty")),
        ("mother_name", text(VISIBLE_TEXT_PATTERN.to_string(), Some(200), "Mother's name")),
        ("spouse_id", text(or_empty(&id), None, "Spouse's personal ID, may be empty")),
        ("cmnd", text(or_empty(CMND_PATTERN), None, "Old 9-digit CMND number, may be empty")),
        (
            "status",
            one_of(["", "alive", "deceased", "missing"].map(String::from), "Life status; empty: alive"),
        ),
        ("death_date", text(or_empty(&past_date_pattern()), None, "Date of death (deceased only)")),
    ]
}

impl PartialSchema for CitizenDraft {
    fn schema() -> RefOr<Schema> {
        let mut o = ObjectBuilder::new()
            .description(Some(
                "A citizen record in its wire form: every field a string, empty meaning absent \
                 (the columns of docs/CSV.md). A permanent residence is required here; the API \
                 also takes a temporary or current one instead.",
            ))
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)));
        for (name, schema) in citizen_draft_properties() {
            o = o.property(name, schema);
        }
        for name in ["personal_id", "family_name", "given_name", "birth_date", "sex", "permanent_unit"] {
            o = o.required(name);
        }
        o.build().into()
    }
}

impl ToSchema for CitizenDraft {
    fn name() -> Cow<'static, str> {
        "CitizenDraft".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_up_to_covers_exactly() {
        assert_eq!(years_up_to(0), "(?:0[0-0])");
        assert_eq!(years_up_to(9), "(?:0[0-9])");
        assert_eq!(years_up_to(10), "(?:0[0-9]|1[0-0])");
        assert_eq!(years_up_to(26), "(?:[0-1][0-9]|2[0-6])");
        assert_eq!(years_up_to(99), "(?:[0-8][0-9]|9[0-9])");
    }

    #[test]
    fn personal_id_pattern_names_the_centuries() {
        let p = personal_id_pattern_until(2026);
        assert!(p.contains("(?:[0-1][0-9]{2}|[23](?:[0-1][0-9]|2[0-6]))"), "{p}");
        assert!(p.starts_with("^0(?:01|02|04|"), "{p}");
        // The patterns are checked against the parsers by the server's tests, which have a
        // regular-expression engine.
    }

    #[test]
    fn the_draft_schema_lists_every_field() {
        // The CSV columns are the draft's fields, then the household number and relation.
        let fields = &crate::citizen::CSV_COLUMNS[..crate::citizen::CSV_COLUMNS.len() - 2];
        let documented: Vec<&str> = citizen_draft_properties().into_iter().map(|(n, _)| n).collect();
        assert_eq!(fields, documented.as_slice());
    }
}
