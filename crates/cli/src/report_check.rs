//! `dancu report check FILE.xlsx|csv`: the consistency check of an appendix table typed
//! elsewhere (issue 16, part 5). Every inconsistency is printed with its sheet, cell, rule
//! and the reason in Vietnamese and English; the exit code is 1 when there is any, 0 when
//! none, 2 when the file cannot be read as a table.

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The appendix table: an XLSX workbook (every sheet is checked) or a CSV separated by
    /// `,` or `;`, in UTF-8.
    pub file: PathBuf,
    /// Print the findings as JSON (an array of {sheet, cell, rule, message_vi, message_en}).
    #[arg(long)]
    pub json: bool,
}

/// Runs the check and returns the exit code.
pub fn run(args: &CheckArgs) -> i32 {
    let name = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("không đọc được tệp {name} / cannot read {name}: {e}");
            return 2;
        }
    };
    let stem = args.file.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let sheets = match dancu_tables::read_table(&bytes, &stem) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{name}: {}", e.message_vi);
            eprintln!("{name}: {}", e.message_en);
            return 2;
        }
    };
    let tables: usize = sheets.iter().map(|s| dancu_tables::layout::tables(s).len()).sum();
    if tables == 0 {
        eprintln!("{name}: không tìm thấy bảng số liệu nào (cần ít nhất một dòng có hai số)");
        eprintln!("{name}: no table of figures found (a row with two numbers at least)");
        return 2;
    }
    let issues = dancu_tables::check_sheets(&sheets);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&issues).unwrap_or_default());
    } else {
        for i in &issues {
            println!("{}!{}\t{}\t{}", i.sheet, i.cell, i.rule, i.message_vi);
            println!("\t\t{}", i.message_en);
        }
        if issues.is_empty() {
            println!(
                "{name}: {tables} bảng, không có điểm không nhất quán / {tables} table(s), no inconsistency"
            );
        } else {
            println!(
                "{name}: {} điểm không nhất quán trong {tables} bảng / {} inconsistencies in {tables} table(s)",
                issues.len(),
                issues.len()
            );
        }
    }
    if issues.is_empty() {
        0
    } else {
        1
    }
}
