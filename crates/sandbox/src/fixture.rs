//! The sandbox's data as loaded from JSON: OAuth clients, people, accounts and pots.
//!
//! Amounts are integers in minor units, as Monzo sends them. The demo household that
//! ships with the sandbox lives in `demo.json` beside this file.

use serde::{Deserialize, Serialize};

/// Everything the sandbox serves. Loaded from JSON (`POST /_sandbox/fixture`, or
/// [`Fixture::from_json`]); unknown fields are rejected so a typo in a fixture is
/// caught instead of silently ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    #[serde(default)]
    pub clients: Vec<ClientFixture>,
    #[serde(default)]
    pub users: Vec<UserFixture>,
    #[serde(default)]
    pub accounts: Vec<AccountFixture>,
    #[serde(default)]
    pub pots: Vec<PotFixture>,
    #[serde(default)]
    pub transactions: Vec<TransactionFixture>,
    /// Years of made-up history, generated when the fixture is loaded and appended to
    /// `transactions` (see [`GenerateHistory`]). A loaded sandbox reports its fixture
    /// with the generated transactions in `transactions` and without this field, so
    /// loading that again does not generate twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<GenerateHistory>,
}

/// How to generate history (the fixture's `generate` field), e.g.
/// `{"seed": 7, "per_day": 1.4, "until_days_ago": 35}`.
///
/// For every account that is not a loan (`uk_loan`, `uk_monzo_flex_backing_loan`),
/// from its `created` until `until_days_ago` days before the sandbox's now, one
/// transaction per distinct second (so `created` is strictly increasing per account
/// and paging by id is unambiguous), with ids `tx_gen_<account id>_<n>` (`n` counts
/// from 0 in the order they are generated, stable for a given seed and fixture):
///
/// - card payments at named merchants (`merchant.id` `merch_gen_…`) across Monzo's
///   categories, `per_day` a day on average; about 1% declined
///   (`decline_reason` `INSUFFICIENT_FUNDS`), about 3% abroad (`local_currency`
///   `EUR`, or `USD` on a EUR account; `amount` in the account's currency); those of
///   the last 2 days pending (`settled` ""), older ones settled a day after `created`;
/// - refunds of about 1.5% of settled payments, 2 to 10 days later: positive, same
///   merchant, category and description;
/// - a monthly salary on the 25th (positive, no merchant, category `income`,
///   description starting `SALARY`) on every account but joint ones;
/// - pot transfers (category `savings`, `pot_id` set, description the pot id;
///   negative: into the pot) on the 26th into each live pot, and now and then out
///   of one; pot balances stay as the fixture gives them;
/// - transfers between the household's own accounts of the same currency (category
///   `transfers`, description `TRANSFER`): each owner's monthly share into a joint
///   account on the 26th, and about two others a month; each a pair with the same
///   `created`, negative on one account and positive on the other, each naming the
///   other account in `counterparty_account_id`.
///
/// Salaries, pot transfers and own-account transfers are settled when made
/// (`settled` == `created`). Account balances stay as the fixture gives them too:
/// the history is for reading, not for adding up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateHistory {
    /// Seeds `StdRng`: the same seed and fixture generate the same transactions.
    pub seed: u64,
    /// Average card payments per account per day.
    pub per_day: f64,
    /// Days before now (the sandbox's clock at load) at which the generated history
    /// stops; absent: it runs up to now.
    #[serde(default)]
    pub until_days_ago: Option<u32>,
}

/// An OAuth client as made at developers.monzo.com.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFixture {
    pub client_id: String,
    pub client_secret: String,
    /// Only confidential clients get refresh tokens.
    #[serde(default = "yes")]
    pub confidential: bool,
    /// Registered redirect URLs. Empty means any redirect URL is accepted (the demo
    /// client), which real Monzo never does.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// A Monzo customer who can sign in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFixture {
    pub user_id: String,
    pub name: String,
    /// When true, a new sign-in is approved at once, as if the person tapped
    /// "approve" in the Monzo app immediately. Otherwise data endpoints answer 403
    /// until `POST /_sandbox/approve`.
    #[serde(default)]
    pub approve_on_login: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountFixture {
    pub id: String,
    #[serde(rename = "type")]
    pub account_type: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default = "gbp")]
    pub currency: String,
    /// User ids; two for a joint account.
    pub owners: Vec<String>,
    #[serde(default)]
    pub closed: bool,
    /// Available balance in minor units (negative when overdrawn).
    #[serde(default)]
    pub balance: i64,
    /// Minor units, negative when money was spent today.
    #[serde(default)]
    pub spend_today: i64,
    #[serde(default = "default_created")]
    pub created: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PotFixture {
    pub id: String,
    pub account_id: String,
    pub name: String,
    #[serde(default)]
    pub style: String,
    #[serde(default)]
    pub balance: i64,
    #[serde(default = "gbp")]
    pub currency: String,
    #[serde(default)]
    pub deleted: bool,
    /// "Added security": withdrawals only in the Monzo app.
    #[serde(default)]
    pub locked: bool,
}

