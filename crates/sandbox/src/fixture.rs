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
    }

    #[test]
    fn unknown_fixture_fields_are_rejected() {
        let err = Fixture::from_json(r#"{"users":[{"user_id":"u","name":"n","typo":1}]}"#);
        assert!(err.is_err());
    }
}
