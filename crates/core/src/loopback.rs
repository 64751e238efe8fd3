//! The loopback redirect listener: a tiny web server on 127.0.0.1 that receives the
//! browser coming back from Monzo's email link.
//!
//! Anyone can reach a port on 127.0.0.1: any local process, or an `<img>` on any web
//! page the person has open. So only a request to `/callback` carrying this sign-in's
//! `state` is handed on ([`Redirects::next`]); anything else gets a short page and is
//! otherwise ignored, and the sign-in goes on waiting. The browser's request is held
//! until its code has been tried ([`Redirect::answer`]), so the page says "Signed
//! in" only when the sign-in really worked, and otherwise what went wrong.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::Router;
use oauth2::AuthorizationCode;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::error::{Error, Result};
use crate::oauth::parse_redirect_input;

/// The port used when none is chosen: fixed, so the redirect URL registered at
/// developers.monzo.com stays the same.
pub const DEFAULT_REDIRECT_PORT: u16 = 8457;
pub(crate) const REDIRECT_PATH: &str = "/callback";

pub struct LoopbackListener {
    listener: tokio::net::TcpListener,
    port: u16,
}

impl LoopbackListener {
    /// Binds 127.0.0.1:`port` (0 picks a free port, for tests).
    pub async fn bind(port: u16) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .map_err(|err| match err.kind() {
                std::io::ErrorKind::AddrInUse | std::io::ErrorKind::PermissionDenied => {
                    Error::RedirectPortInUse { port }
                }
                _ => Error::InvalidInput(format!("Could not listen on 127.0.0.1:{port}: {err}")),
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::InvalidInput(format!("Could not listen on 127.0.0.1: {e}")))?
            .port();
        Ok(Self { listener, port })
    }

    #[cfg(test)]
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub fn redirect_uri(&self) -> String {
        redirect_uri_for_port(self.port)
    }

    /// Starts serving: each request to `/callback` with `expected_state` comes out
    /// of [`Redirects::next`]; every other request is answered at once and ignored.
    pub(crate) fn serve(self, expected_state: String) -> Redirects {
        let (tx, arrivals) = mpsc::channel::<Redirect>(4);
        let shared = Arc::new(Callback {
            expected_state,
            tx: Mutex::new(Some(tx)),
        });
        let app = Router::new().fallback(callback).with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(self.listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Redirects {
            arrivals,
            shared,
            stop: Some(stop),
            server,
        }
    }
}

pub fn redirect_uri_for_port(port: u16) -> String {
    format!("http://127.0.0.1:{port}{REDIRECT_PATH}")
}

/// The browser's requests that carry this sign-in's answer, as they come.
pub(crate) struct Redirects {
    arrivals: mpsc::Receiver<Redirect>,
    shared: Arc<Callback>,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
}

impl Redirects {
    /// The next request with this sign-in's `state`: its code, or Monzo's error.
    /// `None` once the server has stopped.
    pub(crate) async fn next(&mut self) -> Option<Redirect> {
        self.arrivals.recv().await
    }

    /// Stops serving. A request still held is told the sign-in has ended; the page
    /// already answered is delivered first (bounded, so a browser holding its
    /// connection open cannot keep the sign-in here).
    pub(crate) async fn close(mut self) {
        self.shared.tx.lock().await.take();
        self.arrivals.close();
        while let Some(held) = self.arrivals.recv().await {
            held.answer(Page::Ended);
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.server).await;
    }
}

impl Drop for Redirects {
    fn drop(&mut self) {
        // Dropped without `close` (the sign-in was cancelled): the port is freed.
        if self.stop.is_some() {
            self.server.abort();
        }
    }
}

/// One request with this sign-in's `state`; the browser waits for [`Self::answer`].
pub(crate) struct Redirect {
    /// The code it brought, or Monzo's error ([`Error::AuthorizationDenied`]).
    pub(crate) code: Result<AuthorizationCode>,
    reply: BrowserWaiting,
}

impl Redirect {
    /// The page the browser shows for it.
    pub(crate) fn answer(self, page: Page) {
        self.reply.answer(page);
    }

