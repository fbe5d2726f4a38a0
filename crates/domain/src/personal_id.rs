//! The 12-digit personal ID number (số định danh cá nhân) and the old 9-digit CMND number.
//!
//! Digits 1–3: province of birth registration ("0" + legacy statistics code); digit 4:
//! century and sex; digits 5–6: birth year; digits 7–12: serial. There is no checksum.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

use crate::citizen::Sex;
use crate::date::PartialDate;
use crate::error::Violation;
use crate::units::admin_units;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonalId([u8; 12]);

/// What a personal ID number says about its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdExplanation {
    pub province_code: String,
    pub province_name: String,
    pub sex: Sex,
    pub century: i32,
    pub birth_year: i32,
    pub serial: String,
}

impl PersonalId {
    /// Parses and validates the format, province code and century/sex digit. Births after
    /// `max_year` (normally the current year) are refused.
    pub fn parse_until(s: &str, max_year: i32) -> Result<Self, Violation> {
        let s = s.trim();
        if let Some(c) = s.chars().find(|c| !c.is_ascii_digit()) {
            return Err(Violation::new(
                "personal_id",
                "id.non_digit",
                format!("Số định danh chỉ gồm chữ số; gặp {c:?}"),
                format!("a personal ID has digits only; found {c:?}"),
            ));
        }
        if s.len() != 12 {
            return Err(Violation::new(
                "personal_id",
                "id.length",
                format!("Số định danh phải có 12 chữ số, nhận được {}", s.len()),
                format!("a personal ID has 12 digits, got {}", s.len()),
            ));
        }
        let b = s.as_bytes();
        if b[0] != b'0' || !admin_units().is_legacy_province(&s[1..3]) {
            return Err(Violation::new(
                "personal_id",
                "id.province",
                format!("Mã tỉnh nơi đăng ký khai sinh {} không tồn tại", &s[0..3]),
                format!("province code {} does not exist", &s[0..3]),
            ));
        }
        let id = PersonalId(b.try_into().unwrap());
        if id.birth_year() > max_year {
            return Err(Violation::new(
                "personal_id",
                "id.century_sex",
                format!(
                    "Chữ số thế kỷ/giới tính {} cho năm sinh {} ở tương lai",
                    b[3] - b'0',
                    id.birth_year()
                ),
                format!(
                    "century/sex digit {} gives birth year {}, in the future",
                    b[3] - b'0',
                    id.birth_year()
                ),
            ));
        }
        Ok(id)
    }

    /// Builds the number of a newborn: `province` is the 2-digit legacy code.
    pub fn compose(province: &str, sex: Sex, birth_year: i32, serial: u32) -> Result<Self, Violation> {
        if !admin_units().is_legacy_province(province) {
            return Err(Violation::new(
                "province",
                "id.province",
                "Mã tỉnh không tồn tại",
                "unknown province code",
            ));
        }
        if !(1900..2300).contains(&birth_year) || serial >= 1_000_000 {
            return Err(Violation::new(
                "birth_year",
                "id.century_sex",
                "Năm sinh ngoài phạm vi",
                "birth year out of range",
            ));
        }
        let century_digit = ((birth_year - 1900) / 100) * 2 + if sex == Sex::Female { 1 } else { 0 };
        let s = format!("0{province}{century_digit}{:02}{serial:06}", birth_year % 100);
        Ok(PersonalId(s.as_bytes().try_into().unwrap()))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap()
    }

