//! End to end: a small population with households, namesakes and planted duplicates that
//! carry the errors real lists have (dropped marks, NFD, a legacy 8-bit encoding, Telex
//! artefacts, swapped day and month, a missing middle name, given name first, a wrong ID
//! digit, a missing ID, a year-only date, a legacy address). Every planted duplicate must be
//! found and no two different people may end up together.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use dancu_domain::units::admin_units;
use dancu_domain::{PersonalId, Sex};
use dancu_matching::compare::{Comparison, Field, MAX_FIELDS, NULL};
use dancu_matching::{dedup, eval, reconcile, Dataset, Loader, MatchConfig, MatchError, Truth};
use unicode_normalization::UnicodeNormalization;

const FAMILIES: [&str; 16] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý",
    "Đinh", "Khổng",
];
const MIDDLES: [&str; 10] = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Thu", "Thị Ngọc"];
const GIVENS: [&str; 24] = [
    "Anh", "Bình", "Cường", "Dũng", "Đào", "Hà", "Hải", "Hoà", "Hùng", "Hương", "Khánh", "Lan", "Long",
    "Mai", "Nam", "Ngân", "Phúc", "Quân", "Sơn", "Thảo", "Thuỷ", "Trang", "Tuấn", "Yến",
];

/// A tiny deterministic generator (no dependency, reproducible).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

#[derive(Clone, Debug)]
struct Person {
    family: String,
    middle: String,
    given: String,
    y: i32,
    m: u32,
    d: u32,
    sex: Sex,
    pid: String,
    unit: String,
    detail: String,
    phone: String,
}

/// Rows as byte fields: `record_id,family_name,middle_name,given_name,birth_date,sex,
/// personal_id,permanent_unit,permanent_detail,phone`.
type Row = Vec<Vec<u8>>;

/// A change made to a row's bytes after it is built (legacy encodings).
type RawEdit = Option<Box<dyn Fn(&mut Row)>>;

const HEADER: [&str; 10] = [
    "record_id",
    "family_name",
    "middle_name",
    "given_name",
    "birth_date",
    "sex",
    "personal_id",
    "permanent_unit",
    "permanent_detail",
    "phone",
];

