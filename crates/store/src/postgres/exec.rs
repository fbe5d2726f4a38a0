//! [`SqlExec`] for PostgreSQL: one pooled connection per call.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::Type;

use super::{refs, unique_violation, PgStore};
use crate::exec::{check_outcome, Cell, OwnedRow, SqlExec, Stmt, Val};
use crate::{Result, StoreError};

fn owned(r: &tokio_postgres::Row) -> Result<OwnedRow> {
    let mut cells = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let t = col.type_();
        let cell = if *t == Type::INT8 {
            r.try_get::<_, Option<i64>>(i)?.map(Cell::Int)
        } else if *t == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)?.map(|v| Cell::Int(v.into()))
        } else if *t == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)?.map(|v| Cell::Int(v.into()))
        } else if *t == Type::TIMESTAMPTZ {
            r.try_get::<_, Option<DateTime<Utc>>>(i)?.map(Cell::Ts)
        } else {
            r.try_get::<_, Option<String>>(i)?.map(Cell::Text)
        };
        cells.push(cell.unwrap_or(Cell::Null));
    }
    Ok(OwnedRow(cells))
}

#[async_trait]
impl SqlExec for PgStore {
    async fn query(&self, sql: &str, params: Vec<Val>) -> Result<Vec<OwnedRow>> {
        let c = self.client().await?;
        let st = c.prepare_cached(sql).await?;
        c.query(&st, &refs(&params)).await?.iter().map(owned).collect()
    }

    async fn transaction(&self, stmts: Vec<Stmt>) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        for mut s in stmts {
            let st = tx.prepare_cached(&s.sql).await?;
            let outcome = tx
                .execute(&st, &refs(&s.params))
                .await
                .map_err(|e| (unique_violation(&e).is_some(), StoreError::from(e)));
            check_outcome(&mut s, outcome)?;
        }
        tx.commit().await?;
        Ok(())
    }
}
