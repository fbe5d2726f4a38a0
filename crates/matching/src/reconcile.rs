//! Reconciling a sector agency's list (vaccination, insurance, social assistance…) against
//! the registry. Each row gets an ID check and a status the agency can act on:
//!
//! | id_check | meaning |
//! |---|---|
//! | `ok` | a valid personal ID found in the registry |
//! | `no_id` | the ID column is empty |
//! | `id_bad_format` | not a valid 12-digit personal ID (the rule is in `reason`) |
//! | `id_not_in_registry` | valid format, but no such person in the registry |
//!
//! | status | meaning |
//! |---|---|
//! | `matched` | the ID is in the registry and name, date of birth… agree |
//! | `details_disagree` | the ID is in the registry but some fields differ (named in `reason`) |
//! | `probable_match` | no usable ID, but a registry record matches: `suggested_id`, `score` |
//! | `no_match` | no usable ID and no registry record matches well enough |
//! | `rejected` | the row could not be read (rule in `reason`) |
//!
//! The registry side is any iterator of [`CitizenDraft`] (from the database or a CSV
//! export), so the same code serves the command line and, later, the upload page.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use dancu_domain::citizen::CitizenDraft;
use dancu_domain::units::admin_units;
use rayon::prelude::*;

use crate::config::MatchConfig;
use crate::fastmap::FastMap;
use crate::io::{Loader, MatchError};
use crate::record::{IdCheck, Kind, RowFields, ID_RULES};
use crate::{Dataset, Matcher};

/// The mapping used for registry records: dancu's own fields, with the sector list's
/// category names (only `sex` is known to the registry) so category slots line up.
pub fn registry_config(sector: &MatchConfig) -> MatchConfig {
    let mut cfg = MatchConfig::dancu_default();
    cfg.categories = sector.categories.clone();
    cfg
}

fn draft_fields<'a>(d: &'a CitizenDraft, cfg: &MatchConfig) -> RowFields<'a> {
    let mut f = RowFields::default();
    for (k, v) in [
        (Kind::FamilyName, &d.family_name),
        (Kind::MiddleName, &d.middle_name),
        (Kind::GivenName, &d.given_name),
        (Kind::BirthDate, &d.birth_date),
        (Kind::PersonalId, &d.personal_id),
        (Kind::Cmnd, &d.cmnd),
        (Kind::Unit, &d.permanent_unit),
        (Kind::AddressDetail, &d.permanent_detail),
        (Kind::RecordId, &d.personal_id),
    ] {
        f.set(k, v.as_str());
    }
    for (slot, (name, _)) in cfg.categories.iter().enumerate() {
        if name == "sex" {
            f.cats[slot] = d.sex.as_str().into();
        }
    }
    f
}

/// Adds registry records (source 1) from any iterator (the database, a CSV export), for
/// reconciliation against a sector list read with the mapping `sector`.
pub fn load_registry(
    loader: &mut Loader,
    registry: impl IntoIterator<Item = CitizenDraft>,
    sector: &MatchConfig,
) {
    load_drafts(loader, registry, &registry_config(sector), 1);
}

/// Adds citizen records as `source`, in parallel chunks; each is named by its personal ID
/// (`Dataset::ids`). With `MatchConfig::dancu_default()` and source 0 this is the input of
/// a registry deduplication: `Dataset::from_loader(loader, false)`, then `dedup`.
pub fn load_drafts(
    loader: &mut Loader,
    drafts: impl IntoIterator<Item = CitizenDraft>,
    cfg: &MatchConfig,
    source: u8,
) {
    let mut it = drafts.into_iter().peekable();
    let mut line = 1u32;
    while it.peek().is_some() {
        let chunk: Vec<CitizenDraft> = it.by_ref().take(16_384).collect();
        let rows = chunk
            .iter()
            .map(|d| {
                line += 1;
                (line, draft_fields(d, cfg))
            })
            .collect();
        loader.push_rows(rows, cfg, source, true);
    }
}

/// Adds registry records from a dancu citizen CSV export (docs/CSV.md).
pub fn load_registry_csv(loader: &mut Loader, path: &Path, sector: &MatchConfig) -> Result<(), MatchError> {
    let mut cfg = registry_config(sector);
    cfg.columns.remove("record_id");
    loader.read_csv(path, &cfg, 1)
}

/// The outcome for one sector row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowResult {
    pub line: u32,
    pub id_check: &'static str,
    pub status: &'static str,
    pub reason: String,
    pub suggested_id: String,
    pub score: Option<f64>,
    /// 2025 commune of the row (0 when unknown), for the summary.
    pub commune: u32,
}

