//! Synthetic citizen rows shared by the store benchmarks (`import_bench`, `due_bench`).

#![allow(dead_code)]

use chrono::NaiveDate;
use dancu_domain::personal_id::serial_for;
use dancu_domain::units::UnitList;
use dancu_domain::{
    admin_units, Address, Citizen, LifeStatus, NameParts, PartialDate, PersonalId, Relation, Sex, UnitRef,
};
use dancu_store::{Change, ImportRow, Store};

pub const FAMILY: [&str; 16] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
    "Dương", "Lý",
];
pub const MIDDLE_M: [&str; 8] = ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Công", "Xuân"];
pub const MIDDLE_F: [&str; 8] = ["Thị", "Ngọc", "Thu", "Minh", "Thanh", "Kim", "Diệu", "Hồng"];
pub const GIVEN_M: [&str; 16] = [
    "An", "Bình", "Cường", "Dũng", "Hùng", "Khánh", "Long", "Nam", "Phong", "Quân", "Sơn", "Tâm", "Thắng",
    "Trung", "Tuấn", "Vinh",
];
pub const GIVEN_F: [&str; 16] = [
    "Anh", "Chi", "Dung", "Giang", "Hà", "Hoa", "Hương", "Lan", "Linh", "Mai", "Ngân", "Nhung", "Phương",
    "Thảo", "Trang", "Yến",
];

pub struct Synth {
    provinces: Vec<String>,
    units: Vec<UnitRef>,
}

impl Synth {
    pub fn new() -> Self {
        let u = admin_units();
        let provinces = u.provinces_legacy.iter().map(|p| p.code.clone()).collect();
        let units = u
            .provinces_2025
            .iter()
            .flat_map(|p| u.communes_of_province_2025(&p.code).iter())
            .map(|c| UnitRef::new(UnitList::V2025, c).unwrap())
            .collect();
        Synth { provinces, units }
    }

    pub fn row(&self, i: u64) -> ImportRow {
        let np = self.provinces.len() as u64;
        let province = &self.provinces[(i % np) as usize];
        let year = 1930 + ((i / np) % 90) as i32;
        let female = (i / (np * 90)) % 2 == 1;
        let sex = if female { Sex::Female } else { Sex::Male };
        let serial = serial_for(i / (np * 180));
        let personal_id = PersonalId::compose(province, sex, year, serial).unwrap();
        let h = (i * 2_654_435_761) >> 7;
        let (middle, given) = if female {
            (MIDDLE_F[(h % 8) as usize], GIVEN_F[((h >> 3) % 16) as usize])
        } else {
            (MIDDLE_M[(h % 8) as usize], GIVEN_M[((h >> 3) % 16) as usize])
        };
        let family = FAMILY[((h >> 7) % 16) as usize];
        let household = i / 4;
        let unit = self.units[(household * 7919 % self.units.len() as u64) as usize];
        let birth = NaiveDate::from_ymd_opt(year, 1 + (h % 12) as u32, 1 + ((h >> 4) % 28) as u32).unwrap();
        let relation = match i % 4 {
            0 => Relation::Head,
            1 => Relation::Spouse,
            _ => Relation::Child,
        };
        let citizen = Citizen {
            personal_id,
            name: NameParts { family: family.into(), middle: middle.into(), given: given.into() },
            other_names: String::new(),
            birth_date: PartialDate::Full(birth),
            sex,
            birth_place: None,
            hometown: Some(unit),
            ethnicity: "01".into(),
            religion: "00".into(),
            nationality: "VN".into(),
            permanent: Some(Address {
                unit, detail: format!("Số {} đường Láng", 1 + household % 300)
            }),
            temporary: None,
            current: None,
            father_id: None,
            father_name: String::new(),
            mother_id: None,
            mother_name: String::new(),
            spouse_id: None,
            cmnd: None,
            status: LifeStatus::Alive,
            death_date: None,
        };
        ImportRow { line: i + 2, citizen, household: Some((format!("HB{household:09}"), relation)) }
    }
}

/// Stores rows 0..total of [`Synth::row`] in batches of 20,000.
pub async fn fill(store: &dyn Store, synth: &Synth, total: u64, change: &Change) {
    let mut start = 0;
    while start < total {
        let end = (start + 20_000).min(total);
        let rows: Vec<ImportRow> = (start..end).map(|i| synth.row(i)).collect();
        store.import_batch(&rows, change).await.expect("import batch");
        start = end;
    }
}
