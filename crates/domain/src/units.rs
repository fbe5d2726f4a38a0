//! Administrative units: the list in force since 1 July 2025 (34 provinces, communes only),
//! the legacy three-level list, and the old→new commune mapping. The National Statistics
//! Office files are embedded in the binary. A code means nothing without its list, so every
//! stored unit is a [`UnitRef`] carrying both.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use crate::error::Violation;

const UNITS_2025: &str = include_str!("../../../data/admin-units/units_2025.csv");
const PROVINCES_2025: &str = include_str!("../../../data/admin-units/provinces_2025.csv");
const UNITS_LEGACY: &str = include_str!("../../../data/admin-units/units_legacy.csv");
const WARD_OLD_TO_NEW: &str = include_str!("../../../data/admin-units/ward_old_to_new.csv");

/// Which official list a unit code belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnitList {
    /// Before 1 July 2025: province / district / commune.
    Legacy,
    /// From 1 July 2025: province / commune.
    V2025,
}

impl UnitList {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitList::Legacy => "legacy",
            UnitList::V2025 => "2025",
        }
    }
}

/// A commune-level unit code together with its list, written `2025:00004` or `legacy:00004`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitRef {
    pub list: UnitList,
    code: [u8; 5],
}

impl UnitRef {
    /// Checks that the code exists in the list.
    pub fn new(list: UnitList, code: &str) -> Result<Self, Violation> {
        let bytes = code.as_bytes();
        if bytes.len() != 5 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(Violation::new(
                "unit",
                "unit.format",
                "Mã đơn vị hành chính cấp xã phải có 5 chữ số",
                "a commune code must have 5 digits",
            ));
        }
        let known = match list {
            UnitList::V2025 => admin_units().communes_2025.contains_key(code),
            UnitList::Legacy => admin_units().communes_legacy.contains_key(code),
        };
        if !known {
            return Err(Violation::new(
                "unit",
                "unit.unknown",
                format!("Mã xã {code} không có trong danh mục {}", list.as_str()),
                format!("commune code {code} is not in the {} list", list.as_str()),
            ));
        }
        Ok(UnitRef { list, code: bytes.try_into().unwrap() })
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).unwrap()
    }

    /// The unit in the 2025 list this one is now part of. A legacy commune split over
    /// several new communes is ambiguous: the error lists the candidates.
    pub fn to_2025(&self) -> Result<UnitRef, Violation> {
        match self.list {
            UnitList::V2025 => Ok(*self),
            UnitList::Legacy => match admin_units().convert_legacy(self.code()) {
                Conversion::One(u) => Ok(u),
                Conversion::Split(c) => Err(Violation::new(
                    "unit",
                    "unit.split",
                    format!(
                        "Xã cũ {} đã chia vào nhiều xã mới ({}); hãy chọn xã mới",
                        self.code(),
                        c.iter().map(|u| u.code().to_string()).collect::<Vec<_>>().join(", ")
                    ),
                    format!(
                        "old commune {} was split over several new communes ({}); choose the new one",
                        self.code(),
                        c.iter().map(|u| u.code().to_string()).collect::<Vec<_>>().join(", ")
                    ),
                )),
                Conversion::Unmapped => Err(Violation::new(
                    "unit",
                    "unit.unmapped",
                    "Xã cũ không có trong bảng chuyển đổi",
                    "the old commune is missing from the mapping",
                )),
            },
        }
    }

    /// Name and province of the unit, for display.
    pub fn describe(&self) -> UnitInfo<'static> {
        let u = admin_units();
        match self.list {
            UnitList::V2025 => {
                let c = &u.communes_2025[self.code()];
                UnitInfo {
                    name: &c.name,
                    district: None,
                    province_code: &c.province_code,
                    province_name: &c.province_name,
                }
            }
            UnitList::Legacy => {
                let c = &u.communes_legacy[self.code()];
                UnitInfo {
                    name: &c.name,
                    district: Some(&c.district_name),
                    province_code: &c.province_code,
                    province_name: &c.province_name,
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct UnitInfo<'a> {
    pub name: &'a str,
    pub district: Option<&'a str>,
    pub province_code: &'a str,
    pub province_name: &'a str,
}

impl fmt::Display for UnitInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.district {
            Some(d) => write!(f, "{}, {}, {}", self.name, d, self.province_name),
            None => write!(f, "{}, {}", self.name, self.province_name),
        }
    }
}

impl fmt::Display for UnitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.list.as_str(), self.code())
    }
}

