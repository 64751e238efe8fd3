//! Moving money between an account and its pots: the one place monzo-tray writes to
//! a bank, so it must be impossible to move money twice or by accident.
//!
//! - [`plan`] checks a move before any request (the person live, the pot theirs and
//!   not deleted, the amount positive, in the currency's decimals and within what the
//!   source held when last seen, a pot with "added security" not withdrawn from) and
//!   gives it its `dedupe_id`, made once, before the first try. The person confirms
//!   [`PlannedMove::question`].
//! - [`carry_out`] makes it: `PUT /pots/{id}/deposit` or `/withdraw` (Monzo's docs,
//!   pots), every retry with the same `dedupe_id`, so Monzo moves the money once
//!   however often it is asked. What Monzo refuses is not tried again. If no try got
//!   an answer, a read of the pot tells whether it happened; otherwise the person is
//!   told the outcome is unknown, to check before trying again.

use rand::distr::{Alphanumeric, SampleString};

use crate::error::{Error, Result};
use crate::money::{Currency, Money};
use crate::retry::RetryPolicy;
use crate::session::Sessions;
use crate::settings::PersonSettings;
use crate::slug::slugify;
use crate::snapshot::{AccountSnapshot, ConnectionState, PersonSnapshot, PotSnapshot, Snapshot};

pub use crate::monzo::Direction;

/// "into" or "out of" the pot, for sentences.
fn toward_pot(direction: Direction) -> &'static str {
    match direction {
        Direction::Deposit => "into",
        Direction::Withdraw => "out of",
    }
}

/// A move the person asked for, checked, waiting for their confirmation.
#[derive(Debug, Clone)]
pub struct PlannedMove {
    /// The move's `dedupe_id`: one per move the person asked for, reused by every
    /// retry of it.
    pub dedupe_id: DedupeId,
    pub(crate) person: PersonSettings,
    pub(crate) account_id: String,
    /// "Current Account".
    pub(crate) account_name: String,
    pub(crate) pot_id: String,
    pub(crate) pot_name: String,
    pub(crate) amount: Money,
    pub(crate) direction: Direction,
    /// The pot's balance when the move was planned: afterwards it tells whether a
    /// move that got no answer happened.
    pub(crate) pot_balance_before: Money,
}

impl PlannedMove {
    /// What the person confirms: "Move £50.00 from Dana's Current Account into
    /// Holiday?", "Move £50.00 out of Holiday into Dana's Current Account?".
    pub fn question(&self) -> String {
        let account = format!("{}'s {}", self.person.name, self.account_name);
        match self.direction {
            Direction::Deposit => format!("Move {} from {account} into {}?", self.amount, self.pot_name),
            Direction::Withdraw => format!("Move {} out of {} into {account}?", self.amount, self.pot_name),
        }
    }

    /// The question again when the outcome of its move is unknown, for the window's
    /// "Try again": the same move, with the same `dedupe_id`.
    pub(crate) fn retry_question(&self) -> String {
        format!(
            "{} Trying again sends this same move, which Monzo carries out at most once.",
            self.question()
        )
    }

    /// The command that tries this same move again, with its `dedupe_id`:
    /// `monzo-tray pot deposit --person Dana --pot pot_… --amount 50.00 --dedupe-id
    /// monzo-tray-…`, quoted for a POSIX shell.
    pub(crate) fn again_command(&self) -> String {
        let quoted =
            |word: &str| shlex::try_quote(word).map_or_else(|_| "NAME".to_owned(), |q| q.into_owned());
        format!(
            "monzo-tray pot {} --person {} --pot {} --amount {} --dedupe-id {}",
            self.direction.as_str(),
            quoted(&self.person.name),
            quoted(&self.pot_id),
            self.amount.to_decimal_string(),
            self.dedupe_id
        )
    }

    /// Said before the first request, so the way to try again is on the screen
    /// whatever happens next (an interruption, a lost reply, a closed terminal).
    pub fn before_sending(&self) -> String {
        format!(
            "Moving it now. If you do not see how it ended, try this same move again (Monzo moves it at most once): {}",
            self.again_command()
        )
    }

    /// Said when the outcome is unknown (after [`Error::MoveOutcomeUnknown`], or
    /// when stopped with the move under way).
    pub fn try_again(&self) -> String {
        format!(
            "To try this same move again (Monzo moves it at most once): {}",
            self.again_command()
        )
    }

