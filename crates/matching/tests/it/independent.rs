//! Quality on data the matcher was not built for: the independent error model
//! (docs/ERROR_MODEL.md, `dancu_gen::generate_sector_list`, held-out profile) and FEBRL 1
//! without its identifier, read through plain mapping files. Also: output that does not
//! depend on the thread count, and mapping errors that name their key.

use std::path::Path;

use dancu_matching::{dedup, eval, Dataset, MatchConfig, MatchError, Truth};

const SECTOR_TOML: &str = include_str!("../../configs/sector.toml");
const FEBRL_TOML: &str = include_str!("../../configs/febrl.toml");

fn sector_list(
    dir: &Path,
    profile: &dancu_gen::Profile,
    people: u64,
    seed: u64,
    rate: f64,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let (list, truth) = (dir.join(format!("list_{seed}.csv")), dir.join(format!("truth_{seed}.csv")));
    let cfg = dancu_gen::GenConfig { people, seed, ..Default::default() };
    dancu_gen::generate_sector_list_to_path(&cfg, profile, rate, &list, Some(&truth)).unwrap();
    (list, truth)
}

fn f1_of(list: &Path, truth: &Path, cfg: &MatchConfig) -> eval::PairMetrics {
    let ds = Dataset::read(&[list], cfg).unwrap();
    let truth = Truth::read(truth, &ds.ids).unwrap();
    let (_, result) = dedup(&ds, cfg, cfg.settings.threshold, Some(&truth));
    eval::pairwise(&result.labels, &truth)
}

#[test]
fn heldout_independent_model_f1_above_floor() {
    let dir = tempfile::tempdir().unwrap();
    let (list, truth) = sector_list(dir.path(), &dancu_gen::Profile::heldout(), 20_000, 20261203, 0.3);
    let cfg = MatchConfig::from_toml(SECTOR_TOML).unwrap();
    let q = f1_of(&list, &truth, &cfg);
    eprintln!("held-out 20k: {q:?}");
    assert!(q.f1 >= 0.90, "{q:?}");
    assert!(q.precision >= 0.90, "{q:?}");
}

/// The prior is the share of matches among all pairs, not among candidate pairs: with few
/// duplicates it must stay near the truth (it was inflated ten thousandfold before).
#[test]
fn prior_stays_calibrated_with_few_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let (list, truth) = sector_list(dir.path(), &dancu_gen::Profile::heldout(), 20_000, 777, 0.005);
    let cfg = MatchConfig::from_toml(SECTOR_TOML).unwrap();
    let ds = Dataset::read(&[&list], &cfg).unwrap();
    let truth = Truth::read(&truth, &ds.ids).unwrap();
    let (m, _) = dedup(&ds, &cfg, cfg.settings.threshold, Some(&truth));
    let n = ds.len() as f64;
    let share = truth.true_pairs as f64 / (n * (n - 1.0) / 2.0);
    eprintln!("λ {} truth {share}", m.model.lambda);
    assert!(
        m.model.lambda < 5.0 * share && m.model.lambda > share / 5.0,
        "λ {} truth {share}",
        m.model.lambda
    );
}

fn febrl_truth(ids: &[Box<str>]) -> Truth {
    let person = ids
        .iter()
        .map(|id| id.trim().split('-').nth(1).and_then(|n| n.parse::<u32>().ok()).unwrap_or(eval::UNKNOWN))
        .collect();
    Truth::from_persons(person)
}

#[test]
fn febrl1_without_identifier_from_a_plain_mapping() {
    let cfg = MatchConfig::from_toml(FEBRL_TOML).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/febrl1.csv");
    let ds = Dataset::read(&[&path], &cfg).unwrap();
    assert_eq!(ds.len(), 1000);
    let truth = febrl_truth(&ds.ids);
    assert_eq!(truth.true_pairs, 500);
    let (_, result) = dedup(&ds, &cfg, cfg.settings.threshold, Some(&truth));
    let q = eval::pairwise(&result.labels, &truth);
    eprintln!("FEBRL1: {q:?}");
    // Issue 17's target. A full-name bound that counted a pair's own records (or a typo'd
    // date of the pair as another person) lost one pair here (F1 0.9899).
    assert!(q.f1 >= 0.99, "{q:?}");
}

