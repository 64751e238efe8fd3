//! Generated history: years of deterministic, made-up transactions for a fixture's
//! accounts, from its `generate` field ([`GenerateHistory`] says what is made).
//!
//! Each account draws from its own `StdRng` (the seed mixed with the account id) and
//! the household's transfers from one more, so an account's history does not change
//! when another account is added. Draws never depend on where the history stops:
//! loading the same fixture on a later day gives the same ids to the same
//! transactions, and more of them.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::fixture::{AccountFixture, Fixture, GenerateHistory, MerchantFixture, TransactionFixture};
use crate::transactions::resolve_created;

/// A merchant card payments are made at: id slug, name, Monzo category, and the
/// smallest and largest payment (minor units), and how often it is chosen (weight).
struct Merchant {
    slug: &'static str,
    name: &'static str,
    category: &'static str,
    min: i64,
    max: i64,
    weight: u32,
}

const fn m(
    slug: &'static str,
    name: &'static str,
    category: &'static str,
    min: i64,
    max: i64,
    weight: u32,
) -> Merchant {
    Merchant {
        slug,
        name,
        category,
        min,
        max,
        weight,
    }
}

/// Where the household shops at home, across Monzo's categories.
const MERCHANTS: [Merchant; 42] = [
    m("tesco", "Tesco", "groceries", 300, 9_000, 10),
    m("sainsburys", "Sainsbury's", "groceries", 500, 12_000, 8),
    m("coop", "Co-op", "groceries", 200, 3_000, 8),
    m("waitrose", "Waitrose", "groceries", 800, 9_000, 4),
    m("lidl", "Lidl", "groceries", 500, 7_000, 5),
    m("aldi", "Aldi", "groceries", 500, 7_000, 4),
    m("msfood", "M&S Food", "groceries", 300, 2_500, 4),
    m("pret", "Pret A Manger", "eating_out", 250, 1_200, 8),
    m("costa", "Costa Coffee", "eating_out", 250, 900, 6),
    m("nandos", "Nando's", "eating_out", 1_200, 4_500, 3),
    m("wagamama", "Wagamama", "eating_out", 1_500, 5_000, 2),
    m("dishoom", "Dishoom", "eating_out", 3_000, 9_000, 1),
    m("greggs", "Greggs", "eating_out", 150, 700, 5),
    m("deliveroo", "Deliveroo", "eating_out", 1_500, 4_500, 4),
    m("tfl", "Transport for London", "transport", 170, 900, 10),
    m("trainline", "Trainline", "transport", 1_000, 12_000, 2),
    m("uber", "Uber", "transport", 700, 3_500, 3),
    m("shell", "Shell", "transport", 3_000, 8_000, 2),
    m("lime", "Lime", "transport", 150, 800, 2),
    m("octopus", "Octopus Energy", "bills", 5_000, 15_000, 1),
    m("thameswater", "Thames Water", "bills", 3_000, 5_000, 1),
    m("vodafone", "Vodafone", "bills", 1_500, 4_500, 1),
    m("bt", "BT Broadband", "bills", 3_000, 5_000, 1),
    m("amazon", "Amazon", "shopping", 500, 8_000, 6),
    m("johnlewis", "John Lewis", "shopping", 2_000, 20_000, 1),
    m("ikea", "IKEA", "shopping", 1_000, 25_000, 1),
    m("uniqlo", "Uniqlo", "shopping", 1_500, 8_000, 1),
    m("argos", "Argos", "shopping", 1_000, 10_000, 1),
    m("netflix", "Netflix", "entertainment", 1_099, 1_899, 1),
    m("spotify", "Spotify", "entertainment", 1_199, 1_199, 1),
    m("odeon", "Odeon", "entertainment", 900, 3_000, 1),
    m("steam", "Steam", "entertainment", 500, 6_000, 1),
    m("easyjet", "easyJet", "holidays", 4_000, 30_000, 1),
    m("airbnb", "Airbnb", "holidays", 10_000, 80_000, 1),
    m("booking", "Booking.com", "holidays", 8_000, 50_000, 1),
    m("boots", "Boots", "personal_care", 300, 3_000, 3),
    m("superdrug", "Superdrug", "personal_care", 300, 2_000, 2),
    m("puregym", "PureGym", "personal_care", 2_499, 2_999, 1),
    m("rubysbarbers", "Ruby's Barbers", "personal_care", 1_500, 3_000, 1),
    m("postoffice", "Post Office", "general", 100, 1_500, 1),
    m("whsmith", "WHSmith", "general", 200, 1_500, 1),
    m("timpson", "Timpson", "general", 500, 3_000, 1),
];

