//! One function per command, each calling into `monzo-tray-core` for what it does
//! and says; this file reads input and prints. What is printed goes through
//! `output` (never `println!`); each command returns its exit code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use monzo_sandbox::{Fixture, Sandbox};
use monzo_tray_core::background;
use monzo_tray_core::home_assistant::mqtt;
use monzo_tray_core::login::Pasted;
use monzo_tray_core::loopback::LoopbackListener;
use monzo_tray_core::pots::Direction;
use monzo_tray_core::service::{AppService, Changes, HistoryFormat, HistoryQuery, APPROVAL_WAIT};
use monzo_tray_core::Error;
use tokio::sync::mpsc;

use crate::cli::{Cli, Command, ExportCommand, HaCommand, HistoryWhich, PotCommand, PotMove};
use crate::context::AppContext;
use crate::demo;
use crate::output;

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
        demo::context(cli.places.redirect_port).await?
    } else {
        AppContext::open(&cli.places).await?
    };
    let (service, _kept) = context.into_service();
    if cli.demo
        && matches!(
            cli.command,
            Some(Command::History { .. } | Command::Export { .. } | Command::Spending { .. })
        )
    {
        // The demo's people have just signed in: inside Monzo's 5 minutes their
        // whole history can be read, as the tray's engine does after a sign-in.
        service.import_history_now().await;
    }
    let service = Arc::new(service);
    let service = &service;
    match cli.command {
        None => {
            output::note(
                "monzo-tray: no display was found, so here are the balances in the terminal \
                 (`monzo-tray headless` keeps polling).",
            );
            status(service, false).await
        }
        Some(Command::Status { json }) => status(service, json).await,
        Some(Command::People { json }) => {
            print(&service.people_report(json)?, json)?;
            Ok(0)
        }
        Some(Command::Logout { person }) => {
            output::line(&service.logout(&person).await?)?;
            Ok(0)
        }
        Some(Command::Login {
            person,
            client_id,
            timeout,
        }) => {
            login(
                service,
                &person,
                &client_id,
                cli.places.redirect_port,
                Duration::from_secs(timeout),
            )
            .await?;
            Ok(0)
        }
        Some(Command::Headless { once, interval }) => {
            service.set_run_poll_interval(interval.map(Duration::from_secs));
            headless(service, once).await?;
            Ok(0)
        }
        Some(Command::Transactions {
            person,
            account,
            limit,
            json,
        }) => {
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            let report = service
                .transactions_report(person.as_deref(), account.as_deref(), limit, json)
                .await?;
            for note in &report.notes {
                output::note(note);
            }
            print(&report.listing?, json)?;
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
                connect_mqtt(service, &mqtt, ca_file, &discovery_prefix, &base_topic).await?;
                Ok(0)
            }
            (Some(url), None) => {
                let (token, _) = read_secret(
                    "Home Assistant long-lived access token (it is not shown as you type): ",
                    "No token was given: pass the long-lived access token on the first line of standard input.",
                )
                .await?;
                output::line(&service.connect_rest(&url, &token, ca_file).await?)?;
                Ok(0)
            }
            (None, None) => bail!("Give --url (the REST API) or --mqtt (a broker)."),
        },
        Some(Command::Ha {
            command: HaCommand::Statistics { url, ca_file, off },
        }) => {
            let said = match url {
                Some(url) if !off => {
                    let (token, _) = read_secret(
                        "Home Assistant long-lived access token (it is not shown as you type): ",
                        "No token was given: pass the long-lived access token on the first line of standard input.",
                    )
                    .await?;
                    service.connect_statistics(&url, &token, ca_file).await?
                }
                _ => service.forget_statistics().await?,
            };
            output::line(&said)?;
            Ok(0)
        }
        Some(Command::Ha {
            command: HaCommand::Disconnect,
        }) => {
            output::line(&service.disconnect_home_assistant().await?)?;
            Ok(0)
        }
        Some(Command::Pot { command }) => {
            let (direction, args) = match command {
                PotCommand::Deposit(args) => (Direction::Deposit, args),
                PotCommand::Withdraw(args) => (Direction::Withdraw, args),
            };
            pot_move(service, direction, &args).await?;
            Ok(0)
        }
        Some(Command::History { which, json, csv }) => {
            let format = match (json, csv) {
                (true, _) => HistoryFormat::Json,
                (_, true) => HistoryFormat::Csv,
                _ => HistoryFormat::Table,
            };
            let report = service.history_report(&history_query(which), format)?;
            for note in &report.notes {
                output::note(note);
            }
            if format == HistoryFormat::Csv {
                output::print_csv(report.printed.as_bytes())?;
            } else {
                print(&report.printed, json)?;
            }
            Ok(0)
        }
        Some(Command::Export {
            command: ExportCommand::Transactions { which, csv: _ },
        }) => {
            let mut csv = Vec::new();
            service.export_transactions(&history_query(which), &mut csv)?;
            output::print_csv(&csv)?;
            Ok(0)
        }
        Some(Command::Spending { month, json }) => {
            print(&service.spending_report(month.as_deref(), json)?, json)?;
            Ok(0)
        }
        Some(Command::Sandbox { .. }) => unreachable!("handled above"),
    }
}

