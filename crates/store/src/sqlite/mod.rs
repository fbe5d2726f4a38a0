//! The embedded SQLite backend: one writer connection behind a mutex (SQLite has one writer
//! at a time anyway) and a few read connections, WAL journal, `synchronous=NORMAL`. Every
//! call runs on tokio's blocking pool.

mod checkpoint;
mod exec;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use dancu_domain::{Citizen, Household, PersonalId, Sex};
use rusqlite::types::ToSqlOutput;
use rusqlite::{
    params, params_from_iter, Connection, OpenFlags, OptionalExtension, ToSql, TransactionBehavior,
};

use crate::audit_chain::{self, AuditHead, AuditKey, AuditReport, ChainCheck, VerifyScope};
use crate::combine::{Combiner, TransitionReq};
use crate::import::{self, Fate, ImportItem, Stored};
use crate::migrate::{self, Migration};
use crate::model::*;
use crate::rows::{self, Ph, RowGet, Val};
use crate::{Result, Store, StoreError};
use checkpoint::Checkpointer;

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("../../migrations/sqlite/0001_init.sql") },
    Migration { version: 2, name: "cards", sql: include_str!("../../migrations/sqlite/0002_cards.sql") },
    Migration {
        version: 3,
        name: "card_renewal",
        sql: include_str!("../../migrations/sqlite/0003_card_renewal.sql"),
    },
    Migration { version: 4, name: "eid", sql: include_str!("../../migrations/sqlite/0004_eid.sql") },
    Migration { version: 5, name: "dedup", sql: include_str!("../../migrations/sqlite/0005_dedup.sql") },
    Migration { version: 6, name: "quality", sql: include_str!("../../migrations/sqlite/0006_quality.sql") },
    Migration {
        version: 7,
        name: "audit_catchup",
        sql: include_str!("../../migrations/sqlite/0007_audit_catchup.sql"),
    },
    Migration {
        version: 8,
        name: "audit_keyed",
        sql: include_str!("../../migrations/sqlite/0008_audit_keyed.sql"),
    },
    Migration {
        version: 9,
        name: "officer_epoch",
        sql: include_str!("../../migrations/sqlite/0009_officer_epoch.sql"),
    },
];

const READERS: usize = 4;

/// SQLite's memory budget in this process (page caches of every connection together),
/// enforced by evicting cached pages. Without it the readers' caches grew past 250 MB
/// under the look-up benchmark. A bulk import lifts it for the writer's large cache.
const HEAP_LIMIT: i64 = 128 << 20;

fn set_heap_limit(c: &Connection, bytes: i64) -> Result<()> {
    c.query_row(&format!("PRAGMA soft_heap_limit = {bytes}"), [], |_| Ok(()))?;
    Ok(())
}
const PH: Ph = Ph::Question;

/// SQLite store; cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
    /// Card stage transitions, combined into shared transactions (started on first use).
    transitions: Arc<std::sync::OnceLock<Combiner<TransitionReq, CardApplication>>>,
}

struct Inner {
    writer: Mutex<Connection>,
    /// Empty for an in-memory database: reads then use the writer.
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    sql: Sql,
    /// `None` for an in-memory database (no WAL).
    checkpointer: Option<Checkpointer>,
    audit_key: AuditKey,
}

/// Statements built once from the shared column lists.
struct Sql {
    insert_citizen: String,
    update_citizen: String,
    stored_by_id: String,
    current_for_update: String,
    household: String,
    household_members: String,
    member_check: String,
    household_history: String,
    current_members: String,
    citizen_history: String,
    set_member: String,
    clear_members: String,
    /// The import insert: `OR IGNORE` skips a row that breaks a uniqueness rule (a stored
    /// personal ID, a second head) without undoing the rest of the transaction.
    import_citizen: String,
    /// What the import compares with a row, by personal ID ([`import::STORED_SQL`]).
    import_stored: String,
    /// Whether a household exists, and its head ([`import::HOUSEHOLD_HEADS_SQL`]).
    import_household: String,
}

impl Sql {
    fn new() -> Self {
        Sql {
            insert_citizen: rows::insert_citizen_sql(PH),
            update_citizen: rows::update_citizen_sql(PH),
            stored_by_id: format!("{} WHERE c.personal_id = ?1", *rows::STORED_CITIZEN_SELECT),
            current_for_update: PH.sql(&rows::CURRENT_FOR_UPDATE),
            household: PH.sql(rows::HOUSEHOLD_SQL),
            household_members: PH.sql(rows::HOUSEHOLD_MEMBERS_SQL),
            member_check: PH.sql(rows::MEMBER_CHECK_SQL),
            household_history: PH.sql(rows::HOUSEHOLD_HISTORY_SQL),
            current_members: PH.sql(rows::CURRENT_MEMBERS_SQL),
            citizen_history: PH.sql(rows::CITIZEN_HISTORY_SQL),
            set_member: PH.sql(rows::SET_MEMBER_SQL),
            clear_members: PH.sql(rows::CLEAR_MEMBERS_SQL),
            import_citizen: rows::insert_citizen_sql(PH)
                .replacen("INSERT INTO", "INSERT OR IGNORE INTO", 1)
                .replace(" ON CONFLICT (personal_id) DO NOTHING", ""),
            import_stored: import::one_key(&import::STORED_SQL),
            import_household: import::one_key(import::HOUSEHOLD_HEADS_SQL),
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("readers", &self.inner.readers.len()).finish()
    }
}

impl ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Val::Text(s) => s.to_sql(),
            Val::OptText(o) => o.to_sql(),
            Val::Null => Ok(ToSqlOutput::from(rusqlite::types::Null)),
            Val::Int(i) => i.to_sql(),
            Val::Ts(t) => Ok(ToSqlOutput::from(rows::ts_text(t))),
        }
    }
}

