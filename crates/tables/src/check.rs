//! The consistency check of a typed appendix table: every finding names its cell and rule.
//!
//! Rules (stable codes):
//! - `rate.division_by_zero`: a `#DIV/0!` cell (a rate over a zero base, as Excel shows it);
//! - `rate.zero_base`: a rate typed although its base is 0;
//! - `rate.mismatch`: a rate that is not its numerator over its base (rounding allowed);
//! - `rate.wrong_base`: the same, where the typed rate is another pair of columns' ratio;
//! - `rate.no_base`: a rate column no pair of count columns explains in any row;
//! - `total.row_sum`, `total.section_sum`: a total (or section) row that is not the sum of
//!   the rows it covers;
//! - `total.column_sum`: a total column that is not the sum of its parts in that row
//!   (checked once most rows of the table agree which columns the parts are);
//! - `part.exceeds_whole`: online above received, on time + overdue above received;
//! - `count.negative`; `cell.error`: another spreadsheet error (`#VALUE!`, `#REF!` …).
//!
//! Which columns a rate is computed from is read from the data: every count column to its
//! left, alone or summed with the columns of its header group, over every other, keeping
//! the pair that explains the most rows (header words break ties: a base named "Tổng …").

use dancu_domain::fold_key;

use crate::layout::{self, ColKind, RowKind, Table};
use crate::sheet::{address, column_letters, Sheet};
use crate::value::{fmt_number, fmt_pct, Value};
use crate::Issue;

/// Every inconsistency of every table on the sheets, by sheet, row and column.
pub fn check_sheets(sheets: &[Sheet]) -> Vec<Issue> {
    let mut out = Vec::new();
    for sheet in sheets {
        for table in layout::tables(sheet) {
            out.extend(check_table(sheet, &table));
        }
    }
    out
}

/// A rate's numerator columns (summed) and base column.
#[derive(Debug, Clone, PartialEq)]
struct Ratio {
    num: Vec<usize>,
    den: usize,
}

impl Ratio {
    fn name(&self) -> String {
        let num: Vec<String> = self.num.iter().map(|&c| column_letters(c)).collect();
        let num = if num.len() > 1 { format!("({})", num.join("+")) } else { num.join("") };
        format!("{num}/{}", column_letters(self.den))
    }
}

struct Ctx<'a> {
    sheet: &'a Sheet,
    table: &'a Table,
    out: Vec<Issue>,
}

impl Ctx<'_> {
    fn issue(&mut self, row: usize, col: usize, rule: &'static str, vi: String, en: String) {
        self.out.push(Issue {
            sheet: self.sheet.name.clone(),
            cell: address(row, col),
            row,
            col,
            rule,
            message_vi: vi,
            message_en: en,
        });
    }

    fn num(&self, row: usize, col: usize) -> Option<f64> {
        self.sheet.get(row, col).number()
    }

    fn leaf(&self, col: usize) -> String {
        let c = self.table.column(col);
        let name = if c.leaf.is_empty() { column_letters(col) } else { c.leaf.clone() };
        format!("{} ({name})", column_letters(col))
    }

    /// The rows with figures: items, sections and totals.
    fn figure_rows(&self) -> Vec<usize> {
        self.table
            .rows
            .iter()
            .filter(|r| matches!(r.kind, RowKind::Item | RowKind::Section | RowKind::Total | RowKind::Detail))
            .map(|r| r.index)
            .collect()
    }
}

/// Every inconsistency of one table.
pub fn check_table(sheet: &Sheet, table: &Table) -> Vec<Issue> {
    let mut cx = Ctx { sheet, table, out: Vec::new() };
    cells(&mut cx);
    let ratios = rates(&mut cx);
    totals(&mut cx);
    total_columns(&mut cx);
    parts(&mut cx, &ratios);
    let mut out = cx.out;
    out.sort_by_key(|i| (i.row, i.col));
    out.dedup_by(|a, b| a.row == b.row && a.col == b.col && a.rule == b.rule);
    out
}

