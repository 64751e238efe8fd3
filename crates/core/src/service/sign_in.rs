//! Adding and reconnecting people from the settings window: a sign-in that runs in
//! the background (the loopback redirect, or a pasted URL), then the in-app approval.
//! Nothing is stored until Monzo hands over the tokens; each step is published on a
//! `watch` channel the window follows.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use super::AppService;
use crate::error::{Error, Result};
use crate::login::{Approval, Pasted, SignIn};
use crate::loopback::LoopbackListener;
use crate::snapshot::ConnectionState;
use crate::sync::lock;

/// Where the sign-in started from the settings window stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum SignInStatus {
    Idle,
    /// Waiting for the browser to come back, or for a pasted URL.
    WaitingForBrowser {
        name: String,
        authorize_url: String,
    },
    /// Signed in; Monzo waits for the approval in the app.
    AwaitingApproval {
        name: String,
        person_id: String,
    },
    Done {
        name: String,
        person_id: String,
    },
    Failed {
        name: String,
        code: String,
        message: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct SignInStarted {
    pub authorize_url: String,
    pub redirect_uri: String,
}

pub(super) struct ActiveSignIn {
    paste: mpsc::Sender<Pasted>,
    task: tokio::task::JoinHandle<()>,
}

impl AppService {
    pub fn sign_in_status(&self) -> SignInStatus {
        let status = self.sign_in.borrow().clone();
        // Approval is seen by the engine; report it as soon as it is.
        if let SignInStatus::AwaitingApproval { name, person_id } = &status {
            let live = self
                .engine
                .snapshot()
                .people
                .iter()
                .any(|p| &p.id == person_id && p.state == ConnectionState::Live);
            if live {
                let done = SignInStatus::Done {
                    name: name.clone(),
                    person_id: person_id.clone(),
                };
                self.set_status(done.clone());
                return done;
            }
        }
        status
    }

    fn set_status(&self, status: SignInStatus) {
        self.sign_in.send_replace(status);
    }

    /// "Continue" after approving in the app: poll now.
    pub fn check_approval(&self) -> SignInStatus {
        self.engine.refresh_now();
        self.sign_in_status()
    }

    /// Adds a person: checks the input, then starts a sign-in in the background.
    /// Nothing is stored until Monzo hands over the tokens.
    pub async fn add_person(
        &self,
        name: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<SignInStarted> {
        if self.household().settings().person_by_name(name).is_some() {
            return Err(Error::InvalidField {
                field: "name",
                message: format!(
                    "There is already someone called \"{}\"; use Reconnect for them, or another name.",
                    name.trim()
                ),
            });
        }
        let listener = self.prepare().await?;
        let sign_in = SignIn::start(
            self.engine.sessions().api(),
            name,
            client_id,
            client_secret,
            &listener.redirect_uri(),
        )?;
        Ok(self.launch(sign_in, listener))
    }

    /// Signs an existing person in again with their stored client id and secret.
    pub async fn reconnect(&self, person_id: &str) -> Result<SignInStarted> {
        let person = self.person(person_id)?;
        let listener = self.prepare().await?;
        let sign_in = SignIn::restart(
            self.engine.sessions().api(),
            self.household(),
            &person.name,
            &listener.redirect_uri(),
        )
        .await?;
        Ok(self.launch(sign_in, listener))
    }

    /// Before a sign-in: the keyring must work and the redirect port be free. A
    /// sign-in already under way is cancelled (its loopback port is needed).
    async fn prepare(&self) -> Result<LoopbackListener> {
        self.household().secrets().check_available().await?;
        let cancelled = lock(&self.active).take();
        let Some(cancelled) = cancelled else {
            return LoopbackListener::bind(self.redirect_port).await;
        };
        cancelled.task.abort();
        // The cancelled listener shuts down on its own task; give it a moment to
        // release the port.
        let mut tries = 0;
        loop {
            match LoopbackListener::bind(self.redirect_port).await {
                Err(Error::RedirectPortInUse { .. }) if tries < 20 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => return other,
            }
        }
    }

    fn launch(&self, sign_in: SignIn, listener: LoopbackListener) -> SignInStarted {
        let started = SignInStarted {
            authorize_url: sign_in.authorize_url().to_string(),
            redirect_uri: listener.redirect_uri(),
        };
        let name = sign_in.name().to_owned();
        self.set_status(SignInStatus::WaitingForBrowser {
            name: name.clone(),
            authorize_url: started.authorize_url.clone(),
        });
        let (paste, pasted) = mpsc::channel::<Pasted>(1);
        let (engine, status) = (self.engine.clone(), self.sign_in.clone());
        let task = tokio::spawn(async move {
            // A refused redirect is said on the browser's page, a refused paste to
            // `paste_redirect`: the window needs no notice of its own.
            let result = sign_in
                .complete(
                    engine.sessions(),
                    listener,
                    pasted,
                    crate::login::SIGN_IN_TIMEOUT,
                    |_| {},
                )
                .await;
            let next = match result {
                Ok(done) => {
                    engine.forget(&done.person.id);
                    engine.refresh_now();
                    match done.approval {
                        Approval::Approved => SignInStatus::Done {
                            name,
                            person_id: done.person.id,
                        },
                        Approval::Pending | Approval::Unknown => SignInStatus::AwaitingApproval {
                            name,
                            person_id: done.person.id,
                        },
                    }
                }
                Err(err) => SignInStatus::Failed {
                    name,
                    code: err.code().to_owned(),
                    message: err.to_string(),
                },
            };
            if matches!(next, SignInStatus::Failed { .. }) {
                // A refused sign-in may have been kept for someone else (see
                // `Household::save_sign_in`): show where they stand now.
                engine.refresh_now();
            }
            status.send_replace(next);
        });
        *lock(&self.active) = Some(ActiveSignIn { paste, task });
        started
    }

    /// The URL (or code) pasted for the sign-in under way, answered once it was
    /// tried. A wrong one, or a code Monzo refuses (mistyped, used, expired), is
    /// refused here and the sign-in keeps waiting for a right one; once one is taken,
    /// [`Self::sign_in_status`] says how the sign-in ended.
    pub async fn paste_redirect(&self, input: &str) -> Result<()> {
        let paste = {
            let active = lock(&self.active);
            let active = active
                .as_ref()
                .filter(|a| !a.task.is_finished())
                .ok_or_else(|| Error::InvalidInput("No sign-in is waiting; press Sign in first.".into()))?;
            active.paste.clone()
        };
        let finished = || Error::InvalidInput("The sign-in already finished.".into());
        let (pasted, answer) = Pasted::with_reply(input);
        paste.send(pasted).await.map_err(|_| finished())?;
        answer.await.map_err(|_| finished())?
    }
}
