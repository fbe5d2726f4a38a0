//! Reading a table as typed: every sheet of an XLSX workbook (values as last calculated,
//! merged regions kept) or a CSV separated by `,` or `;`. Values keep their place, so every
//! finding names its cell in A1 notation.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use crate::value::Value;

/// A rectangle of merged cells (0-based, inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub first_row: usize,
    pub first_col: usize,
    pub last_row: usize,
    pub last_col: usize,
}

/// One sheet: rows of values from A1 (absolute positions), and its merged regions.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<Vec<Value>>,
    pub merged: Vec<Span>,
}

impl Sheet {
    pub fn get(&self, row: usize, col: usize) -> &Value {
        self.rows.get(row).and_then(|r| r.get(col)).unwrap_or(&Value::Empty)
    }

    pub fn width(&self) -> usize {
        self.rows.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// A sheet from typed text, one string per cell (tests and forms).
    pub fn from_text(name: &str, rows: &[&[&str]]) -> Sheet {
        Sheet {
            name: name.into(),
            rows: rows.iter().map(|r| r.iter().map(|c| Value::parse(c)).collect()).collect(),
            merged: vec![],
        }
    }
}

/// `C5` for row 4, column 2 (0-based).
pub fn address(row: usize, col: usize) -> String {
    format!("{}{}", column_letters(col), row + 1)
}

/// `A`, `Z`, `AA` … for column 0, 25, 26 ….
pub fn column_letters(col: usize) -> String {
    let mut n = col + 1;
    let mut out = Vec::new();
    while n > 0 {
        let r = (n - 1) % 26;
        out.push(b'A' + r as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

/// Why a file could not be read as a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub message_vi: String,
    pub message_en: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} / {}", self.message_vi, self.message_en)
    }
}

impl std::error::Error for ReadError {}

fn read_err(vi: impl Into<String>, en: impl Into<String>) -> ReadError {
    ReadError { message_vi: vi.into(), message_en: en.into() }
}

/// XLSX by its zip signature, else CSV. `name` names a CSV's only sheet.
pub fn read_table(bytes: &[u8], name: &str) -> Result<Vec<Sheet>, ReadError> {
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)
    } else {
        read_csv(bytes, name).map(|s| vec![s])
    }
}

/// Every sheet of a workbook that holds a value.
pub fn read_xlsx(bytes: &[u8]) -> Result<Vec<Sheet>, ReadError> {
    let bad = |e: String| {
        read_err(format!("Không đọc được tệp XLSX: {e}"), format!("not a readable XLSX workbook: {e}"))
    };
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).map_err(|e| bad(e.to_string()))?;
    let names = wb.sheet_names();
    let mut sheets = Vec::new();
    for name in names {
        let range = wb.worksheet_range(&name).map_err(|e| bad(e.to_string()))?;
        let merged = match wb.worksheet_merge_cells(&name) {
            Some(Ok(dims)) => dims
                .iter()
                .map(|d| Span {
                    first_row: d.start.0 as usize,
                    first_col: d.start.1 as usize,
                    last_row: d.end.0 as usize,
                    last_col: d.end.1 as usize,
                })
                .collect(),
            _ => vec![],
        };
        let Some((r0, c0)) = range.start() else { continue };
        let (r0, c0) = (r0 as usize, c0 as usize);
        let mut rows: Vec<Vec<Value>> = vec![vec![]; r0];
        for row in range.rows() {
            let mut out = vec![Value::Empty; c0];
            out.extend(row.iter().map(cell_value));
            rows.push(out);
        }
        sheets.push(Sheet { name, rows, merged });
    }
    if sheets.is_empty() {
        return Err(read_err(
            "Tệp XLSX không có trang tính nào có dữ liệu",
            "the workbook has no sheet with data",
        ));
    }
    Ok(sheets)
}

fn cell_value(c: &Data) -> Value {
    match c {
        Data::Empty => Value::Empty,
        Data::Int(i) => Value::Number { value: *i as f64, percent: false, decimals: None },
        Data::Float(f) => Value::Number { value: *f, percent: false, decimals: None },
        Data::Error(e) => Value::Error(e.to_string()),
        Data::String(s) => Value::parse(s),
        Data::Bool(b) => Value::Text(b.to_string()),
        other => Value::Text(other.to_string()),
    }
}

/// A CSV in UTF-8 (a byte-order mark allowed), separated by `,` or `;` (see [`delimiter`]).
pub fn read_csv(bytes: &[u8], name: &str) -> Result<Sheet, ReadError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        read_err(
            format!("Tệp CSV không phải UTF-8 (byte {}): hãy lưu lại dưới dạng CSV UTF-8", e.valid_up_to()),
            format!("the CSV is not UTF-8 (byte {}): save it as CSV UTF-8", e.valid_up_to()),
        )
    })?;
    let text = text.trim_start_matches('\u{feff}');
    let delim = delimiter(text);
    let text = keep_blank_lines(text, delim);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            read_err(
                format!("Dòng {line} của tệp CSV không đọc được: {e}"),
                format!("CSV line {line} is unreadable: {e}"),
            )
        })?;
        rows.push(rec.iter().map(Value::parse).collect());
    }
    Ok(Sheet { name: name.into(), rows, merged: vec![] })
}

/// The CSV reader skips blank lines, but a blank line is a spreadsheet row: each becomes a
/// lone delimiter (two empty cells), so row numbers stay the spreadsheet's.
fn keep_blank_lines(text: &str, delim: u8) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut quoted = false;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if body.is_empty() && !quoted {
            out.push(delim as char);
        }
        out.push_str(line);
        quoted ^= body.bytes().filter(|&b| b == b'"').count() % 2 == 1;
    }
    out
}

/// `;` when the first lines hold more `;` than `,` outside quotes (Excel's CSV in vi-VN,
/// where `,` is the decimal separator), else `,`.
pub fn delimiter(text: &str) -> u8 {
    let (mut commas, mut semis, mut quoted) = (0usize, 0usize, false);
    for line in text.lines().take(30) {
        for b in line.bytes() {
            match b {
                b'"' => quoted = !quoted,
                b',' if !quoted => commas += 1,
                b';' if !quoted => semis += 1,
                _ => {}
            }
        }
    }
    if semis > commas {
        b';'
    } else {
        b','
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(address(0, 0), "A1");
        assert_eq!(address(4, 2), "C5");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
    }

    #[test]
    fn csv_semicolon_with_decimal_commas() {
        let s = read_csv("STT;Tên;Tổng;Tỷ lệ\n1;A;2.208;15,81%\n".as_bytes(), "t").unwrap();
        assert_eq!(s.get(1, 2).number(), Some(2208.0));
        assert!((s.get(1, 3).number().unwrap() - 0.1581).abs() < 1e-12);
        let s = read_csv("STT,Tên,Tổng,Tỷ lệ\n1,A,\"2,208\",\"15,81%\"\n".as_bytes(), "t").unwrap();
        assert_eq!(s.get(1, 2).number(), Some(2208.0));
        assert!(read_csv(&[0xff, 0xfe, 0x41], "t").is_err());
    }
}
