//! A deterministic synthetic population for dancu: households of citizens with realistic
//! Vietnamese names, ages, places, ID numbers and family links, written as the citizen CSV
//! format (`docs/CSV.md`, columns [`dancu_domain::citizen::CSV_COLUMNS`]).
//!
//! The same [`GenConfig`] (people, seed, provinces, today) always gives byte-identical
//! output. Rows are streamed one household at a time, so memory does not grow with the
//! number of people.
//!
//! With duplicates ([`generate_with_duplicates`], `dancu gen --duplicates RATE --truth
//! FILE`), every row gains a `record_id` and a `phone` column, a share of people get extra
//! records with realistic errors ([`ErrorKind`]), and a truth file maps every record to its
//! person (docs/CSV.md, "Duplicates and the truth file").
//!
//! ```no_run
//! let cfg = dancu_gen::GenConfig { people: 1000, seed: 42, ..Default::default() };
//! let stats = dancu_gen::generate_to_path(&cfg, "/tmp/people.csv").unwrap();
//! assert_eq!(stats.people, 1000);
//! ```

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;

mod dups;
mod geo;
mod households;
mod names;
mod numfmt;
mod population;
mod sector;
mod typos;
mod weighted;

pub use dups::ErrorKind;
pub use sector::{Profile, SectorStats, SECTOR_COLUMNS};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenConfig {
    /// Exactly this many rows (citizens) are written.
    pub people: u64,
    /// Seed of the random generator (ChaCha8).
    pub seed: u64,
    /// 2025 province codes (2 digits, e.g. `"01"`, `"79"`) households live in; empty means
    /// the whole country.
    pub provinces: Vec<String>,
    /// The generation date: nobody is born or dies after it, ages are counted on it.
    pub today: NaiveDate,
}

/// The default `today` (a fixed date, so that default output is reproducible).
pub const DEFAULT_TODAY: (i32, u32, u32) = (2026, 11, 23);

