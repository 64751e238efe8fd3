//! The household: the people in settings together with their secrets in the
//! keyring, changed so that nothing is ever stored half-way or lost, whichever of
//! the household's processes changes it (the tray app or `headless`, and the
//! one-shot commands beside it):
//! - settings change through [`Household::update`], a read-modify-write of the file
//!   under its lock that writes back only what the change touched;
//! - a person's tokens are stored, refreshed and removed under that person's lock
//!   ([`Household::person_lock`]), and stored only while the person is in the file,
//!   so a removed person's tokens are never written back;
//! - another process's change is picked up by [`Household::reload_if_changed`];
//! - keyring entries are filed under the household's own id, so two config folders
//!   never share one; entries from before household ids are moved at the first start.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::ClientSecret;
use rand::distr::{Alphanumeric, SampleString};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::file_lock::{EngineLock, FileLock};
use crate::oauth::TokenSet;
use crate::secrets::{SecretKind, SecretStore};
use crate::settings::{PersonSettings, Settings, SettingsFile};
use crate::sync::lock;
use crate::transactions::seen::{SeenTransactions, SEEN_FILE};

/// The keyring owner of Home Assistant's secrets: its long-lived token (REST) and
/// the MQTT broker's password.
pub(crate) const HOME_ASSISTANT_OWNER: &str = "home_assistant";

/// How long a person's lock is waited for: it is held for a token refresh (its retry
/// budget) and the keyring writes after it (a time limit each), so longer means a
/// process is stuck.
const PERSON_LOCK_TIMEOUT: Duration = Duration::from_secs(45);

/// The settings as this process knows them, and the file's text they came from.
struct Known {
    settings: Settings,
    text: Option<String>,
}

pub struct Household {
    /// `None` keeps settings in memory only (the demo).
    file: Option<SettingsFile>,
    known: Mutex<Known>,
    /// Filed under the household's id (see [`Settings::household_id`]).
    secrets: SecretStore,
    /// Wall time for everything recorded here and by those who use the household.
    clock: Clock,
    /// The last transaction seen per account.
    seen_transactions: SeenTransactions,
    /// Said once to the person, e.g. that a broken settings file was set aside.
    pub load_warning: Option<String>,
}

/// A person removed, and whether their keyring entries went with them.
#[derive(Debug)]
pub struct Removal {
    pub person: PersonSettings,
    /// Why the keyring entries could not be deleted now (they are at the next start).
    pub secrets_kept: Option<Error>,
}

/// Checks a person's display name.
pub(crate) fn validate_person_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::InvalidField {
            field: "name",
            message: "Give the person a name, e.g. their first name.".into(),
        });
    }
    if name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(Error::InvalidField {
            field: "name",
            message: "A name must be at most 60 characters, on one line.".into(),
        });
    }
    Ok(name.to_owned())
}

fn random_id(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        Alphanumeric.sample_string(&mut rand::rng(), 12).to_lowercase()
    )
}

impl Household {
    /// Opens the household whose settings are in `file`, its secrets in `secrets`.
    /// A household from before household ids gets one here (written to the file),
    /// and its keyring entries are listed to be moved under it by
    /// [`Self::tidy_keyring`]. If the file cannot be written, the entries are used
    /// where they are, as before, and the log says so.
    ///
    /// Errors: the file cannot be read ([`Error::SettingsIo`]).
    pub fn open(file: SettingsFile, secrets: SecretStore) -> Result<Self> {
        let loaded = file.load()?;
        if let Some(warning) = &loaded.warning {
            // Whoever opened the household says it to the person (`load_warning`).
            tracing::info!("{warning}");
        }
        let seen_transactions = SeenTransactions::open(file.path().with_file_name(SEEN_FILE));
        let (settings, text) = match loaded.settings.household_id {
            Some(_) => (loaded.settings, loaded.text),
            None => match file.update(|s| {
                if s.household_id.is_none() {
                    s.household_id = Some(random_id("h"));
                    s.secrets_to_move = s
                        .people
                        .iter()
                        .map(|p| p.id.clone())
                        .chain([HOME_ASSISTANT_OWNER.to_owned()])
                        .collect();
                }
            }) {
                Ok(updated) => (updated.settings, updated.text),
                Err(err) => {
                    tracing::warn!(%err, "could not give the household an id; its keyring entries stay where they are");
                    (loaded.settings, loaded.text)
                }
            },
        };
        let secrets = match &settings.household_id {
            Some(id) => secrets.scoped(id),
            None => secrets.unscoped(),
        };
        Ok(Self {
            file: Some(file),
            known: Mutex::new(Known { settings, text }),
            secrets,
            clock: Clock::system(),
            seen_transactions,
            load_warning: loaded.warning,
        })
    }

