//! The units a report covers. From 1 July 2025: nation → province → commune (the 2025
//! list). Before: legacy province → district → commune, reached through the old→new map
//! embedded in `dancu_domain::units`. The platform keeps every record under its 2025
//! commune, so a legacy unit is the set of 2025 communes whose main predecessor (the first
//! legacy commune, in code order, that maps wholly into it) lay in that unit; a 2025 commune
//! formed from communes of two districts counts in the district of that predecessor.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use dancu_domain::{admin_units, Violation};
use dancu_store::Scope;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitKind {
    Nation,
    Province,
    Commune,
    LegacyProvince,
    LegacyDistrict,
}

/// A unit of either list, with its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportUnit {
    pub kind: UnitKind,
    pub code: String,
    pub name: String,
}

/// A row of the per-unit table: a unit one level down and the 2025 communes it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildUnit {
    pub code: String,
    pub name: String,
    pub communes: Vec<String>,
}

/// The legacy province and district of a 2025 commune's main predecessor.
#[derive(Debug, Clone)]
struct LegacyPlace {
    province: String,
    province_name: String,
    district: String,
    district_name: String,
}

static LEGACY: LazyLock<HashMap<String, LegacyPlace>> = LazyLock::new(|| {
    let units = admin_units();
    let mut out = HashMap::new();
    // `unit_map` is sorted, so the first legacy row for a commune is its lowest code.
    for (reference, commune, _) in units.unit_map() {
        let Some(old) = reference.strip_prefix("legacy:") else { continue };
        if out.contains_key(&commune) {
            continue;
        }
        if let Some(c) = units.commune_legacy(old) {
            out.insert(
                commune,
                LegacyPlace {
                    province: c.province_code.clone(),
                    province_name: c.province_name.clone(),
                    district: c.district_code.clone(),
                    district_name: c.district_name.clone(),
                },
            );
        }
    }
    out
});

fn unknown(code: &str) -> Violation {
    Violation::new(
        "unit",
        "unit.unknown",
        format!("Không có đơn vị mã {code} trong danh mục"),
        format!("no unit with code {code} in the lists"),
    )
}

impl ReportUnit {
    pub fn nation() -> ReportUnit {
        ReportUnit { kind: UnitKind::Nation, code: "nation".into(), name: "Toàn quốc".into() }
    }