pub const STATUSES: [&str; 5] = ["matched", "details_disagree", "probable_match", "no_match", "rejected"];
pub const ID_CHECKS: [&str; 4] = ["ok", "no_id", "id_bad_format", "id_not_in_registry"];

/// Classifies every sector row (source 0 of `ds`) against the registry rows (source 1).
pub fn reconcile(ds: &Dataset, cfg: &MatchConfig, threshold: f64) -> Vec<RowResult> {
    let (matcher, _) = Matcher::train(ds, cfg);
    let tw = matcher.threshold_weight(threshold);
    // Best registry candidate per sector row.
    let mut best: FastMap<u32, (u32, f32)> = FastMap::default();
    for (i, j, w) in matcher.scored_pairs(tw, None).0 {
        let (s, r) = if ds.records[i as usize].source == 0 { (i, j) } else { (j, i) };
        let e = best.entry(s).or_insert((r, w));
        if w > e.1 {
            *e = (r, w);
        }
    }
    let by_pid: FastMap<u64, u32> = ds
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.source == 1 && r.id_check == Some(IdCheck::Valid))
        .map(|(i, r)| (r.pid, i as u32))
        .collect();
    let pid_text = |i: u32| format!("{:012}", ds.records[i as usize].pid);
    ds.records
        .par_iter()
        .enumerate()
        .filter(|(_, r)| r.source == 0)
        .map(|(i, r)| {
            let i = i as u32;
            let mut out = RowResult {
                line: r.line,
                id_check: "ok",
                status: "no_match",
                reason: String::new(),
                suggested_id: String::new(),
                score: None,
                commune: r.commune,
            };
            let in_registry = match r.id_check {
                Some(IdCheck::Valid) => by_pid.get(&r.pid).copied(),
                _ => None,
            };
            out.id_check = match (r.id_check, in_registry) {
                (Some(IdCheck::Valid), Some(_)) => "ok",
                (Some(IdCheck::Valid), None) => "id_not_in_registry",
                (Some(IdCheck::BadFormat(rule)), _) => {
                    out.reason = format!("personal_id: {}", ID_RULES[rule as usize]);
                    "id_bad_format"
                }
                _ => "no_id",
            };
            let candidate = best.get(&i).copied();
            if let Some(reg) = in_registry {
                let e = matcher.explain(i, reg);
                let differing: Vec<String> =
                    e.disagreements().map(|f| format!("{}: {}", f.field, f.level)).collect();
                out.score = Some(e.probability);
                if differing.is_empty() {
                    out.status = "matched";
                } else {
                    out.status = "details_disagree";
                    out.reason = differing.join("; ");
                    if let Some((c, w)) = candidate.filter(|(c, _)| *c != reg) {
                        if w as f64 > e.weight {
                            out.reason.push_str(&format!(
                                "; another registry record matches better: {}",
                                pid_text(c)
                            ));
                            out.suggested_id = pid_text(c);
                        }
                    }
                }
            } else if let Some((c, w)) = candidate {
                out.status = "probable_match";
                out.suggested_id = pid_text(c);
                out.score = Some(matcher.model.probability(w as f64));
                let e = matcher.explain(i, c);
                let agreeing: Vec<&str> =
                    e.fields.iter().filter(|f| f.agrees).map(|f| f.field.as_str()).collect();
                let close: Vec<String> = e
                    .fields
                    .iter()
                    .filter(|f| !f.agrees && f.weight > 0.0)
                    .map(|f| format!("{} ({})", f.field, f.level))
                    .collect();
                let sep = if out.reason.is_empty() { "" } else { "; " };
                out.reason = format!("{}{sep}agrees on {}", out.reason, agreeing.join(", "));
                if !close.is_empty() {
                    out.reason.push_str(&format!("; close on {}", close.join(", ")));
                }
            }
            out
        })
        .collect()
}