    /// The code, and the browser waiting for its page.
    pub(crate) fn into_parts(self) -> (Result<AuthorizationCode>, BrowserWaiting) {
        (self.code, self.reply)
    }
}

/// A browser waiting for the page about its request.
pub(crate) struct BrowserWaiting(oneshot::Sender<Page>);

impl BrowserWaiting {
    pub(crate) fn answer(self, page: Page) {
        let _ = self.0.send(page);
    }
}

/// What the browser is told about its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Page {
    /// The sign-in worked.
    SignedIn,
    /// This did not work, but the sign-in goes on: the sentence says why.
    StillWaiting(String),
    /// The sign-in is over, unsuccessfully: the sentence says why.
    Failed(String),
    /// The sign-in had already ended when this arrived.
    Ended,
}

impl Page {
    fn html(&self) -> String {
        let body = match self {
            Page::SignedIn => {
                "<h1>Signed in to Monzo</h1><p>You can close this tab and go back to monzo-tray. \
                               One more step: open the Monzo app on your phone and approve access.</p>"
                    .to_owned()
            }
            Page::StillWaiting(why) => format!(
                "<h1>That did not work</h1><p>{}</p><p>monzo-tray is still waiting: open the newest link \
                 in Monzo's email, or paste the address into monzo-tray.</p>",
                html_escape(why)
            ),
            Page::Failed(why) => format!("<h1>The sign-in did not complete</h1><p>{}</p>", html_escape(why)),
            Page::Ended => {
                "<h1>This sign-in has ended</h1><p>Start the sign-in again in monzo-tray.</p>".to_owned()
            }
        };
        page(&body)
    }
}

struct Callback {
    expected_state: String,
    /// Taken when the sign-in ends, so nothing more is handed on.
    tx: Mutex<Option<mpsc::Sender<Redirect>>>,
}

const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32em;margin:4em auto;color:#112}";

fn page(body: &str) -> String {
    format!("<!doctype html><meta charset=utf-8><title>monzo-tray</title><style>{PAGE_STYLE}</style>{body}")
}

