//! Giving back what the settings window took once it is closed. Destroying the
//! webview alone leaves two things behind (measured in `tests/benches/footprint.rs`):
//! WebKit's network process, which WebKitGTK keeps for the next webview and never
//! ends by itself, and freed heap that glibc keeps for reuse. So a moment after the
//! window is gone, if none has been opened since, the network process is ended
//! (WebKit starts a new one when the next window needs it) and the heap trimmed.

use std::time::Duration;

use tauri::{AppHandle, Manager};

use super::window::SETTINGS;

/// Long enough for WebKit to finish tearing the webview down.
const SETTLE: Duration = Duration::from_secs(2);

/// The name the kernel gives WebKit's network process (`comm`, 15 characters).
const NETWORK_PROCESS: &str = "WebKitNetworkPr";

pub fn after_settings_closed(app: &AppHandle) {
    let app = app.clone();
    std::thread::spawn(move || {
        std::thread::sleep(SETTLE);
        if app.get_webview_window(SETTINGS).is_some() {
            return;
        }
        let ended = end_network_processes();
        trim_heap();
        tracing::debug!(ended, "gave back the settings window's memory");
    });
}

/// Our child processes (WebKit starts its helpers as direct children).
fn children() -> Vec<(i32, String)> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let pid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid ...": comm may hold spaces, so split at the last ')'.
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1.to_owned();
            let ppid = rest.split_whitespace().nth(1)?;
            (ppid == me).then_some((pid, comm))
        })
        .collect()
}

fn end_network_processes() -> usize {
    let mut ended = 0;
    for (pid, comm) in children() {
        if comm == NETWORK_PROCESS {
            // SAFETY: kill(2) with a pid read from /proc and SIGTERM has no memory
            // effects; at worst the process is already gone and it fails with ESRCH.
            if unsafe { libc::kill(pid, libc::SIGTERM) } == 0 {
                ended += 1;
            }
        }
    }
    ended
}

fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free pages of glibc's heap to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}