impl FromStr for UnitRef {
    type Err = Violation;
    /// `2025:00004` or `legacy:00004`; a bare code is refused, because it is ambiguous.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (list, code) = s.trim().split_once(':').ok_or_else(|| {
            Violation::new(
                "unit",
                "unit.list_missing",
                "Mã đơn vị phải ghi kèm danh mục, ví dụ 2025:00004 hoặc legacy:00004",
                "a unit code must name its list, e.g. 2025:00004 or legacy:00004",
            )
        })?;
        let list = match list {
            "2025" => UnitList::V2025,
            "legacy" => UnitList::Legacy,
            _ => {
                return Err(Violation::new(
                    "unit",
                    "unit.list_unknown",
                    "Danh mục phải là 2025 hoặc legacy",
                    "the list must be 2025 or legacy",
                ))
            }
        };
        UnitRef::new(list, code)
    }
}

impl Serialize for UnitRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UnitRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|v: Violation| serde::de::Error::custom(v.message_en))
    }
}

#[derive(Debug, Clone)]
pub struct Province {
    pub code: String,
    pub name: String,
    pub kind: String,
}

#[derive(Debug, Clone)]
pub struct Commune {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub province_code: String,
    pub province_name: String,
    pub district_code: String,
    pub district_name: String,
}

/// Result of converting a legacy commune to the 2025 list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conversion {
    One(UnitRef),
    /// The old commune was split; these are the candidates.
    Split(Vec<UnitRef>),
    Unmapped,
}

/// The embedded lists, parsed once.
#[derive(Debug)]
pub struct AdminUnits {
    pub provinces_2025: Vec<Province>,
    pub provinces_legacy: Vec<Province>,
    communes_2025: HashMap<String, Commune>,
    communes_legacy: HashMap<String, Commune>,
    communes_2025_by_province: HashMap<String, Vec<String>>,
    old_to_new: HashMap<String, Vec<String>>,
    /// For each 2025 commune, the legacy communes that went wholly into it, sorted.
    sole_legacy: HashMap<String, Vec<String>>,
    /// For each legacy province, the 2025 provinces that took in its communes, sorted.
    legacy_province_into: HashMap<String, Vec<String>>,
}

fn rows(csv: &str) -> impl Iterator<Item = Vec<&str>> {
    // The statistics office files have no quoted fields (checked by a test below).
    csv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim_end_matches('\r').split(',').collect())
}

impl AdminUnits {
    fn load() -> Self {
        let provinces_2025 = rows(PROVINCES_2025)
            .map(|r| Province { code: r[0].into(), name: r[1].into(), kind: r[2].into() })
            .collect();
        let mut communes_2025 = HashMap::new();
        let mut by_province: HashMap<String, Vec<String>> = HashMap::new();
        for r in rows(UNITS_2025) {
            by_province.entry(r[0].to_string()).or_default().push(r[2].to_string());
            communes_2025.insert(
                r[2].to_string(),
                Commune {
                    code: r[2].into(),
                    name: r[3].into(),
                    kind: r[4].into(),
                    province_code: r[0].into(),
                    province_name: r[1].into(),
                    district_code: String::new(),
                    district_name: String::new(),
                },
            );
        }
        let mut communes_legacy = HashMap::new();
        let mut provinces_legacy: Vec<Province> = Vec::new();
        for r in rows(UNITS_LEGACY) {
            if provinces_legacy.last().map(|p| p.code.as_str()) != Some(r[0]) {
                provinces_legacy.push(Province { code: r[0].into(), name: r[1].into(), kind: String::new() });
            }
            communes_legacy.insert(
                r[5].to_string(),
                Commune {
                    code: r[5].into(),
                    name: r[6].into(),
                    kind: r[7].into(),
                    province_code: r[0].into(),
                    province_name: r[1].into(),
                    district_code: r[2].into(),
                    district_name: r[3].into(),
                },
            );
        }
        provinces_legacy.sort_by(|a, b| a.code.cmp(&b.code));
        provinces_legacy.dedup_by(|a, b| a.code == b.code);
        let mut old_to_new: HashMap<String, Vec<String>> = HashMap::new();
        for r in rows(WARD_OLD_TO_NEW) {
            let v = old_to_new.entry(r[2].to_string()).or_default();
            if !v.iter().any(|c| c == r[6]) {
                v.push(r[6].to_string());
            }
        }
        let mut sole_legacy: HashMap<String, Vec<String>> = HashMap::new();
        for (old, news) in &old_to_new {
            if let [new] = news.as_slice() {
                sole_legacy.entry(new.clone()).or_default().push(old.clone());
            }
        }
        for v in sole_legacy.values_mut() {
            v.sort_unstable();
        }
        let mut legacy_province_into: HashMap<String, Vec<String>> = HashMap::new();
        for (old, news) in &old_to_new {
            let Some(from) = communes_legacy.get(old) else { continue };
            let into = legacy_province_into.entry(from.province_code.clone()).or_default();
            into.extend(news.iter().filter_map(|n| communes_2025.get(n)).map(|c| c.province_code.clone()));
        }
        for v in legacy_province_into.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        AdminUnits {
            provinces_2025,
            provinces_legacy,
            communes_2025,
            communes_legacy,
            communes_2025_by_province: by_province,
            old_to_new,
            sole_legacy,
            legacy_province_into,
        }
    }

