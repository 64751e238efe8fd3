//! Files that must never be left half-written: settings and the transactions state.
//! A crash during a write leaves either the old file or the new one (temporary
//! file, fsync, rename, fsync of the folder), and a file set aside never replaces an
//! earlier one.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically, creating its folder if needed. The
/// temporary files of writers that died mid-write are removed first.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    remove_abandoned_temporaries(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        replace(&tmp, path)?;
        // Make the rename itself durable.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Renames `from` over `to`. On Windows that fails with "Access denied" while another
/// program has `to` open: one that did not allow it to be deleted (a virus scanner,
/// an editor), or anyone at all on a file system without POSIX rename semantics
/// (FAT, network shares, Wine), such as another monzo-tray reading the settings.
/// They hold it for moments, so the rename is tried again for a while.
#[cfg(windows)]
fn replace(from: &Path, to: &Path) -> std::io::Result<()> {
    const PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);
    let started = std::time::Instant::now();
    loop {
        match std::fs::rename(from, to) {
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && started.elapsed() < PATIENCE => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            done => return done,
        }
    }
}

/// Elsewhere a rename replaces an open file (its readers keep the old one).
#[cfg(not(windows))]
fn replace(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::rename(from, to)
}

/// A writer finishes its temporary file within milliseconds: one this old was
/// abandoned, whatever its process id says (ids are reused).
const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// Removes the temporary files `write` left beside `path` when its process was
/// killed between creating and renaming one (`.<name>.<pid>.tmp`): those of a
/// process that is gone (on Linux, no `/proc/<pid>`), and any older than
/// [`ABANDONED_AFTER`]. A writer still at work keeps its own. Failures are
/// ignored: a stray file costs a few bytes, never the settings.
pub(crate) fn remove_abandoned_temporaries(path: &Path) {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let prefix = format!(".{name}.");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file_name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > ABANDONED_AFTER);
        if old || process_gone(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(target_os = "linux")]
fn process_gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// Elsewhere only the age tells (see `ABANDONED_AFTER`).
#[cfg(not(target_os = "linux"))]
fn process_gone(_pid: u32) -> bool {
    false
}

/// Moves `path` aside to `<name>.<label>-<UTC time to the nanosecond>`, with `-2`,
/// `-3`, … if that name is taken: an earlier backup is never overwritten (a hard
/// link fails rather than replace). Returns where it went.
pub(crate) fn set_aside(path: &Path, label: &str) -> std::io::Result<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.9fZ");
    set_aside_as(path, &format!("{name}.{label}-{stamp}"))
}

fn set_aside_as(path: &Path, base: &str) -> std::io::Result<PathBuf> {
    for n in 1u32.. {
        let candidate = match n {
            1 => path.with_file_name(base),
            n => path.with_file_name(format!("{base}-{n}")),
        };
        match std::fs::hard_link(path, &candidate) {
            Ok(()) => {
                std::fs::remove_file(path)?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free name to set the file aside"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A killed writer's temporary file goes; so does an old one of any process; a
    /// live writer's stays; other files are never touched.
    #[test]
    fn abandoned_temporaries_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        // A process that has ended: this test program, run again to list its tests
        // (a program every platform has).
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--list")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let dead_tmp = dir.path().join(format!(".settings.json.{dead}.tmp"));
        let own_tmp = dir
            .path()
            .join(format!(".settings.json.{}.tmp", std::process::id()));
        let other = dir.path().join(".other.json.1.tmp");
        // Process 1 never ends on Linux (and elsewhere no process is looked up), so
        // only its age can tell this one was abandoned.
        let old_tmp = dir.path().join(".settings.json.1.tmp");
        for file in [&dead_tmp, &own_tmp, &other, &old_tmp] {
            std::fs::write(file, b"{").unwrap();
        }
        let long_ago = std::time::SystemTime::now() - 2 * ABANDONED_AFTER;
        std::fs::File::options()
            .write(true)
            .open(&old_tmp)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        remove_abandoned_temporaries(&path);
        if cfg!(target_os = "linux") {
            assert!(!dead_tmp.exists(), "the killed writer's file");
        }
        assert!(!old_tmp.exists(), "a file older than any write takes");
        assert!(own_tmp.exists(), "a live writer's file");
        assert!(other.exists(), "not ours");
    }

    #[test]
    fn writes_replace_and_backups_never_overwrite_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        write(&path, b"one").unwrap();
        write(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let first = set_aside(&path, "broken").unwrap();
        write(&path, b"three").unwrap();
        let second = set_aside(&path, "broken").unwrap();
        assert_ne!(first, second);
        assert_eq!(std::fs::read(&first).unwrap(), b"two");
        assert_eq!(std::fs::read(&second).unwrap(), b"three");
        assert!(!path.exists());
        // Nothing else left in the folder: no temporary files.
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 2);

        // Two backups made at the same moment keep both.
        write(&path, b"four").unwrap();
        let a = set_aside_as(&path, "state.json.broken-same").unwrap();
        write(&path, b"five").unwrap();
        let b = set_aside_as(&path, "state.json.broken-same").unwrap();
        assert!(b.to_string_lossy().ends_with("broken-same-2"), "{}", b.display());
        assert_eq!(std::fs::read(&a).unwrap(), b"four");
        assert_eq!(std::fs::read(&b).unwrap(), b"five");
    }
}
