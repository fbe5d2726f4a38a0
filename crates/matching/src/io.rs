//! Reading lists into records. Rows are read as bytes (a list saved in a legacy 8-bit
//! encoding is not valid UTF-8), in chunks parsed in parallel. Nothing is dropped silently:
//! a row that cannot be matched goes to the issues list with its line, column and rule.

use crate::fastmap::FastMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::MatchConfig;
use crate::normalise::decode_field;
use crate::record::{self, Interner, Issue, Kind, Record, RowFields, KINDS};

#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error("{}: {source}", file_name(path))]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: line {line}: {message}", file_name(path))]
    Csv { path: PathBuf, line: u64, message: String },
    #[error(
        "{}: key `{key}` names column `{column}`, which is not in the header (columns: {available})",
        file_name(path)
    )]
    UnknownColumn { path: PathBuf, key: String, column: String, available: String },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("{}: line {line}: {message}", file_name(path))]
    Truth { path: PathBuf, line: u64, message: String },
    #[error(transparent)]
    Unparsed(Box<Unparsed>),
}

/// A file named in an error: its name only, never the folder it sits in (on a server that
/// would be a temporary path).
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// A column whose values mostly break a rule.
#[derive(Debug, thiserror::Error)]
#[error(
    "{}: column `{column}` (key `{key}`): {failed} of {rows} rows break rule {rule}, e.g. {example:?} \
     (line {line}); declare the format in the mapping (e.g. settings.date_formats = [\"%Y%m%d\"]) \
     or allow the column with settings.allow_unparsed = [\"{column}\"]",
    file_name(path)
)]
pub struct Unparsed {
    pub path: PathBuf,
    pub key: String,
    pub column: String,
    pub rule: &'static str,
    pub failed: u64,
    pub rows: u64,
    pub example: String,
    pub line: u32,
}

/// Records read so far, with one interner shared by every source.
#[derive(Debug, Default)]
pub struct Loader {
    pub interner: Interner,
    pub records: Vec<Record>,
    pub ids: Vec<Box<str>>,
    pub issues: Vec<Issue>,
    /// The `[categories]` slot keyed `sex`, when the mapping has one.
    pub sex_category: Option<usize>,
}

/// Where each kind's value is in a row (column index), from the header.
#[derive(Debug, Clone)]
struct Layout {
    names: Vec<String>,
    kinds: [Option<usize>; KINDS.len()],
    /// Kinds read from several columns.
    joined: Vec<(Kind, Vec<usize>)>,
    cats: Vec<usize>,
    width: usize,
}

fn layout(header: &csv::ByteRecord, cfg: &MatchConfig, path: &Path) -> Result<Layout, MatchError> {
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = decode_field(h);
            // A byte-order mark before the first column name is tolerated.
            if i == 0 {
                h.trim_start_matches('\u{feff}').trim().to_string()
            } else {
                h.trim().to_string()
            }
        })
        .collect();
    let find = |key: &str, col: &str| -> Result<Option<usize>, MatchError> {
        match names.iter().position(|n| n == col) {
            Some(i) => Ok(Some(i)),
            None if cfg.settings.optional_columns.iter().any(|c| c == col) => Ok(None),
            None => Err(MatchError::UnknownColumn {
                path: path.to_path_buf(),
                key: key.to_string(),
                column: col.to_string(),
                available: names.join(","),
            }),
        }
    };
    let mut kinds = [None; KINDS.len()];
    let mut joined = Vec::new();
    for k in KINDS {
        if let Some(list) = cfg.joined.get(k.key()) {
            let mut idx = Vec::new();
            for col in list {
                if let Some(i) = find(&format!("columns.{}", k.key()), col)? {
                    idx.push(i);
                }
            }
            kinds[k as usize] = idx.first().copied();
            joined.push((k, idx));
        } else if let Some(col) = cfg.column(k.key()) {
            kinds[k as usize] = find(&format!("columns.{}", k.key()), col)?;
        }
    }
    let mut cats = Vec::new();
    for (name, col) in &cfg.categories {
        cats.push(find(&format!("categories.{name}"), col)?.unwrap_or(usize::MAX));
    }
    let width = names.len();
    Ok(Layout { names, kinds, joined, cats, width })
}

const CHUNK: usize = 16_384;

/// A row after parsing: the record and its id (unless dropped), and its problems.
type Parsed = (Option<(Record, String)>, Vec<Issue>);