/// Spreadsheet errors and negative counts.
fn cells(cx: &mut Ctx) {
    let rows = cx.figure_rows();
    let cols: Vec<(usize, ColKind)> = cx.table.columns.iter().map(|c| (c.index, c.kind)).collect();
    for &r in &rows {
        for &(c, kind) in &cols {
            match cx.sheet.get(r, c).clone() {
                Value::Error(e) if e == "#DIV/0!" => cx.issue(
                    r,
                    c,
                    "rate.division_by_zero",
                    format!("Ô ghi {e}: phép chia cho 0 (cơ sở của tỷ lệ bằng 0); tỷ lệ không xác định, để trống hoặc ghi \"-\""),
                    format!("the cell shows {e}: a division by zero (the rate's base is 0); the rate is undefined, leave it blank or type \"-\""),
                ),
                Value::Error(e) => cx.issue(
                    r,
                    c,
                    "cell.error",
                    format!("Ô ghi lỗi bảng tính {e} thay cho số liệu"),
                    format!("the cell shows the spreadsheet error {e} instead of a figure"),
                ),
                Value::Number { value, .. } if kind == ColKind::Count && value < 0.0 => cx.issue(
                    r,
                    c,
                    "count.negative",
                    format!("Số lượng âm ({}) ở cột {}", fmt_number(value, true), cx.leaf(c)),
                    format!("a negative count ({}) in column {}", fmt_number(value, false), cx.leaf(c)),
                ),
                _ => {}
            }
        }
    }
}

/// A typed rate as a fraction, with its rounding tolerance.
fn typed_rate(v: &Value, percent_points: bool) -> Option<(f64, f64)> {
    let Value::Number { value, percent, decimals } = v else { return None };
    let scale = if !percent && percent_points { 100.0 } else { 1.0 };
    let tol = match decimals {
        // One unit of the last digit typed (rounded or cut off).
        Some(d) => 10f64.powi(-(*d as i32)) / if *percent || percent_points { 100.0 } else { 1.0 },
        None => 1e-4,
    };
    Some((value / scale, tol + 1e-12))
}

fn ratio_value(cx: &Ctx, r: usize, ratio: &Ratio) -> Option<(f64, f64)> {
    let mut n = 0.0;
    for &c in &ratio.num {
        n += cx.num(r, c)?;
    }
    Some((n, cx.num(r, ratio.den)?))
}

/// The candidate (numerator, base) pairs for rate column `rc`: count columns to its left.
fn candidates(table: &Table, rc: usize) -> Vec<Ratio> {
    let counts: Vec<usize> =
        table.columns[..rc].iter().filter(|c| c.kind == ColKind::Count).map(|c| c.index).collect();
    let mut nums: Vec<Vec<usize>> = counts.iter().map(|&c| vec![c]).collect();
    for &c in &counts {
        let g = &table.columns[c].group;
        if g.is_empty() {
            continue;
        }
        let members: Vec<usize> = counts.iter().copied().filter(|&d| &table.columns[d].group == g).collect();
        // The group's own leaves (a group whose columns share a parent header).
        if members.len() >= 2 && !nums.contains(&members) {
            nums.push(members);
        }
    }
    let mut out = Vec::new();
    for num in &nums {
        for &den in &counts {
            if !num.contains(&den) {
                out.push(Ratio { num: num.clone(), den });
            }
        }
    }
    out
}

fn header_bonus(table: &Table, ratio: &Ratio, rc: usize) -> f64 {
    let den = fold_key(&table.columns[ratio.den].leaf);
    let num: String =
        ratio.num.iter().map(|&c| fold_key(&table.columns[c].label)).collect::<Vec<_>>().join(" ");
    let mut b = 0.0;
    if den.contains("tong") || den.contains("total") {
        b += 0.5;
    }
    if ["truc tuyen", "online", "dvc", "dich vu cong"].iter().any(|w| num.contains(w)) {
        b += 0.25;
    }
    // Nearer columns first.
    b - (rc - ratio.den.min(ratio.num[0])) as f64 * 1e-3
}

