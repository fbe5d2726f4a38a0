//! The embedded SQLite backend: one writer connection behind a mutex (SQLite has one writer
//! at a time anyway) and a few read connections, WAL journal, `synchronous=NORMAL`. Every
//! call runs on tokio's blocking pool. Each storage trait is implemented in the file of its
//! area (`citizens.rs`, `households.rs`, `cards.rs`, …).

mod audit;
mod bulk_import;
mod cards;
mod checkpoint;
mod citizens;
mod exec;
mod households;
mod officers;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::ToSqlOutput;
use rusqlite::{params_from_iter, Connection, OpenFlags, ToSql, TransactionBehavior};

use crate::audit_chain::AuditKey;
use crate::combine::{Combiner, TransitionReq};
use crate::import;
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
    Migration {
        version: 10,
        name: "audit_returned",
        sql: include_str!("../../migrations/sqlite/0010_audit_returned.sql"),
    },
    Migration {
        version: 11,
        name: "login_throttle",
        sql: include_str!("../../migrations/sqlite/0011_login_throttle.sql"),
    },
    Migration {
        version: 12,
        name: "officer_roles",
        sql: include_str!("../../migrations/sqlite/0012_officer_roles.sql"),
    },
    Migration {
        version: 13,
        name: "eid_claims",
        sql: include_str!("../../migrations/sqlite/0013_eid_claims.sql"),
    },
    Migration { version: 14, name: "oidc", sql: include_str!("../../migrations/sqlite/0014_oidc.sql") },
    Migration {
        version: 15,
        name: "partners",
        sql: include_str!("../../migrations/sqlite/0015_partners.sql"),
    },
    Migration {
        version: 16,
        name: "search_indexes",
        sql: include_str!("../../migrations/sqlite/0016_search_indexes.sql"),
    },
    Migration {
        version: 17,
        name: "applications",
        sql: include_str!("../../migrations/sqlite/0017_applications.sql"),
    },
    Migration {
        version: 18,
        name: "residences",
        sql: include_str!("../../migrations/sqlite/0018_residences.sql"),
    },
    Migration {
        version: 19,
        name: "confirmations",
        sql: include_str!("../../migrations/sqlite/0019_confirmations.sql"),
    },
    Migration { version: 20, name: "outbox", sql: include_str!("../../migrations/sqlite/0020_outbox.sql") },
    Migration {
        version: 21,
        name: "application_queue_indexes",
        sql: include_str!("../../migrations/sqlite/0021_application_queue_indexes.sql"),
    },
    Migration {
        version: 22,
        name: "residence_events",
        sql: include_str!("../../migrations/sqlite/0022_residence_events.sql"),
    },
    Migration {
        version: 23,
        name: "open_application_indexes",
        sql: include_str!("../../migrations/sqlite/0023_open_application_indexes.sql"),
    },
    Migration {
        version: 24,
        name: "linked_chains",
        sql: include_str!("../../migrations/sqlite/0024_linked_chains.sql"),
    },
    Migration { version: 25, name: "figures", sql: include_str!("../../migrations/sqlite/0025_figures.sql") },
    Migration {
        version: 26,
        name: "report_indexes",
        sql: include_str!("../../migrations/sqlite/0026_report_indexes.sql"),
    },
    Migration {
        version: 27,
        name: "outbox_citizen_update",
        sql: include_str!("../../migrations/sqlite/0027_outbox_citizen_update.sql"),
    },
    Migration {
        version: 28,
        name: "application_month_counts",
        sql: include_str!("../../migrations/sqlite/0028_application_month_counts.sql"),
    },
    Migration {
        version: 29,
        name: "report_event_time_indexes",
        sql: include_str!("../../migrations/sqlite/0029_report_event_time_indexes.sql"),
    },
    Migration {
        version: 31,
        name: "webhook_lease_index",
        sql: include_str!("../../migrations/sqlite/0031_webhook_lease_index.sql"),
    },
    Migration {
        version: 34,
        name: "open_queue_indexes",
        sql: include_str!("../../migrations/sqlite/0034_open_queue_indexes.sql"),
    },
    Migration {
        version: 35,
        name: "open_condition_without_in",
        sql: include_str!("../../migrations/sqlite/0035_open_condition_without_in.sql"),
    },
];

