//! `import citizens` and `reconcile` read what officers keep: XLSX workbooks (written here by
//! rust_xlsxwriter) and CSV separated by `;` (Excel's default in vi-VN), detected from the
//! header row; messages name the row and the column, and the file by its name only.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::on_both_backends;

on_both_backends!(an_xlsx_list_imports_with_bad_rows_named, a_semicolon_csv_imports);

fn dancu(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dancu"))
        .args(args)
        .current_dir(dir)
        .env("DANCU_LOG", "warn")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    (out.status.success(), text)
}

/// 300 generated people of Hà Nội: the rows of the CSV, header first.
fn people(dir: &Path) -> Vec<csv::StringRecord> {
    let csv = dir.join("gen.csv");
    let (ok, out) = dancu(
        dir,
        &["gen", "--people", "300", "--seed", "3", "--province", "01", "--out", csv.to_str().unwrap()],
    );
    assert!(ok, "{out}");
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).from_path(&csv).unwrap();
    rdr.records().map(|r| r.unwrap()).collect()
}

/// The rows as a workbook, every cell text (as an office keeps IDs, with their zeros).
fn write_xlsx(rows: &[csv::StringRecord], path: &Path) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r as u32, c as u16, v).unwrap();
            }
        }
    }
    wb.save(path).unwrap();
}

fn write_semicolons(rows: &[csv::StringRecord], path: &Path) {
    let mut w = csv::WriterBuilder::new().delimiter(b';').from_path(path).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

fn import(dir: &Path, file: &Path, url: &str) -> (bool, String, PathBuf) {
    let rejects = dir.join("rejects.csv");
    let (ok, out) = dancu(
        dir,
        &[
            "import",
            "citizens",
            file.to_str().unwrap(),
            "--database-url",
            url,
            "--rejects",
            rejects.to_str().unwrap(),
        ],
    );
    (ok, out, rejects)
}

fn an_xlsx_list_imports_with_bad_rows_named(url: &str, dir: &Path) {
    let mut rows = people(dir);
    // A bad personal ID on the last row (row 302 of the sheet: the header is row 1).
    let mut bad: Vec<String> = rows[1].iter().map(str::to_string).collect();
    bad[0] = "12345".into();
    rows.push(csv::StringRecord::from(bad));
    let xlsx = dir.join("danh-sach.xlsx");
    write_xlsx(&rows, &xlsx);
    let (ok, out, rejects) = import(dir, &xlsx, url);
    assert!(ok, "{out}");
    assert!(out.contains("301 rows: 300 imported, 0 already present, 1 rejected"), "{out}");
    let text = std::fs::read_to_string(rejects).unwrap();
    let line = text.lines().nth(1).unwrap();
    assert!(line.starts_with("302,personal_id,id.length,"), "row and column named: {line}");
}

fn a_semicolon_csv_imports(url: &str, dir: &Path) {
    let rows = people(dir);
    let semi = dir.join("danh-sach.csv");
    write_semicolons(&rows, &semi);
    let (ok, out, _) = import(dir, &semi, url);
    assert!(ok, "{out}");
    assert!(out.contains("300 rows: 300 imported, 0 already present, 0 rejected"), "{out}");
}

/// `dancu reconcile` of a `;` list and of the same list as XLSX gives the same result file;
/// a broken workbook is refused naming the file only.
#[test]
fn reconcile_reads_semicolon_csv_and_xlsx_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let rows = people(dir);
    let registry = dir.join("gen.csv");
    let (semi, xlsx) = (dir.join("list.csv"), dir.join("list.xlsx"));
    write_semicolons(&rows[..101], &semi);
    write_xlsx(&rows[..101], &xlsx);
    let run = |input: &Path, out: &Path| {
        dancu(
            dir,
            &[
                "reconcile",
                "--input",
                input.to_str().unwrap(),
                "--registry",
                registry.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
        )
    };
    let (a, b) = (dir.join("a.csv"), dir.join("b.csv"));
    let (ok, out) = run(&semi, &a);
    assert!(ok, "{out}");
    let (ok, out) = run(&xlsx, &b);
    assert!(ok, "{out}");
    let (ta, tb) = (std::fs::read_to_string(&a).unwrap(), std::fs::read_to_string(&b).unwrap());
    assert_eq!(ta, tb);
    assert_eq!(ta.lines().count(), 101);
    assert!(ta.lines().nth(1).unwrap().contains(",ok,matched,"), "{ta}");

    let broken = dir.join("hong.xlsx");
    std::fs::write(&broken, b"PK\x03\x04 torn").unwrap();
    let (ok, out) = run(&broken, &dir.join("c.csv"));
    assert!(!ok);
    assert!(out.contains("hong.xlsx: ") && !out.contains(dir.to_str().unwrap()), "{out}");
}
