//! `cargo run --release -p dancu-gen --example gen -- --people N --seed S --out FILE.csv
//! [--province CODE]... [--today YYYY-MM-DD] [--duplicates RATE [--truth FILE]]`: the generator without the `dancu` CLI (used by
//! bench/gen.sh until `dancu gen` exists).

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut cfg = dancu_gen::GenConfig::default();
    let mut out = None;
    let mut duplicates: Option<f64> = None;
    let mut truth: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--people" => cfg.people = value().parse().expect("--people N"),
            "--seed" => cfg.seed = value().parse().expect("--seed S"),
            "--province" => cfg.provinces.push(value()),
            "--today" => cfg.today = value().parse().expect("--today YYYY-MM-DD"),
            "--out" => out = Some(value()),
            "--duplicates" => duplicates = Some(value().parse().expect("--duplicates RATE")),
            "--truth" => truth = Some(value()),
            _ => {
                eprintln!(
                    "usage: gen --people N --seed S --out FILE.csv [--province CODE] [--today YYYY-MM-DD] \
                     [--duplicates RATE [--truth FILE]]"
                );
                return ExitCode::from(2);
            }
        }
    }
    let started = std::time::Instant::now();
    let result = match (&out, duplicates) {
        (Some(path), Some(rate)) => dancu_gen::generate_with_duplicates_to_path(
            &cfg,
            rate,
            path,
            truth.as_deref().map(std::path::Path::new),
        ),
        (Some(path), None) => dancu_gen::generate_to_path(&cfg, path),
        (None, Some(rate)) => {
            dancu_gen::generate_with_duplicates(&cfg, rate, std::io::stdout().lock(), std::io::sink())
        }
        (None, None) => dancu_gen::generate(&cfg, std::io::stdout().lock()),
    };
    match result {
        Ok(s) => {
            eprintln!(
                "{} people in {} households in {:.2} s",
                s.people,
                s.households,
                started.elapsed().as_secs_f64()
            );
            if duplicates.is_some() {
                eprintln!("{}", dancu_gen::describe_duplicates(&s));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
