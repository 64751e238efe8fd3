//! The household: the people in settings together with their secrets in the
//! keyring, changed so that nothing is ever stored half-way.

use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use oauth2::ClientSecret;
use rand::distr::{Alphanumeric, SampleString};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::oauth::TokenSet;
use crate::secrets::{SecretKind, SecretStore};
use crate::settings::{PersonSettings, Settings, SettingsFile};
use crate::sync::lock;
use crate::transactions::seen::{SeenTransactions, SEEN_FILE};

pub struct Household {
    /// `None` keeps settings in memory only (the demo).
    file: Option<SettingsFile>,
    settings: Mutex<Settings>,
    secrets: SecretStore,
    /// Wall time for everything recorded here and by those who use the household.
    clock: Clock,
    /// The last transaction seen per account.
    seen_transactions: SeenTransactions,
    /// Said once to the person, e.g. that a broken settings file was set aside.
    pub load_warning: Option<String>,
}

/// Checks a person's display name.
pub fn validate_person_name(name: &str) -> Result<String> {
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

impl Household {
    pub fn open(file: SettingsFile, secrets: SecretStore) -> Result<Self> {
        let loaded = file.load()?;
        let seen_transactions = SeenTransactions::open(file.path().with_file_name(SEEN_FILE));
        Ok(Self {
            file: Some(file),
            settings: Mutex::new(loaded.settings),
            secrets,
            clock: Clock::system(),
            seen_transactions,
            load_warning: loaded.warning,
        })
    }

    pub fn in_memory(settings: Settings, secrets: SecretStore) -> Self {
        Self {
            file: None,
            settings: Mutex::new(settings),
            secrets,
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
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The last transaction seen per account, kept across restarts.
    pub fn seen_transactions(&self) -> &SeenTransactions {
        &self.seen_transactions
    }

    fn lock(&self) -> MutexGuard<'_, Settings> {
        lock(&self.settings)
    }

    pub fn settings(&self) -> Settings {
        self.lock().clone()
    }

    pub fn secrets(&self) -> &SecretStore {
        &self.secrets
    }

    /// Changes settings and saves them; if saving fails, the change is undone.
    pub fn update<T>(&self, change: impl FnOnce(&mut Settings) -> T) -> Result<T> {
        let mut settings = self.lock();
        let mut next = settings.clone();
        let out = change(&mut next);
        if next != *settings {
            if let Some(file) = &self.file {
                file.save(&next)?;
            }
            *settings = next;
        }
        Ok(out)
    }

    pub fn person(&self, name: &str) -> Result<PersonSettings> {
        self.lock()
            .person_by_name(name)
            .cloned()
            .ok_or_else(|| Error::UnknownPerson(name.trim().to_owned()))
    }

    /// Stores a completed sign-in: secrets first, then the person in settings. A new
    /// person whose settings cannot be saved leaves no keyring entries behind.
    ///
    /// A person is bound to the Monzo user of their first sign-in (`tokens.user_id`).
    /// Refused, with nothing of `name` changed: a sign-in of an existing person as
    /// another Monzo user ([`Error::WrongMonzoUser`]), and a sign-in as a Monzo user
    /// someone else in the household is bound to ([`Error::AlreadyInHousehold`] for
    /// a new person). If that other person used the same OAuth client, Monzo has just
    /// ended their tokens (one per user and client), so the new ones are kept for
    /// them: nobody ends up signed out.
    pub async fn save_sign_in(
        &self,
        name: &str,
        client_id: &str,
        client_secret: &ClientSecret,
        redirect_uri: &str,
        tokens: &TokenSet,
    ) -> Result<PersonSettings> {
        let name = validate_person_name(name)?;
        let existing = self.lock().person_by_name(&name).cloned();
        if let Some(user) = tokens.user_id.as_deref() {
            let owner = self
                .lock()
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
        let id = existing.as_ref().map(|p| p.id.clone()).unwrap_or_else(|| {
            format!(
                "p_{}",
                Alphanumeric.sample_string(&mut rand::rng(), 12).to_lowercase()
            )
        });
        let stored = async {
            self.store_tokens(&id, tokens).await?;
            self.secrets
                .set(&id, SecretKind::ClientSecret, client_secret.secret())
                .await
        }
        .await;
        if let Err(err) = stored {
            if existing.is_none() {
                let _ = self.secrets.delete_all(&id).await;
            }
            return Err(err);
        }
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
            other: existing.map(|p| p.other).unwrap_or_default(),
        };
        let saved = self.update(|s| match s.person_by_id_mut(&id) {
            Some(slot) => *slot = person.clone(),
            None => s.people.push(person.clone()),
        });
        if let Err(err) = saved {
            if self.person_by_id(&id).is_none() {
                let _ = self.secrets.delete_all(&id).await;
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

    pub fn person_by_id(&self, id: &str) -> Option<PersonSettings> {
        self.lock().person_by_id(id).cloned()
    }

    /// Records when the person's in-app approval was first seen in use (`None`: it
    /// ended). Monzo asks again `APPROVAL_LIFETIME_DAYS` later. A failure to save is
    /// logged: it costs only the reminder's date.
    pub fn record_approval(&self, person_id: &str, approved_at: Option<DateTime<Utc>>) {
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
    pub fn bind_monzo_user(&self, person_id: &str, user_id: &str) {
        let bound = self.update(|s| {
            if let Some(p) = s.person_by_id_mut(person_id) {
                p.monzo_user_id.get_or_insert_with(|| user_id.to_owned());
            }
        });
        if let Err(err) = bound {
            tracing::warn!(%err, "could not record the person's Monzo user");
        }
    }

    /// Removes a person from settings and every keyring entry of theirs.
    pub async fn remove_person(&self, name: &str) -> Result<PersonSettings> {
        let person = self.person(name)?;
        // Keyring first: if it fails, the person stays listed and can be removed again.
        self.secrets.delete_all(&person.id).await?;
        self.update(|s| s.people.retain(|p| p.id != person.id))?;
        Ok(person)
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
            expires_in: None,
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
        // A file where the config folder should be makes every save fail.
        std::fs::write(&config, "").unwrap();
        let secret = ClientSecret::new("s".into());
        assert!(house
            .save_sign_in("Dana", "c", &secret, "http://r", &tokens(1))
            .await
            .is_err());
        assert!(house.settings().people.is_empty());
        assert!(backend.values().is_empty());
    }
}
