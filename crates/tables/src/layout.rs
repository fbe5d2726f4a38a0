//! How an appendix table is laid out: where its header ends, what each column holds
//! (row labels, counts, rates) and what each row is (an item, a section with its subtotal,
//! a total, the "(1) (2) (3)" row of column numbers). Headers span several rows with merged
//! cells; in a CSV a merged cell is its text followed by blanks, so a blank header cell
//! takes the text on its left when a lower header row names the column beneath it (a
//! workbook's merged regions are read as such).

use dancu_domain::fold_key;

use crate::sheet::Sheet;
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColKind {
    /// Row labels: the order number and the name.
    Label,
    Count,
    Rate,
    /// Text, marks (`x`), notes.
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub index: usize,
    /// The header texts top to bottom, joined with ` / `.
    pub label: String,
    /// The lowest header text (the column's own name).
    pub leaf: String,
    /// The header texts above the leaf (the group it belongs to).
    pub group: String,
    pub kind: ColKind,
    /// Rate columns: the values are percentage points (`93,27` meaning 93.27%).
    pub percent_points: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Item,
    /// A section (`I`, `II`, `A` …); its counts, when typed, are the subtotal of its items.
    Section,
    /// A breakdown of the item above (`a)`, `-`, `+`): not added into totals.
    Detail,
    Total,
    ColumnNumbers,
    /// Text only (a sub-heading, a note).
    Note,
    Blank,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RowInfo {
    pub index: usize,
    pub kind: RowKind,
}

/// One table found on a sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The rows of its header (0-based sheet rows).
    pub header: Vec<usize>,
    pub columns: Vec<Column>,
    pub rows: Vec<RowInfo>,
}

impl Table {
    pub fn column(&self, index: usize) -> &Column {
        &self.columns[index]
    }
    /// The row a column's header ends on (for naming a header cell).
    pub fn header_row(&self) -> usize {
        self.header.last().copied().unwrap_or(0)
    }
}

fn numeric(v: &Value) -> bool {
    matches!(v, Value::Number { .. } | Value::Error(_))
}

fn non_empty(sheet: &Sheet, r: usize) -> usize {
    sheet.rows[r].iter().filter(|v| !v.is_empty()).count()
}

/// `1 2 3 …` or `(1) (2) (3) …`: the row that numbers the columns under a header.
fn column_numbers(sheet: &Sheet, r: usize) -> bool {
    let mut expect = 1.0;
    let mut n = 0;
    for v in &sheet.rows[r] {
        let x = match v {
            Value::Empty => continue,
            Value::Number { value, percent: false, .. } => *value,
            Value::Text(t) => {
                let t = t.trim().trim_start_matches('(').trim_end_matches(')');
                match t.parse::<f64>() {
                    Ok(x) => x,
                    Err(_) => return false,
                }
            }
            _ => return false,
        };
        // Numbering may skip merged columns, but always rises by small steps from 1.
        if x < expect || x > expect + 3.0 || (n == 0 && x > 2.0) {
            return false;
        }
        expect = x + 1.0;
        n += 1;
    }
    n >= 3
}

/// A row that looks like a header line: three or more texts and no number.
fn header_like(sheet: &Sheet, r: usize) -> bool {
    let row = &sheet.rows[r];
    !row.iter().any(numeric) && row.iter().filter(|v| !v.is_empty()).count() >= 3
}

/// The tables on a sheet, in order. A new table starts after a blank row when a
/// header-like row comes before its first row of figures.
pub fn tables(sheet: &Sheet) -> Vec<Table> {
    let n = sheet.rows.len();
    let mut starts = vec![0];
    let mut seen_data = false;
    let mut r = 0;
    while r < n {
        if non_empty(sheet, r) == 0 {
            let next = (r + 1..n).find(|&i| non_empty(sheet, i) > 0);
            if let Some(next) = next {
                if seen_data {
                    let first_num = (next..n).find(|&i| data_row(sheet, i)).unwrap_or(n);
                    if (next..first_num).any(|i| header_like(sheet, i)) {
                        starts.push(next);
                        seen_data = false;
                    }
                }
                r = next;
                continue;
            }
            break;
        }
        if data_row(sheet, r) {
            seen_data = true;
        }
        r += 1;
    }
    starts.push(n);
    starts.windows(2).filter_map(|w| table(sheet, w[0], w[1])).collect()
}