/// Checks every rate column; returns the ratio each is computed from.
fn rates(cx: &mut Ctx) -> Vec<Ratio> {
    let rows = cx.figure_rows();
    let rate_cols: Vec<usize> =
        cx.table.columns.iter().filter(|c| c.kind == ColKind::Rate).map(|c| c.index).collect();
    let mut found = Vec::new();
    for rc in rate_cols {
        let pp = cx.table.column(rc).percent_points;
        let matches = |cx: &Ctx, ratio: &Ratio, r: usize| -> Option<bool> {
            let (t, tol) = typed_rate(cx.sheet.get(r, rc), pp)?;
            let (n, d) = ratio_value(cx, r, ratio)?;
            (d > 0.0).then(|| (t - n / d).abs() <= tol)
        };
        let typed_rows = rows.iter().filter(|&&r| typed_rate(cx.sheet.get(r, rc), pp).is_some()).count();
        let mut best: Option<(f64, Ratio)> = None;
        for ratio in candidates(cx.table, rc) {
            let hits = rows.iter().filter(|&&r| matches(cx, &ratio, r) == Some(true)).count();
            if hits == 0 {
                continue;
            }
            let score = hits as f64 + header_bonus(cx.table, &ratio, rc);
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, ratio));
            }
        }
        let Some((_, ratio)) = best else {
            if typed_rows > 0 {
                let hr = cx.table.header_row();
                cx.issue(
                    hr,
                    rc,
                    "rate.no_base",
                    format!(
                        "Không có cặp cột số liệu nào cho ra tỷ lệ ở cột {} trong bất kỳ dòng nào",
                        cx.leaf(rc)
                    ),
                    format!("no pair of count columns gives the rate in column {} in any row", cx.leaf(rc)),
                );
            }
            continue;
        };
        let alternatives = candidates(cx.table, rc);
        for &r in &rows {
            let Some((t, _)) = typed_rate(cx.sheet.get(r, rc), pp) else { continue };
            let Some((n, d)) = ratio_value(cx, r, &ratio) else { continue };
            let name = ratio.name();
            if d == 0.0 {
                cx.issue(
                    r,
                    rc,
                    "rate.zero_base",
                    format!(
                        "Tỷ lệ ghi {} nhưng cơ sở {} bằng 0: tỷ lệ không xác định",
                        fmt_pct(t, true),
                        cx.leaf(ratio.den)
                    ),
                    format!(
                        "the rate reads {} but its base {} is 0: the rate is undefined",
                        fmt_pct(t, false),
                        cx.leaf(ratio.den)
                    ),
                );
                continue;
            }
            if matches(cx, &ratio, r) == Some(true) {
                continue;
            }
            let c = n / d;
            let other = alternatives.iter().find(|a| **a != ratio && matches(cx, a, r) == Some(true));
            match other {
                Some(a) => cx.issue(
                    r,
                    rc,
                    "rate.wrong_base",
                    format!(
                        "Tỷ lệ ghi {} là {} chứ không phải {} = {}/{} = {} như các dòng khác của bảng",
                        fmt_pct(t, true),
                        a.name(),
                        name,
                        fmt_number(n, true),
                        fmt_number(d, true),
                        fmt_pct(c, true)
                    ),
                    format!(
                        "the rate reads {}, which is {}, not {} = {}/{} = {} as in the table's other rows",
                        fmt_pct(t, false),
                        a.name(),
                        name,
                        fmt_number(n, false),
                        fmt_number(d, false),
                        fmt_pct(c, false)
                    ),
                ),
                None => cx.issue(
                    r,
                    rc,
                    "rate.mismatch",
                    format!(
                        "Tỷ lệ ghi {} nhưng {} = {}/{} = {}",
                        fmt_pct(t, true),
                        name,
                        fmt_number(n, true),
                        fmt_number(d, true),
                        fmt_pct(c, true)
                    ),
                    format!(
                        "the rate reads {} but {} = {}/{} = {}",
                        fmt_pct(t, false),
                        name,
                        fmt_number(n, false),
                        fmt_number(d, false),
                        fmt_pct(c, false)
                    ),
                ),
            }
        }
        found.push(ratio);
    }
    found
}

