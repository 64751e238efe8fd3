//! One function per command; each is a few lines into `monzo-tray-core`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use monzo_sandbox::{Fixture, Sandbox};
use monzo_tray_core::login::{Approval, SignIn};
use monzo_tray_core::loopback::LoopbackListener;
use tokio::sync::mpsc;

use crate::cli::{Cli, Command, HaCommand, PotCommand, PotMove};
use crate::context::AppContext;
use crate::demo;
use monzo_tray_core::background;
use monzo_tray_core::home_assistant::{link, mqtt};
use monzo_tray_core::home_assistant::{PushState, PushStatus};
use monzo_tray_core::pots::{self, Direction};
use monzo_tray_core::snapshot::ConnectionState;
use monzo_tray_core::terminal as output;
use monzo_tray_core::Error;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Sandbox { port, fixture }) = cli.command {
        return sandbox(port, fixture).await;
    }
    if cli.demo && matches!(cli.command, Some(Command::Login { .. } | Command::Logout { .. })) {
        bail!("The demo's people are signed in already and are not stored; run without --demo to sign in.");
    }
    let context = if cli.demo {
        demo::context().await?
    } else {
        AppContext::from_env().await?
    };
    match cli.command {
        None => {
            eprintln!(
                "monzo-tray: no display was found, so here are the balances in the terminal \
                 (`monzo-tray headless` keeps polling)."
            );
            status(&context, false).await
        }
        Some(Command::Status { json: false }) => status(&context, false).await,
        Some(Command::Status { json: true }) => status(&context, true).await,
        Some(Command::People { json }) => {
            let settings = context.household.settings();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&output::people_json(&settings))?
                );
            } else {
                print!("{}", output::people_table(&settings));
            }
            Ok(())
        }
        Some(Command::Logout { person }) => {
            let removal = context.household.remove_person(&person).await?;
            match removal.secrets_kept {
                None => println!(
                    "{} was removed, with their sign-in and client secret.",
                    removal.person.name
                ),
                Some(err) => println!(
                    "{} was removed. Their sign-in and client secret could not be deleted from the keyring now ({err}); monzo-tray deletes them at its next start.",
                    removal.person.name
                ),
            }
            Ok(())
        }
        Some(Command::Login {
            person,
            client_id,
            redirect_port,
            timeout,
        }) => {
            login(
                &context,
                &person,
                &client_id,
                redirect_port,
                Duration::from_secs(timeout),
            )
            .await
        }
        Some(Command::Headless { once, interval }) => {
            context
                .engine
                .set_poll_interval(interval.map(Duration::from_secs));
            headless(&context, once).await
        }
        Some(Command::Transactions {
            person,
            account,
            limit,
            json,
        }) => transactions(&context, person.as_deref(), account.as_deref(), limit, json).await,
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
            (_, Some(mqtt)) => connect_mqtt(&context, &mqtt, ca_file, &discovery_prefix, &base_topic).await,
            (Some(url), None) => {
                let mut input = stdin_lines();
                let Some(token) = input.recv().await else {
                    bail!("No token was given: pass the long-lived access token on the first line of standard input.");
                };
                link::connect(&context.household, &url, &token, ca_file).await?;
                println!(
                    "Connected to Home Assistant at {}; every balance will be pushed there.",
                    url.trim()
                );
                Ok(())
            }
            (None, None) => bail!("Give --url (the REST API) or --mqtt (a broker)."),
        },
        Some(Command::Ha {
            command: HaCommand::Disconnect,
        }) => {
            link::disconnect(&context.household).await?;
            println!("Disconnected from Home Assistant; nothing more will be pushed.");
            Ok(())
        }
        Some(Command::Pot { command }) => {
            let (direction, args) = match command {
                PotCommand::Deposit(args) => (Direction::IntoPot, args),
                PotCommand::Withdraw(args) => (Direction::OutOfPot, args),
            };
            pot_move(&context, direction, &args).await
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
        let mut input = stdin_lines();
        match input.recv().await {
            Some(password) => Some(password),
            None => bail!(
                "No password was given: the address names a user, so pass their password on the first line of standard input."
            ),
        }
    } else {
        None
    };
    let broker = settings.url.clone();
    link::connect_mqtt(&context.household, settings, password.as_deref()).await?;
    println!(
        "Connected to the MQTT broker at {broker}; every balance will appear in Home Assistant as a device \
         (through its MQTT integration)."
    );
    Ok(())
}

