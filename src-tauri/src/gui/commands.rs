//! The settings window's commands: each one line into the core service. They return
//! redacted views only; errors reach the UI as `{code, message}`.

use monzo_tray_core::pots::Direction;
use monzo_tray_core::service::{
    HistoryRange, HistoryView, HomeAssistantView, MonthDetail, MoveDoneView, PersonView, PlannedMoveView,
    PushStatusView, SettingsView, SignInStarted, SignInStatus, SpendingView, StateLineView,
};
use monzo_tray_core::settings::HaTransport;
use serde::Serialize;
use tauri::{AppHandle, State, Wry};
use tauri_plugin_autostart::ManagerExt;

use super::without_tray::{self, TrayHostView};
use super::{tray, Shell};

/// What a failed command gives the UI: a stable code to switch on and a sentence.
#[derive(Debug, Serialize)]
pub struct CommandError {
    code: String,
    message: String,
}

impl From<monzo_tray_core::Error> for CommandError {
    fn from(err: monzo_tray_core::Error) -> Self {
        Self {
            code: err.code().to_owned(),
            message: err.to_string(),
        }
    }
}

type Result<T> = std::result::Result<T, CommandError>;

#[tauri::command]
fn people(shell: State<'_, Shell>) -> Vec<PersonView> {
    shell.service.people()
}

/// Each person's state line as of now: the window moves "updated 2 min ago" on
/// with this.
#[tauri::command]
fn state_lines(shell: State<'_, Shell>) -> Vec<StateLineView> {
    shell.service.state_lines()
}

#[tauri::command]
fn settings(shell: State<'_, Shell>) -> SettingsView {
    shell.service.settings()
}

#[tauri::command]
async fn add_person(
    app: AppHandle,
    shell: State<'_, Shell>,
    name: String,
    client_id: String,
    client_secret: String,
) -> Result<SignInStarted> {
    let started = shell
        .service
        .add_person(&name, &client_id, &client_secret)
        .await?;
    tray::open_in_browser(&app, &started.authorize_url);
    Ok(started)
}

#[tauri::command]
async fn reconnect(app: AppHandle, shell: State<'_, Shell>, person_id: String) -> Result<SignInStarted> {
    let started = shell.service.reconnect(&person_id).await?;
    tray::open_in_browser(&app, &started.authorize_url);
    Ok(started)
}

#[tauri::command]
async fn paste_redirect(shell: State<'_, Shell>, input: String) -> Result<()> {
    Ok(shell.service.paste_redirect(&input).await?)
}

#[tauri::command]
fn sign_in_status(shell: State<'_, Shell>) -> SignInStatus {
    shell.service.sign_in_status()
}

#[tauri::command]
fn check_approval(shell: State<'_, Shell>) -> SignInStatus {
    shell.service.check_approval()
}

#[tauri::command]
async fn remove_person(shell: State<'_, Shell>, person_id: String) -> Result<()> {
    Ok(shell.service.remove_person(&person_id).await?)
}

#[tauri::command]
fn set_poll_interval(shell: State<'_, Shell>, seconds: u64) -> Result<()> {
    Ok(shell.service.set_poll_interval(seconds)?)
}

#[tauri::command]
fn set_keep_history(shell: State<'_, Shell>, person_id: String, on: bool) -> Result<()> {
    Ok(shell.service.set_keep_history(&person_id, on)?)
}

#[tauri::command]
fn set_transaction_notifications(shell: State<'_, Shell>, person_id: String, on: bool) -> Result<()> {
    Ok(shell.service.set_transaction_notifications(&person_id, on)?)
}

#[tauri::command]
fn plan_pot_move(
    shell: State<'_, Shell>,
    person_id: String,
    pot: String,
    direction: Direction,
    amount: String,
) -> Result<PlannedMoveView> {
    Ok(shell
        .service
        .plan_pot_move(&person_id, &pot, direction, &amount)?)
}

#[tauri::command]
async fn confirm_pot_move(shell: State<'_, Shell>, id: String) -> Result<MoveDoneView> {
    Ok(shell.service.confirm_pot_move(&id).await?)
}

#[tauri::command]
fn cancel_pot_move(shell: State<'_, Shell>, id: String) {
    shell.service.cancel_pot_move(&id);
}

