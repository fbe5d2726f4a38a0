//! The forms agencies submit figures on (issue 16, part 3), fixed as a contract the reports
//! read:
//! - `services`: a row per essential service of `data/services.csv`, columns `received`,
//!   `online`, `on_time`, `overdue`, `not_accepted` (and, optional and never stored,
//!   `online_pct`, which must equal the computed share);
//! - `outreach`: rows `propaganda_sessions`, `propaganda_participants`, `training_courses`,
//!   `trained_people`, `media_items`, column `count`.
//!
//! Values are whole numbers ≥ 0; a blank is 0 and is not stored. A table is valid whole or
//! not at all: [`validate`] lists every violation, each naming its place (a cell such as
//! `D5` for an upload, `birth.online` for the web form) and its rule.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use dancu_domain::{fold_key, Violation};

use crate::layout::is_total_label;
use crate::sheet::{address, Sheet};
use crate::value::{fmt_number, fmt_pct, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
}

fn line(code: &str, vi: &str, en: &str) -> Line {
    Line { code: code.into(), name_vi: vi.into(), name_en: en.into() }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub code: &'static str,
    pub name_vi: &'static str,
    pub name_en: &'static str,
    pub rows: Vec<Line>,
    /// The stored columns.
    pub columns: Vec<Line>,
}

impl Form {
    pub fn row(&self, code: &str) -> Option<&Line> {
        self.rows.iter().find(|r| r.code == code)
    }
    pub fn column(&self, code: &str) -> Option<&Line> {
        self.columns.iter().find(|c| c.code == code)
    }
}

/// The optional typed share of online applications on the `services` form (checked, not
/// stored).
pub const ONLINE_PCT: &str = "online_pct";

static FORMS: LazyLock<Vec<Form>> = LazyLock::new(|| {
    let services = dancu_domain::services::catalogue()
        .iter()
        .filter(|s| s.essential)
        .map(|s| line(&s.code, &s.name_vi, &s.name_en))
        .collect();
    vec![
        Form {
            code: "services",
            name_vi: "Kết quả giải quyết dịch vụ công thiết yếu",
            name_en: "Essential public services handled",
            rows: services,
            columns: vec![
                line("received", "Tổng số tiếp nhận", "Received"),
                line("online", "Tiếp nhận trực tuyến", "Received online"),
                line("on_time", "Giải quyết đúng hạn", "Decided on time"),
                line("overdue", "Giải quyết quá hạn", "Decided late"),
                line("not_accepted", "Không được tiếp nhận", "Not accepted"),
            ],
        },
        Form {
            code: "outreach",
            name_vi: "Tuyên truyền, tập huấn",
            name_en: "Outreach and training",
            rows: vec![
                line("propaganda_sessions", "Số buổi tuyên truyền", "Propaganda sessions"),
                line(
                    "propaganda_participants",
                    "Số lượt người tham dự tuyên truyền",
                    "Propaganda participants",
                ),
                line("training_courses", "Số lớp tập huấn", "Training courses"),
                line("trained_people", "Số lượt người được tập huấn", "People trained"),
                line("media_items", "Số tin, bài, phóng sự", "News items and reports"),
            ],
            columns: vec![line("count", "Số lượng", "Count")],
        },
    ]
});

pub fn forms() -> &'static [Form] {
    &FORMS
}

pub fn form(code: &str) -> Option<&'static Form> {
    FORMS.iter().find(|f| f.code == code)
}

/// One value as entered: its row and column codes, what was typed, and where (the name a
/// violation gives: a cell or a form field).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub row: String,
    pub column: String,
    pub value: Value,
    pub place: String,
}

/// The validated values: (row, column) → value, zeros left out.
pub type Figures = BTreeMap<(String, String), i64>;

fn v(place: &str, rule: &'static str, vi: String, en: String) -> Violation {
    Violation::new(place, rule, vi, en)
}