    /// A household kept in memory only (the demo, tests).
    pub fn in_memory(mut settings: Settings, secrets: SecretStore) -> Self {
        let id = settings
            .household_id
            .get_or_insert_with(|| random_id("h"))
            .clone();
        Self {
            file: None,
            known: Mutex::new(Known { settings, text: None }),
            secrets: secrets.scoped(&id),
            clock: Clock::system(),
            seen_transactions: SeenTransactions::in_memory(),
            load_warning: None,
        }
    }

    /// The same household reading time from `clock` (tests drive it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The one clock the core reads wall time from.
    /// The household's own id (`h_…`; see [`Settings::household_id`]): its history
    /// database is filed under it. `None` for a household in memory.
    pub fn household_id(&self) -> Option<String> {
        self.settings().household_id
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The last transaction seen per account, kept across restarts.
    pub fn seen_transactions(&self) -> &SeenTransactions {
        &self.seen_transactions
    }

    fn lock(&self) -> MutexGuard<'_, Known> {
        lock(&self.known)
    }

    /// The settings as last read or written by this process.
    pub fn settings(&self) -> Settings {
        self.lock().settings.clone()
    }

    pub fn secrets(&self) -> &SecretStore {
        &self.secrets
    }

    /// Changes the settings and saves them: `change` is made to the settings as they
    /// are in the file now (another process may have changed them), and only what it
    /// touched is written back (see [`SettingsFile::update`]). If saving fails,
    /// nothing changes.
    pub fn update<T>(&self, change: impl FnOnce(&mut Settings) -> T) -> Result<T> {
        let mut known = self.lock();
        match &self.file {
            None => {
                let out = change(&mut known.settings);
                Ok(out)
            }
            Some(file) => {
                let updated = file.update(change)?;
                known.settings = updated.settings;
                known.text = updated.text;
                Ok(updated.out)
            }
        }
    }

    /// Reads the settings file again if another process (or a person) changed it
    /// since this process last read or wrote it. Returns whether the settings
    /// changed. A file that is not readable settings now (a hand edit half-way) is
    /// not taken: the settings known here stay until it is fixed or the next start.
    pub(crate) fn reload_if_changed(&self) -> Result<bool> {
        let Some(file) = &self.file else {
            return Ok(false);
        };
        let mut known = self.lock();
        let Some(loaded) = file.reload_if_changed(known.text.as_deref())? else {
            return Ok(false);
        };
        known.text = loaded.text;
        if let Some(warning) = &loaded.warning {
            tracing::warn!("{warning}");
        }
        let changed = loaded.settings != known.settings;
        known.settings = loaded.settings;
        Ok(changed)
    }

    /// Held while a person's tokens are read from the keyring, refreshed, stored or
    /// removed, by any process of the household: one refresh per person at a time,
    /// and no reader sees a sign-in half stored. `None` for a household in memory
    /// (one process).
    ///
    /// Errors: [`Error::Busy`] after a stuck holder; [`Error::LockIo`].
    pub(crate) async fn person_lock(&self, person_id: &str) -> Result<Option<FileLock>> {
        match &self.file {
            Some(file) => FileLock::acquire(
                &file.person_lock_path(person_id),
                "a person's sign-in",
                PERSON_LOCK_TIMEOUT,
            )
            .await
            .map(Some),
            None => Ok(None),
        }
    }

    /// Takes the household's one engine for this process, as `role`; `None` for a
    /// household in memory.
    ///
    /// Errors: [`Error::EngineRunning`] when another process runs it.
    pub fn hold_engine(&self, role: &str) -> Result<Option<EngineLock>> {
        self.file
            .as_ref()
            .map(|file| EngineLock::hold(file.dir(), role))
            .transpose()
    }