impl Default for GenConfig {
    fn default() -> Self {
        let (y, m, d) = DEFAULT_TODAY;
        GenConfig {
            people: 1000,
            seed: 0,
            provinces: Vec::new(),
            today: NaiveDate::from_ymd_opt(y, m, d).unwrap(),
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenStats {
    pub people: u64,
    pub households: u64,
    /// Rows written: `people` plus the duplicates.
    pub records: u64,
    /// With duplicates: how many duplicate records carry each [`ErrorKind`] (indexed by
    /// `kind as usize`).
    pub errors: [u64; ErrorKind::COUNT],
}

#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("writing the CSV failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("unknown 2025 province code {0:?} (expected 2 digits, e.g. 01 or 79)")]
    UnknownProvince(String),
    #[error("generation date {0} is out of range (1950-2199)")]
    DateOutOfRange(NaiveDate),
    #[error("no more personal ID numbers for prefix {province}, birth year {year} (10^6 per prefix, year and sex)")]
    IdSpaceExhausted { province: String, year: i32 },
    #[error("duplicate rate {0} is out of range (0 to 1 extra records per person)")]
    DuplicateRate(f64),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Writes `cfg.people` citizens as CSV (a header row, then one row per citizen, UTF-8,
/// `\n` line ends) to `out`. Rows are built in memory one household at a time and handed to
/// `out` in chunks of about 256 KiB, so `out` needs no buffering of its own.
pub fn generate<W: Write>(cfg: &GenConfig, out: W) -> Result<GenStats, GenError> {
    run(cfg, None, out, &mut std::io::sink())
}

/// [`generate`] with duplicates: the same people (the same rows, plus `record_id` and
/// `phone`), and for a share `rate` of them (0–1: extra records per person; some people
/// get two) extra records with errors, written a few rows after the original. The truth
/// (`record_id,person_id`, one row per record) goes to `truth`.
pub fn generate_with_duplicates<W: Write, T: Write>(
    cfg: &GenConfig,
    rate: f64,
    out: W,
    mut truth: T,
) -> Result<GenStats, GenError> {
    if !(0.0..=1.0).contains(&rate) {
        return Err(GenError::DuplicateRate(rate));
    }
    run(cfg, Some(rate), out, &mut truth)
}

fn run<W: Write>(
    cfg: &GenConfig,
    rate: Option<f64>,
    out: W,
    truth: &mut dyn Write,
) -> Result<GenStats, GenError> {
    use chrono::Datelike;
    if !(1950..=2199).contains(&cfg.today.year()) {
        return Err(GenError::DateOutOfRange(cfg.today));
    }
    let names = names::Names::new();
    let shapes = households::Shapes::new();
    let mut g = population::Generator::new(cfg, &names, &shapes)?;
    g.dups = rate.map(|r| dups::Duplicator::new(cfg.seed, r));
    let mut out = out;
    g.run(cfg.people, &mut out, truth)
}

/// [`generate`] into a new file at `path` (replaced if it exists).
pub fn generate_to_path(cfg: &GenConfig, path: impl AsRef<Path>) -> Result<GenStats, GenError> {
    let mut file = std::fs::File::create(path)?;
    let stats = generate(cfg, &mut file)?;
    file.flush()?;
    Ok(stats)
}

/// The independent error model (docs/ERROR_MODEL.md): the population of `cfg` written as
/// a sector list ([`SECTOR_COLUMNS`]) with duplicates (`rate` extra records per person) and
/// hard negatives, every record with its own errors drawn by `profile`; the truth
/// (`record_id,person_id`) goes to `truth`.
pub fn generate_sector_list<W: Write, T: Write>(
    cfg: &GenConfig,
    profile: &Profile,
    rate: f64,
    out: W,
    truth: T,
) -> Result<SectorStats, GenError> {
    if !(0.0..=1.0).contains(&rate) {
        return Err(GenError::DuplicateRate(rate));
    }
    let mut w = sector::SectorWriter::new(cfg.seed, profile.clone(), rate, out, truth)?;
    generate(cfg, &mut w)?;
    Ok(w.finish()?)
}

/// [`generate_sector_list`] into new files (replaced if they exist).
pub fn generate_sector_list_to_path(
    cfg: &GenConfig,
    profile: &Profile,
    rate: f64,
    path: impl AsRef<Path>,
    truth: Option<&Path>,
) -> Result<SectorStats, GenError> {
    let out = std::io::BufWriter::with_capacity(256 * 1024, std::fs::File::create(path)?);
    match truth {
        Some(t) => {
            let t = std::io::BufWriter::with_capacity(256 * 1024, std::fs::File::create(t)?);
            generate_sector_list(cfg, profile, rate, out, t)
        }
        None => generate_sector_list(cfg, profile, rate, out, std::io::sink()),
    }
}

/// One line for people: how many duplicates were written and how often each error occurs.
pub fn describe_duplicates(stats: &GenStats) -> String {
    let mut s = format!(
        "{} records: {} originals and {} duplicates; errors in duplicates:",
        stats.records,
        stats.people,
        stats.records - stats.people
    );
    for k in ErrorKind::ALL {
        s.push_str(&format!(" {} {}", k.code(), stats.errors[k as usize]));
    }
    s
}

/// [`generate_with_duplicates`] into new files (replaced if they exist); without `truth`
/// the truth rows are not kept.
pub fn generate_with_duplicates_to_path(
    cfg: &GenConfig,
    rate: f64,
    path: impl AsRef<Path>,
    truth: Option<&Path>,
) -> Result<GenStats, GenError> {
    let mut file = std::fs::File::create(path)?;
    let stats = match truth {
        Some(t) => {
            let mut t = std::io::BufWriter::with_capacity(256 * 1024, std::fs::File::create(t)?);
            let stats = generate_with_duplicates(cfg, rate, &mut file, &mut t)?;
            t.flush()?;
            stats
        }
        None => generate_with_duplicates(cfg, rate, &mut file, std::io::sink())?,
    };
    file.flush()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use unicode_normalization::is_nfc;

    #[test]
    fn literals_are_nfc_and_valid_name_words() {
        for s in crate::names::all_literals() {
            assert!(is_nfc(s), "{s:?} is not NFC");
            dancu_domain::NameParts::new("Lê", "", s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        }
        for s in crate::geo::all_literals() {
            assert!(is_nfc(s), "{s:?} is not NFC");
        }
    }

    #[test]
    fn rejects_dates_out_of_range() {
        let cfg = crate::GenConfig {
            today: chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap(),
            ..Default::default()
        };
        assert!(matches!(crate::generate(&cfg, Vec::new()), Err(crate::GenError::DateOutOfRange(_))));
    }
}
