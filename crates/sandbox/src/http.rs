//! The HTTP face of the sandbox: Monzo's endpoints, the faults and latency in front of
//! them, and the `/_sandbox/*` control surface tests and demos use.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::{FaultKind, FaultPlan, DATA_PATHS};
use crate::fixture::{ClientFixture, Fixture, TransactionFixture};
use crate::quota::Quota;
use crate::world::{AccountChange, ApiError, TransactionChange, World};

/// The guard even if a handler panicked while holding it: the data stays usable for
/// the remaining requests, and a test harness must not cascade one panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// State shared by every request.
pub struct Shared {
    world: Mutex<World>,
    faults: Mutex<FaultPlan>,
    latency_ms: AtomicU64,
    requests: Mutex<HashMap<String, u64>>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

impl Shared {
    pub fn new(fixture: Fixture) -> Self {
        Self {
            world: Mutex::new(World::new(fixture)),
            faults: Mutex::new(FaultPlan::default()),
            latency_ms: AtomicU64::new(0),
            requests: Mutex::new(HashMap::new()),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
        }
    }

    /// The world (see [`lock`]).
    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.world)
    }

    pub fn faults(&self) -> MutexGuard<'_, FaultPlan> {
        lock(&self.faults)
    }

    pub fn set_latency(&self, latency: Duration) {
        self.latency_ms
            .store(latency.as_millis() as u64, Ordering::Relaxed);
    }

    pub fn request_counts(&self) -> HashMap<String, u64> {
        lock(&self.requests).clone()
    }

    pub fn reset_request_counts(&self) {
        lock(&self.requests).clear();
        self.max_in_flight.store(0, Ordering::Relaxed);
    }

    /// The most API requests that were being handled at the same moment.
    pub fn max_in_flight(&self) -> u64 {
        self.max_in_flight.load(Ordering::Relaxed)
    }
}

type AppState = Arc<Shared>;

pub fn router(shared: AppState) -> Router {
    let monzo = Router::new()
        .route("/", get(authorize))
        .route("/oauth2/token", post(token))
        .route("/ping/whoami", get(whoami))
        .route("/accounts", get(accounts))
        .route("/balance", get(balance))
        .route("/pots", get(pots))
        .route("/transactions", get(transactions))
        .route("/pots/{pot_id}/deposit", put(pot_deposit))
        .route("/pots/{pot_id}/withdraw", put(pot_withdraw))
        .layer(middleware::from_fn_with_state(shared.clone(), faults_and_latency));
    let control = Router::new()
        .route("/approve", post(control_approve))
        .route("/revoke_approval", post(control_revoke_approval))
        .route("/expire_tokens", post(control_expire_tokens))
        .route("/revoke_refresh_tokens", post(control_revoke_refresh))
        .route("/faults", post(control_faults).delete(control_clear_faults))
        .route("/latency", post(control_latency))
        .route("/account", post(control_account))
        .route("/pot", post(control_pot))
        .route("/fixture", post(control_fixture).get(control_get_fixture))
        .route("/clients", post(control_add_client))
        .route("/tokens", get(control_tokens))
        .route("/token_lifetime", post(control_token_lifetime))
        .route("/stats", get(control_stats).delete(control_reset_stats))
        .route("/transaction", post(control_transaction))
        .route("/transaction/update", post(control_update_transaction))
        .route("/sca_window", post(control_sca_window))
        .route("/clock", post(control_clock).get(control_get_clock))
        .route("/quota", post(control_quota).delete(control_clear_quota));
    monzo.nest("/_sandbox", control).with_state(shared)
}

fn api_error(err: ApiError) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(err.body())).into_response()
}

fn reply(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(err) => api_error(err),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_owned())
}

/// Counts requests (and how many overlap), adds the configured latency, and injects
/// the next fault.
async fn faults_and_latency(State(shared): State<AppState>, request: Request, next: Next) -> Response {
    let now = shared.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::Relaxed);
    let response = handle_with_faults(&shared, request, next).await;
    shared.in_flight.fetch_sub(1, Ordering::Relaxed);
    response
}