/// Where the household pays abroad (amounts in the local currency's minor units).
const ABROAD: [Merchant; 5] = [
    m("carrefour", "Carrefour", "groceries", 500, 6_000, 1),
    m("cafedeflore", "Café de Flore", "eating_out", 800, 4_000, 1),
    m("sncf", "SNCF", "transport", 1_500, 9_000, 1),
    m("fnac", "Fnac", "shopping", 1_000, 15_000, 1),
    m("hotelduvin", "Hôtel du Vin", "holidays", 9_000, 40_000, 1),
];

/// Shares of card payments: declined, paid abroad, refunded later.
const DECLINED: f64 = 0.01;
const ABROAD_SHARE: f64 = 0.03;
const REFUNDED: f64 = 0.015;
/// Card payments (and refunds) this recent are still pending.
const PENDING_DAYS: i64 = 2;
/// Local currency units per 100 of the account's (a rough, fixed exchange rate).
const LOCAL_PER_100: i64 = 117;
/// Transfers between own accounts other than the monthly joint share, per day.
const OWN_TRANSFERS_PER_DAY: f64 = 2.0 / 30.0;
const SALARY_DAY: u32 = 25;
const SAVINGS_DAY: u32 = 26;
const POT_WITHDRAWAL_DAY: u32 = 10;
const POT_WITHDRAWAL_CHANCE: f64 = 0.3;

/// One account's generated history as it grows.
struct Book<'a> {
    account: &'a AccountFixture,
    created: DateTime<Utc>,
    joint: bool,
    /// Live pots' ids.
    pots: Vec<&'a str>,
    salary: i64,
    rng: StdRng,
    /// Seconds (since the epoch) already taken: one transaction per second keeps
    /// `created` strictly increasing.
    used: HashSet<i64>,
    /// The next id's number; counts dropped transactions too, so ids stay put.
    next: u64,
    made: Vec<(DateTime<Utc>, TransactionFixture)>,
}

impl Book<'_> {
    fn next_id(&mut self) -> String {
        let id = format!("tx_gen_{}_{}", self.account.id, self.next);
        self.next += 1;
        id
    }

    /// The first free second at or after `at` (milliseconds kept).
    fn free_from(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let mut at = at;
        while self.used.contains(&at.timestamp()) {
            at += Duration::seconds(1);
        }
        at
    }

    /// Keeps `tx` if it falls in the account's life and before `end`.
    fn keep(&mut self, at: DateTime<Utc>, end: DateTime<Utc>, mut tx: TransactionFixture) {
        if at < self.created || at > end {
            return;
        }
        self.used.insert(at.timestamp());
        tx.created = rfc3339(at);
        self.made.push((at, tx));
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// FNV-1a: a hash that is the same on every run and platform (std's is not).
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A time on `day`, `from`..`to` seconds after midnight, with random milliseconds.
fn time_on(rng: &mut StdRng, day: NaiveDate, from: i64, to: i64) -> DateTime<Utc> {
    let second = rng.random_range(from..to);
    let millis = rng.random_range(0..1_000);
    day.and_time(NaiveTime::MIN).and_utc() + Duration::seconds(second) + Duration::milliseconds(millis)
}

fn plain(
    account: &AccountFixture,
    id: String,
    amount: i64,
    description: &str,
    category: &str,
) -> TransactionFixture {
    TransactionFixture {
        id,
        account_id: account.id.clone(),
        created: String::new(),
        amount,
        currency: Some(account.currency.clone()),
        description: description.to_owned(),
        merchant: None,
        category: Some(category.to_owned()),
        pending: false,
        decline_reason: None,
        local_amount: None,
        local_currency: None,
        pot_id: None,
        settled: None,
        counterparty_account_id: None,
    }
}

/// Settled when made: salaries, pot and own-account transfers.
fn settled_at_once(mut tx: TransactionFixture, at: DateTime<Utc>) -> TransactionFixture {
    tx.settled = Some(rfc3339(at));
    tx
}

fn pick_merchant(rng: &mut StdRng) -> &'static Merchant {
    let total: u32 = MERCHANTS.iter().map(|m| m.weight).sum();
    let mut left = rng.random_range(0..total);
    for merchant in &MERCHANTS {
        if left < merchant.weight {
            return merchant;
        }
        left -= merchant.weight;
    }
    &MERCHANTS[0]
}

