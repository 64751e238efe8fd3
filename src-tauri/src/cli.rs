//! The command line (clap). Every command works without a display.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use monzo_tray_core::login::SIGN_IN_TIMEOUT;
use monzo_tray_core::loopback::DEFAULT_REDIRECT_PORT;
use monzo_tray_core::monzo::{DEFAULT_API_URL, DEFAULT_AUTH_URL};
use monzo_tray_core::settings::{MAX_POLL_INTERVAL_SECS, MIN_POLL_INTERVAL_SECS};

#[derive(Debug, Parser)]
#[command(
    name = "monzo-tray",
    version,
    about = "Every Monzo balance of a household, at a glance."
)]
pub struct Cli {
    /// Run against an embedded sandbox with a demo household (no Monzo account needed).
    #[arg(long, global = true)]
    pub demo: bool,

    /// Open the settings window at start (the tray app otherwise starts with none).
    #[arg(long)]
    pub settings: bool,

    /// Open the window on its History view at start (charts of the money history).
    #[arg(long, conflicts_with = "settings")]
    pub history: bool,

    #[command(flatten)]
    pub places: Places,

    /// What is logged (to standard error), as a `tracing` filter: `debug`,
    /// `monzo_tray_core=debug`, … [default: warnings]
    #[arg(long, global = true, env = "MONZO_TRAY_LOG", value_name = "FILTER")]
    pub log: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where monzo-tray finds Monzo, its settings and the sign-in redirect: each a flag
/// of every command, or its environment variable (how tests and the demo's sandbox
/// point it elsewhere).
#[derive(Debug, Clone, clap::Args)]
pub struct Places {
    /// Monzo's API.
    #[arg(long, global = true, env = "MONZO_API_URL", default_value = DEFAULT_API_URL, value_name = "URL")]
    pub api_url: String,
    /// Monzo's sign-in page.
    #[arg(long, global = true, env = "MONZO_AUTH_URL", default_value = DEFAULT_AUTH_URL, value_name = "URL")]
    pub auth_url: String,
    /// The folder of the settings [default: the platform's config folder, then
    /// monzo-tray].
    #[arg(long, global = true, env = "MONZO_TRAY_CONFIG_DIR", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// Port of the redirect URL http://127.0.0.1:PORT/callback registered for the
    /// person's client (0 picks a free port, for testing).
    #[arg(long, global = true, env = "MONZO_TRAY_REDIRECT_PORT", default_value_t = DEFAULT_REDIRECT_PORT, value_name = "PORT")]
    pub redirect_port: u16,
    /// The folder of the household's history database [default: the platform's
    /// data folder, then monzo-tray; e.g. $XDG_DATA_HOME/monzo-tray].
    #[arg(long, global = true, env = "MONZO_TRAY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign a person in: asks for the client secret (not shown as it is typed; piped,
    /// the first line of stdin), prints the authorize URL, then waits for the
    /// redirect or a pasted URL or code (a refused one can be pasted again).
    Login {
        /// The person's name, as it will be shown.
        #[arg(long)]
        person: String,
        /// The OAuth client id from developers.monzo.com (oauthclient_…).
        #[arg(long)]
        client_id: String,
        /// How long to wait for the sign-in, in seconds.
        #[arg(long, default_value_t = SIGN_IN_TIMEOUT.as_secs())]
        timeout: u64,
    },
    /// Poll everyone once and print balances. Exits 0 when everyone is live, 3 when
    /// someone is not (their state says why), 1 when nothing could be printed.
    Status {
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List the people, their OAuth client ids and when Monzo's 90-day approval is due.
    People {
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove a person, with their sign-in and client secret.
    Logout {
        /// The person's name, as `monzo-tray people` lists it (any case).
        #[arg(long)]
        person: String,
    },
    /// Move money between an account and one of its pots. Asks on the terminal first,
    /// unless --yes; moves nothing otherwise (nor when standard input is not a terminal).
    Pot {
        #[command(subcommand)]
        command: PotCommand,
    },
    /// Home Assistant: push every balance into it, through its REST API or MQTT discovery.
    Ha {
        #[command(subcommand)]
        command: HaCommand,
    },
    /// Run the poll engine and the Home Assistant push with no GUI until stopped
    /// (Ctrl-C or SIGTERM), one line per cycle.
    Headless {
        /// Poll once, push once, and exit (non-zero if the push failed).
        #[arg(long)]
        once: bool,
        /// Poll every SECONDS (10 to 86400) in this run, whatever the settings say.
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(MIN_POLL_INTERVAL_SECS..=MAX_POLL_INTERVAL_SECS))]
        interval: Option<u64>,
    },
    /// Recent transactions of everyone (or one person, or one account), newest first.
    Transactions {
        /// Only this person's accounts.
        #[arg(long)]
        person: Option<String>,
        /// Only this account: its name ("Joint Account") or its acc_… id.
        #[arg(long)]
        account: Option<String>,
        /// How many, at most.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1000))]
        limit: u64,
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Daily balances from the household's history: each account's end-of-day
    /// balance (UK days), its pots and total, and the household's total per currency.
    History {
        #[command(flatten)]
        which: HistoryWhich,
        /// One JSON document instead of a table.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// CSV (RFC 4180) instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Export from the household's history.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Spending per category and per person for a month, from the household's
    /// history: money out, refunds netted; pot transfers, declined ones and transfers
    /// between the household's own accounts left out.
    Spending {
        /// The month, as YYYY-MM [default: this month].
        #[arg(long)]
        month: Option<String>,
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Serve the fake Monzo API with demo data, for manual testing.
    Sandbox {
        /// The port to serve on, on 127.0.0.1.
        #[arg(long, default_value_t = 8458)]
        port: u16,
        /// Serve this fixture (JSON) instead of the demo household.
        #[arg(long)]
        fixture: Option<PathBuf>,
    },
}

/// Which part of the history.
#[derive(Debug, clap::Args)]
pub struct HistoryWhich {
    /// Only this person's accounts (any case).
    #[arg(long)]
    pub person: Option<String>,
    /// Only this account: its name ("Joint Account") or its acc_… id.
    #[arg(long)]
    pub account: Option<String>,
    /// From this UK day on (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Up to this UK day, included (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Every stored transaction, oldest first, as CSV (RFC 4180): Monzo's ids,
    /// amounts in major units.
    Transactions {
        #[command(flatten)]
        which: HistoryWhich,
        /// CSV, the one format (say it, so a later format is never a surprise).
        #[arg(long, required = true)]
        csv: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PotCommand {
    /// Into the pot, from the account it belongs to.
    Deposit(PotMove),
    /// Out of the pot, into the account it belongs to.
    Withdraw(PotMove),
}

#[derive(Debug, clap::Args)]
pub struct PotMove {
    /// Whose pot.
    #[arg(long)]
    pub person: String,
    /// The pot's name ("Holiday") or its pot_… id.
    #[arg(long)]
    pub pot: String,
    /// How much, in the pot's currency: 50, 50.00, £50.
    #[arg(long)]
    pub amount: String,
    /// Move without asking (for scripts).
    #[arg(long)]
    pub yes: bool,
    /// Try again a move whose outcome was unknown, with the id it printed: Monzo
    /// carries out a move at most once per id.
    #[arg(long, value_name = "ID")]
    pub dedupe_id: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum HaCommand {
    /// Connect, through Home Assistant's REST API (--url; asks for a long-lived access
    /// token, or reads it from the first line of stdin) or an MQTT broker (--mqtt;
    /// the same for the password, when the address has a user). Secrets typed on a
    /// terminal are not shown. Tests the connection, then saves (secrets in the
    /// keyring). Switching keeps every entity id.
    #[command(group(clap::ArgGroup::new("transport").required(true).args(["url", "mqtt"])))]
    Connect {
        /// Home Assistant's address, e.g. http://homeassistant.local:8123
        #[arg(long)]
        url: Option<String>,
        /// The broker Home Assistant's MQTT integration uses:
        /// mqtt://[user@]host:port, or mqtts:// for TLS.
        #[arg(long)]
        mqtt: Option<String>,
        /// A CA certificate (PEM) to trust, for https or mqtts with a private CA.
        #[arg(long)]
        ca_file: Option<PathBuf>,
        /// MQTT: Home Assistant's discovery prefix.
        #[arg(long, default_value = "homeassistant", requires = "mqtt")]
        discovery_prefix: String,
        /// MQTT: where states and availability are published.
        #[arg(long, default_value = "monzo_tray", requires = "mqtt")]
        base_topic: String,
    },
    /// With the MQTT transport, years of balance history in Home Assistant's
    /// long-term statistics, which MQTT cannot carry: Home Assistant's own address
    /// and a long-lived access token (asked for, or the first line of stdin), tested
    /// and kept in the keyring. Through the REST API (ha connect --url) this
    /// happens by itself. --off forgets them.
    #[command(group(clap::ArgGroup::new("statistics").required(true).args(["url", "off"])))]
    Statistics {
        /// Home Assistant's address, e.g. http://homeassistant.local:8123
        #[arg(long)]
        url: Option<String>,
        /// A CA certificate (PEM) to trust, for https with a private CA.
        #[arg(long, requires = "url")]
        ca_file: Option<PathBuf>,
        /// Forget the address and token: no more statistics.
        #[arg(long)]
        off: bool,
    },
    /// Stop pushing and forget the token or password (entity ids are kept for next time).
    Disconnect,
}
