//! Secrets: client secrets, access and refresh tokens, the Home Assistant token and
//! the MQTT broker's password; one keyring entry per household, owner (a person, or
//! `home_assistant`) and kind: `<household id>/<owner>/<kind>`, so two config
//! folders (two households on one account) never share an entry. Entries made
//! before household ids were `<owner>/<kind>`; `Household` moves them.
//!
//! The OS keyring is reached through the `keyring` crate: the Secret Service on
//! Linux, the Keychain on macOS, the Credential Manager on Windows (one feature per
//! target in this crate's Cargo.toml).
//! Every call runs on a blocking thread with a time limit: with a locked keyring and
//! a display, the Secret Service waits for a password prompt forever. Tests use the
//! in-memory backend (keyring's own mock does not share state between entries).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};

/// The keyring "service" all entries are filed under.
pub(crate) const KEYRING_SERVICE: &str = "monzo-tray";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    ClientSecret,
    AccessToken,
    RefreshToken,
    HomeAssistantToken,
    MqttPassword,
}

impl SecretKind {
    pub(crate) const ALL: [SecretKind; 5] = [
        SecretKind::ClientSecret,
        SecretKind::AccessToken,
        SecretKind::RefreshToken,
        SecretKind::HomeAssistantToken,
        SecretKind::MqttPassword,
    ];

    fn key(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "client_secret",
            SecretKind::AccessToken => "access_token",
            SecretKind::RefreshToken => "refresh_token",
            SecretKind::HomeAssistantToken => "home_assistant_token",
            SecretKind::MqttPassword => "mqtt_password",
        }
    }

    /// For messages: "refresh token".
    pub(crate) fn label(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "client secret",
            SecretKind::AccessToken => "access token",
            SecretKind::RefreshToken => "refresh token",
            SecretKind::HomeAssistantToken => "Home Assistant token",
            SecretKind::MqttPassword => "MQTT broker password",
        }
    }
}

/// Where secrets physically live. Calls may block.
pub trait SecretBackend: Send + Sync + 'static {
    fn get(&self, entry: &str) -> Result<Option<String>>;
    fn set(&self, entry: &str, value: &str) -> Result<()>;
    /// Deleting what is not there is not an error.
    fn delete(&self, entry: &str) -> Result<()>;
}

/// The OS keyring.
pub(crate) struct KeyringBackend {
    service: String,
}

impl KeyringBackend {
    pub(crate) fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    fn entry(&self, name: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, name).map_err(map_keyring_error)
    }
}

fn map_keyring_error(err: keyring::Error) -> Error {
    match err {
        keyring::Error::NoStorageAccess(_) => Error::KeyringLocked,
        keyring::Error::PlatformFailure(e) => Error::KeyringUnavailable(e.to_string()),
        other => Error::Keyring(other.to_string()),
    }
}

impl SecretBackend for KeyringBackend {
    fn get(&self, entry: &str) -> Result<Option<String>> {
        match self.entry(entry)?.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(map_keyring_error(err)),
        }
    }

    fn set(&self, entry: &str, value: &str) -> Result<()> {
        self.entry(entry)?.set_password(value).map_err(map_keyring_error)
    }

    fn delete(&self, entry: &str) -> Result<()> {
        match self.entry(entry)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(err) => Err(map_keyring_error(err)),
        }
    }
}

/// Secrets in memory only: tests, and the demo (whose sandbox sign-ins die with it).
#[derive(Default)]
pub struct MemoryBackend {
    entries: Mutex<HashMap<String, String>>,
}

impl MemoryBackend {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        crate::sync::lock(&self.entries)
    }

    /// Every stored value (tests check secrets never leak elsewhere).
    pub fn values(&self) -> Vec<String> {
        self.entries().values().cloned().collect()
    }

    /// Every entry's name (tests check where entries are filed).
    #[cfg(test)]
    pub(crate) fn names(&self) -> Vec<String> {
        self.entries().keys().cloned().collect()
    }
}