fn row(id: &str, p: &Person) -> Row {
    [
        id.to_string(),
        p.family.clone(),
        p.middle.clone(),
        p.given.clone(),
        format!("{:04}-{:02}-{:02}", p.y, p.m, p.d),
        p.sex.code().to_string(),
        p.pid.clone(),
        p.unit.clone(),
        p.detail.clone(),
        p.phone.clone(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn population(rng: &mut Lcg) -> Vec<Person> {
    let units: Vec<String> =
        admin_units().communes_of_province_2025("01").iter().take(40).map(|c| format!("2025:{c}")).collect();
    let mut people = Vec::new();
    let mut serial = 1000;
    // 150 households of 1–4 people: same family name and address, different given names and
    // birth dates; some children share the parent's given name (a common real case).
    for h in 0..150 {
        // Nguyễn is the family name of ~38% of people (DOMAIN.md §8); the rest uniform.
        let family =
            if rng.next(100) < 38 { FAMILIES[0] } else { FAMILIES[1 + rng.next(FAMILIES.len() - 1)] };
        let family = family.to_string();
        let unit = units[rng.next(units.len())].clone();
        let detail = format!("Số {}, Thôn {}", rng.next(300) + 1, rng.next(20) + 1);
        let size = 1 + rng.next(4);
        let parent_given = GIVENS[rng.next(GIVENS.len())];
        for k in 0..size {
            let sex = if rng.next(2) == 0 { Sex::Male } else { Sex::Female };
            let y = if k == 0 { 1950 + rng.next(40) as i32 } else { 1985 + rng.next(25) as i32 };
            serial += 1;
            let given = if k == 2 && h % 5 == 0 { parent_given } else { GIVENS[rng.next(GIVENS.len())] };
            people.push(Person {
                family: family.clone(),
                middle: MIDDLES[rng.next(MIDDLES.len())].to_string(),
                given: given.to_string(),
                y,
                m: 1 + rng.next(12) as u32,
                d: 1 + rng.next(28) as u32,
                sex,
                pid: PersonalId::compose("01", sex, y, serial).unwrap().as_str().to_string(),
                unit: unit.clone(),
                detail: detail.clone(),
                phone: format!("09{:08}", rng.next(100_000_000)),
            });
        }
    }
    // Namesakes: the same full name as someone else, another person entirely.
    for i in 0..20 {
        let mut p = people[i * 7].clone();
        serial += 1;
        p.y = 1960 + rng.next(45) as i32;
        p.d = 1 + rng.next(28) as u32;
        p.pid = PersonalId::compose("01", p.sex, p.y, serial).unwrap().as_str().to_string();
        p.unit = units[rng.next(units.len())].clone();
        p.detail = format!("Số {}, Xóm {}", rng.next(300) + 1, rng.next(20) + 1);
        p.phone = format!("03{:08}", rng.next(100_000_000));
        people.push(p);
    }
    people
}

fn fold_marks(s: &str) -> String {
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| {
            if c == 'đ' {
                'd'
            } else if c == 'Đ' {
                'D'
            } else {
                c
            }
        })
        .collect()
}

/// The planted errors, one per duplicate.
const ERRORS: [&str; 12] = [
    "drop_marks",
    "nfd",
    "tcvn3",
    "swap_day_month",
    "missing_middle",
    "wrong_id_digit",
    "legacy_address",
    "telex",
    "given_first",
    "year_only",
    "id_missing",
    "vni_mojibake",
];

fn duplicate(p: &Person, error: &str) -> (Person, RawEdit) {
    let mut q = p.clone();
    let mut raw: RawEdit = None;
    match error {
        "drop_marks" => {
            q.family = fold_marks(&q.family);
            q.middle = fold_marks(&q.middle);
            q.given = fold_marks(&q.given);
        }
        "nfd" => {
            q.family = q.family.nfd().collect();
            q.middle = q.middle.nfd().collect();
            q.given = q.given.nfd().collect();
            q.detail = q.detail.nfd().collect();
        }
        "tcvn3" => {
            // The text fields as TCVN3 bytes: the file is not valid UTF-8 on these rows.
            raw = Some(Box::new(|r: &mut Row| {
                for i in [1, 2, 3, 8] {
                    let s = String::from_utf8(r[i].clone()).unwrap();
                    r[i] = dancu_identity::legacy::encode_tcvn3(&s).unwrap();
                }
            }));
        }
        "vni_mojibake" => {
            // VNI bytes read back as Windows-1252 and saved as UTF-8 (`Nguyeãn`).
            raw = Some(Box::new(|r: &mut Row| {
                for i in [1, 2, 3, 8] {
                    let s = String::from_utf8(r[i].clone()).unwrap();
                    let b = dancu_identity::legacy::encode_vni(&s).unwrap();
                    r[i] = dancu_identity::legacy::decode_cp1252(&b).into_bytes();
                }
            }));
        }
        "swap_day_month" => {
            q.d = q.m;
            q.m = p.d.min(12);
            if q.d == q.m {
                q.d = (q.d % 12) + 1;
                q.m = p.d.min(12);
            }
        }
        "missing_middle" => q.middle.clear(),
        "wrong_id_digit" => {
            let mut b = q.pid.into_bytes();
            b[10] = if b[10] == b'9' { b'0' } else { b[10] + 1 };
            q.pid = String::from_utf8(b).unwrap();
        }
        "legacy_address" => {
            let code = q.unit.strip_prefix("2025:").unwrap();
            if let Some(old) = admin_units().legacy_communes_mapping_to(code).first() {
                q.unit = format!("legacy:{old}");
            }
        }
        "telex" => {
            q.family = match q.family.as_str() {
                "Đặng" => "Ddawngj".into(),
                "Đinh" => "Ddinh".into(),
                "Nguyễn" => "Nguyeenx".into(),
                "Đỗ" => "Ddoox".into(),
                other => fold_marks(other),
            }
        }
        "given_first" => std::mem::swap(&mut q.family, &mut q.given),
        "year_only" => {
            q.m = 0;
            q.d = 0;
        }
        "id_missing" => q.pid.clear(),
        _ => unreachable!(),
    }
    (q, raw)
}

/// Writes the population with planted duplicates; returns the truth (record → person).
fn write_dataset(path: &Path) -> (Vec<(String, usize)>, usize) {
    let mut rng = Lcg(42);
    let people = population(&mut rng);
    let mut rows: Vec<Row> = Vec::new();
    let mut truth = Vec::new();
    for (i, p) in people.iter().enumerate() {
        let id = format!("P{i:04}");
        rows.push(row(&id, p));
        truth.push((id, i));
    }
    let mut planted = 0;
    for (k, i) in (0..people.len()).step_by(3).enumerate() {
        let error = ERRORS[k % ERRORS.len()];
        let (q, raw) = duplicate(&people[i], error);
        let id = format!("D{k:04}");
        let mut r = row(&id, &q);
        if q.m == 0 {
            r[4] = q.y.to_string().into_bytes();
        }
        if let Some(f) = raw {
            f(&mut r);
        }
        rows.push(r);
        truth.push((id, i));
        planted += 1;
    }
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(HEADER).unwrap();
    for r in &rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    (truth, planted)
}

#[test]
fn planted_duplicates_are_found_and_strangers_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.csv");
    let (truth_rows, planted) = write_dataset(&path);
    let cfg = MatchConfig::dancu_default();
    let ds = Dataset::read(&[&path], &cfg).unwrap();
    assert_eq!(ds.len(), truth_rows.len(), "no row dropped: {:?}", ds.issues);
    let index: HashMap<&str, usize> = ds.ids.iter().enumerate().map(|(i, s)| (&**s, i)).collect();
    let mut person = vec![u32::MAX; ds.len()];
    for (id, p) in &truth_rows {
        person[index[id.as_str()]] = *p as u32;
    }
    let truth = Truth::from_persons(person);
    assert_eq!(truth.true_pairs as usize, planted);
    let (m, result) = dedup(&ds, &cfg, 0.9, Some(&truth));
    let q = eval::pairwise(&result.labels, &truth);
    // Text errors are undone before comparison: the names compare as exact.
    for (id, p) in truth_rows.iter().filter(|(id, _)| id.starts_with('D')) {
        let k: usize = id[1..].parse().unwrap();
        let error = ERRORS[k % ERRORS.len()];
        if ["drop_marks", "nfd", "tcvn3", "vni_mojibake", "telex", "given_first"].contains(&error) {
            let e = m.explain(index[id.as_str()] as u32, index[format!("P{p:04}").as_str()] as u32);
            for f in e.fields.iter().filter(|f| f.field == "family_name" || f.field == "given_name") {
                assert_eq!(f.level, "exact", "{id} ({error}): {e}");
            }
        }
    }
    // Every planted duplicate found, whatever its error…
    let mut missed = Vec::new();
    for (id, p) in truth_rows.iter().filter(|(id, _)| id.starts_with('D')) {
        let (a, b) = (index[id.as_str()], index[format!("P{p:04}").as_str()]);
        if result.labels[a] != result.labels[b] {
            let k: usize = id[1..].parse().unwrap();
            missed.push((id.clone(), ERRORS[k % ERRORS.len()]));
        }
    }
    assert!(missed.is_empty(), "missed duplicates: {missed:?}");
    // …and no household member, namesake or stranger merged with anyone else.
    assert_eq!(q.predicted_pairs, q.true_positives, "false pairs: {q:?}");
    assert_eq!(result.stats.true_pairs_compared, Some(planted as u64), "blocking lost a true pair");
}

/// The planted dataset, read with the default mapping (the directory lives as long as the
/// returned guard).
fn planted_dataset() -> (tempfile::TempDir, Dataset) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.csv");
    write_dataset(&path);
    let ds = Dataset::read(&[&path], &MatchConfig::dancu_default()).unwrap();
    (dir, ds)
}