fn data_row(sheet: &Sheet, r: usize) -> bool {
    sheet.rows[r].iter().filter(|v| numeric(v)).count() >= 2 && !column_numbers(sheet, r)
}

fn table(sheet: &Sheet, from: usize, to: usize) -> Option<Table> {
    let first_data = (from..to).find(|&r| data_row(sheet, r))?;
    // The header: the non-blank rows just above the first figures, less the column
    // numbers and the title lines (one cell) at its top.
    let mut header: Vec<usize> = Vec::new();
    let mut r = first_data;
    while r > from {
        r -= 1;
        if non_empty(sheet, r) == 0 {
            if header.is_empty() {
                continue;
            }
            break;
        }
        header.push(r);
    }
    header.reverse();
    header.retain(|&r| !column_numbers(sheet, r));
    while header.len() > 1 && non_empty(sheet, header[0]) == 1 {
        header.remove(0);
    }
    let width = (from..to).map(|r| sheet.rows[r].len()).max().unwrap_or(0);
    let names = header_names(sheet, &header, width);

    let body: Vec<usize> = (first_data..to).collect();
    let mut columns = Vec::with_capacity(width);
    for (c, texts) in names.into_iter().enumerate() {
        let leaf = texts.last().cloned().unwrap_or_default();
        let group = texts[..texts.len().saturating_sub(1)].join(" / ");
        let label = texts.join(" / ");
        let (mut nums, mut pcts, mut words, mut big) = (0, 0, 0, false);
        for &r in &body {
            if column_numbers(sheet, r) {
                continue;
            }
            match sheet.get(r, c) {
                Value::Number { value, percent, .. } => {
                    nums += 1;
                    if *percent {
                        pcts += 1;
                    } else if value.abs() > 1.5 {
                        big = true;
                    }
                }
                Value::Error(_) => nums += 1,
                v if v.is_empty() => {}
                Value::Text(_) => words += 1,
                Value::Empty => {}
            }
        }
        let folded = fold_key(&label);
        let leaf_folded = fold_key(&leaf);
        let kind = if matches!(leaf_folded.as_str(), "stt" | "tt" | "so tt" | "no" | "no.") {
            ColKind::Label
        } else if nums > 0
            && nums >= words
            && (leaf.contains('%')
                || leaf_folded.contains("ty le")
                || leaf_folded.contains("ti le")
                || folded.contains("rate")
                || folded.contains("percent")
                || pcts * 2 > nums)
        {
            ColKind::Rate
        } else if nums > 0 && nums >= words {
            ColKind::Count
        } else {
            ColKind::Other
        };
        columns.push(Column {
            index: c,
            label,
            leaf,
            group,
            kind,
            percent_points: kind == ColKind::Rate && pcts == 0 && big,
        });
    }
    // Row labels: the text columns left of the first figure.
    if let Some(first) = columns.iter().position(|c| matches!(c.kind, ColKind::Count | ColKind::Rate)) {
        for c in &mut columns[..first] {
            c.kind = ColKind::Label;
        }
    }
    let rows = body.iter().map(|&r| RowInfo { index: r, kind: row_kind(sheet, r, &columns) }).collect();
    Some(Table { header, columns, rows })
}

