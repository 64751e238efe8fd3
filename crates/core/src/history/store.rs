//! The history database: one SQLite file per household (`history.sqlite3` in
//! `<data dir>/monzo-tray/<household id>/`), through `rusqlite` with its bundled
//! SQLite, so every platform gets the same SQLite. WAL mode, so the tray's engine
//! writes while a command reads. The schema is versioned with `rusqlite_migration`
//! (SQLite's `user_version`); migrations run at open.
//!
//! A file that is not a database, or whose schema is newer or broken, is set aside
//! (renamed `history.sqlite3.broken-<time>`) and a new one made: history can be
//! imported again, while a database that blocks the app would stop the tray.
//!
//! Times are stored as RFC 3339 in UTC with milliseconds (`2026-11-30T18:04:05.123Z`),
//! which sort as text in time order. Amounts are integers in minor units.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
#[cfg(test)]
use rusqlite::OptionalExtension;
use rusqlite::{params, Connection};
use rusqlite_migration::{Migrations, M};

use super::HistoryError;
use crate::sync::lock;
use crate::transactions::Transaction;

/// The file's name in the household's data folder.
pub const HISTORY_FILE: &str = "history.sqlite3";

/// The schema, one step per version; a released step is never edited, only
/// followed by a new one.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(
            "CREATE TABLE accounts (
            account_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            account_type TEXT NOT NULL DEFAULT '',
            currency TEXT NOT NULL,
            opened TEXT,
            import_since TEXT,
            import_done INTEGER NOT NULL DEFAULT 0,
            import_cut_sign_in TEXT,
            readable_from TEXT,
            recheck_from TEXT,
            rechecked TEXT
        );
        CREATE TABLE account_people (
            account_id TEXT NOT NULL,
            person_id TEXT NOT NULL,
            person_name TEXT NOT NULL,
            PRIMARY KEY (account_id, person_id)
        );
        CREATE TABLE pots (
            pot_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            name TEXT NOT NULL,
            currency TEXT NOT NULL
        );
        CREATE TABLE transactions (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            created TEXT NOT NULL,
            settled TEXT,
            amount INTEGER NOT NULL,
            currency TEXT NOT NULL,
            local_amount INTEGER,
            local_currency TEXT,
            description TEXT NOT NULL,
            merchant TEXT,
            category TEXT NOT NULL,
            pot_id TEXT,
            declined INTEGER NOT NULL,
            counterparty_account_id TEXT
        );
        CREATE INDEX transactions_by_account ON transactions (account_id, created);
        CREATE TABLE balances (
            account_id TEXT NOT NULL,
            pot_id TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL,
            value INTEGER NOT NULL,
            currency TEXT NOT NULL
        );
        CREATE INDEX balances_by_holder ON balances (account_id, pot_id, at);",
        ),
        // Spending reads a month of every account at once (the window's charts,
        // the tray's month line).
        M::up("CREATE INDEX transactions_by_created ON transactions (created);"),
    ])
}

/// A time as stored.
pub(crate) fn stored_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A stored time read back; `None` for anything else (a hand-edited row).
pub(crate) fn read_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// One household's history database.
pub struct HistoryStore {
    path: Option<PathBuf>,
    connection: Mutex<Connection>,
    /// Said once: the file was set aside.
    pub warning: Option<String>,
}

impl std::fmt::Debug for HistoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryStore").field("path", &self.path).finish()
    }
}

fn database_error(err: &rusqlite::Error) -> HistoryError {
    if let rusqlite::Error::SqliteFailure(e, _) = err {
        if e.code == rusqlite::ErrorCode::DiskFull {
            return HistoryError::DiskFull;
        }
    }
    HistoryError::Database(err.to_string())
}

impl From<rusqlite::Error> for HistoryError {
    fn from(err: rusqlite::Error) -> Self {
        database_error(&err)
    }
}

/// Why a file could not be opened.
enum Unusable {
    /// The file itself is broken (not a database, damaged): it is set aside.
    Broken(String),
    /// Anything else (busy, unreadable, a newer schema than this version knows):
    /// the file is left as it is, and history is not kept in this run.
    Unavailable(String),
}

fn unusable(err: &rusqlite::Error) -> Unusable {
    match err.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            Unusable::Broken(err.to_string())
        }
        _ => Unusable::Unavailable(err.to_string()),
    }
}