async fn handle_with_faults(shared: &Shared, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    *lock(&shared.requests).entry(path.clone()).or_default() += 1;
    let latency = shared.latency_ms.load(Ordering::Relaxed);
    if latency > 0 && (DATA_PATHS.contains(&path.as_str()) || path == "/oauth2/token") {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    // The quota stands before everything else, as a gateway's limit would: a blocked
    // request is not served and uses up no fault.
    if DATA_PATHS.contains(&path.as_str()) {
        let token = bearer(request.headers());
        if let Err(seconds) = shared.world().check_quota(token.as_deref()) {
            return rate_limited(Some(seconds));
        }
    }
    let fault = shared.faults().next_for(&path);
    let Some(fault) = fault else {
        return next.run(request).await;
    };
    tracing::debug!(?fault.kind, %path, "sandbox injects a fault");
    match fault.kind {
        FaultKind::RateLimited => rate_limited(fault.retry_after),
        FaultKind::ServerError => {
            let body = json!({"code": "internal_service.unknown", "message": "An unknown error occurred"});
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
        FaultKind::BadGateway => (StatusCode::BAD_GATEWAY, "").into_response(),
        FaultKind::GatewayTimeout => (
            StatusCode::GATEWAY_TIMEOUT,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>504 Gateway Time-out</h1></body></html>",
        )
            .into_response(),
        FaultKind::Slow => {
            tokio::time::sleep(Duration::from_millis(fault.delay_ms.unwrap_or(30_000))).await;
            next.run(request).await
        }
        FaultKind::MalformedJson => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"accounts\": [{\"id\": \"acc_",
        )
            .into_response(),
        FaultKind::MissingList => {
            let body = match path.as_str() {
                "/balance" => json!({"currency": "GBP", "spend_today": 0, "total_balance": 0}),
                _ => json!({}),
            };
            (StatusCode::OK, Json(body)).into_response()
        }
        FaultKind::PartialList => partial(next.run(request).await).await,
        FaultKind::DropConnection => dropped(),
        FaultKind::DropReply => {
            let _handled = next.run(request).await;
            dropped()
        }
        FaultKind::ExpireToken => {
            if let Some(token) = bearer(request.headers()) {
                shared.world().expire_access_token(&token);
            }
            next.run(request).await
        }
    }
}

/// 429 with Monzo's JSON error, and `Retry-After` (seconds) when given.
fn rate_limited(retry_after: Option<u64>) -> Response {
    let body = json!({"code": "rate_limited.too_many_requests", "message": "Too many requests"});
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A reply whose body fails before its first byte: the server aborts the
/// connection, so the client sees an incomplete reply.
fn dropped() -> Response {
    let broken = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("sandbox dropped the connection"))
    });
    Response::new(Body::from_stream(broken))
}

/// The reply with the last entry of its list taken out (other replies unchanged).
async fn partial(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    for list in ["accounts", "pots"] {
        if let Some(Value::Array(entries)) = value.get_mut(list) {
            entries.pop();
        }
    }
    let mut response = Json(value).into_response();
    *response.status_mut() = parts.status;
    response
}

async fn authorize(State(shared): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |key: &str| q.get(key).map(String::as_str);
    let result = shared.world().authorize(
        get("client_id").unwrap_or_default(),
        get("redirect_uri").unwrap_or_default(),
        get("response_type").unwrap_or_default(),
        get("state"),
        get("user"),
    );
    match result {
        Ok(location) => Redirect::to(&location).into_response(),
        Err(err) => {
            let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, format!("Monzo sandbox: {}", err.message)).into_response()
        }
    }
}

/// Client credentials from the form body or from HTTP Basic, as OAuth allows both.
fn client_credentials(headers: &HeaderMap, form: &HashMap<String, String>) -> (String, String) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((decode(id)?, decode(secret)?))
        });
    match basic {
        Some(pair) => pair,
        None => (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        ),
    }
}

