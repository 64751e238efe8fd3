//! `GET /transactions` as Monzo documents it (monzo/docs, "Transactions"): an
//! account's transactions oldest first, paged by `since` (an RFC 3339 time or a
//! transaction id; the page holds what comes after it) and `before` (a time), `limit`
//! (default 30, at most 100), `expand[]=merchant` (otherwise `merchant` is an id
//! string, or null). Strong customer authentication: more than five minutes after a
//! sign-in only the last 90 days can be read; reaching further answers 403
//! `forbidden.verification_required`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::fixture::{AccountFixture, TransactionFixture};
use crate::world::ApiError;

/// How far back a sign-in older than five minutes may read.
pub const READABLE_DAYS: i64 = 90;

/// The query parameters, as given.
#[derive(Debug, Default)]
pub struct Query<'a> {
    pub since: Option<&'a str>,
    pub before: Option<&'a str>,
    pub limit: Option<&'a str>,
    pub expand_merchant: bool,
}

/// `created` as a time: RFC 3339, or `-2h`/`-3d`/`-45m` before `now`.
pub fn resolve_created(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Some(age) = text.strip_prefix('-') {
        let (number, unit) = age.split_at(age.len().checked_sub(1)?);
        let n: i64 = number.parse().ok()?;
        let ago = match unit {
            "m" => Duration::minutes(n),
            "h" => Duration::hours(n),
            "d" => Duration::days(n),
            _ => return None,
        };
        return Some(now - ago);
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Where a transaction is in the sandbox: its position in the fixture's list.
type Row = usize;

/// One account's transactions in the order `GET /transactions` pages them: by
/// `created`, ties in the order they were added.
#[derive(Debug, Default)]
struct AccountBook {
    /// `created`, parsed once, ascending.
    times: Vec<DateTime<Utc>>,
    /// The fixture rows, in the same order as `times`.
    rows: Vec<Row>,
    /// Transaction id → position in `times`/`rows`.
    position: HashMap<String, usize>,
}

impl AccountBook {
    fn reposition(&mut self, all: &[TransactionFixture], from: usize) {
        for (at, &row) in self.rows.iter().enumerate().skip(from) {
            if let Some(tx) = all.get(row) {
                self.position.insert(tx.id.clone(), at);
            }
        }
    }
}

/// An index over the sandbox's transactions so a page costs a binary search plus
/// the page, however long the history: each account's transactions sorted with
/// their times parsed, and every id's row. Rebuilt when the fixture is loaded and
/// told of every transaction added ([`Ledger::insert`]); changing a transaction's
/// amount or state keeps its place, so the index stays right.
#[derive(Debug, Default)]
pub struct Ledger {
    accounts: HashMap<String, AccountBook>,
    rows: HashMap<String, Row>,
}

impl Ledger {
    /// The index of `all`, whose `created` are already absolute (see
    /// [`crate::world::World::new`]).
    pub fn build(all: &[TransactionFixture]) -> Self {
        let mut ledger = Self::default();
        let mut by_account: HashMap<&str, Vec<(DateTime<Utc>, Row)>> = HashMap::new();
        for (row, tx) in all.iter().enumerate() {
            by_account
                .entry(tx.account_id.as_str())
                .or_default()
                .push((created(tx), row));
            ledger.rows.insert(tx.id.clone(), row);
        }
        for (account, mut entries) in by_account {
            // Stable: transactions made in the same millisecond stay in the order
            // they were added.
            entries.sort_by_key(|(time, _)| *time);
            let mut book = AccountBook {
                times: entries.iter().map(|(time, _)| *time).collect(),
                rows: entries.iter().map(|(_, row)| *row).collect(),
                position: HashMap::new(),
            };
            book.reposition(all, 0);
            ledger.accounts.insert(account.to_owned(), book);
        }
        ledger
    }

    /// Indexes `all[row]`, just added.
    pub fn insert(&mut self, all: &[TransactionFixture], row: Row) {
        let Some(tx) = all.get(row) else { return };
        let time = created(tx);
        let book = self.accounts.entry(tx.account_id.clone()).or_default();
        let at = book.times.partition_point(|t| *t <= time);
        book.times.insert(at, time);
        book.rows.insert(at, row);
        book.reposition(all, at);
        self.rows.insert(tx.id.clone(), row);
    }

    /// The row of the transaction with this id.
    pub fn row(&self, id: &str) -> Option<Row> {
        self.rows.get(id).copied()
    }
}

fn created(tx: &TransactionFixture) -> DateTime<Utc> {
    // Fixtures are made absolute when loaded (`World::new`), so this always parses.
    resolve_created(&tx.created, Utc::now()).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn bad_param(name: &str, why: &str) -> ApiError {
    ApiError::new(400, "bad_request.bad_param", format!("Parameter {name}: {why}"))
}

fn parse_limit(limit: Option<&str>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(30),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(bad_param("limit", "must be a number from 1 to 100")),
        },
    }
}

/// Where the page starts in `book` (after the `since` transaction, or at the `since`
/// time), and the earliest time it asks for (`None`: from the very start).
fn page_start(book: &AccountBook, since: Option<&str>) -> Result<(usize, Option<DateTime<Utc>>), ApiError> {
    let Some(since) = since else {
        return Ok((0, None));
    };
    if let Ok(time) = DateTime::parse_from_rfc3339(since) {
        let time = time.with_timezone(&Utc);
        return Ok((book.times.partition_point(|t| *t < time), Some(time)));
    }
    let at = book
        .position
        .get(since)
        .copied()
        .ok_or_else(|| ApiError::new(400, "bad_request.bad_param.since", "Unknown since transaction"))?;
    Ok((at + 1, book.times.get(at).copied()))
}

/// What one page is read from: every transaction, their [`Ledger`], and the accounts
/// (for counterparties).
pub struct Books<'a> {
    pub all: &'a [TransactionFixture],
    pub ledger: &'a Ledger,
    pub accounts: &'a [AccountFixture],
}