    /// Whether `person` is still in the household, signed in as they were (read from
    /// the file now): checked under their lock right before their tokens are
    /// written, so a person removed (or signed in again) by another process never
    /// gets old tokens back.
    pub(crate) fn still_signed_in(&self, person: &PersonSettings) -> bool {
        if let Err(err) = self.reload_if_changed() {
            tracing::warn!(%err, "could not read the settings again");
        }
        self.person_by_id(&person.id)
            .is_some_and(|p| p.signed_in_at == person.signed_in_at)
    }

    /// The household's keyring chores, run at start: entries from before household
    /// ids moved under the household's id, and the entries of people removed while
    /// the keyring could not be reached deleted. What fails stays listed for the
    /// next start.
    pub async fn tidy_keyring(&self) {
        let settings = self.settings();
        if settings.household_id.is_none() {
            return;
        }
        for owner in settings.secrets_to_move {
            match self.move_secrets(&owner).await {
                Ok(()) => self.done_with(&owner, |s| &mut s.secrets_to_move),
                Err(err) => {
                    tracing::warn!(%err, "could not move keyring entries under the household's id; will try again")
                }
            }
        }
        for owner in settings.secrets_to_delete {
            match self.secrets.delete_all(&owner).await {
                Ok(()) => self.done_with(&owner, |s| &mut s.secrets_to_delete),
                Err(err) => {
                    tracing::warn!(%err, "could not delete a removed person's keyring entries; will try again")
                }
            }
        }
    }

    fn done_with(&self, owner: &str, list: impl FnOnce(&mut Settings) -> &mut Vec<String>) {
        if let Err(err) = self.update(|s| list(s).retain(|o| o != owner)) {
            tracing::warn!(%err, "could not note a keyring chore as done; it is done again at the next start");
        }
    }

    /// Copies `owner`'s entries from where they were before household ids, then
    /// removes the old ones. Under the owner's lock, so no process reads them half
    /// moved; a copy already there (a move cut short) is kept.
    async fn move_secrets(&self, owner: &str) -> Result<()> {
        let _lock = self.person_lock(owner).await?;
        let old = self.secrets.unscoped();
        for kind in SecretKind::ALL {
            if let Some(value) = old.get(owner, kind).await? {
                if self.secrets.get(owner, kind).await?.is_none() {
                    self.secrets.set(owner, kind, &value).await?;
                }
                old.delete(owner, kind).await?;
            }
        }
        Ok(())
    }

    pub fn person(&self, name: &str) -> Result<PersonSettings> {
        self.lock()
            .settings
            .person_by_name(name)
            .cloned()
            .ok_or_else(|| Error::UnknownPerson(name.trim().to_owned()))
    }

