//! The appendices as XLSX: per-service and per-unit tables and the indicators, counts as
//! numbers, rates and totals as formulas (`=IF(D6=0,"—",C6/D6)`, `=SUM(…)`) so whoever edits
//! a count sees the rate follow. Each formula carries its computed result, so a reader that
//! does not recalculate (a CSV conversion) shows the same figures.

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Formula, Workbook, Worksheet, XlsxError};

use crate::compute::Report;
use crate::content::{unit_rows, SERVICE_HEADER, UNIT_HEADER};
use crate::indicators::{rate, AppCounts, Value};

struct Formats {
    title: Format,
    head: Format,
    text: Format,
    num: Format,
    pct: Format,
    bold_num: Format,
    bold_pct: Format,
    bold_text: Format,
}

fn formats() -> Formats {
    let cell =
        Format::new().set_border(FormatBorder::Thin).set_font_name("Times New Roman").set_font_size(11);
    Formats {
        title: Format::new().set_bold().set_font_name("Times New Roman").set_font_size(13),
        head: cell
            .clone()
            .set_bold()
            .set_text_wrap()
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter),
        text: cell.clone().set_text_wrap(),
        num: cell.clone().set_num_format("#,##0"),
        pct: cell.clone().set_num_format("0.00%").set_align(FormatAlign::Right),
        bold_num: cell.clone().set_bold().set_num_format("#,##0"),
        bold_pct: cell.clone().set_bold().set_num_format("0.00%").set_align(FormatAlign::Right),
        bold_text: cell.set_bold(),
    }
}

fn col(c: u16) -> String {
    rust_xlsxwriter::utility::column_number_to_name(c)
}

/// `=IF(den=0,"—",num/den)` with its result.
fn rate_formula(num_ref: &str, den_ref: &str, num: i64, den: i64) -> Formula {
    let result = match rate(num, den) {
        None => "—".to_string(),
        Some(p) => format!("{}", p / 100.0),
    };
    Formula::new(format!("=IF({den_ref}=0,\"—\",{num_ref}/{den_ref})")).set_result(result)
}

fn titles(ws: &mut Worksheet, f: &Formats, lines: &[String]) -> Result<(), XlsxError> {
    for (i, l) in lines.iter().enumerate() {
        ws.write_with_format(i as u32, 0, l.as_str(), &f.title)?;
    }
    Ok(())
}

/// Writes count columns `cols` of rows `first..=last` and a SUM total in row `total`.
fn sum_row(
    ws: &mut Worksheet,
    f: &Formats,
    total: u32,
    first: u32,
    last: u32,
    cols: &[(u16, i64)],
) -> Result<(), XlsxError> {
    for (c, value) in cols {
        let l = col(*c);
        let formula =
            if last >= first { format!("=SUM({l}{}:{l}{})", first + 1, last + 1) } else { "=0".to_string() };
        ws.write_formula_with_format(
            total,
            *c,
            Formula::new(formula).set_result(value.to_string()),
            &f.bold_num,
        )?;
    }
    Ok(())
}

fn services_sheet(ws: &mut Worksheet, r: &Report, f: &Formats) -> Result<(), XlsxError> {
    ws.set_name("Phụ lục I")?;
    let t = crate::content::service_table(r);
    titles(ws, f, &t.title)?;
    let head = 4u32;
    for (c, h) in SERVICE_HEADER.iter().enumerate() {
        ws.write_with_format(head, c as u16, *h, &f.head)?;
    }
    ws.set_column_width(1, 48)?;
    ws.set_column_width(8, 30)?;
    for c in [0u16, 2, 3, 4, 5, 6, 7] {
        ws.set_column_width(c, 12)?;
    }
    let first = head + 1;
    for (i, s) in r.services.iter().enumerate() {
        let row = first + i as u32;
        let k = &s.counts;
        ws.write_with_format(row, 0, (i + 1) as u32, &f.num)?;
        ws.write_with_format(
            row,
            1,
            if s.submitted { format!("{} (*)", s.name_vi) } else { s.name_vi.clone() },
            &f.text,
        )?;
        ws.write_with_format(row, 2, k.online as f64, &f.num)?;
        ws.write_with_format(row, 3, k.received as f64, &f.num)?;
        ws.write_formula_with_format(
            row,
            4,
            rate_formula(&format!("C{}", row + 1), &format!("D{}", row + 1), k.online, k.received),
            &f.pct,
        )?;
        ws.write_with_format(row, 5, k.on_time as f64, &f.num)?;
        ws.write_with_format(row, 6, k.overdue as f64, &f.num)?;
        ws.write_with_format(row, 7, k.not_accepted as f64, &f.num)?;
        let reasons = s.reasons.iter().map(|(why, n)| format!("{why} ({n})")).collect::<Vec<_>>().join("; ");
        ws.write_with_format(row, 8, reasons, &f.text)?;
    }
    let last = first + r.services.len() as u32 - 1;
    let total = last + 1;
    let t = r.service_total();
    ws.write_with_format(total, 0, "", &f.bold_text)?;
    ws.write_with_format(total, 1, "Tổng số", &f.bold_text)?;
    sum_row(
        ws,
        f,
        total,
        first,
        last,
        &[(2, t.online), (3, t.received), (5, t.on_time), (6, t.overdue), (7, t.not_accepted)],
    )?;
    ws.write_formula_with_format(
        total,
        4,
        rate_formula(&format!("C{}", total + 1), &format!("D{}", total + 1), t.online, t.received),
        &f.bold_pct,
    )?;
    ws.write_with_format(total, 8, "", &f.bold_text)?;
    Ok(())
}

