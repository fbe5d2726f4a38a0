//! `dancu import citizens FILE.csv`: streams the file, validates every row, stores the good
//! ones in batches (one transaction each) and writes each bad row to a rejects file with
//! its line, field and rule. A household group (contiguous rows with the same household
//! number) is accepted or rejected whole, and never split across batches. Re-running a file
//! adds nothing twice (rows stored exactly as given are counted as already present). A
//! failure or crash leaves earlier batches and earlier data intact.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::rejects::Rejects;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use dancu_domain::citizen::{CitizenDraft, CSV_COLUMNS};
use dancu_domain::household::validate_number;
use dancu_domain::{Relation, Violation};
use dancu_store::registry::{Access, Registry};
use dancu_store::{ImportOptions, ImportRow};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    /// CSV file in the format of docs/CSV.md.
    pub file: PathBuf,
    #[arg(long, env = "DANCU_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Where bad rows go (default: FILE.rejects.csv).
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Rows per transaction.
    #[arg(long, default_value_t = 20_000)]
    pub batch: usize,
    /// Reason recorded on every imported record.
    #[arg(long)]
    pub reason: Option<String>,
    /// Add the new members of a household group to the household of the same number
    /// already in the database (same head; the stored members the group lists must be
    /// unchanged). Without it such a group is rejected whole (`household.exists`) unless
    /// every row is already stored as given.
    #[arg(long)]
    pub append_to_existing_households: bool,
}

#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    pub rows: u64,
    pub inserted: u64,
    pub skipped_existing: u64,
    pub rejected: u64,
    /// Rows whose personal ID is stored with other data (`citizen.conflict`), in a file of
    /// their own: they need a person to decide, not a fix of the row.
    pub conflicts: u64,
    pub seconds: f64,
    pub rejects_file: PathBuf,
    pub conflicts_file: PathBuf,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rows: {} imported, {} already present, {} rejected (see {}), {} same-ID conflicts (see {}) in {:.2}s ({:.0} rows/s)",
            self.rows,
            self.inserted,
            self.skipped_existing,
            self.rejected,
            self.rejects_file.display(),
            self.conflicts,
            self.conflicts_file.display(),
            self.seconds,
            self.rows as f64 / self.seconds.max(1e-9)
        )
    }
}

/// A validated row waiting for its household group to complete.
struct Parsed {
    row: ImportRow,
    raw: csv::StringRecord,
}

/// Columns `dancu gen --duplicates` adds for matching tests; the registry does not keep them.
const IGNORED_COLUMNS: [&str; 2] = ["record_id", "phone"];

/// Maps the file's header to [`CSV_COLUMNS`]; any order is accepted, but every column must
/// be present and no unknown column may appear (the [`IGNORED_COLUMNS`] are allowed).
/// Returns the map and the number of columns a row must have.
fn column_map(header: &csv::ByteRecord) -> Result<(Vec<usize>, usize)> {
    let names: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let unknown: Vec<&String> = names
        .iter()
        .filter(|n| !CSV_COLUMNS.contains(&n.as_str()) && !IGNORED_COLUMNS.contains(&n.as_str()))
        .collect();
    let missing: Vec<&str> = CSV_COLUMNS.iter().copied().filter(|c| !names.iter().any(|n| n == c)).collect();
    if !unknown.is_empty() || !missing.is_empty() {
        bail!(
            "header line: unknown columns {unknown:?}, missing columns {missing:?} (expected the columns of docs/CSV.md: {})",
            CSV_COLUMNS.join(",")
        );
    }
    let map = CSV_COLUMNS.iter().map(|c| names.iter().position(|n| n == c).unwrap()).collect();
    Ok((map, names.len()))
}

fn field_count(found: usize, width: usize) -> Violation {
    Violation::new(
        "row",
        "csv.field_count",
        format!("Dòng có {found} cột, cần {width}"),
        format!("the row has {found} fields, expected {width}"),
    )
}