    pub fn sex(&self) -> Sex {
        if (self.0[3] - b'0').is_multiple_of(2) {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    pub fn birth_year(&self) -> i32 {
        let century = 1900 + 100 * ((self.0[3] - b'0') / 2) as i32;
        century + ((self.0[4] - b'0') * 10 + (self.0[5] - b'0')) as i32
    }

    /// The 3-digit prefix (province of birth registration).
    pub fn province_prefix(&self) -> &str {
        &self.as_str()[0..3]
    }

    pub fn explain(&self) -> IdExplanation {
        let code = &self.as_str()[1..3];
        IdExplanation {
            province_code: self.province_prefix().to_string(),
            province_name: admin_units().legacy_province_name(code).unwrap_or_default().to_string(),
            sex: self.sex(),
            century: 1900 + 100 * ((self.0[3] - b'0') / 2) as i32,
            birth_year: self.birth_year(),
            serial: self.as_str()[6..].to_string(),
        }
    }

    /// Checks the number against the record's date of birth and sex.
    pub fn check_against(&self, dob: &PartialDate, sex: Sex) -> Result<(), Violation> {
        if self.birth_year() != dob.year() {
            return Err(Violation::new(
                "personal_id",
                "id.year_mismatch",
                format!("Số định danh ghi năm sinh {}, hồ sơ ghi {}", self.birth_year(), dob.year()),
                format!(
                    "the personal ID encodes birth year {}, the record says {}",
                    self.birth_year(),
                    dob.year()
                ),
            ));
        }
        if self.sex() != sex {
            return Err(Violation::new(
                "personal_id",
                "id.sex_mismatch",
                format!("Số định danh ghi giới tính {}, hồ sơ ghi {}", self.sex().label_vi(), sex.label_vi()),
                format!(
                    "the personal ID encodes sex {}, the record says {}",
                    self.sex().label_en(),
                    sex.label_en()
                ),
            ));
        }
        Ok(())
    }
}

/// The serial for the `n`-th number of a prefix: an affine permutation of 0..10⁶, so
/// consecutive newborns get unrelated-looking serials and no serial repeats before all
/// 10⁶ are used. 738,289 is coprime with 10⁶.
pub fn serial_for(n: u64) -> u32 {
    ((n % 1_000_000) * 738_289 + 104_729).rem_euclid(1_000_000) as u32
}

impl FromStr for PersonalId {
    type Err = Violation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use chrono::Datelike;
        PersonalId::parse_until(s, crate::date::vietnam_today(chrono::Utc::now()).year())
    }
}

impl fmt::Display for PersonalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for PersonalId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PersonalId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|v: Violation| serde::de::Error::custom(v.message_en))
    }
}

/// The old identity-card (CMND) number: 9 digits, no structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CmndNumber([u8; 9]);

impl CmndNumber {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap()
    }
}

impl FromStr for CmndNumber {
    type Err = Violation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() != 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Violation::new(
                "cmnd",
                "cmnd.format",
                "Số CMND phải có đúng 9 chữ số",
                "a CMND number has exactly 9 digits",
            ));
        }
        Ok(CmndNumber(s.as_bytes().try_into().unwrap()))
    }
}

impl fmt::Display for CmndNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CmndNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CmndNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|v: Violation| serde::de::Error::custom(v.message_en))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn parse(s: &str) -> Result<PersonalId, Violation> {
        PersonalId::parse_until(s, 2026)
    }

    #[test]
    fn each_rule_is_named() {
        assert_eq!(parse("00109000123").unwrap_err().rule, "id.length");
        assert_eq!(parse("0010900012a4").unwrap_err().rule, "id.non_digit");
        assert_eq!(parse("003090001234").unwrap_err().rule, "id.province");
        assert_eq!(parse("101090001234").unwrap_err().rule, "id.province");
        assert_eq!(parse("001490001234").unwrap_err().rule, "id.century_sex");
        assert_eq!(parse("001390001234").unwrap_err().rule, "id.century_sex"); // female born 2090
        let id = parse("001190001234").unwrap();
        assert_eq!(
            id.check_against(&PartialDate::Year(1991), Sex::Female).unwrap_err().rule,
            "id.year_mismatch"
        );
        assert_eq!(
            id.check_against(&PartialDate::Year(1990), Sex::Male).unwrap_err().rule,
            "id.sex_mismatch"
        );
        assert!(id.check_against(&PartialDate::Year(1990), Sex::Female).is_ok());
    }

    #[test]
    fn explains() {
        let e = parse("079303001234").unwrap().explain();
        assert_eq!(e.province_name, "Thành phố Hồ Chí Minh");
        assert_eq!((e.sex, e.century, e.birth_year), (Sex::Female, 2000, 2003));
    }

    #[test]
    fn serial_permutation_never_repeats() {
        let s: HashSet<u32> = (0..1_000_000).map(serial_for).collect();
        assert_eq!(s.len(), 1_000_000);
    }

    #[test]
    fn cmnd_is_nine_digits() {
        assert!("012345678".parse::<CmndNumber>().is_ok());
        assert_eq!("01234567".parse::<CmndNumber>().unwrap_err().rule, "cmnd.format");
        assert!("012345678901".parse::<CmndNumber>().is_err());
    }

    proptest! {
        #[test]
        fn compose_round_trips(p in 0usize..63, female: bool, year in 1900i32..=2026, n in 0u64..1_000_000) {
            let prov = admin_units().provinces_legacy[p].code.clone();
            let sex = if female { Sex::Female } else { Sex::Male };
            let id = PersonalId::compose(&prov, sex, year, serial_for(n)).unwrap();
            let back = parse(id.as_str()).unwrap();
            prop_assert_eq!(back, id);
            prop_assert_eq!(back.sex(), sex);
            prop_assert_eq!(back.birth_year(), year);
            prop_assert_eq!(&back.province_prefix()[1..], prov.as_str());
        }

        #[test]
        fn parser_never_panics(s in "\\PC{0,16}") {
            let _ = parse(&s);
        }
    }
}
