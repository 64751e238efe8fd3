//! Signed-in calls to Monzo: one path for the poll, sign-in, and moving money.
//!
//! A [`Session`] per person holds their tokens (from memory, else the keyring).
//! [`Sessions::authorized`] runs one call with the person's access token: transient
//! failures are retried by the caller's [`RetryPolicy`]; an expired or refused token
//! (any 401) is refreshed and the call tried again. Refreshes are serialised per
//! person across every process of the household (the person's lock, see
//! `Household::person_lock`): before refreshing, the keyring is read again, and
//! tokens another process rotated meanwhile are used instead of refreshing (Monzo's
//! refresh tokens work once, so a second refresh with the old one would end the
//! sign-in). The rotated tokens are written to the keyring (refresh token first)
//! before they are used, because Monzo invalidates the old ones at once (Monzo's
//! docs, "Refreshing access"), and only while the person is still in the settings,
//! so a removed person's tokens are never written back. Tokens that could not be
//! written are kept in memory, marked unsaved, and written at the next call or at
//! [`Sessions::save_unsaved`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use oauth2::{AccessToken, ClientSecret, RefreshToken};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::household::Household;
use crate::monzo::{Endpoints, MonzoApi};
use crate::oauth::{self, ClientCredentials};
use crate::retry::RetryPolicy;
use crate::secrets::SecretKind;
use crate::settings::PersonSettings;
use crate::sync::lock;

/// A token that expires again right after a refresh is Monzo (or the network)
/// misbehaving, not the sign-in ending: one call refreshes at most this often.
const MAX_REFRESHES_PER_CALL: u32 = 3;