const READERS: usize = 4;

/// The writer's page cache while serving, and while a bulk import builds its deferred
/// indexes. Each connection's cache is bounded by its own `cache_size` (in all: the writer
/// 64 MiB, the audit writer 8 MiB, each reader 16 + 8 MiB): there is no process-wide heap
/// limit, because enforcing one needs SQLite's memory statistics, whose global mutex every
/// allocation of every connection takes (`.cargo/config.toml`).
pub(super) const WRITER_CACHE_KIB: i64 = 65_536;
pub(super) const IMPORT_CACHE_KIB: i64 = 262_144;

/// Sets the page cache of `c`'s main database, in KiB.
pub(super) fn set_cache(c: &Connection, kib: i64) -> rusqlite::Result<()> {
    c.execute_batch(&format!("PRAGMA main.cache_size = -{kib}"))
}
const PH: Ph = Ph::Question;

/// SQLite store; cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
    /// Card stage transitions, combined into shared transactions (started on first use).
    transitions: Arc<std::sync::OnceLock<Combiner<TransitionReq, CardApplication>>>,
    /// Small transactions of many clients (applications), combined likewise.
    combined: Arc<std::sync::OnceLock<Combiner<crate::combine::Group, ()>>>,
}

struct Inner {
    writer: Mutex<Connection>,
    /// The audit file's own writer (the file opened as `main`), `None` for an in-memory
    /// database, whose writer holds the audit schema itself. Audit group commits then run
    /// beside the data transactions instead of between them: `BEGIN IMMEDIATE` locks every
    /// attached file, so the data writer attaches the audit file only while migrating.
    audit_writer: Option<Mutex<Connection>>,
    /// The audit file, attached to the writer while migrating (`None` in memory).
    audit_file: Option<String>,
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
    leave_member: String,
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
            leave_member: PH.sql(rows::LEAVE_MEMBER_SQL),
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

/// How a connection waits for a lock another connection holds, giving up after `SECS`
/// seconds. SQLite's own handler sleeps 1, 2, 5, 10, 15 … ms between tries, so a writer held
/// back for a millisecond by a `RESTART` checkpoint slept 8, and the checkpointer, which
/// waits for the readers while it holds the write lock, held every writer back for the
/// length of its own sleeps. This one tries again every 100 µs for the first 50 ms, then
/// every 2 ms.
pub(super) fn busy_wait<const SECS: u64>(tries: i32) -> bool {
    const FINE: u64 = 500;
    let tries = tries.max(0) as u64;
    if tries < FINE {
        std::thread::sleep(Duration::from_micros(100));
        true
    } else if tries < FINE + SECS * 500 {
        std::thread::sleep(Duration::from_millis(2));
        true
    } else {
        false
    }
}

/// Settings of every connection; `audit` says whether the audit file is attached to it.
fn configure(c: &Connection, cache_kib: i64, audit: bool) -> rusqlite::Result<()> {
    c.busy_handler(Some(busy_wait::<30>))?;
    c.set_prepared_statement_cache_capacity(64);
    c.execute_batch(
        "PRAGMA main.synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
    )?;
    set_cache(c, cache_kib)?;
    if audit {
        c.execute_batch("PRAGMA audit.synchronous = NORMAL; PRAGMA audit.cache_size = -8192;")?;
    }
    Ok(())
}

/// The URL's `synchronous` option: `?synchronous=full` makes every commit wait until the
/// WAL is on disk (fsync), so committed writes also survive a power failure or an
/// operating-system crash; the default, `normal`, syncs at checkpoints only: a commit
/// survives a crash of the server process, but the last ones may be lost when the machine
/// loses power (docs/OPERATIONS.md). Any other option is refused.
fn synchronous_full(query: &str) -> Result<bool> {
    let mut full = false;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("synchronous", v)) if v.eq_ignore_ascii_case("full") => full = true,
            Some(("synchronous", v)) if v.eq_ignore_ascii_case("normal") => full = false,
            _ => {
                return Err(StoreError::Config(format!(
                    "unknown SQLite URL option {pair:?} (known: synchronous=normal|full)"
                )))
            }
        }
    }
    Ok(full)
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