#[tauri::command]
fn set_privacy(app: AppHandle, shell: State<'_, Shell>, on: bool) -> Result<()> {
    shell.service.set_privacy(on)?;
    tray::render(&app, &shell.service);
    // Every amount the window shows is written again, hidden or not.
    super::events::tell_window(&app, super::events::SNAPSHOT_CHANGED);
    Ok(())
}

#[tauri::command]
fn set_low_balance_alert(shell: State<'_, Shell>, account_id: String, amount: String) -> Result<()> {
    Ok(shell.service.set_low_balance_alert(&account_id, &amount)?)
}

#[tauri::command]
async fn home_assistant(shell: State<'_, Shell>) -> Result<HomeAssistantView> {
    Ok(shell.service.home_assistant().await)
}

/// How the push stands, without reading the keyring (the window asks on every
/// push-status event).
#[tauri::command]
fn push_status(shell: State<'_, Shell>) -> PushStatusView {
    shell.service.push_status_view()
}

#[tauri::command]
async fn test_home_assistant(
    shell: State<'_, Shell>,
    transport: HaTransport,
    url: String,
    token: String,
) -> Result<String> {
    Ok(shell.service.test_home_assistant(transport, &url, &token).await?)
}

#[tauri::command]
async fn save_home_assistant(
    shell: State<'_, Shell>,
    transport: HaTransport,
    url: String,
    token: String,
    enabled: bool,
) -> Result<()> {
    Ok(shell
        .service
        .save_home_assistant(transport, &url, &token, enabled)
        .await?)
}

/// The History view's balances (`range`: 1m, 3m, 1y or all).
#[tauri::command]
async fn history_view(shell: State<'_, Shell>, person: Option<String>, range: String) -> Result<HistoryView> {
    let range = HistoryRange::parse(&range)?;
    Ok(shell.service.history_view(person.as_deref(), range)?)
}

/// The History view's spending bars, the last `months` months.
#[tauri::command]
async fn spending_view(shell: State<'_, Shell>, person: Option<String>, months: u32) -> Result<SpendingView> {
    Ok(shell.service.spending_view(person.as_deref(), months)?)
}

/// A month's biggest merchants and transactions (`month`: YYYY-MM).
#[tauri::command]
async fn spending_month(
    shell: State<'_, Shell>,
    person: Option<String>,
    month: String,
) -> Result<MonthDetail> {
    Ok(shell.service.spending_month(person.as_deref(), &month)?)
}

#[tauri::command]
async fn save_statistics_link(shell: State<'_, Shell>, url: String, token: String) -> Result<String> {
    Ok(shell.service.save_statistics_link(&url, &token).await?)
}

#[tauri::command]
fn refresh_now(shell: State<'_, Shell>) {
    shell.service.refresh_now();
}

#[tauri::command]
fn autostart(app: AppHandle) -> bool {
    app.autolaunch().is_enabled().unwrap_or(false)
}

#[tauri::command]
fn set_autostart(app: AppHandle, on: bool) -> Result<()> {
    let manager = app.autolaunch();
    let result = if on { manager.enable() } else { manager.disable() };
    result.map_err(|err| CommandError {
        code: "autostart".into(),
        message: format!("Could not change start at login: {err}"),
    })
}

/// Whether the tray icon can be seen, and if not, the line saying why and what to do.
#[tauri::command]
fn tray_host(shell: State<'_, Shell>) -> TrayHostView {
    without_tray::view(&shell.tray_host)
}

/// Quits the app, as the tray's Quit does (polling stops and tokens are saved first).
#[tauri::command]
fn quit(app: AppHandle) {
    app.exit(0);
}

pub fn handler() -> impl Fn(tauri::ipc::Invoke<Wry>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        people,
        state_lines,
        settings,
        add_person,
        reconnect,
        paste_redirect,
        sign_in_status,
        check_approval,
        remove_person,
        set_poll_interval,
        set_privacy,
        set_transaction_notifications,
        set_keep_history,
        plan_pot_move,
        confirm_pot_move,
        cancel_pot_move,
        set_low_balance_alert,
        refresh_now,
        home_assistant,
        push_status,
        test_home_assistant,
        save_home_assistant,
        save_statistics_link,
        history_view,
        spending_view,
        spending_month,
        autostart,
        set_autostart,
        tray_host,
        quit,
    ]
}
