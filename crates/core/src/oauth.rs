//! OAuth 2.0 with Monzo through the `oauth2` crate: the authorize URL (with an
//! unguessable `state`), the code exchange, the refresh, and reading what a person
//! pastes back (a redirect URL, or the bare code).
//!
//! Monzo takes the client credentials in the form body. Failures are classified by
//! the token endpoint's HTTP status first (recorded by a thin wrapper around the
//! shared reqwest client), because Monzo does not document its refresh error codes:
//! any 400/401 on refresh means the sign-in is over.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, Ordering};

use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AccessToken, AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, ExtraTokenFields, HttpClientError, HttpRequest, HttpResponse, RedirectUrl,
    RefreshToken, RequestTokenError, StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result};
use crate::monzo::Endpoints;
use crate::text;

/// What Monzo's token reply carries beyond OAuth's standard fields: the Monzo user
/// the tokens belong to (`user_id`, Monzo's docs, "Acquire an access token").
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct MonzoTokenFields {
    #[serde(default)]
    pub(crate) user_id: Option<String>,
}

impl ExtraTokenFields for MonzoTokenFields {}

type MonzoTokenResponse = StandardTokenResponse<MonzoTokenFields, BasicTokenType>;

type MonzoOAuthClient = oauth2::Client<
    BasicErrorResponse,
    MonzoTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A person's OAuth client as made at developers.monzo.com.
#[derive(Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: ClientSecret,
    pub redirect_uri: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

/// What the token endpoint gave us. Tokens print as `[redacted]` in Debug.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub(crate) access_token: AccessToken,
    pub(crate) refresh_token: Option<RefreshToken>,
    /// The Monzo user (`user_…`) the tokens belong to, when Monzo says.
    pub(crate) user_id: Option<String>,
}

fn invalid(field: &'static str, message: &str) -> Error {
    Error::InvalidField {
        field,
        message: message.to_owned(),
    }
}

/// Checks a client id as pasted: Monzo's look like `oauthclient_…`.
pub(crate) fn validate_client_id(client_id: &str) -> Result<String> {
    let id = client_id.trim();
    if id.is_empty() {
        return Err(Error::InvalidField {
            field: "client_id",
            message: "The client id is empty; copy it from developers.monzo.com.".into(),
        });
    }
    if id.len() > 200
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    {
        return Err(invalid(
            "client_id",
            "That client id has characters Monzo client ids never have; copy it again from developers.monzo.com (it starts with oauthclient_).",
        ));
    }
    Ok(id.to_owned())
}

/// Checks a client secret as pasted: surrounding spaces and line breaks are dropped;
/// spaces inside mean the copy went wrong.
pub(crate) fn validate_client_secret(secret: &str) -> Result<ClientSecret> {
    let secret = secret.trim();
    if secret.is_empty() {
        return Err(Error::InvalidField {
            field: "client_secret",
            message: "The client secret is empty; copy it from developers.monzo.com.".into(),
        });
    }
    if secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidField {
            field: "client_secret",
            message: "The client secret has spaces or line breaks inside it; copy it again from developers.monzo.com.".into(),
        });
    }
    Ok(ClientSecret::new(secret.to_owned()))
}

fn oauth_client(endpoints: &Endpoints, creds: &ClientCredentials) -> Result<MonzoOAuthClient> {
    let auth = AuthUrl::from_url(endpoints.auth.clone());
    let token = TokenUrl::from_url(endpoints.api_path("/oauth2/token"));
    let redirect = RedirectUrl::new(creds.redirect_uri.clone())
        .map_err(|e| Error::InvalidInput(format!("The redirect URL is not valid: {e}")))?;
    Ok(oauth2::Client::new(ClientId::new(creds.client_id.clone()))
        .set_client_secret(creds.client_secret.clone())
        .set_auth_uri(auth)
        .set_token_uri(token)
        .set_redirect_uri(redirect)
        .set_auth_type(AuthType::RequestBody))
}

/// The URL to send the person's browser to, and the `state` it must come back with.
pub(crate) fn authorize_url(endpoints: &Endpoints, creds: &ClientCredentials) -> Result<(Url, CsrfToken)> {
    let client = oauth_client(endpoints, creds)?;
    Ok(client.authorize_url(CsrfToken::new_random).url())
}

type TokenError = RequestTokenError<HttpClientError<reqwest::Error>, oauth2::basic::BasicErrorResponse>;

