//! The import rules both backends share: a batch is decided household group by household
//! group, before anything is written, from what the database holds for the batch's personal
//! IDs and household numbers (looked up set-based by the backends).
//!
//! A household group is a run of contiguous rows with the same household number. It is
//! accepted or rejected whole:
//! - a new household needs its head; a head refused (its personal ID stored with other
//!   data) rejects the group (`household.head_refused`);
//! - a household already stored (or accepted earlier in the batch) takes the group only
//!   when every row is already stored as given (an exact re-import: counted as already
//!   present), or, with [`ImportOptions::append_to_existing_households`], when the group
//!   adds new members under the same head and repeats the stored ones unchanged. Anything
//!   else rejects the group: `household.exists` (`household.head_count` for another head
//!   when appending).
//!
//! A personal ID stored (or earlier in the batch) with the same data is "already present";
//! with other data it is refused as `citizen.conflict`.

use std::collections::{HashMap, HashSet};

use dancu_domain::{Relation, Violation};

use crate::model::{ImportOptions, ImportRow};
use crate::rows::{self, CitizenCols, RowGet, Val, CITIZEN_COLUMNS};
use crate::Result;

/// An import row flattened, ready for the database.
#[derive(Debug, Clone)]
pub(crate) struct ImportItem {
    pub line: u64,
    pub cols: CitizenCols,
    pub household: Option<(String, Relation)>,
}

/// Flattens rows; rows that cannot be stored at all (no residence scope, a malformed
/// household number) are rejected here.
pub(crate) fn prepare_import(rows: &[ImportRow]) -> (Vec<ImportItem>, Vec<(u64, Violation)>) {
    let mut items = Vec::with_capacity(rows.len());
    let mut rejected = Vec::new();
    for r in rows {
        if let Some((no, _)) = &r.household {
            if let Err(v) = dancu_domain::household::validate_number(no) {
                rejected.push((r.line, v));
                continue;
            }
        }
        match CitizenCols::new(&r.citizen) {
            Ok(cols) => items.push(ImportItem { line: r.line, cols, household: r.household.clone() }),
            Err(v) => rejected.push((r.line, v)),
        }
    }
    (items, rejected)
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fate {
    Insert,
    /// Already stored as given (or earlier in the same batch).
    Skip,
    Reject(Violation),
}

/// What the database holds under a row's personal ID.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stored {
    Absent,
    /// The same record, in the same household with the same relation.
    Same,
    /// Another record: the columns that differ.
    Differs(Vec<&'static str>),
}

/// Columns derived from others (full name, name key, birth year, scope): left out of the
/// comparison, so that a change in how they are derived does not turn a re-import into
/// conflicts.
const DERIVED: [usize; 5] = [4, 5, 8, 29, 30];

/// `SELECT` of what [`compare_stored`] reads, for the personal IDs in `$1` (an array on
/// PostgreSQL; SQLite rewrites `= ANY($1)` to `= ?1`).
pub(crate) static STORED_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {}, household_no, relation FROM citizens WHERE personal_id = ANY($1)",
        CITIZEN_COLUMNS.join(", ")
    )
});

/// Households among `$1` that exist, each with its head's personal ID (NULL without one).
/// The join uses the unique index on heads, which a bulk import keeps.
pub(crate) const HOUSEHOLD_HEADS_SQL: &str = "SELECT h.number, c.personal_id FROM households h \
     LEFT JOIN citizens c ON c.household_no = h.number AND c.relation = 'head' \
     WHERE h.number = ANY($1)";

/// The statements above for SQLite, one key at a time.
pub(crate) fn one_key(sql: &str) -> String {
    sql.replace("= ANY($1)", "= ?1")
}

fn household_cols(h: Option<&(String, Relation)>) -> (Option<&str>, Option<&'static str>) {
    match h {
        Some((n, r)) => (Some(n.as_str()), Some(r.code())),
        None => (None, None),
    }
}

/// Compares a row of [`STORED_SQL`] with an item.
pub(crate) fn compare_stored(r: &impl RowGet, it: &ImportItem) -> Result<Stored> {
    let mut differs = Vec::new();
    for (i, v) in it.cols.vals.iter().enumerate() {
        if DERIVED.contains(&i) {
            continue;
        }
        let same = match v {
            Val::Text(s) => r.text(i)? == *s,
            Val::OptText(o) => r.opt_text(i)? == *o,
            Val::Int(n) => r.int(i)? == *n,
            Val::Null | Val::Ts(_) => true,
        };
        if !same {
            differs.push(CITIZEN_COLUMNS[i]);
        }
    }
    let n = CITIZEN_COLUMNS.len();
    let (no, rel) = household_cols(it.household.as_ref());
    if r.opt_text(n)?.as_deref() != no {
        differs.push("household_no");
    }
    if r.opt_text(n + 1)?.as_deref() != rel {
        differs.push("relation_to_head");
    }
    Ok(if differs.is_empty() { Stored::Same } else { Stored::Differs(differs) })
}