async fn token(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (client_id, client_secret) = client_credentials(&headers, &form);
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let mut world = shared.world();
    let result = match field("grant_type") {
        "authorization_code" => {
            world.exchange_code(&client_id, &client_secret, field("redirect_uri"), field("code"))
        }
        "refresh_token" => world.refresh(&client_id, &client_secret, field("refresh_token")),
        _ => {
            return api_error(ApiError {
                status: 400,
                code: "bad_request.unsupported_grant_type",
                message: "grant_type must be authorization_code or refresh_token".into(),
                oauth_error: Some("unsupported_grant_type"),
            })
        }
    };
    match result {
        Ok(reply) => Json(reply.body).into_response(),
        Err(err) => api_error(err),
    }
}

async fn whoami(State(shared): State<AppState>, headers: HeaderMap) -> Response {
    reply(shared.world().whoami(bearer(&headers).as_deref()))
}

async fn accounts(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    reply(shared.world().accounts(
        bearer(&headers).as_deref(),
        q.get("account_type").map(String::as_str),
    ))
}

async fn balance(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    reply(shared.world().balance(
        bearer(&headers).as_deref(),
        q.get("account_id").map(String::as_str),
    ))
}

async fn pots(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    reply(shared.world().pots(
        bearer(&headers).as_deref(),
        q.get("current_account_id").map(String::as_str),
    ))
}

async fn transactions(
    State(shared): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let get = |key: &str| q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let query = crate::transactions::Query {
        since: get("since"),
        before: get("before"),
        limit: get("limit"),
        expand_merchant: q.iter().any(|(k, v)| k == "expand[]" && v == "merchant"),
    };
    reply(
        shared
            .world()
            .transactions(bearer(&headers).as_deref(), get("account_id"), &query),
    )
}

