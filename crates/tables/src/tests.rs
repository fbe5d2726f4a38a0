//! The check on tables laid out as the seeds' appendices: Bắc Giang's Phụ lục I (three
//! header rows, merged groups typed as blanks, `#DIV/0!`, a wrong total, a wrong base),
//! Tuyên Quang's vaccination clean-up table (rows that do not add up to their total
//! column), a table with Roman-numeral sections and subtotals, and an XLSX with merged
//! header cells.

use crate::check::check_sheets;
use crate::forms::{self, Entry};
use crate::layout::{self, ColKind, RowKind};
use crate::sheet::{read_csv, read_xlsx, Sheet};
use crate::value::Value;

fn found(issues: &[crate::Issue]) -> Vec<(String, &'static str)> {
    issues.iter().map(|i| (i.cell.clone(), i.rule)).collect()
}

fn bac_giang() -> Sheet {
    read_csv(include_bytes!("../testdata/bac_giang_phu_luc_1.csv"), "Phụ lục I").unwrap()
}

#[test]
fn bac_giang_layout_is_read() {
    let sheet = bac_giang();
    let tables = layout::tables(&sheet);
    assert_eq!(tables.len(), 1);
    let t = &tables[0];
    assert_eq!(t.header, vec![4, 5, 6]);
    let kinds: Vec<ColKind> = t.columns.iter().map(|c| c.kind).collect();
    use ColKind::*;
    assert_eq!(&kinds[..9], &[Label, Label, Count, Count, Count, Rate, Count, Count, Count]);
    assert_eq!(
        t.columns[3].label,
        "Số lượng công dân, doanh nghiệp thực hiện thủ tục / Nộp trực tuyến / Doanh nghiệp"
    );
    assert_eq!(t.columns[6].leaf, "Đúng hạn");
    assert_eq!(t.rows.last().unwrap().kind, RowKind::Total);
    assert_eq!(t.rows.iter().filter(|r| r.kind == RowKind::Item).count(), 25);
}

#[test]
fn bac_giang_appendix_every_inconsistency() {
    let issues = check_sheets(&[bac_giang()]);
    let got = found(&issues);
    let want: Vec<(String, &str)> = [
        ("G17", "part.exceeds_whole"), // service 10: 1.667 + 20 decided of 1.647 received
        ("G18", "part.exceeds_whole"), // service 11: 5.104 + 2 of 1.669
        ("F21", "rate.division_by_zero"), // service 14: #DIV/0!
        ("F22", "rate.wrong_base"),    // service 15: 90,12% is C/E, the others are (C+D)/E
        ("F26", "rate.zero_base"),     // service 19: 0,00% of 0
        ("F28", "rate.division_by_zero"), // service 21
        ("G33", "total.row_sum"),      // total of "Đúng hạn": 36.017 typed, rows add to 42.489
    ]
    .iter()
    .map(|(c, r)| (c.to_string(), *r))
    .collect();
    assert_eq!(got, want, "{issues:#?}");
    let total = issues.iter().find(|i| i.cell == "G33").unwrap();
    assert!(
        total.message_vi.contains("36.017") && total.message_vi.contains("42.489"),
        "{}",
        total.message_vi
    );
    let base = issues.iter().find(|i| i.cell == "F22").unwrap();
    assert!(base.message_en.contains("C/E") && base.message_en.contains("(C+D)/E"), "{}", base.message_en);
}