/// A transaction, as `GET /transactions` serves it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionFixture {
    /// `tx_…`; made up when absent.
    #[serde(default)]
    pub id: String,
    pub account_id: String,
    /// RFC 3339, or an age relative to when the fixture is loaded: `-2h`, `-3d`,
    /// `-45m` (so a demo household always has recent transactions); empty: now.
    #[serde(default)]
    pub created: String,
    /// Minor units; negative for money out.
    pub amount: i64,
    /// The account's currency when absent.
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub merchant: Option<MerchantFixture>,
    /// Monzo's category (`groceries`, `eating_out`, …); `general` when absent.
    #[serde(default)]
    pub category: Option<String>,
    /// Still pending: `settled` is "".
    #[serde(default)]
    pub pending: bool,
    /// Declined, with Monzo's reason (`INSUFFICIENT_FUNDS`, …).
    #[serde(default)]
    pub decline_reason: Option<String>,
    /// Abroad: the amount and currency as spent there.
    #[serde(default)]
    pub local_amount: Option<i64>,
    #[serde(default)]
    pub local_currency: Option<String>,
    /// A transfer into (negative) or out of (positive) this pot.
    #[serde(default)]
    pub pot_id: Option<String>,
    /// When it settled (RFC 3339). Absent: an hour after `created`. Either way ""
    /// while pending or when declined.
    #[serde(default)]
    pub settled: Option<String>,
    /// A transfer between the household's own accounts: the other account's id. Sent
    /// as Monzo's `counterparty` object, `{"account_id": …, "user_id": <its first
    /// owner>}`; other transactions send `{}`.
    #[serde(default)]
    pub counterparty_account_id: Option<String>,
}