/// Compares two items of the same personal ID (a row repeated in a batch).
fn compare_items(a: &ImportItem, b: &ImportItem) -> Stored {
    let mut differs: Vec<&'static str> = (0..CITIZEN_COLUMNS.len())
        .filter(|i| !DERIVED.contains(i) && a.cols.vals[*i] != b.cols.vals[*i])
        .map(|i| CITIZEN_COLUMNS[i])
        .collect();
    let (an, ar) = household_cols(a.household.as_ref());
    let (bn, br) = household_cols(b.household.as_ref());
    if an != bn {
        differs.push("household_no");
    }
    if ar != br {
        differs.push("relation_to_head");
    }
    if differs.is_empty() {
        Stored::Same
    } else {
        Stored::Differs(differs)
    }
}

/// Distinct household numbers of the items.
pub(crate) fn household_numbers(items: &[ImportItem]) -> Vec<&str> {
    let mut seen = HashSet::new();
    items
        .iter()
        .filter_map(|i| i.household.as_ref().map(|(n, _)| n.as_str()))
        .filter(|n| seen.insert(*n))
        .collect()
}

/// Decides each row of a batch, group by group in order. `stored` answers what the database
/// held under an item's personal ID before the batch; `household` whether a household
/// number existed, and with which head (`Some(None)`: stored without a head).
pub(crate) fn plan_import(
    items: &[ImportItem],
    opts: &ImportOptions,
    mut stored: impl FnMut(&ImportItem) -> Result<Stored>,
    mut household: impl FnMut(&str) -> Result<Option<Option<String>>>,
) -> Result<Vec<Fate>> {
    // Rows accepted earlier in the batch, by personal ID, and the households they made or
    // joined, with their heads.
    let mut accepted: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    let mut households: HashMap<&str, Option<&str>> = HashMap::new();
    let mut fates: Vec<Fate> = Vec::with_capacity(items.len());
    let mut start = 0;
    while start < items.len() {
        let no = items[start].household.as_ref().map(|(n, _)| n.as_str());
        let end = match no {
            None => start + 1,
            Some(no) => {
                start
                    + items[start..]
                        .iter()
                        .take_while(|i| i.household.as_ref().map(|(n, _)| n.as_str()) == Some(no))
                        .count()
            }
        };
        let group = &items[start..end];
        // What is known of each row's personal ID: earlier in the batch (or the group),
        // else in the database.
        let mut states = Vec::with_capacity(group.len());
        for (k, it) in group.iter().enumerate() {
            let id = it.cols.id();
            let earlier = group[..k].iter().rev().find(|g| g.cols.id() == id);
            let state = match earlier.or_else(|| accepted.get(id).map(|&e| &items[e])) {
                Some(e) => compare_items(e, it),
                None => stored(it)?,
            };
            states.push(state);
        }
        let decided = match no {
            None => vec![row_fate(group[0].cols.id(), &states[0])],
            Some(no) => {
                let existing = match households.get(no) {
                    Some(head) => Some(head.map(str::to_string)),
                    None => household(no)?,
                };
                decide_group(no, group, &states, existing.as_ref(), opts)
            }
        };
        for (k, fate) in decided.into_iter().enumerate() {
            if fate == Fate::Insert {
                accepted.insert(group[k].cols.id(), start + k);
                if let Some((n, r)) = &group[k].household {
                    let head = households.entry(n.as_str()).or_insert(None);
                    if *r == Relation::Head {
                        *head = Some(group[k].cols.id());
                    }
                }
            } else if let (Fate::Skip, Some((n, _))) = (&fate, &group[k].household) {
                // A stored household repeated: known for the rest of the batch.
                if !households.contains_key(n.as_str()) {
                    let head = group
                        .iter()
                        .find(|g| matches!(g.household, Some((_, Relation::Head))))
                        .map(|g| g.cols.id());
                    households.insert(n.as_str(), head);
                }
            }
            fates.push(fate);
        }
        start = end;
    }
    Ok(fates)
}

fn row_fate(id: &str, state: &Stored) -> Fate {
    match state {
        Stored::Absent => Fate::Insert,
        Stored::Same => Fate::Skip,
        Stored::Differs(cols) => Fate::Reject(citizen_conflict(id, cols)),
    }
}

