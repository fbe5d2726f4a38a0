//! The citizen record as the population database keeps it, and its wire form
//! ([`CitizenDraft`]: every field a string, as it arrives from a form, JSON body or CSV row).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::catalog;
use crate::date::PartialDate;
use crate::error::Violation;
use crate::personal_id::{CmndNumber, PersonalId};
use crate::text::{nfc, NameParts};
use crate::units::UnitRef;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Sex {
    #[serde(rename = "M")]
    Male,
    #[serde(rename = "F")]
    Female,
}

impl Sex {
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
        }
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            Sex::Male => "Nam",
            Sex::Female => "Nữ",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
    /// Accepts `M`/`F`, `Nam`/`Nữ` (any case, NFC or NFD), `male`/`female`.
    pub fn parse(s: &str) -> Result<Self, Violation> {
        match crate::text::fold_key(s).as_str() {
            "m" | "nam" | "male" => Ok(Sex::Male),
            "f" | "nu" | "female" => Ok(Sex::Female),
            _ => Err(Violation::new(
                "sex",
                "sex.invalid",
                "Giới tính phải là Nam hoặc Nữ",
                "sex must be M or F",
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum LifeStatus {
    Alive,
    Deceased,
    Missing,
}

impl LifeStatus {
    pub fn code(self) -> &'static str {
        match self {
            LifeStatus::Alive => "alive",
            LifeStatus::Deceased => "deceased",
            LifeStatus::Missing => "missing",
        }
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            LifeStatus::Alive => "Còn sống",
            LifeStatus::Deceased => "Đã chết",
            LifeStatus::Missing => "Mất tích",
        }
    }
    pub fn parse(s: &str) -> Result<Self, Violation> {
        match s.trim() {
            "" | "alive" => Ok(LifeStatus::Alive),
            "deceased" => Ok(LifeStatus::Deceased),
            "missing" => Ok(LifeStatus::Missing),
            _ => Err(Violation::new(
                "status",
                "status.invalid",
                "Trạng thái phải là alive, deceased hoặc missing",
                "status must be alive, deceased or missing",
            )),
        }
    }
}

/// The longest street-level address detail kept (characters).
pub const MAX_ADDRESS_DETAIL: usize = 200;

/// A residence address: a commune with its list, and the street-level detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    pub unit: UnitRef,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Citizen {
    pub personal_id: PersonalId,
    pub name: NameParts,
    pub other_names: String,
    pub birth_date: PartialDate,
    pub sex: Sex,
    pub birth_place: Option<UnitRef>,
    pub hometown: Option<UnitRef>,
    pub ethnicity: String,
    pub religion: String,
    pub nationality: String,
    pub permanent: Option<Address>,
    pub temporary: Option<Address>,
    pub current: Option<Address>,
    pub father_id: Option<PersonalId>,
    pub father_name: String,
    pub mother_id: Option<PersonalId>,
    pub mother_name: String,
    pub spouse_id: Option<PersonalId>,
    pub cmnd: Option<CmndNumber>,
    pub status: LifeStatus,
    pub death_date: Option<PartialDate>,
}

impl Citizen {
    /// The 2025 commune that decides who may see this record: the current residence,
    /// else the temporary one, else the permanent one.
    pub fn scope_unit(&self) -> Result<UnitRef, Violation> {
        let (field, a) = [
            ("current_unit", &self.current),
            ("temporary_unit", &self.temporary),
            ("permanent_unit", &self.permanent),
        ]
        .into_iter()
        .find_map(|(f, a)| a.as_ref().map(|a| (f, a)))
        .ok_or_else(|| {
            Violation::new(
                "permanent_unit",
                "residence.required",
                "Cần ít nhất một nơi cư trú (thường trú, tạm trú hoặc nơi ở hiện tại)",
                "at least one residence (permanent, temporary or current) is required",
            )
        })?;
        a.unit.to_2025().map_err(|v| v.at(field))
    }

    pub fn to_draft(&self) -> CitizenDraft {
        let s = |o: Option<String>| o.unwrap_or_default();
        CitizenDraft {
            personal_id: self.personal_id.to_string(),
            family_name: self.name.family.clone(),
            middle_name: self.name.middle.clone(),
            given_name: self.name.given.clone(),
            other_names: self.other_names.clone(),
            birth_date: self.birth_date.to_string(),
            sex: self.sex.code().into(),
            birth_place: s(self.birth_place.map(|u| u.to_string())),
            hometown: s(self.hometown.map(|u| u.to_string())),
            ethnicity: self.ethnicity.clone(),
            religion: self.religion.clone(),
            nationality: self.nationality.clone(),
            permanent_unit: s(self.permanent.as_ref().map(|a| a.unit.to_string())),
            permanent_detail: s(self.permanent.as_ref().map(|a| a.detail.clone())),
            temporary_unit: s(self.temporary.as_ref().map(|a| a.unit.to_string())),
            temporary_detail: s(self.temporary.as_ref().map(|a| a.detail.clone())),
            current_unit: s(self.current.as_ref().map(|a| a.unit.to_string())),
            current_detail: s(self.current.as_ref().map(|a| a.detail.clone())),
            father_id: s(self.father_id.map(|p| p.to_string())),
            father_name: self.father_name.clone(),
            mother_id: s(self.mother_id.map(|p| p.to_string())),
            mother_name: self.mother_name.clone(),
            spouse_id: s(self.spouse_id.map(|p| p.to_string())),
            cmnd: s(self.cmnd.map(|c| c.to_string())),
            status: self.status.code().into(),
            death_date: s(self.death_date.map(|d| d.to_string())),
        }
    }
}

/// The wire form of a citizen: every field a string, empty meaning absent. The same
/// columns are the CSV format of `dancu gen` and `dancu import` (docs/CSV.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CitizenDraft {
    pub personal_id: String,
    pub family_name: String,
    pub middle_name: String,
    pub given_name: String,
    pub other_names: String,
    pub birth_date: String,
    pub sex: String,
    pub birth_place: String,
    pub hometown: String,
    pub ethnicity: String,
    pub religion: String,
    pub nationality: String,
    pub permanent_unit: String,
    pub permanent_detail: String,
    pub temporary_unit: String,
    pub temporary_detail: String,
    pub current_unit: String,
    pub current_detail: String,
    pub father_id: String,
    pub father_name: String,
    pub mother_id: String,
    pub mother_name: String,
    pub spouse_id: String,
    pub cmnd: String,
    pub status: String,
    pub death_date: String,
}