#[test]
fn bac_giang_district_appendix_is_consistent_until_changed() {
    let csv = "Phụ lục II\n\
STT,Đơn vị,Tổng dịch vụ công thiết yếu,,,Kết quả triển khai,,,,Ghi chú\n\
,,Tổng số hồ sơ,Tiếp nhận trực tuyến,Tỷ lệ,Số văn bản triển khai,\"Số tin, bài\",Tuyên truyền (lượt),thu hút tương tác,\n\
1,TP. Bắc Giang,2.510,2.341,\"93,27%\",8,1.794,6.362,19.983,\n\
2,H. Hiệp Hòa,3.102,2.840,\"91,55%\",5,112,3.211,11.889,\n\
3,H. Lục Ngạn,1.964,1.758,\"89,51%\",3,109,3.308,7.563,\n\
Tổng,,7.576,6.939,\"91,59%\",16,2.015,12.881,39.435,\n";
    let sheet = read_csv(csv.as_bytes(), "Phụ lục II").unwrap();
    assert_eq!(found(&check_sheets(&[sheet])), vec![]);
    // A rate typed on the wrong row's counts, and a total one short.
    let bad = csv.replace("\"91,55%\"", "\"93,27%\"").replace("Tổng,,7.576", "Tổng,,7.575");
    let sheet = read_csv(bad.as_bytes(), "Phụ lục II").unwrap();
    let issues = check_sheets(&[sheet]);
    // The total's rate no longer matches its (wrong) count either.
    assert_eq!(
        found(&issues),
        vec![("E5".into(), "rate.mismatch"), ("C7".into(), "total.row_sum"), ("E7".into(), "rate.mismatch")],
        "{issues:#?}"
    );
}

#[test]
fn tuyen_quang_rows_that_do_not_add_up() {
    let csv = "TT\tTên cơ sở y tế\tKhông có CCCD/ Mã Định Danh\tCCCD/ Mã Định Danh sai định dạng\tXác minh Sai Thông Tin\tTổng\n\
1\tHuyện Chiêm Hóa\t5\t1\t191\t225\n\
2\tHuyện Hàm Yên\t1.208\t483\t5.894\t6.299\n\
3\tHuyện Lâm Bình\t86\t71\t1.694\t1.953\n\
4\tHuyện Na Hang\t3\t6\t800\t762\n\
5\tHuyện Sơn Dương\t4.552\t2.068\t16.276\t22.947\n\
6\tHuyện Yên Sơn\t2.903\t619\t1.129\t4.834\n\
7\tTP Tuyên Quang\t9.059\t1.115\t12.242\t22.541\n\
Tổng cộng\t\t17.816\t4.363\t38.226\t59.561\n";
    // Typed into a spreadsheet and saved as `;` CSV.
    let sheet = read_csv(csv.replace('\t', ";").as_bytes(), "Tiêm chủng").unwrap();
    let issues = check_sheets(&[sheet]);
    // "Tổng" is the sum of the columns beside it by its name, and no row of the table adds
    // up (row 1: 5 + 1 + 191 = 197, not 225; row 4: 809, not 762); the total row does add
    // the rows above it, column by column.
    let want: Vec<(String, &str)> = (2..=9).map(|r| (format!("F{r}"), "total.column_sum")).collect();
    assert_eq!(found(&issues), want, "{issues:#?}");
    assert!(issues[0].message_vi.contains("C+D+E = 197"), "{}", issues[0].message_vi);
    assert!(issues[3].message_en.contains("reads 762 but C+D+E = 809"), "{}", issues[3].message_en);
}

