//! The one error type of this crate. Every message is a sentence a person can act on;
//! none ever contains a secret, a token or an account number.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- Monzo's API ---------------------------------------------------------------
    #[error("Monzo says the access token has expired.")]
    TokenExpired,
    #[error("Monzo did not accept the access token ({0}).")]
    TokenRejected(String),
    #[error(
        "Approve access in the Monzo app on your phone; monzo-tray will continue by itself once you have."
    )]
    NeedsApproval,
    // These two are read by one-shot commands too (`status`): they say what is
    // wrong, and promise no retry the command will not make.
    #[error("Monzo is limiting how often it may be asked{}.",
        .retry_after.map(|d| format!(" (ask again in {} s)", d.as_secs())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    #[error("Monzo is having trouble (HTTP {status}).")]
    Server { status: u16 },
    #[error("Monzo could not be reached: {0}. Check your internet connection.")]
    Network(String),
    #[error("Monzo sent a reply monzo-tray could not read ({0}).")]
    Decode(String),
    #[error("Monzo refused the request (HTTP {status}, {code}): {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },

    // ---- signing in ----------------------------------------------------------------
    #[error("The sign-in has ended; sign {person} in again.")]
    SignInRequired { person: String },
    #[error("Monzo did not accept the client id and secret; check both at developers.monzo.com.")]
    BadClientCredentials,
    #[error("This OAuth client is not \"Confidential\", so Monzo gives it no refresh token and the sign-in would stop working within hours. Create a new client at developers.monzo.com with Confidentiality set to Confidential, then sign in with that.")]
    NotConfidential,
    /// Monzo refused the code at the exchange. Whether it was mistyped, used or
    /// expired Monzo does not say (`invalid_grant` for each).
    #[error("Monzo did not accept that sign-in code: it was mistyped, already used, or has expired.")]
    CodeRejected,
    #[error("That address belongs to another sign-in (its state does not match this one's): it was not started here, or this sign-in was started again since.")]
    StateMismatch,
    #[error("Monzo reported an error on sign-in: {0}")]
    AuthorizationDenied(String),
    #[error("That is not a sign-in link or code: {0}")]
    BadRedirectInput(String),
    #[error("Port {port} on 127.0.0.1 is already in use, so the sign-in redirect cannot be received there; close what uses it or choose another port with --redirect-port (and register that URL at developers.monzo.com).")]
    RedirectPortInUse { port: u16 },
    #[error("No sign-in arrived within {}; start the sign-in again.", human_duration(*.0))]
    LoginTimedOut(Duration),
    /// A sign-in for `person` landed on another Monzo user than the one they are
    /// bound to (Home Assistant's integration calls this `wrong_account`).
    #[error("That sign-in was to {}, not to the one {person} signed in with before, so it was not used: {person} keeps their sign-in and balances.{} To reconnect {person}, open the email link for {person}'s own Monzo account.",
        .other.as_deref().map(|o| format!("{o}'s Monzo account")).unwrap_or_else(|| "another Monzo account".to_owned()),
        kept_sentence(.other.as_deref(), *.kept))]
    WrongMonzoUser {
        person: String,
        /// The household member that Monzo user belongs to, if any.
        other: Option<String>,
        /// Whether the new tokens were kept for `other` (their old ones had just
        /// been ended by Monzo: one token per user and client).
        kept: bool,
    },
    /// A new person's sign-in landed on a Monzo user already in the household (Home
    /// Assistant's integration calls this `already_configured`).
    #[error("That Monzo account is already in the household as {other}, so nobody was added (its balances would count twice).{} Use Reconnect for {other} instead.",
        kept_sentence(Some(.other.as_str()), *.kept))]
    AlreadyInHousehold { other: String, kept: bool },

    // ---- moving money --------------------------------------------------------------
    /// Nothing was moved: Monzo refused, and said why.
    #[error("Monzo refused to move the money: {message}")]
    MoveRefused { message: String },
    /// A pot with "added security" (Monzo lets money out only in its app).
    #[error("{pot} is protected with added security, so money can only come out of it in the Monzo app; nothing was moved.")]
    PotLocked { pot: String },
    /// The move was asked for, but no answer said whether it happened.
    #[error("Monzo did not say whether the {amount} moved {direction} {pot} ({why}). Check the pot in the Monzo app before trying again.")]
    MoveOutcomeUnknown {
        amount: String,
        /// "into", "out of".
        direction: &'static str,
        pot: String,
        why: String,
    },
    #[error("{person} has no pot called \"{pot}\"; `monzo-tray status` lists the pots.")]
    UnknownPot { person: String, pot: String },
    /// A name (or its slug) that more than one of the person's pots has.
    #[error("{person} has more than one pot called \"{pot}\" ({pots}); give the pot's id instead.")]
    PotNameShared {
        person: String,
        pot: String,
        pots: String,
    },
    /// Money is only moved for someone whose balances are current.
    #[error("{person}'s balances are not up to date ({why}), so nothing is moved until they are.")]
    NotLive { person: String, why: String },

    // ---- Home Assistant ------------------------------------------------------------
    /// A test of the connection to Home Assistant or its MQTT broker failed; `code`
    /// says how (`home_assistant_unauthorized`, `…_unreachable`, `…_rejected`) and
    /// the message names the party (see `home_assistant::failure_line`).
    #[error("{message}")]
    HomeAssistant { code: &'static str, message: String },

    // ---- secrets -------------------------------------------------------------------
    #[error("The system keyring is not available ({0}). On Linux, monzo-tray needs a Secret Service such as GNOME Keyring or KWallet running and unlocked.")]
    KeyringUnavailable(String),
    #[error("The system keyring did not answer within {} s; it is probably locked and waiting for a password. Unlock it and try again.", .0.as_secs())]
    KeyringTimeout(Duration),
    #[error("The system keyring is locked; unlock it and try again.")]
    KeyringLocked,
    #[error("The system keyring failed: {0}")]
    Keyring(String),
    #[error("No {kind} is stored for {person}; sign them in again.")]
    SecretMissing { person: String, kind: &'static str },

    // ---- settings and input --------------------------------------------------------
    #[error("Could not {action} the settings file {path}: {source}")]
    SettingsIo {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Another process of the household held a lock past its time limit.
    #[error("Another monzo-tray process has held {what} for {seconds} s ({path}); if none is running, that process is stuck: end it and try again.")]
    Busy {
        what: &'static str,
        seconds: u64,
        path: String,
    },
    #[error("Could not use the lock file {path}: {source}")]
    LockIo {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// One engine per household (config folder): a second tray app or `headless`.
    #[error("monzo-tray already runs for this household ({role}{}): only one may poll and push at a time, since Monzo's tokens are refreshed in turn and every transaction would be announced twice. Stop it first, or use it as it is.",
        .pid.map(|p| format!(", process {p}")).unwrap_or_default())]
    EngineRunning { pid: Option<u32>, role: String },
    #[error("There is no person called \"{0}\"; `monzo-tray people` lists them.")]
    UnknownPerson(String),
    #[error("{0}")]
    InvalidInput(String),
    /// The history database (see [`crate::history`]).
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    /// Input refused, naming the field ("name", "client_id", "client_secret"), so a
    /// form can show the message next to it.
    #[error("{message}")]
    InvalidField { field: &'static str, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a refused sign-in did for the household member whose Monzo it was.
fn kept_sentence(other: Option<&str>, kept: bool) -> String {
    match (other, kept) {
        (Some(other), true) => format!(
            " Monzo ended {other}'s previous sign-in when this one was made (it used the same OAuth client), so the new sign-in was kept for {other}: approve it for {other} in the Monzo app."
        ),
        _ => String::new(),
    }
}

/// "15 minutes", "90 seconds".
fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 120 && secs.is_multiple_of(60) {
        format!("{} minutes", secs / 60)
    } else if secs == 1 {
        "1 second".to_owned()
    } else {
        format!("{secs} seconds")
    }
}

impl Error {
    /// A secret of `person` that should be in the keyring is not; `kind` as
    /// `SecretKind::label` says it ("refresh token").
    pub(crate) fn secret_missing(person: &str, kind: &'static str) -> Self {
        Error::SecretMissing {
            person: person.to_owned(),
            kind,
        }
    }

    /// Worth retrying soon: rate limits, server trouble, the network, and replies
    /// garbled in transit. Nothing here means the person must do anything.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::RateLimited { .. } | Error::Server { .. } | Error::Network(_) | Error::Decode(_)
        )
    }

    /// A stable machine-readable name, for the UI and JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            Error::TokenExpired | Error::TokenRejected(_) | Error::SignInRequired { .. } => {
                "sign_in_required"
            }
            Error::NeedsApproval => "needs_approval",
            Error::RateLimited { .. } => "rate_limited",
            Error::Server { .. } => "server",
            Error::Network(_) => "network",
            Error::Decode(_) => "decode",
            Error::Api { .. } => "api",
            Error::BadClientCredentials => "bad_client_credentials",
            Error::NotConfidential => "not_confidential",
            Error::CodeRejected => "code_rejected",
            Error::StateMismatch => "state_mismatch",
            Error::AuthorizationDenied(_) => "authorization_denied",
            Error::BadRedirectInput(_) => "bad_redirect_input",
            Error::RedirectPortInUse { .. } => "redirect_port_in_use",
            Error::LoginTimedOut(_) => "login_timed_out",
            Error::WrongMonzoUser { .. } => "wrong_account",
            Error::AlreadyInHousehold { .. } => "already_configured",
            Error::MoveRefused { .. } => "move_refused",
            Error::PotLocked { .. } => "pot_locked",
            Error::MoveOutcomeUnknown { .. } => "move_outcome_unknown",
            Error::UnknownPot { .. } => "unknown_pot",
            Error::PotNameShared { .. } => "pot_name_shared",
            Error::NotLive { .. } => "not_live",
            Error::KeyringUnavailable(_)
            | Error::KeyringTimeout(_)
            | Error::KeyringLocked
            | Error::Keyring(_) => "keyring",
            Error::SecretMissing { .. } => "secret_missing",
            Error::SettingsIo { .. } => "settings",
            Error::Busy { .. } | Error::LockIo { .. } => "busy",
            Error::EngineRunning { .. } => "already_running",
            Error::HomeAssistant { code, .. } => code,
            Error::UnknownPerson(_) => "unknown_person",
            Error::InvalidInput(_) => "invalid_input",
            Error::History(_) => "history",
            Error::InvalidField { field, .. } => match *field {
                "name" => "invalid_name",
                "client_id" => "invalid_client_id",
                "client_secret" => "invalid_client_secret",
                "amount" => "invalid_amount",
                _ => "invalid_input",
            },
        }
    }
}
