//! The person's side of the sandbox's sign-in: what a browser does between
//! opening the authorize URL and landing back on the app, for tests and the demo.

/// Why a browser could not come back from the sandbox's authorize page.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("the sandbox's authorize page could not be opened: {0}")]
    Unreachable(#[from] reqwest::Error),
    #[error("the sandbox's authorize page answered {status} without a redirect: {body}")]
    NoRedirect { status: u16, body: String },
}

/// Opens `authorize_url` as the sandbox user `user` and returns where Monzo's email
/// link would lead: the redirect URL with its `code` and `state` (the sandbox's
/// authorize page answers 303 with it at once). Nothing follows the redirect, so
/// the app's listener is not called: what to do with the address (paste it, or
/// open it) is the caller's.
pub async fn email_link_landing(authorize_url: &url::Url, user: &str) -> Result<String, BrowserError> {
    let mut url = authorize_url.clone();
    url.query_pairs_mut().append_pair("user", user);
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let reply = browser.get(url).send().await?;
    match reply
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
    {
        Some(location) if reply.status().is_redirection() => Ok(location.to_owned()),
        _ => Err(BrowserError::NoRedirect {
            status: reply.status().as_u16(),
            body: reply.text().await.unwrap_or_default(),
        }),
    }
}
