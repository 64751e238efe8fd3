//! One function per command, each calling into `monzo-tray-core` for what it does
//! and says; this file reads input and prints. What is printed goes through
//! `output` (never `println!`); each command returns its exit code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use monzo_sandbox::{Fixture, Sandbox};
use monzo_tray_core::login::{Approval, Pasted, SignIn};
use monzo_tray_core::loopback::LoopbackListener;
use tokio::sync::mpsc;

use crate::cli::{Cli, Command, HaCommand, PotCommand, PotMove};
use crate::context::AppContext;
use crate::demo;
use crate::output;
use monzo_tray_core::background;
use monzo_tray_core::home_assistant::{link, mqtt};
use monzo_tray_core::home_assistant::{PushState, PushStatus};
use monzo_tray_core::pots::{self, Direction};
use monzo_tray_core::snapshot::ConnectionState;
use monzo_tray_core::terminal;
use monzo_tray_core::Error;

/// Runs the command; `Ok` is its exit code (0, or `status`'s when someone is not
/// live).
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    if let Some(Command::Sandbox { port, fixture }) = cli.command {
        sandbox(port, fixture).await?;
        return Ok(0);
    }
    if cli.demo && matches!(cli.command, Some(Command::Login { .. } | Command::Logout { .. })) {
        bail!("The demo's people are signed in already and are not stored; run without --demo to sign in.");
    }
    if cli.demo && matches!(cli.command, Some(Command::Ha { .. })) {
        bail!(
            "The demo does not change your Home Assistant settings (its household is not stored and pushes nowhere); run `monzo-tray ha …` without --demo."
        );
    }
    let context = if cli.demo {
        demo::context().await?
    } else {
        AppContext::open(&cli.places).await?
    };
    match cli.command {
        None => {
            output::note(
                "monzo-tray: no display was found, so here are the balances in the terminal \
                 (`monzo-tray headless` keeps polling).",
            );
            status(&context, false).await
        }
        Some(Command::Status { json }) => status(&context, json).await,
        Some(Command::People { json }) => {
            let settings = context.household.settings();
            if json {
                output::line(&serde_json::to_string_pretty(&terminal::people_json(&settings))?)?;
            } else {
                output::print(&terminal::people_table(&settings))?;
            }
            Ok(0)
        }
        Some(Command::Logout { person }) => {
            let removal = context.household.remove_person(&person).await?;
            match removal.secrets_kept {
                None => output::line(&format!(
                    "{} was removed, with their sign-in and client secret.",
                    removal.person.name
                ))?,
                Some(err) => output::line(&format!(
                    "{} was removed. Their sign-in and client secret could not be deleted from the keyring now ({err}); monzo-tray deletes them at its next start.",
                    removal.person.name
                ))?,
            }
            Ok(0)
        }
        Some(Command::Login {
            person,
            client_id,
            timeout,
        }) => {
            login(
                &context,
                &person,
                &client_id,
                cli.places.redirect_port,
                Duration::from_secs(timeout),
            )
            .await?;
            Ok(0)
        }
        Some(Command::Headless { once, interval }) => {
            context
                .engine
                .set_poll_interval(interval.map(Duration::from_secs));
            headless(&context, once).await?;
            Ok(0)
        }
        Some(Command::Transactions {
            person,
            account,
            limit,
            json,
        }) => {
            transactions(&context, person.as_deref(), account.as_deref(), limit, json).await?;
            Ok(0)
        }
        Some(Command::Ha {
            command:
                HaCommand::Connect {
                    url,
                    mqtt,
                    ca_file,
                    discovery_prefix,
                    base_topic,
                },
        }) => match (url, mqtt) {
            (_, Some(mqtt)) => {
                connect_mqtt(&context, &mqtt, ca_file, &discovery_prefix, &base_topic).await?;
                Ok(0)
            }
            (Some(url), None) => {
                let (token, _) = read_secret(
                    "Home Assistant long-lived access token (it is not shown as you type): ",
                    "No token was given: pass the long-lived access token on the first line of standard input.",
                )
                .await?;
                link::connect(&context.household, &url, &token, ca_file).await?;
                output::line(&format!(
                    "Connected to Home Assistant at {}; every balance will be pushed there.",
                    url.trim()
                ))?;
                Ok(0)
            }
            (None, None) => bail!("Give --url (the REST API) or --mqtt (a broker)."),
        },
        Some(Command::Ha {
            command: HaCommand::Disconnect,
        }) => {
            link::disconnect(&context.household).await?;
            output::line("Disconnected from Home Assistant; nothing more will be pushed.")?;
            Ok(0)
        }
        Some(Command::Pot { command }) => {
            let (direction, args) = match command {
                PotCommand::Deposit(args) => (Direction::Deposit, args),
                PotCommand::Withdraw(args) => (Direction::Withdraw, args),
            };
            pot_move(&context, direction, &args).await?;
            Ok(0)
        }
        Some(Command::Sandbox { .. }) => unreachable!("handled above"),
    }
}

