//! The last transaction seen per account, kept across restarts so nothing is
//! announced twice: `transactions-seen.json` beside the settings, written atomically
//! on each change (the demo keeps it in memory). A file that cannot be read costs
//! only the announcements of what happened while the app was not running.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::atomic_file;
use crate::sync::lock;

pub(crate) const SEEN_FILE: &str = "transactions-seen.json";

/// Where an account's transactions were last read up to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The last transaction seen (`tx_…`): the next read asks for what came after.
    pub id: String,
    /// When it was made: where to read from if Monzo no longer knows the id.
    pub created: DateTime<Utc>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SeenFile {
    #[serde(default)]
    accounts: BTreeMap<String, Cursor>,
}

pub struct SeenTransactions {
    path: Option<PathBuf>,
    cursors: Mutex<BTreeMap<String, Cursor>>,
}

impl SeenTransactions {
    /// Kept in memory only (the demo, tests).
    pub(crate) fn in_memory() -> Self {
        Self {
            path: None,
            cursors: Mutex::new(BTreeMap::new()),
        }
    }

    /// Kept in the file at `path` (read now).
    pub(crate) fn open(path: PathBuf) -> Self {
        atomic_file::remove_abandoned_temporaries(&path);
        let cursors = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<SeenFile>(&bytes) {
                Ok(file) => file.accounts,
                Err(err) => {
                    tracing::warn!(%err, path = %path.display(), "the transactions state could not be read; starting afresh");
                    BTreeMap::new()
                }
            },
            Err(_) => BTreeMap::new(),
        };
        Self {
            path: Some(path),
            cursors: Mutex::new(cursors),
        }
    }

    pub fn get(&self, account_id: &str) -> Option<Cursor> {
        lock(&self.cursors).get(account_id).cloned()
    }

    /// Moves an account's cursor on and saves. A failed save is logged: the cursor
    /// still holds in memory for this run.
    pub fn set(&self, account_id: &str, cursor: Cursor) {
        let mut cursors = lock(&self.cursors);
        if cursors.get(account_id) == Some(&cursor) {
            return;
        }
        cursors.insert(account_id.to_owned(), cursor);
        if let Some(path) = &self.path {
            let file = SeenFile {
                accounts: cursors.clone(),
            };
            let written = serde_json::to_vec_pretty(&file)
                .map_err(std::io::Error::other)
                .and_then(|bytes| atomic_file::write(path, &bytes));
            if let Err(err) = written {
                tracing::warn!(%err, path = %path.display(), "could not save the transactions state");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_survive_a_restart_and_a_broken_file_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SEEN_FILE);
        let cursor = Cursor {
            id: "tx_1".into(),
            created: Utc::now(),
        };
        SeenTransactions::open(path.clone()).set("acc_1", cursor.clone());
        assert_eq!(SeenTransactions::open(path.clone()).get("acc_1"), Some(cursor));
        std::fs::write(&path, "{ not json").unwrap();
        assert_eq!(SeenTransactions::open(path).get("acc_1"), None);
        assert_eq!(SeenTransactions::in_memory().get("acc_1"), None);
    }
}
