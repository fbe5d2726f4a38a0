//! The PostgreSQL backend: a deadpool pool of tokio-postgres connections, statements
//! prepared once per connection (`prepare_cached`), imports through binary `COPY`.

mod exec;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use bytes::{BufMut, BytesMut};
use chrono::{TimeZone, Utc};
use dancu_domain::{Citizen, Household, PersonalId, Sex};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use futures_util::{SinkExt, StreamExt};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, Json, ToSql, Type};
use tokio_postgres::{IsolationLevel, NoTls};

use crate::audit_chain::{self, AuditHead, AuditKey, AuditReport, ChainCheck, VerifyScope};
use crate::combine::{Combiner, TransitionReq};
use crate::import::{self, Fate, ImportItem, Stored};
use crate::migrate::{self, Migration};
use crate::model::*;
use crate::rows::{self, Ph, RowGet, Val};
use crate::{Result, Store, StoreError};

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
    /// Set while a background catch-up of the audit side tables runs (at most one).
    catching_up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    audit_key: std::sync::Arc<AuditKey>,
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
            Val::Text(s) => s.to_sql(ty, out),
            Val::OptText(o) => o.to_sql(ty, out),
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) => i.to_sql(ty, out),
            Val::Ts(t) => t.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <String as ToSql>::accepts(ty) || <i64 as ToSql>::accepts(ty) || <Timestamp as ToSql>::accepts(ty)
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
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
                    match transition_batch(&pool, &reqs).await {
                        Ok(out) => out,
                        // The database failed: each move again, in a transaction of its own.
                        Err(_) if reqs.len() > 1 => {
                            let mut out = Vec::with_capacity(reqs.len());
                            for r in &reqs {
                                out.push(
                                    transition_batch(&pool, std::slice::from_ref(r))
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
            catching_up: Default::default(),
            audit_key: std::sync::Arc::new(audit_key),
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
                    tracing::warn!(error = %e, "audit side tables: catch-up failed; the next append retries");
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

async fn get_stored(c: &impl GenericClient, sql: &Sql, id: &str) -> Result<Option<StoredCitizen>> {
    let st = c.prepare_cached(&sql.stored_by_id).await?;
    c.query_opt(&st, &[&id]).await?.map(|r| rows::stored_from_row(&r)).transpose()
}

async fn get_household(c: &impl GenericClient, number: &str) -> Result<Option<HouseholdView>> {
    let hs = c.prepare_cached(rows::HOUSEHOLD_SQL).await?;
    let Some(h) = c.query_opt(&hs, &[&number]).await? else { return Ok(None) };
    let ms = c.prepare_cached(rows::HOUSEHOLD_MEMBERS_SQL).await?;
    let members =
        c.query(&ms, &[&number]).await?.iter().map(rows::member_from_row).collect::<Result<Vec<_>>>()?;
    rows::household_view(&h, members)
}

/// Checks every member and inserts them into household `h.number`.
async fn insert_members(c: &impl GenericClient, h: &Household) -> Result<()> {
    let check = c.prepare_cached(&format!("{} FOR UPDATE", rows::MEMBER_CHECK_SQL)).await?;
    let set = c.prepare_cached(rows::SET_MEMBER_SQL).await?;
    for m in &h.members {
        let found =
            c.query_opt(&check, &[&m.personal_id.as_str()]).await?.map(|r| r.get::<_, Option<String>>(0));
        rows::check_member(&m.personal_id, &h.number, found)?;
        c.execute(&set, &[&m.personal_id.as_str(), &h.number, &m.relation.code()]).await.map_err(|e| {
            match unique_violation(&e) {
                Some("citizens_household_head") => StoreError::Conflict(rows::head_taken(&h.number)),
                _ => e.into(),
            }
        })?;
    }
    Ok(())
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

/// The foreign key from a citizen's household to `households`, which a bulk import drops
/// with the deferrable indexes (checking it costs a query per row) and validates at the end.
const HOUSEHOLD_FK: &str = "citizens_household_fk";

impl PgStore {
    /// Recreates what `begin_import` dropped: the deferrable indexes, built in parallel on
    /// connections of their own, then the household foreign key. Whether anything was missing.
    async fn restore_deferred(&self) -> Result<bool> {
        let client = self.client().await?;
        let mut missing = Vec::new();
        for (name, sql) in rows::DEFERRABLE_INDEXES {
            let exists: bool = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&name]).await?.get(0);
            if !exists {
                missing.push((name, sql));
            }
        }
        let builds = missing.iter().map(|(name, sql)| async move {
            let c = self.client().await?;
            let t = std::time::Instant::now();
            c.batch_execute(&format!(
                "SET maintenance_work_mem = '256MB'; {sql}; RESET maintenance_work_mem"
            ))
            .await?;
            tracing::info!(index = name, seconds = t.elapsed().as_secs_f64(), "built index");
            Ok::<_, StoreError>(())
        });
        futures_util::future::try_join_all(builds).await?;
        let fk: bool = client
            .query_one("SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = $1)", &[&HOUSEHOLD_FK])
            .await?
            .get(0);
        if !fk {
            client
                .batch_execute(&format!(
                    "ALTER TABLE citizens ADD CONSTRAINT {HOUSEHOLD_FK} \
                     FOREIGN KEY (household_no) REFERENCES households (number)"
                ))
                .await?;
        }
        Ok(!missing.is_empty() || !fk)
    }
}

const COPY_HOUSEHOLDS: &str =
    "COPY households (number, version, updated_at, updated_by, change_reason) FROM STDIN (FORMAT binary)";

/// Binary `COPY` data of new households.
fn household_copy_data(numbers: &[&str], change: &Change) -> bytes::Bytes {
    let mut buf = BytesMut::with_capacity(numbers.len() * 80 + 64);
    buf.put_slice(b"PGCOPY\n\xff\r\n\0");
    buf.put_i32(0);
    buf.put_i32(0);
    let meta =
        [Val::Int(1), Val::Ts(change.at), Val::Text(change.actor.clone()), Val::Text(change.reason.clone())];
    for n in numbers {
        put_row(&mut buf, &[&[Val::Text(n.to_string())], &meta]);
    }
    buf.put_i16(-1);
    buf.freeze()
}

/// Binary `COPY` data of the rows to insert, and how many there are.
fn copy_data(items: &[ImportItem], fates: &[Fate], meta: &[Val]) -> (bytes::Bytes, u64) {
    let mut buf = BytesMut::with_capacity(items.len() * 400 + 64);
    buf.put_slice(b"PGCOPY\n\xff\r\n\0");
    buf.put_i32(0);
    buf.put_i32(0);
    let mut n = 0;
    for (it, fate) in items.iter().zip(fates) {
        if *fate == Fate::Insert {
            n += 1;
            put_row(&mut buf, &[&it.cols.vals, meta, &rows::household_vals(it.household.as_ref())]);
        }
    }
    buf.put_i16(-1);
    (buf.freeze(), n)
}

/// Runs a `COPY … FROM STDIN` with `data`; the number of rows copied.
async fn copy_in(
    tx: &tokio_postgres::Transaction<'_>,
    statement: &str,
    data: bytes::Bytes,
) -> std::result::Result<u64, tokio_postgres::Error> {
    let sink = tx.copy_in::<_, bytes::Bytes>(statement).await?;
    let mut sink = std::pin::pin!(sink);
    let mut at = 0;
    while at < data.len() {
        let end = (at + (1 << 20)).min(data.len());
        sink.send(data.slice(at..end)).await?;
        at = end;
    }
    sink.as_mut().finish().await
}

/// Microseconds since 2000-01-01 UTC, PostgreSQL's binary timestamp.
fn pg_micros(t: &Timestamp) -> i64 {
    let epoch = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
    (*t - epoch).num_microseconds().unwrap_or(i64::MAX)
}

fn put_text(buf: &mut BytesMut, s: &str) {
    buf.put_i32(s.len() as i32);
    buf.put_slice(s.as_bytes());
}

/// One row of binary `COPY` data: the values of `parts`, in order.
fn put_row(buf: &mut BytesMut, parts: &[&[Val]]) {
    buf.put_i16(parts.iter().map(|p| p.len()).sum::<usize>() as i16);
    for v in parts.iter().flat_map(|p| p.iter()) {
        match v {
            Val::Text(s) | Val::OptText(Some(s)) => put_text(buf, s),
            Val::OptText(None) | Val::Null => buf.put_i32(-1),
            Val::Int(i) => {
                buf.put_i32(8);
                buf.put_i64(*i);
            }
            Val::Ts(t) => {
                buf.put_i32(8);
                buf.put_i64(pg_micros(t));
            }
        }
    }
}

async fn get_card_app(c: &impl GenericClient, id: i64, for_update: bool) -> Result<Option<CardApplication>> {
    let sql =
        format!("{} WHERE id = $1{}", rows::CARD_APP_SELECT, if for_update { " FOR UPDATE" } else { "" });
    let st = c.prepare_cached(&sql).await?;
    c.query_opt(&st, &[&id]).await?.map(|r| rows::card_app_from_row(&r)).transpose()
}

/// A batch of card stage transitions in one transaction, set-based: one statement reads
/// (and locks) every application, the moves are planned in order in memory (a second move
/// of the same application in the batch sees the first), then the applications are updated
/// (pipelined) and one statement each appends the history and, for hand-overs, revokes the
/// old cards and issues the new ones. A refused move (not found, stale version, a move the rules forbid)
/// writes nothing; an `Err` means the database failed and nothing was committed.
async fn transition_batch(pool: &Pool, reqs: &[TransitionReq]) -> Result<Vec<Result<CardApplication>>> {
    use std::collections::HashMap;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let read_sql = format!("{} WHERE id = ANY($1) ORDER BY id FOR UPDATE", rows::CARD_APP_SELECT);
    let (read, scope, up, ins, card) = tokio::try_join!(
        tx.prepare_cached(&read_sql),
        tx.prepare_cached(
            "SELECT personal_id, scope_province, scope_commune, birth_date FROM citizens WHERE personal_id = ANY($1)"
        ),
        tx.prepare_cached(rows::CARD_APP_UPDATE),
        tx.prepare_cached(
            "INSERT INTO card_application_events (application_id, seq, from_stage, to_stage, reason, at, actor) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], \
             $7::text[])"
        ),
        tx.prepare_cached(
            "INSERT INTO cards (personal_id, number, issue_date, expiry, issuing_authority, status, application_id, \
             renewal_due_from, scope_province, scope_commune) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], \
             $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[])"
        ),
    )?;
    let ids: Vec<i64> = reqs.iter().map(|r| r.id).collect();
    let mut apps: HashMap<i64, CardApplication> = HashMap::new();
    for row in tx.query(&read, &[&ids]).await? {
        let app = rows::card_app_from_row(&row)?;
        apps.insert(app.id, app);
    }
    // Holders of applications that may be handed over, for the card's expiry and scope.
    let holders: Vec<&str> = reqs
        .iter()
        .filter(|r| r.to.kind() == dancu_identity::StageKind::HandedOver)
        .filter_map(|r| apps.get(&r.id).map(|a| a.personal_id.as_str()))
        .collect();
    let mut scopes: HashMap<String, (String, String, String)> = HashMap::new();
    if !holders.is_empty() {
        for row in tx.query(&scope, &[&holders]).await? {
            scopes.insert(row.text(0)?, (row.text(1)?, row.text(2)?, row.text(3)?));
        }
    }
    let mut out = Vec::with_capacity(reqs.len());
    let (mut events, mut cards) = (Vec::new(), Vec::new());
    let mut changed: Vec<i64> = Vec::new();
    for r in reqs {
        let planned = (|| {
            let cur = apps.get(&r.id).ok_or(StoreError::NotFound)?;
            r.check_scope(cur)?;
            let (next, ev) =
                rows::plan_card_transition(cur, &r.to, r.reason.as_deref(), r.expected_version, &r.change)?;
            let issued = if next.stage.kind() == dancu_identity::StageKind::HandedOver {
                let (province, commune, birth) =
                    scopes.get(cur.personal_id.as_str()).ok_or(StoreError::NotFound)?.clone();
                let card = rows::issue_card(&next, &birth, &r.change)?;
                let due = rows::card_renewal_due_from(&birth, card.issue_date)?;
                Some((card, due, province, commune))
            } else {
                None
            };
            Ok::<_, StoreError>((next, ev, issued))
        })();
        match planned {
            Ok((next, ev, issued)) => {
                events.push((r.id, ev));
                if let Some(c) = issued {
                    cards.push((r.id, c));
                }
                if !changed.contains(&r.id) {
                    changed.push(r.id);
                }
                apps.insert(r.id, next.clone());
                out.push(Ok(next));
            }
            Err(e) => out.push(Err(e)),
        }
    }
    if !changed.is_empty() {
        // One UPDATE per application, pipelined on the connection: a primary-key update keeps
        // its index plan, where a join against an array would be planned as a scan.
        let updates = changed.iter().map(|id| {
            let a = &apps[id];
            let (code, bio, method, side) = rows::stage_cols(&a.stage);
            let (up, tx) = (&up, &tx);
            async move {
                tx.execute(up, &[id, &code, &bio, &method, &side, &a.updated_at, &a.updated_by, &a.version])
                    .await
            }
        });
        futures_util::future::try_join_all(updates).await?;
        let e_app: Vec<i64> = events.iter().map(|(id, _)| *id).collect();
        let e_seq: Vec<i64> = events.iter().map(|(_, e)| e.seq).collect();
        let e_from: Vec<&str> = events.iter().map(|(_, e)| e.from_stage.code()).collect();
        let e_to: Vec<&str> = events.iter().map(|(_, e)| e.to_stage.code()).collect();
        let e_reason: Vec<&str> = events.iter().map(|(_, e)| e.reason.as_str()).collect();
        let e_at: Vec<Timestamp> = events.iter().map(|(_, e)| e.at).collect();
        let e_by: Vec<&str> = events.iter().map(|(_, e)| e.by.as_str()).collect();
        tx.execute(&ins, &[&e_app, &e_seq, &e_from, &e_to, &e_reason, &e_at, &e_by]).await?;
    }
    if !cards.is_empty() {
        let pids: Vec<&str> = cards.iter().map(|(_, (c, ..))| c.number.as_str()).collect();
        // Unprepared on purpose: an unnamed statement is planned for its parameters, where a
        // cached generic plan made while `cards` was small would scan the whole table.
        tx.execute(rows::CARD_REVOKE_MANY_SQL, &[&pids]).await?;
        let number = pids.clone();
        let issue: Vec<String> = cards.iter().map(|(_, (c, ..))| c.issue_date.to_string()).collect();
        let expiry: Vec<Option<String>> =
            cards.iter().map(|(_, (c, ..))| c.expiry.map(|d| d.to_string())).collect();
        let authority: Vec<&str> = cards.iter().map(|(_, (c, ..))| c.issuing_authority.as_str()).collect();
        let status: Vec<&str> = cards.iter().map(|(_, (c, ..))| c.status.code()).collect();
        let app_ids: Vec<i64> = cards.iter().map(|(id, _)| *id).collect();
        let due: Vec<Option<&str>> = cards.iter().map(|(_, (_, d, ..))| d.as_deref()).collect();
        let province: Vec<&str> = cards.iter().map(|(_, (_, _, p, _))| p.as_str()).collect();
        let commune: Vec<&str> = cards.iter().map(|(_, (.., c))| c.as_str()).collect();
        tx.execute(
            &card,
            &[&pids, &number, &issue, &expiry, &authority, &status, &app_ids, &due, &province, &commune],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(out)
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
        self.restore_deferred().await?;
        Ok(applied)
    }

    async fn ping(&self) -> Result<()> {
        self.client().await?.simple_query("SELECT 1").await?;
        Ok(())
    }

    async fn create_citizen(&self, c: &Citizen, change: &Change) -> Result<StoredCitizen> {
        let cols = rows::CitizenCols::new(c).map_err(|v| StoreError::Invalid(vec![v]))?;
        let meta = rows::citizen_meta(1, change);
        let client = self.client().await?;
        let st = client.prepare_cached(&self.sql.insert_citizen).await?;
        let hv = rows::household_vals(None);
        let params: Vec<&(dyn ToSql + Sync)> =
            cols.vals.iter().chain(&meta).chain(&hv).map(|v| v as &(dyn ToSql + Sync)).collect();
        if client.execute(&st, &params).await? == 0 {
            return Err(StoreError::Conflict(rows::duplicate_id(cols.id())));
        }
        Ok(rows::new_stored(c, &cols, change))
    }

    async fn update_citizen(
        &self,
        c: &Citizen,
        expected_version: i64,
        change: &Change,
    ) -> Result<StoredCitizen> {
        let cols = rows::CitizenCols::new(c).map_err(|v| StoreError::Invalid(vec![v]))?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let st = tx.prepare_cached(&self.sql.current_for_update).await?;
        let row = tx.query_opt(&st, &[&cols.id()]).await?.ok_or(StoreError::NotFound)?;
        let prev = rows::current_from_row(&row)?;
        rows::check_version(expected_version, prev.version)?;
        let hist = tx
            .prepare_cached(
                "INSERT INTO citizen_history (personal_id, version, data, changed_at, changed_by, reason) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await?;
        tx.execute(
            &hist,
            &[
                &cols.id(),
                &prev.version,
                &Json(&prev.citizen),
                &prev.changed_at,
                &prev.changed_by,
                &prev.reason,
            ],
        )
        .await?;
        let meta = [
            Val::Int(prev.version + 1),
            Val::Ts(change.at),
            Val::Text(change.actor.clone()),
            Val::Text(change.reason.clone()),
        ];
        let up = tx.prepare_cached(&self.sql.update_citizen).await?;
        let params: Vec<&(dyn ToSql + Sync)> =
            cols.vals.iter().chain(meta.iter()).map(|v| v as &(dyn ToSql + Sync)).collect();
        tx.execute(&up, &params).await?;
        let stored = get_stored(&tx, &self.sql, cols.id()).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn get_citizen(&self, id: &PersonalId) -> Result<Option<StoredCitizen>> {
        get_stored(&self.client().await?, &self.sql, id.as_str()).await
    }

    async fn citizen_history(&self, id: &PersonalId) -> Result<Vec<CitizenVersion>> {
        let client = self.client().await?;
        let st = client.prepare_cached(rows::CITIZEN_HISTORY_SQL).await?;
        client.query(&st, &[&id.as_str()]).await?.iter().map(rows::history_from_row).collect()
    }

    async fn search_citizens(&self, q: &CitizenQuery, scope: &Scope) -> Result<Page<CitizenSummary>> {
        let (count_sql, page_sql, f, limit) = rows::search_sql(q, scope, PH);
        let client = self.client().await?;
        page(&client, &count_sql, &page_sql, &f, limit, q.offset, rows::summary_from_row).await
    }

    async fn import_batch_with(
        &self,
        batch: &[ImportRow],
        change: &Change,
        opts: &ImportOptions,
    ) -> Result<ImportOutcome> {
        let (items, rejected) = import::prepare_import(batch);
        let mut client = self.client().await?;
        let mut tx = client.transaction().await?;

        // The batch's households that exist, with their heads: one query.
        let numbers = import::household_numbers(&items);
        let known: HashMap<String, Option<String>> = if numbers.is_empty() {
            HashMap::new()
        } else {
            let st = tx.prepare_cached(import::HOUSEHOLD_HEADS_SQL).await?;
            tx.query(&st, &[&numbers]).await?.iter().map(|r| (r.get(0), r.get(1))).collect()
        };

        let outcome = |fates: &[Fate], inserted: u64| {
            let mut out = ImportOutcome { rejected: rejected.clone(), inserted, ..Default::default() };
            for (it, fate) in items.iter().zip(fates) {
                match fate {
                    Fate::Skip => out.skipped_existing += 1,
                    Fate::Reject(v) => out.rejected.push((it.line, v.clone())),
                    Fate::Insert => {}
                }
            }
            out.rejected.sort_by_key(|(line, _)| *line);
            out
        };
        let meta = rows::citizen_meta(1, change);

        // Fast path, for new data: no household of the batch exists, so assume no personal
        // ID is stored either and COPY straight into the tables. Should one be stored (a
        // re-run), the savepoint undoes the COPY and the exact path below decides. A row
        // refused within the batch may as well be a stored one, so refusals take the exact
        // path too.
        if known.is_empty() {
            let fates = import::plan_import(&items, opts, |_| Ok(Stored::Absent), |_| Ok(None))?;
            if !fates.iter().any(|f| matches!(f, Fate::Reject(_))) {
                let (data, accepted) = copy_data(&items, &fates, &meta);
                if accepted == 0 {
                    tx.commit().await?;
                    return Ok(outcome(&fates, 0));
                }
                let new = import::new_households(&items, &fates);
                let sp = tx.savepoint("import_copy").await?;
                let copied = async {
                    if !new.is_empty() {
                        copy_in(&sp, COPY_HOUSEHOLDS, household_copy_data(&new, change)).await?;
                    }
                    copy_in(&sp, &self.sql.copy_citizens, data).await
                };
                match copied.await {
                    Ok(n) => {
                        sp.commit().await?;
                        tx.commit().await?;
                        return Ok(outcome(&fates, n));
                    }
                    Err(e) if matches!(unique_violation(&e), Some("citizens_pkey" | "households_pkey")) => {
                        sp.rollback().await?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }

        // Exact path: what is stored under the batch's personal IDs (one query), the plan,
        // then the new rows staged and inserted, skipping any stored meanwhile.
        let ids: Vec<&str> = items.iter().map(|i| i.cols.id()).collect();
        let st = tx.prepare_cached(&import::STORED_SQL).await?;
        let stored: HashMap<String, tokio_postgres::Row> =
            tx.query(&st, &[&ids]).await?.into_iter().map(|r| (r.get(0), r)).collect();
        let fates = import::plan_import(
            &items,
            opts,
            |it| match stored.get(it.cols.id()) {
                None => Ok(Stored::Absent),
                Some(r) => import::compare_stored(r, it),
            },
            |no| Ok(known.get(no).cloned()),
        )?;
        let (data, accepted) = copy_data(&items, &fates, &meta);
        if accepted == 0 {
            tx.commit().await?;
            return Ok(outcome(&fates, 0));
        }
        let numbers = import::new_households(&items, &fates);
        if !numbers.is_empty() {
            let st = tx
                .prepare_cached(
                    "INSERT INTO households (number, version, updated_at, updated_by, change_reason) \
                     SELECT n, 1, $2, $3, $4 FROM unnest($1::text[]) AS n ON CONFLICT (number) DO NOTHING",
                )
                .await?;
            tx.execute(&st, &[&numbers, &change.at, &change.actor, &change.reason]).await?;
        }
        tx.batch_execute("CREATE TEMP TABLE import_stage (LIKE citizens) ON COMMIT DROP").await?;
        copy_in(&tx, &self.sql.copy_stage, data).await?;
        let inserted = tx
            .execute(
                "INSERT INTO citizens SELECT * FROM import_stage ON CONFLICT (personal_id) DO NOTHING",
                &[],
            )
            .await?;
        if inserted != accepted {
            // Another writer stored some of these personal IDs since the check above.
            return Err(StoreError::Backend(format!(
                "{} of the batch's citizens were stored concurrently; retry the batch",
                accepted - inserted
            )));
        }
        tx.commit().await?;
        Ok(outcome(&fates, inserted))
    }

    async fn begin_import(&self, expected_rows: u64) -> Result<bool> {
        let client = self.client().await?;
        let stored: f32 = client
            .query_one("SELECT reltuples FROM pg_class WHERE oid = 'citizens'::regclass", &[])
            .await?
            .get(0);
        if !rows::should_defer_indexes(expected_rows, stored.max(0.0) as u64) {
            return Ok(false);
        }
        let mut sql = format!("ALTER TABLE citizens DROP CONSTRAINT IF EXISTS {HOUSEHOLD_FK};");
        for (name, _) in rows::DEFERRABLE_INDEXES {
            sql.push_str(&format!(" DROP INDEX IF EXISTS {name};"));
        }
        client.batch_execute(&sql).await?;
        Ok(true)
    }

    async fn finish_import(&self) -> Result<()> {
        if self.restore_deferred().await? {
            // Fresh statistics for the planner after a large load.
            self.client().await?.batch_execute("ANALYZE citizens").await?;
        }
        Ok(())
    }

    async fn count_citizens(&self) -> Result<u64> {
        let n: i64 = self.client().await?.query_one("SELECT count(*) FROM citizens", &[]).await?.get(0);
        Ok(n as u64)
    }

    async fn create_household(&self, h: &Household, change: &Change) -> Result<HouseholdView> {
        rows::check_household(h)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let st = tx
            .prepare_cached(
                "INSERT INTO households (number, version, updated_at, updated_by, change_reason) \
                 VALUES ($1, 1, $2, $3, $4) ON CONFLICT (number) DO NOTHING",
            )
            .await?;
        if tx.execute(&st, &[&h.number, &change.at, &change.actor, &change.reason]).await? == 0 {
            return Err(StoreError::Conflict(rows::household_exists(&h.number)));
        }
        insert_members(&tx, h).await?;
        let view = get_household(&tx, &h.number).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(view)
    }

    async fn update_household(&self, h: &Household, change: &Change) -> Result<HouseholdView> {
        rows::check_household(h)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let st = tx
            .prepare_cached(
                "SELECT version, updated_at, updated_by, change_reason FROM households WHERE number = $1 FOR UPDATE",
            )
            .await?;
        let cur = tx.query_opt(&st, &[&h.number]).await?.ok_or(StoreError::NotFound)?;
        let version = cur.int(0)?;
        let ms = tx.prepare_cached(rows::CURRENT_MEMBERS_SQL).await?;
        let members = tx
            .query(&ms, &[&h.number])
            .await?
            .iter()
            .map(rows::member_pair_from_row)
            .collect::<Result<Vec<_>>>()?;
        let hist = tx
            .prepare_cached(
                "INSERT INTO household_history (number, version, members, changed_at, changed_by, reason) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await?;
        tx.execute(&hist, &[&h.number, &version, &Json(&members), &cur.ts(1)?, &cur.text(2)?, &cur.text(3)?])
            .await?;
        let del = tx.prepare_cached(rows::CLEAR_MEMBERS_SQL).await?;
        tx.execute(&del, &[&h.number]).await?;
        insert_members(&tx, h).await?;
        let up = tx
            .prepare_cached(
                "UPDATE households SET version = $2, updated_at = $3, updated_by = $4, change_reason = $5 \
                 WHERE number = $1",
            )
            .await?;
        tx.execute(&up, &[&h.number, &(version + 1), &change.at, &change.actor, &change.reason]).await?;
        let view = get_household(&tx, &h.number).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(view)
    }

    async fn get_household(&self, number: &str) -> Result<Option<HouseholdView>> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let v = get_household(&tx, number).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn household_history(&self, number: &str) -> Result<Vec<HouseholdVersion>> {
        let client = self.client().await?;
        let st = client.prepare_cached(rows::HOUSEHOLD_HISTORY_SQL).await?;
        client.query(&st, &[&number]).await?.iter().map(rows::household_history_from_row).collect()
    }

    async fn allocate_personal_id(&self, province: &str, sex: Sex, birth_year: i32) -> Result<PersonalId> {
        let prefix = rows::id_prefix(province, sex, birth_year)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let (next, taken) = tokio::try_join!(
            tx.prepare_cached(
                "INSERT INTO id_allocations (prefix, next_counter) VALUES ($1, 1) \
                 ON CONFLICT (prefix) DO UPDATE SET next_counter = id_allocations.next_counter + 1 \
                 RETURNING next_counter - 1",
            ),
            tx.prepare_cached("SELECT 1 FROM citizens WHERE personal_id = $1"),
        )?;
        let id = loop {
            let counter: i64 = tx.query_one(&next, &[&prefix]).await?.get(0);
            let id = rows::id_candidate(province, sex, birth_year, counter)?;
            if tx.query_opt(&taken, &[&id.as_str()]).await?.is_none() {
                break id;
            }
        };
        tx.commit().await?;
        Ok(id)
    }

    async fn create_card_application(
        &self,
        a: &NewCardApplication,
        change: &Change,
    ) -> Result<CardApplication> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let st = tx.prepare_cached(rows::CITIZEN_SCOPE_SQL).await?;
        let row = tx.query_opt(&st, &[&a.personal_id.as_str()]).await?.ok_or(StoreError::NotFound)?;
        let (province, commune) = (row.text(0)?, row.text(1)?);
        let ins = tx.prepare_cached(rows::CARD_APP_INSERT).await?;
        let id: i64 = tx
            .query_one(
                &ins,
                &[
                    &a.personal_id.as_str(),
                    &a.kind.code(),
                    &a.biometrics_captured,
                    &a.reason,
                    &province,
                    &commune,
                    &a.unit,
                    &change.at,
                    &change.actor,
                ],
            )
            .await?
            .get(0);
        let app = get_card_app(&tx, id, false).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(app)
    }

    async fn get_card_application(&self, id: i64) -> Result<Option<CardApplication>> {
        get_card_app(&self.client().await?, id, false).await
    }

    async fn transition_card_application_in(
        &self,
        id: i64,
        to: &dancu_identity::Stage,
        reason: Option<&str>,
        expected_version: i64,
        change: &Change,
        scope: &Scope,
    ) -> Result<CardApplication> {
        let req = TransitionReq::new(id, to, reason, expected_version, change, scope);
        self.transitions().call(req).await
    }

    async fn card_board(&self, scope: &Scope) -> Result<Vec<StageCount>> {
        let (sql, f) = rows::card_board_sql(scope, PH);
        let client = self.client().await?;
        let st = client.prepare_cached(&sql).await?;
        let counts = client
            .query(&st, &refs(&f.params))
            .await?
            .iter()
            .map(|r| Ok((r.text(0)?, r.int(1)?)))
            .collect::<Result<Vec<_>>>()?;
        rows::board_from(counts)
    }

    async fn list_card_applications(
        &self,
        scope: &Scope,
        stage: Option<dancu_identity::StageKind>,
        limit: u32,
        offset: u64,
    ) -> Result<Page<CardApplication>> {
        let (count_sql, page_sql, f, limit) = rows::card_list_sql(scope, stage, limit, offset, PH);
        let client = self.client().await?;
        page(&client, &count_sql, &page_sql, &f, limit, offset, rows::card_app_from_row).await
    }

    async fn card_application_history(&self, id: i64) -> Result<Vec<CardEvent>> {
        let client = self.client().await?;
        let st = client.prepare_cached(rows::CARD_EVENTS_SQL).await?;
        client.query(&st, &[&id]).await?.iter().map(rows::card_event_from_row).collect()
    }

    async fn get_cards(&self, personal_id: &PersonalId) -> Result<Vec<StoredCard>> {
        let client = self.client().await?;
        let st = client.prepare_cached(rows::CARDS_SQL).await?;
        client.query(&st, &[&personal_id.as_str()]).await?.iter().map(rows::card_from_row).collect()
    }

    async fn import_cards(&self, cards: &[ImportCard], change: &Change) -> Result<u64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let scope_st = tx.prepare_cached(rows::CITIZEN_SCOPE_SQL).await?;
        let app_st = tx.prepare_cached(rows::CARD_APP_IMPORT).await?;
        // One revocation for the batch (a per-row UPDATE gets a generic plan made while the
        // table was small); within the batch, a holder's earlier cards go in revoked.
        let pids: Vec<&str> = cards.iter().map(|c| c.personal_id.as_str()).collect();
        let revoke_st = tx.prepare_cached(rows::CARD_REVOKE_MANY_SQL).await?;
        tx.execute(&revoke_st, &[&pids]).await?;
        let mut last = std::collections::HashMap::new();
        for (i, c) in cards.iter().enumerate() {
            last.insert(c.personal_id, i);
        }
        let ins_st = tx.prepare_cached(rows::CARD_INSERT).await?;
        for (i, c) in cards.iter().enumerate() {
            let pid = c.personal_id.as_str();
            let row = tx.query_opt(&scope_st, &[&pid]).await?.ok_or(StoreError::NotFound)?;
            let (province, commune, birth) = (row.text(0)?, row.text(1)?, row.text(2)?);
            let id = tx
                .query_one(
                    &app_st,
                    &[&pid, &change.reason, &province, &commune, &c.unit, &change.at, &change.actor],
                )
                .await?
                .int(0)?;
            let (card, due) = rows::imported_card(c, &birth, id)?;
            let status = if last[&c.personal_id] == i { card.status.code() } else { "revoked" };
            tx.execute(
                &ins_st,
                &[
                    &pid,
                    &card.number.as_str(),
                    &card.issue_date.to_string(),
                    &card.expiry.map(|d| d.to_string()),
                    &card.issuing_authority,
                    &status,
                    &id,
                    &due,
                    &province,
                    &commune,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(cards.len() as u64)
    }

    async fn cards_due_for_renewal(
        &self,
        scope: &Scope,
        on: chrono::NaiveDate,
        within_days: u32,
        limit: u32,
        offset: u64,
    ) -> Result<Page<DueCard>> {
        let (count_sql, page_sql, f, limit) = rows::card_due_sql(scope, on, within_days, limit, offset, PH);
        let client = self.client().await?;
        page(&client, &count_sql, &page_sql, &f, limit, offset, rows::due_card_from_row).await
    }

    async fn create_officer(&self, o: &NewOfficer) -> Result<Officer> {
        let client = self.client().await?;
        let st = client
            .prepare_cached(
                "INSERT INTO officers (username, display_name, role, scope, password_hash, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, true, $6) ON CONFLICT (username) DO NOTHING RETURNING id",
            )
            .await?;
        let created_at = rows::now();
        let row = client
            .query_opt(
                &st,
                &[
                    &o.username,
                    &o.display_name,
                    &o.role.code(),
                    &o.scope.to_string(),
                    &o.password_hash,
                    &created_at,
                ],
            )
            .await?
            .ok_or_else(|| StoreError::Conflict(rows::duplicate_username(&o.username)))?;
        Ok(Officer {
            id: row.get(0),
            username: o.username.clone(),
            display_name: o.display_name.clone(),
            role: o.role,
            scope: o.scope.clone(),
            password_hash: o.password_hash.clone(),
            active: true,
            created_at,
        })
    }

    async fn get_officer_by_username(&self, username: &str) -> Result<Option<Officer>> {
        let client = self.client().await?;
        let st = client.prepare_cached(&format!("{} WHERE username = $1", rows::OFFICER_SELECT)).await?;
        client.query_opt(&st, &[&username]).await?.map(|r| rows::officer_from_row(&r)).transpose()
    }

    async fn get_officer(&self, id: i64) -> Result<Option<Officer>> {
        let client = self.client().await?;
        let st = client.prepare_cached(&format!("{} WHERE id = $1", rows::OFFICER_SELECT)).await?;
        client.query_opt(&st, &[&id]).await?.map(|r| rows::officer_from_row(&r)).transpose()
    }

    async fn list_officers(&self) -> Result<Vec<Officer>> {
        let client = self.client().await?;
        let st = client.prepare_cached(&format!("{} ORDER BY username", rows::OFFICER_SELECT)).await?;
        client.query(&st, &[]).await?.iter().map(rows::officer_from_row).collect()
    }

    async fn create_session(&self, s: &Session) -> Result<()> {
        let client = self.client().await?;
        let st = client
            .prepare_cached(
                "INSERT INTO sessions (token_hash, officer_id, csrf_token, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .await?;
        client
            .execute(&st, &[&s.token_hash, &s.officer_id, &s.csrf_token, &s.created_at, &s.expires_at])
            .await?;
        Ok(())
    }

    async fn get_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Session>> {
        let client = self.client().await?;
        let st = client
            .prepare_cached(&format!("{} WHERE token_hash = $1 AND expires_at > $2", rows::SESSION_SELECT))
            .await?;
        client.query_opt(&st, &[&token_hash, &now]).await?.map(|r| rows::session_from_row(&r)).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let client = self.client().await?;
        let st = client.prepare_cached("DELETE FROM sessions WHERE token_hash = $1").await?;
        client.execute(&st, &[&token_hash]).await?;
        Ok(())
    }

    async fn append_audit(&self, entries: &[NewAuditEntry]) -> Result<AuditHead> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let (head, head_at, ins, up, upto) = tokio::try_join!(
            tx.prepare_cached("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"),
            tx.prepare_cached(
                "SELECT at FROM audit_log WHERE seq = (SELECT seq FROM audit_head WHERE id = 1)"
            ),
            tx.prepare_cached(
                "INSERT INTO audit_log (seq, at, actor, action, subject, purpose, outcome, prev_hash, hash) \
                 SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::text[], $8::text[], $9::text[])",
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
        let ins_params: [&(dyn ToSql + Sync); 9] =
            [&seqs, &ats, &actors, &actions, &subjects, &purposes, &outcomes, &prevs, &hashes];
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
            for sql in rows::AUDIT_CATCHUP {
                tx.execute(sql, &[&upto, &last]).await?;
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
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let head = tx.query_one("SELECT seq, hash FROM audit_head WHERE id = 1", &[]).await?;
        let head = (head.int(0)?, head.text(1)?);
        let keyed_from = tx.query_one(rows::AUDIT_KEYED_FROM, &[]).await?.int(0)?;
        let mut check = ChainCheck::new(&self.audit_key, keyed_from, scope);
        {
            let stream = tx
                .query_raw(&format!("{} WHERE seq >= $1 ORDER BY seq", rows::AUDIT_SELECT), [scope.start()])
                .await?;
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