/// A migrated SQLite store in a temporary directory (removed when the guard drops), for
/// tests that read the plans SQLite picks for the project's schema.
#[cfg(test)]
pub(crate) async fn migrated_temp() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("plans.db").display());
    let store = SqliteStore::open(&url, AuditKey::generate()).await.unwrap();
    Store::migrate(&store).await.unwrap();
    (dir, store)
}

/// The steps of SQLite's plan for `sql` (`EXPLAIN QUERY PLAN`, its detail column).
#[cfg(test)]
pub(crate) async fn query_plan(store: &SqliteStore, sql: &str, params: Vec<Val>) -> Vec<String> {
    use crate::exec::SqlExec;
    let rows = store.query(&format!("EXPLAIN QUERY PLAN {sql}"), params).await.unwrap();
    rows.iter().map(|r| r.text(3).unwrap()).collect()
}

impl SqliteStore {
    /// Opens `sqlite://path/to/file.db` (created if missing; `sqlite:///abs/path` for an
    /// absolute path) or `sqlite::memory:`. Does not migrate; see [`crate::open`].
    pub async fn open(url: &str, audit_key: AuditKey) -> Result<Self> {
        let url = url.to_string();
        tokio::task::spawn_blocking(move || Self::open_blocking(&url, audit_key)).await?
    }