/// Every rule of the form over the entries; the values when none is broken. `totals` are
/// the entries of a total row (checked against the sum, not stored).
pub fn validate(form: &Form, entries: &[Entry], totals: &[Entry]) -> Result<Figures, Vec<Violation>> {
    let mut errors = Vec::new();
    let mut figures = Figures::new();
    let mut places: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut typed_pct: Vec<&Entry> = Vec::new();
    for e in entries {
        if form.row(&e.row).is_none() {
            errors.push(v(
                &e.place,
                "figures.unknown_row",
                format!("Dòng \"{}\" không có trong biểu {}", e.row, form.code),
                format!("row \"{}\" is not on form {}", e.row, form.code),
            ));
            continue;
        }
        if form.code == "services" && e.column == ONLINE_PCT {
            if !e.value.is_empty() {
                typed_pct.push(e);
            }
            continue;
        }
        if form.column(&e.column).is_none() {
            errors.push(v(
                &e.place,
                "figures.unknown_column",
                format!("Cột \"{}\" không có trong biểu {}", e.column, form.code),
                format!("column \"{}\" is not on form {}", e.column, form.code),
            ));
            continue;
        }
        let key = (e.row.clone(), e.column.clone());
        if places.insert(key.clone(), e.place.clone()).is_some() {
            errors.push(v(
                &e.place,
                "figures.duplicate",
                format!("Ô {} / {} được nhập hai lần", e.row, e.column),
                format!("{} / {} is entered twice", e.row, e.column),
            ));
            continue;
        }
        match count(&e.value, &e.place) {
            Ok(0) => {}
            Ok(n) => {
                figures.insert(key, n);
            }
            Err(violation) => errors.push(violation),
        }
    }
    let get = |row: &str, col: &str| figures.get(&(row.to_string(), col.to_string())).copied().unwrap_or(0);
    let place = |row: &str, col: &str| places.get(&(row.to_string(), col.to_string())).cloned();
    if form.code == "services" {
        for r in &form.rows {
            let received = get(&r.code, "received");
            let online = get(&r.code, "online");
            if online > received {
                errors.push(v(
                    &place(&r.code, "online").unwrap_or_default(),
                    "figures.online_above_received",
                    format!(
                        "Số tiếp nhận trực tuyến ({}) lớn hơn tổng số tiếp nhận ({}) — {}",
                        fmt_number(online as f64, true),
                        fmt_number(received as f64, true),
                        r.name_vi
                    ),
                    format!("received online ({online}) is above received ({received}) — {}", r.name_en),
                ));
            }
            let decided = get(&r.code, "on_time") + get(&r.code, "overdue");
            if decided > received {
                let at = place(&r.code, "on_time").or_else(|| place(&r.code, "overdue")).unwrap_or_default();
                errors.push(v(
                    &at,
                    "figures.decided_above_received",
                    format!(
                        "Đúng hạn + quá hạn ({}) lớn hơn tổng số tiếp nhận ({}) — {}",
                        fmt_number(decided as f64, true),
                        fmt_number(received as f64, true),
                        r.name_vi
                    ),
                    format!("on time + late ({decided}) is above received ({received}) — {}", r.name_en),
                ));
            }
            let refused = get(&r.code, "not_accepted");
            if refused > received {
                errors.push(v(
                    &place(&r.code, "not_accepted").unwrap_or_default(),
                    "figures.not_accepted_above_received",
                    format!(
                        "Số không được tiếp nhận ({}) lớn hơn tổng số tiếp nhận ({}) — {}",
                        fmt_number(refused as f64, true),
                        fmt_number(received as f64, true),
                        r.name_vi
                    ),
                    format!("not accepted ({refused}) is above received ({received}) — {}", r.name_en),
                ));
            }
        }
        for e in typed_pct {
            let (received, online) = (get(&e.row, "received"), get(&e.row, "online"));
            let Value::Number { value, percent, decimals } = &e.value else {
                // Counts' own checks name a `#DIV/0!` or a text the same way.
                if let Err(violation) = count(&e.value, &e.place) {
                    errors.push(violation);
                }
                continue;
            };
            if received == 0 {
                errors.push(v(
                    &e.place,
                    "figures.rate_zero_base",
                    "Tỷ lệ trực tuyến được nhập trong khi tổng số tiếp nhận bằng 0 (chia cho 0): để trống"
                        .into(),
                    "an online rate is typed while received is 0 (a division by zero): leave it blank".into(),
                ));
                continue;
            }
            let computed = online as f64 / received as f64;
            // Typed as `93,27%`, `93,27` (points) or `0,9327`; one unit of the last digit.
            let points = !percent && *value > 1.0;
            let typed = if points { value / 100.0 } else { *value };
            let tol = decimals
                .map(|d| 10f64.powi(-(d as i32)) / if *percent || points { 100.0 } else { 1.0 })
                .unwrap_or(1e-4);
            if (typed - computed).abs() > tol + 1e-12 {
                errors.push(v(
                    &e.place,
                    "figures.rate_mismatch",
                    format!("Tỷ lệ nhập {} không khớp với trực tuyến/tiếp nhận = {}/{} = {}: dancu tự tính tỷ lệ, hãy để trống", fmt_pct(typed, true), online, received, fmt_pct(computed, true)),
                    format!("the typed rate {} does not match online/received = {online}/{received} = {}: dancu computes rates, leave it blank", fmt_pct(typed, false), fmt_pct(computed, false)),
                ));
            }
        }
    }
    for t in totals {
        if t.column == ONLINE_PCT || form.column(&t.column).is_none() || t.value.is_empty() {
            continue;
        }
        let typed = match count(&t.value, &t.place) {
            Ok(n) => n,
            Err(violation) => {
                errors.push(violation);
                continue;
            }
        };
        let sum: i64 = form.rows.iter().map(|r| get(&r.code, &t.column)).sum();
        if typed != sum {
            errors.push(v(
                &t.place,
                "figures.total_mismatch",
                format!(
                    "Dòng tổng ghi {} nhưng cộng các dòng được {}",
                    fmt_number(typed as f64, true),
                    fmt_number(sum as f64, true)
                ),
                format!("the total row reads {typed} but the rows add up to {sum}"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(figures)
    } else {
        Err(errors)
    }
}

/// A count: a whole number ≥ 0 (blank is 0).
fn count(value: &Value, place: &str) -> Result<i64, Violation> {
    match value {
        Value::Empty => Ok(0),
        v if v.is_empty() => Ok(0),
        Value::Number { value: x, percent: false, .. } if *x < 0.0 => Err(v(
            place,
            "figures.negative",
            format!("Số lượng không được âm ({})", fmt_number(*x, true)),
            format!("a count cannot be negative ({})", fmt_number(*x, false)),
        )),
        Value::Number { value: x, percent: false, .. } if x.fract() == 0.0 && *x <= 1e15 => Ok(*x as i64),
        Value::Number { .. } => Err(v(
            place,
            "figures.not_integer",
            "Số lượng phải là số nguyên (không có phần thập phân, không có %)".into(),
            "a count must be a whole number (no decimals, no %)".into(),
        )),
        Value::Error(e) if e == "#DIV/0!" => Err(v(
            place,
            "figures.division_by_zero",
            format!("Ô ghi {e} (phép chia cho 0) thay cho số liệu"),
            format!("the cell shows {e} (a division by zero) instead of a figure"),
        )),
        Value::Error(e) => Err(v(
            place,
            "figures.cell_error",
            format!("Ô ghi lỗi bảng tính {e} thay cho số liệu"),
            format!("the cell shows the spreadsheet error {e} instead of a figure"),
        )),
        Value::Text(t) => Err(v(
            place,
            "figures.not_number",
            format!("\"{t}\" không phải là số"),
            format!("\"{t}\" is not a number"),
        )),
    }
}

/// A column's code from its header: the code itself, the code in brackets at the end
/// (`Tổng số tiếp nhận (received)`), or the Vietnamese or English name.
fn column_of(form: &Form, header: &str) -> Option<String> {
    let h = header.trim();
    let inner = h.rsplit_once('(').map(|(_, t)| t.trim_end_matches(')').trim()).unwrap_or(h);
    let folded = fold_key(h);
    let mut cols: Vec<&str> = form.columns.iter().map(|c| c.code.as_str()).collect();
    if form.code == "services" {
        cols.push(ONLINE_PCT);
    }
    for code in cols {
        if inner == code || h == code {
            return Some(code.into());
        }
    }
    form.columns
        .iter()
        .find(|c| fold_key(&c.name_vi) == folded || fold_key(&c.name_en) == folded)
        .map(|c| c.code.clone())
}

/// The entries of an uploaded table laid out as the template: a header row naming the
/// columns (by code or name), a `code` column naming each row, an optional total row.
/// Returns (entries, total-row entries), or the violations of the layout itself.
pub fn read_upload(form: &Form, sheet: &Sheet) -> Result<(Vec<Entry>, Vec<Entry>), Vec<Violation>> {
    let width = sheet.width();
    let text = |r: usize, c: usize| match sheet.get(r, c) {
        Value::Text(t) => t.clone(),
        _ => String::new(),
    };
    // The header: the first row naming a column of the form.
    let header =
        (0..sheet.rows.len().min(20)).find(|&r| (0..width).any(|c| column_of(form, &text(r, c)).is_some()));
    let Some(hr) = header else {
        return Err(vec![v(
            "A1",
            "figures.no_header",
            format!("Không tìm thấy dòng tiêu đề của biểu {} (hãy dùng tệp mẫu)", form.code),
            format!("no header row of form {} found (use the template)", form.code),
        )]);
    };
    let mut cols: Vec<(usize, String)> = Vec::new();
    let mut code_col = None;
    let mut errors = Vec::new();
    for c in 0..width {
        let h = text(hr, c);
        if let Some(code) = column_of(form, &h) {
            if cols.iter().any(|(_, k)| *k == code) {
                errors.push(v(
                    &address(hr, c),
                    "figures.duplicate_column",
                    format!("Cột {code} xuất hiện hai lần"),
                    format!("column {code} appears twice"),
                ));
            }
            cols.push((c, code));
        } else if code_col.is_none()
            && matches!(fold_key(&h).as_str(), "ma" | "code" | "ma (code)" | "ma chi tieu" | "ma dich vu")
        {
            code_col = Some(c);
        }
    }
    let code_col = code_col.unwrap_or(0);
    for code in form.columns.iter().map(|c| c.code.as_str()) {
        if !cols.iter().any(|(_, k)| k == code) {
            errors.push(v(
                &address(hr, width),
                "figures.missing_column",
                format!("Thiếu cột {code} trong dòng tiêu đề {}", hr + 1),
                format!("column {code} is missing from header row {}", hr + 1),
            ));
        }
    }
    let (mut entries, mut totals) = (Vec::new(), Vec::new());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for r in hr + 1..sheet.rows.len() {
        if sheet.rows[r].iter().all(Value::is_empty) {
            continue;
        }
        let code = match sheet.get(r, code_col) {
            Value::Text(t) => t.trim().to_string(),
            other => other.number().map(|n| n.to_string()).unwrap_or_default(),
        };
        let is_total = (0..width).any(|c| is_total_label(&text(r, c)));
        if !is_total {
            if form.row(&code).is_none() {
                errors.push(v(
                    &address(r, code_col),
                    "figures.unknown_row",
                    format!("Mã dòng \"{code}\" không có trong biểu {}", form.code),
                    format!("row code \"{code}\" is not on form {}", form.code),
                ));
                continue;
            }
            if let Some(first) = seen.insert(code.clone(), r) {
                errors.push(v(
                    &address(r, code_col),
                    "figures.duplicate_row",
                    format!("Mã dòng {code} đã có ở dòng {}", first + 1),
                    format!("row code {code} already appears on line {}", first + 1),
                ));
                continue;
            }
        }
        for (c, col) in &cols {
            let e = Entry {
                row: code.clone(),
                column: col.clone(),
                value: sheet.get(r, *c).clone(),
                place: address(r, *c),
            };
            if is_total {
                totals.push(e);
            } else {
                entries.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok((entries, totals))
    } else {
        Err(errors)
    }
}

/// Reads and validates an upload: every violation of the layout and of the rules.
pub fn validate_upload(form: &Form, sheet: &Sheet) -> Result<Figures, Vec<Violation>> {
    let (entries, totals) = read_upload(form, sheet)?;
    validate(form, &entries, &totals)
}

/// The header cells of the template: the row code, the name, then each column as
/// `Name (code)`.
pub fn template_header(form: &Form) -> Vec<String> {
    let mut h = vec!["Mã (code)".to_string(), "Tên (name)".to_string()];
    h.extend(form.columns.iter().map(|c| format!("{} ({})", c.name_vi, c.code)));
    h
}

/// The upload template of a form as an XLSX workbook: the header of
/// [`template_header`], one row per form row with its code and name, the value cells blank.
pub fn template_xlsx(form: &Form) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(form.code).map_err(|e| e.to_string())?;
    let bold = Format::new().set_bold().set_text_wrap();
    for (c, h) in template_header(form).iter().enumerate() {
        ws.write_with_format(0, c as u16, h.as_str(), &bold).map_err(|e| e.to_string())?;
        ws.set_column_width(c as u16, if c == 1 { 60 } else { 18 }).map_err(|e| e.to_string())?;
    }
    for (i, r) in form.rows.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write(row, 0, r.code.as_str()).map_err(|e| e.to_string())?;
        ws.write(row, 1, r.name_vi.as_str()).map_err(|e| e.to_string())?;
    }
    ws.set_freeze_panes(1, 2).map_err(|e| e.to_string())?;
    wb.save_to_buffer().map_err(|e| e.to_string())
}
