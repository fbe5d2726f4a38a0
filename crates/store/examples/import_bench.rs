//! Measures `Store::import_batch` throughput.
//!
//! ```text
//! cargo run --release -p dancu-store --example import_bench -- URL [ROWS] [--batch N] [--csv FILE]
//! ```
//!
//! Without `--csv` it synthesises ROWS valid records (default 1,000,000): distinct personal
//! IDs composed from the 63 legacy province codes, birth years, both sexes and the serial
//! permutation; names from a fixed list; every 2025 commune; households of four. With
//! `--csv` it reads a file in the `dancu gen` format (header row, `CSV_COLUMNS` order)
//! instead. Timed: `begin_import` (unless `--no-defer`), every `import_batch`, and
//! `finish_import` (the index rebuild); building the rows is reported apart.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use dancu_domain::citizen::{CitizenDraft, CSV_COLUMNS};
use dancu_domain::personal_id::serial_for;
use dancu_domain::units::UnitList;
use dancu_domain::{
    admin_units, Address, Citizen, LifeStatus, NameParts, PartialDate, PersonalId, Relation, Sex, UnitRef,
};
use dancu_store::{Change, ImportRow};

const FAMILY: [&str; 16] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
    "Dương", "Lý",
];
const MIDDLE_M: [&str; 8] = ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Công", "Xuân"];
const MIDDLE_F: [&str; 8] = ["Thị", "Ngọc", "Thu", "Minh", "Thanh", "Kim", "Diệu", "Hồng"];
const GIVEN_M: [&str; 16] = [
    "An", "Bình", "Cường", "Dũng", "Hùng", "Khánh", "Long", "Nam", "Phong", "Quân", "Sơn", "Tâm", "Thắng",
    "Trung", "Tuấn", "Vinh",
];
const GIVEN_F: [&str; 16] = [
    "Anh", "Chi", "Dung", "Giang", "Hà", "Hoa", "Hương", "Lan", "Linh", "Mai", "Ngân", "Nhung", "Phương",
    "Thảo", "Trang", "Yến",
];

struct Synth {
    provinces: Vec<String>,
    units: Vec<UnitRef>,
}

impl Synth {
    fn new() -> Self {
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

    fn row(&self, i: u64) -> ImportRow {
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

fn read_csv(path: &str) -> Vec<ImportRow> {
    let today = chrono::Utc::now().date_naive();
    let mut r = csv::ReaderBuilder::new().has_headers(true).from_path(path).expect("open CSV");
    let mut rows = Vec::new();
    let mut bad = 0u64;
    let rel_col = CSV_COLUMNS.iter().position(|c| *c == "relation_to_head").unwrap();
    for rec in r.records() {
        let rec = rec.expect("CSV record");
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let draft = CitizenDraft::from_columns(rec.iter());
        let Ok(citizen) = draft.validate(today) else {
            bad += 1;
            continue;
        };
        let no = rec.get(rel_col - 1).unwrap_or("").trim();
        let household = if no.is_empty() {
            None
        } else {
            match Relation::parse(rec.get(rel_col).unwrap_or("")) {
                Ok(rel) => Some((no.to_string(), rel)),
                Err(_) => {
                    bad += 1;
                    continue;
                }
            }
        };
        rows.push(ImportRow { line, citizen, household });
    }
    if bad > 0 {
        eprintln!("{bad} invalid CSV rows left out");
    }
    rows
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let mut total: u64 = 1_000_000;
    let mut batch: usize = 20_000;
    let mut csv_path = None;
    let mut defer = true;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--batch" => batch = args.next().and_then(|s| s.parse().ok()).expect("--batch N"),
            "--csv" => csv_path = Some(args.next().expect("--csv FILE")),
            "--no-defer" => defer = false,
            _ if url.is_none() => url = Some(a),
            _ => total = a.replace('_', "").parse().expect("ROWS"),
        }
    }
    let url = url.expect("usage: import_bench URL [ROWS] [--batch N] [--csv FILE]");
    let store = dancu_store::open(&url).await.expect("open store");
    let change = Change {
        actor: "system:bench".into(),
        reason: "import benchmark".into(),
        at: dancu_store::registry::now(),
    };

    let wall = Instant::now();
    let mut build = Duration::ZERO;
    let mut import = Duration::ZERO;
    let (mut inserted, mut skipped, mut rejected) = (0u64, 0u64, 0usize);
    let csv_rows = csv_path.as_deref().map(|p| {
        let t = Instant::now();
        let rows = read_csv(p);
        build += t.elapsed();
        total = rows.len() as u64;
        rows
    });
    let synth = Synth::new();
    let t = Instant::now();
    let deferred = defer && store.begin_import(total).await.expect("begin import");
    import += t.elapsed();
    let mut start = 0u64;
    while start < total {
        let end = (start + batch as u64).min(total);
        let t = Instant::now();
        let owned: Vec<ImportRow>;
        let rows: &[ImportRow] = match &csv_rows {
            Some(all) => &all[start as usize..end as usize],
            None => {
                owned = (start..end).map(|i| synth.row(i)).collect();
                &owned
            }
        };
        build += t.elapsed();
        let t = Instant::now();
        let out = store.import_batch(rows, &change).await.expect("import batch");
        import += t.elapsed();
        inserted += out.inserted;
        skipped += out.skipped_existing;
        rejected += out.rejected.len();
        start = end;
    }
    let t = Instant::now();
    store.finish_import().await.expect("finish import");
    let finish = t.elapsed();
    import += finish;
    let t = Instant::now();
    let count = store.count_citizens().await.expect("count");
    let count_time = t.elapsed();
    println!(
        "backend={} rows={total} batch={batch} inserted={inserted} skipped={skipped} rejected={rejected} \
         deferred_indexes={deferred} import_s={:.2} (index rebuild {:.2}s) rows_per_s={:.0} build_s={:.2} \
         wall_s={:.2} stored={count} (count {:.2}s)",
        store.backend(),
        import.as_secs_f64(),
        finish.as_secs_f64(),
        total as f64 / import.as_secs_f64(),
        build.as_secs_f64(),
        wall.elapsed().as_secs_f64(),
        count_time.as_secs_f64(),
    );
}
