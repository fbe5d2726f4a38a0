//! The audit log: listings through the look-up side tables, catch-up, rows.

use std::sync::LazyLock;

use super::*;

// ---------------------------------------------------------------------------------------
// audit

/// The entries whose `column` is the filter value (`#`): those the side table `table`
/// holds, and those in the tail of the log it has not caught up with yet (`tail_also`, if
/// any, widens the tail's test). The side table is probed once per epoch (its keys lead
/// with the epoch).
fn audit_key_cond(table: &str, column: &str, tail_also: &str) -> String {
    format!(
        "seq IN (WITH RECURSIVE epochs (n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM epochs \
         WHERE n < ({AUDIT_INDEXED_UPTO}) / {AUDIT_EPOCH}) \
         SELECT t.seq FROM epochs JOIN {table} t ON t.epoch = epochs.n AND t.{column} = # UNION ALL \
         SELECT seq FROM audit_log WHERE seq > ({AUDIT_INDEXED_UPTO}) AND ({column} = #{tail_also}))"
    )
}

/// In the tail not yet filed under each returned ID: a listing that returned `#`. The JSON
/// array's quotes delimit whole IDs; `#` is a personal ID, household number or bulk
/// subject, none of which holds a quote or a LIKE wildcard that could match across them.
const RETURNED_TAIL: &str = " OR returned LIKE '%\"' || # || '\"%'";

/// Entries per epoch of the side tables' keys `(epoch, subject or actor, seq)`, with
/// `epoch = seq / AUDIT_EPOCH`: new entries go into the current epoch's small part of each
/// table, which stays cached, instead of all over it. The catch-up SQL below and migration
/// 0007 write the number out.
pub(crate) const AUDIT_EPOCH: i64 = 65_536;

/// How far the side tables `audit_by_subject` and `audit_by_actor` may lag behind the log
/// (entries) before an append brings them up to date, in one sorted insert each. Sorted
/// batches into the current epoch touch a few cached pages instead of one page per entry;
/// a filtered listing scans at most this many tail entries (plus one append batch).
pub(crate) const AUDIT_INDEX_LAG: i64 = 2048;

/// The same lag for PostgreSQL, whose catch-up runs beside the appends (see
/// `PgStore::spawn_audit_catch_up`): smaller, more frequent catch-ups compete less with the
/// look-ups running meanwhile (with a single-pass catch-up, look-up p99 10.4 and 10.7 ms
/// against 16.3 and 14.0 ms at 2,048 in two A/B pairs, BENCHMARKS.md).
pub(crate) const AUDIT_INDEX_LAG_BACKGROUND: i64 = 256;

/// The last entry both side tables hold.
pub(crate) const AUDIT_INDEXED_UPTO: &str = "SELECT upto FROM audit_indexed WHERE id = 1";

/// Brings the side tables up to date with the log (entries after `$1`), up to `$2`: each
/// entry under its subject and its actor. [`AUDIT_CATCHUP_RETURNED_SQLITE`] and
/// [`AUDIT_CATCHUP_RETURNED_PG`] file listings under the IDs they returned.
pub(crate) const AUDIT_CATCHUP: [&str; 2] = [
    "INSERT INTO audit_by_subject (epoch, subject, seq) \
     SELECT seq / 65536, subject, seq FROM audit_log WHERE seq > $1 AND seq <= $2 ORDER BY 1, 2, 3",
    "INSERT INTO audit_by_actor (epoch, actor, seq) \
     SELECT seq / 65536, actor, seq FROM audit_log WHERE seq > $1 AND seq <= $2 ORDER BY 1, 2, 3",
];

/// Files each listing after `$1` up to `$2` under every ID it returned (SQLite's JSON
/// table function). An ID that is also the entry's subject is already filed.
pub(crate) const AUDIT_CATCHUP_RETURNED_SQLITE: &str = "INSERT INTO audit_by_subject (epoch, subject, seq) \
     SELECT a.seq / 65536, j.value, a.seq FROM audit_log a, json_each(a.returned) j \
     WHERE a.seq > $1 AND a.seq <= $2 AND a.returned IS NOT NULL ORDER BY 1, 2, 3 \
     ON CONFLICT DO NOTHING";

/// The same for PostgreSQL.
pub(crate) const AUDIT_CATCHUP_RETURNED_PG: &str = "INSERT INTO audit_by_subject (epoch, subject, seq) \
     SELECT a.seq / 65536, j.value, a.seq FROM audit_log a \
     CROSS JOIN LATERAL jsonb_array_elements_text(a.returned::jsonb) AS j(value) \
     WHERE a.seq > $1 AND a.seq <= $2 AND a.returned IS NOT NULL ORDER BY 1, 2, 3 \
     ON CONFLICT DO NOTHING";

/// Records that the side tables hold every entry up to `$1`.
pub(crate) const AUDIT_INDEXED_SET: &str = "UPDATE audit_indexed SET upto = $1 WHERE id = 1";

/// The first entry of the keyed chain (migration 0008).
pub(crate) const AUDIT_KEYED_FROM: &str = "SELECT keyed_from FROM audit_chain WHERE id = 1";

pub(crate) const AUDIT_SELECT: &str =
    "SELECT seq, at, actor, action, subject, purpose, outcome, prev_hash, hash, returned FROM audit_log";

/// The `returned` column of an entry: a JSON array, NULL when empty.
pub(crate) fn returned_json(ids: &[String]) -> Option<String> {
    (!ids.is_empty()).then(|| serde_json::to_string(ids).expect("strings serialise"))
}

pub(crate) fn audit_from_row(r: &impl RowGet) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.int(0)?,
        entry: NewAuditEntry {
            at: r.ts(1)?,
            actor: r.text(2)?,
            action: r.text(3)?,
            subject: r.text(4)?,
            purpose: r.text(5)?,
            outcome: r.text(6)?,
            returned: match r.opt_text(9)? {
                Some(j) => serde_json::from_str(&j).map_err(|e| corrupt("audit returned IDs", e))?,
                None => Vec::new(),
            },
        },
        prev_hash: r.text(7)?,
        hash: r.text(8)?,
    })
}

/// Audit filter: count and page statements (newest first).
pub(crate) fn audit_sql(af: &AuditFilter, ph: Ph) -> (String, String, Filter, u32) {
    let mut f = Filter::default();
    if let Some(s) = &af.subject {
        // The subject, or any of the extra ones (bulk accesses covering it).
        let conds: Vec<String> = std::iter::once(s)
            .chain(&af.also_subjects)
            .map(|s| {
                audit_key_cond("audit_by_subject", "subject", RETURNED_TAIL)
                    .replace('#', &f.param(ph, Val::Text(s.clone())))
            })
            .collect();
        f.sql.push_str(if f.sql.is_empty() { " WHERE " } else { " AND " });
        f.sql.push_str(&format!("({})", conds.join(" OR ")));
    }
    if let Some(a) = &af.actor {
        f.and(ph, &audit_key_cond("audit_by_actor", "actor", ""), Val::Text(a.clone()));
    }
    let count = format!("SELECT count(*) FROM audit_log{}", f.sql);
    let (limit, tail) = limit_offset(&mut f, ph, af.limit, af.offset);
    let page = format!("{AUDIT_SELECT}{} ORDER BY seq DESC{tail}", f.sql);
    (count, page, f, limit)
}

/// The entries from `$1` on, in order (for verifying the chain).
pub(crate) static AUDIT_FROM_SEQ: LazyLock<String> =
    LazyLock::new(|| format!("{AUDIT_SELECT} WHERE seq >= $1 ORDER BY seq"));
