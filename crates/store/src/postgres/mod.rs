//! The PostgreSQL backend: a deadpool pool of tokio-postgres connections, statements
//! prepared once per connection (`prepare_cached`), imports through binary `COPY`.

mod audit;
mod bulk_import;
mod cards;
mod citizens;
mod exec;
mod households;
mod officers;

use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, Json, ToSql, Type};
use tokio_postgres::{IsolationLevel, NoTls};

use crate::audit_chain::AuditKey;
use crate::combine::{Combiner, TransitionReq};
use crate::migrate::{self, Migration};
use crate::model::*;
use crate::rows::{self, Ph, RowGet, Val};
use crate::{AuditStore, Result, Store, StoreError};

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("../../migrations/postgres/0001_init.sql") },
    Migration { version: 2, name: "cards", sql: include_str!("../../migrations/postgres/0002_cards.sql") },
    Migration {
        version: 3,
        name: "card_renewal",
        sql: include_str!("../../migrations/postgres/0003_card_renewal.sql"),
    },
    Migration { version: 4, name: "eid", sql: include_str!("../../migrations/postgres/0004_eid.sql") },
    Migration { version: 5, name: "dedup", sql: include_str!("../../migrations/postgres/0005_dedup.sql") },
    Migration {
        version: 6,
        name: "quality",
        sql: include_str!("../../migrations/postgres/0006_quality.sql"),
    },
    Migration {
        version: 7,
        name: "audit_catchup",
        sql: include_str!("../../migrations/postgres/0007_audit_catchup.sql"),
    },
    Migration {
        version: 8,
        name: "audit_keyed",
        sql: include_str!("../../migrations/postgres/0008_audit_keyed.sql"),
    },
    Migration {
        version: 9,
        name: "officer_epoch",
        sql: include_str!("../../migrations/postgres/0009_officer_epoch.sql"),
    },
    Migration {
        version: 10,
        name: "audit_returned",
        sql: include_str!("../../migrations/postgres/0010_audit_returned.sql"),
    },
    Migration {
        version: 11,
        name: "login_throttle",
        sql: include_str!("../../migrations/postgres/0011_login_throttle.sql"),
    },
    Migration {
        version: 12,
        name: "officer_roles",
        sql: include_str!("../../migrations/postgres/0012_officer_roles.sql"),
    },
    Migration {
        version: 13,
        name: "eid_claims",
        sql: include_str!("../../migrations/postgres/0013_eid_claims.sql"),
    },
    Migration { version: 14, name: "oidc", sql: include_str!("../../migrations/postgres/0014_oidc.sql") },
    Migration {
        version: 15,
        name: "partners",
        sql: include_str!("../../migrations/postgres/0015_partners.sql"),
    },
    Migration {
        version: 16,
        name: "search_indexes",
        sql: include_str!("../../migrations/postgres/0016_search_indexes.sql"),
    },
    Migration {
        version: 17,
        name: "applications",
        sql: include_str!("../../migrations/postgres/0017_applications.sql"),
    },
    Migration {
        version: 18,
        name: "residences",
        sql: include_str!("../../migrations/postgres/0018_residences.sql"),
    },
    Migration {
        version: 19,
        name: "confirmations",
        sql: include_str!("../../migrations/postgres/0019_confirmations.sql"),
    },
    Migration { version: 20, name: "outbox", sql: include_str!("../../migrations/postgres/0020_outbox.sql") },
    Migration {
        version: 21,
        name: "application_queue_indexes",
        sql: include_str!("../../migrations/postgres/0021_application_queue_indexes.sql"),
    },
    Migration {
        version: 22,
        name: "residence_events",
        sql: include_str!("../../migrations/postgres/0022_residence_events.sql"),
    },
    Migration {
        version: 23,
        name: "open_application_indexes",
        sql: include_str!("../../migrations/postgres/0023_open_application_indexes.sql"),
    },
    Migration {
        version: 24,
        name: "linked_chains",
        sql: include_str!("../../migrations/postgres/0024_linked_chains.sql"),
    },
    Migration {
        version: 25,
        name: "figures",
        sql: include_str!("../../migrations/postgres/0025_figures.sql"),
    },
    Migration {
        version: 26,
        name: "report_indexes",
        sql: include_str!("../../migrations/postgres/0026_report_indexes.sql"),
    },
    Migration {
        version: 28,
        name: "application_month_counts",
        sql: include_str!("../../migrations/postgres/0028_application_month_counts.sql"),
    },
    Migration {
        version: 29,
        name: "report_event_time_indexes",
        sql: include_str!("../../migrations/postgres/0029_report_event_time_indexes.sql"),
    },
    Migration {
        version: 30,
        name: "application_month_deltas",
        sql: include_str!("../../migrations/postgres/0030_application_month_deltas.sql"),
    },
    Migration {
        version: 31,
        name: "webhook_lease_index",
        sql: include_str!("../../migrations/postgres/0031_webhook_lease_index.sql"),
    },
    Migration {
        version: 32,
        name: "outbox_citizen_columns",
        sql: include_str!("../../migrations/postgres/0032_outbox_citizen_columns.sql"),
    },
    Migration {
        version: 33,
        name: "month_counts_update_row",
        sql: include_str!("../../migrations/postgres/0033_month_counts_update_row.sql"),
    },
    Migration {
        version: 34,
        name: "open_queue_indexes",
        sql: include_str!("../../migrations/postgres/0034_open_queue_indexes.sql"),
    },
    Migration {
        version: 35,
        name: "open_condition_without_in",
        sql: include_str!("../../migrations/postgres/0035_open_condition_without_in.sql"),
    },
];