impl SecretBackend for MemoryBackend {
    fn get(&self, entry: &str) -> Result<Option<String>> {
        Ok(self.entries().get(entry).cloned())
    }

    fn set(&self, entry: &str, value: &str) -> Result<()> {
        self.entries().insert(entry.to_owned(), value.to_owned());
        Ok(())
    }

    fn delete(&self, entry: &str) -> Result<()> {
        self.entries().remove(entry);
        Ok(())
    }
}

/// The async, time-bounded face of a backend.
#[derive(Clone)]
pub struct SecretStore {
    backend: Arc<dyn SecretBackend>,
    timeout: Duration,
    /// The household whose entries these are (`None`: the layout from before
    /// household ids).
    scope: Option<String>,
}

pub(crate) const DEFAULT_KEYRING_TIMEOUT: Duration = Duration::from_secs(5);

impl SecretStore {
    pub fn new(backend: Arc<dyn SecretBackend>, timeout: Duration) -> Self {
        Self {
            backend,
            timeout,
            scope: None,
        }
    }

    /// The same store, filing entries under `household_id`.
    pub(crate) fn scoped(&self, household_id: &str) -> Self {
        Self {
            scope: Some(household_id.to_owned()),
            ..self.clone()
        }
    }

    /// The same store as entries were filed before household ids (to move them).
    pub(crate) fn unscoped(&self) -> Self {
        Self {
            scope: None,
            ..self.clone()
        }
    }

    pub fn keyring() -> Self {
        Self::new(
            Arc::new(KeyringBackend::new(KEYRING_SERVICE)),
            DEFAULT_KEYRING_TIMEOUT,
        )
    }

    pub fn memory() -> Self {
        Self::new(Arc::new(MemoryBackend::default()), DEFAULT_KEYRING_TIMEOUT)
    }

    /// Entry name: `<household id>/<owner>/<kind>` (`<owner>/<kind>` unscoped),
    /// owner being a person's id or `home_assistant`.
    fn entry_name(&self, owner: &str, kind: SecretKind) -> String {
        match &self.scope {
            Some(scope) => format!("{scope}/{owner}/{}", kind.key()),
            None => format!("{owner}/{}", kind.key()),
        }
    }

