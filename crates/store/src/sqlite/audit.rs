//! SQLite: the audit log (appends catch the look-up side tables up themselves).

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::{immediate, page, SqliteStore, PH};
use crate::audit_chain::{self, AuditHead, AuditReport, ChainCheck, VerifyScope};
use crate::model::*;
use crate::rows;
use crate::{AuditStore, Result};

/// Copies the audit entries after `upto` up to `last` into the look-up side tables.
pub(super) fn audit_catch_up(tx: &Connection, upto: i64, last: i64) -> Result<()> {
    for sql in rows::AUDIT_CATCHUP.iter().chain([&rows::AUDIT_CATCHUP_RETURNED_SQLITE]) {
        tx.prepare_cached(&PH.sql(sql))?.execute([upto, last])?;
    }
    tx.prepare_cached(&PH.sql(rows::AUDIT_INDEXED_SET))?.execute([last])?;
    Ok(())
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, entries: &[NewAuditEntry]) -> Result<AuditHead> {
        let entries = entries.to_vec();
        let key = self.inner.audit_key.clone();
        self.write_audit(move |conn| {
            let tx = immediate(conn)?;
            let head = {
                let head = tx
                    .query_row("SELECT seq, hash, at FROM audit_log ORDER BY seq DESC LIMIT 1", [], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                    })
                    .optional()?;
                let head = match head {
                    Some((seq, hash, at)) => AuditHead { seq, hash, at: Some(rows::parse_ts_text(&at)?) },
                    None => AuditHead::genesis(),
                };
                if entries.is_empty() {
                    return Ok(head);
                }
                let mut ins = tx.prepare_cached(
                    "INSERT INTO audit_log (seq, at, actor, action, subject, purpose, outcome, prev_hash, hash, returned) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?;
                let chained = audit_chain::chain(&key, &entries, &head);
                for e in &chained {
                    ins.execute(params![
                        e.seq,
                        rows::ts_text(&e.entry.at),
                        e.entry.actor,
                        e.entry.action,
                        e.entry.subject,
                        e.entry.purpose,
                        e.entry.outcome,
                        e.prev_hash,
                        e.hash,
                        rows::returned_json(&e.entry.returned)
                    ])?;
                }
                let last = chained.last().expect("entries is not empty");
                let upto: i64 =
                    tx.prepare_cached(rows::AUDIT_INDEXED_UPTO)?.query_row([], |r| r.get(0))?;
                if last.seq - upto >= rows::AUDIT_INDEX_LAG {
                    audit_catch_up(&tx, upto, last.seq)?;
                }
                AuditHead { seq: last.seq, hash: last.hash.clone(), at: Some(last.entry.at) }
            };
            tx.commit()?;
            Ok(head)
        })
        .await
    }

    async fn audit_keyed_from(&self) -> Result<i64> {
        self.read(|c, _| Ok(c.query_row(rows::AUDIT_KEYED_FROM, [], |r| r.get(0))?)).await
    }

    async fn catch_up_audit(&self) -> Result<()> {
        self.write_audit(|conn| {
            let tx = immediate(conn)?;
            let upto: i64 = tx.prepare_cached(rows::AUDIT_INDEXED_UPTO)?.query_row([], |r| r.get(0))?;
            let last: i64 = tx.query_row("SELECT coalesce(max(seq), 0) FROM audit_log", [], |r| r.get(0))?;
            if last > upto {
                audit_catch_up(&tx, upto, last)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn list_audit(&self, f: &AuditFilter) -> Result<Page<AuditEntry>> {
        let (count_sql, page_sql, filter, limit) = rows::audit_sql(f, PH);
        let offset = f.offset;
        self.read(move |c, _| {
            let tx = c.unchecked_transaction()?;
            let p = page(&tx, &count_sql, &page_sql, &filter, limit, offset, |r| rows::audit_from_row(r))?;
            tx.finish()?;
            Ok(p)
        })
        .await
    }

    async fn verify_audit(&self, scope: &VerifyScope) -> Result<AuditReport> {
        let scope = scope.clone();
        let key = self.inner.audit_key.clone();
        self.read(move |c, _| {
            let tx = c.unchecked_transaction()?;
            let keyed_from: i64 = tx.query_row(rows::AUDIT_KEYED_FROM, [], |r| r.get(0))?;
            let mut check = ChainCheck::new(&key, keyed_from, &scope);
            {
                let mut st = tx.prepare(&PH.sql(&rows::AUDIT_FROM_SEQ))?;
                let mut rs = st.query([scope.start()])?;
                while let Some(r) = rs.next()? {
                    if check.feed(&rows::audit_from_row(r)?) {
                        break;
                    }
                }
            }
            tx.finish()?;
            Ok(check.finish(None))
        })
        .await
    }
}
