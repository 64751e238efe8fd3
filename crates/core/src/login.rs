//! A person's sign-in, start to finish: authorize URL → code (loopback redirect or
//! pasted) → token exchange → stored → in-app approval check. Used by the command
//! line and the desktop UI alike.

use oauth2::{AuthorizationCode, ClientSecret, CsrfToken};
use url::Url;

use crate::error::{Error, Result};
use crate::household::{validate_person_name, Household};
use crate::monzo::MonzoApi;
use crate::oauth::{self, ClientCredentials};
use crate::retry::RetryPolicy;
use crate::secrets::SecretKind;
use crate::session::Sessions;
use crate::settings::PersonSettings;

/// Whether Monzo already lets us read data after the sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// The person approved in the Monzo app already.
    Approved,
    /// Monzo waits for the person to approve access in the Monzo app.
    Pending,
    /// Could not tell (Monzo or the network had trouble); polling will find out.
    Unknown,
}

pub struct SignIn {
    name: String,
    creds: ClientCredentials,
    authorize_url: Url,
    state: CsrfToken,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("name", &self.name)
            .field("creds", &self.creds)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct SignedIn {
    pub person: PersonSettings,
    pub approval: Approval,
}

impl SignIn {
    /// Checks the input and makes the authorize URL. Nothing is stored yet.
    pub fn start(
        api: &MonzoApi,
        name: &str,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
    ) -> Result<Self> {
        let name = validate_person_name(name)?;
        let creds = ClientCredentials {
            client_id: oauth::validate_client_id(client_id)?,
            client_secret: oauth::validate_client_secret(client_secret)?,
            redirect_uri: redirect_uri.to_owned(),
        };
        let (authorize_url, state) = oauth::authorize_url(api.endpoints(), &creds)?;
        Ok(Self {
            name,
            creds,
            authorize_url,
            state,
        })
    }

    /// Signs an existing person in again with the client id and secret they have,
    /// through `redirect_uri` (where this app now listens).
    pub async fn restart(
        api: &MonzoApi,
        household: &Household,
        name: &str,
        redirect_uri: &str,
    ) -> Result<Self> {
        let person = household.person(name)?;
        let secret = household
            .secrets()
            .get(&person.id, SecretKind::ClientSecret)
            .await?
            .ok_or_else(|| Error::secret_missing(&person.name, SecretKind::ClientSecret.label()))?;
        Self::start(api, &person.name, &person.client_id, &secret, redirect_uri)
    }

    pub fn authorize_url(&self) -> &Url {
        &self.authorize_url
    }

    pub fn state(&self) -> &str {
        self.state.secret()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn client_secret(&self) -> &ClientSecret {
        &self.creds.client_secret
    }

    /// Reads a pasted redirect URL or bare code, checking `state`.
    pub fn code_from_pasted(&self, input: &str) -> Result<AuthorizationCode> {
        oauth::parse_redirect_input(input, self.state())
    }

    /// Exchanges the code, stores the person and tokens, and checks whether the
    /// in-app approval is still to come (through the person's session, as every
    /// signed-in call goes).
    ///
    /// Errors: the token exchange's, and the household's refusals of a sign-in that
    /// landed on the wrong Monzo user ([`Household::save_sign_in`]).
    pub async fn finish(self, sessions: &Sessions, code: AuthorizationCode) -> Result<SignedIn> {
        let household = sessions.household();
        let tokens =
            oauth::exchange_code(sessions.http(), sessions.api().endpoints(), &self.creds, code).await?;
        let mut person = household
            .save_sign_in(
                &self.name,
                &self.creds.client_id,
                &self.creds.client_secret,
                &self.creds.redirect_uri,
                &tokens,
            )
            .await?;
        let api = sessions.api();
        let checked = sessions
            .authorized(&person, &RetryPolicy::none(), None, "accounts", |t| async move {
                api.accounts(&t).await
            })
            .await;
        let approval = match checked {
            Ok(_) => Approval::Approved,
            Err(Error::NeedsApproval) => Approval::Pending,
            Err(err) => {
                tracing::warn!(
                    code = err.code(),
                    "could not check the in-app approval right after sign-in"
                );
                Approval::Unknown
            }
        };
        if approval == Approval::Approved {
            person.approved_at = Some(household.clock().now());
            household.record_approval(&person.id, person.approved_at);
        }
        tracing::info!(person = %person.name, ?approval, "signed in");
        Ok(SignedIn { person, approval })
    }
}
