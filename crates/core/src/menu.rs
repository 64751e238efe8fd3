//! The tray menu as data: what the tray shows for a snapshot. The Tauri shell only
//! renders these entries, so every label is decided (and tested) here.
//!
//! Linux tray icons deliver no clicks, so every action is a menu entry.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};

use crate::history::month::MonthToDate;
use crate::money::Money;
use crate::snapshot::{AccountSnapshot, ConnectionState, Snapshot};
use crate::text;
use crate::transactions::Transaction;
use crate::words::state_line;
use crate::words::updated_label;

/// Ids of the fixed actions; a person's "Reconnect…" is `reconnect:<person id>`.
pub mod action {
    pub const REFRESH: &str = "refresh";
    pub const HIDE_AMOUNTS: &str = "hide_amounts";
    pub const SETTINGS: &str = "settings";
    pub const HISTORY: &str = "history";
    pub const QUIT: &str = "quit";
    pub const RECONNECT_PREFIX: &str = "reconnect:";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuEntry {
    /// Information only (a person's name, a balance, a state line).
    Text {
        id: String,
        label: String,
    },
    /// Something to click.
    Action {
        id: String,
        label: String,
    },
    /// A check box (Hide amounts).
    Toggle {
        id: String,
        label: String,
        checked: bool,
    },
    /// A submenu (an account's "Recent" transactions).
    Submenu {
        id: String,
        label: String,
        entries: Vec<MenuEntry>,
    },
    Separator,
}

impl MenuEntry {
    /// Every label made one safe line (see [`text`]).
    fn cleaned(self) -> Self {
        match self {
            MenuEntry::Text { id, label } => MenuEntry::Text {
                id,
                label: text::line(&label),
            },
            MenuEntry::Action { id, label } => MenuEntry::Action {
                id,
                label: text::line(&label),
            },
            MenuEntry::Toggle { id, label, checked } => MenuEntry::Toggle {
                id,
                label: text::line(&label),
                checked,
            },
            MenuEntry::Submenu { id, label, entries } => MenuEntry::Submenu {
                id,
                label: text::line(&label),
                entries: entries.into_iter().map(Self::cleaned).collect(),
            },
            MenuEntry::Separator => MenuEntry::Separator,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayModel {
    /// The glance label next to the icon, where the platform shows one.
    pub title: String,
    pub tooltip: String,
    pub entries: Vec<MenuEntry>,
}

/// An amount, or `£•••` in privacy mode.
pub(crate) fn shown(money: &Money, privacy: bool) -> String {
    if privacy {
        money.hidden()
    } else {
        money.display()
    }
}

/// "14:02" today, "27 Nov" before.
fn local_when(at: DateTime<Utc>, now: DateTime<Utc>, offset: FixedOffset) -> String {
    let (at, now) = (at.with_timezone(&offset), now.with_timezone(&offset));
    if at.date_naive() == now.date_naive() {
        at.format("%H:%M").to_string()
    } else {
        at.format("%-d %b").to_string()
    }
}

/// A transaction on one line: "14:02  Tesco Metro  -£12.30", pot transfers as "To
/// Holiday", declined ones marked. Privacy mode hides what it was and the amount.
pub(crate) fn transaction_line(
    transaction: &Transaction,
    pot_name: impl Fn(&str) -> Option<String>,
    privacy: bool,
    now: DateTime<Utc>,
    offset: FixedOffset,
) -> String {
    let when = local_when(transaction.created, now, offset);
    let (what, amount) = if privacy {
        ("•••".to_owned(), transaction.amount.hidden())
    } else {
        (transaction.what(pot_name), transaction.amount.display_signed())
    };
    let declined = if transaction.declined { " (declined)" } else { "" };
    format!("{when}  {what}  {amount}{declined}")
}

/// The name of a pot of `account`, by id.
fn pot_of(account: &AccountSnapshot) -> impl Fn(&str) -> Option<String> + '_ {
    move |id| account.pots.iter().find(|p| p.id == id).map(|p| p.name.clone())
}

/// The glance figure: the household total including pots, per currency.
pub(crate) fn glance(snapshot: &Snapshot, privacy: bool) -> String {
    let totals: Vec<String> = snapshot.totals().iter().map(|m| shown(m, privacy)).collect();
    if totals.is_empty() {
        "—".to_owned()
    } else {
        totals.join(" · ")
    }
}

/// "This month: spent £412.30 (last month £388.10 by this day)"; without the
/// comparison when history does not reach back to last month's 1st.
pub(crate) fn month_line(month: &MonthToDate, privacy: bool) -> String {
    let spent = shown(&month.this_month, privacy);
    match &month.last_month {
        Some(last) => format!(
            "This month: spent {spent} (last month {} by this day)",
            shown(last, privacy)
        ),
        None => format!("This month: spent {spent}"),
    }
}

/// The tray's menu. `month` holds, per account id, the month so far where history
/// is kept (see [`crate::history::month`]).
pub(crate) fn tray_model(
    snapshot: &Snapshot,
    privacy: bool,
    now: DateTime<Utc>,
    offset: FixedOffset,
    extra_status: Option<&str>,
    month: &HashMap<String, MonthToDate>,
) -> TrayModel {
    let mut entries = Vec::new();
    if snapshot.people.is_empty() {
        entries.push(MenuEntry::Text {
            id: "empty".into(),
            label: "No one is signed in — open Settings… to add someone".into(),
        });
    }
    for person in &snapshot.people {
        let pid = &person.id;
        entries.push(MenuEntry::Text {
            id: format!("person:{pid}"),
            label: person.name.clone(),
        });
        // Live is said once for everyone, by the "Updated" line below.
        if person.state != ConnectionState::Live {
            entries.push(MenuEntry::Text {
                id: format!("state:{pid}"),
                label: format!("  {}", state_line(person, now, offset)),
            });
        }
        for account in &person.accounts {
            // A joint account appears under each owner: ids are made per person.
            let aid = format!("{pid}:{}", account.id);
            entries.push(MenuEntry::Text {
                id: format!("account:{aid}"),
                label: format!("{}   {}", account.name, shown(&account.balance, privacy)),
            });
            entries.push(MenuEntry::Text {
                id: format!("total:{aid}"),
                label: format!("    with pots {}", shown(&account.total_balance, privacy)),
            });
            if let Some(month) = month.get(&account.id) {
                entries.push(MenuEntry::Text {
                    id: format!("month:{aid}"),
                    label: format!("    {}", month_line(month, privacy)),
                });
            }
            let recent = snapshot
                .recent
                .get(&account.id)
                .map(Vec::as_slice)
                .unwrap_or_default();
            if !recent.is_empty() {
                // Newest first.
                let lines = recent
                    .iter()
                    .rev()
                    .map(|t| MenuEntry::Text {
                        id: format!("transaction:{aid}:{}", t.id),
                        label: transaction_line(t, pot_of(account), privacy, now, offset),
                    })
                    .collect();
                entries.push(MenuEntry::Submenu {
                    id: format!("recent:{aid}"),
                    label: "    Recent".into(),
                    entries: lines,
                });
            }
            for pot in &account.pots {
                entries.push(MenuEntry::Text {
                    id: format!("pot:{pid}:{}", pot.id),
                    label: format!("  {}   {}", pot.name, shown(&pot.balance, privacy)),
                });
            }
        }
        entries.push(MenuEntry::Action {
            id: format!("{}{pid}", action::RECONNECT_PREFIX),
            label: format!("Reconnect {}…", person.name),
        });
        entries.push(MenuEntry::Separator);
    }
    if snapshot.people.is_empty() {
        entries.push(MenuEntry::Separator);
    }
    let latest = snapshot.people.iter().filter_map(|p| p.updated_at).max();
    entries.push(MenuEntry::Text {
        id: "updated".into(),
        label: updated_label(latest, now, offset),
    });
    if let Some(status) = extra_status {
        entries.push(MenuEntry::Text {
            id: "extra_status".into(),
            label: status.to_owned(),
        });
    }
    entries.push(MenuEntry::Action {
        id: action::REFRESH.into(),
        label: "Refresh now".into(),
    });
    entries.push(MenuEntry::Toggle {
        id: action::HIDE_AMOUNTS.into(),
        label: "Hide amounts".into(),
        checked: privacy,
    });
    entries.push(MenuEntry::Action {
        id: action::HISTORY.into(),
        label: "History…".into(),
    });
    entries.push(MenuEntry::Action {
        id: action::SETTINGS.into(),
        label: "Settings…".into(),
    });
    entries.push(MenuEntry::Separator);
    entries.push(MenuEntry::Action {
        id: action::QUIT.into(),
        label: "Quit".into(),
    });

    let title = glance(snapshot, privacy);
    let trouble = snapshot
        .people
        .iter()
        .filter(|p| p.state != ConnectionState::Live)
        .count();
    let tooltip = if snapshot.people.is_empty() {
        "monzo-tray — no one signed in".to_owned()
    } else if trouble > 0 {
        format!("monzo-tray — {title} ({trouble} need attention)")
    } else {
        format!("monzo-tray — {title}")
    };
    // Names from settings reach the menu as they were typed there: the last guard
    // (see `text`), as Monzo's names were made safe where they entered.
    TrayModel {
        title: text::line(&title),
        tooltip: text::line(&tooltip),
        entries: entries.into_iter().map(MenuEntry::cleaned).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn gbp(minor: i64) -> Money {
        Money::from_minor(minor, Currency::from_code("GBP"))
    }

    fn at(hh: u32, mm: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-24T{hh:02}:{mm:02}:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    use crate::snapshot::PersonSnapshot;

    fn dana(state: ConnectionState) -> PersonSnapshot {
        PersonSnapshot {
            state,
            updated_at: Some(at(14, 2)),
            ..crate::snapshot::example().people.remove(0)
        }
    }

    fn labels(model: &TrayModel) -> Vec<String> {
        model
            .entries
            .iter()
            .map(|e| match e {
                MenuEntry::Text { label, .. }
                | MenuEntry::Action { label, .. }
                | MenuEntry::Submenu { label, .. } => label.clone(),
                MenuEntry::Toggle { label, checked, .. } => {
                    format!("[{}] {label}", if *checked { "x" } else { " " })
                }
                MenuEntry::Separator => "---".into(),
            })
            .collect()
    }

    fn utc() -> FixedOffset {
        FixedOffset::east_opt(0).unwrap()
    }

    #[test]
    fn a_live_person_lists_accounts_totals_and_pots() {
        let snap = Snapshot {
            people: vec![dana(ConnectionState::Live)],
            ..Default::default()
        };
        // History kept: the month line under the account's total.
        let gbp = Currency::from_code("GBP");
        let month = HashMap::from([(
            snap.people[0].accounts[0].id.clone(),
            MonthToDate {
                this_month: Money::from_minor(41_230, gbp.clone()),
                last_month: Some(Money::from_minor(38_810, gbp)),
            },
        )]);
        let model = tray_model(&snap, false, at(14, 4), utc(), None, &month);
        assert_eq!(
            labels(&model),
            [
                "Dana",
                "Current Account   £1,234.56",
                "    with pots £2,734.56",
                "    This month: spent £412.30 (last month £388.10 by this day)",
                "  Holiday ☀️   £1,500.00",
                "Reconnect Dana…",
                "---",
                "Updated 2 min ago",
                "Refresh now",
                "[ ] Hide amounts",
                "History…",
                "Settings…",
                "---",
                "Quit",
            ]
        );
        assert_eq!(model.title, "£2,734.56");
        assert_eq!(model.tooltip, "monzo-tray — £2,734.56");
    }

    /// A name typed into settings with a line break or an escape sequence in it is
    /// one plain label in the menu, as in the tooltip.
    #[test]
    fn labels_are_one_safe_line_each() {
        let mut person = dana(ConnectionState::Error);
        person.name = "Dana\nHousehold \u{1b}]0;x\u{7}".into();
        person.error = Some("Monzo said\r\n\u{202e}no".into());
        let snap = Snapshot {
            people: vec![person],
            ..Default::default()
        };
        let model = tray_model(
            &snap,
            false,
            at(14, 4),
            utc(),
            Some("Home Assistant: \u{9b}bad"),
            &HashMap::new(),
        );
        let all = labels(&model).join("|") + &model.tooltip + &model.title;
        assert!(!all.chars().any(|c| c.is_control() || c == '\u{202e}'), "{all:?}");
        assert!(labels(&model).contains(&"Dana Household \u{FFFD}]0;x\u{FFFD}".to_owned()));
    }

    fn transaction(
        id: &str,
        minutes_ago: i64,
        minor: i64,
        merchant: Option<&str>,
        pot: Option<&str>,
    ) -> Transaction {
        Transaction {
            id: id.into(),
            account_id: "acc_1".into(),
            created: at(14, 4) - chrono::Duration::minutes(minutes_ago),
            amount: gbp(minor),
            description: "SOMETHING".into(),
            merchant: merchant.map(str::to_owned),
            category: "general".into(),
            pot_id: pot.map(str::to_owned),
            declined: false,
            pending: false,
            local_amount: None,
            settled: None,
            counterparty_account_id: None,
        }
    }

    /// Each account's last transactions, newest first, in a "Recent" submenu: pot
    /// transfers named, declined ones marked; privacy mode hides what and how much.
    #[test]
    fn recent_transactions_are_a_submenu_per_account() {
        let mut declined = transaction("tx_3", 5, -4500, Some("Co-op"), None);
        declined.declined = true;
        let snap = Snapshot {
            people: vec![dana(ConnectionState::Live)],
            recent: [(
                "acc_1".to_owned(),
                vec![
                    transaction("tx_1", 60 * 24 * 3, -50000, None, Some("pot_1")),
                    transaction("tx_2", 30, -1230, Some("Tesco Metro"), None),
                    declined,
                ],
            )]
            .into(),
        };
        let submenu = |privacy| {
            let model = tray_model(&snap, privacy, at(14, 4), utc(), None, &HashMap::new());
            let recent = model.entries.iter().find_map(|e| match e {
                MenuEntry::Submenu { label, entries, .. } if label.trim() == "Recent" => {
                    Some(entries.clone())
                }
                _ => None,
            });
            labels(&TrayModel {
                entries: recent.expect("a Recent submenu"),
                ..model
            })
        };
        assert_eq!(
            submenu(false),
            [
                "13:59  Co-op  -£45.00 (declined)",
                "13:34  Tesco Metro  -£12.30",
                "21 Nov  To Holiday ☀️  -£500.00",
            ]
        );
        assert_eq!(
            submenu(true),
            [
                "13:59  •••  £••• (declined)",
                "13:34  •••  £•••",
                "21 Nov  •••  £•••"
            ]
        );
    }

    #[test]
    fn privacy_hides_every_amount() {
        let snap = Snapshot {
            people: vec![dana(ConnectionState::Live)],
            ..Default::default()
        };
        let model = tray_model(&snap, true, at(14, 4), utc(), None, &HashMap::new());
        let all = labels(&model).join("\n") + &model.title + &model.tooltip;
        assert!(
            !all.contains("1,234") && !all.contains("2,734") && !all.contains("1,500"),
            "{all}"
        );
        assert!(all.contains("Current Account   £•••"));
        assert_eq!(model.title, "£•••");
        assert!(labels(&model).contains(&"[x] Hide amounts".to_owned()));
    }

    #[test]
    fn states_that_need_attention_say_what_to_do() {
        let offset = FixedOffset::east_opt(3600).unwrap();
        for (state, line) in [
            (
                ConnectionState::AwaitingApproval,
                "  Approve access in the Monzo app",
            ),
            (ConnectionState::SignedOut, "  Sign in again"),
            (ConnectionState::Stale, "  Offline — last updated 15:02"),
        ] {
            let snap = Snapshot {
                people: vec![dana(state)],
                ..Default::default()
            };
            let model = tray_model(&snap, false, at(14, 4), offset, None, &HashMap::new());
            assert_eq!(labels(&model)[1], line, "{state:?}");
            assert!(model.tooltip.contains("1 need attention"));
        }
    }

    #[test]
    fn an_empty_household_points_to_settings() {
        let model = tray_model(
            &Snapshot::default(),
            false,
            at(14, 4),
            utc(),
            Some("Home Assistant: unreachable"),
            &HashMap::new(),
        );
        let l = labels(&model);
        assert!(l[0].contains("open Settings…"));
        assert!(l.contains(&"Home Assistant: unreachable".to_owned()));
        assert_eq!(model.title, "—");
    }

    #[test]
    fn the_month_line_compares_with_last_month_by_this_day_and_privacy_hides_it() {
        let gbp = crate::money::Currency::from_code("GBP");
        let mut month = MonthToDate {
            this_month: Money::from_minor(41_230, gbp.clone()),
            last_month: Some(Money::from_minor(38_810, gbp)),
        };
        assert_eq!(
            month_line(&month, false),
            "This month: spent £412.30 (last month £388.10 by this day)"
        );
        assert_eq!(
            month_line(&month, true),
            "This month: spent £••• (last month £••• by this day)"
        );
        month.last_month = None;
        assert_eq!(month_line(&month, false), "This month: spent £412.30");
    }
}