    /// Stores a completed sign-in, under the person's lock. A new person goes into
    /// the settings first and their secrets after: a sign-in cut short leaves a
    /// person to sign in again, never secrets nobody owns. An existing person's
    /// tokens go first and the time of this sign-in after, which tells every process
    /// to use the new tokens.
    ///
    /// A person is bound to the Monzo user of their first sign-in (`tokens.user_id`).
    /// Refused, with nothing of `name` changed: a sign-in of an existing person as
    /// another Monzo user ([`Error::WrongMonzoUser`]), and a sign-in as a Monzo user
    /// someone else in the household is bound to ([`Error::AlreadyInHousehold`] for
    /// a new person). If that other person used the same OAuth client, Monzo has just
    /// ended their tokens (one per user and client), so the new ones are kept for
    /// them: nobody ends up signed out.
    pub(crate) async fn save_sign_in(
        &self,
        name: &str,
        client_id: &str,
        client_secret: &ClientSecret,
        redirect_uri: &str,
        tokens: &TokenSet,
    ) -> Result<PersonSettings> {
        let name = validate_person_name(name)?;
        // Checked against the household as it is now: another process may have
        // signed someone in since this one started.
        self.reload_if_changed()?;
        let existing = self.lock().settings.person_by_name(&name).cloned();
        if let Some(user) = tokens.user_id.as_deref() {
            let owner = self
                .lock()
                .settings
                .people
                .iter()
                .find(|p| {
                    p.monzo_user_id.as_deref() == Some(user) && existing.as_ref().is_none_or(|e| e.id != p.id)
                })
                .cloned();
            if let Some(owner) = owner {
                let kept = owner.client_id == client_id && self.keep_for(&owner, tokens).await.is_ok();
                return Err(match existing {
                    Some(person) => Error::WrongMonzoUser {
                        person: person.name,
                        other: Some(owner.name),
                        kept,
                    },
                    None => Error::AlreadyInHousehold {
                        other: owner.name,
                        kept,
                    },
                });
            }
            if let Some(person) = &existing {
                if person.monzo_user_id.as_deref().is_some_and(|bound| bound != user) {
                    return Err(Error::WrongMonzoUser {
                        person: person.name.clone(),
                        other: None,
                        kept: false,
                    });
                }
            }
        }
        let id = existing
            .as_ref()
            .map(|p| p.id.clone())
            .unwrap_or_else(|| random_id("p"));
        let person = PersonSettings {
            id: id.clone(),
            name,
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            signed_in_at: Some(self.clock.now()),
            approved_at: None,
            monzo_user_id: tokens
                .user_id
                .clone()
                .or_else(|| existing.as_ref().and_then(|p| p.monzo_user_id.clone())),
            notify_transactions: existing.as_ref().is_some_and(|p| p.notify_transactions),
            keep_history: existing.as_ref().is_none_or(|p| p.keep_history),
            other: existing.as_ref().map(|p| p.other.clone()).unwrap_or_default(),
        };
        let _lock = self.person_lock(&id).await?;
        let store_secrets = || async {
            self.store_tokens(&id, tokens).await?;
            self.secrets
                .set(&id, SecretKind::ClientSecret, client_secret.secret())
                .await
        };
        if existing.is_some() {
            store_secrets().await?;
            self.update(|s| match s.person_by_id_mut(&id) {
                Some(slot) => *slot = person.clone(),
                None => s.people.push(person.clone()),
            })?;
            return Ok(person);
        }
        self.update(|s| {
            if s.person_by_name(&person.name).is_some() {
                return Err(Error::InvalidField {
                    field: "name",
                    message: format!(
                        "Someone called \"{}\" was added by another monzo-tray meanwhile; use Reconnect for them, or another name.",
                        person.name
                    ),
                });
            }
            s.people.push(person.clone());
            Ok(())
        })??;
        if let Err(err) = store_secrets().await {
            // Nothing of this sign-in stays: the person goes, and whatever of their
            // secrets was written is deleted now or at the next start.
            let undone = self.update(|s| {
                s.people.retain(|p| p.id != id);
                s.secrets_to_delete.push(id.clone());
            });
            if undone.is_ok() && self.secrets.delete_all(&id).await.is_ok() {
                self.done_with(&id, |s| &mut s.secrets_to_delete);
            }
            return Err(err);
        }
        Ok(person)
    }

    /// Access and refresh token to the keyring, the refresh token first: it is the one
    /// that keeps the sign-in alive.
    async fn store_tokens(&self, person_id: &str, tokens: &TokenSet) -> Result<()> {
        let refresh = tokens.refresh_token.as_ref().ok_or(Error::NotConfidential)?;
        self.secrets
            .set(person_id, SecretKind::RefreshToken, refresh.secret())
            .await?;
        self.secrets
            .set(person_id, SecretKind::AccessToken, tokens.access_token.secret())
            .await
    }

    /// A sign-in meant for someone else that landed on `owner`'s Monzo with
    /// `owner`'s client: Monzo ended `owner`'s tokens for it, so it becomes `owner`'s
    /// new sign-in (in-app approval to come, as after any sign-in).
    async fn keep_for(&self, owner: &PersonSettings, tokens: &TokenSet) -> Result<()> {
        let _lock = self.person_lock(&owner.id).await?;
        self.store_tokens(&owner.id, tokens).await?;
        self.update(|s| {
            if let Some(p) = s.person_by_id_mut(&owner.id) {
                p.signed_in_at = Some(self.clock.now());
                p.approved_at = None;
            }
        })?;
        tracing::info!(person = %owner.name, "a sign-in that landed on this person's Monzo was kept for them");
        Ok(())
    }

    pub(crate) fn person_by_id(&self, id: &str) -> Option<PersonSettings> {
        self.lock().settings.person_by_id(id).cloned()
    }