const PH: Ph = Ph::Dollar;
const POOL_SIZE: usize = 16;
/// Key of the advisory lock that serialises migrations across processes.
const MIGRATION_LOCK: i64 = 0x64616e6375;

/// PostgreSQL store; cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    sql: std::sync::Arc<Sql>,
    /// Card stage transitions, combined into shared transactions (started on first use).
    transitions: std::sync::Arc<std::sync::OnceLock<Combiner<TransitionReq, CardApplication>>>,
    /// Small transactions of many clients (applications), combined likewise.
    combined: std::sync::Arc<std::sync::OnceLock<Combiner<crate::combine::Group, ()>>>,
    /// Set while a background catch-up of the audit side tables runs (at most one).
    catching_up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    audit_key: std::sync::Arc<AuditKey>,
    /// Personal ID counters reserved by this process and not yet given out, per prefix
    /// (`citizens::ID_BLOCK` at a time, so that births do not queue on the prefix's
    /// `id_allocations` row).
    id_blocks: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<std::ops::Range<i64>>>>>,
}

struct Sql {
    insert_citizen: String,
    update_citizen: String,
    stored_by_id: String,
    current_for_update: String,
    copy_stage: String,
    copy_citizens: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("pool", &self.pool.status()).finish()
    }
}

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            // JSON kept as text binds to a jsonb column (the shared SQL writes history rows
            // this way): jsonb's binary form is a version byte and the text.
            Val::Text(s) if *ty == Type::JSONB => {
                bytes::BufMut::put_u8(out, 1);
                out.extend_from_slice(s.as_bytes());
                Ok(IsNull::No)
            }
            Val::Text(s) => s.to_sql(ty, out),
            Val::OptText(o) => o.to_sql(ty, out),
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) => i.to_sql(ty, out),
            Val::Ts(t) => t.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <String as ToSql>::accepts(ty)
            || *ty == Type::JSONB
            || <i64 as ToSql>::accepts(ty)
            || <Timestamp as ToSql>::accepts(ty)
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Val::Text(_) if *ty == Type::JSONB => self.to_sql(ty, out),
            Val::Text(s) => s.to_sql_checked(ty, out),
            Val::OptText(o) => o.to_sql_checked(ty, out),
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) => i.to_sql_checked(ty, out),
            Val::Ts(t) => t.to_sql_checked(ty, out),
        }
    }
}

impl RowGet for tokio_postgres::Row {
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.try_get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.try_get(i)?)
    }
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.try_get(i)?)
    }
    fn ts(&self, i: usize) -> Result<Timestamp> {
        Ok(self.try_get(i)?)
    }
    fn flag(&self, i: usize) -> Result<bool> {
        Ok(self.try_get(i)?)
    }
    fn json<T: serde::de::DeserializeOwned>(&self, i: usize) -> Result<T> {
        let v: Json<serde_json::Value> = self.try_get(i)?;
        serde_json::from_value(v.0).map_err(|e| rows::corrupt("JSON", e))
    }
}

