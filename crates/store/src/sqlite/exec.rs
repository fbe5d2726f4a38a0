//! [`SqlExec`] for SQLite: queries on a read connection, transactions on the writer.

use async_trait::async_trait;
use rusqlite::types::ValueRef;
use rusqlite::{ffi, params_from_iter, ErrorCode};

use super::{immediate, SqliteStore, PH};
use crate::exec::{check_outcome, Cell, OwnedRow, SqlExec, Stmt, Val};
use crate::{Result, StoreError};

fn owned(r: &rusqlite::Row<'_>, n: usize) -> rusqlite::Result<OwnedRow> {
    let mut cells = Vec::with_capacity(n);
    for i in 0..n {
        cells.push(match r.get_ref(i)? {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(v) => Cell::Int(v),
            ValueRef::Real(v) => Cell::Int(v as i64),
            ValueRef::Text(t) | ValueRef::Blob(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
        });
    }
    Ok(OwnedRow(cells))
}

#[async_trait]
impl SqlExec for SqliteStore {
    async fn query(&self, sql: &str, params: Vec<Val>) -> Result<Vec<OwnedRow>> {
        let sql = PH.sql(sql);
        self.read(move |c, _| {
            let mut st = c.prepare_cached(&sql)?;
            let n = st.column_count();
            let rows = st.query_map(params_from_iter(&params), |r| owned(r, n))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn transaction(&self, stmts: Vec<Stmt>) -> Result<()> {
        self.write(move |c, _| {
            let tx = immediate(c)?;
            for mut s in stmts {
                let outcome = tx
                    .prepare_cached(&PH.sql(&s.sql))
                    .and_then(|mut st| st.execute(params_from_iter(&s.params)))
                    .map(|n| n as u64)
                    .map_err(|e| {
                        let unique = matches!(&e, rusqlite::Error::SqliteFailure(f, _)
                            if f.code == ErrorCode::ConstraintViolation
                                && [ffi::SQLITE_CONSTRAINT_PRIMARYKEY, ffi::SQLITE_CONSTRAINT_UNIQUE]
                                    .contains(&f.extended_code));
                        (unique, StoreError::from(e))
                    });
                check_outcome(&mut s, outcome)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