impl RowGet for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.get(i)?)
    }
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.get(i)?)
    }
    fn ts(&self, i: usize) -> Result<Timestamp> {
        rows::parse_ts_text(self.get_ref(i)?.as_str().map_err(|e| rows::corrupt("timestamp", e))?)
    }
    fn flag(&self, i: usize) -> Result<bool> {
        Ok(self.get(i)?)
    }
    fn json<T: serde::de::DeserializeOwned>(&self, i: usize) -> Result<T> {
        let s = self.get_ref(i)?.as_str().map_err(|e| rows::corrupt("JSON", e))?;
        serde_json::from_str(s).map_err(|e| rows::corrupt("JSON", e))
    }
}

fn configure(c: &Connection, cache_kib: i64) -> rusqlite::Result<()> {
    c.busy_timeout(Duration::from_secs(30))?;
    c.set_prepared_statement_cache_capacity(64);
    c.execute_batch(&format!(
        "PRAGMA main.synchronous = NORMAL; PRAGMA audit.synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY; PRAGMA main.cache_size = -{cache_kib}; PRAGMA audit.cache_size = -8192;"
    ))
}

/// The audit log lives in a file of its own beside the database (`x.db` → `x.db-audit`),
/// attached to every connection as schema `audit`. Appending to it then leaves the
/// registry file unchanged, so readers keep their page caches: in WAL mode a reader drops
/// its whole cache whenever the file it reads has changed, which an audit append on every
/// read would otherwise cause.
pub fn audit_path(path: &str) -> String {
    format!("{path}-audit")
}

/// Creates an empty file with mode 0600 if `path` does not exist (an empty file is an empty
/// SQLite database); warns about an existing one that others may read.
fn create_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if let Ok(m) = std::fs::metadata(path) {
                    if m.permissions().mode() & 0o077 != 0 {
                        tracing::warn!(file = %path.display(), mode = format!("{:o}", m.permissions().mode() & 0o777), "database file is readable by other users; chmod 600 it");
                    }
                }
            }
            Err(e) => return Err(StoreError::Config(format!("cannot create {}: {e}", path.display()))),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl SqliteStore {
    /// Opens `sqlite://path/to/file.db` (created if missing; `sqlite:///abs/path` for an
    /// absolute path) or `sqlite::memory:`. Does not migrate; see [`crate::open`].
    pub async fn open(url: &str, audit_key: AuditKey) -> Result<Self> {
        let url = url.to_string();
        tokio::task::spawn_blocking(move || Self::open_blocking(&url, audit_key))
            .await
            .map_err(|e| StoreError::Backend(format!("blocking task: {e}")))?
    }

    fn open_blocking(url: &str, audit_key: AuditKey) -> Result<Self> {
        let sql = Sql::new();
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            let c = Connection::open_in_memory()?;
            c.execute_batch("ATTACH DATABASE ':memory:' AS audit")?;
            configure(&c, 65_536)?;
            return Ok(SqliteStore::new(Inner {
                writer: Mutex::new(c),
                readers: Vec::new(),
                next_reader: 0.into(),
                sql,
                checkpointer: None,
                audit_key,
            }));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| StoreError::Config(format!("not a SQLite URL: {url:?}")))?;
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() {
            return Err(StoreError::Config("the SQLite URL names no file".into()));
        }
        if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dir.display())))?;
        }
        // Personal data: the database and audit files are created readable by their owner
        // alone (SQLite gives the -wal and -shm files the mode of their database file).
        create_private(Path::new(path))?;
        create_private(Path::new(&audit_path(path)))?;
        let writer = Connection::open(path)?;
        set_heap_limit(&writer, HEAP_LIMIT)?;
        // Larger pages make the bulk commits of imports cheaper; only a new file takes it.
        writer.execute_batch("PRAGMA page_size = 16384")?;
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Config(format!("SQLite refused WAL mode (got {mode})")));
        }
        let audit = audit_path(path);
        writer.execute("ATTACH DATABASE ?1 AS audit", [&audit])?;
        let mode: String = writer.query_row("PRAGMA audit.journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Config(format!(
                "SQLite refused WAL mode for the audit log (got {mode})"
            )));
        }
        configure(&writer, 262_144)?;
        // Checkpoints run on the checkpointer's thread, never inside a commit.
        writer.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            r.execute("ATTACH DATABASE ?1 AS audit", [&audit])?;
            // Small: look-ups by random personal ID rarely hit a cache this size anyway.
            configure(&r, 16_384)?;
            r.execute_batch("PRAGMA query_only = ON")?;
            readers.push(Mutex::new(r));
        }
        let cp = Connection::open(path)?;
        cp.execute("ATTACH DATABASE ?1 AS audit", [&audit])?;
        cp.busy_timeout(Duration::from_secs(5))?;
        let checkpointer = Checkpointer::start(cp)
            .map_err(|e| StoreError::Config(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(SqliteStore::new(Inner {
            writer: Mutex::new(writer),
            readers,
            next_reader: 0.into(),
            sql,
            checkpointer: Some(checkpointer),
            audit_key,
        }))
    }

    fn new(inner: Inner) -> Self {
        SqliteStore { inner: Arc::new(inner), transitions: Default::default() }
    }

    /// The transition queue; its task holds the store weakly, so dropping the store ends it.
    fn transitions(&self) -> &Combiner<TransitionReq, CardApplication> {
        self.transitions.get_or_init(|| {
            let weak = Arc::downgrade(&self.inner);
            Combiner::start(64, 1, move |reqs: Vec<TransitionReq>| {
                let weak = weak.clone();
                async move {
                    let n = reqs.len();
                    let gone = |n| (0..n).map(|_| Err(StoreError::Backend("store closed".into()))).collect();
                    let Some(inner) = weak.upgrade() else { return gone(n) };
                    tokio::task::spawn_blocking(move || transition_batch(&mut lock(&inner.writer), &reqs))
                        .await
                        .unwrap_or_else(|_| gone(n))
                }
            })
        })
    }

    /// Runs `f` with the writer connection on the blocking pool.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Sql) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = lock(&inner.writer);
            f(&mut c, &inner.sql)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("blocking task: {e}")))?
    }

    /// Runs a point read (one row by key, tens of microseconds) on the calling thread.
    /// Handing such a read to the blocking pool costs more in thread wake-ups than the
    /// read itself; anything that may scan goes through [`Self::read`] instead.
    fn read_point<T>(&self, f: impl FnOnce(&Connection, &Sql) -> Result<T>) -> Result<T> {
        self.inner.with_reader(f)
    }

    /// Runs `f` with a read connection on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Sql) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.with_reader(f))
            .await
            .map_err(|e| StoreError::Backend(format!("blocking task: {e}")))?
    }
}