/// Moves money between an account and a pot: checked first, asked on the terminal
/// (unless `--yes`), then carried out once.
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
        eprint!("{question} [y/N] ");
        let _ = std::io::stderr().flush();
        let answer = stdin_lines().recv().await.unwrap_or_default();
        if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
            bail!("Nothing was moved.");
        }
    }
    let done = pots::carry_out(
        context.engine.sessions(),
        &context.engine.config().retry,
        &planned,
    )
    .await;
    match done {
        Ok(done) => {
            println!("{}", done.sentence);
            Ok(())
        }
        Err(err @ Error::MoveOutcomeUnknown { .. }) => {
            // The same id again is the same move: Monzo carries it out at most once.
            let verb = match direction {
                Direction::IntoPot => "deposit",
                Direction::OutOfPot => "withdraw",
            };
            bail!(
                "{err} To try this same move again (Monzo moves it at most once): monzo-tray pot {verb} \
                 --person {} --pot {} --amount {} --dedupe-id {}",
                shlex::try_quote(&person.name).unwrap_or(std::borrow::Cow::Borrowed("NAME")),
                planned.pot_id,
                planned.amount.to_decimal_string(),
                planned.dedupe_id
            )
        }
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
        eprintln!(
            "monzo-tray: {}'s transactions are not shown: {}",
            p.name,
            p.error.as_deref().unwrap_or("not live")
        );
    }
    let since = context.household.clock().now() - chrono::Duration::days(TRANSACTIONS_WINDOW_DAYS);
    let list = context.engine.transactions_since(&snapshot, since).await?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let records = output::select_transactions(&snapshot, list, person.as_ref(), account, limit)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "transactions": records }))?
        );
    } else {
        print!("{}", output::transactions_table(&records, &snapshot));
    }
    Ok(())
}

async fn status(context: &AppContext, json: bool) -> anyhow::Result<()> {
    let snapshot = context.engine.poll_balances().await;
    if json {
        println!("{}", serde_json::to_string_pretty(&snapshot)?);
    } else {
        print!("{}", output::status_table(&snapshot));
    }
    Ok(())
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
    let mut input = stdin_lines();
    let Some(secret) = input.recv().await else {
        bail!("No client secret was given: pass it on the first line of standard input.");
    };
    context.household.secrets().check_available().await?;
    let listener = LoopbackListener::bind(redirect_port).await?;
    let redirect_uri = listener.redirect_uri();
    let sign_in = SignIn::start(&context.api, person, client_id, &secret, &redirect_uri)?;
    eprintln!("The redirect URL to register for this client at developers.monzo.com is: {redirect_uri}");
    eprintln!("Open this address in a browser and sign in; Monzo will email you a link:");
    println!("{}", sign_in.authorize_url());
    std::io::stdout().flush()?;
    eprintln!(
        "Waiting for the link in Monzo's email to bring the browser back here. If you opened it on another \
         device, paste the address it landed on (or just the code) here and press Enter."
    );
    let waiting = listener.wait_for_code(sign_in.state().to_owned(), timeout);
    tokio::pin!(waiting);
    let mut stdin_open = true;
    let code = loop {
        tokio::select! {
            result = &mut waiting => break result?,
            line = input.recv(), if stdin_open => match line {
                Some(line) if line.trim().is_empty() => continue,
                Some(line) => break sign_in.code_from_pasted(&line)?,
                // End of input only means nothing will be pasted: wait for the redirect.
                None => stdin_open = false,
            },
        }
    };
    let name = sign_in.name().to_owned();
    let signed_in = sign_in.finish(context.engine.sessions(), code).await?;
    match signed_in.approval {
        Approval::Approved => println!("{name} is signed in and access is approved."),
        Approval::Pending | Approval::Unknown => println!(
            "{name} is signed in. Now open the Monzo app on your phone and approve access for this app; \
             monzo-tray notices by itself once you have, nothing needs to be entered again."
        ),
    }
    Ok(())
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
        println!(
            "{}",
            output::cycle_line(&snapshot, context.push_status.borrow().as_ref())
        );
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
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        stop_requested().await;
        let _ = stop.send(true);
    });
    // A line per poll, and per change of the push status.
    let mut snapshots = context.engine.subscribe();
    let mut push_status = context.push_status.subscribe();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                changed = snapshots.changed() => if changed.is_err() { break },
                changed = push_status.changed() => if changed.is_err() { break },
            }
            let line = output::cycle_line(
                &snapshots.borrow_and_update(),
                push_status.borrow_and_update().as_ref(),
            );
            println!("{line}");
        }
    });
    // Returns once polling and pushing have stopped and rotated tokens are saved.
    let lost = background::run(context.engine.clone(), context.push_status.clone(), stopped).await;
    if !lost.is_empty() {
        bail!(
            "Stopped, but the keyring could not store the refreshed sign-in of {}: Monzo has already replaced the old one, so sign {} in again.",
            lost.join(" and "),
            if lost.len() == 1 { "them" } else { "each of them" }
        );
    }
    Ok(())
}

/// Ctrl-C, or (on Unix) SIGTERM, as a service manager stops a service.
async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
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
    println!("Monzo sandbox serving on {}", sandbox.api_url());
    println!("MONZO_API_URL={}", sandbox.api_url());
    println!("MONZO_AUTH_URL={}", sandbox.auth_url());
    // These are the sandbox's own public demo credentials, not anyone's secret.
    for client in &clients {
        println!(
            "client id: {}  client secret: {}",
            client.client_id, client.client_secret
        );
    }
    for user in &users {
        println!("user: {} ({})", user.name, user.user_id);
    }
    println!(
        "Control: POST {}/_sandbox/approve {{\"user\":\"NAME\"}}, /_sandbox/faults, /_sandbox/account, ...",
        sandbox.api_url()
    );
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(())
}