    /// Said when the command was stopped (Ctrl-C, SIGTERM) with the move under way.
    pub fn stopped(&self) -> String {
        format!(
            "Stopped with the move of {} under way: it may or may not have happened. Check the pot in the Monzo app. {}",
            self.amount,
            self.try_again()
        )
    }

    /// The pot's balance once the move is made.
    fn pot_balance_after(&self) -> Option<Money> {
        let change = match self.direction {
            Direction::Deposit => self.amount.clone(),
            Direction::Withdraw => {
                Money::from_minor(-self.amount.to_minor()?, self.amount.currency().clone())
            }
        };
        self.pot_balance_before.checked_add(&change)
    }
}

/// A move made.
#[derive(Debug, Clone)]
pub struct MoveDone {
    /// The pot's balance after it, as Monzo said (or as read back).
    pub pot_balance: Money,
    /// "Moved £50.00 into Holiday; it now holds £1,550.00."
    pub sentence: String,
}

/// A pot of `person` by its id, its name (any case), or its name as typed without
/// emoji and punctuation ("holiday" for "Holiday ☀️", compared as slugs). A name
/// that fits more than one pot in any of these ways (a pot of one's own and one of
/// a joint account may share it) names none: moving money out of the wrong one is
/// worse than asking.
///
/// Errors: [`Error::UnknownPot`], [`Error::PotNameShared`] with the pots' ids.
fn find_pot<'a>(person: &'a PersonSnapshot, wanted: &str) -> Result<(&'a AccountSnapshot, &'a PotSnapshot)> {
    let wanted = wanted.trim();
    let pots = || {
        person
            .accounts
            .iter()
            .flat_map(|a| a.pots.iter().map(move |p| (a, p)))
    };
    if let Some(found) = pots().find(|(_, p)| p.id == wanted) {
        return Ok(found);
    }
    // Every pot the name could mean, by its name in any case or as a slug: "Holiday"
    // means both "HOLIDAY" and "Holiday ☀️", so it names neither.
    let slug = slugify(wanted);
    let alike: Vec<_> = pots()
        .filter(|(_, p)| p.name.trim().eq_ignore_ascii_case(wanted) || slugify(&p.name) == slug)
        .collect();
    match alike.as_slice() {
        [found] => Ok(*found),
        [] => Err(Error::UnknownPot {
            person: person.name.clone(),
            pot: wanted.to_owned(),
        }),
        several => Err(Error::PotNameShared {
            person: person.name.clone(),
            pot: wanted.to_owned(),
            pots: several
                .iter()
                .map(|(a, p)| format!("{} in {}", p.id, a.name))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// How every `dedupe_id` this app makes begins.
const DEDUPE_PREFIX: &str = "monzo-tray-";

/// A move's `dedupe_id`: `monzo-tray-`, 16 lower-case letters and digits, a dash,
/// and the move's fingerprint (eight hex digits: see `DedupeId::fingerprint`).
/// Monzo asks only that it stays the same between retries of one move; the
/// fingerprint makes an id given back for another move refusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupeId(String);

impl DedupeId {
    /// A new id for the move with `fingerprint`.
    fn new(fingerprint: &str) -> Self {
        let random = Alphanumeric.sample_string(&mut rand::rng(), 16).to_lowercase();
        Self(format!("{DEDUPE_PREFIX}{random}-{fingerprint}"))
    }

    /// An id printed earlier, read back for the move with `fingerprint`.
    ///
    /// Errors: [`Error::InvalidField`] (`dedupe_id`) when this app did not make it,
    /// or made it for another move: Monzo answers a known id with the first move's
    /// result, so the same id for another move would report a move that never
    /// happened.
    fn read(text: &str, fingerprint: &str) -> Result<Self> {
        let id = text.trim();
        let of_move = id.strip_prefix(DEDUPE_PREFIX).and_then(|rest| {
            let (random, of_move) = rest.split_once('-')?;
            let made_here = random.len() == 16
                && random
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && of_move.len() == 8
                && of_move.chars().all(|c| c.is_ascii_hexdigit());
            made_here.then_some(of_move)
        });
        match of_move {
            None => Err(Error::InvalidField {
                field: "dedupe_id",
                message: format!(
                    "{:?} is not a move id monzo-tray printed (they look like {DEDUPE_PREFIX}, 16 letters and digits, a dash and 8 more).",
                    id
                ),
            }),
            Some(of_move) if of_move != fingerprint => Err(Error::InvalidField {
                field: "dedupe_id",
                message: "That move id belongs to another move (another person, pot, direction or amount); nothing was moved. Give the same person, pot, direction and amount as the first try.".into(),
            }),
            Some(_) => Ok(Self(id.to_owned())),
        }
    }

    /// Eight hex digits that tell one move from another (the person whose session
    /// sends it, account, pot, direction, amount): the first four bytes of their
    /// SHA-256. The person counts: two owners of a joint account sign in as two
    /// Monzo users, and one's id sent through the other's session is not known to
    /// be the same move.
    fn fingerprint(
        person_id: &str,
        account_id: &str,
        pot_id: &str,
        direction: Direction,
        amount: &Money,
    ) -> String {
        use sha2::{Digest, Sha256};
        let what = format!(
            "{person_id}|{account_id}|{pot_id}|{}|{}|{}",
            direction.as_str(),
            amount.amount(),
            amount.currency().code()
        );
        Sha256::digest(what.as_bytes())
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DedupeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn amount_error(message: String) -> Error {
    Error::InvalidField {
        field: "amount",
        message,
    }
}

/// Which move a plan is: a new one, or one whose outcome was unknown, tried again.
#[derive(Debug, Clone, Copy)]
pub enum Attempt<'a> {
    /// A move the person asks for now: it gets a new `dedupe_id`.
    New,
    /// The same move again, with the `dedupe_id` its first confirmation had (as
    /// printed when its outcome was unknown), so Monzo carries it out at most once.
    /// The source's balance is not checked: the move may already have happened.
    Again(&'a str),
}

/// Checks a move of `amount` (major units as typed, "50", "£50.00") `direction`
/// the pot `pot` (its name or `pot_…` id) of `person`, against what `snapshot` last
/// saw, and gives it its `dedupe_id` (see [`Attempt`]). Nothing is sent to Monzo.
///
/// Errors: [`Error::NotLive`], [`Error::UnknownPot`], [`Error::PotNameShared`] (a
/// name two pots share: the `pot_…` id tells them apart), [`Error::PotLocked`] (a withdrawal from a pot with added security),
/// [`Error::InvalidField`] for the `amount` (not a number, not positive, too many
/// decimals, more than the source holds) and for a `dedupe_id` this app did not
/// make.
pub fn plan(
    snapshot: &Snapshot,
    person: &PersonSettings,
    pot: &str,
    amount: &str,
    direction: Direction,
    attempt: Attempt<'_>,
) -> Result<PlannedMove> {
    let seen = snapshot
        .people
        .iter()
        .find(|p| p.id == person.id)
        .filter(|p| p.state == ConnectionState::Live)
        .ok_or_else(|| Error::NotLive {
            person: person.name.clone(),
            why: snapshot
                .people
                .iter()
                .find(|p| p.id == person.id)
                .and_then(|p| p.error.clone())
                .unwrap_or_else(|| "not read yet".into()),
        })?;
    let (account, found) = find_pot(seen, pot)?;
    let currency = Currency::from_code(&found.currency);
    let amount = Money::parse(amount, currency)?;
    if amount.is_negative() || amount.amount().is_zero() {
        return Err(amount_error(format!(
            "Give an amount of more than {}.",
            Money::zero(amount.currency().clone())
        )));
    }
    if direction == Direction::Withdraw && found.locked {
        return Err(Error::PotLocked {
            pot: found.name.clone(),
        });
    }
    let (source, source_name) = match direction {
        Direction::Deposit => (&account.balance, format!("{}'s {}", person.name, account.name)),
        Direction::Withdraw => (&found.balance, found.name.clone()),
    };
    let fingerprint = DedupeId::fingerprint(&person.id, &account.id, &found.id, direction, &amount);
    let dedupe_id = match attempt {
        Attempt::New => {
            if source.currency() == amount.currency() && source.amount() < amount.amount() {
                return Err(amount_error(format!(
                    "{source_name} had {source} when last seen; {amount} is more than that."
                )));
            }
            DedupeId::new(&fingerprint)
        }
        Attempt::Again(id) => DedupeId::read(id, &fingerprint)?,
    };
    Ok(PlannedMove {
        dedupe_id,
        person: person.clone(),
        account_id: account.id.clone(),
        account_name: account.name.clone(),
        pot_id: found.id.clone(),
        pot_name: found.name.clone(),
        amount,
        direction,
        pot_balance_before: found.balance.clone(),
    })
}

/// Makes a planned move (see the module's rules). `retry` is how transient failures
/// are tried again, always with the move's `dedupe_id`.
///
/// Errors: [`Error::MoveRefused`] with Monzo's message, [`Error::PotLocked`],
/// [`Error::MoveOutcomeUnknown`] when no try got an answer and the pot does not
/// show the move, and the session's (signed out, …).
pub async fn carry_out(sessions: &Sessions, retry: &RetryPolicy, planned: &PlannedMove) -> Result<MoveDone> {
    let api = sessions.api();
    let minor = planned
        .amount
        .to_minor()
        .ok_or_else(|| amount_error(format!("{} is more than can be moved at once.", planned.amount)))?;
    let made = sessions
        .authorized(&planned.person, retry, None, "pot move", |token| async move {
            api.move_pot_money(
                &token,
                &planned.pot_id,
                planned.direction,
                &planned.account_id,
                minor,
                planned.dedupe_id.as_str(),
            )
            .await
        })
        .await;
    let balance = match made {
        Ok(pot) => Money::from_minor(pot.balance, planned.amount.currency().clone()),
        Err(Error::Api {
            status,
            code,
            message,
        }) => {
            tracing::info!(status, %code, "Monzo refused a pot move");
            return Err(if code.contains("locked") {
                Error::PotLocked {
                    pot: planned.pot_name.clone(),
                }
            } else {
                let message = if message.is_empty() { code } else { message };
                Error::MoveRefused { message }
            });
        }
        Err(err) if err.is_transient() => happened_anyway(sessions, planned, &err).await?,
        Err(err) => return Err(err),
    };
    Ok(MoveDone {
        sentence: format!(
            "Moved {} {} {}; it now holds {balance}.",
            planned.amount,
            toward_pot(planned.direction),
            planned.pot_name
        ),
        pot_balance: balance,
    })
}

/// No try of the move got an answer: reads the pot, and if its balance is what the
/// move makes it, the move happened. Otherwise the outcome is unknown.
async fn happened_anyway(sessions: &Sessions, planned: &PlannedMove, why: &Error) -> Result<Money> {
    let api = sessions.api();
    let account = planned.account_id.as_str();
    let pots = sessions
        .authorized(
            &planned.person,
            &RetryPolicy::default(),
            None,
            "pots",
            |token| async move { api.pots(&token, account).await },
        )
        .await;
    let now = pots.ok().and_then(|pots| {
        pots.into_iter()
            .find(|p| p.id == planned.pot_id)
            .map(|p| Money::from_minor(p.balance, planned.amount.currency().clone()))
    });
    match (now, planned.pot_balance_after()) {
        (Some(now), Some(after)) if now == after => {
            tracing::info!("a pot move got no answer, but the pot shows it happened");
            Ok(now)
        }
        _ => Err(Error::MoveOutcomeUnknown {
            amount: planned.amount.to_string(),
            direction: toward_pot(planned.direction),
            pot: planned.pot_name.clone(),
            why: why.to_string().trim_end_matches('.').to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pot(id: &str, name: &str) -> PotSnapshot {
        PotSnapshot {
            id: id.into(),
            name: name.into(),
            currency: "GBP".into(),
            balance: Money::from_minor(100, Currency::from_code("GBP")),
            locked: false,
        }
    }

    fn account(id: &str, name: &str, pots: Vec<PotSnapshot>) -> AccountSnapshot {
        AccountSnapshot {
            opened: None,
            id: id.into(),
            name: name.into(),
            balance: Money::from_minor(100, Currency::from_code("GBP")),
            total_balance: Money::from_minor(100, Currency::from_code("GBP")),
            pots,
            ..crate::snapshot::example_account()
        }
    }

    /// Dana's own "Holiday" and the joint account's "holiday": the name in any case,
    /// or as its slug, names neither; each id names its own pot.
    #[test]
    fn a_name_two_pots_share_names_neither() {
        let dana = PersonSnapshot {
            name: "Dana".into(),
            accounts: vec![
                account(
                    "acc_1",
                    "Current Account",
                    vec![pot("pot_1", "Holiday"), pot("pot_3", "Tax 🧾")],
                ),
                account(
                    "acc_2",
                    "Joint Account",
                    vec![pot("pot_2", "holiday"), pot("pot_4", "Tax!")],
                ),
            ],
            ..Default::default()
        };
        for name in ["Holiday", "HOLIDAY", "holiday ☀️"] {
            let err = find_pot(&dana, name).unwrap_err();
            assert_eq!(err.code(), "pot_name_shared", "{name}");
            let text = err.to_string();
            assert!(
                text.contains("pot_1 in Current Account") && text.contains("pot_2 in Joint Account"),
                "{text}"
            );
        }
        // An exact name is no better than a slug: "Tax!" is also "Tax 🧾" typed plainly.
        for name in ["tax", "Tax!"] {
            assert_eq!(
                find_pot(&dana, name).unwrap_err().code(),
                "pot_name_shared",
                "{name}"
            );
        }
        assert_eq!(find_pot(&dana, "pot_2").unwrap().1.id, "pot_2");
        assert_eq!(find_pot(&dana, "Yacht").unwrap_err().code(), "unknown_pot");
    }

    /// The command to try a move again names the very move, quoted for a shell.
    #[test]
    fn the_command_to_try_again_is_the_same_move() {
        let dana = PersonSnapshot {
            id: "p1".into(),
            name: "Dana O'Neil".into(),
            state: ConnectionState::Live,
            accounts: vec![account("acc_1", "Current Account", vec![pot("pot_1", "Holiday")])],
            ..Default::default()
        };
        let person = PersonSettings {
            id: "p1".into(),
            name: "Dana O'Neil".into(),
            client_id: "c".into(),
            redirect_uri: "r".into(),
            signed_in_at: None,
            approved_at: None,
            monzo_user_id: None,
            notify_transactions: false,
            keep_history: true,
            other: Default::default(),
        };
        let snapshot = Snapshot {
            people: vec![dana],
            ..Default::default()
        };
        let planned = plan(
            &snapshot,
            &person,
            "Holiday",
            "0.5",
            Direction::Withdraw,
            Attempt::New,
        )
        .unwrap();
        let command = planned.again_command();
        let words = shlex::split(&command).unwrap();
        assert_eq!(
            words,
            [
                "monzo-tray",
                "pot",
                "withdraw",
                "--person",
                "Dana O'Neil",
                "--pot",
                "pot_1",
                "--amount",
                "0.50",
                "--dedupe-id",
                planned.dedupe_id.as_str()
            ]
        );
        assert!(planned.before_sending().ends_with(&command));
        assert!(
            planned.stopped().contains("may or may not have happened")
                && planned.stopped().ends_with(&command)
        );
        let again = plan(
            &snapshot,
            &person,
            "pot_1",
            "0.50",
            Direction::Withdraw,
            Attempt::Again(planned.dedupe_id.as_str()),
        )
        .unwrap();
        assert_eq!(again.again_command(), command);
    }

    /// A joint account's pot, moved by one owner: the id printed for that move is
    /// refused for the same move sent by the other owner (another Monzo user, whom
    /// Monzo would not know to be the same move), and taken for the first owner.
    #[test]
    fn a_move_id_belongs_to_the_person_who_made_it() {
        let joint = account("acc_joint", "Joint Account", vec![pot("pot_bills", "Bills")]);
        let owner = |id: &str, name: &str| PersonSnapshot {
            id: id.into(),
            name: name.into(),
            state: ConnectionState::Live,
            accounts: vec![joint.clone()],
            ..Default::default()
        };
        let snapshot = Snapshot {
            people: vec![owner("p1", "Dana"), owner("p2", "Alex")],
            ..Default::default()
        };
        let dana = PersonSettings::example("p1", "Dana");
        let alex = PersonSettings::example("p2", "Alex");
        let by_alex = plan(&snapshot, &alex, "Bills", "1", Direction::Deposit, Attempt::New).unwrap();
        let id = by_alex.dedupe_id.as_str();
        let err = plan(
            &snapshot,
            &dana,
            "Bills",
            "1",
            Direction::Deposit,
            Attempt::Again(id),
        )
        .unwrap_err();
        assert!(err.to_string().contains("belongs to another move"), "{err}");
        let again = plan(
            &snapshot,
            &alex,
            "Bills",
            "1",
            Direction::Deposit,
            Attempt::Again(id),
        )
        .unwrap();
        assert_eq!(again.dedupe_id, by_alex.dedupe_id);
    }
}
