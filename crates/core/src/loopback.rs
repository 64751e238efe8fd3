//! The loopback redirect listener: a tiny web server on 127.0.0.1 that receives the
//! browser coming back from Monzo's email link, checks `state`, answers a plain "you
//! can close this tab" page, and shuts down after that one use or a timeout.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Router;
use oauth2::AuthorizationCode;
use tokio::sync::{mpsc, Mutex};

use crate::error::{Error, Result};
use crate::oauth::parse_redirect_input;

/// The port used when none is chosen: fixed, so the redirect URL registered at
/// developers.monzo.com stays the same.
pub const DEFAULT_REDIRECT_PORT: u16 = 8457;
pub const REDIRECT_PATH: &str = "/callback";

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

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn redirect_uri(&self) -> String {
        redirect_uri_for_port(self.port)
    }

    /// Serves until one request carries a sign-in result (a code, or Monzo's error),
    /// or `timeout` passes. Requests without one (a favicon) get a 404 and are ignored.
    pub async fn wait_for_code(self, expected_state: String, timeout: Duration) -> Result<AuthorizationCode> {
        let (tx, mut rx) = mpsc::channel::<Result<AuthorizationCode>>(1);
        let shared = Arc::new(Callback {
            expected_state,
            tx: Mutex::new(Some(tx)),
        });
        let app = Router::new().fallback(callback).with_state(shared);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(self.listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        let outcome = match tokio::time::timeout(timeout, rx.recv()).await {
            Ok(Some(result)) => result,
            Ok(None) => Err(Error::InvalidInput(
                "the sign-in listener stopped unexpectedly".into(),
            )),
            Err(_) => Err(Error::LoginTimedOut(timeout)),
        };
        let _ = stop.send(());
        // Graceful shutdown waits for the page to be delivered; bounded so a browser
        // holding the connection open cannot keep us here.
        let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
        outcome
    }
}

pub fn redirect_uri_for_port(port: u16) -> String {
    format!("http://127.0.0.1:{port}{REDIRECT_PATH}")
}

struct Callback {
    expected_state: String,
    tx: Mutex<Option<mpsc::Sender<Result<AuthorizationCode>>>>,
}

const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32em;margin:4em auto;color:#112}";

async fn callback(
    State(shared): State<Arc<Callback>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !query.contains_key("code") && !query.contains_key("error") {
        return (
            StatusCode::NOT_FOUND,
            "monzo-tray is waiting for the Monzo sign-in.",
        )
            .into_response();
    }
    let query_string = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query.iter())
        .finish();
    let result = parse_redirect_input(
        &format!("http://127.0.0.1{REDIRECT_PATH}?{query_string}"),
        &shared.expected_state,
    );
    let page = match &result {
        Ok(_) => "<h1>Signed in to Monzo</h1><p>You can close this tab and go back to monzo-tray. \
                  One more step: open the Monzo app on your phone and approve access.</p>"
            .to_owned(),
        Err(err) => format!(
            "<h1>The sign-in did not complete</h1><p>{}</p>",
            html_escape(&err.to_string())
        ),
    };
    if let Some(tx) = shared.tx.lock().await.take() {
        let _ = tx.send(result).await;
    }
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>monzo-tray</title><style>{PAGE_STYLE}</style>{page}"
    ))
    .into_response()
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

    #[tokio::test]
    async fn receives_one_code_and_stops() {
        let listener = LoopbackListener::bind(0).await.unwrap();
        let uri = listener.redirect_uri();
        let waiter = tokio::spawn(listener.wait_for_code("st8".into(), Duration::from_secs(10)));
        let http = reqwest::Client::new();
        let favicon = http
            .get(uri.replace("/callback", "/favicon.ico"))
            .send()
            .await
            .unwrap();
        assert_eq!(favicon.status(), 404);
        let page = http
            .get(format!("{uri}?code=c0de&state=st8"))
            .send()
            .await
            .unwrap();
        assert!(page.text().await.unwrap().contains("close this tab"));
        let code = waiter.await.unwrap().unwrap();
        assert_eq!(code.secret(), "c0de");
        // Shut down after one use.
        assert!(http
            .get(format!("{uri}?code=again&state=st8"))
            .send()
            .await
            .is_err());
    }

    #[tokio::test]
    async fn wrong_state_aborts() {
        let listener = LoopbackListener::bind(0).await.unwrap();
        let uri = listener.redirect_uri();
        let waiter = tokio::spawn(listener.wait_for_code("right".into(), Duration::from_secs(10)));
        let page = reqwest::get(format!("{uri}?code=c&state=wrong")).await.unwrap();
        assert!(page.text().await.unwrap().contains("did not complete"));
        assert!(matches!(waiter.await.unwrap(), Err(Error::StateMismatch)));
    }

    #[tokio::test]
    async fn times_out_and_reports_a_taken_port() {
        let listener = LoopbackListener::bind(0).await.unwrap();
        let port = listener.port();
        assert!(matches!(
            LoopbackListener::bind(port).await,
            Err(Error::RedirectPortInUse { .. })
        ));
        let result = listener
            .wait_for_code("s".into(), Duration::from_millis(50))
            .await;
        assert!(matches!(result, Err(Error::LoginTimedOut(_))));
    }
}