#[test]
fn explanations_name_the_evidence() {
    let (_dir, ds) = planted_dataset();
    let cfg = MatchConfig::dancu_default();
    let (m, result) = dedup(&ds, &cfg, 0.9, None);
    let pos = |id: &str| ds.ids.iter().position(|s| &**s == id).unwrap() as u32;
    // The first swapped day/month duplicate (D000k, k ≡ 3 mod 12, of P(3k)) whose day is a
    // possible month.
    let (a, b) = (0..)
        .step_by(ERRORS.len())
        .map(|k: usize| (pos(&format!("P{:04}", 3 * (k + 3))), pos(&format!("D{:04}", k + 3))))
        .find(|&(a, b)| {
            let (x, y) = (ds.records[a as usize].date, ds.records[b as usize].date);
            x.day == y.month && x.month == y.day && x.day != x.month
        })
        .unwrap();
    let e = m.explain(a, b);
    let date = e.fields.iter().find(|f| f.field == "birth_date").unwrap();
    assert_eq!(date.level, "day_month_swapped");
    assert!(date.weight > 0.0);
    let total: f64 = e.fields.iter().map(|f| f.weight).sum();
    assert!((total - e.weight).abs() < 1e-9);
    assert!(e.probability > 0.9, "{e}");
    assert!(!result.pairs.is_empty());
}

