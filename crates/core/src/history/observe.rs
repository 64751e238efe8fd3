//! What each poll tells history: the accounts live people see (and who sees them:
//! a joint account is one account with two people), their pots, and every balance
//! that changed since the last one recorded (one row per change, not per poll).

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::store::stored_time;
use super::{HistoryError, HistoryStore};
use crate::settings::PersonSettings;
use crate::snapshot::{ConnectionState, PersonSnapshot};

/// Records what live `people` (this poll's snapshots, in the order of `settings`)
/// showed at `at`, for those who keep history.
pub(crate) fn observe(
    store: &HistoryStore,
    settings: &[PersonSettings],
    people: &[PersonSnapshot],
    at: DateTime<Utc>,
) -> Result<(), HistoryError> {
    let when = stored_time(at);
    store.with(|db| {
        let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for (person, seen) in settings.iter().zip(people) {
            if seen.state != ConnectionState::Live || !person.keep_history {
                continue;
            }
            for account in &seen.accounts {
                tx.execute(
                    "INSERT INTO accounts (account_id, name, account_type, currency, opened) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (account_id) DO UPDATE SET name = excluded.name, account_type = excluded.account_type,
                        currency = excluded.currency, opened = COALESCE(excluded.opened, opened)",
                    params![
                        account.id,
                        account.name,
                        account.account_type,
                        account.currency,
                        account.opened.map(stored_time)
                    ],
                )?;
                tx.execute(
                    "INSERT INTO account_people (account_id, person_id, person_name) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO UPDATE SET person_name = excluded.person_name",
                    params![account.id, person.id, person.name],
                )?;
                let balance = account.balance.to_minor();
                record_if_changed(&tx, &account.id, "", balance, &account.currency, &when)?;
                for pot in &account.pots {
                    tx.execute(
                        "INSERT INTO pots (pot_id, account_id, name, currency) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (pot_id) DO UPDATE SET name = excluded.name",
                        params![pot.id, account.id, pot.name, pot.currency],
                    )?;
                    record_if_changed(
                        &tx,
                        &account.id,
                        &pot.id,
                        pot.balance.to_minor(),
                        &pot.currency,
                        &when,
                    )?;
                }
                // A pot Monzo lists as deleted is empty from now on (its money went
                // back to the account, which the account's balance shows).
                for gone in &seen.closed_or_deleted {
                    let known: Option<String> = tx
                        .query_row(
                            "SELECT currency FROM pots WHERE pot_id = ?1 AND account_id = ?2",
                            params![gone, account.id],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if let Some(currency) = known {
                        record_if_changed(&tx, &account.id, gone, Some(0), &currency, &when)?;
                    }
                }
            }
        }
        tx.commit()
    })
}

fn record_if_changed(
    tx: &rusqlite::Transaction<'_>,
    account_id: &str,
    pot_id: &str,
    value: Option<i64>,
    currency: &str,
    at: &str,
) -> rusqlite::Result<()> {
    let Some(value) = value else {
        return Ok(());
    };
    let mut last = tx.prepare_cached(
        "SELECT value FROM balances WHERE account_id = ?1 AND pot_id = ?2 ORDER BY at DESC LIMIT 1",
    )?;
    let previous: Option<i64> = last.query_row(params![account_id, pot_id], |row| row.get(0)).ok();
    if previous != Some(value) {
        tx.execute(
            "INSERT INTO balances (account_id, pot_id, at, value, currency) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![account_id, pot_id, at, value, currency],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot;

    fn live(accounts: Vec<crate::snapshot::AccountSnapshot>) -> PersonSnapshot {
        PersonSnapshot {
            id: "p1".into(),
            name: "Dana".into(),
            state: ConnectionState::Live,
            accounts,
            ..PersonSnapshot::default()
        }
    }

    fn rows(store: &HistoryStore) -> i64 {
        store
            .with(|db| db.query_row("SELECT COUNT(*) FROM balances", [], |r| r.get(0)))
            .unwrap()
    }

    #[test]
    fn a_balance_is_recorded_when_it_changes_not_at_every_poll() {
        let store = HistoryStore::in_memory().unwrap();
        let dana = PersonSettings::example("p1", "Dana");
        let account = snapshot::example_account();
        let pots = account.pots.len() as i64;
        let now = Utc::now();
        observe(
            &store,
            std::slice::from_ref(&dana),
            &[live(vec![account.clone()])],
            now,
        )
        .unwrap();
        assert_eq!(rows(&store), 1 + pots);
        observe(
            &store,
            std::slice::from_ref(&dana),
            &[live(vec![account.clone()])],
            now,
        )
        .unwrap();
        assert_eq!(rows(&store), 1 + pots, "nothing changed, nothing recorded");
        let mut changed = account;
        changed.balance = crate::money::Money::from_minor(1, crate::money::Currency::from_code("GBP"));
        observe(&store, std::slice::from_ref(&dana), &[live(vec![changed])], now).unwrap();
        assert_eq!(rows(&store), 2 + pots);
        assert_eq!(
            store.last_balance(&snapshot::example_account().id, "").unwrap(),
            Some(1)
        );
    }

    #[test]
    fn someone_who_keeps_no_history_leaves_nothing() {
        let store = HistoryStore::in_memory().unwrap();
        let mut dana = PersonSettings::example("p1", "Dana");
        dana.keep_history = false;
        observe(
            &store,
            &[dana],
            &[live(vec![snapshot::example_account()])],
            Utc::now(),
        )
        .unwrap();
        assert_eq!(rows(&store), 0);
    }
}