    fn open_blocking(url: &str, audit_key: AuditKey) -> Result<Self> {
        let sql = Sql::new();
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            let c = Connection::open_in_memory()?;
            c.execute_batch("ATTACH DATABASE ':memory:' AS audit")?;
            configure(&c, 65_536, true)?;
            return Ok(SqliteStore::new(Inner {
                writer: Mutex::new(c),
                audit_writer: None,
                audit_file: None,
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
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let full_sync = synchronous_full(query)?;
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
        // 4 KiB pages (only a new file takes it): a request that changes one row and its
        // index entries writes each touched page whole into the WAL, and copies it into the
        // statement journal first; with 16 KiB pages that copying was most of an application
        // move's CPU (BENCHMARKS.md, issue 14). Bulk imports were faster with 16 KiB pages.
        writer.execute_batch("PRAGMA page_size = 4096")?;
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Config(format!("SQLite refused WAL mode (got {mode})")));
        }
        configure(&writer, WRITER_CACHE_KIB, false)?;
        // Checkpoints run on the checkpointer's thread, never inside a commit; a WAL file cut
        // back to its limit whenever the log restarts.
        writer.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
        checkpoint::limit_journal(&writer, false)?;
        let audit = audit_path(path);
        let audit_writer = Connection::open(&audit)?;
        let mode: String = audit_writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Config(format!(
                "SQLite refused WAL mode for the audit log (got {mode})"
            )));
        }
        configure(&audit_writer, 8192, false)?;
        audit_writer.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
        checkpoint::limit_journal(&audit_writer, false)?;
        if full_sync {
            // Every commit waits for the WAL to reach the disk (see synchronous_full).
            for c in [&writer, &audit_writer] {
                c.execute_batch("PRAGMA main.synchronous = FULL")?;
            }
        }
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
            configure(&r, 16_384, true)?;
            r.execute_batch("PRAGMA query_only = ON")?;
            readers.push(Mutex::new(r));
        }
        let cp = Connection::open(path)?;
        cp.execute("ATTACH DATABASE ?1 AS audit", [&audit])?;
        let checkpointer = Checkpointer::start(cp)
            .map_err(|e| StoreError::Config(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(SqliteStore::new(Inner {
            writer: Mutex::new(writer),
            audit_writer: Some(Mutex::new(audit_writer)),
            audit_file: Some(audit),
            readers,
            next_reader: 0.into(),
            sql,
            checkpointer: Some(checkpointer),
            audit_key,
        }))
    }

    fn new(inner: Inner) -> Self {
        SqliteStore { inner: Arc::new(inner), transitions: Default::default(), combined: Default::default() }
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
                    tokio::task::spawn_blocking(move || {
                        cards::transition_batch(&mut lock(&inner.writer), &reqs)
                    })
                    .await
                    .unwrap_or_else(|_| gone(n))
                }
            })
        })
    }

    /// The queue of [`crate::exec::SqlExec::transaction_combined`]: one writer, one batch
    /// at a time; held weakly like [`Self::transitions`].
    fn combined(&self) -> &Combiner<crate::combine::Group, ()> {
        self.combined.get_or_init(|| {
            let weak = Arc::downgrade(&self.inner);
            Combiner::start(64, 1, move |groups: Vec<crate::combine::Group>| {
                let weak = weak.clone();
                crate::combine::settle(groups, move |groups| {
                    let weak = weak.clone();
                    async move {
                        let gone = || StoreError::Backend("store closed".into());
                        let Some(inner) = weak.upgrade() else {
                            return (Vec::new(), Vec::new(), Err(gone()));
                        };
                        tokio::task::spawn_blocking(move || {
                            exec::run_groups(&mut lock(&inner.writer), groups)
                        })
                        .await
                        .unwrap_or_else(|e| (Vec::new(), Vec::new(), Err(StoreError::Task(e))))
                    }
                })
            })
        })
    }

    /// Runs `f` on the blocking pool with the store's connections.
    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner)).await?
    }

    /// Runs `f` with the writer connection on the blocking pool.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Sql) -> Result<T> + Send + 'static,
    {
        self.blocking(move |i| f(&mut lock(&i.writer), &i.sql)).await
    }

    /// Runs `f` with the audit file's writer on the blocking pool; its tables are named
    /// without a schema (`audit_log`), which resolves on either connection.
    async fn write_audit<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        self.blocking(move |i| f(&mut lock(i.audit_writer.as_ref().unwrap_or(&i.writer)))).await
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
        self.blocking(move |i| i.with_reader(f)).await
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

#[async_trait]
impl Store for SqliteStore {
    fn exec(&self) -> &dyn crate::exec::SqlExec {
        self
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<Vec<i64>> {
        // Migrations create tables in both files (`audit.audit_log`): the writer holds the
        // audit file for their time only (see `Inner::audit_writer`).
        let file = self.inner.audit_file.clone();
        if let Some(f) = file.clone() {
            self.write(move |c, _| Ok(c.execute("ATTACH DATABASE ?1 AS audit", [f]).map(drop)?)).await?;
        }
        let applied = migrate::run(self, &exec::MIGRATION_DIALECT, MIGRATIONS, "sqlite").await;
        if file.is_some() {
            self.write(|c, _| Ok(c.execute_batch("DETACH DATABASE audit")?)).await?;
        }
        let applied = applied?;
        // A new database has none yet (built now, quietly); an old one missing some was
        // left so by an interrupted bulk import.
        if !applied.contains(&1) {
            let missing = self.read(|c, _| bulk_import::missing_indexes(c)).await?;
            crate::deferred::warn_missing("sqlite", &missing);
        }
        self.write(|c, _| bulk_import::create_indexes(c)).await?;
        Ok(applied)
    }

    async fn ping(&self) -> Result<()> {
        self.read(|c, _| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }
}
