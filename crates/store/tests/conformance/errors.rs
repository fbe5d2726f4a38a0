//! A database failure keeps the error it comes from: the chain is there to log, and for
//! PostgreSQL the server's SQLSTATE, message and detail. Real errors, forced through the
//! shared-SQL executor (not conformance checks: what each backend reports differs).

use std::error::Error as _;

use dancu_store::exec::{Stmt, Val};

use super::*;

/// The same prefix allocated twice in one transaction: a unique violation.
fn twice() -> Vec<Stmt> {
    let ins = "INSERT INTO id_allocations (prefix, next_counter) VALUES ($1, 1)";
    vec![Stmt::new(ins, vec![Val::Text("990000".into())]), Stmt::new(ins, vec![Val::Text("990000".into())])]
}

#[tokio::test]
async fn postgres_errors_keep_sqlstate_message_and_detail() {
    let Some(h) = postgres().await else { return };
    let e = h.store.exec().transaction(twice()).await.unwrap_err();
    assert!(matches!(e, StoreError::Postgres(_)), "{e:?}");
    assert!(e.is_failure());
    let db = e.postgres().expect("a server error");
    assert_eq!(db.code().code(), "23505");
    let f = e.log_fields();
    assert_eq!(f.sqlstate.as_deref(), Some("23505"));
    assert!(f.message.as_deref().unwrap().contains("id_allocations_pkey"), "{f:?}");
    assert_eq!(f.detail.as_deref(), Some("Key (prefix)=(990000) already exists."));
    // The chain reaches the server's own report, once.
    let source = e.source().expect("the driver's error");
    assert!(source.downcast_ref::<tokio_postgres::Error>().is_some());
    assert!(
        f.chain.starts_with("PostgreSQL (SQLSTATE 23505): db error: ERROR: duplicate key"),
        "{}",
        f.chain
    );
    assert_eq!(f.chain.matches("db error").count(), 1, "{}", f.chain);

    let e = h.store.exec().query("SELECT * FROM no_such_table", vec![]).await.unwrap_err();
    assert_eq!(e.log_fields().sqlstate.as_deref(), Some("42P01"));
    assert!(e.report().to_string().contains("relation \"no_such_table\" does not exist"), "{}", e.report());
    h.finish().await;
}

#[tokio::test]
async fn sqlite_errors_keep_their_source() {
    let h = sqlite().await;
    let e = h.store.exec().transaction(twice()).await.unwrap_err();
    let StoreError::Sqlite(inner) = &e else { panic!("{e:?}") };
    assert_eq!(inner.sqlite_error_code(), Some(rusqlite::ErrorCode::ConstraintViolation));
    assert!(e.source().is_some());
    let f = e.log_fields();
    assert_eq!((f.sqlstate, f.detail), (None, None));
    assert!(f.chain.contains("UNIQUE constraint failed: id_allocations.prefix"), "{}", f.chain);
    h.finish().await;
}