async fn connect_mqtt(
    context: &AppContext,
    url: &str,
    ca_file: Option<PathBuf>,
    discovery_prefix: &str,
    base_topic: &str,
) -> anyhow::Result<()> {
    let settings = mqtt::settings_from_input(url, ca_file, discovery_prefix, base_topic)?;
    let password = if settings.url.contains('@') {
        let (password, _) = read_secret(
            "The MQTT user's password (it is not shown as you type): ",
            "No password was given: the address names a user, so pass their password on the first line of standard input.",
        )
        .await?;
        Some(password)
    } else {
        None
    };
    let broker = settings.url.clone();
    link::connect_mqtt(&context.household, settings, password.as_deref()).await?;
    output::line(&format!(
        "Connected to the MQTT broker at {broker}; every balance will appear in Home Assistant as a device \
         (through its MQTT integration)."
    ))
}

/// Moves money between an account and a pot: checked first, asked on the terminal
/// (unless `--yes`), then carried out once. The command to try the same move again
/// is said before the first request, and again if the outcome stays unknown: a lost
/// reply, or Ctrl-C or SIGTERM with the move under way.
async fn pot_move(context: &AppContext, direction: Direction, args: &PotMove) -> anyhow::Result<()> {
    let person = context.household.person(&args.person)?;
    let snapshot = context.engine.poll_balances().await;
    let attempt = match &args.dedupe_id {
        Some(id) => pots::Attempt::Again(id),
        None => pots::Attempt::New,
    };
    let planned = pots::plan(&snapshot, &person, &args.pot, &args.amount, direction, attempt)?;
    let question = planned.question();
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            bail!(
                "Nothing was moved: {question} Add --yes to move it, or run this in a terminal to be asked."
            );
        }
        output::ask(&format!("{question} [y/N] "));
        let answer = stdin_lines().recv().await.unwrap_or_default();
        if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
            bail!("Nothing was moved.");
        }
    }
    // Listening before the first request: a stop from now on says how to try again.
    let mut stop = StopSignals::listen();
    output::note(&planned.before_sending());
    let carrying_out = pots::carry_out(
        context.engine.sessions(),
        &context.engine.config().retry,
        &planned,
    );
    let done = tokio::select! {
        done = carrying_out => done,
        () = stop.received() => bail!("{}", planned.stopped()),
    };
    match done {
        Ok(done) => output::line(&done.sentence),
        // The same id again is the same move: Monzo carries it out at most once.
        Err(err @ Error::MoveOutcomeUnknown { .. }) => bail!("{err} {}", planned.try_again()),
        Err(err) => Err(err.into()),
    }
}

/// How far back `transactions` looks: within the 90 days Monzo lets be read more
/// than five minutes after a sign-in.
const TRANSACTIONS_WINDOW_DAYS: i64 = 89;

async fn transactions(
    context: &AppContext,
    person: Option<&str>,
    account: Option<&str>,
    limit: u64,
    json: bool,
) -> anyhow::Result<()> {
    let person = person.map(|name| context.household.person(name)).transpose()?;
    let snapshot = context.engine.poll_once().await;
    for p in snapshot
        .people
        .iter()
        .filter(|p| p.state != ConnectionState::Live)
    {
        output::note(&format!(
            "monzo-tray: {}'s transactions are not shown: {}",
            p.name,
            p.error.as_deref().unwrap_or("not live")
        ));
    }
    let since = context.household.clock().now() - chrono::Duration::days(TRANSACTIONS_WINDOW_DAYS);
    let list = context.engine.transactions_since(&snapshot, since).await?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let records = terminal::select_transactions(&snapshot, list, person.as_ref(), account, limit)?;
    if json {
        output::line(&serde_json::to_string_pretty(
            &serde_json::json!({ "transactions": records }),
        )?)
    } else {
        output::print(&terminal::transactions_table(&records, &snapshot))
    }
}

/// Prints everyone's balances once; the exit code says whether all are current
/// (`terminal::status_exit_code`).
async fn status(context: &AppContext, json: bool) -> anyhow::Result<u8> {
    let snapshot = context.engine.poll_balances().await;
    if json {
        output::line(&serde_json::to_string_pretty(&snapshot)?)?;
    } else {
        output::print(&terminal::status_table(&snapshot))?;
    }
    Ok(terminal::status_exit_code(&snapshot))
}

