//! `cargo run --release -p dancu-gen --example gen -- --people N --seed S --out FILE.csv
//! [--province CODE]... [--today YYYY-MM-DD]`: the generator without the `dancu` CLI (used by
//! bench/gen.sh until `dancu gen` exists).

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut cfg = dancu_gen::GenConfig::default();
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--people" => cfg.people = value().parse().expect("--people N"),
            "--seed" => cfg.seed = value().parse().expect("--seed S"),
            "--province" => cfg.provinces.push(value()),
            "--today" => cfg.today = value().parse().expect("--today YYYY-MM-DD"),
            "--out" => out = Some(value()),
            _ => {
                eprintln!(
                    "usage: gen --people N --seed S --out FILE.csv [--province CODE] [--today YYYY-MM-DD]"
                );
                return ExitCode::from(2);
            }
        }
    }
    let started = std::time::Instant::now();
    let result = match &out {
        Some(path) => dancu_gen::generate_to_path(&cfg, path),
        None => dancu_gen::generate(&cfg, std::io::stdout().lock()),
    };
    match result {
        Ok(s) => {
            eprintln!(
                "{} people in {} households in {:.2} s",
                s.people,
                s.households,
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