/// Reads and validates rows on a thread of its own, sending batches of whole households.
fn parse_thread(
    path: PathBuf,
    batch_size: usize,
    rejects: Arc<Mutex<Rejects>>,
    tx: tokio::sync::mpsc::Sender<Vec<ImportRow>>,
    bar: ProgressBar,
) -> Result<u64> {
    let file = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    let (map, width) = column_map(rdr.byte_headers()?)?;
    let today = dancu_domain::date::vietnam_today(Utc::now());
    // One record reused for every row: its buffer is checked as UTF-8 once and read as
    // text in place (no allocation per field); only rows kept for their household's
    // check copy it.
    let mut rec = csv::ByteRecord::new();
    let mut rows = 0u64;
    let mut batch: Vec<ImportRow> = Vec::with_capacity(batch_size);
    let mut group: Vec<Parsed> = Vec::new();
    let mut group_no = String::new();
    // The line of the current group's head when its row was refused: the group is then
    // rejected whole.
    let mut head_refused: Option<u64> = None;

    let flush_group = |group: &mut Vec<Parsed>,
                       head_refused: &mut Option<u64>,
                       batch: &mut Vec<ImportRow>|
     -> Result<()> {
        let refused = head_refused.take();
        let heads = group.iter().filter(|p| matches!(p.row.household, Some((_, Relation::Head)))).count();
        if group.is_empty() || (heads == 1 && refused.is_none()) {
            batch.extend(group.drain(..).map(|p| p.row));
            return Ok(());
        }
        let no = group[0].row.household.as_ref().map(|h| h.0.clone()).unwrap_or_default();
        let v = match refused {
            Some(line) => Violation::new(
                "household_no",
                "household.head_refused",
                format!("Chủ hộ của hộ {no} (dòng {line}) bị từ chối nên cả hộ bị từ chối"),
                format!("the head of household {no} (line {line}) was refused, so the whole household is rejected"),
            ),
            None => Violation::new(
                "household_no",
                "household.head_count",
                format!("Hộ {no} có {heads} chủ hộ trong tệp; các dòng của một hộ phải liền nhau và có đúng một chủ hộ"),
                format!("household {no} has {heads} heads in this file; a household's rows must be contiguous with exactly one head"),
            ),
        };
        let mut r = rejects.lock().unwrap();
        for p in group.drain(..) {
            r.write(p.row.line, &v, &p.raw)?;
        }
        Ok(())
    };

    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // A broken record (e.g. an unterminated quote) cannot be skipped safely.
                bail!("line {}: unreadable CSV: {e}", rec.position().map(|p| p.line()).unwrap_or(0));
            }
        }
        rows += 1;
        let line = rec.position().map(|p| p.line()).unwrap_or(rows + 1);
        if rows.is_multiple_of(16_384) {
            bar.set_position(rec.position().map(|p| p.byte()).unwrap_or(0));
        }
        let bytes = std::mem::take(&mut rec);
        let raw = match csv::StringRecord::from_byte_record(bytes) {
            Ok(text) => text,
            Err(e) => {
                let i = e.utf8_error().field();
                let bytes = e.into_byte_record();
                let lossy: Vec<String> =
                    bytes.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
                let v = if bytes.len() != width {
                    field_count(bytes.len(), width)
                } else {
                    Violation::new(
                        CSV_COLUMNS[map.iter().position(|&m| m == i).unwrap_or(0)],
                        "encoding.utf8",
                        "Không phải UTF-8 hợp lệ",
                        "not valid UTF-8",
                    )
                };
                rejects.lock().unwrap().write(line, &v, &csv::StringRecord::from(lossy))?;
                rec = bytes;
                continue;
            }
        };
        let reject = |v: Violation| -> Result<()> { rejects.lock().unwrap().write(line, &v, &raw) };
        if raw.len() != width {
            reject(field_count(raw.len(), width))?;
            rec = raw.into_byte_record();
            continue;
        }
        let field = |i: usize| &raw[map[i]];
        let (no, rel) = (field(26).trim(), field(27).trim());
        // Groups are cut before validation, so that a refused row still counts for its
        // household.
        if no != group_no {
            flush_group(&mut group, &mut head_refused, &mut batch)?;
            group_no.clear();
            group_no.push_str(no);
            if batch.len() >= batch_size
                && tx.blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(batch_size))).is_err()
            {
                bail!("the database side stopped");
            }
        }
        let refuse_head = |head_refused: &mut Option<u64>| {
            if !no.is_empty() && head_refused.is_none() && matches!(Relation::parse(rel), Ok(Relation::Head))
            {
                *head_refused = Some(line);
            }
        };
        let draft = CitizenDraft::from_columns((0..26).map(field));
        let citizen = match draft.validate(today) {
            Ok(c) => c,
            Err(errs) => {
                rejects.lock().unwrap().write_all(line, &errs, &raw)?;
                refuse_head(&mut head_refused);
                rec = raw.into_byte_record();
                continue;
            }
        };
        let household = if no.is_empty() {
            None
        } else {
            match validate_number(no).and_then(|_| Relation::parse(rel)) {
                Ok(r) => Some((no.to_string(), r)),
                Err(v) => {
                    reject(v)?;
                    refuse_head(&mut head_refused);
                    rec = raw.into_byte_record();
                    continue;
                }
            }
        };
        let row = ImportRow { line, citizen, household };
        if row.household.is_none() {
            batch.push(row);
            rec = raw.into_byte_record();
        } else {
            group.push(Parsed { row, raw: raw.clone() });
            rec = raw.into_byte_record();
        }
    }
    flush_group(&mut group, &mut head_refused, &mut batch)?;
    if !batch.is_empty() && tx.blocking_send(batch).is_err() {
        bail!("the database side stopped");
    }
    Ok(rows)
}

