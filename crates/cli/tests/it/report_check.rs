//! `dancu report check` on tables typed the way provinces type their appendices.

use std::process::Command;

fn check(path: &std::path::Path, json: bool) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dancu"));
    cmd.args(["report", "check"]).arg(path);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A seed-like appendix (`;` CSV, Vietnamese numbers, a three-row header with merged
/// groups typed as blanks) with a `#DIV/0!`, a wrong total and a wrong rate: each listed
/// with its cell and rule; exit code 1.
#[test]
fn report_check_lists_div0_wrong_total_and_wrong_rate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phu_luc.csv");
    let csv = "Phụ lục I\n\
KẾT QUẢ THỰC HIỆN DỊCH VỤ CÔNG THIẾT YẾU\n\
\n\
STT;Tên thủ tục hành chính;Số lượng hồ sơ;;;;Ghi chú\n\
;;Nộp trực tuyến;;Tổng số tiếp nhận;% tiếp nhận qua DVC;\n\
;;Công dân;Doanh nghiệp;;;\n\
1;Đăng ký thường trú;7.754;0;8.173;94,87%;\n\
2;Cấp lại, đổi thẻ CCCD;349;0;2.208;15,81%;\n\
3;Thủ tục làm con dấu thu nhỏ;0;0;0;#DIV/0!;\n\
4;Cấp điện mới từ lưới điện hạ áp;934;40;974;96,00%;\n\
5;Thay đổi chủ thể hợp đồng mua bán điện;998;23;1.107;92,23%;\n\
Tổng số;;11.035;63;12.462;89,06%;\n";
    std::fs::write(&path, csv).unwrap();
    let (code, out, err) = check(&path, false);
    assert_eq!(code, 1, "{out}{err}");
    // The rate of row 4 is 974/974 = 100%, not 96%; the #DIV/0! of row 3; the total of
    // column C is 11.035 but the rows add to 10.035 (and its rate follows the wrong total).
    for (cell, rule) in [
        ("phu_luc!F9", "rate.division_by_zero"),
        ("phu_luc!F10", "rate.mismatch"),
        ("phu_luc!C12", "total.row_sum"),
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(cell) && l.contains(rule)),
            "{cell} {rule} missing:\n{out}"
        );
    }
    assert!(out.contains("10.035"), "{out}");
    assert!(out.contains("inconsistencies"), "{out}");

    let (code, json, _) = check(&path, true);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let cells: Vec<&str> = v.as_array().unwrap().iter().map(|i| i["cell"].as_str().unwrap()).collect();
    assert!(cells.contains(&"F9") && cells.contains(&"F10") && cells.contains(&"C12"), "{cells:?}");
}

/// The same table made consistent: exit code 0. An unreadable file: exit code 2.
#[test]
fn report_check_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok.csv");
    std::fs::write(
        &ok,
        "STT,Đơn vị,Tổng số hồ sơ,Tiếp nhận trực tuyến,Tỷ lệ\n\
1,Xã A,10,5,\"50,00%\"\n\
2,Xã B,30,15,\"50,00%\"\n\
Tổng,,40,20,\"50,00%\"\n",
    )
    .unwrap();
    let (code, out, err) = check(&ok, false);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("no inconsistency"), "{out}");

    let bad = dir.path().join("bad.xlsx");
    std::fs::write(&bad, b"PK\x03\x04 not really a workbook").unwrap();
    let (code, _, err) = check(&bad, false);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("XLSX"), "{err}");
    let (code, _, _) = check(&dir.path().join("missing.csv"), false);
    assert_eq!(code, 2);
}

/// Bắc Giang's Phụ lục I (February 2023) typed into a CSV as printed: the two `#DIV/0!`
/// rows, the total of "Đúng hạn" that is not the sum of its rows, the rows where more
/// applications were decided than received, the rate computed on another base, and the
/// rate typed over a zero base.
#[test]
fn report_check_on_the_bac_giang_appendix() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tables/testdata/bac_giang_phu_luc_1.csv");
    let (code, out, err) = check(&path, false);
    assert_eq!(code, 1, "{out}{err}");
    let cells: Vec<(&str, &str)> = out
        .lines()
        .filter(|l| l.starts_with("bac_giang_phu_luc_1!"))
        .map(|l| {
            let mut f = l.split('\t');
            (f.next().unwrap().trim_start_matches("bac_giang_phu_luc_1!"), f.next().unwrap())
        })
        .collect();
    assert_eq!(
        cells,
        vec![
            ("G17", "part.exceeds_whole"),
            ("G18", "part.exceeds_whole"),
            ("F21", "rate.division_by_zero"),
            ("F22", "rate.wrong_base"),
            ("F26", "rate.zero_base"),
            ("F28", "rate.division_by_zero"),
            ("G33", "total.row_sum"),
        ],
        "{out}"
    );
}