    /// Every commune reference the lists know (`2025:…` and `legacy:…`) with the 2025
    /// commune and province it counts in; a legacy commune that was split or has no successor
    /// is left out. The store's `unit_map` table is this list.
    pub fn unit_map(&self) -> Vec<(String, String, String)> {
        let mut rows: Vec<(String, String, String)> = self
            .communes_2025
            .values()
            .map(|c| (format!("2025:{}", c.code), c.code.clone(), c.province_code.clone()))
            .collect();
        for code in self.communes_legacy.keys() {
            if let Conversion::One(u) = self.convert_legacy(code) {
                if let Some(c) = self.communes_2025.get(u.code()) {
                    rows.push((format!("legacy:{code}"), c.code.clone(), c.province_code.clone()));
                }
            }
        }
        rows.sort();
        rows
    }

    /// Every commune of the 2025 list (in no particular order).
    pub fn all_communes_2025(&self) -> impl Iterator<Item = &Commune> {
        self.communes_2025.values()
    }

    /// Every commune of the legacy list (in no particular order).
    pub fn all_communes_legacy(&self) -> impl Iterator<Item = &Commune> {
        self.communes_legacy.values()
    }

    pub fn commune_2025(&self, code: &str) -> Option<&Commune> {
        self.communes_2025.get(code)
    }

    pub fn commune_legacy(&self, code: &str) -> Option<&Commune> {
        self.communes_legacy.get(code)
    }

