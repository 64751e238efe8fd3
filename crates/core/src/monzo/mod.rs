//! Our own client for Monzo's API: accounts, balances, pots, transactions (and the
//! pot moves).
//!
//! Why not `monzo-lib`: it hard-codes api.monzo.com (no sandbox), reduces errors to
//! status codes (so "approve in the app" looks like any 403) and refreshes tokens on
//! its own. Here every reply is classified by status first, then by Monzo's dotted
//! `code`, into [`Error`] variants the engine acts on; token refresh is the engine's.
//! Replies are read by [`wire`]: strictly where a missing field would lose data.

use std::time::Duration;

use oauth2::AccessToken;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;
use url::Url;

use crate::error::{Error, Result};
use crate::text;

mod direction;
pub(crate) mod wire;
pub use direction::Direction;
pub use wire::{
    decode, decode_accounts, decode_balance, decode_pot, decode_pots, decode_transactions, WireAccount,
    WireBalance, WireMerchant, WirePot, WireTransaction,
};

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Where Monzo is: the API base and the authorize page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub(crate) api: Url,
    pub(crate) auth: Url,
}

pub const DEFAULT_API_URL: &str = "https://api.monzo.com";
pub const DEFAULT_AUTH_URL: &str = "https://auth.monzo.com/";

impl Endpoints {
    pub fn new(api: &str, auth: &str) -> Result<Self> {
        let parse = |name: &str, value: &str| {
            let url = Url::parse(value.trim())
                .map_err(|e| Error::InvalidInput(format!("{name} \"{value}\" is not a URL: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(Error::InvalidInput(format!(
                    "{name} must be an http or https URL"
                )));
            }
            Ok(url)
        };
        Ok(Self {
            api: parse("--api-url (MONZO_API_URL)", api)?,
            auth: parse("--auth-url (MONZO_AUTH_URL)", auth)?,
        })
    }

    /// The URL of an API path, keeping any path prefix of the base.
    pub(crate) fn api_path(&self, path: &str) -> Url {
        let mut url = self.api.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{path}"));
        url
    }
}

/// Turns a non-success reply into the error the engine acts on: status first, then
/// Monzo's `code` (gateways in front answer with HTML or nothing at all).
pub fn classify(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    // Monzo's words reach people (a refused move says Monzo's `message`): made safe
    // to show here, where they enter.
    let code = text::line(&parsed.code.unwrap_or_default());
    match status {
        401 if code == "unauthorized.bad_access_token.expired" => Error::TokenExpired,
        401 => Error::TokenRejected(if code.is_empty() { "HTTP 401".into() } else { code }),
        403 if code == "forbidden.insufficient_permissions" => Error::NeedsApproval,
        429 => Error::RateLimited {
            retry_after: retry_after(headers),
        },
        500..=599 => Error::Server { status },
        _ => Error::Api {
            status,
            code: if code.is_empty() { "unknown".into() } else { code },
            message: text::line(&parsed.message.unwrap_or_default()),
        },
    }
}

/// `Retry-After` in seconds or as an HTTP date (not documented by Monzo: honoured
/// when present).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Maps a transport failure; a timeout is reported as such.
pub(crate) fn network_error(err: &reqwest::Error) -> Error {
    if err.is_timeout() {
        Error::Network("the request timed out".into())
    } else if err.is_connect() {
        Error::Network("could not connect".into())
    } else {
        Error::Network("the connection failed".into())
    }
}

/// The HTTP client everything in this crate uses: rustls, a request timeout, and no
/// redirects (a token endpoint must never be followed elsewhere).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("monzo-tray/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Network(format!("could not set up HTTP: {e}")))
}

#[derive(Clone)]
pub struct MonzoApi {
    http: reqwest::Client,
    endpoints: Endpoints,
}

