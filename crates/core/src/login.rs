//! A person's sign-in, start to finish: authorize URL → code (loopback redirect or
//! pasted) → token exchange → stored → in-app approval check. Used by the command
//! line and the desktop UI alike ([`SignIn::complete`]).

use std::time::Duration;

use oauth2::{AuthorizationCode, CsrfToken};
use tokio::sync::{mpsc, oneshot};
use url::Url;

use crate::error::{Error, Result};
use crate::household::{validate_person_name, Household};
use crate::loopback::{BrowserWaiting, LoopbackListener, Page};
use crate::monzo::MonzoApi;
use crate::oauth::{self, ClientCredentials};
use crate::retry::RetryPolicy;
use crate::secrets::SecretKind;
use crate::session::Sessions;
use crate::settings::PersonSettings;

/// How long a sign-in waits for the browser to come back (and for a pasted URL or
/// code): the window's sign-in, and `monzo-tray login` unless `--timeout` says
/// otherwise.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(15 * 60);

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
    pub(crate) async fn restart(
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
    pub async fn finish(&self, sessions: &Sessions, code: AuthorizationCode) -> Result<SignedIn> {
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

    /// Waits until `timeout` for this sign-in's code and finishes with it: from the
    /// browser coming back to `listener` (only to `/callback` with this sign-in's
    /// `state`: see `loopback`), or pasted (each [`Pasted`] as it comes). A try that
    /// a later one can make good (an address or code that is not this sign-in's, a
    /// code Monzo refuses because it was mistyped, used or expired, Monzo out of
    /// reach) is said on the browser's page, to the paste's reply, or else through
    /// `notice`, and the sign-in goes on waiting. The browser's page says "Signed
    /// in" only once the sign-in is done.
    ///
    /// Errors: [`Error::LoginTimedOut`], and what ends a sign-in: Monzo's error
    /// redirect, refused client credentials, a client that is not confidential, the
    /// household's refusals ([`Self::finish`]).
    pub async fn complete(
        &self,
        sessions: &Sessions,
        listener: LoopbackListener,
        mut pasted: mpsc::Receiver<Pasted>,
        timeout: Duration,
        notice: impl Fn(&str),
    ) -> Result<SignedIn> {
        let mut redirects = listener.serve(self.state().to_owned());
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut pasting = true;
        let outcome = loop {
            let (code, source) = tokio::select! {
                _ = &mut deadline => break Err(Error::LoginTimedOut(timeout)),
                redirect = redirects.next() => match redirect {
                    Some(redirect) => {
                        let (code, browser) = redirect.into_parts();
                        (code, Source::Browser(browser))
                    }
                    None => break Err(Error::InvalidInput(
                        "The sign-in listener stopped unexpectedly; start the sign-in again.".into(),
                    )),
                },
                paste = pasted.recv(), if pasting => match paste {
                    Some(paste) => (self.code_from_pasted(&paste.text), Source::Paste(paste.reply)),
                    // Nothing more will be pasted: the browser may still come back.
                    None => {
                        pasting = false;
                        continue;
                    }
                },
            };
            let result = match code {
                Ok(code) => self.finish(sessions, code).await,
                Err(err) => Err(err),
            };
            match result {
                Ok(done) => {
                    source.done();
                    break Ok(done);
                }
                Err(err) if worth_another_try(&err) => source.still_waiting(err, &notice),
                Err(err) => {
                    source.failed(&err);
                    break Err(err);
                }
            }
        };
        redirects.close().await;
        outcome
    }
}

/// Something pasted for a sign-in under way: the address the email link led to,
/// or the code alone.
#[derive(Debug)]
pub struct Pasted {
    pub(crate) text: String,
    /// Told whether it was taken; `None`: said through `complete`'s `notice`.
    reply: Option<oneshot::Sender<Result<()>>>,
}

impl Pasted {
    /// A paste whose refusal is said through `complete`'s `notice` (the command line).
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            reply: None,
        }
    }

    /// A paste whose answer comes back on the receiver: `Ok` once it was taken (the
    /// sign-in is over, and `complete` says how), or why it was not (the sign-in goes
    /// on waiting).
    pub(crate) fn with_reply(text: impl Into<String>) -> (Self, oneshot::Receiver<Result<()>>) {
        let (reply, answer) = oneshot::channel();
        let pasted = Self {
            text: text.into(),
            reply: Some(reply),
        };
        (pasted, answer)
    }
}

/// A try that a later one may make good: the sign-in goes on.
fn worth_another_try(err: &Error) -> bool {
    matches!(
        err,
        Error::BadRedirectInput(_) | Error::StateMismatch | Error::CodeRejected
    ) || err.is_transient()
}

/// What the command line says of a try that did not work, the sign-in going on.
pub(crate) fn still_waiting(err: &Error) -> String {
    format!("{err} Still waiting: paste the address again, or open the newest link in Monzo's email.")
}

/// Where a code came from, and so where its outcome is told.
enum Source {
    Browser(BrowserWaiting),
    Paste(Option<oneshot::Sender<Result<()>>>),
}

impl Source {
    fn done(self) {
        match self {
            Source::Browser(browser) => browser.answer(Page::SignedIn),
            Source::Paste(Some(reply)) => {
                let _ = reply.send(Ok(()));
            }
            Source::Paste(None) => {}
        }
    }

    fn still_waiting(self, err: Error, notice: &impl Fn(&str)) {
        match self {
            Source::Browser(browser) => {
                notice(&format!("The browser came back, but: {}", still_waiting(&err)));
                browser.answer(Page::StillWaiting(err.to_string()));
            }
            Source::Paste(Some(reply)) => {
                let _ = reply.send(Err(err));
            }
            Source::Paste(None) => notice(&still_waiting(&err)),
        }
    }

    fn failed(self, err: &Error) {
        match self {
            Source::Browser(browser) => browser.answer(Page::Failed(err.to_string())),
            // The sign-in's outcome says it.
            Source::Paste(Some(reply)) => {
                let _ = reply.send(Ok(()));
            }
            Source::Paste(None) => {}
        }
    }
}