/// One page of `account`'s transactions. `restricted`: the sign-in is more than
/// five minutes old, so nothing older than 90 days (before `now`, the sandbox's
/// clock) may be asked for.
pub fn page(
    books: &Books<'_>,
    account: &AccountFixture,
    query: &Query<'_>,
    restricted: bool,
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let limit = parse_limit(query.limit)?;
    let empty = AccountBook::default();
    let book = books.ledger.accounts.get(&account.id).unwrap_or(&empty);
    let (start, from_time) = page_start(book, query.since)?;
    let earliest_asked = from_time.unwrap_or(DateTime::<Utc>::MIN_UTC);
    if restricted && earliest_asked < now - Duration::days(READABLE_DAYS) {
        return Err(ApiError::new(
            403,
            "forbidden.verification_required",
            "Verification required: transactions older than 90 days can only be read within 5 minutes of signing in",
        ));
    }
    let end = match query.before {
        None => book.times.len(),
        Some(text) => {
            let before = DateTime::parse_from_rfc3339(text)
                .map_err(|_| bad_param("before", "must be an RFC 3339 time"))?
                .with_timezone(&Utc);
            book.times.partition_point(|t| *t < before)
        }
    };
    let end = end.max(start);
    let rows = book.rows.get(start..end).unwrap_or_default();
    let times = book.times.get(start..end).unwrap_or_default();
    let transactions: Vec<Value> = rows
        .iter()
        .zip(times)
        .take(limit)
        .filter_map(|(&row, &when)| Some((books.all.get(row)?, when)))
        .map(|(tx, when)| {
            let counterparty = tx
                .counterparty_account_id
                .as_ref()
                .and_then(|id| books.accounts.iter().find(|a| &a.id == id));
            wire(tx, when, account, counterparty, query.expand_merchant)
        })
        .collect();
    Ok(json!({ "transactions": transactions }))
}

/// A transaction of `account` as Monzo sends it; `counterparty`: the other account
/// of a transfer between own accounts (its id and first owner go in Monzo's
/// `counterparty` object).
pub fn transaction_json(
    tx: &TransactionFixture,
    account: &AccountFixture,
    counterparty: Option<&AccountFixture>,
    expand_merchant: bool,
) -> Value {
    wire(tx, created(tx), account, counterparty, expand_merchant)
}