/// Total rows against the rows they cover, and sections' subtotals against their items.
fn totals(cx: &mut Ctx) {
    let count_cols: Vec<usize> =
        cx.table.columns.iter().filter(|c| c.kind == ColKind::Count).map(|c| c.index).collect();
    let rows = cx.table.rows.clone();
    let mut since = 0; // index into rows after the last total
    let mut totals_seen: Vec<usize> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        match row.kind {
            RowKind::Section => {
                // Its items: up to the next section or total.
                let items: Vec<usize> = rows[i + 1..]
                    .iter()
                    .take_while(|r| !matches!(r.kind, RowKind::Section | RowKind::Total))
                    .filter(|r| r.kind == RowKind::Item)
                    .map(|r| r.index)
                    .collect();
                if !items.is_empty() {
                    sum_check(cx, row.index, &items, &count_cols, "total.section_sum");
                }
            }
            RowKind::Total => {
                // A total typed first ("Toàn tỉnh" above the units) covers the rows below it.
                let before =
                    rows[since..i].iter().any(|r| matches!(r.kind, RowKind::Item | RowKind::Section));
                let covered = if before || !totals_seen.is_empty() {
                    &rows[since..i]
                } else {
                    let end = rows[i + 1..]
                        .iter()
                        .position(|r| r.kind == RowKind::Total)
                        .map_or(rows.len(), |p| i + 1 + p);
                    &rows[i + 1..end]
                };
                let sections: Vec<usize> =
                    covered.iter().filter(|r| r.kind == RowKind::Section).map(|r| r.index).collect();
                let items: Vec<usize> =
                    covered.iter().filter(|r| r.kind == RowKind::Item).map(|r| r.index).collect();
                for &c in &count_cols {
                    // Sections carry the subtotals when typed; else the items are added.
                    let parts = if sections.iter().any(|&s| cx.num(s, c).is_some()) {
                        &sections
                    } else if !items.is_empty() {
                        &items
                    } else {
                        &totals_seen
                    };
                    sum_check(cx, row.index, parts, &[c], "total.row_sum");
                }
                totals_seen.push(row.index);
                since = i + 1;
            }
            _ => {}
        }
    }
}

fn sum_check(cx: &mut Ctx, row: usize, parts: &[usize], cols: &[usize], rule: &'static str) {
    if parts.is_empty() {
        return;
    }
    for &c in cols {
        let Some(typed) = cx.num(row, c) else { continue };
        let sum: f64 = parts.iter().filter_map(|&r| cx.num(r, c)).sum();
        if (typed - sum).abs() > 1e-6 * sum.abs().max(1.0) {
            let (first, last) = (address(parts[0], c), address(*parts.last().unwrap(), c));
            let what_vi = if rule == "total.section_sum" { "Dòng mục" } else { "Dòng tổng" };
            let what_en = if rule == "total.section_sum" { "the section row" } else { "the total row" };
            cx.issue(
                row,
                c,
                rule,
                format!(
                    "{what_vi} ghi {} nhưng cộng {} dòng ({first}…{last}) được {} (lệch {})",
                    fmt_number(typed, true),
                    parts.len(),
                    fmt_number(sum, true),
                    fmt_number(typed - sum, true)
                ),
                format!(
                    "{what_en} reads {} but its {} rows ({first}…{last}) add up to {} (off by {})",
                    fmt_number(typed, false),
                    parts.len(),
                    fmt_number(sum, false),
                    fmt_number(typed - sum, false)
                ),
            );
        }
    }
}

/// A column named a total: `Tổng`, `Tổng số …`, `Cộng`, `Total …`.
fn is_total_column(leaf: &str) -> bool {
    let f = fold_key(leaf);
    ["tong", "cong", "total"].iter().any(|w| f == *w || f.starts_with(&format!("{w} ")))
}

/// Named a bare total (`Tổng`, `Tổng số`, `Tổng cộng`, `Cộng`, `Total`): the sum of the
/// count columns beside it in its header group, by its name alone.
fn is_bare_total(leaf: &str) -> bool {
    matches!(fold_key(leaf).trim_end_matches([':', '.']), "tong" | "tong so" | "tong cong" | "cong" | "total")
}