    /// Records when the person's in-app approval was first seen in use (`None`: it
    /// ended). Monzo asks again `APPROVAL_LIFETIME_DAYS` later. A failure to save is
    /// logged: it costs only the reminder's date.
    pub(crate) fn record_approval(&self, person_id: &str, approved_at: Option<DateTime<Utc>>) {
        let saved = self.update(|s| {
            if let Some(p) = s.person_by_id_mut(person_id) {
                p.approved_at = approved_at;
            }
        });
        if let Err(err) = saved {
            tracing::warn!(%err, "could not record the in-app approval time");
        }
    }

    /// Binds a person signed in before people were bound to their Monzo user.
    pub(crate) fn bind_monzo_user(&self, person_id: &str, user_id: &str) {
        let bound = self.update(|s| {
            if let Some(p) = s.person_by_id_mut(person_id) {
                p.monzo_user_id.get_or_insert_with(|| user_id.to_owned());
            }
        });
        if let Err(err) = bound {
            tracing::warn!(%err, "could not record the person's Monzo user");
        }
    }

    /// Removes a person: from the settings first (under their lock, so no refresh
    /// of theirs is under way in any process), then their keyring entries. A removal
    /// that cannot be saved changes nothing; entries that cannot be deleted now are
    /// deleted at the next start ([`Self::tidy_keyring`]).
    ///
    /// Errors: [`Error::UnknownPerson`]; the keyring cannot be reached (locked, or no
    /// Secret Service); the settings cannot be saved.
    pub async fn remove_person(&self, name: &str) -> Result<Removal> {
        self.reload_if_changed()?;
        let person = self.person(name)?;
        // A keyring that cannot be reached (locked, or no Secret Service) would
        // leave the person's tokens behind until some later start: refuse instead,
        // with the keyring's own sentence, and change nothing.
        self.secrets.check_available().await?;
        {
            let _lock = self.person_lock(&person.id).await?;
            self.update(|s| {
                s.people.retain(|p| p.id != person.id);
                s.secrets_to_delete.push(person.id.clone());
            })?;
        }
        let secrets_kept = match self.secrets.delete_all(&person.id).await {
            Ok(()) => {
                self.done_with(&person.id, |s| &mut s.secrets_to_delete);
                None
            }
            Err(err) => {
                tracing::warn!(%err, person = %person.name, "keyring entries of a removed person left for the next start");
                Some(err)
            }
        };
        Ok(Removal { person, secrets_kept })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oauth2::{AccessToken, RefreshToken};

    fn tokens(n: u32) -> TokenSet {
        TokenSet {
            access_token: AccessToken::new(format!("at{n}")),
            refresh_token: Some(RefreshToken::new(format!("rt{n}"))),
            user_id: None,
        }
    }

    #[tokio::test]
    async fn sign_in_again_keeps_the_id_and_replaces_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let house = Household::open(SettingsFile::in_dir(dir.path()), SecretStore::memory()).unwrap();
        let secret = ClientSecret::new("s".into());
        let first = house
            .save_sign_in("Dana", "c", &secret, "http://r", &tokens(1))
            .await
            .unwrap();
        let second = house
            .save_sign_in(" Dana ", "c", &secret, "http://r", &tokens(2))
            .await
            .unwrap();
        assert_eq!(first.id, second.id);
        assert_eq!(house.settings().people.len(), 1);
        assert_eq!(
            house
                .secrets()
                .get(&first.id, SecretKind::RefreshToken)
                .await
                .unwrap()
                .as_deref(),
            Some("rt2")
        );
        let text = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
        assert!(!text.contains("rt2") && !text.contains("at2") && !text.contains("\"s\""));
    }

    fn tokens_of(n: u32, user: &str) -> TokenSet {
        TokenSet {
            user_id: Some(user.into()),
            ..tokens(n)
        }
    }

    async fn refresh_token(house: &Household, id: &str) -> Option<String> {
        house.secrets().get(id, SecretKind::RefreshToken).await.unwrap()
    }