/// [`transaction_json`] with `created` already parsed (`when`).
fn wire(
    tx: &TransactionFixture,
    when: DateTime<Utc>,
    account: &AccountFixture,
    counterparty: Option<&AccountFixture>,
    expand_merchant: bool,
) -> Value {
    let currency = tx.currency.clone().unwrap_or_else(|| account.currency.clone());
    let merchant = match (&tx.merchant, expand_merchant) {
        (None, _) => Value::Null,
        (Some(m), true) => json!({
            "id": m.id,
            "group_id": format!("grp_{}", m.id.trim_start_matches("merch_")),
            "name": m.name,
            "category": m.category.clone().unwrap_or_else(|| "general".into()),
            "logo": "",
            "online": false,
            "address": {"city": "London", "country": "GBR"},
        }),
        (Some(m), false) => json!(m.id),
    };
    let mut metadata = serde_json::Map::new();
    if let Some(pot) = &tx.pot_id {
        metadata.insert("pot_id".into(), json!(pot));
        metadata.insert("trigger".into(), json!("user"));
    }
    let mut value = json!({
        "id": tx.id,
        "account_id": tx.account_id,
        "created": when.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "amount": tx.amount,
        "currency": currency,
        "local_amount": tx.local_amount.unwrap_or(tx.amount),
        "local_currency": tx.local_currency.clone().unwrap_or_else(|| currency.clone()),
        "description": tx.description,
        "merchant": merchant,
        "category": tx.category.clone().unwrap_or_else(|| "general".into()),
        "notes": "",
        "settled": settled(tx, when),
        "is_load": tx.amount > 0 && tx.pot_id.is_none(),
        "include_in_spending": tx.amount < 0 && tx.pot_id.is_none(),
        "metadata": metadata,
        "counterparty": counterparty_json(tx, counterparty),
        "attachments": null,
    });
    if let Some(reason) = &tx.decline_reason {
        value["decline_reason"] = json!(reason);
    }
    value
}