/// Writes the sector list back with five columns appended: `id_check,status,reason,
/// suggested_id,score`. Rows that could not be read are written with status `rejected`.
pub fn write_result(
    input: &Path,
    out: &Path,
    results: &[RowResult],
    issues: &[crate::record::Issue],
) -> Result<(), MatchError> {
    let io = |p: &Path, e: csv::Error| MatchError::Csv { path: p.into(), line: 0, message: e.to_string() };
    let by_line: HashMap<u32, &RowResult> = results.iter().map(|r| (r.line, r)).collect();
    let mut rejected: HashMap<u32, String> = HashMap::new();
    for i in issues.iter().filter(|i| i.dropped) {
        rejected.insert(i.line, format!("{}: {}", i.column, i.rule));
    }
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_path(input).map_err(|e| io(input, e))?;
    let mut w = csv::WriterBuilder::new().flexible(true).from_path(out).map_err(|e| io(out, e))?;
    let mut header = rdr.byte_headers().map_err(|e| io(input, e))?.clone();
    for h in ["id_check", "status", "reason", "suggested_id", "score"] {
        header.push_field(h.as_bytes());
    }
    w.write_byte_record(&header).map_err(|e| io(out, e))?;
    let mut row = csv::ByteRecord::new();
    while rdr.read_byte_record(&mut row).map_err(|e| io(input, e))? {
        let line = row.position().map(|p| p.line()).unwrap_or(0) as u32;
        let (id_check, status, reason, suggested, score) = match (by_line.get(&line), rejected.get(&line)) {
            (Some(r), _) => (
                r.id_check,
                r.status,
                r.reason.clone(),
                r.suggested_id.clone(),
                r.score.map(|s| format!("{s:.4}")).unwrap_or_default(),
            ),
            (None, Some(why)) => ("", "rejected", why.clone(), String::new(), String::new()),
            (None, None) => ("", "rejected", "unreadable row".to_string(), String::new(), String::new()),
        };
        for v in [id_check, status, &reason, &suggested, &score] {
            row.push_field(v.as_bytes());
        }
        w.write_byte_record(&row).map_err(|e| io(out, e))?;
    }
    w.flush().map_err(|e| MatchError::Io { path: out.into(), source: e })
}

/// One line of the per-unit summary: counts per ID check and per status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitCounts {
    pub total: u64,
    pub id_checks: [u64; ID_CHECKS.len()],
    pub statuses: [u64; STATUSES.len()],
}

/// Counts per 2025 commune (0 = unknown unit), like the provinces' vaccination tables
/// ("no ID / wrong ID format / details disagree / total" per unit), plus rejected rows.
pub fn summary(results: &[RowResult], rejected_rows: u64) -> BTreeMap<u32, UnitCounts> {
    let mut m: BTreeMap<u32, UnitCounts> = BTreeMap::new();
    for r in results {
        let c = m.entry(r.commune).or_default();
        c.total += 1;
        if let Some(k) = ID_CHECKS.iter().position(|x| *x == r.id_check) {
            c.id_checks[k] += 1;
        }
        if let Some(k) = STATUSES.iter().position(|x| *x == r.status) {
            c.statuses[k] += 1;
        }
    }
    if rejected_rows > 0 {
        let c = m.entry(0).or_default();
        c.total += rejected_rows;
        c.statuses[4] += rejected_rows;
    }
    m
}

/// Writes the summary CSV: one row per unit and a total row whose figures are the column
/// sums (the seeds' hand-made tables often do not add up; this one does by construction).
pub fn write_summary(path: &Path, summary: &BTreeMap<u32, UnitCounts>) -> Result<(), MatchError> {
    let err = |e: csv::Error| MatchError::Csv { path: path.into(), line: 0, message: e.to_string() };
    let mut w = csv::Writer::from_path(path).map_err(err)?;
    let mut header = vec!["unit_code", "unit_name", "province"];
    header.extend(ID_CHECKS.iter().skip(1));
    header.extend(STATUSES.iter());
    header.push("total");
    w.write_record(&header).map_err(err)?;
    let mut total = UnitCounts::default();
    let units = admin_units();
    for (code, c) in summary {
        let (code_s, name, prov) = match units.commune_2025(&format!("{code:05}")) {
            Some(u) if *code != 0 => (format!("2025:{code:05}"), u.name.clone(), u.province_name.clone()),
            _ => (String::new(), "(không rõ đơn vị / unknown unit)".to_string(), String::new()),
        };
        let mut row = vec![code_s, name, prov];
        row.extend(c.id_checks.iter().skip(1).map(u64::to_string));
        row.extend(c.statuses.iter().map(u64::to_string));
        row.push(c.total.to_string());
        w.write_record(&row).map_err(err)?;
        total.total += c.total;
        for k in 0..ID_CHECKS.len() {
            total.id_checks[k] += c.id_checks[k];
        }
        for k in 0..STATUSES.len() {
            total.statuses[k] += c.statuses[k];
        }
    }
    let mut row = vec![String::new(), "Tổng cộng / total".to_string(), String::new()];
    row.extend(total.id_checks.iter().skip(1).map(u64::to_string));
    row.extend(total.statuses.iter().map(u64::to_string));
    row.push(total.total.to_string());
    w.write_record(&row).map_err(err)?;
    w.flush().map_err(|e| MatchError::Io { path: path.into(), source: e })
}