#[test]
fn a_common_family_name_weighs_less_than_a_rare_one() {
    let (_dir, ds) = planted_dataset();
    let cfg = MatchConfig::dancu_default();
    let (m, _) = dedup(&ds, &cfg, 0.9, None);
    let family_weight = |name: &str| {
        let rec = ds
            .records
            .iter()
            .position(|r| &*ds.strings[r.family() as usize] == name)
            .unwrap_or_else(|| panic!("{name} in the data"));
        // The family name alone agreeing (no address: at one house the household's u
        // applies instead of the name's frequency).
        let i = m.model.fields.iter().position(|f| *f == Field::FamilyName).unwrap();
        let mut c = Comparison {
            levels: [NULL; MAX_FIELDS],
            family_sym: ds.records[rec].family(),
            ..Default::default()
        };
        c.levels[i] = 0;
        m.model.field_weight(i, &c)
    };
    assert!(family_weight("nguyen") < family_weight("khong"));
}

#[test]
fn bad_input_names_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "record_id,family_name,middle_name,given_name,birth_date,sex,personal_id,permanent_unit,permanent_detail").unwrap();
    writeln!(f, "A1,Nguyễn,Văn,An,1990-05-04,M,001090012345,2025:00004,Số 1").unwrap();
    writeln!(f, "A2,Trần,Thị,Bình,1990-02-30,F,,2025:99999,Số 2").unwrap(); // bad date, unknown unit
    writeln!(f, "A3,Lê,Văn").unwrap(); // too few fields
    writeln!(f, "A4,,,,1990,M,,,").unwrap(); // no name
    writeln!(f, "A1,Phạm,,Cường,1970,M,,,").unwrap(); // repeated record id
    drop(f);
    let cfg = MatchConfig::dancu_default();
    let ds = Dataset::read(&[&path], &cfg).unwrap();
    assert_eq!(ds.len(), 3, "A1, A2 and the nameless A4 kept");
    let got: Vec<(u32, &str, &str, bool)> =
        ds.issues.iter().map(|i| (i.line, i.column.as_str(), i.rule, i.dropped)).collect();
    assert!(got.contains(&(3, "birth_date", "date.invalid_day", false)), "{got:?}");
    assert!(got.contains(&(3, "permanent_unit", "unit.unknown", false)), "{got:?}");
    assert!(got.iter().any(|g| g.0 == 4 && g.2 == "row.field_count" && g.3), "{got:?}");
    assert!(got.contains(&(5, "given_name", "name.missing", false)), "{got:?}");
    assert!(got.contains(&(6, "record_id", "record_id.duplicate", true)), "{got:?}");

    // A mapping naming a column the file lacks: the error names key and column.
    let cfg = MatchConfig::from_toml("[columns]\nfull_name = \"ho_ten\"\n").unwrap();
    let err = Dataset::read(&[&path], &cfg).unwrap_err();
    match &err {
        MatchError::UnknownColumn { key, column, .. } => {
            assert_eq!((key.as_str(), column.as_str()), ("columns.full_name", "ho_ten"))
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("ho_ten"));
}