/// A total column against its parts: the count columns of its header group on its left
/// (else on its right). A bare "Tổng" is their sum by its name; a longer name ("Tổng số
/// tiếp nhận", whose parts may be listed "of which") only once two thirds of the rows agree.
fn total_columns(cx: &mut Ctx) {
    let cols = cx.table.columns.clone();
    let rows = cx.figure_rows();
    for t in cols.iter().filter(|c| c.kind == ColKind::Count && is_total_column(&c.leaf)) {
        let run = |range: Box<dyn Iterator<Item = usize>>| -> Vec<usize> {
            range
                .take_while(|&c| cols[c].kind == ColKind::Count && !is_total_column(&cols[c].leaf))
                .filter(|&c| cols[c].group == t.group)
                .collect()
        };
        let mut left = run(Box::new((0..t.index).rev()));
        left.reverse();
        let right = if t.group.is_empty() { vec![] } else { run(Box::new(t.index + 1..cols.len())) };
        for parts in [left, right] {
            if parts.len() < 2 {
                continue;
            }
            let judged: Vec<(usize, f64, f64)> = rows
                .iter()
                .filter_map(|&r| {
                    let typed = cx.num(r, t.index)?;
                    let vals: Vec<f64> = parts.iter().filter_map(|&c| cx.num(r, c)).collect();
                    (!vals.is_empty()).then(|| (r, typed, vals.iter().sum()))
                })
                .collect();
            let agree = judged.iter().filter(|(_, t, s)| (t - s).abs() < 1e-6).count();
            if !is_bare_total(&t.leaf) && (agree < 2 || agree * 3 < judged.len() * 2) {
                continue;
            }
            let names: Vec<String> = parts.iter().map(|&c| column_letters(c)).collect();
            let names = names.join("+");
            for (r, typed, sum) in judged {
                if (typed - sum).abs() >= 1e-6 {
                    cx.issue(
                        r,
                        t.index,
                        "total.column_sum",
                        format!(
                            "Cột tổng {} ghi {} nhưng {names} = {} (lệch {})",
                            cx.leaf(t.index),
                            fmt_number(typed, true),
                            fmt_number(sum, true),
                            fmt_number(typed - sum, true)
                        ),
                        format!(
                            "the total column {} reads {} but {names} = {} (off by {})",
                            cx.leaf(t.index),
                            fmt_number(typed, false),
                            fmt_number(sum, false),
                            fmt_number(typed - sum, false)
                        ),
                    );
                }
            }
            break;
        }
    }
}

/// Parts above their whole: a rate's numerator above its base (online above received),
/// and the applications decided on time and late above those received.
fn parts(cx: &mut Ctx, ratios: &[Ratio]) {
    let rows = cx.figure_rows();
    let mut groups: Vec<(Vec<usize>, usize)> = ratios.iter().map(|r| (r.num.clone(), r.den)).collect();
    if let Some(base) = ratios.first().map(|r| r.den) {
        let decided: Vec<usize> = cx
            .table
            .columns
            .iter()
            .filter(|c| c.kind == ColKind::Count)
            .filter(|c| {
                let f = fold_key(&c.leaf);
                ["dung han", "qua han", "on time", "overdue", "late"].iter().any(|w| f.contains(w))
            })
            .map(|c| c.index)
            .collect();
        if !decided.is_empty() && !decided.contains(&base) {
            groups.push((decided, base));
        }
    }
    groups.dedup();
    for (num, den) in groups {
        for &r in &rows {
            let Some(whole) = cx.num(r, den) else { continue };
            let vals: Vec<f64> = num.iter().filter_map(|&c| cx.num(r, c)).collect();
            if vals.is_empty() {
                continue;
            }
            let part: f64 = vals.iter().sum();
            if part > whole + 1e-9 {
                let names: Vec<String> = num.iter().map(|&c| cx.leaf(c)).collect();
                cx.issue(
                    r,
                    num[0],
                    "part.exceeds_whole",
                    format!(
                        "{} = {} lớn hơn tổng {} = {}",
                        names.join(" + "),
                        fmt_number(part, true),
                        cx.leaf(den),
                        fmt_number(whole, true)
                    ),
                    format!(
                        "{} = {} is above its whole {} = {}",
                        names.join(" + "),
                        fmt_number(part, false),
                        cx.leaf(den),
                        fmt_number(whole, false)
                    ),
                );
            }
        }
    }
}
