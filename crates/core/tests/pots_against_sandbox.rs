#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure should stop the test
//! Moving money between an account and its pots, against the sandbox over HTTP:
//! exactly once (a lost reply retried with the same `dedupe_id`), twice only when
//! asked twice, and nothing at all when the move is refused (by our checks before
//! any request, or by Monzo).

mod support;

use std::time::Duration;

use monzo_sandbox::{FaultKind, FaultPlan, FaultRule, Fixture, Sandbox};
use monzo_tray_core::engine::{Engine, EngineConfig};
use monzo_tray_core::household::Household;
use monzo_tray_core::monzo::{http_client, Endpoints, MonzoApi};
use monzo_tray_core::pots::{carry_out, plan, Attempt, Direction};
use monzo_tray_core::retry::RetryPolicy;
use monzo_tray_core::secrets::SecretStore;
use monzo_tray_core::settings::Settings;
use monzo_tray_core::snapshot::Snapshot;
use monzo_tray_core::Error;
use std::sync::Arc;

const CURRENT: &str = "acc_00009demodanacurrent";
const HOLIDAY: &str = "pot_00009demoholiday";

struct World {
    sandbox: Sandbox,
    house: Arc<Household>,
    engine: Engine,
}

fn retry() -> RetryPolicy {
    RetryPolicy {
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retries: 3,
        ..RetryPolicy::default()
    }
}

async fn world() -> World {
    let sandbox = Sandbox::start_local(Fixture::demo()).await.unwrap();
    let http = http_client(Duration::from_millis(800)).unwrap();
    let api = MonzoApi::new(
        http.clone(),
        Endpoints::new(&sandbox.api_url(), &sandbox.auth_url()).unwrap(),
    );
    let house = Arc::new(Household::in_memory(Settings::default(), SecretStore::memory()));
    let engine = Engine::new(
        house.clone(),
        http.clone(),
        api.clone(),
        EngineConfig {
            retry: retry(),
            ..EngineConfig::default()
        },
    );
    support::sign_in_as(&api, engine.sessions(), "Dana", "Dana").await;
    World {
        sandbox,
        house,
        engine,
    }
}

/// Balances at the sandbox, in minor units: (account, pot).
fn at_monzo(w: &World) -> (i64, i64) {
    let fixture = w.sandbox.fixture();
    let account = fixture.accounts.iter().find(|a| a.id == CURRENT).unwrap().balance;
    let pot = fixture.pots.iter().find(|p| p.id == HOLIDAY).unwrap().balance;
    (account, pot)
}

fn move_requests(w: &World) -> u64 {
    w.sandbox
        .request_counts()
        .iter()
        .filter(|(path, _)| path.starts_with("/pots/"))
        .map(|(_, n)| n)
        .sum()
}

fn faults(kind: FaultKind, times: Option<u32>) -> FaultPlan {
    FaultPlan {
        rules: vec![FaultRule {
            kind,
            times,
            path: Some("/pots/".into()),
            retry_after: None,
            delay_ms: None,
        }],
        random: None,
    }
}

async fn snapshot(w: &World) -> Snapshot {
    w.engine.poll_once().await
}