#[test]
fn same_output_at_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (list, _) = sector_list(dir.path(), &dancu_gen::Profile::dev(), 6_000, 7, 0.3);
    let cfg = MatchConfig::from_toml(SECTOR_TOML).unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let ds = Dataset::read(&[&list], &cfg).unwrap();
            let (m, result) = dedup(&ds, &cfg, cfg.settings.threshold, None);
            let pairs: Vec<(String, String, u32)> = result
                .pairs
                .iter()
                .map(|&(i, j, w)| {
                    (ds.ids[i as usize].to_string(), ds.ids[j as usize].to_string(), w.to_bits())
                })
                .collect();
            (result.labels.clone(), pairs, m.model.lambda.to_bits(), format!("{:?}", m.model.m))
        })
    };
    let one = run(1);
    let two = run(2);
    assert!(!one.1.is_empty());
    assert_eq!(one, two);
}

#[test]
fn bad_mappings_fail_at_once_naming_the_key() {
    let e = MatchConfig::from_toml("[columns]\nfull_name = \"x\"\n[settings]\ndate_formats = [\"%Y%q\"]\n")
        .unwrap_err();
    assert_eq!((e.key.as_str(), e.rule), ("settings.date_formats[0]", "config.date_format"));
    let e = MatchConfig::from_toml("[columns]\nfull_name = \"x\"\n[settings]\ndate_formats = [\"%d/%m\"]\n")
        .unwrap_err();
    assert_eq!(e.rule, "config.date_format");
    let e = MatchConfig::from_toml("[columns]\nfull_name = \"x\"\n[settings]\nblocking = [\"province\"]\n")
        .unwrap_err();
    assert_eq!((e.key.as_str(), e.rule), ("settings.blocking[0]", "config.unknown_rule"));
    let e = MatchConfig::from_toml("[columns]\nfull_name = \"x\"\n[settings]\nmax_blok = 3\n").unwrap_err();
    assert_eq!(e.rule, "config.syntax");
    assert!(e.to_string().contains("max_blok"), "{e}");
    let e =
        MatchConfig::from_toml("[columns]\nbirth_date = [\"a\", \"b\"]\nfull_name = \"x\"\n").unwrap_err();
    assert_eq!((e.key.as_str(), e.rule), ("columns.birth_date", "config.not_joinable"));

    // A mapped column the header lacks.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.csv");
    std::fs::write(&p, "ten,ngay\nAn,2001\n").unwrap();
    let cfg = MatchConfig::from_toml("[columns]\nfull_name = \"ho_ten\"\n").unwrap();
    match Dataset::read(&[&p], &cfg) {
        Err(MatchError::UnknownColumn { key, column, .. }) => {
            assert_eq!((key.as_str(), column.as_str()), ("columns.full_name", "ho_ten"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_column_that_mostly_fails_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.csv");
    let mut text = String::from("id,ten,ngay\n");
    for i in 0..100 {
        text.push_str(&format!("r{i},Nguyễn Văn An,1980{:02}{:02}\n", 1 + i % 12, 1 + i % 28));
    }
    std::fs::write(&p, &text).unwrap();
    // Read day first (the built-in list) most of these are invalid dates.
    let cfg =
        MatchConfig::from_toml("[columns]\nrecord_id = \"id\"\nfull_name = \"ten\"\nbirth_date = \"ngay\"\n")
            .unwrap();
    match Dataset::read(&[&p], &cfg) {
        Err(e @ MatchError::Unparsed(_)) => {
            let msg = e.to_string();
            assert!(
                msg.contains("column `ngay`") && msg.contains("columns.birth_date") && msg.contains("19800"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Declared, it reads.
    let cfg = MatchConfig::from_toml(
        "[columns]\nrecord_id = \"id\"\nfull_name = \"ten\"\nbirth_date = \"ngay\"\n[settings]\ndate_formats = [\"%Y%m%d\"]\n",
    )
    .unwrap();
    let ds = Dataset::read(&[&p], &cfg).unwrap();
    assert_eq!(ds.len(), 100);
    assert!(ds.issues.is_empty(), "{:?}", ds.issues);
    // Allowed, it runs with the values ignored.
    let cfg = MatchConfig::from_toml(
        "[columns]\nrecord_id = \"id\"\nfull_name = \"ten\"\nbirth_date = \"ngay\"\n[settings]\nallow_unparsed = [\"ngay\"]\n",
    )
    .unwrap();
    assert!(Dataset::read(&[&p], &cfg).is_ok());
}

#[test]
fn nameless_rows_are_kept_as_singletons() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.csv");
    std::fs::write(&p, "id,ten,so\nr1,,001090000001\nr2,,001090000001\nr3,Lê An,\n").unwrap();
    let cfg =
        MatchConfig::from_toml("[columns]\nrecord_id = \"id\"\nfull_name = \"ten\"\npersonal_id = \"so\"\n")
            .unwrap();
    let ds = Dataset::read(&[&p], &cfg).unwrap();
    assert_eq!(ds.len(), 3);
    let (_, result) = dedup(&ds, &cfg, 0.9, None);
    assert_eq!(result.labels, vec![0, 1, 2]);
}

/// The level a field of an explained pair is at ("" when the model has no such field).
fn level(e: &dancu_matching::Explanation, field: &str) -> &'static str {
    e.fields.iter().find(|f| f.field == field).map(|f| f.level).unwrap_or("")
}

/// One list gives a commune by its code, another by its names (the 2025 names, or the
/// pre-2025 commune under its pre-2025 province): the official lists place both, so the
/// records are at the same house, not merely in the same province.
#[test]
fn a_commune_named_as_text_is_the_commune_its_code_names() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.csv");
    std::fs::write(
        &p,
        "stt,ho_ten,ngay_sinh,gioi_tinh,so_dinh_danh,dien_thoai,dia_chi,xa,tinh,ma_xa\n\
         S1,Phan Gia Bình,07/02/1998,,,,\"Số 154, Thôn 9\",,,2025:07672\n\
         S2,Phan Gia Bình,,,,,Số 154 thôn 9,Xã Dương Hưu,Thành phố Bắc Ninh,\n\
         S3,Phan Gia Bình,,,,,Số 154 thôn 9,Xã Dương Hưu,Tỉnh Bắc Giang,\n\
         S4,Phan Gia Bình,,,,,Số 154 thôn 9,Xã Không Có,Tỉnh Bắc Giang,\n",
    )
    .unwrap();
    let cfg = MatchConfig::from_toml(SECTOR_TOML).unwrap();
    let ds = Dataset::read(&[&p], &cfg).unwrap();
    let (m, _) = dedup(&ds, &cfg, cfg.settings.threshold, None);
    let address = |i: u32, j: u32| level(&m.explain(i, j), "address");
    assert_eq!(address(0, 1), "same_commune_and_detail");
    assert_eq!(address(0, 2), "same_commune_and_detail");
    // An unknown commune name: only the province (Bắc Giang went into Bắc Ninh) is placed,
    // and the house is the same house of that province.
    assert_eq!(address(0, 3), "same_province_and_detail");
}

/// Twins (one house, one birth date, family and middle name shared, another given name) are
/// two people: household conditioning must keep them apart. On a development-profile list,
/// such pairs that the truth calls two people are almost never predicted; before the
/// conditioning most of them were (they scored like a duplicate with a typo).
#[test]
fn twins_at_one_house_are_not_merged() {
    twins_kept_apart(SECTOR_TOML);
}

/// The same when the list names its communes and provinces and gives no unit codes (the
/// mapping without `unit`): the place and the address detail are still one field, so the
/// household context is read and applied (before, such lists had no context at all, and
/// on the 0.5 % development list F1 fell from 0.88 to 0.57).
#[test]
fn twins_at_one_house_are_not_merged_without_unit_codes() {
    let text_only: String =
        SECTOR_TOML.lines().filter(|l| !l.starts_with("unit =")).collect::<Vec<_>>().join("\n");
    assert!(!text_only.contains("ma_xa"));
    twins_kept_apart(&text_only);
}

fn twins_kept_apart(mapping: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (list, truth) = sector_list(dir.path(), &dancu_gen::Profile::dev(), 20_000, 11, 0.3);
    let cfg = MatchConfig::from_toml(mapping).unwrap();
    let ds = Dataset::read(&[&list], &cfg).unwrap();
    let truth = Truth::read(&truth, &ds.ids).unwrap();
    let (m, result) = dedup(&ds, &cfg, cfg.settings.threshold, Some(&truth));
    let (mut twins, mut merged) = (0, 0);
    // Every candidate pair at or above a low weight (twins scored far above it before).
    let (pairs, _, _) = m.scored_pairs(m.threshold_weight(0.001), None);
    for &(i, j, _) in &pairs {
        if truth.same(i, j) {
            continue;
        }
        let e = m.explain(i, j);
        let house = level(&e, "address");
        if level(&e, "given_name") == "different"
            && level(&e, "birth_date") == "exact"
            && (house == "same_commune_and_detail" || house == "same_commune_and_numbers")
        {
            twins += 1;
            merged += (result.labels[i as usize] == result.labels[j as usize]) as u32;
        }
    }
    eprintln!("twin-like pairs of two people: {twins}, merged {merged}");
    assert!(twins >= 20, "too few twin-like pairs to judge: {twins}");
    assert!(merged * 10 <= twins, "{merged} of {twins} twin pairs merged");
}

/// With few duplicates (0.5 %, as in a registry) on the development profile, the prior stays
/// within a factor of two of the truth and precision holds against hard negatives (twins,
/// same-name siblings, namesakes), which outnumber the true pairs. On a list this small
/// (30,000 people, 41 pairs sharing an ID) EM has no ID-blocked session to learn from and
/// precision is far from the 0.93 of the 100k development list: 0.71 here, 0.41 before
/// household conditioning. A known gap (docs/MATCHING.md). Precision is checked at the strict
/// threshold 0.9 an officer would use for merges (0.94, recall 0.33, with middle-name
/// frequencies); at the default 0.5 it is 0.50 on this list (recall 0.43).
#[test]
fn rare_duplicates_stay_calibrated_on_the_development_profile() {
    let dir = tempfile::tempdir().unwrap();
    let (list, truth) = sector_list(dir.path(), &dancu_gen::Profile::dev(), 30_000, 5, 0.005);
    let cfg = MatchConfig::from_toml(SECTOR_TOML).unwrap();
    let ds = Dataset::read(&[&list], &cfg).unwrap();
    let truth = Truth::read(&truth, &ds.ids).unwrap();
    let (m, result) = dedup(&ds, &cfg, 0.9, Some(&truth));
    let n = ds.len() as f64;
    let share = truth.true_pairs as f64 / (n * (n - 1.0) / 2.0);
    let q = eval::pairwise(&result.labels, &truth);
    eprintln!("λ {} truth {share}; {q:?}", m.model.lambda);
    assert!(
        m.model.lambda < 2.0 * share && m.model.lambda > share / 2.0,
        "λ {} truth {share}",
        m.model.lambda
    );
    assert!(q.precision >= 0.65, "{q:?}");
}