async fn callback(
    State(shared): State<Arc<Callback>>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let ignored = |status: StatusCode, body: &str| (status, Html(page(body))).into_response();
    if uri.path() != REDIRECT_PATH {
        return ignored(
            StatusCode::NOT_FOUND,
            "<p>Nothing here: monzo-tray is waiting for the Monzo sign-in.</p>",
        );
    }
    if query.get("state") != Some(&shared.expected_state) {
        tracing::info!("a request to the sign-in listener without this sign-in's state was ignored");
        return ignored(
            StatusCode::BAD_REQUEST,
            "<h1>This is not the sign-in monzo-tray is waiting for</h1><p>It was ignored; the sign-in goes on. \
             Open the newest link in Monzo's email.</p>",
        );
    }
    if !query.contains_key("code") && !query.contains_key("error") {
        return ignored(
            StatusCode::BAD_REQUEST,
            "<p>There is no sign-in code in this address; monzo-tray is still waiting.</p>",
        );
    }
    let query_string = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query.iter())
        .finish();
    let code = parse_redirect_input(
        &format!("http://127.0.0.1{REDIRECT_PATH}?{query_string}"),
        &shared.expected_state,
    );
    let (reply, answered) = oneshot::channel();
    let tx = shared.tx.lock().await.clone();
    let handed_on = match tx {
        Some(tx) => tx
            .send(Redirect {
                code,
                reply: BrowserWaiting(reply),
            })
            .await
            .is_ok(),
        None => false,
    };
    let page = if handed_on {
        answered.await.unwrap_or(Page::Ended)
    } else {
        Page::Ended
    };
    Html(page.html()).into_response()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_http() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// The browser asking for `url`, on a task of its own: its page comes when the
    /// listener answers.
    fn browse_later(http: &reqwest::Client, url: String) -> tokio::task::JoinHandle<String> {
        let http = http.clone();
        tokio::spawn(async move { http.get(url).send().await.unwrap().text().await.unwrap() })
    }

    /// The right redirect is held until it is answered, then the listener stops.
    #[tokio::test]
    async fn hands_on_the_right_redirect_and_holds_the_page_until_answered() {
        let listener = LoopbackListener::bind(0).await.unwrap();
        let uri = listener.redirect_uri();
        let mut redirects = listener.serve("st8".into());
        let http = plain_http();
        let favicon = http
            .get(uri.replace("/callback", "/favicon.ico"))
            .send()
            .await
            .unwrap();
        assert_eq!(favicon.status(), 404);
        let browser = browse_later(&http, format!("{uri}?code=c0de&state=st8"));
        let redirect = redirects.next().await.unwrap();
        assert_eq!(redirect.code.as_ref().unwrap().secret(), "c0de");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!browser.is_finished(), "the page waits for the outcome");
        redirect.answer(Page::SignedIn);
        assert!(browser.await.unwrap().contains("close this tab"));
        redirects.close().await;
        // Shut down after use.
        assert!(http
            .get(format!("{uri}?code=again&state=st8"))
            .send()
            .await
            .is_err());
    }

    /// A request with the wrong state, or to another path, is answered and ignored:
    /// nobody outside can end the sign-in (or reach it by another path).
    #[tokio::test]
    async fn wrong_state_or_path_is_answered_and_ignored() {
        let listener = LoopbackListener::bind(0).await.unwrap();
        let uri = listener.redirect_uri();
        let base = uri.trim_end_matches("/callback").to_owned();
        let mut redirects = listener.serve("right".into());
        let http = plain_http();
        for stray in [
            format!("{uri}?code=c&state=wrong"),
            format!("{uri}?error=access_denied&error_description=gotcha"),
            format!("{uri}?code=c"),
            format!("{base}/elsewhere?code=c&state=right"),
            format!("{base}/?code=c&state=right"),
            format!("{uri}/x?code=c&state=right"),
            format!("{uri}?state=right"),
        ] {
            let page = http.get(&stray).send().await.unwrap();
            assert!(page.status().is_client_error(), "{stray}");
            assert!(!page.text().await.unwrap().contains("Signed in"), "{stray}");
        }
        let nothing = tokio::time::timeout(Duration::from_millis(200), redirects.next()).await;
        assert!(nothing.is_err(), "nothing was handed on");
        // The right one still comes through afterwards.
        let browser = browse_later(&http, format!("{uri}?code=c&state=right"));
        let redirect = redirects.next().await.unwrap();
        redirect.answer(Page::StillWaiting("Monzo did not accept that code.".into()));
        let page = browser.await.unwrap();
        assert!(
            page.contains("still waiting") && page.contains("did not accept"),
            "{page}"
        );
        redirects.close().await;
    }

    /// Monzo's error with the right state is handed on as Monzo's error.
    #[tokio::test]
    async fn monzos_error_with_the_right_state_is_handed_on() {
        let listener = LoopbackListener::bind(0).await.unwrap();
        let uri = listener.redirect_uri();
        let mut redirects = listener.serve("s".into());
        tokio::spawn(async move {
            plain_http()
                .get(format!("{uri}?error=access_denied&state=s"))
                .send()
                .await
        });
        let redirect = redirects.next().await.unwrap();
        assert!(matches!(redirect.code, Err(Error::AuthorizationDenied(_))));
        redirect.answer(Page::Failed("denied".into()));
        redirects.close().await;
    }

    #[tokio::test]
    async fn reports_a_taken_port() {
        let listener = LoopbackListener::bind(0).await.unwrap();
        let port = listener.port();
        assert!(matches!(
            LoopbackListener::bind(port).await,
            Err(Error::RedirectPortInUse { .. })
        ));
    }
}