    /// A person is bound to their Monzo user; other Monzo users are refused, and a
    /// sign-in that ended someone's tokens is kept for them.
    #[tokio::test]
    async fn a_person_is_bound_to_the_monzo_user_of_their_first_sign_in() {
        let house = Household::in_memory(Settings::default(), SecretStore::memory());
        let secret = ClientSecret::new("s".into());
        let dana = house
            .save_sign_in("Dana", "c", &secret, "http://r", &tokens_of(1, "user_dana"))
            .await
            .unwrap();
        assert_eq!(dana.monzo_user_id.as_deref(), Some("user_dana"));
        let olga = house
            .save_sign_in("Olga", "c2", &secret, "http://r", &tokens_of(2, "user_olga"))
            .await
            .unwrap();

        // Reconnecting Dana as a Monzo user nobody here has: refused, Dana unchanged.
        let err = house
            .save_sign_in("Dana", "c", &secret, "http://r", &tokens_of(3, "user_stranger"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                Error::WrongMonzoUser {
                    other: None,
                    kept: false,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.code(), "wrong_account");
        assert_eq!(refresh_token(&house, &dana.id).await.as_deref(), Some("rt1"));

        // Reconnecting Dana lands on Olga's Monzo with another client: refused, named.
        let err = house
            .save_sign_in("Dana", "c", &secret, "http://r", &tokens_of(4, "user_olga"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Olga's Monzo account"), "{err}");
        assert_eq!(refresh_token(&house, &olga.id).await.as_deref(), Some("rt2"));

        // A new person "Olga2" as Olga's Monzo user with another client: refused,
        // nothing added, Olga untouched.
        let err = house
            .save_sign_in("Olga2", "c", &secret, "http://r", &tokens_of(5, "user_olga"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::AlreadyInHousehold { kept: false, .. }),
            "{err:?}"
        );
        assert_eq!(err.code(), "already_configured");
        assert!(err.to_string().contains("as Olga"), "{err}");
        assert_eq!(house.settings().people.len(), 2);
        assert_eq!(refresh_token(&house, &olga.id).await.as_deref(), Some("rt2"));

        // The same with Olga's own client: Monzo ended Olga's tokens, so the new ones
        // are kept for Olga (awaiting approval again).
        let err = house
            .save_sign_in("Olga2", "c2", &secret, "http://r", &tokens_of(6, "user_olga"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::AlreadyInHousehold { kept: true, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("kept for Olga"), "{err}");
        assert_eq!(house.settings().people.len(), 2);
        assert_eq!(refresh_token(&house, &olga.id).await.as_deref(), Some("rt6"));

        // Dana again as herself: fine.
        house
            .save_sign_in("Dana", "c", &secret, "http://r", &tokens_of(7, "user_dana"))
            .await
            .unwrap();
        assert_eq!(refresh_token(&house, &dana.id).await.as_deref(), Some("rt7"));
    }

    #[tokio::test]
    async fn a_person_from_before_binding_is_bound_at_their_next_sign_in() {
        let house = Household::in_memory(Settings::default(), SecretStore::memory());
        let secret = ClientSecret::new("s".into());
        let dana = house
            .save_sign_in("Dana", "c", &secret, "http://r", &tokens(1))
            .await
            .unwrap();
        assert_eq!(dana.monzo_user_id, None);
        let again = house
            .save_sign_in("Dana", "c", &secret, "http://r", &tokens_of(2, "user_dana"))
            .await
            .unwrap();
        assert_eq!(again.monzo_user_id.as_deref(), Some("user_dana"));
    }

    #[tokio::test]
    async fn remove_clears_the_keyring_and_unknown_names_are_errors() {
        let house = Household::in_memory(Settings::default(), SecretStore::memory());
        let secret = ClientSecret::new("s".into());
        let p = house
            .save_sign_in("Alex", "c", &secret, "http://r", &tokens(1))
            .await
            .unwrap();
        assert!(matches!(
            house.remove_person("Nobody").await,
            Err(Error::UnknownPerson(_))
        ));
        house.remove_person("alex").await.unwrap();
        assert!(house.settings().people.is_empty());
        assert_eq!(
            house
                .secrets()
                .get(&p.id, SecretKind::ClientSecret)
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_failed_settings_save_leaves_no_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        let backend = std::sync::Arc::new(crate::secrets::MemoryBackend::default());
        let secrets = SecretStore::new(backend.clone(), crate::secrets::DEFAULT_KEYRING_TIMEOUT);
        let house = Household::open(SettingsFile::in_dir(&config), secrets).unwrap();
        // A folder where the write's temporary file goes makes every save fail.
        std::fs::create_dir(config.join(format!(".settings.json.{}.tmp", std::process::id()))).unwrap();
        let secret = ClientSecret::new("s".into());
        assert!(house
            .save_sign_in("Dana", "c", &secret, "http://r", &tokens(1))
            .await
            .is_err());
        assert!(house.settings().people.is_empty());
        assert!(backend.values().is_empty());
    }

    fn open(dir: &std::path::Path, backend: &std::sync::Arc<crate::secrets::MemoryBackend>) -> Household {
        let secrets = SecretStore::new(backend.clone(), crate::secrets::DEFAULT_KEYRING_TIMEOUT);
        Household::open(SettingsFile::in_dir(dir), secrets).unwrap()
    }

    /// A household made before household ids: its entries are moved under its new
    /// id at the first start, and everyone is still signed in.
    #[tokio::test]
    async fn a_household_from_before_ids_keeps_every_sign_in() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("settings.json"),
            r#"{"people":[{"id":"p_old","name":"Dana","client_id":"c","redirect_uri":"http://r"}],
                "home_assistant":{"url":"http://ha:8123","enabled":true}}"#,
        )
        .unwrap();
        let backend = std::sync::Arc::new(crate::secrets::MemoryBackend::default());
        let old = SecretStore::new(backend.clone(), crate::secrets::DEFAULT_KEYRING_TIMEOUT);
        old.set("p_old", SecretKind::RefreshToken, "rt").await.unwrap();
        old.set("p_old", SecretKind::ClientSecret, "cs").await.unwrap();
        old.set(HOME_ASSISTANT_OWNER, SecretKind::HomeAssistantToken, "ha")
            .await
            .unwrap();

        let house = open(dir.path(), &backend);
        let id = house.settings().household_id.expect("an id was given");
        assert_eq!(house.settings().secrets_to_move, ["p_old", HOME_ASSISTANT_OWNER]);
        house.tidy_keyring().await;
        let secrets = house.secrets();
        assert_eq!(refresh_token(&house, "p_old").await.as_deref(), Some("rt"));
        assert_eq!(
            secrets
                .get(HOME_ASSISTANT_OWNER, SecretKind::HomeAssistantToken)
                .await
                .unwrap()
                .as_deref(),
            Some("ha")
        );
        let mut names: Vec<String> = backend.names();
        names.sort();
        assert!(
            names.iter().all(|n| n.starts_with(&format!("{id}/"))),
            "{names:?}"
        );
        assert!(house.settings().secrets_to_move.is_empty());
        // The next start finds nothing to do and keeps the id.
        let again = open(dir.path(), &backend);
        assert_eq!(again.settings().household_id.as_deref(), Some(id.as_str()));
        assert_eq!(refresh_token(&again, "p_old").await.as_deref(), Some("rt"));
    }

    /// Two processes of one household, each with its own copy of the settings: what
    /// one writes survives the other's next change, and so do hand edits.
    #[tokio::test]
    async fn a_change_never_loses_another_process_s() {
        let dir = tempfile::tempdir().unwrap();
        let backend = std::sync::Arc::new(crate::secrets::MemoryBackend::default());
        let engine = open(dir.path(), &backend);
        let secret = ClientSecret::new("s".into());
        let dana = engine
            .save_sign_in("Dana", "c", &secret, "http://r", &tokens(1))
            .await
            .unwrap();
        // Another process signs Alex in, connects Home Assistant; a person edits the file.
        let cli = open(dir.path(), &backend);
        let alex = cli
            .save_sign_in("Alex", "c2", &secret, "http://r", &tokens(2))
            .await
            .unwrap();
        cli.update(|s| {
            s.home_assistant.enabled = true;
            s.home_assistant.url = Some("http://ha".into());
        })
        .unwrap();
        let path = dir.path().join("settings.json");
        let mut edited: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        edited["privacy_mode"] = true.into();
        edited["colour"] = "teal".into();
        edited["poll_interval_secs"] = "sixty".into();
        std::fs::write(&path, edited.to_string()).unwrap();
        // The engine, with its old copy, records an approval.
        engine.record_approval(&dana.id, Some(engine.clock().now()));
        let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let names: Vec<&str> = file["people"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Dana", "Alex"]);
        assert!(file["people"][0]["approved_at"].is_string());
        assert_eq!(file["home_assistant"]["enabled"], true);
        assert_eq!(file["privacy_mode"], true);
        assert_eq!(file["colour"], "teal");
        assert_eq!(
            file["poll_interval_secs"], "sixty",
            "an unreadable value nobody changed is kept"
        );
        // And the engine's copy follows.
        assert!(engine.settings().person_by_id(&alex.id).is_some());
        assert!(engine.settings().privacy_mode);
    }

    /// Removed while the keyring is away: refused, nothing changes. Removed while the
    /// keyring reads but its deletions fail: the person goes at once, their entries
    /// at the next start. Removed where settings cannot be written: nothing changes.
    #[tokio::test]
    async fn removal_changes_settings_first_and_never_leaves_entries_behind() {
        let dir = tempfile::tempdir().unwrap();
        let backend = std::sync::Arc::new(crate::secrets::MemoryBackend::default());
        let house = open(dir.path(), &backend);
        let secret = ClientSecret::new("s".into());
        house
            .save_sign_in("Dana", "c", &secret, "http://r", &tokens(1))
            .await
            .unwrap();
        let stored = backend.values().len();
        let away = SecretStore::new(
            std::sync::Arc::new(FailingBackend),
            crate::secrets::DEFAULT_KEYRING_TIMEOUT,
        );
        let without_keyring = Household::open(SettingsFile::in_dir(dir.path()), away).unwrap();
        assert!(matches!(
            without_keyring.remove_person("Dana").await,
            Err(Error::KeyringLocked)
        ));
        assert_eq!(without_keyring.settings().people.len(), 1, "nothing changed");
        assert_eq!(backend.values().len(), stored);

        let deletions_fail = SecretStore::new(
            std::sync::Arc::new(DeletionsFail(backend.clone())),
            crate::secrets::DEFAULT_KEYRING_TIMEOUT,
        );
        let deleting_fails = Household::open(SettingsFile::in_dir(dir.path()), deletions_fail).unwrap();
        let removal = deleting_fails.remove_person("Dana").await.unwrap();
        assert!(removal.secrets_kept.is_some());
        assert!(deleting_fails.settings().people.is_empty());
        assert_eq!(backend.values().len(), stored, "entries wait for the next start");
        let next_start = open(dir.path(), &backend);
        next_start.tidy_keyring().await;
        assert!(backend.values().is_empty());
        assert!(next_start.settings().secrets_to_delete.is_empty());

        let dana = house
            .save_sign_in("Dana", "c", &secret, "http://r", &tokens(2))
            .await
            .unwrap();
        // Settings that cannot be written (a folder where the write's temporary file
        // goes): the removal fails and the sign-in stays.
        let blocker = dir
            .path()
            .join(format!(".settings.json.{}.tmp", std::process::id()));
        std::fs::create_dir(&blocker).unwrap();
        assert!(house.remove_person("Dana").await.is_err());
        std::fs::remove_dir(&blocker).unwrap();
        assert!(house.settings().person_by_id(&dana.id).is_some());
        assert_eq!(refresh_token(&house, &dana.id).await.as_deref(), Some("rt2"));
    }

    /// A keyring that reads and stores, but whose deletions fail (as one that locks
    /// between two calls).
    struct DeletionsFail(std::sync::Arc<crate::secrets::MemoryBackend>);
    impl crate::secrets::SecretBackend for DeletionsFail {
        fn get(&self, entry: &str) -> Result<Option<String>> {
            self.0.get(entry)
        }
        fn set(&self, entry: &str, value: &str) -> Result<()> {
            self.0.set(entry, value)
        }
        fn delete(&self, _: &str) -> Result<()> {
            Err(Error::KeyringLocked)
        }
    }

    struct FailingBackend;
    impl crate::secrets::SecretBackend for FailingBackend {
        fn get(&self, _: &str) -> Result<Option<String>> {
            Err(Error::KeyringLocked)
        }
        fn set(&self, _: &str, _: &str) -> Result<()> {
            Err(Error::KeyringLocked)
        }
        fn delete(&self, _: &str) -> Result<()> {
            Err(Error::KeyringLocked)
        }
    }
}