/// Each column's header texts top to bottom, merged cells and CSV blanks filled.
fn header_names(sheet: &Sheet, header: &[usize], width: usize) -> Vec<Vec<String>> {
    let mut grid: Vec<Vec<String>> =
        header.iter().map(|&r| (0..width).map(|c| cell_text(sheet.get(r, c))).collect()).collect();
    for span in &sheet.merged {
        let Some(top) = header.iter().position(|&r| r == span.first_row) else { continue };
        let text = grid[top].get(span.first_col).cloned().unwrap_or_default();
        for (i, &r) in header.iter().enumerate() {
            if r < span.first_row || r > span.last_row {
                continue;
            }
            let last = span.last_col.min(width.saturating_sub(1));
            for cell in grid[i].iter_mut().take(last + 1).skip(span.first_col) {
                *cell = text.clone();
            }
        }
    }
    // Blanks typed for merged cells (a CSV, or a workbook without merged regions).
    {
        for i in 0..grid.len().saturating_sub(1) {
            for c in 1..width {
                let below = (i + 1..grid.len()).any(|j| !grid[j][c].is_empty());
                if grid[i][c].is_empty() && !grid[i][c - 1].is_empty() && below {
                    grid[i][c] = grid[i][c - 1].clone();
                }
            }
        }
    }
    (0..width)
        .map(|c| {
            let mut texts: Vec<String> = Vec::new();
            for row in &grid {
                let t = &row[c];
                if !t.is_empty() && texts.last() != Some(t) {
                    texts.push(t.clone());
                }
            }
            texts
        })
        .collect()
}

fn cell_text(v: &Value) -> String {
    match v {
        Value::Text(t) | Value::Error(t) => t.split_whitespace().collect::<Vec<_>>().join(" "),
        Value::Number { value, .. } => value.to_string(),
        Value::Empty => String::new(),
    }
}

/// `Tổng`, `Tổng số`, `Tổng cộng`, `Cộng`, `Toàn tỉnh`, `Total` (with a colon or a note in
/// brackets after it).
pub fn is_total_label(text: &str) -> bool {
    let f = fold_key(text);
    let f = f.split('(').next().unwrap_or("").trim().trim_end_matches([':', '.']).trim();
    matches!(
        f,
        "tong"
            | "tong so"
            | "tong cong"
            | "cong"
            | "toan tinh"
            | "toan huyen"
            | "toan thanh pho"
            | "total"
            | "grand total"
    )
}

fn roman(s: &str) -> bool {
    let s = s.trim().trim_end_matches(['.', ')']);
    !s.is_empty() && s.len() <= 6 && s.chars().all(|c| matches!(c, 'I' | 'V' | 'X' | 'L'))
}

fn row_kind(sheet: &Sheet, r: usize, columns: &[Column]) -> RowKind {
    if non_empty(sheet, r) == 0 {
        return RowKind::Blank;
    }
    if column_numbers(sheet, r) {
        return RowKind::ColumnNumbers;
    }
    let labels: Vec<&str> = columns
        .iter()
        .filter(|c| c.kind == ColKind::Label)
        .filter_map(|c| sheet.get(r, c.index).text())
        .collect();
    if labels.iter().any(|t| is_total_label(t)) {
        return RowKind::Total;
    }
    let has_figures = columns
        .iter()
        .filter(|c| matches!(c.kind, ColKind::Count | ColKind::Rate))
        .any(|c| numeric(sheet.get(r, c.index)));
    // The order number: the first label column's cell ("I", "A", "1", "a)", "-"), or the
    // lead of a name typed with it ("I. Cấp tỉnh").
    let stt = columns
        .iter()
        .find(|c| c.kind == ColKind::Label)
        .and_then(|c| match sheet.get(r, c.index) {
            Value::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .map(str::trim)
        .unwrap_or("");
    let bare = stt.trim_end_matches(['.', ')']);
    let lead = labels.first().and_then(|t| t.trim().split_once(". ")).map(|(h, _)| h).unwrap_or("");
    if roman(bare) || (bare.len() == 1 && bare.chars().all(|c| c.is_ascii_uppercase())) || roman(lead) {
        return RowKind::Section;
    }
    let lower_letter = bare.len() == 1 && bare.chars().all(|c| c.is_ascii_lowercase());
    if lower_letter || matches!(stt, "-" | "+" | "*" | "•") {
        return RowKind::Detail;
    }
    let numbered = columns
        .iter()
        .find(|c| c.kind == ColKind::Label)
        .is_some_and(|c| matches!(sheet.get(r, c.index), Value::Number { .. }));
    if has_figures || numbered {
        RowKind::Item
    } else {
        RowKind::Note
    }
}
