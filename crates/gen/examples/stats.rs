//! `cargo run --release -p dancu-gen --example stats -- [N] [SEED]`: generates N people in
//! memory and prints the age pyramid, household sizes and relation mix (for tuning).

use std::collections::BTreeMap;

use dancu_domain::citizen::CitizenDraft;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map(|a| a.parse().unwrap()).unwrap_or(200_000);
    let seed: u64 = args.next().map(|a| a.parse().unwrap()).unwrap_or(1);
    let cfg = dancu_gen::GenConfig { people: n, seed, ..Default::default() };
    let mut csv = Vec::new();
    let stats = dancu_gen::generate(&cfg, &mut csv).unwrap();
    let mut r = csv::Reader::from_reader(csv.as_slice());
    let mut bands = [0u64; 21];
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    let mut relations: BTreeMap<String, u64> = BTreeMap::new();
    let mut males = 0;
    let mut deceased = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        let c = CitizenDraft::from_columns(rec.iter()).validate(cfg.today).unwrap();
        let age = c.birth_date.age_on(cfg.today).max(0) as usize;
        bands[(age / 5).min(20)] += 1;
        *sizes.entry(rec[26].to_string()).or_default() += 1;
        *relations.entry(rec[27].to_string()).or_default() += 1;
        males += (c.sex == dancu_domain::Sex::Male) as u64;
        deceased += (c.status == dancu_domain::LifeStatus::Deceased) as u64;
    }
    let pct = |x: u64| 100.0 * x as f64 / n as f64;
    println!(
        "{} people, {} households, {:.2} per household, {:.1} % male",
        n,
        stats.households,
        n as f64 / stats.households as f64,
        pct(males)
    );
    for (i, b) in bands.iter().enumerate() {
        println!("{:>3}-{:<3} {:5.2} % {}", i * 5, i * 5 + 4, pct(*b), "#".repeat((pct(*b) * 4.0) as usize));
    }
    let young: u64 = bands[..3].iter().sum();
    let old: u64 = bands[13..].iter().sum();
    println!("0-14 {:.1} %, 15-64 {:.1} %, 65+ {:.1} %", pct(young), 100.0 - pct(young) - pct(old), pct(old));
    let mut hist: BTreeMap<u64, u64> = BTreeMap::new();
    for s in sizes.values() {
        *hist.entry(*s).or_default() += 1;
    }
    println!("household sizes: {hist:?}");
    println!("deceased {:.2} %", pct(deceased));
    println!("relations: {relations:?}");
}