fn is_loan(account: &AccountFixture) -> bool {
    matches!(
        account.account_type.as_str(),
        "uk_loan" | "uk_monzo_flex_backing_loan"
    )
}

/// The generated transactions for `fixture`'s accounts, up to `plan.until_days_ago`
/// days before `now`: each account's oldest first, accounts in the fixture's order.
pub fn history(fixture: &Fixture, plan: &GenerateHistory, now: DateTime<Utc>) -> Vec<TransactionFixture> {
    let end = now - Duration::days(i64::from(plan.until_days_ago.unwrap_or(0)));
    let per_day = if plan.per_day.is_finite() {
        plan.per_day.clamp(0.0, 1_000.0)
    } else {
        0.0
    };
    let mut books = books(fixture, plan.seed, now);
    let Some(first) = books.iter().map(|b| b.created.date_naive()).min() else {
        return Vec::new();
    };
    let mut household = StdRng::seed_from_u64(plan.seed);
    let mut day = first;
    while day <= end.date_naive() {
        own_transfers(&mut books, &mut household, day, end);
        for book in &mut books {
            account_day(book, day, end, per_day);
        }
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    books
        .into_iter()
        .flat_map(|mut book| {
            book.made.sort_by_key(|(at, _)| *at);
            book.made.into_iter().map(|(_, tx)| tx)
        })
        .collect()
}

fn books(fixture: &Fixture, seed: u64, now: DateTime<Utc>) -> Vec<Book<'_>> {
    fixture
        .accounts
        .iter()
        .filter(|a| !is_loan(a))
        .filter_map(|account| {
            let created = resolve_created(&account.created, now)?;
            let mut rng = StdRng::seed_from_u64(seed ^ stable_hash(&account.id));
            let salary = rng.random_range(180_000..=420_000) / 100 * 100;
            let pots = fixture
                .pots
                .iter()
                .filter(|p| p.account_id == account.id && !p.deleted)
                .map(|p| p.id.as_str())
                .collect();
            Some(Book {
                account,
                created,
                joint: account.account_type == "uk_retail_joint",
                pots,
                salary,
                rng,
                used: HashSet::new(),
                next: 0,
                made: Vec::new(),
            })
        })
        .collect()
}

/// One day of one account: card payments (and refunds to come), the salary, pot
/// transfers.
fn account_day(book: &mut Book<'_>, day: NaiveDate, end: DateTime<Utc>, per_day: f64) {
    let day_end = day.and_time(NaiveTime::MIN).and_utc() + Duration::days(1);
    if day_end <= book.created {
        return;
    }
    let expected = per_day * book.rng.random_range(0.5..1.5);
    let count = expected.floor() as u32 + u32::from(book.rng.random_bool(expected.fract()));
    for _ in 0..count {
        card_payment(book, day, end);
    }
    if !book.joint && day.day() == SALARY_DAY {
        salary(book, day, end);
    }
    for pot in book.pots.clone() {
        pot_transfer(book, pot, day, end);
    }
}