/// A secret (client secret, token, password) from standard input, and the lines
/// that follow it there. On a terminal it is asked for on standard error and not
/// shown as it is typed (`rpassword`); piped, it is the first line.
async fn read_secret(
    prompt: &'static str,
    missing: &str,
) -> anyhow::Result<(String, mpsc::Receiver<String>)> {
    if !std::io::stdin().is_terminal() {
        let mut input = stdin_lines();
        let Some(secret) = input.recv().await else {
            bail!("{missing}");
        };
        return Ok((secret, input));
    }
    // rpassword turns echo off and answers Ctrl-C by raising SIGINT itself; caught
    // here, it gives rpassword the chance to turn echo back on before we exit.
    #[cfg(unix)]
    let interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    let typed = tokio::task::spawn_blocking(move || {
        let to_stderr = rpassword::ConfigBuilder::new()
            .output_writer(std::io::stderr())
            .build();
        rpassword::prompt_password_with_config(prompt, to_stderr)
    })
    .await?;
    let secret = match typed {
        Ok(secret) => secret,
        Err(err) if err.kind() == std::io::ErrorKind::Interrupted => bail!("Stopped; nothing was saved."),
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => bail!("{missing}"),
        Err(err) => bail!("Could not read from the terminal ({err})."),
    };
    if secret.trim().is_empty() {
        bail!("{missing}");
    }
    // Ctrl-C is ours from now on (see above): it ends the command as before.
    #[cfg(unix)]
    if let Some(mut interrupt) = interrupt {
        tokio::spawn(async move {
            interrupt.recv().await;
            output::note("monzo-tray: stopped.");
            std::process::exit(130);
        });
    }
    Ok((secret, stdin_lines()))
}

/// Lines typed or piped on stdin, read on a thread of their own (stdin has no truly
/// asynchronous read). The channel closes at end of input.
fn stdin_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(4);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

async fn login(
    context: &AppContext,
    person: &str,
    client_id: &str,
    redirect_port: u16,
    timeout: Duration,
) -> anyhow::Result<()> {
    let (secret, mut input) = read_secret(
        "Client secret (from developers.monzo.com; it is not shown as you type): ",
        "No client secret was given: pass it on the first line of standard input.",
    )
    .await?;
    context.household.secrets().check_available().await?;
    let listener = LoopbackListener::bind(redirect_port).await?;
    let redirect_uri = listener.redirect_uri();
    let sign_in = SignIn::start(&context.api, person, client_id, &secret, &redirect_uri)?;
    output::note(&format!(
        "The redirect URL to register for this client at developers.monzo.com is: {redirect_uri}"
    ));
    output::note("Open this address in a browser and sign in; Monzo will email you a link:");
    output::line(sign_in.authorize_url().as_str())?;
    output::note(
        "Waiting for the link in Monzo's email to bring the browser back here. If you opened it on another \
         device, paste the address it landed on (or just the code) here and press Enter.",
    );
    // Each line typed or piped is one paste; a refused one is said and the sign-in
    // goes on. End of input only means nothing more will be pasted.
    let (paste, pasted) = mpsc::channel(1);
    tokio::spawn(async move {
        while let Some(line) = input.recv().await {
            if !line.trim().is_empty() && paste.send(Pasted::new(line)).await.is_err() {
                break;
            }
        }
    });
    let signed_in = sign_in
        .complete(context.engine.sessions(), listener, pasted, timeout, |said| {
            output::note(said)
        })
        .await?;
    let name = sign_in.name();
    match signed_in.approval {
        Approval::Approved => output::line(&format!("{name} is signed in and access is approved.")),
        Approval::Pending | Approval::Unknown => output::line(&format!(
            "{name} is signed in. Now open the Monzo app on your phone and approve access for this app; \
             monzo-tray notices by itself once you have, nothing needs to be entered again."
        )),
    }
}

