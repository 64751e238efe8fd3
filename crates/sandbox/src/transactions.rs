//! `GET /transactions` as Monzo documents it (monzo/docs, "Transactions"): an
//! account's transactions oldest first, paged by `since` (an RFC 3339 time or a
//! transaction id; the page holds what comes after it) and `before` (a time), `limit`
//! (default 30, at most 100), `expand[]=merchant` (otherwise `merchant` is an id
//! string, or null). Strong customer authentication: more than five minutes after a
//! sign-in only the last 90 days can be read; reaching further answers 403
//! `forbidden.verification_required`.

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

fn created(tx: &TransactionFixture) -> DateTime<Utc> {
    // Fixtures are made absolute when loaded (`World::new`), so this always parses.
    resolve_created(&tx.created, Utc::now()).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn bad_param(name: &str, why: &str) -> ApiError {
    ApiError::new(400, "bad_request.bad_param", format!("Parameter {name}: {why}"))
}

/// One page of `account`'s transactions. `restricted`: the sign-in is more than
/// five minutes old, so nothing older than 90 days may be asked for.
pub fn page(
    all: &[TransactionFixture],
    account: &AccountFixture,
    query: &Query<'_>,
    restricted: bool,
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let limit = match query.limit {
        None => 30,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => return Err(bad_param("limit", "must be a number from 1 to 100")),
        },
    };
    let mut mine: Vec<&TransactionFixture> = all.iter().filter(|t| t.account_id == account.id).collect();
    // Stable: transactions made in the same millisecond stay in the order they were made.
    mine.sort_by_key(|t| created(t));
    // Where the page starts: after the `since` transaction, or at the `since` time.
    let (start, from_time) = match query.since {
        None => (0, None),
        Some(since) => match DateTime::parse_from_rfc3339(since) {
            Ok(time) => {
                let time = time.with_timezone(&Utc);
                (
                    mine.iter().position(|t| created(t) >= time).unwrap_or(mine.len()),
                    Some(time),
                )
            }
            Err(_) => {
                let at = mine.iter().position(|t| t.id == since).ok_or_else(|| {
                    ApiError::new(400, "bad_request.bad_param.since", "Unknown since transaction")
                })?;
                (at + 1, Some(created(mine[at])))
            }
        },
    };
    let earliest_asked = from_time.unwrap_or(DateTime::<Utc>::MIN_UTC);
    if restricted && earliest_asked < now - Duration::days(READABLE_DAYS) {
        return Err(ApiError::new(
            403,
            "forbidden.verification_required",
            "Verification required: transactions older than 90 days can only be read within 5 minutes of signing in",
        ));
    }
    let before = match query.before {
        None => None,
        Some(text) => Some(
            DateTime::parse_from_rfc3339(text)
                .map_err(|_| bad_param("before", "must be an RFC 3339 time"))?
                .with_timezone(&Utc),
        ),
    };
    let transactions: Vec<Value> = mine[start..]
        .iter()
        .filter(|t| before.is_none_or(|b| created(t) < b))
        .take(limit)
        .map(|t| transaction_json(t, account, query.expand_merchant))
        .collect();
    Ok(json!({ "transactions": transactions }))
}

/// A transaction as Monzo sends it.
pub fn transaction_json(tx: &TransactionFixture, account: &AccountFixture, expand_merchant: bool) -> Value {
    let currency = tx.currency.clone().unwrap_or_else(|| account.currency.clone());
    let when = created(tx);
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
        "settled": if tx.pending || tx.decline_reason.is_some() {
            String::new()
        } else {
            (when + Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        },
        "is_load": tx.amount > 0 && tx.pot_id.is_none(),
        "include_in_spending": tx.amount < 0 && tx.pot_id.is_none(),
        "metadata": metadata,
        "counterparty": {},
        "attachments": null,
    });
    if let Some(reason) = &tx.decline_reason {
        value["decline_reason"] = json!(reason);
    }
    value
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
        let page_of = |q: Query| page(&all, &account(), &q, true, now);
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
        assert!(page(&all, &account(), &q(None, None, None), false, now).is_ok());
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