    /// `nation`; a 2025 province (`24`) or commune (`00004`), optionally written `2025:…`;
    /// a legacy province (`legacy:24`) or district (`legacy:213`).
    pub fn parse(s: &str) -> Result<ReportUnit, Violation> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("nation") {
            return Ok(ReportUnit::nation());
        }
        let units = admin_units();
        let (legacy, code) = match s.split_once(':') {
            Some(("legacy", c)) => (true, c),
            Some(("2025", c)) => (false, c),
            None => (false, s),
            Some(_) => {
                return Err(Violation::new(
                    "unit",
                    "unit.format",
                    "Mã đơn vị phải có dạng 24, 00004, 2025:00004, legacy:24 (tỉnh cũ) hoặc legacy:213 (huyện cũ)",
                    "the unit must be written 24, 00004, 2025:00004, legacy:24 (old province) or legacy:213 (old district)",
                ))
            }
        };
        if !code.bytes().all(|b| b.is_ascii_digit()) || code.is_empty() {
            return Err(Violation::new(
                "unit",
                "unit.format",
                "Mã đơn vị chỉ gồm chữ số (tỉnh 2, huyện 3, xã 5 chữ số)",
                "a unit code is digits only (province 2, district 3, commune 5)",
            ));
        }
        match (legacy, code.len()) {
            (false, 2) => units
                .province_2025(code)
                .map(|p| ReportUnit { kind: UnitKind::Province, code: code.into(), name: p.name.clone() })
                .ok_or_else(|| unknown(code)),
            (false, 5) => units
                .commune_2025(code)
                .map(|c| ReportUnit { kind: UnitKind::Commune, code: code.into(), name: c.name.clone() })
                .ok_or_else(|| unknown(code)),
            (true, 2) => units
                .legacy_province_name(code)
                .map(|n| ReportUnit {
                    kind: UnitKind::LegacyProvince,
                    code: code.into(),
                    name: n.to_string(),
                })
                .ok_or_else(|| unknown(code)),
            (true, 3) => LEGACY
                .values()
                .find(|p| p.district == code)
                .map(|p| ReportUnit {
                    kind: UnitKind::LegacyDistrict,
                    code: code.into(),
                    name: format!("{}, {}", p.district_name, p.province_name),
                })
                .ok_or_else(|| unknown(code)),
            _ => Err(Violation::new(
                "unit",
                "unit.format",
                "Mã đơn vị: tỉnh 2 chữ số, xã 5 chữ số; đơn vị cũ (legacy:) tỉnh 2 hoặc huyện 3 chữ số",
                "unit code: province 2 digits, commune 5; legacy units (legacy:) province 2 or district 3",
            )),
        }
    }

    /// How the unit is written on the command line (`parse` reads it back).
    pub fn reference(&self) -> String {
        match self.kind {
            UnitKind::Nation => "nation".into(),
            UnitKind::Province | UnitKind::Commune => self.code.clone(),
            UnitKind::LegacyProvince | UnitKind::LegacyDistrict => format!("legacy:{}", self.code),
        }
    }

    pub fn is_legacy(&self) -> bool {
        matches!(self.kind, UnitKind::LegacyProvince | UnitKind::LegacyDistrict)
    }

    /// The 2025 scopes whose records the report reads (the communes are then filtered by
    /// [`ReportUnit::holds`] for a legacy unit).
    pub fn scopes(&self) -> Vec<Scope> {
        match self.kind {
            UnitKind::Nation => vec![Scope::Nation],
            UnitKind::Province => vec![Scope::Province(self.code.clone())],
            UnitKind::Commune => vec![Scope::Commune(self.code.clone())],
            UnitKind::LegacyProvince | UnitKind::LegacyDistrict => {
                let mut provinces: Vec<String> = self
                    .communes()
                    .iter()
                    .filter_map(|c| admin_units().commune_2025(c).map(|c| c.province_code.clone()))
                    .collect();
                provinces.sort();
                provinces.dedup();
                provinces.into_iter().map(Scope::Province).collect()
            }
        }
    }

    /// Whether records of 2025 commune `c` count in this unit.
    pub fn holds(&self, c: &str) -> bool {
        match self.kind {
            UnitKind::Nation => true,
            UnitKind::Province => admin_units().commune_2025(c).is_some_and(|x| x.province_code == self.code),
            UnitKind::Commune => c == self.code,
            UnitKind::LegacyProvince => LEGACY.get(c).is_some_and(|p| p.province == self.code),
            UnitKind::LegacyDistrict => LEGACY.get(c).is_some_and(|p| p.district == self.code),
        }
    }

    /// Whether a submitted figure filed under 2025 unit `u` (province or commune) counts here.
    pub fn holds_submitted(&self, u: &str) -> bool {
        match (u.len(), &self.kind) {
            (5, _) => self.holds(u),
            (2, UnitKind::Nation) => true,
            (2, UnitKind::Province) => u == self.code,
            _ => false,
        }
    }

    /// The 2025 communes of the unit, in code order.
    pub fn communes(&self) -> Vec<String> {
        let units = admin_units();
        let mut v: Vec<String> = match self.kind {
            UnitKind::Nation => units
                .provinces_2025()
                .iter()
                .flat_map(|p| units.communes_of_province_2025(&p.code).to_vec())
                .collect(),
            UnitKind::Province => units.communes_of_province_2025(&self.code).to_vec(),
            UnitKind::Commune => vec![self.code.clone()],
            UnitKind::LegacyProvince | UnitKind::LegacyDistrict => {
                LEGACY.keys().filter(|c| self.holds(c)).cloned().collect()
            }
        };
        v.sort();
        v
    }

    /// The units one level down, each with its communes: provinces of the nation, communes
    /// of a province, districts of a legacy province, communes of a legacy district; a
    /// commune is its own only row.
    pub fn children(&self) -> Vec<ChildUnit> {
        let units = admin_units();
        let commune_row = |c: &String| ChildUnit {
            code: c.clone(),
            name: units.commune_2025(c).map(|x| x.name.clone()).unwrap_or_else(|| c.clone()),
            communes: vec![c.clone()],
        };
        match self.kind {
            UnitKind::Nation => units
                .provinces_2025()
                .iter()
                .map(|p| ChildUnit {
                    code: p.code.clone(),
                    name: p.name.clone(),
                    communes: units.communes_of_province_2025(&p.code).to_vec(),
                })
                .collect(),
            UnitKind::Province | UnitKind::Commune | UnitKind::LegacyDistrict => {
                self.communes().iter().map(commune_row).collect()
            }
            UnitKind::LegacyProvince => {
                let mut by_district: BTreeMap<String, ChildUnit> = BTreeMap::new();
                for c in self.communes() {
                    let p = &LEGACY[&c];
                    by_district
                        .entry(p.district.clone())
                        .or_insert_with(|| ChildUnit {
                            code: p.district.clone(),
                            name: p.district_name.clone(),
                            communes: vec![],
                        })
                        .communes
                        .push(c);
                }
                by_district.into_values().collect()
            }
        }
    }

    /// The 2025 province code of a unit inside one province (for officers' scope checks).
    pub fn within(&self, scope: &Scope) -> bool {
        match scope {
            Scope::Nation => true,
            Scope::Province(p) => {
                self.communes()
                    .iter()
                    .all(|c| admin_units().commune_2025(c).is_some_and(|x| &x.province_code == p))
                    && self.kind != UnitKind::Nation
            }
            Scope::Commune(c) => self.kind == UnitKind::Commune && &self.code == c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_parse_and_nest() {
        let p = ReportUnit::parse("01").unwrap();
        assert_eq!(p.kind, UnitKind::Province);
        assert!(p.children().len() > 50);
        let c = ReportUnit::parse("2025:00004").unwrap();
        assert_eq!(c.kind, UnitKind::Commune);
        assert!(p.holds("00004") && c.holds("00004") && !c.holds("00008"));
        let lp = ReportUnit::parse("legacy:24").unwrap();
        assert_eq!(lp.kind, UnitKind::LegacyProvince);
        let districts = lp.children();
        assert!(districts.len() >= 8, "{districts:?}");
        let d = ReportUnit::parse(&format!("legacy:{}", districts[0].code)).unwrap();
        assert_eq!(d.kind, UnitKind::LegacyDistrict);
        assert_eq!(d.communes(), districts[0].communes);
        // Every commune of the legacy province sits in exactly one district.
        let total: usize = districts.iter().map(|d| d.communes.len()).sum();
        assert_eq!(total, lp.communes().len());
        for (s, rule) in
            [("99", "unit.unknown"), ("1a", "unit.format"), ("x:01", "unit.format"), ("0001", "unit.format")]
        {
            assert_eq!(ReportUnit::parse(s).unwrap_err().rule, rule, "{s}");
        }
        assert!(c.within(&Scope::Commune("00004".into())));
        assert!(!p.within(&Scope::Commune("00004".into())));
        assert!(c.within(&Scope::Province("01".into())));
    }
}
