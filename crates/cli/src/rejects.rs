//! The files an import writes bad rows to: the rejects file (`line,field,rule,message_vi,
//! message_en`, then the row's own columns) and, beside it, `….conflicts.csv` in the same
//! shape for rows whose personal ID is already stored with other data (`citizen.conflict`):
//! those need a person to decide which record is right, not a correction of the row.
//!
//! Each is written to `<path>.partial`, flushed after every committed batch (an interrupted
//! import leaves whole rows up to its last batch) and renamed to `<path>` at the end.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use dancu_domain::citizen::CSV_COLUMNS;
use dancu_domain::Violation;

/// The rule that sends a row to the conflicts file.
pub const CONFLICT_RULE: &str = "citizen.conflict";

struct RowFile {
    w: csv::Writer<std::fs::File>,
    count: u64,
    partial: PathBuf,
    path: PathBuf,
}

impl RowFile {
    fn create(path: &Path) -> Result<Self> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        // Flexible: a rejected row may have more fields than the header (short rows are
        // padded below, so every row has at least the header's columns).
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_path(&partial)
            .with_context(|| format!("creating {}", partial.display()))?;
        let mut header = vec!["line", "field", "rule", "message_vi", "message_en"];
        header.extend(CSV_COLUMNS);
        w.write_record(&header)?;
        w.flush()?;
        Ok(RowFile { w, count: 0, partial, path: path.to_path_buf() })
    }

    fn finish(&mut self) -> Result<()> {
        self.w.flush()?;
        self.w.get_ref().sync_all()?;
        std::fs::rename(&self.partial, &self.path)
            .with_context(|| format!("renaming {} to {}", self.partial.display(), self.path.display()))
    }
}

/// `x.rejects.csv` → `x.conflicts.csv`; any other name gets `.conflicts.csv` for its extension.
pub fn conflicts_path(rejects: &Path) -> PathBuf {
    let name = rejects.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match name.strip_suffix(".rejects.csv") {
        Some(stem) => rejects.with_file_name(format!("{stem}.conflicts.csv")),
        None => rejects.with_extension("conflicts.csv"),
    }
}

pub struct Rejects {
    rejects: RowFile,
    conflicts: RowFile,
}

impl Rejects {
    pub fn create(path: &Path) -> Result<Self> {
        Ok(Rejects { rejects: RowFile::create(path)?, conflicts: RowFile::create(&conflicts_path(path))? })
    }

    pub fn conflicts_path(&self) -> &Path {
        &self.conflicts.path
    }

    /// Makes what is written so far durable in the partial files.
    pub fn flush(&mut self) -> Result<()> {
        self.rejects.w.flush()?;
        self.conflicts.w.flush()?;
        Ok(())
    }

    /// Flushes and gives the files their final names.
    pub fn finish(&mut self) -> Result<()> {
        self.rejects.finish()?;
        self.conflicts.finish()
    }

    /// Rows rejected, and same-ID conflicts.
    pub fn counts(&self) -> (u64, u64) {
        (self.rejects.count, self.conflicts.count)
    }

    pub fn write(&mut self, line: u64, v: &Violation, raw: &csv::StringRecord) -> Result<()> {
        self.write_all(line, std::slice::from_ref(v), raw)
    }

    /// One line per bad row; several broken rules are joined with ` | `.
    pub fn write_all(&mut self, line: u64, vs: &[Violation], raw: &csv::StringRecord) -> Result<()> {
        let file =
            if vs.iter().any(|v| v.rule == CONFLICT_RULE) { &mut self.conflicts } else { &mut self.rejects };
        let line = line.to_string();
        let join = |f: &dyn Fn(&Violation) -> &str| vs.iter().map(f).collect::<Vec<_>>().join(" | ");
        let (field, rule) = (join(&|v| v.field.as_str()), join(&|v| v.rule));
        let (vi, en) = (join(&|v| v.message_vi.as_str()), join(&|v| v.message_en.as_str()));
        let mut rec: Vec<&str> = vec![&line, &field, &rule, &vi, &en];
        rec.extend(raw.iter());
        while rec.len() < 5 + CSV_COLUMNS.len() {
            rec.push("");
        }
        file.w.write_record(&rec)?;
        file.count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_conflicts_file_sits_beside_the_rejects_file() {
        assert_eq!(conflicts_path(Path::new("/d/x.rejects.csv")), Path::new("/d/x.conflicts.csv"));
        assert_eq!(conflicts_path(Path::new("/d/bad.csv")), Path::new("/d/bad.conflicts.csv"));
    }
}
