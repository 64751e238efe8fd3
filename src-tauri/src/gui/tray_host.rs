//! Whether the tray icon can be seen at all. On Linux a tray icon is a
//! StatusNotifierItem, shown only if a panel hosts it: the session bus then has
//! `org.kde.StatusNotifierWatcher`, whose `IsStatusNotifierHostRegistered` is true.
//! Stock GNOME (Fedora, Debian) has none without the AppIndicator extension, and the
//! app would be invisible. Followed at start and whenever the watcher comes, goes or
//! says a host registered, and asked again every [`linux::RECHECK`].
//!
//! On X11 there is a second way: with no StatusNotifier host, libayatana-appindicator
//! falls back to an XEmbed icon (`GtkStatusIcon`), shown by an XEmbed system tray
//! (trayer, stalonetray, i3bar, older Xfce and LXDE panels), which owns the X
//! selection `_NET_SYSTEM_TRAY_S<screen>` (freedesktop System Tray Protocol). That
//! counts as a tray too. Under Wayland GTK draws no XEmbed icons, so it does not.
//!
//! macOS (the menu bar) and Windows (the notification area) always show tray icons:
//! there the answer is always yes.

use tokio::sync::watch;

/// `Some(true)`: the tray icon is shown; `Some(false)`: nothing shows it; `None`:
/// not known yet.
pub type TrayHost = watch::Receiver<Option<bool>>;

#[cfg(not(target_os = "linux"))]
pub fn follow() -> TrayHost {
    watch::Sender::new(Some(true)).subscribe()
}

#[cfg(target_os = "linux")]
pub fn follow() -> TrayHost {
    let (sender, receiver) = watch::channel(None);
    tauri::async_runtime::spawn(async move {
        if let Err(err) = linux::watch(&sender).await {
            // No session bus: no StatusNotifier host either; an XEmbed tray may be.
            let shown = xembed::tray_present().await;
            tracing::info!(%err, shown, "no session bus; an XEmbed tray shows the icon: {shown}");
            monzo_tray_core::tray_host::record(&sender, shown);
        }
    });
    receiver
}

#[cfg(target_os = "linux")]
mod linux {
    use std::time::Duration;

    use futures::StreamExt;
    use tokio::sync::watch;
    use zbus::fdo::DBusProxy;
    use zbus::proxy::CacheProperties;

    use super::xembed;

    const WATCHER: &str = "org.kde.StatusNotifierWatcher";

    /// Asked again this often anyway: a watcher that registers its host without a
    /// signal, and an XEmbed tray (whose coming and going sends us nothing), are
    /// still seen.
    pub const RECHECK: Duration = Duration::from_secs(30);

    async fn host_registered(connection: &zbus::Connection) -> bool {
        let proxy = zbus::proxy::Builder::<zbus::Proxy>::new(connection)
            .destination(WATCHER)
            .and_then(|b| b.path("/StatusNotifierWatcher"))
            .and_then(|b| b.interface(WATCHER))
            .map(|b| b.cache_properties(CacheProperties::No));
        let Ok(builder) = proxy else { return false };
        let Ok(proxy) = builder.build().await else {
            return false;
        };
        proxy
            .get_property::<bool>("IsStatusNotifierHostRegistered")
            .await
            .unwrap_or(false)
    }

    pub async fn watch(sender: &watch::Sender<Option<bool>>) -> zbus::Result<()> {
        let connection = zbus::Connection::session().await?;
        let bus = DBusProxy::new(&connection).await?;
        // Only the watcher's own comings and goings, not every client of the bus.
        let mut owners = bus.receive_name_owner_changed_with_args(&[(0, WATCHER)]).await?;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(WATCHER)?
            .build();
        let mut signals = zbus::MessageStream::for_match_rule(rule, &connection, None).await?;
        loop {
            let shown = host_registered(&connection).await || xembed::tray_present().await;
            if monzo_tray_core::tray_host::record(sender, shown) {
                tracing::info!(shown, "the tray icon can be seen: {shown}");
            }
            tokio::select! {
                changed = owners.next() => {
                    if changed.is_none() {
                        return Ok(());
                    }
                }
                _ = signals.next() => {}
                _ = tokio::time::sleep(RECHECK) => {}
            }
        }
    }
}

#[cfg(target_os = "linux")]
mod xembed {
    use std::ffi::CString;

    use x11_dl::xlib::{False, Xlib};

    /// Whether GTK draws to X11 here: `GDK_BACKEND` says so, or there is no Wayland
    /// display to prefer (GTK's own order).
    fn gtk_on_x11() -> bool {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        let backend = std::env::var("GDK_BACKEND").unwrap_or_default();
        set("DISPLAY") && (backend.starts_with("x11") || !set("WAYLAND_DISPLAY"))
    }

    /// Whether an XEmbed system tray owns `_NET_SYSTEM_TRAY_S<screen>` on the display
    /// GTK uses. libX11 is loaded at run time (x11-dl); without it, no.
    pub async fn tray_present() -> bool {
        if !gtk_on_x11() {
            return false;
        }
        tauri::async_runtime::spawn_blocking(selection_owned)
            .await
            .unwrap_or(false)
    }

    fn selection_owned() -> bool {
        let Ok(xlib) = Xlib::open() else {
            return false;
        };
        // SAFETY: plain Xlib calls on a display connection opened here and closed
        // before returning; the atom name is a valid NUL-terminated string that
        // outlives the call. XGetSelectionOwner raises no X error for an atom made
        // by XInternAtom, so Xlib's default error handler (which exits) is not met.
        unsafe {
            let display = (xlib.XOpenDisplay)(std::ptr::null());
            if display.is_null() {
                return false;
            }
            let screen = (xlib.XDefaultScreen)(display);
            let owned = CString::new(format!("_NET_SYSTEM_TRAY_S{screen}")).is_ok_and(|name| {
                let atom = (xlib.XInternAtom)(display, name.as_ptr(), False);
                (xlib.XGetSelectionOwner)(display, atom) != 0
            });
            (xlib.XCloseDisplay)(display);
            owned
        }
    }
}