/// Maps a token-endpoint failure. `status` is the HTTP status seen (0 if none).
fn token_error(err: TokenError, status: u16, refreshing: bool, person: &str) -> Error {
    let ended = || {
        if refreshing {
            Error::SignInRequired {
                person: person.to_owned(),
            }
        } else {
            Error::CodeRejected
        }
    };
    match err {
        RequestTokenError::ServerResponse(resp) => match resp.error() {
            BasicErrorResponseType::InvalidClient => Error::BadClientCredentials,
            BasicErrorResponseType::InvalidGrant | BasicErrorResponseType::UnauthorizedClient => ended(),
            _ if matches!(status, 400 | 401 | 403) => ended(),
            _ if status == 429 => Error::RateLimited { retry_after: None },
            other => Error::Api {
                status,
                code: text::line(&format!("{other:?}")),
                message: text::line(resp.error_description().map_or("", String::as_str)),
            },
        },
        RequestTokenError::Request(HttpClientError::Reqwest(e)) => crate::monzo::network_error(&e),
        RequestTokenError::Request(_) => Error::Network("the request could not be sent".into()),
        // A reply that is not an OAuth error document: decide by status.
        RequestTokenError::Parse(_, _) | RequestTokenError::Other(_) => match status {
            400 | 401 | 403 => ended(),
            429 => Error::RateLimited { retry_after: None },
            500..=599 => Error::Server { status },
            200 => Error::Decode("the token reply was not understood".into()),
            _ => Error::Api {
                status,
                code: "unknown".into(),
                message: "unexpected reply from the token endpoint".into(),
            },
        },
    }
}

fn token_set(resp: &MonzoTokenResponse) -> TokenSet {
    TokenSet {
        access_token: resp.access_token().clone(),
        refresh_token: resp.refresh_token().cloned(),
        user_id: resp.extra_fields().user_id.clone().filter(|u| !u.is_empty()),
    }
}

/// Exchanges an authorization code. A reply without a refresh token means the
/// client is not confidential: refused here, at sign-in, rather than hours later.
pub(crate) async fn exchange_code(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    creds: &ClientCredentials,
    code: AuthorizationCode,
) -> Result<TokenSet> {
    let client = oauth_client(endpoints, creds)?;
    let recording = StatusRecordingClient::new(http);
    let reply = client
        .exchange_code(code)
        .request_async(&recording)
        .await
        .map_err(|e| token_error(e, recording.status(), false, ""))?;
    let tokens = token_set(&reply);
    if tokens.refresh_token.is_none() {
        return Err(Error::NotConfidential);
    }
    Ok(tokens)
}

/// Uses a refresh token. Monzo invalidates it and the old access token at once: the
/// caller must store the new pair before using it.
pub async fn refresh(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    creds: &ClientCredentials,
    refresh_token: &RefreshToken,
    person: &str,
) -> Result<TokenSet> {
    let client = oauth_client(endpoints, creds)?;
    let recording = StatusRecordingClient::new(http);
    let reply = client
        .exchange_refresh_token(refresh_token)
        .request_async(&recording)
        .await
        .map_err(|e| token_error(e, recording.status(), true, person))?;
    let mut tokens = token_set(&reply);
    if tokens.refresh_token.is_none() {
        // Not expected from a confidential client; keep the one we have rather than
        // losing the sign-in (it may have been left valid).
        tokens.refresh_token = Some(refresh_token.clone());
    }
    Ok(tokens)
}

/// The shared reqwest client, remembering the HTTP status of the token endpoint's
/// reply so failures can be classified by status when the body is not OAuth JSON.
struct StatusRecordingClient {
    http: reqwest::Client,
    status: AtomicU16,
}

impl StatusRecordingClient {
    fn new(http: &reqwest::Client) -> Self {
        Self {
            http: http.clone(),
            status: AtomicU16::new(0),
        }
    }

    fn status(&self) -> u16 {
        self.status.load(Ordering::Relaxed)
    }
}

impl<'c> AsyncHttpClient<'c> for StatusRecordingClient {
    type Error = HttpClientError<reqwest::Error>;
    type Future =
        Pin<Box<dyn Future<Output = std::result::Result<HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.http.call(request).await?;
            self.status.store(response.status().as_u16(), Ordering::Relaxed);
            Ok(response)
        })
    }
}