/// Prints a command's output: JSON as one document, a table as it is (it ends in
/// a line break).
fn print(printed: &str, json: bool) -> anyhow::Result<()> {
    if json {
        output::line(printed)
    } else {
        output::print(printed)
    }
}

async fn connect_mqtt(
    service: &AppService,
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
    output::line(&service.connect_mqtt(settings, password.as_deref()).await?)
}

/// Moves money between an account and a pot: checked first, asked on the terminal
/// (unless `--yes`), then carried out once. The command to try the same move again
/// is said before the first request, and again if the outcome stays unknown: a lost
/// reply, or Ctrl-C or SIGTERM with the move under way.
async fn pot_move(service: &AppService, direction: Direction, args: &PotMove) -> anyhow::Result<()> {
    let planned = service
        .plan_move_by_name(
            &args.person,
            &args.pot,
            &args.amount,
            direction,
            args.dedupe_id.as_deref(),
        )
        .await?;
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
    let carrying_out = service.carry_out_move(&planned);
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

/// Prints everyone's balances once; the exit code says whether all are current
/// (`terminal::status_exit_code`).
async fn status(service: &AppService, json: bool) -> anyhow::Result<u8> {
    let (printed, code) = service.status_report(json).await?;
    print(&printed, json)?;
    Ok(code)
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
    service: &AppService,
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
    service.check_keyring().await?;
    let listener = LoopbackListener::bind(redirect_port).await?;
    let redirect_uri = listener.redirect_uri();
    let sign_in = service
        .start_sign_in(person, client_id, &secret, &redirect_uri)
        .await?;
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
    let signed_in = service
        .complete_sign_in(&sign_in, listener, pasted, timeout, output::note)
        .await?;
    output::line(&signed_in)?;
    // The whole history can be read only in Monzo's 5 minutes after this sign-in:
    // the running engine imports it if there is one, else this command does.
    match service.hold_engine("monzo-tray login") {
        Ok(_engine) => {
            let said = service
                .import_after_sign_in(person, APPROVAL_WAIT, output::note)
                .await?;
            output::line(&said)
        }
        Err(Error::EngineRunning { role, .. }) => {
            output::note(&format!(
                "The running monzo-tray ({role}) imports {person}'s history now."
            ));
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

fn history_query(which: HistoryWhich) -> HistoryQuery {
    HistoryQuery {
        person: which.person,
        account: which.account,
        from: which.from,
        to: which.to,
    }
}

async fn headless(service: &Arc<AppService>, once: bool) -> anyhow::Result<()> {
    // One engine per household: a second would refresh tokens and announce every
    // transaction twice.
    let _engine = service.hold_engine("monzo-tray headless")?;
    if once {
        let report = service.poll_and_push_once().await;
        output::line(&report.line)?;
        if let Some(why) = report.failure {
            bail!("{why}");
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
    let Changes {
        snapshot: mut snapshots,
        mut push_status,
        ..
    } = service.changes();
    let stopping = stop.clone();
    let printing = service.clone();
    let printer = tokio::spawn(async move {
        loop {
            tokio::select! {
                changed = snapshots.changed() => if changed.is_err() { break Ok(()) },
                changed = push_status.changed() => if changed.is_err() { break Ok(()) },
            }
            // Seen: the line says how both stand now.
            drop(snapshots.borrow_and_update());
            drop(push_status.borrow_and_update());
            if let Err(err) = output::line(&printing.cycle_line()) {
                stopping.cancel();
                break Err(err);
            }
        }
    });
    // Returns once polling and pushing have stopped and rotated tokens are saved.
    let lost = service.run_background(stop).await;
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