impl Loader {
    /// Reads a CSV file as source `source`. Fatal: unreadable file, a header that lacks a
    /// mapped column. Per row: a wrong number of fields, no name, an empty or repeated
    /// record id drop the row (reported); an unreadable field is reported and left empty.
    pub fn read_csv(&mut self, path: &Path, cfg: &MatchConfig, source: u8) -> Result<(), MatchError> {
        let file = std::fs::File::open(path).map_err(|e| MatchError::Io { path: path.into(), source: e })?;
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .buffer_capacity(1 << 20)
            .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
        let csv_err = |e: csv::Error| MatchError::Csv {
            path: path.into(),
            line: e.position().map(|p| p.line()).unwrap_or(0),
            message: e.to_string(),
        };
        let header = rdr.byte_headers().map_err(csv_err)?.clone();
        let lay = layout(&header, cfg, path)?;
        let mut seen: FastMap<u64, u32> = FastMap::default();
        let has_id = lay.kinds[Kind::RecordId as usize].is_some();
        // One thread splits the CSV into chunks while the pool parses the previous chunk.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<csv::ByteRecord>, MatchError>>(2);
        std::thread::scope(|scope| {
            scope.spawn(move || loop {
                let mut chunk: Vec<csv::ByteRecord> = Vec::with_capacity(CHUNK);
                let mut rec = csv::ByteRecord::new();
                let mut failed = None;
                while chunk.len() < CHUNK {
                    match rdr.read_byte_record(&mut rec) {
                        Ok(true) => chunk.push(std::mem::take(&mut rec)),
                        Ok(false) => break,
                        Err(e) => {
                            failed = Some(csv_err(e));
                            break;
                        }
                    }
                }
                let last = chunk.len() < CHUNK || failed.is_some();
                if !chunk.is_empty() && tx.send(Ok(chunk)).is_err() {
                    return;
                }
                if let Some(e) = failed {
                    let _ = tx.send(Err(e));
                }
                if last {
                    return;
                }
            });
            let mut rows = 0u64;
            let mut failures: FastMap<(String, &'static str), u64> = FastMap::default();
            for chunk in rx {
                let chunk = chunk?;
                let parsed: Vec<Parsed> =
                    chunk.par_iter().map(|row| self.parse_row(row, &lay, cfg)).collect();
                rows += chunk.len() as u64;
                for (_, issues) in &parsed {
                    // An empty name is not a value that failed to parse.
                    for i in issues.iter().filter(|i| !i.dropped && i.rule != "name.missing") {
                        *failures.entry((i.column.clone(), i.rule)).or_default() += 1;
                    }
                }
                // A column that mostly fails stops the run at once (after the first chunk).
                self.check_unparsed(path, cfg, &lay, &chunk, &parsed, rows, &failures)?;
                self.push_parsed(parsed, cfg, source, has_id, &mut seen);
            }
            Ok(())
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn check_unparsed(
        &self,
        path: &Path,
        cfg: &MatchConfig,
        lay: &Layout,
        chunk: &[csv::ByteRecord],
        parsed: &[Parsed],
        rows: u64,
        failures: &FastMap<(String, &'static str), u64>,
    ) -> Result<(), MatchError> {
        const MIN_ROWS: u64 = 20;
        if rows < MIN_ROWS.min(chunk.len() as u64).max(1) {
            return Ok(());
        }
        let limit = cfg.settings.max_unparsed_share * rows as f64;
        let mut worst: Vec<(&(String, &'static str), &u64)> = failures
            .iter()
            .filter(|(k, &n)| n as f64 > limit && !cfg.settings.allow_unparsed.contains(&k.0))
            .collect();
        worst.sort();
        let Some(((column, rule), &failed)) = worst.first().map(|(k, n)| (*k, *n)) else { return Ok(()) };
        let col_index = lay.names.iter().position(|n| n == column);
        let (line, example) = parsed
            .iter()
            .flat_map(|p| p.1.iter())
            .find(|i| &i.column == column && i.rule == *rule)
            .map(|i| {
                let v = chunk
                    .iter()
                    .find(|r| r.position().map(|p| p.line() as u32) == Some(i.line))
                    .and_then(|r| col_index.and_then(|c| r.get(c)))
                    .map(|b| decode_field(b).into_owned())
                    .unwrap_or_default();
                (i.line, v)
            })
            .unwrap_or_default();
        let key = cfg.referenced().into_iter().find(|(_, c)| c == column).map(|(k, _)| k).unwrap_or_default();
        Err(MatchError::Unparsed(Box::new(Unparsed {
            path: path.into(),
            key,
            column: column.clone(),
            rule,
            failed,
            rows,
            example,
            line,
        })))
    }

    fn parse_row(&self, row: &csv::ByteRecord, lay: &Layout, cfg: &MatchConfig) -> Parsed {
        let line = row.position().map(|p| p.line()).unwrap_or(0) as u32;
        let mut issues = Vec::new();
        if row.len() != lay.width {
            issues.push(Issue {
                line,
                column: format!("({} fields, header has {})", row.len(), lay.width),
                rule: "row.field_count",
                dropped: true,
            });
            return (None, issues);
        }
        let mut f = RowFields::default();
        for k in KINDS {
            if let Some(i) = lay.kinds[k as usize] {
                f.set(k, decode_field(&row[i]));
            }
        }
        for (k, idx) in &lay.joined {
            let parts: Vec<String> = idx
                .iter()
                .map(|&i| decode_field(&row[i]).trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
            f.set(*k, parts.join(" "));
        }
        for (slot, &i) in lay.cats.iter().enumerate() {
            if i != usize::MAX {
                f.cats[slot] = decode_field(&row[i]);
            }
        }
        let built = record::build(f, cfg, &self.interner, line, &mut issues);
        (built, issues)
    }

    /// Adds rows built elsewhere (records from the database), in parallel. With
    /// `has_id_column`, each row's `RecordId` value names it (an empty one is rejected);
    /// otherwise the line number does.
    pub fn push_rows(
        &mut self,
        rows: Vec<(u32, RowFields<'_>)>,
        cfg: &MatchConfig,
        source: u8,
        has_id_column: bool,
    ) {
        let mut seen = FastMap::default();
        let parsed: Vec<Parsed> = rows
            .into_par_iter()
            .map(|(line, f)| {
                let mut issues = Vec::new();
                (record::build(f, cfg, &self.interner, line, &mut issues), issues)
            })
            .collect();
        self.push_parsed(parsed, cfg, source, has_id_column, &mut seen);
    }

    fn push_parsed(
        &mut self,
        parsed: Vec<Parsed>,
        cfg: &MatchConfig,
        source: u8,
        has_id_column: bool,
        seen: &mut FastMap<u64, u32>,
    ) {
        self.sex_category = cfg.categories.iter().position(|(key, _)| key == "sex");
        let id_col = cfg.column(Kind::RecordId.key()).unwrap_or("record_id");
        let reject =
            |line: u32, rule: &'static str| Issue { line, column: id_col.to_string(), rule, dropped: true };
        for (built, issues) in parsed {
            self.issues.extend(issues);
            let Some((mut r, id)) = built else { continue };
            r.source = source;
            let id: Box<str> = match (has_id_column, id.is_empty()) {
                (true, true) => {
                    self.issues.push(reject(r.line, "record_id.missing"));
                    continue;
                }
                // Without a record-id column the line number names the row.
                (false, _) => format!("line{}", r.line).into(),
                (true, false) => id.into(),
            };
            // Ids are remembered by a 64-bit hash and the index of the record (not a second
            // copy of every id); a hit is confirmed against the id itself.
            let h = crate::normalise::hash_bytes(0, id.as_bytes());
            let earlier = seen.get(&h).copied();
            if earlier.is_some_and(|i| self.ids[i as usize] == id) {
                self.issues.push(reject(r.line, "record_id.duplicate"));
                continue;
            }
            if earlier.is_none() {
                seen.insert(h, self.records.len() as u32);
            }
            self.records.push(r);
            self.ids.push(id);
        }
    }
}

/// Writes the issues list (`line,column,rule,action`).
pub fn write_issues(path: &Path, issues: &[Issue]) -> Result<(), MatchError> {
    let io = |e: std::io::Error| MatchError::Io { path: path.into(), source: e };
    let mut w = csv::Writer::from_path(path).map_err(|e| io(e.into()))?;
    w.write_record(["line", "column", "rule", "action"]).map_err(|e| io(e.into()))?;
    for i in issues {
        let action = if i.dropped { "row_rejected" } else { "field_ignored" };
        w.write_record([i.line.to_string().as_str(), &i.column, i.rule, action]).map_err(|e| io(e.into()))?;
    }
    w.flush().map_err(io)
}