fn units_sheet(ws: &mut Worksheet, r: &Report, f: &Formats) -> Result<(), XlsxError> {
    ws.set_name("Phụ lục II")?;
    let t = crate::content::unit_table(r);
    titles(ws, f, &t.title)?;
    let head = 4u32;
    for (c, h) in UNIT_HEADER.iter().enumerate() {
        ws.write_with_format(head, c as u16, *h, &f.head)?;
    }
    ws.set_column_width(1, 36)?;
    let first = head + 1;
    let rows = unit_rows(r);
    let mut tot = AppCounts::default();
    let mut out = [0i64; 3];
    for (i, u) in rows.iter().enumerate() {
        let row = first + i as u32;
        let k = &u.counts;
        tot.add(k);
        ws.write_with_format(row, 0, (i + 1) as u32, &f.num)?;
        ws.write_with_format(row, 1, u.name.as_str(), &f.text)?;
        ws.write_with_format(row, 2, k.received as f64, &f.num)?;
        ws.write_with_format(row, 3, k.online as f64, &f.num)?;
        ws.write_formula_with_format(
            row,
            4,
            rate_formula(&format!("D{}", row + 1), &format!("C{}", row + 1), k.online, k.received),
            &f.pct,
        )?;
        ws.write_with_format(row, 5, k.on_time as f64, &f.num)?;
        ws.write_with_format(row, 6, k.overdue as f64, &f.num)?;
        for (j, (sum, x)) in out.iter_mut().zip(u.outreach).enumerate() {
            *sum += x;
            ws.write_with_format(row, 7 + j as u16, x as f64, &f.num)?;
        }
    }
    let total = first + rows.len() as u32;
    let last = total.saturating_sub(1);
    ws.write_with_format(total, 0, "", &f.bold_text)?;
    ws.write_with_format(total, 1, "Tổng", &f.bold_text)?;
    sum_row(
        ws,
        f,
        total,
        first,
        last,
        &[
            (2, tot.received),
            (3, tot.online),
            (5, tot.on_time),
            (6, tot.overdue),
            (7, out[0]),
            (8, out[1]),
            (9, out[2]),
        ],
    )?;
    ws.write_formula_with_format(
        total,
        4,
        rate_formula(&format!("D{}", total + 1), &format!("C{}", total + 1), tot.online, tot.received),
        &f.bold_pct,
    )?;
    Ok(())
}

fn indicators_sheet(ws: &mut Worksheet, r: &Report, f: &Formats) -> Result<(), XlsxError> {
    ws.set_name("Chỉ tiêu")?;
    titles(ws, f, &crate::content::indicator_table(r).title)?;
    let head = 4u32;
    for (c, h) in [
        "STT",
        "Mã",
        "Chỉ tiêu",
        "Đơn vị tính",
        "Tử số / số đếm",
        "Mẫu số",
        "Kết quả",
        "Chỉ tiêu giao",
        "Đánh giá",
    ]
    .iter()
    .enumerate()
    {
        ws.write_with_format(head, c as u16, *h, &f.head)?;
    }
    ws.set_column_width(2, 50)?;
    for (i, (ind, v)) in r.indicators.iter().enumerate() {
        let row = head + 1 + i as u32;
        let n = row + 1;
        ws.write_with_format(row, 0, (i + 1) as u32, &f.num)?;
        ws.write_with_format(row, 1, ind.code.as_str(), &f.text)?;
        ws.write_with_format(row, 2, ind.name_vi.as_str(), &f.text)?;
        ws.write_with_format(row, 3, ind.unit.as_str(), &f.text)?;
        match *v {
            Value::Count(c) => {
                ws.write_with_format(row, 4, c as f64, &f.num)?;
                ws.write_with_format(row, 5, "", &f.text)?;
                ws.write_formula_with_format(
                    row,
                    6,
                    Formula::new(format!("=E{n}")).set_result(c.to_string()),
                    &f.num,
                )?;
            }
            Value::Rate { num, den } => {
                ws.write_with_format(row, 4, num as f64, &f.num)?;
                ws.write_with_format(row, 5, den as f64, &f.num)?;
                ws.write_formula_with_format(
                    row,
                    6,
                    rate_formula(&format!("E{n}"), &format!("F{n}"), num, den),
                    &f.pct,
                )?;
            }
        }
        match ind.target {
            Some(t) if ind.unit == "%" => ws.write_with_format(row, 7, t / 100.0, &f.pct)?,
            Some(t) => ws.write_with_format(row, 7, t, &f.num)?,
            None => ws.write_with_format(row, 7, "", &f.text)?,
        };
        let met = match ind.meets(v) {
            Some(true) => "Đạt",
            Some(false) => "Chưa đạt",
            None => "",
        };
        ws.write_with_format(row, 8, met, &f.text)?;
    }
    Ok(())
}

/// The appendices as an XLSX workbook.
pub fn render(r: &Report) -> anyhow::Result<Vec<u8>> {
    let f = formats();
    let mut wb = Workbook::new();
    services_sheet(wb.add_worksheet(), r, &f)?;
    units_sheet(wb.add_worksheet(), r, &f)?;
    indicators_sheet(wb.add_worksheet(), r, &f)?;
    Ok(wb.save_to_buffer()?)
}