/// Every row of the group refused: a row whose own record conflicts with its conflict,
/// the others with `why`.
fn reject_all(group: &[ImportItem], states: &[Stored], why: Violation) -> Vec<Fate> {
    group
        .iter()
        .zip(states)
        .map(|(it, s)| match s {
            Stored::Differs(cols) => Fate::Reject(citizen_conflict(it.cols.id(), cols)),
            _ => Fate::Reject(why.clone()),
        })
        .collect()
}

fn decide_group(
    no: &str,
    group: &[ImportItem],
    states: &[Stored],
    existing: Option<&Option<String>>,
    opts: &ImportOptions,
) -> Vec<Fate> {
    let is_head = |it: &ImportItem| matches!(it.household, Some((_, Relation::Head)));
    let head = group.iter().position(is_head);
    let Some(stored_head) = existing else {
        // A new household: it needs its head, and the head must be accepted.
        let Some(h) = head else {
            return reject_all(group, states, head_missing(no));
        };
        if matches!(states[h], Stored::Differs(_)) {
            return reject_all(group, states, head_refused(no, group[h].line));
        }
        return group
            .iter()
            .zip(states)
            .enumerate()
            .map(|(k, (it, s))| {
                if k != h && is_head(it) && *s == Stored::Absent {
                    // A second head: refused alone, as the database would.
                    Fate::Reject(rows::head_taken(no))
                } else {
                    row_fate(it.cols.id(), s)
                }
            })
            .collect();
    };
    // A household already stored: an exact re-import is already present.
    if states.iter().all(|s| *s == Stored::Same) {
        return vec![Fate::Skip; group.len()];
    }
    let new = states.iter().filter(|s| **s == Stored::Absent).count();
    let differ = states.iter().filter(|s| matches!(s, Stored::Differs(_))).count();
    if !opts.append_to_existing_households {
        return reject_all(group, states, household_exists(no, new, differ));
    }
    let heads: Vec<&str> = group.iter().filter(|it| is_head(it)).map(|it| it.cols.id()).collect();
    let other_head = match stored_head {
        Some(sh) => heads.iter().any(|h| h != sh),
        None => heads.len() > 1,
    };
    if other_head {
        return reject_all(group, states, rows::head_taken(no));
    }
    if differ > 0 {
        return reject_all(group, states, household_exists(no, new, differ));
    }
    states.iter().zip(group).map(|(s, it)| row_fate(it.cols.id(), s)).collect()
}

/// Household numbers of the rows to insert, each once.
pub(crate) fn new_households<'a>(items: &'a [ImportItem], fates: &[Fate]) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    items
        .iter()
        .zip(fates)
        .filter(|(_, f)| **f == Fate::Insert)
        .filter_map(|(i, _)| i.household.as_ref().map(|(n, _)| n.as_str()))
        .filter(|n| seen.insert(*n))
        .collect()
}

// ---------------------------------------------------------------------------------------
// violations

pub(crate) fn citizen_conflict(id: &str, cols: &[&str]) -> Violation {
    let cols = cols.join(", ");
    Violation::new(
        "personal_id",
        "citizen.conflict",
        format!("Số định danh {id} đã có trong cơ sở dữ liệu với dữ liệu khác ({cols})"),
        format!("personal ID {id} is already registered with other data ({cols})"),
    )
}

pub(crate) fn household_exists(no: &str, new: usize, differ: usize) -> Violation {
    Violation::new(
        "household_no",
        "household.exists",
        format!(
            "Hộ {no} đã có trong cơ sở dữ liệu; các dòng này không phải các thành viên đã lưu \
             ({new} người mới, {differ} người có dữ liệu khác). Cả hộ bị từ chối; muốn thêm thành viên \
             vào hộ đã có thì dùng tùy chọn --append-to-existing-households"
        ),
        format!(
            "household {no} already exists in the database and these rows are not its stored members \
             ({new} new, {differ} with other data); the whole household is rejected (to add members to \
             an existing household, use --append-to-existing-households)"
        ),
    )
}

pub(crate) fn head_refused(no: &str, line: u64) -> Violation {
    Violation::new(
        "household_no",
        "household.head_refused",
        format!("Chủ hộ của hộ {no} (dòng {line}) bị từ chối nên cả hộ bị từ chối"),
        format!("the head of household {no} (line {line}) was refused, so the whole household is rejected"),
    )
}

