//! Two records side by side, field by field, with the rows whose values differ marked: the
//! duplicate worklist's pairs and the eID approval's claim against the registry record. A
//! differing row has the class `differs` (highlighted in the stylesheet) and a written mark,
//! so the difference is not told by colour alone.

use maud::{html, Markup};

use super::Lang;

/// One row: its label and the two values. `None` is a value that side does not have (a
/// claim does not state an address): shown as a dash and never marked as a difference.
pub struct Row {
    pub label: String,
    pub left: Option<String>,
    pub right: Option<String>,
}

impl Row {
    pub fn both(label: &str, left: String, right: String) -> Row {
        Row { label: label.to_string(), left: Some(left), right: Some(right) }
    }

    /// Both sides state a value and the values differ other than in case or spacing (a
    /// difference in marks counts: "Ấn" is not "An").
    pub fn differs(&self) -> bool {
        let key =
            |s: &str| dancu_domain::nfc(s).to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ");
        matches!((&self.left, &self.right), (Some(l), Some(r)) if key(l) != key(r))
    }
}

fn value(v: &Option<String>) -> Markup {
    html! {
        @match v.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => { (t) }
            _ => { span.muted { "—" } }
        }
    }
}

/// One side's column: its label (read out on phones, before each value) and its head (may
/// be a link to the record).
pub struct Side {
    pub label: String,
    pub head: Markup,
}

/// The table: a column of labels and one per side.
pub fn table(lang: Lang, testid: &str, left: &Side, right: &Side, rows: &[Row]) -> Markup {
    let l_field = lang.t("Thông tin", "Field");
    html! {
        div.table-wrap { table.stack.compare data-testid=(testid) {
            thead { tr { th { (l_field) } th { (left.head) } th { (right.head) } } }
            tbody { @for r in rows {
                @let differs = r.differs();
                tr class=[differs.then_some("differs")] data-differs=(differs) {
                    th scope="row" data-label=(l_field) {
                        (r.label)
                        @if differs { " " span.diff-mark { (lang.t("≠ khác nhau", "≠ differs")) } }
                    }
                    td data-label=(left.label) data-side="left" { (value(&r.left)) }
                    td data-label=(right.label) data-side="right" { (value(&r.right)) }
                }
            } }
        } }
    }
}
