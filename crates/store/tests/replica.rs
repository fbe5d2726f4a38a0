//! Reads that tolerate a short lag go to a PostgreSQL streaming replica (issue 15, part 4).
//! `tests/replica/run.sh` (called by `test.sh`) starts a throwaway primary and a replica made
//! with `pg_basebackup`, and passes them as `DANCU_TEST_PG_PRIMARY_URL` and
//! `DANCU_TEST_PG_REPLICA_URL` (admin URLs; each test creates its own database). Without
//! them the test is skipped (with a message): `cargo test --workspace` runs it that way, and
//! `tests/replica/run.sh` runs it again with the pair, failing under `CI=true` when it
//! cannot build one.
//!
//! The proof that a read went to the replica: replay is paused on the replica
//! (`pg_wal_replay_pause()`), a citizen is created on the primary, and the search does not
//! find them while the citizen's own page (a read-your-own-write path, on the primary) does;
//! after `pg_wal_replay_resume()` the search finds them.

use std::time::Duration;

use chrono::NaiveDate;
use dancu_domain::citizen::CitizenDraft;
use dancu_domain::{Citizen, PersonalId, Sex};
use dancu_store::audit_chain::AuditKey;
use dancu_store::registry::{Access, Registry};
use dancu_store::{CitizenQuery, Database};

fn urls() -> Option<(String, String)> {
    match (std::env::var("DANCU_TEST_PG_PRIMARY_URL"), std::env::var("DANCU_TEST_PG_REPLICA_URL")) {
        (Ok(p), Ok(r)) => Some((p, r)),
        _ => {
            eprintln!(
                "skipped: no DANCU_TEST_PG_PRIMARY_URL / DANCU_TEST_PG_REPLICA_URL (tests/replica/run.sh)"
            );
            None
        }
    }
}

fn with_db(admin: &str, db: &str) -> String {
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
    format!("{base}/{db}")
}

async fn sql(url: &str, q: &str) -> Vec<tokio_postgres::Row> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect(url);
    tokio::spawn(conn);
    client.query(q, &[]).await.unwrap_or_else(|e| panic!("{q}: {e}"))
}

fn citizen(serial: u32, family: &str, given: &str) -> Citizen {
    let pid = PersonalId::compose("01", Sex::Female, 1990, serial).unwrap();
    CitizenDraft {
        personal_id: pid.to_string(),
        family_name: family.into(),
        middle_name: "Thị".into(),
        given_name: given.into(),
        birth_date: "1990-04-02".into(),
        sex: Sex::Female.code().into(),
        permanent_unit: "2025:00004".into(),
        permanent_detail: "Số 3 phố Hàng Bông".into(),
        ..Default::default()
    }
    .validate(NaiveDate::from_ymd_opt(2026, 6, 1).unwrap())
    .unwrap()
}

async fn search(reg: &Registry, a: &Access, name: &str) -> u64 {
    let q = CitizenQuery { name_key: Some(name.into()), limit: 10, ..Default::default() };
    reg.search(a, &q).await.unwrap().total
}

/// Waits until the replica has replayed everything the primary has written so far.
async fn caught_up(primary: &str, replica: &str) {
    let lsn: String = sql(primary, "SELECT pg_current_wal_lsn()::text").await[0].get(0);
    for _ in 0..200 {
        let q = format!("SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn");
        if sql(replica, &q).await[0].get::<_, bool>(0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the replica did not reach {lsn} in 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_tolerant_reads_go_to_the_replica_and_writes_to_the_primary() {
    let Some((primary_admin, replica_admin)) = urls() else { return };
    let name = format!("dancu_replica_{}", std::process::id());
    sql(&primary_admin, &format!("DROP DATABASE IF EXISTS {name}")).await;
    sql(&primary_admin, &format!("CREATE DATABASE {name}")).await;
    let (primary, replica) = (with_db(&primary_admin, &name), with_db(&replica_admin, &name));
    // The new database must exist on the replica before the store connects to it there.
    caught_up(&primary_admin, &replica_admin).await;

    // A store is migrated on the primary only; the replica follows by replication.
    let key = AuditKey::generate();
    let db = Database::open(&primary, key.clone()).await.unwrap();
    drop(db);
    caught_up(&primary, &replica).await;
    let db = Database::open_with_replica(&primary, &replica, key.clone()).await.unwrap();
    assert!(db.has_replica());
    let (reg, writer) = db.start_registry(64, None);
    let a = Access::system("replica-test", "kiểm thử bản sao");

    reg.create_citizen(&a, &citizen(1, "Trịnh", "Lan"), "thêm").await.unwrap();
    caught_up(&primary, &replica).await;
    assert_eq!(search(&reg, &a, "trinh thi lan").await, 1, "the replica serves a replicated record");

    // Pause replay: what the primary writes now is invisible on the replica.
    sql(&replica, "SELECT pg_wal_replay_pause()").await;
    let second = citizen(2, "Trịnh", "Mai");
    reg.create_citizen(&a, &second, "thêm").await.unwrap();
    let own = reg.read_citizen(&a, &second.personal_id).await.unwrap();
    assert_eq!(own.citizen.name.given, "Mai", "a record's page after its write reads the primary");
    assert_eq!(
        search(&reg, &a, "trinh thi mai").await,
        0,
        "search reads the paused replica, not the primary"
    );

    sql(&replica, "SELECT pg_wal_replay_resume()").await;
    caught_up(&primary, &replica).await;
    assert_eq!(search(&reg, &a, "trinh thi mai").await, 1, "after replay the replica has it");

    // Every access was audited on the primary, including the searches served by the replica.
    let audited: i64 =
        sql(&primary, "SELECT count(*) FROM audit_log WHERE action = 'citizen.search'").await[0].get(0);
    drop(reg);
    writer.shutdown().await;
    assert!(audited >= 3, "searches audited on the primary: {audited}");

    // A replica of another database is refused at start, naming the setting.
    let other = with_db(&replica_admin, "postgres");
    let err = Database::open_with_replica(&primary, &other, key).await.unwrap_err().to_string();
    assert!(err.contains("database_replica_url"), "{err}");
    drop(db);
    sql(&primary_admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
}