#[test]
fn sections_subtotals_blank_cells_and_details() {
    let rows: &[&[&str]] = &[
        &["BẢNG TỔNG HỢP"],
        &["STT", "Đơn vị", "Tổng số hồ sơ", "Trực tuyến", "Tỷ lệ (%)"],
        &["(1)", "(2)", "(3)", "(4)", "(5)"],
        &["I", "Cấp tỉnh", "300", "150", "50,00"],
        &["1", "Sở Tư pháp", "100", "40", "40,00"],
        &["2", "Công an tỉnh", "200", "110", "55,00"],
        &["-", "trong đó: cấp lại", "50", "", ""],
        &["II", "Cấp xã", "120", "", ""],
        &["1", "Phường A", "", "", ""],
        &["2", "Xã B", "100", "-5", "-5,00"],
        &["", "", "", "", ""],
        &["Tổng cộng", "", "420", "145", "34,52"],
    ];
    let sheet = Sheet::from_text("Sheet1", rows);
    let t = &layout::tables(&sheet)[0];
    assert_eq!(t.header, vec![1]);
    assert!(t.columns[4].percent_points);
    let kinds: Vec<RowKind> = t.rows.iter().map(|r| r.kind).collect();
    use RowKind::*;
    assert_eq!(kinds, vec![Section, Item, Item, Detail, Section, Item, Item, Blank, Total]);
    let issues = check_sheets(&[sheet]);
    // Section II's 120 is not its items' 100; the negative count; the total is the sum of
    // the sections (300 + 120, 150 + nothing typed): right for C, and D's 145 ≠ 150.
    assert_eq!(
        found(&issues),
        vec![
            ("C8".into(), "total.section_sum"),
            ("D10".into(), "count.negative"),
            ("D12".into(), "total.row_sum"),
        ],
        "{issues:#?}"
    );
}