pub(crate) fn head_missing(no: &str) -> Violation {
    Violation::new(
        "household_no",
        "household.head_count",
        format!("Hộ mới {no} không có chủ hộ; cả hộ bị từ chối"),
        format!("new household {no} has no head; the whole household is rejected"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dancu_domain::citizen::CitizenDraft;
    use dancu_domain::{PersonalId, Sex};

    fn item(line: u64, serial: u32, name: &str, hh: Option<(&str, Relation)>) -> ImportItem {
        let pid = PersonalId::compose("01", Sex::Male, 1970, serial).unwrap().to_string();
        let c = CitizenDraft {
            personal_id: pid,
            family_name: "Hồ".into(),
            given_name: name.into(),
            birth_date: "1970".into(),
            sex: "M".into(),
            permanent_unit: "2025:00004".into(),
            ..Default::default()
        }
        .validate(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
        .unwrap();
        ImportItem {
            line,
            cols: CitizenCols::new(&c).unwrap(),
            household: hh.map(|(n, r)| (n.to_string(), r)),
        }
    }

    fn rules(f: &[Fate]) -> Vec<&str> {
        f.iter()
            .map(|f| match f {
                Fate::Insert => "insert",
                Fate::Skip => "skip",
                Fate::Reject(v) => v.rule,
            })
            .collect()
    }

    const STRICT: ImportOptions = ImportOptions { append_to_existing_households: false };
    const APPEND: ImportOptions = ImportOptions { append_to_existing_households: true };

    #[test]
    fn groups_are_decided_whole() {
        let a = [
            item(2, 1, "Một", Some(("H1", Relation::Head))),
            item(3, 2, "Hai", Some(("H1", Relation::Spouse))),
            item(4, 3, "Ba", Some(("H2", Relation::Head))),
            item(5, 4, "Bốn", Some(("H2", Relation::Child))),
            item(6, 5, "Năm", None),
        ];
        // H1 exists with another head; 3 is stored with other data (the head of H2).
        let stored = |it: &ImportItem| {
            Ok(if it.line == 4 { Stored::Differs(vec!["given_name"]) } else { Stored::Absent })
        };
        let hh = |no: &str| Ok((no == "H1").then(|| Some("999999999999".to_string())));
        let f = plan_import(&a, &STRICT, stored, hh).unwrap();
        assert_eq!(
            rules(&f),
            ["household.exists", "household.exists", "citizen.conflict", "household.head_refused", "insert"]
        );
        let f = plan_import(&a, &APPEND, stored, hh).unwrap();
        assert_eq!(
            rules(&f),
            [
                "household.head_count",
                "household.head_count",
                "citizen.conflict",
                "household.head_refused",
                "insert"
            ]
        );
    }

    #[test]
    fn re_imports_and_appends() {
        let a = [
            item(2, 1, "Một", Some(("H1", Relation::Head))),
            item(3, 2, "Hai", Some(("H1", Relation::Spouse))),
            item(4, 3, "Ba", Some(("H1", Relation::Child))),
        ];
        let stored = |it: &ImportItem| Ok(if it.line < 4 { Stored::Same } else { Stored::Absent });
        let hh = |_: &str| Ok(Some(Some(a[0].cols.id().to_string())));
        assert_eq!(rules(&plan_import(&a, &STRICT, stored, hh).unwrap()), ["household.exists"; 3]);
        assert_eq!(rules(&plan_import(&a, &APPEND, stored, hh).unwrap()), ["skip", "skip", "insert"]);
        assert_eq!(rules(&plan_import(&a[..2], &STRICT, stored, hh).unwrap()), ["skip", "skip"]);
        // A member stored with other data is not appended over.
        let differs = |it: &ImportItem| {
            Ok(if it.line == 3 { Stored::Differs(vec!["household_no"]) } else { stored(it)? })
        };
        assert_eq!(
            rules(&plan_import(&a, &APPEND, differs, hh).unwrap()),
            ["household.exists", "citizen.conflict", "household.exists"]
        );
    }

    #[test]
    fn repeats_in_a_batch_are_present_or_conflicts() {
        let a = [
            item(2, 1, "Một", Some(("H1", Relation::Head))),
            item(3, 2, "Hai", None),
            item(4, 2, "Hai", None),
            item(5, 2, "Khác", None),
            // The same household again, later in the batch, with another head.
            item(6, 7, "Bảy", Some(("H1", Relation::Head))),
            item(7, 8, "Tám", None),
            // And exactly as before.
            item(8, 1, "Một", Some(("H1", Relation::Head))),
        ];
        let f = plan_import(&a, &STRICT, |_| Ok(Stored::Absent), |_| Ok(None)).unwrap();
        assert_eq!(
            rules(&f),
            ["insert", "insert", "skip", "citizen.conflict", "household.exists", "insert", "skip"]
        );
        // A new household without its head is refused whole.
        let b = [item(2, 3, "Ba", Some(("H9", Relation::Child)))];
        let f = plan_import(&b, &APPEND, |_| Ok(Stored::Absent), |_| Ok(None)).unwrap();
        assert_eq!(rules(&f), ["household.head_count"]);
    }
}