impl Inner {
    fn pause_checkpoints(&self, paused: bool) {
        if let Some(cp) = &self.checkpointer {
            cp.pause(paused);
        }
    }

    /// Runs `f` on a free read connection (round robin, waiting on one if all are busy),
    /// or on the writer for an in-memory database, which has no readers.
    fn with_reader<T>(&self, f: impl FnOnce(&Connection, &Sql) -> Result<T>) -> Result<T> {
        if self.readers.is_empty() {
            return f(&lock(&self.writer), &self.sql);
        }
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            if let Ok(c) = self.readers[(start + i) % n].try_lock() {
                return f(&c, &self.sql);
            }
        }
        f(&lock(&self.readers[start % n]), &self.sql)
    }
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn immediate(c: &mut Connection) -> Result<rusqlite::Transaction<'_>> {
    Ok(c.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

fn get_stored(c: &Connection, sql: &Sql, id: &str) -> Result<Option<StoredCitizen>> {
    let mut st = c.prepare_cached(&sql.stored_by_id)?;
    let mut rs = st.query([id])?;
    match rs.next()? {
        Some(r) => Ok(Some(rows::stored_from_row(r)?)),
        None => Ok(None),
    }
}

fn get_household(c: &Connection, sql: &Sql, number: &str) -> Result<Option<HouseholdView>> {
    let mut st = c.prepare_cached(&sql.household)?;
    let mut rs = st.query([number])?;
    let Some(h) = rs.next()? else { return Ok(None) };
    let mut ms = c.prepare_cached(&sql.household_members)?;
    let members = ms.query_and_then([number], |r| rows::member_from_row(r))?.collect::<Result<Vec<_>>>()?;
    rows::household_view(h, members)
}

/// Whether a statement failed on a unique index (the only one a citizen row can break
/// besides its personal ID, which the statements handle, is the one-head index).
fn unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// Checks every member and inserts them into household `number`.
fn insert_members(tx: &Connection, sql: &Sql, h: &Household) -> Result<()> {
    let mut check = tx.prepare_cached(&sql.member_check)?;
    let mut set = tx.prepare_cached(&sql.set_member)?;
    for m in &h.members {
        let found: Option<Option<String>> =
            check.query_row([m.personal_id.as_str()], |r| r.get(0)).optional()?;
        rows::check_member(&m.personal_id, &h.number, found)?;
        set.execute(params![m.personal_id.as_str(), h.number, m.relation.code()]).map_err(|e| {
            if unique_violation(&e) {
                StoreError::Conflict(rows::head_taken(&h.number))
            } else {
                e.into()
            }
        })?;
    }
    Ok(())
}

/// One card stage transition inside the caller's transaction, in a savepoint: a refused
/// move (not found, stale version, a move the rules forbid) leaves nothing behind.
fn transition_one(tx: &Connection, r: &TransitionReq) -> Result<CardApplication> {
    tx.execute_batch("SAVEPOINT card_move")?;
    let out = transition_steps(tx, r);
    tx.execute_batch(if out.is_ok() {
        "RELEASE card_move"
    } else {
        "ROLLBACK TO card_move; RELEASE card_move"
    })?;
    out
}

fn transition_steps(tx: &Connection, r: &TransitionReq) -> Result<CardApplication> {
    let cur = get_card_app(tx, r.id)?.ok_or(StoreError::NotFound)?;
    r.check_scope(&cur)?;
    let (next, ev) =
        rows::plan_card_transition(&cur, &r.to, r.reason.as_deref(), r.expected_version, &r.change)?;
    let (code, bio, method, side) = rows::stage_cols(&next.stage);
    let at = rows::ts_text(&r.change.at);
    tx.prepare_cached(&PH.sql(rows::CARD_APP_UPDATE))?.execute(params![
        r.id,
        code,
        bio,
        method,
        side,
        at,
        r.change.actor,
        next.version
    ])?;
    tx.prepare_cached(&PH.sql(rows::CARD_EVENT_INSERT))?.execute(params![
        r.id,
        ev.seq,
        ev.from_stage.code(),
        ev.to_stage.code(),
        ev.reason,
        at,
        ev.by
    ])?;
    if next.stage.kind() == dancu_identity::StageKind::HandedOver {
        let (province, commune, birth): (String, String, String) = tx
            .prepare_cached(&PH.sql(rows::CITIZEN_SCOPE_SQL))?
            .query_row([cur.personal_id.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        let card = rows::issue_card(&next, &birth, &r.change)?;
        let due = rows::card_renewal_due_from(&birth, card.issue_date)?;
        replace_card(tx, cur.personal_id.as_str(), &card, r.id, due, &province, &commune)?;
    }
    Ok(next)
}

/// A batch of transitions in one transaction. Refused moves answer with their error and
/// write nothing (see [`transition_one`]); if the database itself fails, the batch is rolled back and each move is
/// retried in a transaction of its own, so one failure never takes the others with it.
fn transition_batch(conn: &mut Connection, reqs: &[TransitionReq]) -> Vec<Result<CardApplication>> {
    let batch = (|| {
        let tx = immediate(conn)?;
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            match transition_one(&tx, r) {
                Err(StoreError::Backend(e)) => return Err(StoreError::Backend(e)),
                other => out.push(other),
            }
        }
        tx.commit()?;
        Ok(out)
    })();
    match batch {
        Ok(out) => out,
        Err(_) if reqs.len() > 1 => {
            reqs.iter().map(|r| transition_batch(conn, std::slice::from_ref(r)).remove(0)).collect()
        }
        Err(e) => vec![Err(e)],
    }
}

/// Creates the deferrable indexes that are missing (after a bulk import).
/// Revokes the holder's valid cards and stores the new one (hand-over and bulk import).
fn replace_card(
    tx: &Connection,
    personal_id: &str,
    card: &StoredCard,
    application_id: i64,
    renewal_due_from: Option<String>,
    province: &str,
    commune: &str,
) -> Result<()> {
    tx.prepare_cached(&PH.sql(rows::CARD_REVOKE_SQL))?.execute([personal_id])?;
    tx.prepare_cached(&PH.sql(rows::CARD_INSERT))?.execute(params![
        personal_id,
        card.number.as_str(),
        card.issue_date.to_string(),
        card.expiry.map(|d| d.to_string()),
        card.issuing_authority,
        card.status.code(),
        application_id,
        renewal_due_from,
        province,
        commune
    ])?;
    Ok(())
}

fn create_indexes(c: &Connection) -> Result<()> {
    c.execute_batch("PRAGMA threads = 2")?;
    for (name, sql) in rows::DEFERRABLE_INDEXES {
        let exists = c
            .query_row("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1", [name], |_| Ok(()))
            .optional()?
            .is_some();
        if !exists {
            let t = std::time::Instant::now();
            c.execute_batch(sql)?;
            tracing::info!(index = name, seconds = t.elapsed().as_secs_f64(), "built index");
        }
    }
    Ok(())
}

/// One import batch in one transaction (see `import_batch_with`): every row is decided
/// first ([`import::plan_import`]), then the accepted rows are inserted. As on PostgreSQL,
/// new data takes a fast path: the plan assumes no personal ID is stored (only household
/// numbers are looked up), and should an insert find one stored after all (a re-run), the
/// transaction is rolled back and the batch decided again looking every personal ID up.
fn import_tx(
    conn: &mut Connection,
    sql: &Sql,
    items: &[ImportItem],
    opts: &ImportOptions,
    meta: &[Val; 5],
    who: (&str, &str, &str),
    out: &mut ImportOutcome,
) -> Result<()> {
    if let Some(done) = import_attempt(conn, sql, items, opts, meta, who, false)? {
        merge_outcome(out, done);
        return Ok(());
    }
    let done = import_attempt(conn, sql, items, opts, meta, who, true)?
        .ok_or_else(|| StoreError::Backend("the exact import path gave up".into()))?;
    merge_outcome(out, done);
    Ok(())
}

fn merge_outcome(out: &mut ImportOutcome, done: ImportOutcome) {
    out.inserted += done.inserted;
    out.skipped_existing += done.skipped_existing;
    out.rejected.extend(done.rejected);
}

/// One try of [`import_tx`]; `None` (nothing written) when the fast path (`exact` false)
/// does not apply.
fn import_attempt(
    conn: &mut Connection,
    sql: &Sql,
    items: &[ImportItem],
    opts: &ImportOptions,
    meta: &[Val; 5],
    (at, actor, reason): (&str, &str, &str),
    exact: bool,
) -> Result<Option<ImportOutcome>> {
    let mut out = ImportOutcome::default();
    let tx = immediate(conn)?;
    {
        let mut find = tx.prepare_cached(&sql.import_stored)?;
        let mut heads = tx.prepare_cached(&sql.import_household)?;
        let fates = import::plan_import(
            items,
            opts,
            |it| {
                if !exact {
                    return Ok(Stored::Absent);
                }
                let mut rs = find.query([it.cols.id()])?;
                match rs.next()? {
                    None => Ok(Stored::Absent),
                    Some(r) => import::compare_stored(r, it),
                }
            },
            |no| Ok(heads.query_row([no], |r| r.get::<_, Option<String>>(1)).optional()?),
        )?;
        if !exact && fates.iter().any(|f| matches!(f, Fate::Reject(_))) {
            // A refusal may as well be a stored row: decide exactly.
            return Ok(None);
        }
        let mut hh = tx.prepare_cached(
            "INSERT INTO households (number, version, updated_at, updated_by, change_reason) \
             VALUES (?1, 1, ?2, ?3, ?4) ON CONFLICT (number) DO NOTHING",
        )?;
        for no in import::new_households(items, &fates) {
            hh.execute(params![no, at, actor, reason])?;
        }
        let mut ins = tx.prepare_cached(&sql.import_citizen)?;
        // The bookkeeping columns are the same for every row: bound once.
        let n = rows::CITIZEN_COLUMNS.len();
        for (i, v) in meta.iter().enumerate() {
            ins.raw_bind_parameter(n + 1 + i, v)?;
        }
        for (it, fate) in items.iter().zip(fates) {
            match fate {
                Fate::Skip => out.skipped_existing += 1,
                Fate::Reject(v) => out.rejected.push((it.line, v)),
                Fate::Insert => {
                    for (i, v) in it.cols.vals.iter().enumerate() {
                        ins.raw_bind_parameter(i + 1, v)?;
                    }
                    for (i, v) in rows::household_vals(it.household.as_ref()).iter().enumerate() {
                        ins.raw_bind_parameter(n + meta.len() + 1 + i, v)?;
                    }
                    if ins.raw_execute()? == 1 {
                        out.inserted += 1;
                    } else if !exact {
                        // Stored after all: the transaction is rolled back when dropped.
                        return Ok(None);
                    } else {
                        // The exact plan saw the database in this transaction: nothing
                        // should be ignored here.
                        out.rejected.push((it.line, rows::row_refused()));
                    }
                }
            }
        }
    }
    tx.commit()?;
    Ok(Some(out))
}

/// Copies the audit entries after `upto` up to `last` into the look-up side tables.
fn audit_catch_up(tx: &Connection, upto: i64, last: i64) -> Result<()> {
    for sql in rows::AUDIT_CATCHUP {
        tx.prepare_cached(&PH.sql(sql))?.execute([upto, last])?;
    }
    tx.prepare_cached(&PH.sql(rows::AUDIT_INDEXED_SET))?.execute([last])?;
    Ok(())
}

fn page<T>(
    c: &Connection,
    count_sql: &str,
    page_sql: &str,
    f: &rows::Filter,
    limit: u32,
    offset: u64,
    map: impl Fn(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Page<T>> {
    let total: i64 =
        c.prepare_cached(count_sql)?.query_row(params_from_iter(rows::count_params(f)), |r| r.get(0))?;
    let mut st = c.prepare_cached(page_sql)?;
    let items = st.query_and_then(params_from_iter(&f.params), map)?.collect::<Result<Vec<_>>>()?;
    Ok(Page { items, total: total as u64, limit, offset })
}

fn get_card_app(c: &Connection, id: i64) -> Result<Option<CardApplication>> {
    let mut st = c.prepare_cached(&format!("{} WHERE id = ?1", rows::CARD_APP_SELECT))?;
    let mut rs = st.query([id])?;
    rs.next()?.map(rows::card_app_from_row).transpose()
}

#[async_trait]
impl Store for SqliteStore {
    fn exec(&self) -> &dyn crate::exec::SqlExec {
        self
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<Vec<i64>> {
        let applied = migrate::run(self, &exec::MIGRATION_DIALECT, MIGRATIONS, "sqlite").await?;
        self.write(|c, _| create_indexes(c)).await?;
        Ok(applied)
    }

    async fn ping(&self) -> Result<()> {
        self.read(|c, _| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }

    async fn create_citizen(&self, c: &Citizen, change: &Change) -> Result<StoredCitizen> {
        let cols = rows::CitizenCols::new(c).map_err(|v| StoreError::Invalid(vec![v]))?;
        let stored = rows::new_stored(c, &cols, change);
        let meta = rows::citizen_meta(1, change);
        self.write(move |conn, sql| {
            let n = conn.prepare_cached(&sql.insert_citizen)?.execute(params_from_iter(
                cols.vals.iter().chain(&meta).chain(&rows::household_vals(None)),
            ))?;
            if n == 0 {
                return Err(StoreError::Conflict(rows::duplicate_id(cols.id())));
            }
            Ok(stored)
        })
        .await
    }

    async fn update_citizen(
        &self,
        c: &Citizen,
        expected_version: i64,
        change: &Change,
    ) -> Result<StoredCitizen> {
        let cols = rows::CitizenCols::new(c).map_err(|v| StoreError::Invalid(vec![v]))?;
        let change = change.clone();
        self.write(move |conn, sql| {
            let tx = immediate(conn)?;
            let prev = {
                let mut st = tx.prepare_cached(&sql.current_for_update)?;
                let mut rs = st.query([cols.id()])?;
                match rs.next()? {
                    Some(r) => rows::current_from_row(r)?,
                    None => return Err(StoreError::NotFound),
                }
            };
            rows::check_version(expected_version, prev.version)?;
            tx.prepare_cached(
                "INSERT INTO citizen_history (personal_id, version, data, changed_at, changed_by, reason) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                cols.id(),
                prev.version,
                serde_json::to_string(&prev.citizen)?,
                rows::ts_text(&prev.changed_at),
                prev.changed_by,
                prev.reason
            ])?;
            let meta = [
                Val::Int(prev.version + 1),
                Val::Ts(change.at),
                Val::Text(change.actor.clone()),
                Val::Text(change.reason.clone()),
            ];
            tx.prepare_cached(&sql.update_citizen)?
                .execute(params_from_iter(cols.vals.iter().chain(meta.iter())))?;
            let stored = get_stored(&tx, sql, cols.id())?.ok_or(StoreError::NotFound)?;
            tx.commit()?;
            Ok(stored)
        })
        .await
    }

    async fn get_citizen(&self, id: &PersonalId) -> Result<Option<StoredCitizen>> {
        self.read_point(|c, sql| get_stored(c, sql, id.as_str()))
    }

    async fn citizen_history(&self, id: &PersonalId) -> Result<Vec<CitizenVersion>> {
        let id = *id;
        self.read(move |c, sql| {
            let mut st = c.prepare_cached(&sql.citizen_history)?;
            let v = st.query_and_then([id.as_str()], |r| rows::history_from_row(r))?.collect();
            v
        })
        .await
    }

    async fn search_citizens(&self, q: &CitizenQuery, scope: &Scope) -> Result<Page<CitizenSummary>> {
        let (count_sql, page_sql, f, limit) = rows::search_sql(q, scope, PH);
        let offset = q.offset;
        self.read(move |c, _| {
            let tx = c.unchecked_transaction()?;
            let p = page(&tx, &count_sql, &page_sql, &f, limit, offset, |r| rows::summary_from_row(r))?;
            tx.finish()?;
            Ok(p)
        })
        .await
    }

    async fn import_batch_with(
        &self,
        batch: &[ImportRow],
        change: &Change,
        opts: &ImportOptions,
    ) -> Result<ImportOutcome> {
        let (items, rejected) = import::prepare_import(batch);
        let opts = *opts;
        let meta = rows::citizen_meta(1, change);
        let (at, actor, reason) = (rows::ts_text(&change.at), change.actor.clone(), change.reason.clone());
        self.write(move |conn, sql| {
            let mut out = ImportOutcome { rejected, ..Default::default() };
            // Every household a row names is inserted just before the row, in the same
            // transaction, so the per-row foreign-key look-up can only succeed: skipped.
            conn.execute_batch("PRAGMA foreign_keys = OFF")?;
            // Foreign keys come back on even if the batch panics (the connection is reused).
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                import_tx(conn, sql, &items, &opts, &meta, (&at, &actor, &reason), &mut out)
            }));
            conn.execute_batch("PRAGMA foreign_keys = ON")?;
            result.unwrap_or_else(|p| std::panic::resume_unwind(p))?;
            out.rejected.sort_by_key(|(line, _)| *line);
            Ok(out)
        })
        .await
    }

    async fn begin_import(&self, expected_rows: u64) -> Result<bool> {
        let deferred = self
            .write(move |c, _| {
                let stored: i64 =
                    c.query_row("SELECT coalesce(max(rowid), 0) FROM citizens", [], |r| r.get(0))?;
                if !rows::should_defer_indexes(expected_rows, stored as u64) {
                    return Ok(false);
                }
                for (name, _) in rows::DEFERRABLE_INDEXES {
                    c.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
                }
                set_heap_limit(c, 0)?;
                Ok(true)
            })
            .await?;
        if deferred {
            // One checkpoint at the end instead of many during the load.
            self.inner.pause_checkpoints(true);
        }
        Ok(deferred)
    }

    async fn finish_import(&self) -> Result<()> {
        let result = self
            .write(|c, _| {
                create_indexes(c)?;
                c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
                set_heap_limit(c, HEAP_LIMIT)?;
                Ok(())
            })
            .await;
        self.inner.pause_checkpoints(false);
        result
    }

    async fn count_citizens(&self) -> Result<u64> {
        self.read(|c, _| Ok(c.query_row("SELECT count(*) FROM citizens", [], |r| r.get::<_, i64>(0))? as u64))
            .await
    }

    async fn create_household(&self, h: &Household, change: &Change) -> Result<HouseholdView> {
        rows::check_household(h)?;
        let (h, change) = (h.clone(), change.clone());
        self.write(move |conn, sql| {
            let tx = immediate(conn)?;
            let n = tx
                .prepare_cached(
                    "INSERT INTO households (number, version, updated_at, updated_by, change_reason) \
                     VALUES (?1, 1, ?2, ?3, ?4) ON CONFLICT (number) DO NOTHING",
                )?
                .execute(params![h.number, rows::ts_text(&change.at), change.actor, change.reason])?;
            if n == 0 {
                return Err(StoreError::Conflict(rows::household_exists(&h.number)));
            }
            insert_members(&tx, sql, &h)?;
            let view = get_household(&tx, sql, &h.number)?.ok_or(StoreError::NotFound)?;
            tx.commit()?;
            Ok(view)
        })
        .await
    }

    async fn update_household(&self, h: &Household, change: &Change) -> Result<HouseholdView> {
        rows::check_household(h)?;
        let (h, change) = (h.clone(), change.clone());
        self.write(move |conn, sql| {
            let tx = immediate(conn)?;
            let (version, at, by, why) = {
                let mut st = tx.prepare_cached(
                    "SELECT version, updated_at, updated_by, change_reason FROM households WHERE number = ?1",
                )?;
                let mut rs = st.query([&h.number])?;
                let Some(r) = rs.next()? else { return Err(StoreError::NotFound) };
                (r.int(0)?, r.text(1)?, r.text(2)?, r.text(3)?)
            };
            let members = tx
                .prepare_cached(&sql.current_members)?
                .query_and_then([&h.number], |r| rows::member_pair_from_row(r))?
                .collect::<Result<Vec<_>>>()?;
            tx.prepare_cached(
                "INSERT INTO household_history (number, version, members, changed_at, changed_by, reason) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                h.number,
                version,
                serde_json::to_string(&members)?,
                at,
                by,
                why
            ])?;
            tx.prepare_cached(&sql.clear_members)?.execute([&h.number])?;
            insert_members(&tx, sql, &h)?;
            tx.prepare_cached(
                "UPDATE households SET version = ?2, updated_at = ?3, updated_by = ?4, change_reason = ?5 \
                 WHERE number = ?1",
            )?
            .execute(params![
                h.number,
                version + 1,
                rows::ts_text(&change.at),
                change.actor,
                change.reason
            ])?;
            let view = get_household(&tx, sql, &h.number)?.ok_or(StoreError::NotFound)?;
            tx.commit()?;
            Ok(view)
        })
        .await
    }

    async fn get_household(&self, number: &str) -> Result<Option<HouseholdView>> {
        let number = number.to_string();
        self.read(move |c, sql| {
            let tx = c.unchecked_transaction()?;
            let v = get_household(&tx, sql, &number)?;
            tx.finish()?;
            Ok(v)
        })
        .await
    }

    async fn household_history(&self, number: &str) -> Result<Vec<HouseholdVersion>> {
        let number = number.to_string();
        self.read(move |c, sql| {
            let mut st = c.prepare_cached(&sql.household_history)?;
            let v = st.query_and_then([&number], |r| rows::household_history_from_row(r))?.collect();
            v
        })
        .await
    }

    async fn allocate_personal_id(&self, province: &str, sex: Sex, birth_year: i32) -> Result<PersonalId> {
        let prefix = rows::id_prefix(province, sex, birth_year)?;
        let province = province.to_string();
        self.write(move |conn, _| {
            let tx = immediate(conn)?;
            let id = {
                let mut next = tx.prepare_cached(
                    "INSERT INTO id_allocations (prefix, next_counter) VALUES (?1, 1) \
                     ON CONFLICT (prefix) DO UPDATE SET next_counter = next_counter + 1 \
                     RETURNING next_counter - 1",
                )?;
                let mut taken = tx.prepare_cached("SELECT 1 FROM citizens WHERE personal_id = ?1")?;
                loop {
                    let counter: i64 = next.query_row([&prefix], |r| r.get(0))?;
                    let id = rows::id_candidate(&province, sex, birth_year, counter)?;
                    if !taken.exists([id.as_str()])? {
                        break id;
                    }
                }
            };
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    async fn create_card_application(
        &self,
        a: &NewCardApplication,
        change: &Change,
    ) -> Result<CardApplication> {
        let (a, change) = (a.clone(), change.clone());
        self.write(move |conn, _| {
            let tx = immediate(conn)?;
            let (province, commune): (String, String) = tx
                .prepare_cached(&PH.sql(rows::CITIZEN_SCOPE_SQL))?
                .query_row([a.personal_id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .ok_or(StoreError::NotFound)?;
            let id: i64 = tx.prepare_cached(&PH.sql(rows::CARD_APP_INSERT))?.query_row(
                params![
                    a.personal_id.as_str(),
                    a.kind.code(),
                    a.biometrics_captured,
                    a.reason,
                    province,
                    commune,
                    a.unit,
                    rows::ts_text(&change.at),
                    change.actor
                ],
                |r| r.get(0),
            )?;
            let app = get_card_app(&tx, id)?.ok_or(StoreError::NotFound)?;
            tx.commit()?;
            Ok(app)
        })
        .await
    }

    async fn get_card_application(&self, id: i64) -> Result<Option<CardApplication>> {
        self.read_point(|c, _| get_card_app(c, id))
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
        self.read(move |c, _| {
            let mut st = c.prepare_cached(&sql)?;
            let counts = st
                .query_map(params_from_iter(&f.params), |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<(String, i64)>>>()?;
            rows::board_from(counts)
        })
        .await
    }

    async fn list_card_applications(
        &self,
        scope: &Scope,
        stage: Option<dancu_identity::StageKind>,
        limit: u32,
        offset: u64,
    ) -> Result<Page<CardApplication>> {
        let (count_sql, page_sql, f, limit) = rows::card_list_sql(scope, stage, limit, offset, PH);
        self.read(move |c, _| {
            let tx = c.unchecked_transaction()?;
            let p = page(&tx, &count_sql, &page_sql, &f, limit, offset, |r| rows::card_app_from_row(r))?;
            tx.finish()?;
            Ok(p)
        })
        .await
    }

    async fn card_application_history(&self, id: i64) -> Result<Vec<CardEvent>> {
        self.read(move |c, _| {
            let mut st = c.prepare_cached(&PH.sql(rows::CARD_EVENTS_SQL))?;
            let v = st.query_and_then([id], |r| rows::card_event_from_row(r))?.collect();
            v
        })
        .await
    }

    async fn get_cards(&self, personal_id: &PersonalId) -> Result<Vec<StoredCard>> {
        let id = *personal_id;
        self.read(move |c, _| {
            let mut st = c.prepare_cached(&PH.sql(rows::CARDS_SQL))?;
            let v = st.query_and_then([id.as_str()], |r| rows::card_from_row(r))?.collect();
            v
        })
        .await
    }

    async fn import_cards(&self, cards: &[ImportCard], change: &Change) -> Result<u64> {
        let (cards, change) = (cards.to_vec(), change.clone());
        self.write(move |conn, _| {
            let tx = immediate(conn)?;
            let at = rows::ts_text(&change.at);
            {
                let mut scope_st = tx.prepare_cached(&PH.sql(rows::CITIZEN_SCOPE_SQL))?;
                let mut app_st = tx.prepare_cached(&PH.sql(rows::CARD_APP_IMPORT))?;
                for c in &cards {
                    let pid = c.personal_id.as_str();
                    let (province, commune, birth): (String, String, String) = scope_st
                        .query_row([pid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()?
                        .ok_or(StoreError::NotFound)?;
                    let id: i64 = app_st.query_row(
                        params![pid, change.reason, province, commune, c.unit, at, change.actor],
                        |r| r.get(0),
                    )?;
                    let (card, due) = rows::imported_card(c, &birth, id)?;
                    replace_card(&tx, pid, &card, id, due, &province, &commune)?;
                }
            }
            tx.commit()?;
            Ok(cards.len() as u64)
        })
        .await
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
        self.read(move |c, _| {
            let tx = c.unchecked_transaction()?;
            let p = page(&tx, &count_sql, &page_sql, &f, limit, offset, |r| rows::due_card_from_row(r))?;
            tx.finish()?;
            Ok(p)
        })
        .await
    }

    async fn create_officer(&self, o: &NewOfficer) -> Result<Officer> {
        let o = o.clone();
        self.write(move |c, _| {
            let created_at = rows::now();
            let id: Option<i64> = c
                .prepare_cached(
                    "INSERT INTO officers (username, display_name, role, scope, password_hash, active, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6) ON CONFLICT (username) DO NOTHING RETURNING id",
                )?
                .query_row(
                    params![
                        o.username,
                        o.display_name,
                        o.role.code(),
                        o.scope.to_string(),
                        o.password_hash,
                        rows::ts_text(&created_at)
                    ],
                    |r| r.get(0),
                )
                .optional()?;
            let id = id.ok_or_else(|| StoreError::Conflict(rows::duplicate_username(&o.username)))?;
            Ok(Officer {
                id,
                username: o.username,
                display_name: o.display_name,
                role: o.role,
                scope: o.scope,
                password_hash: o.password_hash,
                active: true,
                created_at,
            })
        })
        .await
    }

    async fn get_officer_by_username(&self, username: &str) -> Result<Option<Officer>> {
        let username = username.to_string();
        self.read(move |c, _| {
            let mut st = c.prepare_cached(&format!("{} WHERE username = ?1", rows::OFFICER_SELECT))?;
            let mut rs = st.query([&username])?;
            rs.next()?.map(rows::officer_from_row).transpose()
        })
        .await
    }

    async fn get_officer(&self, id: i64) -> Result<Option<Officer>> {
        self.read_point(|c, _| {
            let mut st = c.prepare_cached(&format!("{} WHERE id = ?1", rows::OFFICER_SELECT))?;
            let mut rs = st.query([id])?;
            rs.next()?.map(rows::officer_from_row).transpose()
        })
    }

    async fn list_officers(&self) -> Result<Vec<Officer>> {
        self.read(|c, _| {
            let mut st = c.prepare_cached(&format!("{} ORDER BY username", rows::OFFICER_SELECT))?;
            let v = st.query_and_then([], |r| rows::officer_from_row(r))?.collect();
            v
        })
        .await
    }

    async fn create_session(&self, s: &Session) -> Result<()> {
        let s = s.clone();
        self.write(move |c, _| {
            c.prepare_cached(
                "INSERT INTO sessions (token_hash, officer_id, csrf_token, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                s.token_hash,
                s.officer_id,
                s.csrf_token,
                rows::ts_text(&s.created_at),
                rows::ts_text(&s.expires_at)
            ])?;
            Ok(())
        })
        .await
    }

    async fn get_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Session>> {
        self.read_point(|c, _| {
            let mut st = c.prepare_cached(&format!(
                "{} WHERE token_hash = ?1 AND expires_at > ?2",
                rows::SESSION_SELECT
            ))?;
            let mut rs = st.query(params![token_hash, rows::ts_text(&now)])?;
            rs.next()?.map(rows::session_from_row).transpose()
        })
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let token_hash = token_hash.to_string();
        self.write(move |c, _| {
            c.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?.execute([&token_hash])?;
            Ok(())
        })
        .await
    }

    async fn append_audit(&self, entries: &[NewAuditEntry]) -> Result<AuditHead> {
        let entries = entries.to_vec();
        let key = self.inner.audit_key.clone();
        self.write(move |conn, _| {
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
                    "INSERT INTO audit_log (seq, at, actor, action, subject, purpose, outcome, prev_hash, hash) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
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
                        e.hash
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
        self.write(|conn, _| {
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
                let mut st = tx.prepare(&format!("{} WHERE seq >= ?1 ORDER BY seq", rows::AUDIT_SELECT))?;
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