#[test]
fn xlsx_with_merged_header_cells() {
    use rust_xlsxwriter::{Format, Formula, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("PL1").unwrap();
    let f = Format::new();
    ws.merge_range(0, 0, 1, 0, "STT", &f).unwrap();
    ws.merge_range(0, 1, 1, 1, "Đơn vị", &f).unwrap();
    ws.merge_range(0, 2, 0, 4, "Hồ sơ dịch vụ công", &f).unwrap();
    ws.write(1, 2, "Tổng số").unwrap();
    ws.write(1, 3, "Trực tuyến").unwrap();
    ws.write(1, 4, "Tỷ lệ").unwrap();
    let data = [(1, "Xã A", 10.0, 4.0), (2, "Xã B", 0.0, 0.0), (3, "Xã C", 20.0, 25.0)];
    for (i, (n, name, total, online)) in data.iter().enumerate() {
        let r = 2 + i as u32;
        ws.write(r, 0, *n).unwrap();
        ws.write(r, 1, *name).unwrap();
        ws.write(r, 2, *total).unwrap();
        ws.write(r, 3, *online).unwrap();
        let result = if *total == 0.0 { "#DIV/0!".to_string() } else { (online / total).to_string() };
        ws.write_formula(r, 4, Formula::new(format!("=D{}/C{}", r + 1, r + 1)).set_result(result)).unwrap();
    }
    ws.write(5, 0, "Tổng").unwrap();
    ws.write(5, 2, 30.0).unwrap();
    ws.write(5, 3, 29.0).unwrap();
    ws.write(5, 4, 29.0 / 30.0).unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let sheets = read_xlsx(&bytes).unwrap();
    assert_eq!(sheets[0].name, "PL1");
    let t = &layout::tables(&sheets[0])[0];
    assert_eq!(t.columns[3].label, "Hồ sơ dịch vụ công / Trực tuyến");
    let issues = check_sheets(&sheets);
    assert_eq!(
        found(&issues),
        vec![("E4".into(), "rate.division_by_zero"), ("D5".into(), "part.exceeds_whole")],
        "{issues:#?}"
    );
    assert_eq!(issues[0].sheet, "PL1");
}

fn entry(row: &str, column: &str, raw: &str, place: &str) -> Entry {
    Entry { row: row.into(), column: column.into(), value: Value::parse(raw), place: place.into() }
}

#[test]
fn services_form_rules() {
    let form = forms::form("services").unwrap();
    assert_eq!(form.rows.len(), 25);
    let ok = forms::validate(
        form,
        &[
            entry("birth", "received", "120", "a"),
            entry("birth", "online", "90", "b"),
            entry("birth", "on_time", "100", "c"),
            entry("birth", "overdue", "", "d"),
            entry("birth", "online_pct", "75,00%", "e"),
        ],
        &[entry("total", "received", "120", "t")],
    )
    .unwrap();
    assert_eq!(ok.len(), 3);
    assert_eq!(ok[&("birth".to_string(), "online".to_string())], 90);

    let errs = forms::validate(
        form,
        &[
            entry("birth", "received", "10", "C5"),
            entry("birth", "online", "12", "D5"),
            entry("birth", "online_pct", "80%", "H5"),
            entry("death", "received", "-1", "C6"),
            entry("death", "online", "2,5", "D6"),
            entry("marriage", "received", "#DIV/0!", "C7"),
            entry("nonsense", "received", "1", "A8"),
            entry("passport", "received", "5", "C9"),
            entry("passport", "on_time", "4", "E9"),
            entry("passport", "overdue", "2", "F9"),
            entry("passport", "not_accepted", "6", "G9"),
        ],
        &[entry("total", "received", "99", "C30")],
    )
    .unwrap_err();
    let got: Vec<(&str, &str)> = errs.iter().map(|v| (v.field.as_str(), v.rule)).collect();
    assert_eq!(
        got,
        vec![
            ("C6", "figures.negative"),
            ("D6", "figures.not_integer"),
            ("C7", "figures.division_by_zero"),
            ("A8", "figures.unknown_row"),
            // In the form's row order: passport comes before birth.
            ("E9", "figures.decided_above_received"),
            ("G9", "figures.not_accepted_above_received"),
            ("D5", "figures.online_above_received"),
            ("H5", "figures.rate_mismatch"),
            ("C30", "figures.total_mismatch"),
        ]
    );
}

#[test]
fn upload_names_the_cell() {
    let form = forms::form("services").unwrap();
    let header = forms::template_header(form);
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    let rows: &[&[&str]] = &[
        &h,
        &["cmnd_confirm", "Xác nhận số CMND", "10", "10", "10", "0", "0"],
        &["card_renew", "Cấp đổi thẻ", "5", "6", "", "", ""],
    ];
    let sheet = Sheet::from_text("x", rows);
    let errs = forms::validate_upload(form, &sheet).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!((errs[0].field.as_str(), errs[0].rule), ("D3", "figures.online_above_received"));

    let outreach = forms::form("outreach").unwrap();
    let rows: &[&[&str]] = &[
        &["Mã (code)", "Tên", "Số lượng (count)"],
        &["propaganda_sessions", "", "12"],
        &["media_items", "", "3"],
        &["Tổng cộng", "", "15"],
    ];
    let figures = forms::validate_upload(outreach, &Sheet::from_text("x", rows)).unwrap();
    assert_eq!(figures.len(), 2);
    let rows: &[&[&str]] = &[&["Mã", "Tên", "Không rõ"], &["media_items", "", "3"]];
    let errs = forms::validate_upload(outreach, &Sheet::from_text("x", rows)).unwrap_err();
    assert_eq!(errs[0].rule, "figures.no_header");
}

#[test]
fn template_reads_back_as_an_empty_valid_upload() {
    let form = forms::form("services").unwrap();
    let bytes = forms::template_xlsx(form).unwrap();
    let sheets = read_xlsx(&bytes).unwrap();
    assert_eq!(sheets[0].name, "services");
    let figures = forms::validate_upload(form, &sheets[0]).unwrap();
    assert!(figures.is_empty());
}

#[test]
fn a_total_typed_above_its_rows() {
    let rows: &[&[&str]] = &[
        &["TT", "Đơn vị", "Số hồ sơ", "Trực tuyến", "Tỷ lệ"],
        &["", "Toàn tỉnh", "31", "16", "51,61%"],
        &["1", "Xã A", "10", "5", "50,00%"],
        &["2", "Xã B", "20", "10", "50,00%"],
    ];
    let issues = check_sheets(&[Sheet::from_text("x", rows)]);
    assert_eq!(
        found(&issues),
        vec![("C2".into(), "total.row_sum"), ("D2".into(), "total.row_sum")],
        "{issues:#?}"
    );
}
