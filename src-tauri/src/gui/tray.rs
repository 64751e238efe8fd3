//! The tray icon: renders the core's menu model, and re-renders it whenever the
//! snapshot changes (and every half minute, for "Updated 2 min ago").

use std::sync::Arc;
use std::time::Duration;

use monzo_tray_core::menu::{action, MenuEntry, TrayModel};
use monzo_tray_core::notifications::Notifier;
use monzo_tray_core::service::AppService;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_opener::OpenerExt;
use tokio::sync::broadcast;

use super::{notify, window, Shell};

pub const TRAY_ID: &str = "monzo-tray";

/// A label as the menu shows it: `&` marks a mnemonic in menu labels (muda), so a
/// literal one (a merchant "M&S", a person "Dana & Alex") is doubled.
fn literal(label: &str) -> String {
    label.replace('&', "&&")
}

/// One entry as a Tauri menu item (a submenu with its entries).
fn item(app: &AppHandle, entry: &MenuEntry) -> tauri::Result<Box<dyn IsMenuItem<Wry>>> {
    Ok(match entry {
        MenuEntry::Text { id, label } => Box::new(MenuItem::with_id(
            app,
            id.as_str(),
            literal(label),
            false,
            None::<&str>,
        )?),
        MenuEntry::Action { id, label } => Box::new(MenuItem::with_id(
            app,
            id.as_str(),
            literal(label),
            true,
            None::<&str>,
        )?),
        MenuEntry::Toggle { id, label, checked } => Box::new(CheckMenuItem::with_id(
            app,
            id.as_str(),
            literal(label),
            true,
            *checked,
            None::<&str>,
        )?),
        MenuEntry::Submenu { id, label, entries } => {
            let submenu = Submenu::with_id(app, id.as_str(), literal(label), true)?;
            for entry in entries {
                submenu.append(item(app, entry)?.as_ref())?;
            }
            Box::new(submenu)
        }
        MenuEntry::Separator => Box::new(PredefinedMenuItem::separator(app)?),
    })
}

fn build_menu(app: &AppHandle, model: &TrayModel) -> tauri::Result<Menu<Wry>> {
    let menu = Menu::new(app)?;
    for entry in &model.entries {
        menu.append(item(app, entry)?.as_ref())?;
    }
    Ok(menu)
}

pub fn create(app: &AppHandle, shell: &Shell) -> tauri::Result<()> {
    let model = shell.service.tray_model();
    let menu = build_menu(app, &model)?;
    let icon = Image::from_bytes(include_bytes!("../../../icons/tray.png"))?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon)
        .menu(&menu)
        .show_menu_on_left_click(true)
        .title(&model.title)
        .tooltip(&model.tooltip)
        .on_menu_event(on_menu_event)
        .build(app)?;
    Ok(())
}

/// Re-renders the tray from the current snapshot and settings.
pub fn render(app: &AppHandle, service: &AppService) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let model = service.tray_model();
    match build_menu(app, &model) {
        Ok(menu) => {
            if let Err(err) = tray.set_menu(Some(menu)) {
                tracing::warn!(%err, "could not update the tray menu");
            }
        }
        Err(err) => tracing::warn!(%err, "could not build the tray menu"),
    }
    let _ = tray.set_title(Some(&model.title));
    let _ = tray.set_tooltip(Some(&model.tooltip));
}

/// Follows the engine: every new snapshot re-renders the tray and may notify.
pub fn follow_snapshots(app: AppHandle, service: Arc<AppService>) {
    tauri::async_runtime::spawn(async move {
        let mut snapshots = service.changes().snapshot;
        // The first poll may have finished before we subscribed: take the current
        // snapshot as news, so the tray never waits for the next poll.
        snapshots.mark_changed();
        let mut notifier = Notifier::default();
        let mut push_status = service.push_status_changes();
        let mut new_transactions = service.new_transactions();
        loop {
            tokio::select! {
                changed = push_status.changed() => if changed.is_err() { break },
                received = new_transactions.recv() => {
                    let first = match received {
                        Ok(first) => first,
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => break,
                    };
                    // A poll announces its new transactions together: told as one group.
                    let mut batch = vec![first];
                    while let Ok(more) = new_transactions.try_recv() {
                        batch.push(more);
                    }
                    for notification in service.transaction_notifications(&batch) {
                        notify::show(notification);
                    }
                    continue;
                }
                changed = snapshots.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let snapshot = snapshots.borrow_and_update().clone();
                    for notification in service.snapshot_notifications(&mut notifier, &snapshot) {
                        notify::show(notification);
                    }
                }
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
            render(&app, &service);
        }
    });
}

fn on_menu_event(app: &AppHandle, event: MenuEvent) {
    let Some(shell) = app.try_state::<Shell>() else {
        return;
    };
    let service = shell.service.clone();
    match event.id().as_ref() {
        action::REFRESH => service.refresh_now(),
        action::HIDE_AMOUNTS => {
            let on = !service.privacy_mode();
            if let Err(err) = service.set_privacy(on) {
                tracing::warn!(%err, "could not save privacy mode");
            }
            render(app, &service);
            // The open window writes its amounts again, hidden or not.
            super::events::tell_window(app, super::events::SNAPSHOT_CHANGED);
        }
        action::SETTINGS => window::open_settings(app),
        action::HISTORY => window::open(app, window::Tab::History),
        action::QUIT => app.exit(0),
        id => {
            if let Some(person_id) = id.strip_prefix(action::RECONNECT_PREFIX) {
                let (app, person_id) = (app.clone(), person_id.to_owned());
                tauri::async_runtime::spawn(async move {
                    window::open_settings(&app);
                    match service.reconnect(&person_id).await {
                        Ok(started) => open_in_browser(&app, &started.authorize_url),
                        Err(err) => tracing::warn!(%err, "could not start reconnecting"),
                    }
                });
            }
        }
    }
}

/// Opens the system browser; where there is none, the settings window shows the
/// address to open by hand.
pub fn open_in_browser(app: &AppHandle, url: &str) {
    if let Err(err) = app.opener().open_url(url, None::<&str>) {
        tracing::warn!(%err, "could not open the browser; the settings window shows the address");
    }
}