#[tokio::test]
async fn a_move_whose_reply_is_lost_is_retried_and_happens_once() {
    let w = world().await;
    let mut events = w.engine.new_transactions();
    let dana = w.house.person("Dana").unwrap();
    let before = at_monzo(&w);
    let planned = plan(
        &snapshot(&w).await,
        &dana,
        "Holiday",
        "50",
        Direction::Deposit,
        Attempt::New,
    )
    .unwrap();
    assert_eq!(
        planned.question(),
        "Move £50.00 from Dana's Current Account into Holiday ☀️?"
    );
    // Monzo makes the move, then the connection drops before the reply.
    w.sandbox.set_faults(faults(FaultKind::DropReply, Some(1)));
    w.sandbox.reset_request_counts();
    let done = carry_out(w.engine.sessions(), &retry(), &planned).await.unwrap();
    assert_eq!(move_requests(&w), 2, "retried once, with the same dedupe id");
    assert_eq!(at_monzo(&w), (before.0 - 5000, before.1 + 5000), "moved once");
    assert_eq!(done.pot_balance.to_decimal_string(), "1550.00");
    assert_eq!(
        done.sentence,
        "Moved £50.00 into Holiday ☀️; it now holds £1,550.00."
    );

    // Every reply lost: after the last try a read of the pot shows it happened.
    let planned = plan(
        &snapshot(&w).await,
        &dana,
        HOLIDAY,
        "£25.50",
        Direction::Withdraw,
        Attempt::New,
    )
    .unwrap();
    w.sandbox.set_faults(faults(FaultKind::DropReply, None));
    let done = carry_out(w.engine.sessions(), &retry(), &planned).await.unwrap();
    assert_eq!(
        at_monzo(&w),
        (before.0 - 5000 + 2550, before.1 + 5000 - 2550),
        "moved once"
    );
    assert_eq!(done.pot_balance.to_decimal_string(), "1524.50");

    // No try reaches Monzo at all: the outcome is unknown, and the person is told to
    // check before trying again. Nothing moved.
    let planned = plan(
        &snapshot(&w).await,
        &dana,
        HOLIDAY,
        "10",
        Direction::Deposit,
        Attempt::New,
    )
    .unwrap();
    w.sandbox.set_faults(faults(FaultKind::DropConnection, None));
    let err = carry_out(w.engine.sessions(), &retry(), &planned)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MoveOutcomeUnknown { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("Check the pot in the Monzo app before trying again"),
        "{err}"
    );
    assert_eq!(at_monzo(&w).1, before.1 + 5000 - 2550);
    w.sandbox.clear_faults();
    // Trying that move again is the same move: its dedupe id, given back, moves the
    // money once however often it is tried; an id this app did not make is refused.
    let again = plan(
        &snapshot(&w).await,
        &dana,
        HOLIDAY,
        "10",
        Direction::Deposit,
        Attempt::Again(planned.dedupe_id.as_str()),
    )
    .unwrap();
    assert_eq!(again.dedupe_id, planned.dedupe_id);
    for _ in 0..2 {
        carry_out(w.engine.sessions(), &retry(), &again).await.unwrap();
    }
    assert_eq!(at_monzo(&w).1, before.1 + 5000 - 2550 + 1000, "moved once");
    // The same id for another move (another amount, another direction) would get
    // the first move's reply and report a move that never happened: refused.
    for (amount, direction) in [("11", Direction::Deposit), ("10", Direction::Withdraw)] {
        let err = plan(
            &snapshot(&w).await,
            &dana,
            HOLIDAY,
            amount,
            direction,
            Attempt::Again(planned.dedupe_id.as_str()),
        )
        .unwrap_err();
        assert!(err.to_string().contains("belongs to another move"), "{err}");
    }
    for bogus in [
        "",
        "abc",
        "monzo-tray-short",
        "monzo-tray-aaaaaaaaaaaaaaaaaaaaaaa!",
    ] {
        let err = plan(
            &snapshot(&w).await,
            &dana,
            HOLIDAY,
            "10",
            Direction::Deposit,
            Attempt::Again(bogus),
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{bogus:?}: {err}");
    }

    // The tray's balances follow at the next poll, and the moves are transactions.
    let after = snapshot(&w).await;
    let pot = after.people[0].accounts[0]
        .pots
        .iter()
        .find(|p| p.id == HOLIDAY)
        .unwrap();
    assert_eq!(pot.balance.to_decimal_string(), "1534.50");
    let mut told = Vec::new();
    while let Ok(e) = events.try_recv() {
        told.push(e.transaction);
    }
    assert_eq!(told.len(), 3, "three moves, three transactions: {told:?}");
    assert!(told.iter().all(|t| t.pot_id.as_deref() == Some(HOLIDAY)));
}

#[tokio::test]
async fn the_same_move_asked_twice_is_two_moves_and_one_plan_moves_once() {
    let w = world().await;
    let dana = w.house.person("Dana").unwrap();
    let before = at_monzo(&w);
    let seen = snapshot(&w).await;
    let first = plan(&seen, &dana, "Holiday", "10", Direction::Deposit, Attempt::New).unwrap();
    let second = plan(&seen, &dana, "Holiday", "10", Direction::Deposit, Attempt::New).unwrap();
    assert_ne!(
        first.dedupe_id, second.dedupe_id,
        "one dedupe id per move asked for"
    );
    carry_out(w.engine.sessions(), &retry(), &first).await.unwrap();
    carry_out(w.engine.sessions(), &retry(), &second).await.unwrap();
    assert_eq!(at_monzo(&w).1, before.1 + 2000, "asked twice: moved twice");
    // The same plan (its dedupe id) again: Monzo answers the first reply, moves nothing.
    carry_out(w.engine.sessions(), &retry(), &first).await.unwrap();
    assert_eq!(at_monzo(&w).1, before.1 + 2000);
}

/// A locked pot, a bad amount, too little money, an unknown pot, a person not
/// live: each moves nothing and says why; what we can check is refused before any
/// request, what Monzo refuses is not tried again.
#[tokio::test]
async fn refused_moves_move_nothing_and_say_why() {
    let w = world().await;
    let dana = w.house.person("Dana").unwrap();
    let before = at_monzo(&w);
    w.sandbox.set_pot_locked(HOLIDAY, true).unwrap();
    let seen = snapshot(&w).await;
    w.sandbox.reset_request_counts();
    let refused = |pot: &str, amount: &str, direction| {
        plan(&seen, &dana, pot, amount, direction, Attempt::New).unwrap_err()
    };

    let locked = refused("Holiday", "5", Direction::Withdraw);
    assert!(matches!(locked, Error::PotLocked { .. }), "{locked:?}");
    assert!(
        locked
            .to_string()
            .contains("only come out of it in the Monzo app"),
        "{locked}"
    );
    for amount in ["abc", "0", "-5", "1.234", "", "1,000"] {
        let err = refused("Holiday", amount, Direction::Deposit);
        assert_eq!(err.code(), "invalid_amount", "{amount:?}: {err}");
    }
    let too_much = refused("Rainy day", "320.76", Direction::Withdraw);
    assert!(
        too_much
            .to_string()
            .contains("Rainy day had £320.75 when last seen"),
        "{too_much}"
    );
    let too_much = refused("Holiday", "1234.57", Direction::Deposit);
    assert!(
        too_much.to_string().contains("Current Account had £1,234.56"),
        "{too_much}"
    );
    let unknown = refused("Yacht", "5", Direction::Deposit);
    assert!(matches!(unknown, Error::UnknownPot { .. }), "{unknown:?}");
    let deleted = refused("New bike", "5", Direction::Deposit);
    assert!(
        matches!(deleted, Error::UnknownPot { .. }),
        "a deleted pot is not there: {deleted:?}"
    );
    assert_eq!(move_requests(&w), 0, "nothing was asked of Monzo");
    // Depositing into a locked pot is fine (only withdrawals are in-app only).
    plan(&seen, &dana, "Holiday", "1", Direction::Deposit, Attempt::New).unwrap();

    // Monzo has the last word: it refuses (the money went since it was last seen, the
    // pot was locked since), once, with its own sentence.
    let planned = plan(
        &seen,
        &dana,
        "Rainy day",
        "300",
        Direction::Withdraw,
        Attempt::New,
    )
    .unwrap();
    w.sandbox
        .set_pot("pot_00009demorainyday", Some(100), None, None)
        .unwrap();
    let err = carry_out(w.engine.sessions(), &retry(), &planned)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MoveRefused { .. }), "{err:?}");
    assert!(err.to_string().contains("not enough money in the pot"), "{err}");
    assert_eq!(move_requests(&w), 1, "a refusal is not tried again");
    w.sandbox.set_pot_locked("pot_00009demorainyday", true).unwrap();
    w.sandbox
        .set_pot("pot_00009demorainyday", Some(32075), None, None)
        .unwrap();
    let err = carry_out(w.engine.sessions(), &retry(), &planned)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PotLocked { .. }), "{err:?}");
    assert_eq!(at_monzo(&w), before);

    // Nobody is moved for while their balances are not current.
    w.sandbox.revoke_approval("Dana").unwrap();
    let stale = snapshot(&w).await;
    let err = plan(&stale, &dana, "Holiday", "5", Direction::Deposit, Attempt::New).unwrap_err();
    assert!(matches!(err, Error::NotLive { .. }), "{err:?}");
}

/// The access token expires during a move: refreshed, and the move retried with
/// the same dedupe id, once.
#[tokio::test]
async fn an_expired_token_during_a_move_is_refreshed_and_the_move_made_once() {
    let w = world().await;
    let dana = w.house.person("Dana").unwrap();
    let before = at_monzo(&w);
    let planned = plan(
        &snapshot(&w).await,
        &dana,
        "Holiday",
        "7",
        Direction::Deposit,
        Attempt::New,
    )
    .unwrap();
    w.sandbox.expire_tokens(None).unwrap();
    carry_out(w.engine.sessions(), &retry(), &planned).await.unwrap();
    assert_eq!(at_monzo(&w).1, before.1 + 700);
}