/// A read-only transaction that sees one snapshot throughout (a read of several statements).
async fn snapshot(client: &mut Object) -> Result<deadpool_postgres::Transaction<'_>> {
    Ok(client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

fn refs(v: &[Val]) -> Vec<&(dyn ToSql + Sync)> {
    v.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// The name of the unique constraint a statement broke, if that is why it failed.
fn unique_violation(e: &tokio_postgres::Error) -> Option<&str> {
    let db = e.as_db_error()?;
    (db.code() == &SqlState::UNIQUE_VIOLATION).then(|| db.constraint().unwrap_or(""))
}

impl PgStore {
    /// The transition queue (see [`crate::combine`]).
    fn transitions(&self) -> &Combiner<TransitionReq, CardApplication> {
        self.transitions.get_or_init(|| {
            let pool = self.pool.clone();
            Combiner::start(64, 1, move |reqs: Vec<TransitionReq>| {
                let pool = pool.clone();
                async move {
                    match cards::transition_batch(&pool, &reqs).await {
                        Ok(out) => out,
                        // The database failed: each move again, in a transaction of its own.
                        Err(_) if reqs.len() > 1 => {
                            let mut out = Vec::with_capacity(reqs.len());
                            for r in &reqs {
                                out.push(
                                    cards::transition_batch(&pool, std::slice::from_ref(r))
                                        .await
                                        .and_then(|mut v| v.remove(0)),
                                );
                            }
                            out
                        }
                        Err(e) => vec![Err(e)],
                    }
                }
            })
        })
    }

    /// The queue of [`crate::exec::SqlExec::transaction_combined`]. Two batches may run at
    /// once: one commits (and syncs) while the next runs its statements.
    fn combined(&self) -> &Combiner<crate::combine::Group, ()> {
        self.combined.get_or_init(|| {
            let pool = self.pool.clone();
            Combiner::start(64, 2, move |groups: Vec<crate::combine::Group>| {
                let pool = pool.clone();
                async move { crate::combine::settle(groups, |g| exec::run_groups(&pool, g)).await }
            })
        })
    }

    /// Connects to `postgres://…`. Does not migrate; see [`crate::open`].
    pub async fn open(url: &str, audit_key: AuditKey) -> Result<Self> {
        let cfg: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL: {e}")))?;
        let mgr = Manager::from_config(cfg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(mgr)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .wait_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| StoreError::Config(format!("PostgreSQL pool: {e}")))?;
        let cols = rows::all_citizen_columns();
        let sql = Sql {
            insert_citizen: rows::insert_citizen_sql(PH),
            update_citizen: rows::update_citizen_sql(PH),
            stored_by_id: format!("{} WHERE c.personal_id = $1", *rows::STORED_CITIZEN_SELECT),
            current_for_update: format!("{} FOR UPDATE", *rows::CURRENT_FOR_UPDATE),
            copy_stage: format!("COPY import_stage ({}) FROM STDIN (FORMAT binary)", cols.join(", ")),
            copy_citizens: format!("COPY citizens ({}) FROM STDIN (FORMAT binary)", cols.join(", ")),
        };
        let store = PgStore {
            pool,
            sql: std::sync::Arc::new(sql),
            transitions: Default::default(),
            combined: Default::default(),
            catching_up: Default::default(),
            audit_key: std::sync::Arc::new(audit_key),
            id_blocks: Default::default(),
        };
        drop(store.client().await?);
        Ok(store)
    }

    async fn client(&self) -> Result<Object> {
        Ok(self.pool.get().await?)
    }

    /// Starts [`Store::catch_up_audit`] on a task of its own unless one is running. Inside
    /// the append it held up every request waiting for that append (its bursts set the
    /// look-up p99); here it runs beside the next appends.
    fn spawn_audit_catch_up(&self) {
        use std::sync::atomic::Ordering;
        if self.catching_up.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                let caught_up = store.catch_up_audit().await;
                store.catching_up.store(false, Ordering::Release);
                if let Err(e) = caught_up {
                    tracing::warn!(error = %e.report(), "audit side tables: catch-up failed; the next append retries");
                    return;
                }
                // Appends that came while the flag was set started none: go on if they left
                // the tables a lag behind, unless one of them has just started its own.
                match store.audit_lag().await {
                    Ok(lag)
                        if lag >= rows::AUDIT_INDEX_LAG_BACKGROUND
                            && !store.catching_up.swap(true, Ordering::AcqRel) => {}
                    _ => return,
                }
            }
        });
    }

    /// Entries in the log that the look-up side tables do not hold yet.
    async fn audit_lag(&self) -> Result<i64> {
        let sql = "SELECT h.seq - i.upto FROM audit_head h, audit_indexed i WHERE h.id = 1 AND i.id = 1";
        self.client().await?.query_one(sql, &[]).await?.int(0)
    }
}

async fn page<T>(
    c: &impl GenericClient,
    count_sql: &str,
    page_sql: &str,
    f: &rows::Filter,
    limit: u32,
    offset: u64,
    map: impl Fn(&tokio_postgres::Row) -> Result<T>,
) -> Result<Page<T>> {
    let (cs, ps) = tokio::try_join!(c.prepare_cached(count_sql), c.prepare_cached(page_sql))?;
    let (cp, pp) = (refs(rows::count_params(f)), refs(&f.params));
    let (total, found) = tokio::try_join!(c.query_one(&cs, &cp), c.query(&ps, &pp))?;
    let items = found.iter().map(map).collect::<Result<Vec<_>>>()?;
    Ok(Page { items, total: total.get::<_, i64>(0) as u64, limit, offset })
}

#[async_trait]
impl Store for PgStore {
    fn exec(&self) -> &dyn crate::exec::SqlExec {
        self
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<Vec<i64>> {
        let applied = migrate::run(self, &exec::MIGRATION_DIALECT, MIGRATIONS, "postgres").await?;
        // A new database was just given them; an old one missing some was left so by an
        // interrupted bulk import.
        self.restore_deferred(!applied.contains(&1)).await?;
        Ok(applied)
    }

    async fn ping(&self) -> Result<()> {
        self.client().await?.simple_query("SELECT 1").await?;
        Ok(())
    }
}
