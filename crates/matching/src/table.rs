//! Lists as officers keep them: XLSX workbooks and CSV separated by `,` or by `;` (Excel's
//! default in vi-VN). [`as_comma_csv`] gives the file every reader here takes (a `,` CSV):
//! the file itself when it already is one, else a converted copy. The delimiter is decided
//! from the header row (more `;` than `,` outside quotes → `;`); a `;` file is re-delimited
//! byte for byte, so a legacy 8-bit encoding is still repaired downstream. Errors name the
//! file by its name only (never a server path), and the row and column.

use std::path::{Path, PathBuf};

use calamine::{Data, Reader, Xlsx};

use crate::io::MatchError;

/// How a list file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    Xlsx,
    Csv { delimiter: u8 },
}

/// XLSX by its zip signature, else CSV with the delimiter the header row uses.
pub fn sniff(bytes: &[u8]) -> TableKind {
    if bytes.starts_with(b"PK\x03\x04") {
        return TableKind::Xlsx;
    }
    let header = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let (mut commas, mut semis, mut quoted) = (0, 0, false);
    for &b in header {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semis += 1,
            _ => {}
        }
    }
    TableKind::Csv { delimiter: if semis > commas { b';' } else { b',' } }
}

fn io_err(path: &Path, e: std::io::Error) -> MatchError {
    MatchError::Io { path: path.into(), source: e }
}

fn csv_err(path: &Path, line: u64, message: String) -> MatchError {
    MatchError::Csv { path: path.into(), line, message }
}

/// `path` as a `,`-separated CSV: itself, or a converted copy written to `scratch`.
pub fn as_comma_csv(path: &Path, scratch: &Path) -> Result<PathBuf, MatchError> {
    let mut head = [0u8; 64 * 1024];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
        f.read(&mut head).map_err(|e| io_err(path, e))?
    };
    match sniff(&head[..n]) {
        TableKind::Csv { delimiter: b',' } => Ok(path.to_path_buf()),
        TableKind::Csv { delimiter } => {
            redelimit(path, scratch, delimiter)?;
            Ok(scratch.to_path_buf())
        }
        TableKind::Xlsx => {
            xlsx_to_csv(path, scratch)?;
            Ok(scratch.to_path_buf())
        }
    }
}

fn writer(path: &Path, scratch: &Path) -> Result<csv::Writer<std::fs::File>, MatchError> {
    csv::WriterBuilder::new()
        .flexible(true)
        .from_path(scratch)
        .map_err(|e| csv_err(path, 0, format!("cannot write a working copy: {e}")))
}

fn redelimit(path: &Path, scratch: &Path, delimiter: u8) -> Result<(), MatchError> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_path(path)
        .map_err(|e| csv_err(path, 0, e.to_string()))?;
    let mut w = writer(path, scratch)?;
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => w.write_byte_record(&rec).map_err(|e| csv_err(path, 0, e.to_string()))?,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(csv_err(path, line, e.to_string()));
            }
        }
    }
    w.flush().map_err(|e| io_err(path, e))
}

/// The first sheet, one CSV row per sheet row: text as is, whole numbers without a decimal
/// point, dates as `DD/MM/YYYY`. A cell holding an error (`#N/A` …) is refused with its row
/// and column.
fn xlsx_to_csv(path: &Path, scratch: &Path) -> Result<(), MatchError> {
    let unreadable = |e: String| csv_err(path, 0, format!("not a readable XLSX workbook: {e}"));
    let mut wb: Xlsx<_> =
        calamine::open_workbook(path).map_err(|e: calamine::XlsxError| unreadable(e.to_string()))?;
    let range = match wb.worksheet_range_at(0) {
        Some(r) => r.map_err(|e| unreadable(e.to_string()))?,
        None => return Err(unreadable("the workbook has no sheet".into())),
    };
    let (row0, col0) = range.start().unwrap_or((0, 0));
    let headers: Vec<String> =
        range.rows().next().map(|r| r.iter().map(cell_text).collect()).unwrap_or_default();
    let mut w = writer(path, scratch)?;
    for (i, row) in range.rows().enumerate() {
        let line = u64::from(row0) + i as u64 + 1;
        let mut fields = Vec::with_capacity(row.len());
        for (j, c) in row.iter().enumerate() {
            if let Data::Error(e) = c {
                let col = headers
                    .get(j)
                    .filter(|h| !h.is_empty())
                    .cloned()
                    .unwrap_or_else(|| column_letter(col0 as usize + j));
                return Err(csv_err(path, line, format!("column `{col}`: the cell holds the error {e}")));
            }
            fields.push(cell_text(c));
        }
        w.write_record(&fields).map_err(|e| csv_err(path, line, e.to_string()))?;
    }
    w.flush().map_err(|e| io_err(path, e))
}

fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::DateTime(d) => {
            let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).expect("a valid day");
            let days = d.as_f64().floor() as i64;
            (epoch + chrono::Duration::days(days)).format("%d/%m/%Y").to_string()
        }
        other => other.to_string(),
    }
}

/// `A`, `B`, … `Z`, `AA` …: how Excel names column `i` (from 0).
fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiter_comes_from_the_header_row() {
        assert_eq!(sniff(b"a;b;c\n1,5;2;3"), TableKind::Csv { delimiter: b';' });
        assert_eq!(sniff(b"a,b,\"x;y;z\"\n"), TableKind::Csv { delimiter: b',' });
        assert_eq!(sniff(b"PK\x03\x04rest"), TableKind::Xlsx);
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(27), "AB");
    }
}

#[cfg(test)]
mod files {
    use super::*;

    fn read(path: &Path) -> Vec<Vec<String>> {
        let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_path(path).unwrap();
        rdr.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
    }

    #[test]
    fn an_xlsx_written_by_rust_xlsxwriter_becomes_a_comma_csv() {
        let dir = tempfile::tempdir().unwrap();
        let (src, out) = (dir.path().join("ds.xlsx"), dir.path().join("ds.csv"));
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["so_dinh_danh", "ho_ten", "ngay_sinh", "diem"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "001085001234").unwrap();
        ws.write_string(1, 1, "Nguyễn Văn Ấn, con").unwrap();
        let day = rust_xlsxwriter::ExcelDateTime::from_ymd(1985, 3, 15).unwrap();
        let fmt = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
        ws.write_datetime_with_format(1, 2, &day, &fmt).unwrap();
        ws.write_number(1, 3, 7.0).unwrap();
        wb.save(&src).unwrap();
        assert_eq!(as_comma_csv(&src, &out).unwrap(), out);
        let rows = read(&out);
        assert_eq!(rows[0], ["so_dinh_danh", "ho_ten", "ngay_sinh", "diem"]);
        assert_eq!(rows[1], ["001085001234", "Nguyễn Văn Ấn, con", "15/03/1985", "7"]);
    }

    #[test]
    fn a_semicolon_csv_is_redelimited_and_a_comma_csv_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (src, out) = (dir.path().join("ds.csv"), dir.path().join("work").join("ds.csv"));
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        std::fs::write(
            &src,
            "\u{feff}so_dinh_danh;ho_ten;ghi_chu\r\n001085001234;Nguyễn Văn Ấn;\"a;b, c\"\r\n",
        )
        .unwrap();
        assert_eq!(as_comma_csv(&src, &out).unwrap(), out);
        let rows = read(&out);
        assert_eq!(rows[0][1..], ["ho_ten", "ghi_chu"]);
        assert_eq!(rows[1], ["001085001234", "Nguyễn Văn Ấn", "a;b, c"]);
        std::fs::write(&src, "a,b\n1,2\n").unwrap();
        assert_eq!(as_comma_csv(&src, &out).unwrap(), src, "a comma CSV is read as it is");
    }

    #[test]
    fn errors_name_the_file_never_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("hong.xlsx");
        std::fs::write(&src, b"PK\x03\x04 not really a workbook").unwrap();
        let e = as_comma_csv(&src, &dir.path().join("o.csv")).unwrap_err().to_string();
        assert!(e.starts_with("hong.xlsx: "), "{e}");
        assert!(!e.contains(dir.path().to_str().unwrap()), "{e}");
        let missing =
            MatchError::Io { path: dir.path().join("x.csv"), source: std::io::ErrorKind::NotFound.into() };
        assert!(!missing.to_string().contains(dir.path().to_str().unwrap()));
    }
}