    /// Runs a blocking keyring call on a blocking thread, bounded by the timeout.
    /// Owns everything it uses, so the future is `'static` and `Send`.
    fn bounded<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn SecretBackend) -> Result<T> + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T>> + Send + 'static {
        let backend = self.backend.clone();
        let timeout = self.timeout;
        async move {
            let task = tokio::task::spawn_blocking(move || call(backend.as_ref()));
            match tokio::time::timeout(timeout, task).await {
                Ok(Ok(result)) => result,
                Ok(Err(join)) => Err(Error::Keyring(format!("the keyring call failed: {join}"))),
                // The blocking thread is left to finish or hang on its own; we answer now.
                Err(_) => Err(Error::KeyringTimeout(timeout)),
            }
        }
    }

    /// Fails now, with the reason, if secrets cannot be stored: checked before a
    /// sign-in starts, so nobody goes through the browser for nothing.
    pub async fn check_available(&self) -> Result<()> {
        self.get("availability-check", SecretKind::AccessToken)
            .await
            .map(|_| ())
    }

    pub async fn get(&self, owner: &str, kind: SecretKind) -> Result<Option<String>> {
        let name = self.entry_name(owner, kind);
        self.bounded(move |b| b.get(&name)).await
    }

    pub async fn set(&self, owner: &str, kind: SecretKind, value: &str) -> Result<()> {
        let name = self.entry_name(owner, kind);
        let value = value.to_owned();
        self.bounded(move |b| b.set(&name, &value)).await
    }

    pub(crate) async fn delete(&self, owner: &str, kind: SecretKind) -> Result<()> {
        let name = self.entry_name(owner, kind);
        self.bounded(move |b| b.delete(&name)).await
    }

    /// Removes every kind of secret of an owner; the first failure is reported after
    /// trying them all.
    pub(crate) async fn delete_all(&self, owner: &str) -> Result<()> {
        let mut first_error = None;
        for kind in SecretKind::ALL {
            if let Err(err) = self.delete(owner, kind).await {
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct HangingBackend;
    impl SecretBackend for HangingBackend {
        fn get(&self, _: &str) -> Result<Option<String>> {
            std::thread::sleep(Duration::from_secs(2));
            Ok(None)
        }
        fn set(&self, _: &str, _: &str) -> Result<()> {
            Err(Error::KeyringLocked)
        }
        fn delete(&self, _: &str) -> Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn memory_round_trip_and_delete_all() {
        let store = SecretStore::memory();
        store.set("p1", SecretKind::RefreshToken, "r").await.unwrap();
        store.set("p1", SecretKind::AccessToken, "a").await.unwrap();
        store.set("p2", SecretKind::AccessToken, "b").await.unwrap();
        assert_eq!(
            store
                .get("p1", SecretKind::RefreshToken)
                .await
                .unwrap()
                .as_deref(),
            Some("r")
        );
        store.delete_all("p1").await.unwrap();
        assert_eq!(store.get("p1", SecretKind::AccessToken).await.unwrap(), None);
        assert_eq!(
            store.get("p2", SecretKind::AccessToken).await.unwrap().as_deref(),
            Some("b")
        );
    }

    /// The Credential Manager, through the same store and entry names the app uses:
    /// stored, read, replaced, deleted. Windows only: on Linux the real store needs a
    /// session bus and an unlocked keyring, which the end-to-end suites start
    /// (tests/tests/cli.rs).
    #[cfg(windows)]
    #[tokio::test]
    async fn the_credential_manager_stores_reads_and_deletes_a_secret() {
        let store = SecretStore::keyring();
        store.check_available().await.unwrap();
        let owner = format!("keyring-test-{}", std::process::id());
        let kind = SecretKind::MqttPassword;
        assert_eq!(store.get(&owner, kind).await.unwrap(), None);
        store.set(&owner, kind, "first").await.unwrap();
        assert_eq!(store.get(&owner, kind).await.unwrap().as_deref(), Some("first"));
        // Replaced, not added beside; any Unicode a password may hold comes back.
        let second = "pässwörd ✓ 🔑 \"quoted\"";
        store.set(&owner, kind, second).await.unwrap();
        assert_eq!(store.get(&owner, kind).await.unwrap().as_deref(), Some(second));
        store.delete_all(&owner).await.unwrap();
        assert_eq!(store.get(&owner, kind).await.unwrap(), None);
        // Deleting what is not there is not an error.
        store.delete(&owner, kind).await.unwrap();
    }

    #[tokio::test]
    async fn households_never_share_an_entry() {
        let store = SecretStore::memory();
        let (one, two) = (store.scoped("h_one"), store.scoped("h_two"));
        one.set("home_assistant", SecretKind::HomeAssistantToken, "t1")
            .await
            .unwrap();
        two.set("home_assistant", SecretKind::HomeAssistantToken, "t2")
            .await
            .unwrap();
        let token = |s: SecretStore| async move {
            s.get("home_assistant", SecretKind::HomeAssistantToken)
                .await
                .unwrap()
        };
        assert_eq!(token(one.clone()).await.as_deref(), Some("t1"));
        assert_eq!(token(two).await.as_deref(), Some("t2"));
        assert_eq!(token(one.unscoped()).await, None);
    }

    #[tokio::test]
    async fn a_hanging_keyring_is_cut_off() {
        let store = SecretStore::new(Arc::new(HangingBackend), Duration::from_millis(100));
        let started = std::time::Instant::now();
        assert!(matches!(
            store.get("p", SecretKind::AccessToken).await,
            Err(Error::KeyringTimeout(_))
        ));
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(matches!(
            store.set("p", SecretKind::AccessToken, "x").await,
            Err(Error::KeyringLocked)
        ));
    }
}
