//! The entities a snapshot calls for, whichever transport carries them: per live
//! person, per account a row of [`DESCRIPTIONS`] for each account entity and per pot
//! each pot entity, with its entity id (new ones chosen and remembered in `ids`)
//! and, for sensors, its value.
//!
//! Only live people: stale balances are not news, and a signed-out person's last
//! values stay as they were in Home Assistant.

use super::entities::{
    assign, preferred_entity_id, EntityDescription, EntityIds, EntityKey, Platform, Source, DESCRIPTIONS,
};
use crate::money::Money;
use crate::snapshot::{ConnectionState, Snapshot};

/// One entity the snapshot calls for.
pub(crate) struct WantedEntity<'a> {
    pub(crate) key: EntityKey,
    pub(crate) description: &'static EntityDescription,
    pub(crate) entity_id: String,
    pub(crate) person_name: &'a str,
    /// The account's type name ("Current Account") or the pot's name.
    pub(crate) thing_name: &'a str,
    /// The state, in major units; `None` for events.
    pub(crate) value: Option<Money>,
    /// The account it belongs to (for an account's own entities, itself).
    pub(crate) account_id: &'a str,
    /// The account's type name, "Current Account".
    pub(crate) account_name: &'a str,
}

impl WantedEntity<'_> {
    /// "Dana Current Account Balance", "Dana Holiday ☀️ Balance".
    pub(crate) fn friendly_name(&self) -> String {
        format!(
            "{} {} {}",
            self.person_name, self.thing_name, self.description.name
        )
    }
}

/// Every entity of `snapshot` on one of `platforms`, with its entity id (new ones
/// added to `ids`).
pub(crate) fn wanted<'a>(
    snapshot: &'a Snapshot,
    ids: &mut EntityIds,
    platforms: &[Platform],
) -> Vec<WantedEntity<'a>> {
    let mut out = Vec::new();
    for person in snapshot
        .people
        .iter()
        .filter(|p| p.state == ConnectionState::Live)
    {
        for account in &person.accounts {
            let entity =
                |description: &'static EntityDescription, monzo_id: &str, thing_name, value| WantedEntity {
                    key: EntityKey::new(&person.id, monzo_id, description.kind),
                    description,
                    entity_id: String::new(),
                    person_name: &person.name,
                    thing_name,
                    value,
                    account_id: &account.id,
                    account_name: &account.name,
                };
            let descriptions = || DESCRIPTIONS.iter().filter(|d| platforms.contains(&d.platform));
            for description in descriptions() {
                match description.source {
                    Source::Account(value) => out.push(entity(
                        description,
                        &account.id,
                        &account.name,
                        Some(value(account)),
                    )),
                    Source::AccountEvents => out.push(entity(description, &account.id, &account.name, None)),
                    Source::Pot(_) => {}
                }
            }
            for pot in &account.pots {
                for description in descriptions() {
                    if let Source::Pot(value) = description.source {
                        out.push(entity(description, &pot.id, &pot.name, Some(value(pot))));
                    }
                }
            }
        }
    }
    let preferred: Vec<(EntityKey, String)> = out
        .iter()
        .map(|e| {
            let id = preferred_entity_id(e.key.kind, e.person_name, e.thing_name);
            (e.key.clone(), id)
        })
        .collect();
    assign(ids, &preferred);
    out.retain_mut(|e| match ids.get(&e.key.to_string()) {
        Some(id) => {
            e.entity_id = id.clone();
            true
        }
        None => false,
    });
    out
}