#[test]
fn reconciliation_classifies_sector_rows() {
    let dir = tempfile::tempdir().unwrap();
    let registry_path = dir.path().join("registry.csv");
    write_dataset(&registry_path);
    // The registry: the original people only (rows P…), as drafts.
    let mut rdr = csv::Reader::from_path(&registry_path).unwrap();
    let mut drafts = Vec::new();
    let mut originals = Vec::new();
    for r in rdr.byte_records() {
        let r = r.unwrap();
        if r[0].starts_with(b"P") {
            let s = |i: usize| String::from_utf8(r[i].to_vec()).unwrap();
            drafts.push(dancu_domain::citizen::CitizenDraft {
                family_name: s(1),
                middle_name: s(2),
                given_name: s(3),
                birth_date: s(4),
                sex: s(5),
                personal_id: s(6),
                permanent_unit: s(7),
                permanent_detail: s(8),
                ..Default::default()
            });
            originals.push((s(1), s(2), s(3), s(4), s(5), s(6), s(7)));
        }
    }
    // A vaccination list: its own column names, full names, day-first dates.
    let sector = dir.path().join("vaccination.csv");
    let mut w = csv::Writer::from_path(&sector).unwrap();
    w.write_record(["stt", "ho_ten", "ngay_sinh", "gioi_tinh", "cccd", "dia_ban"]).unwrap();
    let vn_date = |iso: &str| {
        let p: Vec<&str> = iso.split('-').collect();
        format!("{}/{}/{}", p[2], p[1], p[0])
    };
    let full = |o: &(String, String, String, String, String, String, String)| {
        [o.0.as_str(), o.1.as_str(), o.2.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let o = &originals;
    let cases: Vec<[String; 6]> = vec![
        // 1 matched
        ["1".into(), full(&o[0]), vn_date(&o[0].3), o[0].4.clone(), o[0].5.clone(), o[0].6.clone()],
        // 2 no ID, but the person is in the registry: probable match
        ["2".into(), full(&o[1]), vn_date(&o[1].3), o[1].4.clone(), String::new(), o[1].6.clone()],
        // 3 ID with the leading zero lost (Excel): bad format, probable match
        ["3".into(), full(&o[2]), vn_date(&o[2].3), o[2].4.clone(), o[2].5[1..].to_string(), o[2].6.clone()],
        // 4 a well-formed ID that is not in the registry (one digit off): probable match
        [
            "4".into(),
            full(&o[3]),
            vn_date(&o[3].3),
            o[3].4.clone(),
            {
                let mut b = o[3].5.clone().into_bytes();
                b[11] = if b[11] == b'9' { b'0' } else { b[11] + 1 };
                String::from_utf8(b).unwrap()
            },
            o[3].6.clone(),
        ],
        // 5 ID found, birth date wrong: details disagree
        ["5".into(), full(&o[4]), "01/01/1901".into(), o[4].4.clone(), o[4].5.clone(), o[4].6.clone()],
        // 6 nobody: no ID, no match
        [
            "6".into(),
            "Khổng Minh Triết".into(),
            "02/03/1931".into(),
            "M".into(),
            String::new(),
            "2025:00004".into(),
        ],
    ];
    for c in &cases {
        w.write_record(c).unwrap();
    }
    w.flush().unwrap();
    let cfg = MatchConfig::from_toml(
        "[columns]\nrecord_id = \"stt\"\nfull_name = \"ho_ten\"\nbirth_date = \"ngay_sinh\"\npersonal_id = \"cccd\"\nunit = \"dia_ban\"\n[categories]\nsex = \"gioi_tinh\"\n",
    )
    .unwrap();
    let mut loader = Loader::default();
    loader.read_csv(&sector, &cfg, 0).unwrap();
    reconcile::load_registry(&mut loader, drafts, &cfg);
    let ds = Dataset::from_loader(loader, true);
    // Registry records are named by their personal ID.
    assert!(ds.ids.iter().any(|id| **id == *o[0].5));
    let results = reconcile::reconcile(&ds, &cfg, 0.9);
    let by_line: HashMap<u32, &reconcile::RowResult> = results.iter().map(|r| (r.line, r)).collect();
    let get = |line: u32| by_line[&line];
    assert_eq!((get(2).id_check, get(2).status), ("ok", "matched"), "{:?}", get(2));
    assert_eq!((get(3).id_check, get(3).status), ("no_id", "probable_match"), "{:?}", get(3));
    assert_eq!(get(3).suggested_id, o[1].5);
    assert_eq!((get(4).id_check, get(4).status), ("id_bad_format", "probable_match"), "{:?}", get(4));
    assert_eq!(get(4).suggested_id, o[2].5);
    assert!(get(4).reason.contains("id.length"), "{:?}", get(4));
    assert_eq!((get(5).id_check, get(5).status), ("id_not_in_registry", "probable_match"), "{:?}", get(5));
    assert_eq!(get(5).suggested_id, o[3].5);
    assert_eq!((get(6).id_check, get(6).status), ("ok", "details_disagree"), "{:?}", get(6));
    assert!(get(6).reason.contains("birth_date"), "{:?}", get(6));
    assert_eq!((get(7).id_check, get(7).status), ("no_id", "no_match"), "{:?}", get(7));

    // The output file keeps the agency's columns and adds the verdict; the summary adds up.
    let out = dir.path().join("result.csv");
    reconcile::write_result(&sector, &out, &results, &ds.issues).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with(
        "stt,ho_ten,ngay_sinh,gioi_tinh,cccd,dia_ban,id_check,status,reason,suggested_id,score"
    ));
    assert_eq!(text.lines().count(), 7);
    let summary = reconcile::summary(&results, 0);
    let total: u64 = summary.values().map(|c| c.total).sum();
    assert_eq!(total, 6);
    let sum_path = dir.path().join("summary.csv");
    reconcile::write_summary(&sum_path, &summary).unwrap();
    let last = std::fs::read_to_string(&sum_path).unwrap().lines().last().unwrap().to_string();
    assert!(last.ends_with(",6"), "{last}");
}

#[test]
fn linking_two_lists_finds_each_duplicate_in_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("all.csv");
    let (truth_rows, planted) = write_dataset(&all);
    // Originals (P…) on the left, duplicates (D…) on the right; bytes copied as they are.
    let (left, right) = (dir.path().join("left.csv"), dir.path().join("right.csv"));
    let mut rdr = csv::Reader::from_path(&all).unwrap();
    let header = rdr.byte_headers().unwrap().clone();
    let mut wl = csv::Writer::from_path(&left).unwrap();
    let mut wr = csv::Writer::from_path(&right).unwrap();
    wl.write_byte_record(&header).unwrap();
    wr.write_byte_record(&header).unwrap();
    for r in rdr.byte_records() {
        let r = r.unwrap();
        if r[0].starts_with(b"P") { wl.write_byte_record(&r) } else { wr.write_byte_record(&r) }.unwrap();
    }
    wl.flush().unwrap();
    wr.flush().unwrap();
    let cfg = MatchConfig::dancu_default();
    let ds = Dataset::read(&[&left, &right], &cfg).unwrap();
    let (m, _) = dancu_matching::Matcher::train(&ds, &cfg);
    let (pairs, _, _) = m.scored_pairs(m.threshold_weight(0.9), None);
    let person: HashMap<&str, usize> = truth_rows.iter().map(|(id, p)| (id.as_str(), *p)).collect();
    let linked: Vec<(usize, usize)> =
        pairs.iter().map(|&(i, j, _)| (person[&*ds.ids[i as usize]], person[&*ds.ids[j as usize]])).collect();
    assert!(pairs.iter().all(|&(i, j, _)| ds.records[i as usize].source != ds.records[j as usize].source));
    assert!(linked.iter().all(|(a, b)| a == b), "a link between different people");
    assert_eq!(linked.len(), planted, "every duplicate linked to its original");
}