pub async fn run(args: &ImportArgs, url: &str, progress: bool) -> Result<ImportReport> {
    let (_db, registry, writer) = crate::config::open_registry(url).await?;
    let report = import_into(&registry, args, progress).await;
    drop(registry);
    writer.shutdown().await;
    report
}

/// Imports through the registry, as the nation-wide job `system:import` (each batch is
/// written ahead in the audit log, and every stored row carries the import's reason).
pub async fn import_into(registry: &Registry, args: &ImportArgs, progress: bool) -> Result<ImportReport> {
    let started = Instant::now();
    let rejects_path = args.rejects.clone().unwrap_or_else(|| {
        let mut p = args.file.clone().into_os_string();
        p.push(".rejects.csv");
        PathBuf::from(p)
    });
    let rejects = Arc::new(Mutex::new(Rejects::create(&rejects_path)?));
    // XLSX and `;` files are read through a `,` copy (its rows keep the sheet's row numbers).
    let input = crate::table_input::comma_csv(&args.file)?;
    let size =
        std::fs::metadata(&input.path).with_context(|| format!("opening {}", args.file.display()))?.len();
    let bar = if progress { ProgressBar::new(size) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta})",
        )
        .unwrap(),
    );
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<ImportRow>>(2);
    let parser = {
        let (path, rejects, bar) = (input.path.clone(), rejects.clone(), bar.clone());
        let batch = args.batch.max(1);
        std::thread::spawn(move || parse_thread(path, batch, rejects, tx, bar))
    };
    let file_name = args.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let reason = args.reason.clone().unwrap_or_else(|| format!("nhập dữ liệu từ tệp {file_name}"));
    let a = Access::system("import", &reason);
    let conflicts_file = rejects.lock().unwrap().conflicts_path().to_path_buf();
    let mut report = ImportReport { rejects_file: rejects_path, conflicts_file, ..Default::default() };
    // About 200 bytes a row in generated files; the estimate only decides whether the
    // search indexes are rebuilt once at the end instead of maintained row by row.
    registry.import_begin(&a, size / 200).await.context("preparing the import")?;
    let mut db_time = std::time::Duration::ZERO;
    let opts = ImportOptions { append_to_existing_households: args.append_to_existing_households };
    while let Some(batch) = rx.recv().await {
        let t = Instant::now();
        let outcome = registry
            .import_batch(&a, &batch, &reason, &opts)
            .await
            .context("storing a batch (earlier batches are kept)")?;
        db_time += t.elapsed();
        report.inserted += outcome.inserted;
        report.skipped_existing += outcome.skipped_existing;
        if !outcome.rejected.is_empty() {
            let mut r = rejects.lock().unwrap();
            for (line, v) in &outcome.rejected {
                // Batches are in file order: a whole province may be rejected, so no scan.
                let raw = batch
                    .binary_search_by_key(line, |row| row.line)
                    .map(|i| raw_of(&batch[i]))
                    .unwrap_or_default();
                r.write(*line, v, &csv::StringRecord::from(raw))?;
            }
        }
        // The batch is committed: its rejects (and the parser's so far) are on disk too.
        rejects.lock().unwrap().flush()?;
    }
    report.rows = parser.join().map_err(|_| anyhow::anyhow!("the CSV reader panicked"))??;
    bar.set_message("rebuilding search indexes");
    let t = Instant::now();
    registry.import_finish(&a).await.context("rebuilding the search indexes")?;
    tracing::info!(
        batches_s = db_time.as_secs_f64(),
        index_rebuild_s = t.elapsed().as_secs_f64(),
        "database time"
    );
    bar.finish_and_clear();
    let mut r = rejects.lock().unwrap();
    r.finish()?;
    (report.rejected, report.conflicts) = r.counts();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn raw_of(row: &ImportRow) -> Vec<String> {
    let d = row.citizen.to_draft();
    let mut v = vec![
        d.personal_id,
        d.family_name,
        d.middle_name,
        d.given_name,
        d.other_names,
        d.birth_date,
        d.sex,
        d.birth_place,
        d.hometown,
        d.ethnicity,
        d.religion,
        d.nationality,
        d.permanent_unit,
        d.permanent_detail,
        d.temporary_unit,
        d.temporary_detail,
        d.current_unit,
        d.current_detail,
        d.father_id,
        d.father_name,
        d.mother_id,
        d.mother_name,
        d.spouse_id,
        d.cmnd,
        d.status,
        d.death_date,
    ];
    match &row.household {
        Some((no, rel)) => v.extend([no.clone(), rel.code().to_string()]),
        None => v.extend([String::new(), String::new()]),
    }
    v
}
