//! The desktop app: a tray icon whose menu shows every balance, and a settings window
//! made on demand. All Monzo work is the core engine's; this wires it to Tauri.

mod commands;
mod events;
// Giving back the closed window's memory works through /proc, kill(2) and glibc's
// malloc_trim. Elsewhere nothing is done: WKWebView (macOS) and WebView2 (Windows)
// own and end their helper processes themselves.
#[cfg(target_os = "linux")]
mod memory;
mod notify;
// The screen lock is followed over the session bus. Elsewhere polling goes on while
// the screen is locked (macOS and Windows announce a lock through their own
// notifications, not followed yet).
#[cfg(target_os = "linux")]
mod screen_lock;
mod tray;
mod tray_host;
pub(crate) mod window;
mod without_tray;

use std::sync::Arc;

use crate::cli::Places;
use anyhow::Context as _;
use tauri::{Manager, RunEvent};
use tauri_plugin_autostart::MacosLauncher;

use crate::context::AppContext;
use monzo_tray_core::service::AppService;

/// Whether a graphical session is there to show a tray in: an X11 or Wayland
/// display where there are such things; a Windows or macOS desktop always (neither
/// sets DISPLAY, and an app started from the Finder or the Start menu has no
/// terminal to print to).
pub fn display_available() -> bool {
    cfg!(any(windows, target_os = "macos"))
        || ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()))
}

/// What the Tauri side keeps: the core's façade, the one road to the engine.
pub struct Shell {
    pub service: Arc<AppService>,
    /// What must outlive the façade (the demo's embedded sandbox).
    _kept: crate::context::Kept,
    stop: monzo_tray_core::background::Stop,
    /// Polling and pushing; waited for at exit, so no rotated token is lost. It
    /// returns the people whose rotated tokens the keyring could not take.
    background: std::sync::Mutex<Option<tauri::async_runtime::JoinHandle<Vec<String>>>>,
    /// This process runs the household's one engine (`None` in the demo).
    engine_lock: std::sync::Mutex<Option<monzo_tray_core::file_lock::EngineLock>>,
    /// Whether the tray icon can be seen; without it the settings window stands in.
    pub tray_host: tray_host::TrayHost,
}

/// How long quitting waits for polling and pushing to stop. A poll under way is
/// given up at once; a token refresh under way is not (its rotated tokens must
/// reach the keyring): at most its retry budget (10 s) and two keyring writes
/// (5 s each, `secrets::DEFAULT_KEYRING_TIMEOUT`). A push under way ends within
/// its own time limit, less than that.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(22);

/// The settings window is one plain document: WebKitGTK's accelerated compositing
/// buys it nothing and costs, under software GL, memory in the web process and CPU
/// in the open, idle window (the README's Performance section has the figures, and
/// `scripts/bench.sh` measures them). A value the person set wins.
/// Other platforms' webviews have no such switch.
fn use_plain_webkit_rendering() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        // Called first thing in `run`, before any thread is started, as
        // `set_var` requires.
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}

/// Which tab the window opens on at start, if it opens: `--history`, `--settings`.
pub fn opening(settings: bool, history: bool) -> Option<window::Tab> {
    match (settings, history) {
        (_, true) => Some(window::Tab::History),
        (true, false) => Some(window::Tab::Settings),
        (false, false) => None,
    }
}

pub fn run(places: &Places, demo: bool, open_at_start: Option<window::Tab>) -> anyhow::Result<()> {
    use_plain_webkit_rendering();
    let context = tauri::async_runtime::block_on(async {
        if demo {
            crate::demo::context(places.redirect_port).await
        } else {
            AppContext::open(places).await
        }
    })?;
    let (service, kept) = context.into_service();
    let service = Arc::new(service);
    let stop = monzo_tray_core::background::Stop::new();
    let stopped = stop.clone();
    // First run: nobody to show yet, so the window opens saying where to start.
    let first_run = !demo && service.people().is_empty();
    let shell = Shell {
        service,
        _kept: kept,
        stop,
        background: std::sync::Mutex::new(None),
        engine_lock: std::sync::Mutex::new(None),
        tray_host: tray_host::follow(),
    };

    let app = tauri::Builder::default()
        // First, so a second launch is caught before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            // A second launch opens the window here, on History when it asked.
            let tab = if argv.iter().any(|a| a == "--history") {
                window::Tab::History
            } else {
                window::Tab::Settings
            };
            window::open(app, tab)
        }))
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_autostart::init(MacosLauncher::LaunchAgent, None))
        .invoke_handler(commands::handler())
        .setup(move |app| {
            // A menu bar app on macOS has no Dock icon.
            #[cfg(target_os = "macos")]
            app.set_activation_policy(tauri::ActivationPolicy::Accessory);
            // After the single-instance check (a second tray app hands over to the
            // first): one engine per household, so not beside `headless` either.
            *monzo_tray_core::sync::lock(&shell.engine_lock) = shell.service.hold_engine("the tray app")?;
            let running = tauri::async_runtime::spawn(shell.service.run_background(stopped));
            *monzo_tray_core::sync::lock(&shell.background) = Some(running);
            tray::create(app.handle(), &shell)?;
            tray::follow_snapshots(app.handle().clone(), shell.service.clone());
            events::forward(app.handle().clone(), shell.service.clone());
            without_tray::follow(app.handle().clone(), shell.tray_host.clone());
            #[cfg(target_os = "linux")]
            screen_lock::follow(shell.service.clone());
            app.manage(shell);
            match (open_at_start, first_run) {
                (Some(tab), _) => window::open(app.handle(), tab),
                (None, true) => window::open_settings(app.handle()),
                (None, false) => {}
            }
            Ok(())
        })
        .build(tauri::generate_context!())
        .context("could not start the desktop app")?;
    app.run(|app, event| match event {
        // Closing the settings window must not quit: the tray lives on.
        RunEvent::ExitRequested { api, code: None, .. } => api.prevent_exit(),
        RunEvent::WindowEvent {
            label,
            event: tauri::WindowEvent::CloseRequested { api, .. },
            ..
        } if label == window::SETTINGS => {
            if let Some(shell) = app.try_state::<Shell>() {
                without_tray::on_close_requested(app, &shell.tray_host, &api);
            }
        }
        #[cfg(target_os = "linux")]
        RunEvent::WindowEvent {
            label,
            event: tauri::WindowEvent::Destroyed,
            ..
        } if label == window::SETTINGS => memory::after_settings_closed(app),
        RunEvent::Exit => {
            if let Some(shell) = app.try_state::<Shell>() {
                shell.stop.cancel();
                let running = monzo_tray_core::sync::lock(&shell.background).take();
                if let Some(running) = running {
                    // A refresh under way finishes and its tokens are saved first.
                    let stopped = tauri::async_runtime::block_on(tokio::time::timeout(STOP_WAIT, running));
                    match stopped {
                        Err(_) => tracing::warn!("polling did not stop in time; quitting anyway"),
                        Ok(Ok(lost)) if !lost.is_empty() => tracing::error!(
                            people = %lost.join(", "),
                            "the keyring could not store a refreshed sign-in; these people must sign in again"
                        ),
                        Ok(_) => {}
                    }
                }
            }
        }
        _ => {}
    });
    Ok(())
}