/// Collects every violation of a record instead of stopping at the first.
struct Checker {
    errors: Vec<Violation>,
}

impl Checker {
    fn req<T>(&mut self, field: &str, r: Result<T, Violation>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e.at(field));
                None
            }
        }
    }
    fn opt<T>(
        &mut self,
        field: &str,
        raw: &str,
        parse: impl FnOnce(&str) -> Result<T, Violation>,
    ) -> Option<T> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        self.req(field, parse(raw))
    }
}

impl CitizenDraft {
    /// Validates every field and the rules between fields; returns all violations.
    /// [`Self::validate`] for text an officer typed (citizen create and update): likely
    /// mojibake in a name part, a parent's name or an address detail is refused too (rule
    /// `text.mojibake`, the suggested repair in the message), so that the officer retypes it.
    /// A bulk import stores such text as it comes, for the quality checks to flag.
    pub fn validate_typed(&self, today: NaiveDate) -> Result<Citizen, Vec<Violation>> {
        let mut garbled = crate::mojibake::check_fields(&[
            ("family_name", &self.family_name),
            ("middle_name", &self.middle_name),
            ("given_name", &self.given_name),
        ]);
        for (field, text) in [
            ("other_names", &self.other_names),
            ("father_name", &self.father_name),
            ("mother_name", &self.mother_name),
            ("permanent_detail", &self.permanent_detail),
            ("temporary_detail", &self.temporary_detail),
            ("current_detail", &self.current_detail),
        ] {
            garbled.extend(crate::mojibake::check_fields(&[(field, text)]));
        }
        match self.validate(today) {
            Ok(c) if garbled.is_empty() => Ok(c),
            Ok(_) => Err(garbled),
            Err(mut errors) => {
                // A garbled field's other complaints (an odd character) say less than this.
                errors.retain(|e| !garbled.iter().any(|g| g.field == e.field));
                errors.extend(garbled);
                Err(errors)
            }
        }
    }