fn card_payment(book: &mut Book<'_>, day: NaiveDate, end: DateTime<Utc>) {
    let rng = &mut book.rng;
    let abroad = rng.random_bool(ABROAD_SHARE);
    let merchant = if abroad {
        &ABROAD[rng.random_range(0..ABROAD.len())]
    } else {
        pick_merchant(rng)
    };
    let local = rng.random_range(merchant.min..=merchant.max);
    let declined = rng.random_bool(DECLINED);
    let refund_in = (!declined && rng.random_bool(REFUNDED)).then(|| rng.random_range(2..=10));
    let at = time_on(rng, day, 7 * 3_600, 23 * 3_600);
    let refund_at = refund_in.map(|days| time_on(rng, day + Duration::days(days), 9 * 3_600, 18 * 3_600));

    let id = book.next_id();
    let amount = if abroad {
        -local * 100 / LOCAL_PER_100
    } else {
        -local
    };
    let mut tx = plain(
        book.account,
        id,
        amount,
        &merchant.name.to_uppercase(),
        merchant.category,
    );
    tx.merchant = Some(MerchantFixture {
        id: format!("merch_gen_{}", merchant.slug),
        name: merchant.name.to_owned(),
        category: Some(merchant.category.to_owned()),
    });
    if abroad {
        let currency = if book.account.currency == "EUR" {
            "USD"
        } else {
            "EUR"
        };
        tx.local_amount = Some(-local);
        tx.local_currency = Some(currency.to_owned());
    }
    if declined {
        tx.decline_reason = Some("INSUFFICIENT_FUNDS".to_owned());
    }
    let refund = refund_at.map(|at| (at, tx.clone()));
    let at = book.free_from(at);
    book.keep(at, end, card_settlement(tx, at, end));
    if let Some((at, payment)) = refund {
        let mut tx = payment;
        tx.id = book.next_id();
        tx.amount = -tx.amount;
        tx.local_amount = tx.local_amount.map(|l| -l);
        let at = book.free_from(at);
        book.keep(at, end, card_settlement(tx, at, end));
    }
}

/// Card money settles a day after it was made; the last [`PENDING_DAYS`] are pending.
fn card_settlement(mut tx: TransactionFixture, at: DateTime<Utc>, end: DateTime<Utc>) -> TransactionFixture {
    if tx.decline_reason.is_some() {
        return tx;
    }
    if at > end - Duration::days(PENDING_DAYS) {
        tx.pending = true;
    } else {
        tx.settled = Some(rfc3339(at + Duration::days(1)));
    }
    tx
}

fn salary(book: &mut Book<'_>, day: NaiveDate, end: DateTime<Utc>) {
    let at = time_on(&mut book.rng, day, 6 * 3_600, 8 * 3_600);
    let amount = book.salary + book.rng.random_range(-50..=50) * 100;
    let id = book.next_id();
    let tx = plain(book.account, id, amount, "SALARY ACME LTD", "income");
    let at = book.free_from(at);
    book.keep(at, end, settled_at_once(tx, at));
}

fn pot_transfer(book: &mut Book<'_>, pot: &str, day: NaiveDate, end: DateTime<Utc>) {
    let amount = match day.day() {
        SAVINGS_DAY => -book.rng.random_range(20..=300) * 100,
        POT_WITHDRAWAL_DAY if book.rng.random_bool(POT_WITHDRAWAL_CHANCE) => {
            book.rng.random_range(10..=200) * 100
        }
        _ => return,
    };
    let at = time_on(&mut book.rng, day, 8 * 3_600, 10 * 3_600);
    let id = book.next_id();
    let mut tx = plain(book.account, id, amount, pot, "savings");
    tx.pot_id = Some(pot.to_owned());
    let at = book.free_from(at);
    book.keep(at, end, settled_at_once(tx, at));
}