async fn headless(context: &AppContext, once: bool) -> anyhow::Result<()> {
    // One engine per household: a second would refresh tokens and announce every
    // transaction twice.
    let _engine = context.household.hold_engine("monzo-tray headless")?;
    if once {
        // Listening before the poll: what is new is announced, and only then
        // remembered as seen (see `Engine::new_transactions`).
        let mut new_transactions = context.engine.new_transactions();
        let snapshot = context.engine.poll_once().await;
        let mut slot = link::PusherSlot::new(context.push_status.clone());
        let report = slot.push(&context.household, &snapshot).await;
        let mut waiting = Vec::new();
        while let Ok(new) = new_transactions.try_recv() {
            waiting.push(new);
        }
        let announced = if waiting.is_empty() {
            None
        } else {
            slot.announce(&context.household, &mut waiting).await
        };
        output::line(&terminal::cycle_line(
            &snapshot,
            context.push_status.borrow().as_ref(),
        ))?;
        if let Some(report) = report.filter(|r| r.state.status != PushStatus::Ok) {
            let why = report
                .state
                .problem_line()
                .unwrap_or_else(|| "the push failed".into());
            bail!("{why}");
        }
        if let Some(Err(failure)) = announced {
            let transport = context.household.settings().home_assistant.transport;
            let why = PushState::failed(transport, failure, None)
                .problem_line()
                .unwrap_or_else(|| "the push failed".into());
            bail!(
                "{} new transaction(s) did not reach Home Assistant: {why}",
                waiting.len()
            );
        }
        return Ok(());
    }
    let stop = background::Stop::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        stop_requested().await;
        on_signal.cancel();
    });
    // A line per poll, and per change of the push status. If they cannot be
    // written (standard output closed, a full disk), the run stops as on Ctrl-C
    // and the command ends with that.
    let mut snapshots = context.engine.subscribe();
    let mut push_status = context.push_status.subscribe();
    let stopping = stop.clone();
    let printer = tokio::spawn(async move {
        loop {
            tokio::select! {
                changed = snapshots.changed() => if changed.is_err() { break Ok(()) },
                changed = push_status.changed() => if changed.is_err() { break Ok(()) },
            }
            let line = terminal::cycle_line(
                &snapshots.borrow_and_update(),
                push_status.borrow_and_update().as_ref(),
            );
            if let Err(err) = output::line(&line) {
                stopping.cancel();
                break Err(err);
            }
        }
    });
    // Returns once polling and pushing have stopped and rotated tokens are saved.
    let lost = background::run(context.engine.clone(), context.push_status.clone(), stop).await;
    if !lost.is_empty() {
        bail!(
            "Stopped, but the keyring could not store the refreshed sign-in of {}: Monzo has already replaced the old one, so sign {} in again.",
            lost.join(" and "),
            if lost.len() == 1 { "them" } else { "each of them" }
        );
    }
    match tokio::time::timeout(Duration::from_millis(100), printer).await {
        Ok(Ok(Err(err))) => Err(err),
        _ => Ok(()),
    }
}

/// Ctrl-C, or (on Unix) SIGTERM, as a service manager stops a service.
async fn stop_requested() {
    StopSignals::listen().received().await;
}

/// Ctrl-C and (on Unix) SIGTERM, listened for from when this is made: made before
/// something that must not be stopped unheard (a money move under way).
struct StopSignals {
    #[cfg(unix)]
    unix: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignals {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let unix = signal(SignalKind::interrupt())
                .and_then(|interrupt| Ok((interrupt, signal(SignalKind::terminate())?)))
                .ok();
            Self { unix }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn received(&mut self) {
        #[cfg(unix)]
        if let Some((interrupt, terminate)) = &mut self.unix {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn sandbox(port: u16, fixture: Option<PathBuf>) -> anyhow::Result<()> {
    let fixture = match fixture {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("could not read the fixture {}", path.display()))?;
            Fixture::from_json(&text)
                .with_context(|| format!("the fixture {} is not valid", path.display()))?
        }
        None => Fixture::demo(),
    };
    let clients = fixture.clients.clone();
    let users = fixture.users.clone();
    let sandbox = Sandbox::start(fixture, ([127, 0, 0, 1], port).into())
        .await
        .with_context(|| format!("could not listen on 127.0.0.1:{port}"))?;
    let mut said = vec![
        format!("Monzo sandbox serving on {}", sandbox.api_url()),
        format!("MONZO_API_URL={}", sandbox.api_url()),
        format!("MONZO_AUTH_URL={}", sandbox.auth_url()),
    ];
    // These are the sandbox's own public demo credentials, not anyone's secret.
    for client in &clients {
        said.push(format!(
            "client id: {}  client secret: {}",
            client.client_id, client.client_secret
        ));
    }
    for user in &users {
        said.push(format!("user: {} ({})", user.name, user.user_id));
    }
    said.push(format!(
        "Control: POST {}/_sandbox/approve {{\"user\":\"NAME\"}}, /_sandbox/faults, /_sandbox/account, ...",
        sandbox.api_url()
    ));
    output::line(&said.join("\n"))?;
    stop_requested().await;
    Ok(())
}