/// Tokens of one person as known in memory.
#[derive(Default)]
struct Tokens {
    access: Option<AccessToken>,
    refresh: Option<RefreshToken>,
    client_secret: Option<ClientSecret>,
    /// A refresh token Monzo refused: not tried again until a new sign-in stores
    /// another one.
    dead_refresh: Option<String>,
    /// Rotated tokens that could not be written to the keyring yet.
    unsaved: bool,
    /// The sign-in these tokens came from (`PersonSettings::signed_in_at`): after a
    /// newer sign-in the keyring holds new tokens, and these are dead.
    signed_in_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One person's session.
#[derive(Default)]
pub(crate) struct Session {
    tokens: tokio::sync::Mutex<Tokens>,
}

/// Every person's session, and what they need to call Monzo.
pub struct Sessions {
    household: Arc<Household>,
    http: reqwest::Client,
    api: MonzoApi,
    /// How a refresh is retried.
    refresh_retry: RetryPolicy,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
}

impl Sessions {
    pub fn new(
        household: Arc<Household>,
        http: reqwest::Client,
        api: MonzoApi,
        refresh_retry: RetryPolicy,
    ) -> Self {
        Self {
            household,
            http,
            api,
            refresh_retry,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn api(&self) -> &MonzoApi {
        &self.api
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn household(&self) -> &Arc<Household> {
        &self.household
    }

    fn session(&self, person_id: &str) -> Arc<Session> {
        lock(&self.sessions)
            .entry(person_id.to_owned())
            .or_default()
            .clone()
    }

    /// Drops what is held for a person (they were removed).
    pub(crate) fn forget(&self, person_id: &str) {
        lock(&self.sessions).remove(person_id);
    }

    /// Runs one API call with `person`'s token: transient failures retried by
    /// `policy` (each try waits for a permit of `limit`, when given); an expired or
    /// refused token refreshed, then the call tried again. The call gets the access
    /// token each time it is tried.
    ///
    /// Errors: the call's own; [`Error::SignInRequired`] when Monzo refuses the
    /// refresh (the person must sign in again); [`Error::SecretMissing`] and keyring
    /// errors when the tokens cannot be read.
    pub(crate) async fn authorized<T, F, Fut>(
        &self,
        person: &PersonSettings,
        policy: &RetryPolicy,
        limit: Option<&Semaphore>,
        what: &str,
        call: F,
    ) -> Result<T>
    where
        F: Fn(AccessToken) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let session = self.session(&person.id);
        let attempt = |token: AccessToken| {
            let call = &call;
            policy.run(what, move || {
                let token = token.clone();
                async move {
                    let _permit = match limit {
                        // The semaphore is never closed, so acquiring only waits.
                        Some(limit) => Some(
                            limit
                                .acquire()
                                .await
                                .map_err(|_| Error::Network("shutting down".into()))?,
                        ),
                        None => None,
                    };
                    call(token).await
                }
            })
        };
        let mut token = self.access_token(person, &session).await?;
        let mut refreshes = 0;
        loop {
            match attempt(token.clone()).await {
                Err(Error::TokenExpired | Error::TokenRejected(_)) if refreshes < MAX_REFRESHES_PER_CALL => {
                    refreshes += 1;
                    token = self.refreshed_token(person, &session, &token).await?;
                }
                Err(Error::TokenExpired | Error::TokenRejected(_)) => {
                    return Err(Error::SignInRequired {
                        person: person.name.clone(),
                    })
                }
                other => return other,
            }
        }
    }

    /// Writes every session's rotated tokens that are not in the keyring yet (at
    /// shutdown: after this, stopping loses no sign-in). Returns the names of the
    /// people whose tokens could still not be written: they must sign in again.
    pub(crate) async fn save_unsaved(&self) -> Vec<String> {
        let sessions: Vec<(String, Arc<Session>)> = lock(&self.sessions)
            .iter()
            .map(|(id, s)| (id.clone(), s.clone()))
            .collect();
        let mut lost = Vec::new();
        for (person_id, session) in sessions {
            let Some(person) = self.household.person_by_id(&person_id) else {
                continue;
            };
            let mut tokens = session.tokens.lock().await;
            save(&self.household, &person, &mut tokens).await;
            if tokens.unsaved {
                lost.push(person.name.clone());
            }
        }
        lost
    }

    /// The person's access token, from memory or the keyring.
    async fn access_token(&self, person: &PersonSettings, session: &Arc<Session>) -> Result<AccessToken> {
        let mut tokens = session.tokens.lock().await;
        if tokens.signed_in_at != person.signed_in_at {
            *tokens = Tokens {
                signed_in_at: person.signed_in_at,
                ..Tokens::default()
            };
        }
        save(&self.household, person, &mut tokens).await;
        if let Some(access) = &tokens.access {
            return Ok(access.clone());
        }
        // Under the person's lock: never a sign-in or refresh half stored.
        let stored = {
            let _lock = self.household.person_lock(&person.id).await?;
            Stored::read(&self.household, person).await?
        };
        if tokens.dead_refresh.as_deref() == Some(stored.refresh.as_str()) {
            return Err(Error::SignInRequired {
                person: person.name.clone(),
            });
        }
        tokens.refresh = Some(RefreshToken::new(stored.refresh));
        tokens.client_secret = Some(ClientSecret::new(stored.client_secret));
        tokens.dead_refresh = None;
        match stored.access {
            Some(access) => {
                let access = AccessToken::new(access);
                tokens.access = Some(access.clone());
                Ok(access)
            }
            None => {
                drop(tokens);
                self.refreshed_token(person, session, &AccessToken::new(String::new()))
                    .await
            }
        }
    }

    /// Refreshes the person's tokens unless someone else already replaced `stale`.
    ///
    /// The refresh and the keyring writes after it run as a task of their own: once
    /// Monzo rotates the tokens the old refresh token is dead, so the new ones must
    /// reach the keyring even when the caller is given up on (a poll cut short by
    /// quitting). The task holds the session's lock until they are saved, so
    /// [`Sessions::save_unsaved`] at shutdown waits for it: at most the refresh's
    /// retry budget plus two keyring writes.
    async fn refreshed_token(
        &self,
        person: &PersonSettings,
        session: &Arc<Session>,
        stale: &AccessToken,
    ) -> Result<AccessToken> {
        let refresh = refresh_and_save(
            self.household.clone(),
            self.http.clone(),
            self.api.endpoints().clone(),
            self.refresh_retry,
            person.clone(),
            session.clone(),
            stale.clone(),
        );
        tokio::spawn(refresh).await.unwrap_or_else(|err| {
            tracing::error!(%err, "a token refresh stopped abnormally");
            Err(Error::Network("the token refresh stopped".into()))
        })
    }
}

/// What the keyring holds for a person.
struct Stored {
    refresh: String,
    client_secret: String,
    access: Option<String>,
}

impl Stored {
    /// Errors: [`Error::SecretMissing`] without a refresh token or client secret;
    /// keyring errors.
    async fn read(household: &Household, person: &PersonSettings) -> Result<Stored> {
        let secrets = household.secrets();
        let missing = |kind: SecretKind| Error::secret_missing(&person.name, kind.label());
        let refresh = secrets
            .get(&person.id, SecretKind::RefreshToken)
            .await?
            .ok_or_else(|| missing(SecretKind::RefreshToken))?;
        let client_secret = secrets
            .get(&person.id, SecretKind::ClientSecret)
            .await?
            .ok_or_else(|| missing(SecretKind::ClientSecret))?;
        let access = secrets.get(&person.id, SecretKind::AccessToken).await?;
        Ok(Stored {
            refresh,
            client_secret,
            access,
        })
    }
}

/// See [`Sessions::refreshed_token`]; everything owned, to run as a task.
async fn refresh_and_save(
    household: Arc<Household>,
    http: reqwest::Client,
    endpoints: Endpoints,
    refresh_retry: RetryPolicy,
    person: PersonSettings,
    session: Arc<Session>,
    stale: AccessToken,
) -> Result<AccessToken> {
    let mut tokens = session.tokens.lock().await;
    if let Some(current) = &tokens.access {
        if current.secret() != stale.secret() {
            return Ok(current.clone());
        }
    }
    let _lock = household.person_lock(&person.id).await?;
    if let Some(access) = adopt_newer(&household, &person, &mut tokens, &stale).await? {
        return Ok(access);
    }
    let ended = || Error::SignInRequired {
        person: person.name.clone(),
    };
    let refresh = tokens.refresh.clone().ok_or_else(ended)?;
    let creds = ClientCredentials {
        client_id: person.client_id.clone(),
        client_secret: tokens.client_secret.clone().ok_or_else(ended)?,
        redirect_uri: person.redirect_uri.clone(),
    };
    let result = refresh_retry
        .run("refresh", || {
            // Each try owns its inputs (clones of Arc-backed handles), which keeps
            // the retry future `Send` for spawned tasks.
            let (http, endpoints, creds) = (http.clone(), endpoints.clone(), creds.clone());
            let (refresh, name) = (refresh.clone(), person.name.clone());
            async move { oauth::refresh(&http, &endpoints, &creds, &refresh, &name).await }
        })
        .await;
    match result {
        Ok(rotated) => {
            tracing::info!(person = %person.name, "access token refreshed");
            tokens.access = Some(rotated.access_token.clone());
            tokens.refresh = rotated.refresh_token.clone();
            tokens.unsaved = true;
            save_locked(&household, &person, &mut tokens).await;
            if let (None, Some(user)) = (&person.monzo_user_id, &rotated.user_id) {
                // Signed in before people were bound to their Monzo user.
                household.bind_monzo_user(&person.id, user);
            }
            Ok(rotated.access_token)
        }
        Err(err @ (Error::SignInRequired { .. } | Error::BadClientCredentials)) => {
            tracing::warn!(person = %person.name, code = err.code(), "refresh refused; the person must sign in again");
            tokens.dead_refresh = Some(refresh.secret().clone());
            tokens.access = None;
            tokens.refresh = None;
            Err(err)
        }
        Err(err) => Err(err),
    }
}

/// Tokens another process of the household stored since `tokens` were read (it
/// refreshed them, or signed the person in again): taken instead of refreshing, whose
/// old refresh token Monzo would refuse. Returns the access token to use, if the
/// keyring has one other than `stale`. Called under the person's lock.
async fn adopt_newer(
    household: &Household,
    person: &PersonSettings,
    tokens: &mut Tokens,
    stale: &AccessToken,
) -> Result<Option<AccessToken>> {
    if tokens.unsaved {
        // Our own rotated tokens are newer than anything in the keyring.
        return Ok(None);
    }
    let stored = Stored::read(household, person).await?;
    let ours = tokens.refresh.as_ref().map(|r| r.secret().as_str());
    if ours == Some(stored.refresh.as_str())
        || tokens.dead_refresh.as_deref() == Some(stored.refresh.as_str())
    {
        return Ok(None);
    }
    tracing::info!(person = %person.name, "another monzo-tray process refreshed the tokens; using those");
    tokens.refresh = Some(RefreshToken::new(stored.refresh));
    tokens.client_secret = Some(ClientSecret::new(stored.client_secret));
    tokens.dead_refresh = None;
    tokens.access = None;
    match stored.access.filter(|a| a != stale.secret()) {
        Some(access) => {
            let access = AccessToken::new(access);
            tokens.access = Some(access.clone());
            Ok(Some(access))
        }
        // A newer refresh token without an access token: refresh with it.
        None => Ok(None),
    }
}

/// [`save_locked`] under the person's lock.
async fn save(household: &Household, person: &PersonSettings, tokens: &mut Tokens) {
    if !tokens.unsaved {
        return;
    }
    match household.person_lock(&person.id).await {
        Ok(_lock) => save_locked(household, person, tokens).await,
        Err(err) => {
            tracing::error!(person = %person.name, %err, "could not store the refreshed sign-in; will retry")
        }
    }
}

/// Writes rotated tokens to the keyring: the refresh token first, since only it
/// can bring the sign-in back. On failure they stay in memory, marked unsaved. A
/// person no longer in the settings as they were (removed, or signed in again by
/// another process) gets nothing written: the tokens are dropped. Called under the
/// person's lock.
async fn save_locked(household: &Household, person: &PersonSettings, tokens: &mut Tokens) {
    if !tokens.unsaved {
        return;
    }
    if !household.still_signed_in(person) {
        tracing::info!(person = %person.name, "removed or signed in again meanwhile; the refreshed tokens are not stored");
        *tokens = Tokens {
            signed_in_at: tokens.signed_in_at,
            ..Tokens::default()
        };
        return;
    }
    let (Some(refresh), Some(access)) = (&tokens.refresh, &tokens.access) else {
        return;
    };
    let secrets = household.secrets();
    let saved = async {
        secrets
            .set(&person.id, SecretKind::RefreshToken, refresh.secret())
            .await?;
        secrets
            .set(&person.id, SecretKind::AccessToken, access.secret())
            .await
    }
    .await;
    match saved {
        Ok(()) => tokens.unsaved = false,
        Err(err) => {
            tracing::error!(person = %person.name, %err, "could not store the refreshed sign-in; will retry")
        }
    }
}