/// Reads what a person pasted after signing in elsewhere (say, on their phone): the
/// whole URL they landed on, or just the code. A URL must carry the `state` this
/// sign-in sent; a bare code cannot be checked and is accepted as is.
pub fn parse_redirect_input(input: &str, expected_state: &str) -> Result<AuthorizationCode> {
    let input = input.trim();
    if input.is_empty() {
        return Err(Error::BadRedirectInput("nothing was pasted".into()));
    }
    let looks_like_url =
        input.contains("://") || input.starts_with("127.0.0.1") || input.starts_with("localhost");
    if !looks_like_url {
        let plausible = input.len() <= 4096
            && input
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '~' | '+' | '/' | '='));
        if !plausible {
            return Err(Error::BadRedirectInput(
                "paste the whole address from the browser's address bar after the sign-in, or just the code"
                    .into(),
            ));
        }
        return Ok(AuthorizationCode::new(input.to_owned()));
    }
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        format!("http://{input}")
    };
    let url = Url::parse(&with_scheme)
        .map_err(|_| Error::BadRedirectInput("the address could not be read; copy it again".into()))?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let (code, error) = (param("code").filter(|c| !c.is_empty()), param("error"));
    if code.is_none() && error.is_none() {
        return Err(Error::BadRedirectInput(
            "that address has no sign-in code in it; it must be the one Monzo's email link led to".into(),
        ));
    }
    // Only an answer with this sign-in's `state` is this sign-in's answer: anyone can
    // make an address with an `error` in it, or a code of another sign-in.
    if param("state").as_deref() != Some(expected_state) {
        return Err(Error::StateMismatch);
    }
    match (code, error) {
        (_, Some(error)) => {
            let detail = param("error_description").unwrap_or(error);
            Err(Error::AuthorizationDenied(text::line(&detail)))
        }
        (Some(code), None) => Ok(AuthorizationCode::new(code)),
        (None, None) => Err(Error::StateMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_urls_need_the_right_state() {
        let code = parse_redirect_input("http://127.0.0.1:8457/callback?code=abc&state=s1", "s1").unwrap();
        assert_eq!(code.secret(), "abc");
        assert!(matches!(
            parse_redirect_input("http://127.0.0.1:8457/callback?code=abc&state=s2", "s1"),
            Err(Error::StateMismatch)
        ));
        assert!(matches!(
            parse_redirect_input("http://127.0.0.1:8457/callback?code=abc", "s1"),
            Err(Error::StateMismatch)
        ));
        assert!(parse_redirect_input("127.0.0.1:8457/callback?code=abc&state=s1", "s1").is_ok());
    }

    #[test]
    fn bare_codes_and_garbage() {
        assert_eq!(
            parse_redirect_input("  eyJhbGciOi.x_y-z  ", "s")
                .unwrap()
                .secret(),
            "eyJhbGciOi.x_y-z"
        );
        assert!(matches!(
            parse_redirect_input("", "s"),
            Err(Error::BadRedirectInput(_))
        ));
        assert!(matches!(
            parse_redirect_input("hello world", "s"),
            Err(Error::BadRedirectInput(_))
        ));
        assert!(matches!(
            parse_redirect_input("https://example.com/page", "s"),
            Err(Error::BadRedirectInput(_))
        ));
        assert!(matches!(
            parse_redirect_input("http://127.0.0.1:1/cb?error=access_denied&state=s", "s"),
            Err(Error::AuthorizationDenied(_))
        ));
    }

    /// An error without this sign-in's `state` is not this sign-in's answer; with it,
    /// Monzo's description is made safe to show.
    #[test]
    fn errors_need_the_state_too_and_are_cleaned() {
        assert!(matches!(
            parse_redirect_input("http://127.0.0.1:1/callback?error=access_denied", "s"),
            Err(Error::StateMismatch)
        ));
        let Err(Error::AuthorizationDenied(said)) = parse_redirect_input(
            "http://127.0.0.1:1/callback?error=x&error_description=%1B%5D0%3Bowned%07line%0Atwo&state=s",
            "s",
        ) else {
            panic!("Monzo's error");
        };
        assert_eq!(said, "\u{FFFD}]0;owned\u{FFFD}line two");
    }

    #[test]
    fn client_input_is_checked() {
        assert_eq!(
            validate_client_id("  oauthclient_00009abc \n").unwrap(),
            "oauthclient_00009abc"
        );
        assert!(validate_client_id("").is_err());
        assert!(validate_client_id("oauth client").is_err());
        assert_eq!(
            validate_client_secret(" mnzconf.x \n").unwrap().secret(),
            "mnzconf.x"
        );
        assert!(validate_client_secret("mnz conf").is_err());
        assert!(validate_client_secret("   ").is_err());
    }

    #[test]
    fn authorize_url_carries_what_monzo_needs() {
        let endpoints = Endpoints::new("http://127.0.0.1:9", "http://127.0.0.1:9/").unwrap();
        let creds = ClientCredentials {
            client_id: "oauthclient_1".into(),
            client_secret: ClientSecret::new("s".into()),
            redirect_uri: "http://127.0.0.1:8457/callback".into(),
        };
        let (url, state) = authorize_url(&endpoints, &creds).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "oauthclient_1");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:8457/callback");
        assert_eq!(&q["state"], state.secret());
        assert!(state.secret().len() >= 16);
    }
}