/// Opens (and migrates) the file at `path`.
fn open_file(path: &Path) -> Result<Connection, Unusable> {
    let mut connection = Connection::open(path).map_err(|e| unusable(&e))?;
    // Readers (the command line) wait for the engine's short writes rather than fail.
    connection
        .busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| unusable(&e))?;
    let mode: String = connection
        .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
        .map_err(|e| unusable(&e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Unusable::Unavailable(format!(
            "SQLite refused WAL mode (it stayed in {mode})"
        )));
    }
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| unusable(&e))?;
    // A small page cache (in KiB when negative): history lives on disk, and the
    // tray's memory does not grow with it.
    connection
        .pragma_update(None, "cache_size", -1024)
        .map_err(|e| unusable(&e))?;
    let check: String = connection
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .map_err(|e| unusable(&e))?;
    if check != "ok" {
        return Err(Unusable::Broken(format!("SQLite's check found damage: {check}")));
    }
    migrations().to_latest(&mut connection).map_err(|e| match e {
        rusqlite_migration::Error::RusqliteError { err, .. } => unusable(&err),
        // A newer version's schema, or one this version does not know: kept as it is.
        other => Unusable::Unavailable(other.to_string()),
    })?;
    Ok(connection)
}

/// Makes the file readable only by its owner (and its WAL files, made beside it).
#[cfg(unix)]
fn owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_path: &Path) -> std::io::Result<()> {
    // Windows: the file is in the user's own profile folder, which only they read.
    Ok(())
}

impl HistoryStore {
    /// Opens the household's database at `path`, making its folder (owner-only) and
    /// the file as needed. A file that is broken (not a database, damaged) is set
    /// aside and a new one made ([`HistoryStore::warning`] says so). Errors
    /// ([`HistoryError::Unavailable`], the file left as it is): the folder cannot be
    /// made or written, the file is busy or unreadable, or its schema is newer than
    /// this version's.
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        let unavailable = |reason: String| HistoryError::Unavailable {
            path: path.display().to_string(),
            reason,
        };
        if let Some(folder) = path.parent() {
            make_private_folder(folder).map_err(|e| unavailable(e.to_string()))?;
        }
        let (connection, warning) = match open_file(path) {
            Ok(connection) => (connection, None),
            Err(Unusable::Unavailable(reason)) => return Err(unavailable(reason)),
            Err(Unusable::Broken(reason)) => {
                let aside = set_aside(path).map_err(|e| unavailable(e.to_string()))?;
                tracing::warn!(%reason, aside = %aside.display(), "the history database could not be used; set aside");
                let connection = open_file(path).map_err(|e| match e {
                    Unusable::Broken(reason) | Unusable::Unavailable(reason) => unavailable(reason),
                })?;
                let warning = format!(
                    "The history database could not be used ({reason}); it was set aside as {} and history is imported again.",
                    aside.display()
                );
                (connection, Some(warning))
            }
        };
        owner_only(path).map_err(|e| unavailable(e.to_string()))?;
        Ok(Self {
            path: Some(path.to_owned()),
            connection: Mutex::new(connection),
            warning,
        })
    }

    /// A database in memory (tests).
    pub fn in_memory() -> Result<Self, HistoryError> {
        let mut connection = Connection::open_in_memory()?;
        migrations()
            .to_latest(&mut connection)
            .map_err(|e| HistoryError::Database(e.to_string()))?;
        Ok(Self {
            path: None,
            connection: Mutex::new(connection),
            warning: None,
        })
    }

    /// Where the file is (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub(crate) fn with<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, HistoryError> {
        let mut connection = lock(&self.connection);
        work(&mut connection).map_err(|e| database_error(&e))
    }

    /// Stores `transactions` of `account_id`: new ones added, known ones (by Monzo's
    /// id) replaced, since Monzo changes a transaction after the fact (settled, a
    /// different amount, declined later). Returns how many were new.
    pub(crate) fn keep_transactions(
        &self,
        account_id: &str,
        transactions: &[Transaction],
    ) -> Result<usize, HistoryError> {
        self.with(|db| {
            let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let added = upsert(&tx, account_id, transactions)?;
            tx.commit()?;
            Ok(added)
        })
    }

    /// Stores an import page and where the import reads next, in one SQL
    /// transaction: a kill between them loses nothing and repeats nothing.
    pub(crate) fn keep_import_page(
        &self,
        account_id: &str,
        transactions: &[Transaction],
        next_since: Option<&str>,
        done: bool,
    ) -> Result<usize, HistoryError> {
        self.with(|db| {
            let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let added = upsert(&tx, account_id, transactions)?;
            tx.execute(
                "UPDATE accounts SET import_since = COALESCE(?2, import_since), import_done = ?3,
                    import_cut_sign_in = NULL WHERE account_id = ?1",
                params![account_id, next_since, done],
            )?;
            tx.commit()?;
            Ok(added)
        })
    }

    /// Deletes everything of the person `person_id`: their links to accounts, and
    /// the accounts (with their transactions, pots and balances) nobody else in the
    /// household shares.
    pub fn forget_person(&self, person_id: &str) -> Result<(), HistoryError> {
        self.with(|db| {
            let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM account_people WHERE person_id = ?1", [person_id])?;
            for table in ["transactions", "balances", "pots", "accounts"] {
                tx.execute(
                    &format!(
                        "DELETE FROM {table} WHERE account_id NOT IN (SELECT account_id FROM account_people)"
                    ),
                    [],
                )?;
            }
            tx.commit()
        })
    }

    /// The last value recorded for an account (`pot_id` "") or pot, in minor units.
    #[cfg(test)]
    pub(crate) fn last_balance(&self, account_id: &str, pot_id: &str) -> Result<Option<i64>, HistoryError> {
        self.with(|db| {
            db.query_row(
                "SELECT value FROM balances WHERE account_id = ?1 AND pot_id = ?2 ORDER BY at DESC LIMIT 1",
                params![account_id, pot_id],
                |row| row.get(0),
            )
            .optional()
        })
    }
}

