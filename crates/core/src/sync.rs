//! Locks that survive a panic elsewhere. A mutex is poisoned when a thread panics
//! holding it; what it guards here (caches, settings, statuses) stays usable, and one
//! panicking task must not take the app down with it, so the guard is taken anyway.

use std::sync::{Mutex, MutexGuard};

/// The guard of `mutex`, poisoned or not.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
