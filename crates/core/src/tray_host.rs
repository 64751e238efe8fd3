//! What to tell a person whose desktop cannot show the tray icon, so the settings
//! window stands in for it (issue 13).
//!
//! On Linux a tray icon is a StatusNotifierItem, shown only where a panel hosts it
//! (the session bus then has `org.kde.StatusNotifierWatcher` with
//! `IsStatusNotifierHostRegistered` true). The desktops that have none by default:
//! - GNOME (stock Fedora and Debian): the "AppIndicator and KStatusNotifierItem
//!   Support" extension hosts it, packaged as `gnome-shell-extension-appindicator`
//!   on Debian, Ubuntu and Fedora (extensions.gnome.org/extension/615).
//! - Xfce: a panel needs its "Status Tray Plugin" (xfce4-panel's `systray`).
//! - Window managers such as sway or i3: a bar with a tray (waybar's `tray` module,
//!   i3bar's `tray_output`).

/// One sentence for the settings window when no tray host is there: why the window
/// is open, and what to do on this desktop. `current_desktop` is
/// `XDG_CURRENT_DESKTOP`, a colon-separated list such as `ubuntu:GNOME`; matched
/// case-insensitively.
pub fn no_tray_host_line(current_desktop: Option<&str>) -> String {
    let desktops: Vec<String> = current_desktop
        .unwrap_or_default()
        .split(':')
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    let is = |name: &str| desktops.iter().any(|d| d == name);
    let what_to_do = if is("gnome") || is("gnome-classic") || is("gnome-flashback") {
        "GNOME shows tray icons only with the AppIndicator extension: install \
         gnome-shell-extension-appindicator, turn it on in Extensions, and log in again."
    } else if is("xfce") {
        "add the Status Tray Plugin to an Xfce panel."
    } else if is("sway") || is("i3") || is("hyprland") {
        "add a tray to your bar (for example waybar's tray module)."
    } else {
        "add a system tray (a StatusNotifier host) to your panel."
    };
    format!(
        "This desktop has no system tray, so monzo-tray shows its balances in this \
         window; to see them in the tray, {what_to_do}"
    )
}

/// Records whether the tray icon can be seen (`None` while not known) and says
/// whether that is news. Receivers wake only on news: the answer is asked for again
/// every half minute, and a window that opens "because the tray went away" must not
/// open (and take the focus) again each time the same answer comes back.
pub fn record(seen: &tokio::sync::watch::Sender<Option<bool>>, shown: bool) -> bool {
    seen.send_if_modified(|known| {
        let news = *known != Some(shown);
        *known = Some(shown);
        news
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_same_answer_again_wakes_nobody() {
        let seen = tokio::sync::watch::Sender::new(None);
        let mut window = seen.subscribe();
        assert!(record(&seen, false), "first answer");
        assert!(window.has_changed().unwrap());
        window.borrow_and_update();
        for _ in 0..3 {
            assert!(!record(&seen, false));
        }
        assert!(
            !window.has_changed().unwrap(),
            "asked again, same answer: no news"
        );
        assert!(record(&seen, true), "the tray came");
        assert_eq!(*window.borrow_and_update(), Some(true));
    }

    #[test]
    fn gnome_in_any_position_names_the_appindicator_extension() {
        for desktop in ["GNOME", "ubuntu:GNOME", "GNOME-Classic:GNOME", "gnome"] {
            let line = no_tray_host_line(Some(desktop));
            assert!(
                line.contains("gnome-shell-extension-appindicator"),
                "{desktop}: {line}"
            );
            assert!(line.contains("AppIndicator extension"), "{line}");
        }
    }

    #[test]
    fn other_desktops_get_their_own_advice_and_unknown_ones_a_general_one() {
        assert!(no_tray_host_line(Some("XFCE")).contains("Status Tray Plugin"));
        assert!(no_tray_host_line(Some("sway")).contains("waybar"));
        for desktop in [None, Some(""), Some("LXQt"), Some("KDE")] {
            let line = no_tray_host_line(desktop);
            assert!(line.contains("StatusNotifier host"), "{desktop:?}: {line}");
            assert!(!line.contains("GNOME"), "{line}");
        }
    }

    #[test]
    fn the_line_is_one_line() {
        for desktop in [None, Some("GNOME"), Some("XFCE"), Some("sway")] {
            let line = no_tray_host_line(desktop);
            assert!(!line.contains('\n') && !line.contains("  "), "{line:?}");
            assert!(line.starts_with("This desktop has no system tray"), "{line}");
        }
    }
}