async fn pot_deposit(
    State(shared): State<AppState>,
    Path(pot_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    pot_move(&shared, &pot_id, true, &headers, &form)
}

async fn pot_withdraw(
    State(shared): State<AppState>,
    Path(pot_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    pot_move(&shared, &pot_id, false, &headers, &form)
}

fn pot_move(
    shared: &Shared,
    pot_id: &str,
    into: bool,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str);
    let account = if into {
        field("source_account_id")
    } else {
        field("destination_account_id")
    };
    reply(shared.world().pot_move(
        bearer(headers).as_deref(),
        pot_id,
        into,
        account,
        field("amount"),
        field("dedupe_id"),
    ))
}

// ---- control surface -------------------------------------------------------------

fn control(result: Result<(), String>) -> Response {
    match result {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err(message) => (
            StatusCode::NOT_FOUND,
            Json(json!({"ok": false, "message": message})),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct Who {
    /// A user id or name; absent means everyone where that makes sense.
    user: Option<String>,
}

async fn control_approve(State(shared): State<AppState>, Json(who): Json<Who>) -> Response {
    control(match who.user {
        Some(user) => shared.world().approve(&user),
        None => Err("give the user to approve".into()),
    })
}

async fn control_revoke_approval(State(shared): State<AppState>, Json(who): Json<Who>) -> Response {
    control(match who.user {
        Some(user) => shared.world().revoke_approval(&user),
        None => Err("give the user whose approval ends".into()),
    })
}

async fn control_expire_tokens(State(shared): State<AppState>, Json(who): Json<Who>) -> Response {
    control(shared.world().expire_tokens(who.user.as_deref()))
}

async fn control_revoke_refresh(State(shared): State<AppState>, Json(who): Json<Who>) -> Response {
    control(shared.world().revoke_refresh_tokens(who.user.as_deref()))
}

async fn control_faults(State(shared): State<AppState>, Json(plan): Json<FaultPlan>) -> Response {
    *shared.faults() = plan;
    control(Ok(()))
}

async fn control_clear_faults(State(shared): State<AppState>) -> Response {
    *shared.faults() = FaultPlan::default();
    control(Ok(()))
}

#[derive(Deserialize)]
struct Latency {
    ms: u64,
}

async fn control_latency(State(shared): State<AppState>, Json(latency): Json<Latency>) -> Response {
    shared.set_latency(Duration::from_millis(latency.ms));
    control(Ok(()))
}

async fn control_account(State(shared): State<AppState>, Json(change): Json<AccountChange>) -> Response {
    control(shared.world().set_account(change))
}

#[derive(Deserialize)]
struct PotChange {
    pot_id: String,
    balance: Option<i64>,
    name: Option<String>,
    deleted: Option<bool>,
    locked: Option<bool>,
}

async fn control_pot(State(shared): State<AppState>, Json(c): Json<PotChange>) -> Response {
    let mut world = shared.world();
    let locked = match c.locked {
        Some(locked) => world.set_pot_locked(&c.pot_id, locked),
        None => Ok(()),
    };
    control(locked.and_then(|()| world.set_pot(&c.pot_id, c.balance, c.name, c.deleted)))
}

async fn control_transaction(State(shared): State<AppState>, Json(tx): Json<TransactionFixture>) -> Response {
    match shared.world().add_transaction(tx) {
        Ok(id) => Json(json!({"ok": true, "id": id})).into_response(),
        Err(message) => control(Err(message)),
    }
}

async fn control_update_transaction(
    State(shared): State<AppState>,
    Json(change): Json<TransactionChange>,
) -> Response {
    control(shared.world().update_transaction(change))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockAdvance {
    advance_secs: u64,
}

fn clock_reply(now: chrono::DateTime<chrono::Utc>) -> Response {
    let now = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    Json(json!({"ok": true, "now": now})).into_response()
}

async fn control_clock(State(shared): State<AppState>, Json(c): Json<ClockAdvance>) -> Response {
    let mut world = shared.world();
    world.advance_clock(Duration::from_secs(c.advance_secs));
    clock_reply(world.now())
}

async fn control_get_clock(State(shared): State<AppState>) -> Response {
    clock_reply(shared.world().now())
}

async fn control_quota(State(shared): State<AppState>, Json(quota): Json<Quota>) -> Response {
    shared.world().set_quota(Some(quota));
    control(Ok(()))
}

async fn control_clear_quota(State(shared): State<AppState>) -> Response {
    shared.world().set_quota(None);
    control(Ok(()))
}

#[derive(Deserialize)]
struct ScaWindow {
    seconds: u64,
}

async fn control_sca_window(State(shared): State<AppState>, Json(w): Json<ScaWindow>) -> Response {
    shared.world().sca_window = Duration::from_secs(w.seconds);
    control(Ok(()))
}

async fn control_fixture(State(shared): State<AppState>, Json(fixture): Json<Fixture>) -> Response {
    shared.world().load(fixture);
    control(Ok(()))
}

async fn control_get_fixture(State(shared): State<AppState>) -> Response {
    Json(shared.world().fixture().clone()).into_response()
}

async fn control_add_client(State(shared): State<AppState>, Json(client): Json<ClientFixture>) -> Response {
    shared.world().add_client(client);
    control(Ok(()))
}

async fn control_tokens(State(shared): State<AppState>) -> Response {
    Json(json!({"tokens": shared.world().issued_tokens()})).into_response()
}

#[derive(Deserialize)]
struct Lifetime {
    seconds: u64,
}

async fn control_token_lifetime(State(shared): State<AppState>, Json(l): Json<Lifetime>) -> Response {
    shared.world().token_lifetime = Duration::from_secs(l.seconds);
    control(Ok(()))
}

async fn control_stats(State(shared): State<AppState>) -> Response {
    let counts = shared.request_counts();
    let total: u64 = counts.values().sum();
    Json(json!({"requests": counts, "total": total, "max_in_flight": shared.max_in_flight()})).into_response()
}

async fn control_reset_stats(State(shared): State<AppState>) -> Response {
    shared.reset_request_counts();
    control(Ok(()))
}