    pub fn validate(&self, today: NaiveDate) -> Result<Citizen, Vec<Violation>> {
        let mut c = Checker { errors: Vec::new() };
        let year = today.year();
        let id = c.req("personal_id", PersonalId::parse_until(&self.personal_id, year));
        // The violation names its own field (family_name, middle_name or given_name).
        let name = match NameParts::new(&self.family_name, &self.middle_name, &self.given_name) {
            Ok(n) => Some(n),
            Err(v) => {
                c.errors.push(v);
                None
            }
        };
        let birth = if self.birth_date.trim().is_empty() {
            c.errors.push(Violation::new(
                "birth_date",
                "date.required",
                "Thiếu ngày sinh",
                "date of birth is required",
            ));
            None
        } else {
            c.req(
                "birth_date",
                self.birth_date.parse::<PartialDate>().and_then(|d| d.not_after(today, "birth_date")),
            )
        };
        let sex = c.req("sex", Sex::parse(&self.sex));
        let birth_place = c.opt("birth_place", &self.birth_place, str::parse::<UnitRef>);
        let hometown = c.opt("hometown", &self.hometown, str::parse::<UnitRef>);
        let ethnicity = match self.ethnicity.trim() {
            "" => "01".to_string(),
            e if catalog::ethnicity_name(e).is_some() => e.to_string(),
            _ => {
                c.errors.push(Violation::new(
                    "ethnicity",
                    "ethnicity.unknown",
                    "Mã dân tộc không có trong danh mục",
                    "unknown ethnicity code",
                ));
                String::new()
            }
        };
        let religion = match self.religion.trim() {
            "" => "00".to_string(),
            r if catalog::religion_name(r).is_some() => r.to_string(),
            _ => {
                c.errors.push(Violation::new(
                    "religion",
                    "religion.unknown",
                    "Mã tôn giáo không có trong danh mục",
                    "unknown religion code",
                ));
                String::new()
            }
        };
        let nationality = match self.nationality.trim() {
            "" => "VN".to_string(),
            n if n.len() == 2 && n.bytes().all(|b| b.is_ascii_uppercase()) => n.to_string(),
            _ => {
                c.errors.push(Violation::new(
                    "nationality",
                    "nationality.format",
                    "Quốc tịch phải là mã ISO 3166 hai chữ cái, ví dụ VN",
                    "nationality must be a two-letter ISO 3166 code such as VN",
                ));
                String::new()
            }
        };
        let address = |c: &mut Checker, kind: &str, unit: &str, detail: &str| {
            let detail_field = format!("{kind}_detail");
            let checked = crate::text::check_no_hidden_chars(&detail_field, detail).and_then(|()| {
                let d = nfc(detail);
                if d.chars().count() > MAX_ADDRESS_DETAIL {
                    return Err(Violation::new(
                        detail_field.as_str(),
                        "address.too_long",
                        format!("Địa chỉ chi tiết dài quá {MAX_ADDRESS_DETAIL} ký tự"),
                        format!("the address detail is longer than {MAX_ADDRESS_DETAIL} characters"),
                    ));
                }
                Ok(d)
            });
            let detail = match checked {
                Ok(d) => d,
                Err(v) => {
                    c.errors.push(v);
                    String::new()
                }
            };
            let u = c.opt(&format!("{kind}_unit"), unit, str::parse::<UnitRef>)?;
            Some(Address { unit: u, detail })
        };
        let permanent = address(&mut c, "permanent", &self.permanent_unit, &self.permanent_detail);
        let temporary = address(&mut c, "temporary", &self.temporary_unit, &self.temporary_detail);
        let current = address(&mut c, "current", &self.current_unit, &self.current_detail);
        let father_id = c.opt("father_id", &self.father_id, |s| PersonalId::parse_until(s, year));
        let mother_id = c.opt("mother_id", &self.mother_id, |s| PersonalId::parse_until(s, year));
        let spouse_id = c.opt("spouse_id", &self.spouse_id, |s| PersonalId::parse_until(s, year));
        let cmnd = c.opt("cmnd", &self.cmnd, str::parse::<CmndNumber>);
        let status = c.req("status", LifeStatus::parse(&self.status));
        let death_date = c.opt("death_date", &self.death_date, |s| {
            s.parse::<PartialDate>().and_then(|d| d.not_after(today, "death_date"))
        });

        if let (Some(id), Some(b), Some(s)) = (&id, &birth, sex) {
            if let Err(v) = id.check_against(b, s) {
                c.errors.push(v);
            }
        }
        match (status, death_date, birth) {
            (Some(LifeStatus::Deceased), Some(d), Some(b)) if d < b => c.errors.push(Violation::new(
                "death_date",
                "death_date.before_birth",
                "Ngày mất trước ngày sinh",
                "the date of death is before the date of birth",
            )),
            (Some(s), Some(_), _) if s != LifeStatus::Deceased => c.errors.push(Violation::new(
                "death_date",
                "death_date.not_deceased",
                "Chỉ người đã chết mới có ngày mất",
                "only a deceased person has a date of death",
            )),
            _ => {}
        }
        for (field, other) in [("father_id", father_id), ("mother_id", mother_id), ("spouse_id", spouse_id)] {
            if other.is_some() && other == id {
                c.errors.push(Violation::new(
                    field,
                    "relation.self",
                    "Không thể là chính mình",
                    "cannot be the person themself",
                ));
            }
        }
        if !c.errors.is_empty() {
            return Err(c.errors);
        }
        let citizen = Citizen {
            personal_id: id.unwrap(),
            name: name.unwrap(),
            other_names: nfc(&self.other_names),
            birth_date: birth.unwrap(),
            sex: sex.unwrap(),
            birth_place,
            hometown,
            ethnicity,
            religion,
            nationality,
            permanent,
            temporary,
            current,
            father_id,
            father_name: nfc(&self.father_name),
            mother_id,
            mother_name: nfc(&self.mother_name),
            spouse_id,
            cmnd,
            status: status.unwrap(),
            death_date,
        };
        citizen.scope_unit().map_err(|v| vec![v])?;
        Ok(citizen)
    }
}