/// The day's transfers between own accounts: on [`SAVINGS_DAY`] each owner's share
/// into a joint account, and now and then one between any two accounts.
fn own_transfers(books: &mut [Book<'_>], rng: &mut StdRng, day: NaiveDate, end: DateTime<Utc>) {
    if day.day() == SAVINGS_DAY {
        let joints: Vec<usize> = (0..books.len()).filter(|&j| books[j].joint).collect();
        for joint in joints {
            for owner in books[joint].account.owners.clone() {
                let from = (0..books.len()).find(|&i| {
                    !books[i].joint
                        && books[i].account.owners.contains(&owner)
                        && books[i].account.currency == books[joint].account.currency
                        && !books[i].account.closed
                });
                let amount = rng.random_range(200..=800) * 100;
                let at = time_on(rng, day, 9 * 3_600, 10 * 3_600);
                if let Some(from) = from {
                    transfer(books, from, joint, amount, at, end);
                }
            }
        }
    }
    if rng.random_bool(OWN_TRANSFERS_PER_DAY) {
        let pairs: Vec<(usize, usize)> = (0..books.len())
            .flat_map(|a| (0..books.len()).map(move |b| (a, b)))
            .filter(|&(a, b)| a != b && books[a].account.currency == books[b].account.currency)
            .collect();
        let pick = rng.random_range(0..pairs.len().max(1));
        let amount = rng.random_range(5..=250) * 100;
        let at = time_on(rng, day, 8 * 3_600, 22 * 3_600);
        if let Some(&(from, to)) = pairs.get(pick) {
            transfer(books, from, to, amount, at, end);
        }
    }
}

/// A pair: `amount` (minor units, positive) out of `books[from]` into `books[to]`
/// at the same moment, each naming the other account. Kept only if both accounts
/// existed then.
fn transfer(
    books: &mut [Book<'_>],
    from: usize,
    to: usize,
    amount: i64,
    at: DateTime<Utc>,
    end: DateTime<Utc>,
) {
    let mut at = at;
    while books[from].used.contains(&at.timestamp()) || books[to].used.contains(&at.timestamp()) {
        at += Duration::seconds(1);
    }
    let out_id = books[from].next_id();
    let in_id = books[to].next_id();
    if at < books[from].created || at < books[to].created || at > end {
        return;
    }
    let mut out = plain(books[from].account, out_id, -amount, "TRANSFER", "transfers");
    out.counterparty_account_id = Some(books[to].account.id.clone());
    let mut into = plain(books[to].account, in_id, amount, "TRANSFER", "transfers");
    into.counterparty_account_id = Some(books[from].account.id.clone());
    books[from].keep(at, end, settled_at_once(out, at));
    books[to].keep(at, end, settled_at_once(into, at));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn household(per_day: f64, until_days_ago: Option<u32>) -> (Fixture, GenerateHistory) {
        let mut fixture = Fixture::demo();
        let plan = fixture.generate.take().unwrap();
        (
            fixture,
            GenerateHistory {
                per_day,
                until_days_ago,
                ..plan
            },
        )
    }

    fn at(tx: &TransactionFixture) -> DateTime<Utc> {
        resolve_created(&tx.created, Utc::now()).unwrap()
    }

    #[test]
    fn the_same_seed_makes_the_same_history_and_another_seed_another() {
        let (fixture, plan) = household(1.0, None);
        let now = Utc::now();
        let a = history(&fixture, &plan, now);
        let b = history(&fixture, &plan, now);
        let ids = |txs: &[TransactionFixture]| -> Vec<(String, i64, String)> {
            txs.iter()
                .map(|t| (t.id.clone(), t.amount, t.created.clone()))
                .collect()
        };
        assert_eq!(ids(&a), ids(&b));
        let other = history(
            &fixture,
            &GenerateHistory {
                seed: plan.seed + 1,
                ..plan.clone()
            },
            now,
        );
        assert_ne!(ids(&a), ids(&other));
        // A week later: every transaction older than the refund delay and the
        // pending days keeps its id, amount and time.
        let later = history(&fixture, &plan, now + Duration::days(7));
        let cut = now - Duration::days(12);
        let old = |txs: &[TransactionFixture]| {
            let mut v = ids(txs);
            v.retain(|(_, _, c)| resolve_created(c, now).unwrap() < cut);
            v.sort();
            v
        };
        assert_eq!(old(&a), old(&later));
        assert!(later.len() > a.len());
    }

    #[test]
    fn every_kind_is_there_in_its_share() {
        let (fixture, plan) = household(3.0, None);
        let now = Utc::now();
        let all = history(&fixture, &plan, now);
        let cards: Vec<&TransactionFixture> = all
            .iter()
            .filter(|t| t.merchant.is_some() && t.amount < 0)
            .collect();
        let share = |n: usize| n as f64 / cards.len() as f64;
        let declined = cards.iter().filter(|t| t.decline_reason.is_some()).count();
        assert!((0.005..0.015).contains(&share(declined)), "declined {declined}");
        let abroad: Vec<_> = cards.iter().filter(|t| t.local_currency.is_some()).collect();
        assert!(
            (0.02..0.04).contains(&share(abroad.len())),
            "abroad {}",
            abroad.len()
        );
        for t in &abroad {
            let account = fixture.accounts.iter().find(|a| a.id == t.account_id).unwrap();
            assert_ne!(t.local_currency.as_deref(), Some(account.currency.as_str()));
            assert_eq!(t.currency.as_deref(), Some(account.currency.as_str()));
        }
        let categories: HashSet<&str> = cards.iter().filter_map(|t| t.category.as_deref()).collect();
        for category in [
            "groceries",
            "eating_out",
            "transport",
            "bills",
            "shopping",
            "entertainment",
            "holidays",
            "personal_care",
            "general",
        ] {
            assert!(categories.contains(category), "{category}");
        }
        // Pending: exactly the card payments of the last two days that were not declined.
        for t in &cards {
            let recent = at(t) > now - Duration::days(PENDING_DAYS);
            assert_eq!(t.pending, recent && t.decline_reason.is_none(), "{}", t.id);
        }
        // Refunds: positive, after a payment at the same merchant in the same category.
        let refunds: Vec<_> = all
            .iter()
            .filter(|t| t.merchant.is_some() && t.amount > 0)
            .collect();
        assert!(!refunds.is_empty());
        for r in &refunds {
            assert!(cards.iter().any(|p| p.account_id == r.account_id
                && p.merchant.as_ref().map(|m| &m.id) == r.merchant.as_ref().map(|m| &m.id)
                && p.category == r.category
                && p.amount == -r.amount
                && at(p) < at(r)));
        }
        // A salary a month on every account but the joint one, and none on the loan.
        let salaries = all.iter().filter(|t| t.description.starts_with("SALARY")).count();
        assert!(salaries > 4 * 12 * 3, "{salaries} salaries");
        assert!(all
            .iter()
            .filter(|t| t.description.starts_with("SALARY"))
            .all(|t| t.amount > 0 && t.merchant.is_none() && t.account_id != "acc_00009demojoint"));
        assert!(!all.iter().any(|t| t.account_id == "acc_00009demodanaflexloan"));
        // Pot transfers both ways, only to live pots of the account.
        let pot_moves: Vec<_> = all.iter().filter(|t| t.pot_id.is_some()).collect();
        assert!(pot_moves.iter().any(|t| t.amount < 0) && pot_moves.iter().any(|t| t.amount > 0));
        for t in &pot_moves {
            let pot = fixture
                .pots
                .iter()
                .find(|p| Some(&p.id) == t.pot_id.as_ref())
                .unwrap();
            assert_eq!(pot.account_id, t.account_id);
            assert!(!pot.deleted);
        }
    }

    #[test]
    fn own_transfers_come_in_pairs_and_times_are_strictly_increasing() {
        let (fixture, plan) = household(2.0, Some(3));
        let now = Utc::now();
        let all = history(&fixture, &plan, now);
        assert!(all.iter().all(|t| at(t) <= now - Duration::days(3)));
        let transfers: Vec<_> = all
            .iter()
            .filter(|t| t.counterparty_account_id.is_some())
            .collect();
        assert!(transfers.len() > 100);
        let mut between_people = false;
        for t in &transfers {
            let other = t.counterparty_account_id.as_ref().unwrap();
            let pair = transfers
                .iter()
                .find(|p| &p.account_id == other && p.created == t.created && p.amount == -t.amount)
                .unwrap();
            assert_eq!(pair.counterparty_account_id.as_ref(), Some(&t.account_id));
            let owners = |id: &str| &fixture.accounts.iter().find(|a| a.id == id).unwrap().owners;
            between_people |= owners(other) != owners(&t.account_id);
        }
        assert!(between_people, "some transfers go between people");
        for account in &fixture.accounts {
            let times: Vec<_> = all
                .iter()
                .filter(|t| t.account_id == account.id)
                .map(at)
                .collect();
            assert!(times.windows(2).all(|w| w[0] < w[1]), "{}", account.id);
            let created = resolve_created(&account.created, now).unwrap();
            assert!(times.first().is_none_or(|t| *t >= created));
        }
        let ids: HashSet<&str> = all.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids.len(), all.len(), "ids are unique");
    }
}