/// `settled` on the wire: "" while pending or when declined; else the fixture's, or
/// an hour after `created`.
fn settled(tx: &TransactionFixture, created: DateTime<Utc>) -> String {
    if tx.pending || tx.decline_reason.is_some() {
        return String::new();
    }
    let at = tx
        .settled
        .as_deref()
        .and_then(|s| resolve_created(s, created))
        .unwrap_or(created + Duration::hours(1));
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Monzo's `counterparty`: `{}` but for a transfer between own accounts.
fn counterparty_json(tx: &TransactionFixture, counterparty: Option<&AccountFixture>) -> Value {
    match (&tx.counterparty_account_id, counterparty) {
        (Some(id), other) => json!({
            "account_id": id,
            "user_id": other.and_then(|a| a.owners.first()).cloned().unwrap_or_default(),
        }),
        (None, _) => json!({}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> AccountFixture {
        AccountFixture {
            id: "acc_1".into(),
            account_type: "uk_retail".into(),
            description: None,
            currency: "GBP".into(),
            owners: vec!["u".into()],
            closed: false,
            balance: 0,
            spend_today: 0,
            created: "2020-01-01T00:00:00Z".into(),
        }
    }

    fn tx(id: &str, created: &str, amount: i64) -> TransactionFixture {
        TransactionFixture {
            id: id.into(),
            account_id: "acc_1".into(),
            created: created.into(),
            amount,
            currency: None,
            description: "x".into(),
            merchant: None,
            category: None,
            pending: false,
            decline_reason: None,
            local_amount: None,
            local_currency: None,
            pot_id: None,
            settled: None,
            counterparty_account_id: None,
        }
    }

    fn ids(page: &Value) -> Vec<&str> {
        page["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn since_an_id_or_a_time_before_and_limit_page_oldest_first() {
        let now = Utc::now();
        let at = |days: i64| (now - Duration::days(days)).to_rfc3339();
        let all = vec![
            tx("tx_c", &at(1), -3),
            tx("tx_a", &at(3), -1),
            tx("tx_b", &at(2), -2),
        ];
        let q = |since, before, limit| Query {
            since,
            before,
            limit,
            expand_merchant: false,
        };
        let ledger = Ledger::build(&all);
        let accounts = [account()];
        let books = Books {
            all: &all,
            ledger: &ledger,
            accounts: &accounts,
        };
        let page_of = |q: Query| page(&books, &account(), &q, true, now);
        let (a2, a4, a91) = (at(2), at(4), at(91));
        assert_eq!(
            ids(&page_of(q(Some("tx_a"), None, None)).unwrap()),
            ["tx_b", "tx_c"]
        );
        assert_eq!(
            ids(&page_of(q(Some(&a4), None, Some("2"))).unwrap()),
            ["tx_a", "tx_b"]
        );
        assert_eq!(ids(&page_of(q(Some(&a4), Some(&a2), None)).unwrap()), ["tx_a"]);
        assert_eq!(
            ids(&page_of(q(Some("tx_c"), None, None)).unwrap()),
            Vec::<&str>::new()
        );
        assert_eq!(page_of(q(Some("tx_gone"), None, None)).unwrap_err().status, 400);
        assert_eq!(page_of(q(Some(&a4), None, Some("101"))).unwrap_err().status, 400);
        // Restricted: reaching past 90 days (or not saying how far) is refused.
        let refused = page_of(q(None, None, None)).unwrap_err();
        assert_eq!(
            (refused.status, refused.code),
            (403, "forbidden.verification_required")
        );
        assert_eq!(page_of(q(Some(&a91), None, None)).unwrap_err().status, 403);
        assert!(page(&books, &account(), &q(None, None, None), false, now).is_ok());
    }

    fn query(since: Option<&str>) -> Query<'_> {
        Query {
            since,
            before: None,
            limit: Some("100"),
            expand_merchant: false,
        }
    }

    #[test]
    fn a_transaction_added_later_is_paged_in_its_place() {
        let now = Utc::now();
        let at = |days: i64| (now - Duration::days(days)).to_rfc3339();
        let mut all = vec![tx("tx_a", &at(3), -1), tx("tx_c", &at(1), -3)];
        let mut ledger = Ledger::build(&all);
        all.push(tx("tx_b", &at(2), -2));
        ledger.insert(&all, 2);
        all.push(tx("tx_d", &at(1), -4));
        ledger.insert(&all, 3);
        let accounts = [account()];
        let books = Books {
            all: &all,
            ledger: &ledger,
            accounts: &accounts,
        };
        let page_of = |since| page(&books, &account(), &query(since), false, now).unwrap();
        assert_eq!(ids(&page_of(None)), ["tx_a", "tx_b", "tx_c", "tx_d"]);
        assert_eq!(ids(&page_of(Some("tx_b"))), ["tx_c", "tx_d"]);
        assert_eq!(ids(&page_of(Some("tx_c"))), ["tx_d"]);
        assert_eq!(ledger.row("tx_d"), Some(3));
    }

    #[test]
    fn counterparty_and_settled_on_the_wire() {
        let mut other = account();
        other.id = "acc_2".into();
        other.owners = vec!["user_b".into(), "user_c".into()];
        let mut transfer = tx("tx_t", "2026-01-01T10:00:00.000Z", -500);
        transfer.counterparty_account_id = Some("acc_2".into());
        transfer.settled = Some("2026-01-01T10:00:00.000Z".into());
        let wire = transaction_json(&transfer, &account(), Some(&other), false);
        assert_eq!(
            wire["counterparty"],
            json!({"account_id": "acc_2", "user_id": "user_b"})
        );
        assert_eq!(wire["settled"], "2026-01-01T10:00:00.000Z");
        let plain = transaction_json(
            &tx("tx_p", "2026-01-01T10:00:00.000Z", -5),
            &account(),
            None,
            false,
        );
        assert_eq!(plain["counterparty"], json!({}));
        assert_eq!(plain["settled"], "2026-01-01T11:00:00.000Z");
        let mut pending = tx("tx_q", "2026-01-01T10:00:00.000Z", -5);
        pending.pending = true;
        assert_eq!(transaction_json(&pending, &account(), None, false)["settled"], "");
    }

    /// Paging 100,000 transactions of one account in pages of 100 touches each once:
    /// the time is printed to see, not asserted (machines differ).
    #[test]
    fn paging_a_hundred_thousand_transactions() {
        let start = Utc::now() - Duration::days(3_650);
        let all: Vec<TransactionFixture> = (0..100_000)
            .map(|n| {
                let at = start + Duration::seconds(n * 3_000);
                let at = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                tx(&format!("tx_{n:06}"), &at, -1)
            })
            .collect();
        let ledger = Ledger::build(&all);
        let accounts = [account()];
        let books = Books {
            all: &all,
            ledger: &ledger,
            accounts: &accounts,
        };
        let clock = std::time::Instant::now();
        let mut since: Option<String> = None;
        let (mut pages, mut read) = (0, 0);
        loop {
            let got = page(&books, &account(), &query(since.as_deref()), false, Utc::now()).unwrap();
            let list = got["transactions"].as_array().unwrap();
            read += list.len();
            pages += 1;
            match list.last() {
                Some(last) if list.len() == 100 => since = last["id"].as_str().map(str::to_owned),
                _ => break,
            }
        }
        let elapsed = clock.elapsed();
        println!("paged {read} transactions in {pages} pages in {elapsed:?}");
        assert_eq!(read, 100_000);
        assert_eq!(pages, 1_001, "1,000 full pages, then an empty one");
    }

    #[test]
    fn relative_ages_resolve_against_now() {
        let now = Utc::now();
        assert_eq!(resolve_created("-2h", now), Some(now - Duration::hours(2)));
        assert_eq!(resolve_created("-3d", now), Some(now - Duration::days(3)));
        assert_eq!(resolve_created("-x", now), None);
        assert!(resolve_created("2026-01-01T00:00:00Z", now).is_some());
    }
}