impl MonzoApi {
    pub fn new(http: reqwest::Client, endpoints: Endpoints) -> Self {
        Self { http, endpoints }
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    async fn get_raw(&self, path: &str, query: &[(&str, &str)], token: &AccessToken) -> Result<Vec<u8>> {
        let request = self.http.get(self.endpoints.api_path(path)).query(query);
        self.send(path, request, token).await
    }

    /// The reply's body on success, else the classified error.
    async fn send(
        &self,
        path: &str,
        request: reqwest::RequestBuilder,
        token: &AccessToken,
    ) -> Result<Vec<u8>> {
        let response = request
            .bearer_auth(token.secret())
            .send()
            .await
            .map_err(|e| network_error(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| network_error(&e))?;
        if (200..300).contains(&status) {
            Ok(body.to_vec())
        } else {
            let err = classify(status, &headers, &body);
            tracing::debug!(path, status, code = err.code(), "Monzo answered with an error");
            Err(err)
        }
    }

    /// `PUT /pots/{pot_id}/deposit` (from `account_id` into the pot) or
    /// `/withdraw` (out of the pot into `account_id`), as `direction` says, `amount`
    /// in minor units, with the caller's `dedupe_id` (the same for every try of one
    /// move: Monzo then moves once). The reply is the pot with its new balance.
    pub(crate) async fn move_pot_money(
        &self,
        token: &AccessToken,
        pot_id: &str,
        direction: Direction,
        account_id: &str,
        amount_minor: i64,
        dedupe_id: &str,
    ) -> Result<WirePot> {
        let path = format!("/pots/{pot_id}/{}", direction.as_str());
        let amount = amount_minor.to_string();
        let request = self.http.put(self.endpoints.api_path(&path)).form(&[
            (direction.account_field(), account_id),
            ("amount", amount.as_str()),
            ("dedupe_id", dedupe_id),
        ]);
        decode_pot(&self.send(&path, request, token).await?)
    }

    pub async fn accounts(&self, token: &AccessToken) -> Result<Vec<WireAccount>> {
        decode_accounts(&self.get_raw("/accounts", &[], token).await?)
    }

    pub async fn balance(&self, token: &AccessToken, account_id: &str) -> Result<WireBalance> {
        decode_balance(
            &self
                .get_raw("/balance", &[("account_id", account_id)], token)
                .await?,
        )
    }

    /// One page (up to `limit`, at most 100) of an account's transactions after
    /// `since` (a transaction id or an RFC 3339 time), oldest first, merchants
    /// expanded.
    pub(crate) async fn transactions(
        &self,
        token: &AccessToken,
        account_id: &str,
        since: &str,
        limit: u32,
    ) -> Result<Vec<WireTransaction>> {
        let limit = limit.clamp(1, 100).to_string();
        let query = [
            ("account_id", account_id),
            ("since", since),
            ("limit", limit.as_str()),
            ("expand[]", "merchant"),
        ];
        decode_transactions(&self.get_raw("/transactions", &query, token).await?)
    }

    pub async fn pots(&self, token: &AccessToken, account_id: &str) -> Result<Vec<WirePot>> {
        decode_pots(
            &self
                .get_raw("/pots", &[("current_account_id", account_id)], token)
                .await?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_status_then_code() {
        let h = HeaderMap::new();
        let expired = br#"{"code":"unauthorized.bad_access_token.expired","error":"invalid_token","message":"Access token has expired"}"#;
        assert!(matches!(classify(401, &h, expired), Error::TokenExpired));
        assert!(matches!(
            classify(401, &h, b"401: Unauthorized"),
            Error::TokenRejected(_)
        ));
        let perms = br#"{"code":"forbidden.insufficient_permissions","message":"x"}"#;
        assert!(matches!(classify(403, &h, perms), Error::NeedsApproval));
        assert!(matches!(
            classify(403, &h, br#"{"code":"forbidden.other"}"#),
            Error::Api { status: 403, .. }
        ));
        assert!(matches!(
            classify(504, &h, b"<html>504</html>"),
            Error::Server { status: 504 }
        ));
        assert!(matches!(classify(502, &h, b""), Error::Server { status: 502 }));
        assert!(matches!(
            classify(404, &h, br#"{"code":"not_found.account","message":"gone"}"#),
            Error::Api { status: 404, .. }
        ));
    }

    /// Monzo's own words reach the terminal ("Monzo refused to move the money: …"):
    /// they are made safe to show where they enter.
    #[test]
    fn monzo_words_are_cleaned() {
        let body =
            br#"{"code":"bad_request.x\u001b[2J","message":"Not enough\nmonzo-tray: Moved \u00a3500\u0007"}"#;
        let Error::Api { code, message, .. } = classify(400, &HeaderMap::new(), body) else {
            panic!("an API refusal");
        };
        assert_eq!(code, "bad_request.x\u{FFFD}[2J");
        assert_eq!(message, "Not enough monzo-tray: Moved \u{a3}500\u{FFFD}");
        let Error::TokenRejected(code) = classify(401, &HeaderMap::new(), br#"{"code":"\u202eevil"}"#) else {
            panic!("a refused token");
        };
        assert_eq!(code, "\u{FFFD}evil");
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        match classify(429, &h, b"{}") {
            Error::RateLimited { retry_after } => {
                assert_eq!(retry_after, Some(Duration::from_secs(7)))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(429, &HeaderMap::new(), b""),
            Error::RateLimited { retry_after: None }
        ));
    }

    #[test]
    fn api_paths_keep_a_base_prefix() {
        let e = Endpoints::new("http://127.0.0.1:9/monzo/", "http://127.0.0.1:9/").unwrap();
        assert_eq!(
            e.api_path("/accounts").as_str(),
            "http://127.0.0.1:9/monzo/accounts"
        );
        assert!(Endpoints::new("ftp://x", "http://y").is_err());
    }
}