    /// Commune codes of a 2025 province, in list order.
    pub fn communes_of_province_2025(&self, province: &str) -> &[String] {
        self.communes_2025_by_province.get(province).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The 34 provinces of 2025, in list order.
    pub fn provinces_2025(&self) -> &[Province] {
        &self.provinces_2025
    }

    pub fn province_2025(&self, code: &str) -> Option<&Province> {
        self.provinces_2025.iter().find(|p| p.code == code)
    }

    /// Whether a 2-digit code is one of the 63 legacy provinces (the personal-ID prefixes).
    pub fn is_legacy_province(&self, code: &str) -> bool {
        self.provinces_legacy.binary_search_by(|p| p.code.as_str().cmp(code)).is_ok()
    }

    pub fn legacy_province_name(&self, code: &str) -> Option<&str> {
        self.provinces_legacy
            .binary_search_by(|p| p.code.as_str().cmp(code))
            .ok()
            .map(|i| self.provinces_legacy[i].name.as_str())
    }

    /// The 2025 provinces that took in communes of legacy province `code` (one for most;
    /// sorted). Empty for an unknown code.
    pub fn provinces_2025_of_legacy(&self, code: &str) -> Vec<&str> {
        self.legacy_province_into
            .get(code)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The legacy communes that went wholly into the 2025 commune `new_code`, sorted (a
    /// look-up: the birth chain asks it for every newborn's ID prefix).
    pub fn legacy_communes_mapping_to(&self, new_code: &str) -> Vec<&str> {
        self.sole_legacy.get(new_code).map(|v| v.iter().map(String::as_str).collect()).unwrap_or_default()
    }

    pub fn convert_legacy(&self, code: &str) -> Conversion {
        match self.old_to_new.get(code) {
            None => Conversion::Unmapped,
            Some(v) if v.len() == 1 => {
                Conversion::One(UnitRef { list: UnitList::V2025, code: v[0].as_bytes().try_into().unwrap() })
            }
            Some(v) => Conversion::Split(
                v.iter()
                    .map(|c| UnitRef { list: UnitList::V2025, code: c.as_bytes().try_into().unwrap() })
                    .collect(),
            ),
        }
    }
}

static UNITS: LazyLock<AdminUnits> = LazyLock::new(AdminUnits::load);

/// The embedded administrative-unit lists.
pub fn admin_units() -> &'static AdminUnits {
    &UNITS
}

#[cfg(test)]
mod legacy_province_tests {
    use super::*;

    #[test]
    fn legacy_provinces_map_to_their_2025_provinces() {
        assert_eq!(admin_units().provinces_2025_of_legacy("01"), vec!["01"]);
        // Bắc Ninh (legacy 27) and Bắc Giang (legacy 24) form the 2025 province 24.
        assert_eq!(admin_units().provinces_2025_of_legacy("27"), vec!["24"]);
        assert_eq!(admin_units().provinces_2025_of_legacy("24"), vec!["24"]);
        assert!(admin_units().provinces_2025_of_legacy("99").is_empty());
    }

    /// The look-up indexes built at load say what a scan of the old→new mapping says.
    #[test]
    fn the_indexes_agree_with_a_scan_of_the_mapping() {
        let u = admin_units();
        for p in &u.provinces_legacy {
            let mut scan: Vec<&str> = u
                .old_to_new
                .iter()
                .filter(|(old, _)| u.communes_legacy.get(*old).is_some_and(|c| c.province_code == p.code))
                .flat_map(|(_, news)| news.iter())
                .filter_map(|new| u.communes_2025.get(new).map(|c| c.province_code.as_str()))
                .collect();
            scan.sort_unstable();
            scan.dedup();
            assert!(!scan.is_empty(), "{}", p.code);
            assert_eq!(u.provinces_2025_of_legacy(&p.code), scan, "{}", p.code);
        }
        let mut nonempty = 0;
        for code in u.communes_2025.keys() {
            let mut scan: Vec<&str> = u
                .old_to_new
                .iter()
                .filter(|(_, news)| news.len() == 1 && news[0] == *code)
                .map(|(old, _)| old.as_str())
                .collect();
            scan.sort_unstable();
            nonempty += usize::from(!scan.is_empty());
            assert_eq!(u.legacy_communes_mapping_to(code), scan, "{code}");
        }
        assert!(nonempty > 1000, "{nonempty}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_have_the_official_sizes() {
        let u = admin_units();
        assert_eq!(u.provinces_2025.len(), 34);
        assert_eq!(u.provinces_legacy.len(), 63);
        assert_eq!(u.communes_2025.len(), 3321);
        assert_eq!(u.communes_legacy.len(), 10051);
        for f in [UNITS_2025, PROVINCES_2025, UNITS_LEGACY, WARD_OLD_TO_NEW] {
            assert!(!f.contains('"'), "embedded CSV must not use quoting");
        }
    }

    #[test]
    fn same_code_means_different_places_per_list() {
        let new: UnitRef = "2025:00004".parse().unwrap();
        let old: UnitRef = "legacy:00004".parse().unwrap();
        assert_eq!(new.describe().name, "Phường Ba Đình");
        assert_eq!(old.describe().name, "Phường Trúc Bạch");
        assert_eq!(old.to_2025().unwrap(), new);
        assert_eq!(new.to_string(), "2025:00004");
    }

    #[test]
    fn split_communes_list_candidates() {
        let split = admin_units().old_to_new.iter().find(|(_, v)| v.len() > 1).unwrap().0.clone();
        let r = UnitRef::new(UnitList::Legacy, &split).unwrap();
        let Conversion::Split(c) = admin_units().convert_legacy(&split) else { panic!() };
        assert!(c.len() > 1);
        assert_eq!(r.to_2025().unwrap_err().rule, "unit.split");
    }

    #[test]
    fn rejects_bad_codes() {
        assert_eq!("00004".parse::<UnitRef>().unwrap_err().rule, "unit.list_missing");
        assert_eq!("2025:0004".parse::<UnitRef>().unwrap_err().rule, "unit.format");
        assert_eq!("2025:99999".parse::<UnitRef>().unwrap_err().rule, "unit.unknown");
        assert_eq!("1990:00004".parse::<UnitRef>().unwrap_err().rule, "unit.list_unknown");
    }

    #[test]
    fn legacy_provinces_are_id_prefixes() {
        let u = admin_units();
        assert!(u.is_legacy_province("01"));
        assert!(u.is_legacy_province("96"));
        assert!(!u.is_legacy_province("03"));
    }
}