/// Columns of the citizen CSV format (`dancu gen` writes it, `dancu import` reads it), in
/// order: the [`CitizenDraft`] fields, then the household number and relation to the head.
pub const CSV_COLUMNS: [&str; 28] = [
    "personal_id",
    "family_name",
    "middle_name",
    "given_name",
    "other_names",
    "birth_date",
    "sex",
    "birth_place",
    "hometown",
    "ethnicity",
    "religion",
    "nationality",
    "permanent_unit",
    "permanent_detail",
    "temporary_unit",
    "temporary_detail",
    "current_unit",
    "current_detail",
    "father_id",
    "father_name",
    "mother_id",
    "mother_name",
    "spouse_id",
    "cmnd",
    "status",
    "death_date",
    "household_no",
    "relation_to_head",
];

impl CitizenDraft {
    /// Builds a draft from the first 26 columns of a CSV record in [`CSV_COLUMNS`] order.
    pub fn from_columns<'a>(mut cols: impl Iterator<Item = &'a str>) -> Self {
        let mut next = || cols.next().unwrap_or("").to_string();
        CitizenDraft {
            personal_id: next(),
            family_name: next(),
            middle_name: next(),
            given_name: next(),
            other_names: next(),
            birth_date: next(),
            sex: next(),
            birth_place: next(),
            hometown: next(),
            ethnicity: next(),
            religion: next(),
            nationality: next(),
            permanent_unit: next(),
            permanent_detail: next(),
            temporary_unit: next(),
            temporary_detail: next(),
            current_unit: next(),
            current_detail: next(),
            father_id: next(),
            father_name: next(),
            mother_id: next(),
            mother_name: next(),
            spouse_id: next(),
            cmnd: next(),
            status: next(),
            death_date: next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    pub(crate) fn sample() -> CitizenDraft {
        CitizenDraft {
            personal_id: "001190001234".into(),
            family_name: "Nguyễn".into(),
            middle_name: "Thị".into(),
            given_name: "Hoà".into(),
            birth_date: "1990-05-04".into(),
            sex: "Nữ".into(),
            permanent_unit: "2025:00004".into(),
            permanent_detail: "Số 1 phố Phan Đình Phùng".into(),
            ..Default::default()
        }
    }

    #[test]
    fn valid_record_round_trips_through_draft() {
        let c = sample().validate(today()).unwrap();
        assert_eq!(c.sex, Sex::Female);
        assert_eq!(c.scope_unit().unwrap().to_string(), "2025:00004");
        assert_eq!(c.to_draft().validate(today()).unwrap(), c);
    }

    #[test]
    fn reports_every_broken_field() {
        let mut d = sample();
        d.personal_id = "001090001234".into(); // male digit
        d.birth_date = "1990-02-30".into();
        d.permanent_unit = "00004".into();
        d.ethnicity = "99".into();
        let errs = d.validate(today()).unwrap_err();
        let rules: Vec<(&str, &str)> = errs.iter().map(|e| (e.field.as_str(), e.rule)).collect();
        assert!(rules.contains(&("birth_date", "date.invalid_day")), "{rules:?}");
        assert!(rules.contains(&("permanent_unit", "unit.list_missing")), "{rules:?}");
        assert!(rules.contains(&("ethnicity", "ethnicity.unknown")), "{rules:?}");
    }

    #[test]
    fn id_must_agree_with_sex_and_year() {
        let mut d = sample();
        d.sex = "Nam".into();
        assert_eq!(d.validate(today()).unwrap_err()[0].rule, "id.sex_mismatch");
        let mut d = sample();
        d.birth_date = "1991".into();
        assert_eq!(d.validate(today()).unwrap_err()[0].rule, "id.year_mismatch");
    }

    #[test]
    fn names_and_addresses_name_their_exact_field() {
        let mut d = sample();
        d.given_name = "Ho\u{0430}".into(); // Cyrillic а
        d.middle_name = "Thị\u{0007}".into();
        d.permanent_detail = "Số 1 phố Phan Đình Phùng ".repeat(20);
        d.current_unit = "2025:00004".into();
        d.current_detail = "Ngõ 5\u{202E}".into();
        let errs = d.validate(today()).unwrap_err();
        let rules: Vec<(&str, &str)> = errs.iter().map(|e| (e.field.as_str(), e.rule)).collect();
        assert!(rules.contains(&("middle_name", "text.control_char")), "{rules:?}");
        assert!(rules.contains(&("permanent_detail", "address.too_long")), "{rules:?}");
        assert!(rules.contains(&("current_detail", "text.control_char")), "{rules:?}");
        assert!(!rules.iter().any(|(f, _)| *f == "name"), "{rules:?}");
        let mut d = sample();
        d.given_name = "Ho\u{0430}".into();
        assert_eq!(d.validate(today()).unwrap_err()[0].field, "given_name");
        let mut d = sample();
        d.permanent_detail = "a".repeat(MAX_ADDRESS_DETAIL);
        assert!(d.validate(today()).is_ok());
    }

    #[test]
    fn residence_and_death_rules() {
        let mut d = sample();
        d.permanent_unit.clear();
        assert_eq!(d.validate(today()).unwrap_err()[0].rule, "residence.required");
        let mut d = sample();
        d.death_date = "2000".into();
        assert_eq!(d.validate(today()).unwrap_err()[0].rule, "death_date.not_deceased");
        d.status = "deceased".into();
        d.death_date = "1980".into();
        assert_eq!(d.validate(today()).unwrap_err()[0].rule, "death_date.before_birth");
    }
}
