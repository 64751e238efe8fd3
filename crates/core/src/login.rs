//! A person's sign-in, start to finish: authorize URL → code (loopback redirect or
//! pasted) → token exchange → stored → in-app approval check. Used by the command
//! line and the desktop UI alike.

use oauth2::{AuthorizationCode, ClientSecret, CsrfToken};
use url::Url;

use crate::error::{Error, Result};
use crate::household::{validate_person_name, Household};
use crate::monzo::MonzoApi;
use crate::oauth::{self, ClientCredentials};
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
            .get(&person.id, crate::secrets::SecretKind::ClientSecret)
            .await?
            .ok_or(Error::SecretMissing {
                person: person.name.clone(),
                kind: "client secret",
            })?;
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
    /// in-app approval is still to come.
    pub async fn finish(
        self,
        http: &reqwest::Client,
        api: &MonzoApi,
        household: &Household,
        code: AuthorizationCode,
    ) -> Result<SignedIn> {
        let tokens = oauth::exchange_code(http, api.endpoints(), &self.creds, code).await?;
        let mut person = household
            .save_sign_in(
                &self.name,
                &self.creds.client_id,
                &self.creds.client_secret,
                &self.creds.redirect_uri,
                &tokens,
            )
            .await?;
        let approval = match api.accounts(&tokens.access_token).await {
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
            let now = chrono::Utc::now();
            let id = person.id.clone();
            household.update(|s| {
                if let Some(p) = s.person_by_id_mut(&id) {
                    p.approved_at = Some(now);
                }
            })?;
            person.approved_at = Some(now);
        }
        tracing::info!(person = %person.name, ?approval, "signed in");
        Ok(SignedIn { person, approval })
    }
}
