//! PostgreSQL: the audit log (the head row serialises appends; a task of its own catches the
//! look-up side tables up).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use futures_util::StreamExt;
use tokio_postgres::types::ToSql;

use super::{page, snapshot, PgStore, PH};
use crate::audit_chain::{self, AuditHead, AuditReport, ChainCheck, VerifyScope};
use crate::model::*;
use crate::rows::{self, RowGet};
use crate::{AuditStore, Result};

#[async_trait]
impl AuditStore for PgStore {
    async fn append_audit(&self, entries: &[NewAuditEntry]) -> Result<AuditHead> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let (head, head_at, ins, up, upto) = tokio::try_join!(
            tx.prepare_cached("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"),
            tx.prepare_cached(
                "SELECT at FROM audit_log WHERE seq = (SELECT seq FROM audit_head WHERE id = 1)"
            ),
            tx.prepare_cached(
                "INSERT INTO audit_log (seq, at, actor, action, subject, purpose, outcome, prev_hash, hash, returned) \
                 SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])",
            ),
            tx.prepare_cached("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1"),
            tx.prepare_cached(rows::AUDIT_INDEXED_UPTO),
        )?;
        // Pipelined: the time is read in a statement of its own, after the lock is held, so
        // that it sees the entry a concurrent append just committed (a snapshot taken before
        // waiting for the lock would not).
        let (row, at) = tokio::try_join!(tx.query_one(&head, &[]), tx.query_opt(&head_at, &[]))?;
        let at = at.map(|r| r.try_get::<_, Timestamp>(0)).transpose()?;
        let head = AuditHead { seq: row.int(0)?, hash: row.text(1)?, at };
        if entries.is_empty() {
            tx.commit().await?;
            return Ok(head);
        }
        let chained = audit_chain::chain(&self.audit_key, entries, &head);
        let col = |f: fn(&AuditEntry) -> &str| chained.iter().map(f).collect::<Vec<&str>>();
        let seqs: Vec<i64> = chained.iter().map(|e| e.seq).collect();
        let ats: Vec<Timestamp> = chained.iter().map(|e| e.entry.at).collect();
        let last = chained.last().expect("entries is not empty");
        let (actors, actions, subjects) =
            (col(|e| &e.entry.actor), col(|e| &e.entry.action), col(|e| &e.entry.subject));
        let (purposes, outcomes, prevs, hashes) =
            (col(|e| &e.entry.purpose), col(|e| &e.entry.outcome), col(|e| &e.prev_hash), col(|e| &e.hash));
        let returned: Vec<Option<String>> =
            chained.iter().map(|e| rows::returned_json(&e.entry.returned)).collect();
        let ins_params: [&(dyn ToSql + Sync); 10] =
            [&seqs, &ats, &actors, &actions, &subjects, &purposes, &outcomes, &prevs, &hashes, &returned];
        let up_params: [&(dyn ToSql + Sync); 2] = [&last.seq, &last.hash];
        // Issued together, the three travel in one write and cost one round trip.
        let (_, _, upto) = tokio::try_join!(
            tx.execute(&ins, &ins_params),
            tx.execute(&up, &up_params),
            tx.query_one(&upto, &[]),
        )?;
        let upto: i64 = upto.int(0)?;
        tx.commit().await?;
        if last.seq - upto >= rows::AUDIT_INDEX_LAG_BACKGROUND {
            self.spawn_audit_catch_up();
        }
        Ok(AuditHead { seq: last.seq, hash: last.hash.clone(), at: Some(last.entry.at) })
    }

    async fn audit_keyed_from(&self) -> Result<i64> {
        let client = self.client().await?;
        client.query_one(rows::AUDIT_KEYED_FROM, &[]).await?.int(0)
    }

    async fn catch_up_audit(&self) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // The row lock makes concurrent catch-ups (other servers, the CLI) take turns.
        let upto = tx.query_one(&format!("{} FOR UPDATE", rows::AUDIT_INDEXED_UPTO), &[]).await?.int(0)?;
        // Appends hold the head's row lock until they commit, so every entry up to the
        // committed head is visible: the copied range has no gaps.
        let last = tx.query_one("SELECT seq FROM audit_head WHERE id = 1", &[]).await?.int(0)?;
        if last > upto {
            for sql in rows::AUDIT_CATCHUP.iter().chain([&rows::AUDIT_CATCHUP_RETURNED_PG]) {
                tx.execute(*sql, &[&upto, &last]).await?;
            }
            tx.execute(rows::AUDIT_INDEXED_SET, &[&last]).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_audit(&self, f: &AuditFilter) -> Result<Page<AuditEntry>> {
        let (count_sql, page_sql, filter, limit) = rows::audit_sql(f, PH);
        let client = self.client().await?;
        page(&client, &count_sql, &page_sql, &filter, limit, f.offset, rows::audit_from_row).await
    }

    async fn verify_audit(&self, scope: &VerifyScope) -> Result<AuditReport> {
        let mut client = self.client().await?;
        let tx = snapshot(&mut client).await?;
        let head = tx.query_one("SELECT seq, hash FROM audit_head WHERE id = 1", &[]).await?;
        let head = (head.int(0)?, head.text(1)?);
        let keyed_from = tx.query_one(rows::AUDIT_KEYED_FROM, &[]).await?.int(0)?;
        let mut check = ChainCheck::new(&self.audit_key, keyed_from, scope);
        {
            let stream = tx.query_raw(rows::AUDIT_FROM_SEQ.as_str(), [scope.start()]).await?;
            let mut stream = std::pin::pin!(stream);
            while let Some(row) = stream.next().await {
                if check.feed(&rows::audit_from_row(&row?)?) {
                    break;
                }
            }
        }
        tx.commit().await?;
        Ok(check.finish(Some(head)))
    }
}