fn upsert(
    tx: &rusqlite::Transaction<'_>,
    account_id: &str,
    transactions: &[Transaction],
) -> rusqlite::Result<usize> {
    let mut added = 0;
    let mut exists = tx.prepare_cached("SELECT 1 FROM transactions WHERE id = ?1")?;
    let mut write = tx.prepare_cached(
        "INSERT INTO transactions (id, account_id, created, settled, amount, currency, local_amount,
            local_currency, description, merchant, category, pot_id, declined, counterparty_account_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (id) DO UPDATE SET settled = excluded.settled, amount = excluded.amount,
            currency = excluded.currency, local_amount = excluded.local_amount,
            local_currency = excluded.local_currency, description = excluded.description,
            merchant = excluded.merchant, category = excluded.category, pot_id = excluded.pot_id,
            declined = excluded.declined, counterparty_account_id = excluded.counterparty_account_id",
    )?;
    for t in transactions {
        if !exists.exists([&t.id])? {
            added += 1;
        }
        let (local_amount, local_currency) = match &t.local_amount {
            Some(money) => (money.to_minor(), Some(money.currency().code().to_owned())),
            None => (None, None),
        };
        write.execute(params![
            t.id,
            account_id,
            stored_time(t.created),
            t.settled.map(stored_time),
            t.amount.to_minor(),
            t.amount.currency().code(),
            local_amount,
            local_currency,
            t.description,
            t.merchant,
            t.category,
            t.pot_id,
            t.declined,
            t.counterparty_account_id,
        ])?;
    }
    Ok(added)
}

/// Makes `folder` (and its parents) and, on Unix, makes it readable by its owner only.
fn make_private_folder(folder: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Renames the file (and its WAL files) out of the way; returns its new name.
fn set_aside(path: &Path) -> std::io::Result<PathBuf> {
    let stamp = Utc::now().format("%Y%m%dT%H%M%S");
    let aside = PathBuf::from(format!("{}.broken-{stamp}", path.display()));
    if path.exists() {
        std::fs::rename(path, &aside)?;
    }
    for suffix in ["-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::rename(&file, format!("{}{suffix}", aside.display()))?;
        }
    }
    Ok(aside)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_database_is_set_aside_and_a_new_one_made() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h_1").join(HISTORY_FILE);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"this is not SQLite, it is a shopping list".repeat(200)).unwrap();
        let store = HistoryStore::open(&path).unwrap();
        let warning = store.warning.clone().unwrap();
        assert!(warning.contains("set aside"), "{warning}");
        let aside: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".broken-"))
            .collect();
        assert_eq!(aside.len(), 1);
        assert_eq!(store.last_balance("acc_1", "").unwrap(), None);
        drop(store);
        // Opened again, the new file is good: no second setting aside.
        assert!(HistoryStore::open(&path).unwrap().warning.is_none());
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_its_owners_only_and_in_wal_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h_2").join(HISTORY_FILE);
        let store = HistoryStore::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let folder = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(folder, 0o700);
        let journal: String = store
            .with(|db| db.query_row("PRAGMA journal_mode", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(journal, "wal");
    }

    #[test]
    fn a_newer_schema_or_a_busy_file_is_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h_3").join(HISTORY_FILE);
        drop(HistoryStore::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = HistoryStore::open(&path).unwrap_err();
        assert!(matches!(err, HistoryError::Unavailable { .. }), "{err}");
        let aside = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".broken-"))
            .count();
        assert_eq!(aside, 0, "a newer version's history is never set aside");
    }

    #[test]
    fn the_schema_migrations_are_valid() {
        assert!(migrations().validate().is_ok());
    }
}
