//! Advisory locks between the processes of one household (the tray app, `headless`,
//! and the one-shot commands beside them): who may change `settings.json`, who may
//! refresh or store a person's tokens, and which one process runs the engine.
//!
//! The standard library's `File::lock` family (`flock` on Unix, `LockFileEx` on
//! Windows; stable since Rust 1.89, so no crate is needed for it). The operating
//! system releases a lock when its holder exits, however it exits, so a killed
//! process never leaves the household locked. Lock files hold nothing: on Windows a
//! locked range cannot be read by others, so what the engine's holder says about
//! itself goes in a file beside its lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct FileLock {
    _file: File,
}

/// How often a held lock is tried again: locks are held for a file write or a token
/// refresh, so a waiter is never kept long past the release.
const RETRY_EVERY: Duration = Duration::from_millis(10);

fn open(path: &Path) -> Result<File> {
    let io_error = |source| Error::LockIo {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_error)?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_error)
}

impl FileLock {
    /// The lock at `path` if nobody holds it, else `None`. The file (and its folder)
    /// is made if missing.
    ///
    /// Errors: [`Error::LockIo`] when the file cannot be opened or locked.
    pub(crate) fn try_acquire(path: &Path) -> Result<Option<FileLock>> {
        let file = open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(source)) => Err(Error::LockIo {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Waits (blocking the thread) until the lock at `path` is free, at most
    /// `timeout`. For short critical sections (a settings write).
    ///
    /// Errors: [`Error::LockIo`]; [`Error::Busy`] after `timeout`, naming `what`.
    pub(crate) fn acquire_blocking(path: &Path, what: &'static str, timeout: Duration) -> Result<FileLock> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(lock) = Self::try_acquire(path)? {
                return Ok(lock);
            }
            if Instant::now() >= deadline {
                return Err(busy(path, what, timeout));
            }
            std::thread::sleep(RETRY_EVERY);
        }
    }

    /// Waits (asynchronously) until the lock at `path` is free, at most `timeout`.
    ///
    /// Errors: as [`Self::acquire_blocking`].
    pub(crate) async fn acquire(path: &Path, what: &'static str, timeout: Duration) -> Result<FileLock> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(lock) = Self::try_acquire(path)? {
                return Ok(lock);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(busy(path, what, timeout));
            }
            tokio::time::sleep(RETRY_EVERY).await;
        }
    }
}

fn busy(path: &Path, what: &'static str, timeout: Duration) -> Error {
    Error::Busy {
        what,
        seconds: timeout.as_secs(),
        path: path.display().to_string(),
    }
}

/// The one engine of a household: held by the tray app or `headless` for as long as
/// it runs, so a second one is refused (refresh tokens rotate, and two engines would
/// announce every transaction twice).
#[derive(Debug)]
pub struct EngineLock {
    _lock: FileLock,
    owner_file: PathBuf,
}

/// File names in the locks folder.
const ENGINE_LOCK: &str = "engine.lock";
const ENGINE_OWNER: &str = "engine.owner";

impl EngineLock {
    /// Takes the engine of the household whose settings are in `config_dir`, as
    /// `role` ("the tray app", "monzo-tray headless").
    ///
    /// Errors: [`Error::EngineRunning`] naming the process that has it (its id and
    /// role); [`Error::LockIo`].
    pub(crate) fn hold(config_dir: &Path, role: &str) -> Result<EngineLock> {
        let locks = config_dir.join(crate::settings::LOCKS_DIR);
        let owner_file = locks.join(ENGINE_OWNER);
        match FileLock::try_acquire(&locks.join(ENGINE_LOCK))? {
            Some(lock) => {
                let about = format!("{}\n{role}\n", std::process::id());
                if let Err(err) = crate::atomic_file::write(&owner_file, about.as_bytes()) {
                    // Only the sentence a second engine prints is poorer for it.
                    tracing::warn!(%err, "could not note which process runs the engine");
                }
                Ok(EngineLock {
                    _lock: lock,
                    owner_file,
                })
            }
            None => {
                let about = std::fs::read_to_string(&owner_file).unwrap_or_default();
                let mut lines = about.lines();
                let pid = lines.next().and_then(|p| p.trim().parse().ok());
                let role = lines
                    .next()
                    .map(|r| r.trim().chars().filter(|c| !c.is_control()).collect::<String>())
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| "another monzo-tray".to_owned());
                Err(Error::EngineRunning { pid, role })
            }
        }
    }
}

impl Drop for EngineLock {
    fn drop(&mut self) {
        // Removed while the lock is still held: a new holder writes its own.
        let _ = std::fs::remove_file(&self.owner_file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_refused_until_dropped_even_within_one_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks/x.lock");
        let held = FileLock::try_acquire(&path).unwrap().expect("free at first");
        assert!(FileLock::try_acquire(&path).unwrap().is_none());
        let err = FileLock::acquire_blocking(&path, "the settings", Duration::from_millis(50)).unwrap_err();
        assert!(matches!(err, Error::Busy { .. }), "{err:?}");
        drop(held);
        assert!(FileLock::try_acquire(&path).unwrap().is_some());
    }

    #[tokio::test]
    async fn a_waiter_gets_the_lock_once_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.lock");
        let held = FileLock::try_acquire(&path).unwrap().unwrap();
        let waiter = {
            let path = path.clone();
            tokio::spawn(async move { FileLock::acquire(&path, "a sign-in", Duration::from_secs(10)).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        drop(held);
        assert!(waiter.await.unwrap().is_ok());
    }

    #[test]
    fn a_second_engine_is_told_who_runs_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = EngineLock::hold(dir.path(), "monzo-tray headless").unwrap();
        let err = EngineLock::hold(dir.path(), "the tray app").unwrap_err();
        match &err {
            Error::EngineRunning { pid, role } => {
                assert_eq!(*pid, Some(std::process::id()));
                assert_eq!(role, "monzo-tray headless");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains(&std::process::id().to_string()), "{err}");
        drop(first);
        assert!(EngineLock::hold(dir.path(), "the tray app").is_ok());
    }
}