impl TransactionFixture {
    /// A card payment of `minor` (minor units; negative: money out) on `account`,
    /// made now, in the account's currency, at `merchant` (expanded, category
    /// groceries) or at no merchant Monzo knows: what tests add with
    /// `Sandbox::add_transaction`.
    pub fn card_payment(account: &str, minor: i64, merchant: Option<&str>) -> Self {
        Self {
            id: String::new(),
            account_id: account.into(),
            created: String::new(),
            amount: minor,
            currency: None,
            description: "CARD PAYMENT".into(),
            merchant: merchant.map(|name| MerchantFixture {
                id: format!("merch_{}", name.len()),
                name: name.into(),
                category: Some("groceries".into()),
            }),
            category: Some("groceries".into()),
            pending: false,
            decline_reason: None,
            local_amount: None,
            local_currency: None,
            pot_id: None,
            settled: None,
            counterparty_account_id: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantFixture {
    #[serde(default)]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub category: Option<String>,
}

fn yes() -> bool {
    true
}

fn gbp() -> String {
    "GBP".to_owned()
}

fn default_created() -> String {
    "2019-03-01T09:00:00.000Z".to_owned()
}

/// The demo OAuth client's id and secret (printed by `monzo-tray sandbox`).
pub const DEMO_CLIENT_ID: &str = "oauthclient_00009demohousehold";
pub const DEMO_CLIENT_SECRET: &str = "mnzconf.demo-household-secret";

impl Fixture {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The demo household: two people, a joint account, several pots (one deleted),
    /// one closed account, one account type Home Assistant skips, and a EUR account.
    pub fn demo() -> Self {
        // The demo file is part of this crate and checked by a unit test, so a
        // parse failure here cannot happen in a built binary.
        #[allow(clippy::expect_used)]
        Self::from_json(include_str!("demo.json")).expect("demo.json is valid (unit-tested)")
    }
}

impl Fixture {
    /// A large household for measuring and for whole-history tests: three people
    /// (`user_bench_ana`, `user_bench_ben`, `user_bench_cai`, all
    /// `approve_on_login`), a current account each (`acc_bench_<name>`), a joint
    /// account of Ana and Ben (`acc_bench_joint`), four pots, and ten years of
    /// generated history (every account `created` 3,653 days before now, seed 10):
    /// about 100,000 transactions in all. The OAuth client is the demo's
    /// ([`DEMO_CLIENT_ID`], [`DEMO_CLIENT_SECRET`]).
    pub fn benchmark_household() -> Self {
        let created = (chrono::Utc::now() - chrono::Duration::days(BENCHMARK_DAYS))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let user = |id: &str, name: &str| UserFixture {
            user_id: id.into(),
            name: name.into(),
            approve_on_login: true,
        };
        let account = |id: &str, kind: &str, owners: &[&str], balance: i64| AccountFixture {
            id: id.into(),
            account_type: kind.into(),
            description: None,
            currency: gbp(),
            owners: owners.iter().map(|o| (*o).to_owned()).collect(),
            closed: false,
            balance,
            spend_today: 0,
            created: created.clone(),
        };
        let pot = |id: &str, account_id: &str, name: &str, balance: i64| PotFixture {
            id: id.into(),
            account_id: account_id.into(),
            name: name.into(),
            style: "beach_ball".into(),
            balance,
            currency: gbp(),
            deleted: false,
            locked: false,
        };
        let (ana, ben, cai) = ("user_bench_ana", "user_bench_ben", "user_bench_cai");
        Self {
            clients: vec![ClientFixture {
                client_id: DEMO_CLIENT_ID.into(),
                client_secret: DEMO_CLIENT_SECRET.into(),
                confidential: true,
                redirect_uris: Vec::new(),
            }],
            users: vec![user(ana, "Ana"), user(ben, "Ben"), user(cai, "Cai")],
            accounts: vec![
                account("acc_bench_ana", "uk_retail", &[ana], 245_000),
                account("acc_bench_ben", "uk_retail", &[ben], 87_012),
                account("acc_bench_cai", "uk_retail", &[cai], 1_530_400),
                account("acc_bench_joint", "uk_retail_joint", &[ana, ben], 310_000),
            ],
            pots: vec![
                pot("pot_bench_ana_savings", "acc_bench_ana", "Savings", 1_200_000),
                pot("pot_bench_ana_holiday", "acc_bench_ana", "Holiday", 84_000),
                pot("pot_bench_joint_bills", "acc_bench_joint", "Bills", 61_500),
                pot("pot_bench_cai_house", "acc_bench_cai", "House", 2_400_000),
            ],
            transactions: Vec::new(),
            generate: Some(GenerateHistory {
                seed: 10,
                per_day: BENCHMARK_PER_DAY,
                until_days_ago: None,
            }),
        }
    }
}

/// Ten years, leap days included.
const BENCHMARK_DAYS: i64 = 3_653;
/// Card payments per account per day that, with everything else generated, make
/// about 100,000 transactions over four accounts and ten years.
const BENCHMARK_PER_DAY: f64 = 6.5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_fixture_parses_and_has_the_promised_shape() {
        let demo = Fixture::demo();
        assert_eq!(demo.users.len(), 2);
        assert!(demo
            .accounts
            .iter()
            .any(|a| a.account_type == "uk_retail_joint" && a.owners.len() == 2));
        assert!(demo.accounts.iter().any(|a| a.closed));
        assert!(demo.pots.iter().any(|p| p.deleted));
        assert!(demo.pots.iter().filter(|p| !p.deleted).count() >= 3);
        assert!(demo.clients.iter().any(|c| c.client_id == DEMO_CLIENT_ID));
        assert!(demo.generate.is_some());
    }

    /// Loaded, the demo has years of history besides its own transactions; the last
    /// 35 days hold only its own, so the app's "Recent" list and the tests that read
    /// it see the same few every time.
    #[test]
    fn the_demo_loads_with_years_of_history() {
        let world = crate::world::World::new(Fixture::demo());
        let loaded = world.fixture();
        let all = &loaded.transactions;
        println!("the demo has {} transactions", all.len());
        assert!((10_000..=20_000).contains(&all.len()), "{}", all.len());
        assert!(loaded.generate.is_none(), "generated once, not again on reload");
        let own: Vec<&str> = all.iter().take(9).map(|t| t.id.as_str()).collect();
        assert_eq!(own.first(), Some(&"tx_00009demo001"));
        assert_eq!(own.last(), Some(&"tx_00009demo009"));
        let now = world.now();
        let at = |t: &TransactionFixture| crate::transactions::resolve_created(&t.created, now).unwrap();
        let oldest = all.iter().map(at).min().unwrap();
        assert!(
            oldest < now - chrono::Duration::days(4 * 365),
            "years of history: {oldest}"
        );
        let month = now - chrono::Duration::days(35);
        assert!(all
            .iter()
            .filter(|t| at(t) > month)
            .all(|t| t.id.starts_with("tx_00009demo")));
        for account in &loaded.accounts {
            let has = all
                .iter()
                .any(|t| t.account_id == account.id && t.id.starts_with("tx_gen_"));
            let loan = account.account_type == "uk_monzo_flex_backing_loan";
            assert_eq!(has, !loan, "{}", account.id);
        }
    }

    #[test]
    fn unknown_fixture_fields_are_rejected() {
        let err = Fixture::from_json(r#"{"users":[{"user_id":"u","name":"n","typo":1}]}"#);
        assert!(err.is_err());
    }
}
