#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure should stop the test
//! The sandbox over HTTP, as any Monzo client (and a test written in any language)
//! sees it: OAuth with form or Basic client credentials, the data endpoints, the
//! `/_sandbox/*` control surface, and what each fault looks like on the wire.

use monzo_sandbox::{Fixture, Sandbox, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use serde_json::{json, Value};

struct Session {
    sandbox: Sandbox,
    http: reqwest::Client,
}

impl Session {
    async fn start() -> Self {
        let mut fixture = Fixture::demo();
        fixture.users[0].approve_on_login = false;
        Self {
            sandbox: Sandbox::start_local(fixture).await.unwrap(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.api_url())
    }

    async fn control(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/_sandbox/{path}")))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn code(&self, user: &str) -> String {
        let reply = self
            .http
            .get(self.url("/"))
            .query(&[
                ("client_id", DEMO_CLIENT_ID),
                ("redirect_uri", "http://127.0.0.1:5/cb"),
                ("response_type", "code"),
                ("state", "xyz"),
                ("user", user),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 303);
        let location = url::Url::parse(reply.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(location.path(), "/cb");
        let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
        assert_eq!(q["state"], "xyz");
        q["code"].clone()
    }

    async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn oauth_with_basic_client_auth_and_approval_through_the_control_surface() {
    let s = Session::start().await;
    let code = s.code("Dana").await;
    // Client credentials in an HTTP Basic header, as many OAuth libraries send them.
    let reply = s
        .http
        .post(s.url("/oauth2/token"))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:5/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let tokens: Value = reply.json().await.unwrap();
    for field in [
        "access_token",
        "refresh_token",
        "expires_in",
        "token_type",
        "user_id",
        "client_id",
    ] {
        assert!(tokens.get(field).is_some(), "token reply has {field}");
    }
    let token = tokens["access_token"].as_str().unwrap();

    let whoami: Value = s.get("/ping/whoami", token).await.json().await.unwrap();
    assert_eq!(
        whoami["authenticated"], true,
        "whoami answers before the in-app approval"
    );
    let denied = s.get("/accounts", token).await;
    assert_eq!(denied.status(), 403);
    assert_eq!(
        denied.json::<Value>().await.unwrap()["code"],
        "forbidden.insufficient_permissions"
    );

    assert_eq!(s.control("approve", json!({"user": "Dana"})).await.status(), 200);
    let accounts: Value = s.get("/accounts", token).await.json().await.unwrap();
    let accounts = accounts["accounts"].as_array().unwrap();
    let joint = accounts.iter().find(|a| a["type"] == "uk_retail_joint").unwrap();
    assert_eq!(joint["owners"].as_array().unwrap().len(), 2);
    assert!(
        accounts.iter().any(|a| a["type"] == "uk_monzo_flex_backing_loan"),
        "hidden types are still served"
    );

    let pots: Value = s
        .get("/pots?current_account_id=acc_00009demodanacurrent", token)
        .await
        .json()
        .await
        .unwrap();
    let deleted: Vec<&Value> = pots["pots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["deleted"] == true)
        .collect();
    assert_eq!(deleted.len(), 1, "deleted pots are listed with deleted: true");

    // Change a balance and delete a pot over HTTP; the balance reply follows.
    s.control(
        "account",
        json!({"account_id": "acc_00009demodanacurrent", "balance": -500}),
    )
    .await;
    s.control("pot", json!({"pot_id": "pot_00009demoholiday", "deleted": true}))
        .await;
    let balance: Value = s
        .get("/balance?account_id=acc_00009demodanacurrent", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(balance["balance"], -500);
    assert_eq!(balance["total_balance"], -500 + 32075);
    assert_eq!(balance["currency"], "GBP");

    // Expiry over the control surface.
    s.control("expire_tokens", json!({"user": "Dana"})).await;
    let expired = s.get("/accounts", token).await;
    assert_eq!(expired.status(), 401);
    assert_eq!(
        expired.json::<Value>().await.unwrap()["code"],
        "unauthorized.bad_access_token.expired"
    );

    let issued: Value = s
        .http
        .get(s.url("/_sandbox/tokens"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(issued["tokens"].as_array().unwrap().len(), 1);
    let stats: Value = s
        .http
        .get(s.url("/_sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(stats["total"].as_u64().unwrap() >= 6);
}

#[tokio::test]
async fn faults_look_like_they_do_in_the_wild() {
    let s = Session::start().await;
    s.control("approve", json!({"user": "Alex"})).await;
    let code = s.code("Alex").await;
    let tokens: Value = s
        .http
        .post(s.url("/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:5/cb"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"].as_str().unwrap();

    let plan = |kind: &str, extra: Value| {
        let mut rule = json!({"kind": kind, "times": 1});
        rule.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"rules": [rule]})
    };
    s.control("faults", plan("rate_limited", json!({"retry_after": 30})))
        .await;
    let reply = s.get("/accounts", token).await;
    assert_eq!(reply.status(), 429);
    assert_eq!(reply.headers()["retry-after"], "30");

    s.control("faults", plan("rate_limited", json!({}))).await;
    assert!(s
        .get("/accounts", token)
        .await
        .headers()
        .get("retry-after")
        .is_none());

    s.control("faults", plan("gateway_timeout", json!({}))).await;
    let reply = s.get("/accounts", token).await;
    assert_eq!(reply.status(), 504);
    assert!(reply.text().await.unwrap().contains("<html>"));

    s.control("faults", plan("bad_gateway", json!({}))).await;
    let reply = s.get("/accounts", token).await;
    assert_eq!(reply.status(), 502);
    assert!(reply.text().await.unwrap().is_empty());

    s.control("faults", plan("server_error", json!({}))).await;
    assert_eq!(s.get("/accounts", token).await.status(), 500);

    s.control("faults", plan("malformed_json", json!({}))).await;
    let body = s.get("/accounts", token).await.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&body).is_err());

    s.control("faults", plan("drop_connection", json!({}))).await;
    let dropped = async {
        s.http
            .get(s.url("/accounts"))
            .bearer_auth(token)
            .send()
            .await?
            .bytes()
            .await
    };
    assert!(dropped.await.is_err(), "the client sees a broken reply");

    s.control("faults", plan("slow", json!({"delay_ms": 300}))).await;
    let started = std::time::Instant::now();
    assert_eq!(s.get("/accounts", token).await.status(), 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));

    s.control("faults", plan("expire_token", json!({}))).await;
    assert_eq!(s.get("/accounts", token).await.status(), 401);

    // Faults only on the token endpoint when asked for by path.
    s.control(
        "faults",
        json!({"rules": [{"kind": "server_error", "path": "/oauth2/token", "times": 1}]}),
    )
    .await;
    assert_eq!(
        s.get("/ping/whoami", token).await.status(),
        401,
        "expired by the previous fault, not a 500"
    );
    let reply = s
        .http
        .post(s.url("/oauth2/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 500);

    // Latency is added to every API request.
    s.control("latency", json!({"ms": 200})).await;
    let started = std::time::Instant::now();
    s.get("/ping/whoami", token).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
}

#[tokio::test]
async fn a_fixture_can_be_loaded_over_http_and_bad_ones_are_refused() {
    let s = Session::start().await;
    let fixture = json!({
        "clients": [{"client_id": "oauthclient_x", "client_secret": "sec", "redirect_uris": ["http://127.0.0.1:5/cb"]}],
        "users": [{"user_id": "user_1", "name": "Sam", "approve_on_login": true}],
        "accounts": [{"id": "acc_1", "type": "uk_retail", "currency": "JPY", "owners": ["user_1"], "balance": 1500}],
        "pots": []
    });
    assert_eq!(s.control("fixture", fixture).await.status(), 200);
    let back: Value = s
        .http
        .get(s.url("/_sandbox/fixture"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(back["users"][0]["name"], "Sam");
    // A redirect URL that was not registered is refused, as Monzo does.
    let reply = s
        .http
        .get(s.url("/"))
        .query(&[
            ("client_id", "oauthclient_x"),
            ("redirect_uri", "http://evil/cb"),
            ("response_type", "code"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    let bad = s
        .control(
            "fixture",
            json!({"users": [{"user_id": "u", "name": "n", "typo": true}]}),
        )
        .await;
    assert!(bad.status().is_client_error());
}

/// The pot moves on the wire: form bodies, the pot in the reply, `dedupe_id`
/// honoured, locked pots and too little money refused, each move a transaction.
#[tokio::test]
async fn pot_moves_as_monzo_documents_them() {
    let s = Session::start().await;
    s.control("approve", json!({"user": "Dana"})).await;
    let code = s.code("Dana").await;
    let tokens: Value = s
        .http
        .post(s.url("/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:5/cb"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    s.control("approve", json!({"user": "Dana"})).await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let put = |path: &str, form: Vec<(&str, &str)>| {
        let request = s.http.put(s.url(path)).bearer_auth(&token).form(&form);
        async move {
            let reply = request.send().await.unwrap();
            (reply.status().as_u16(), reply.json::<Value>().await.unwrap())
        }
    };
    let deposit = |amount: &'static str, dedupe: &'static str| {
        vec![
            ("source_account_id", "acc_00009demodanacurrent"),
            ("amount", amount),
            ("dedupe_id", dedupe),
        ]
    };
    let (status, pot) = put("/pots/pot_00009demoholiday/deposit", deposit("1000", "d1")).await;
    assert_eq!(status, 200, "{pot}");
    assert_eq!(
        (pot["id"].as_str(), pot["balance"].as_i64()),
        (Some("pot_00009demoholiday"), Some(151_000))
    );
    // The same dedupe id: the first reply again, nothing moved.
    let (_, again) = put("/pots/pot_00009demoholiday/deposit", deposit("1000", "d1")).await;
    assert_eq!(again["balance"], 151_000);
    let (_, other) = put("/pots/pot_00009demoholiday/deposit", deposit("1000", "d2")).await;
    assert_eq!(other["balance"], 152_000);
    // More than the account holds; a locked pot's withdrawal.
    let (status, refused) = put("/pots/pot_00009demoholiday/deposit", deposit("999999999", "d3")).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("bad_request.insufficient_funds"))
    );
    s.control("pot", json!({"pot_id": "pot_00009demoholiday", "locked": true}))
        .await;
    let (status, refused) = put(
        "/pots/pot_00009demoholiday/withdraw",
        vec![
            ("destination_account_id", "acc_00009demodanacurrent"),
            ("amount", "100"),
            ("dedupe_id", "w1"),
        ],
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("forbidden.pot_locked"))
    );
    // Each move is a transaction on the account, with the pot's id.
    let since = (chrono::Utc::now() - chrono::Duration::minutes(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let list: Value = s
        .get(
            &format!("/transactions?account_id=acc_00009demodanacurrent&since={since}"),
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
    let moves: Vec<&Value> = list["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["metadata"]["pot_id"] == "pot_00009demoholiday")
        .collect();
    assert_eq!(moves.len(), 2);
    assert!(moves.iter().all(|t| t["amount"] == -1000));
}

impl Session {
    /// Dana signed in and approved; her access token.
    async fn dana(&self) -> String {
        let code = self.code("Dana").await;
        let tokens: Value = self
            .http
            .post(self.url("/oauth2/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", DEMO_CLIENT_ID),
                ("client_secret", DEMO_CLIENT_SECRET),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:5/cb"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        self.control("approve", json!({"user": "Dana"})).await;
        tokens["access_token"].as_str().unwrap().to_owned()
    }
}

/// The sandbox's clock over HTTP: advancing it past five minutes closes the full
/// history, and past the token's life expires it, with no real waiting.
#[tokio::test]
async fn the_clock_moves_on_demand() {
    let s = Session::start().await;
    let token = s.dana().await;
    let since = "2021-01-01T00:00:00Z";
    let old = format!("/transactions?account_id=acc_00009demodanacurrent&since={since}&limit=100");
    let page: Value = s.get(&old, &token).await.json().await.unwrap();
    let first = &page["transactions"][0];
    assert!(first["id"].as_str().unwrap().starts_with("tx_gen_"), "{first}");
    assert!(first["created"].as_str().unwrap() < "2021-03-01");

    let moved: Value = s
        .control("clock", json!({"advance_secs": 301}))
        .await
        .json()
        .await
        .unwrap();
    let now = chrono::DateTime::parse_from_rfc3339(moved["now"].as_str().unwrap()).unwrap();
    assert!(now > chrono::Utc::now() + chrono::Duration::seconds(300));
    let refused = s.get(&old, &token).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["code"],
        "forbidden.verification_required"
    );
    s.sandbox.advance_clock(std::time::Duration::from_secs(21_600));
    assert!(s.sandbox.now() > chrono::Utc::now() + chrono::Duration::seconds(21_900));
    let expired = s.get("/accounts", &token).await;
    assert_eq!(expired.status(), 401);
}

/// The quota over HTTP: the request over it and every one during the block answer
/// 429 with Monzo's error and `Retry-After`; they count in the statistics; advancing
/// the clock ends the block.
#[tokio::test]
async fn a_quota_blocks_like_the_reported_rate_limit() {
    let s = Session::start().await;
    let token = s.dana().await;
    let set = s
        .control(
            "quota",
            json!({"requests": 30, "window_secs": 300, "block_secs": 600}),
        )
        .await;
    assert_eq!(set.status(), 200);
    s.sandbox.reset_request_counts();
    for _ in 0..30 {
        assert_eq!(s.get("/accounts", &token).await.status(), 200);
    }
    let over = s
        .get("/balance?account_id=acc_00009demodanacurrent", &token)
        .await;
    assert_eq!(over.status(), 429);
    assert_eq!(over.headers()["retry-after"], "600");
    assert_eq!(
        over.json::<Value>().await.unwrap()["code"],
        "rate_limited.too_many_requests"
    );
    s.sandbox.advance_clock(std::time::Duration::from_secs(400));
    let during = s.get("/ping/whoami", &token).await;
    assert_eq!(during.status(), 429);
    assert_eq!(during.headers()["retry-after"], "200");
    assert_eq!(s.sandbox.total_requests(), 32, "429s count like any request");
    s.sandbox.advance_clock(std::time::Duration::from_secs(200));
    assert_eq!(s.get("/accounts", &token).await.status(), 200);

    let cleared = s.http.delete(s.url("/_sandbox/quota")).send().await.unwrap();
    assert_eq!(cleared.status(), 200);
    for _ in 0..40 {
        assert_eq!(s.get("/accounts", &token).await.status(), 200);
    }
}

/// A stored transaction changed over HTTP: a pending one settles for a different
/// amount; an unknown id is a 404.
#[tokio::test]
async fn a_transaction_is_settled_for_another_amount() {
    let s = Session::start().await;
    s.control("approve", json!({"user": "Alex"})).await;
    let token = s.dana().await;
    let since =
        (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let path = format!("/transactions?account_id=acc_00009demojoint&since={since}");
    let sainsburys = |page: Value| {
        page["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == "tx_00009demo007")
            .cloned()
            .unwrap()
    };
    let before = sainsburys(s.get(&path, &token).await.json().await.unwrap());
    assert_eq!(before["settled"], "");
    let changed = s
        .control(
            "transaction/update",
            json!({"id": "tx_00009demo007", "amount": -4650, "pending": false}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let after = sainsburys(s.get(&path, &token).await.json().await.unwrap());
    assert_eq!(after["amount"], -4650);
    assert_ne!(after["settled"], "");
    let unknown = s
        .control("transaction/update", json!({"id": "tx_nope", "pending": false}))
        .await;
    assert_eq!(unknown.status(), 404);
}

/// Generated transfers between own accounts name the other account and its owner in
/// Monzo's `counterparty` object.
#[tokio::test]
async fn own_account_transfers_carry_the_counterparty() {
    let s = Session::start().await;
    let token = s.dana().await;
    let mut since = "2021-01-01T00:00:00Z".to_owned();
    let transfer = loop {
        let page: Value = s
            .get(
                &format!("/transactions?account_id=acc_00009demojoint&since={since}&limit=100"),
                &token,
            )
            .await
            .json()
            .await
            .unwrap();
        let list = page["transactions"].as_array().unwrap();
        if let Some(t) = list.iter().find(|t| t["counterparty"]["account_id"].is_string()) {
            break t.clone();
        }
        since = list.last().unwrap()["id"].as_str().unwrap().to_owned();
    };
    let other = transfer["counterparty"]["account_id"].as_str().unwrap();
    assert!(other.starts_with("acc_00009demo"), "{transfer}");
    assert!(transfer["counterparty"]["user_id"]
        .as_str()
        .unwrap()
        .starts_with("user_00009demo"));
    assert_eq!(transfer["category"], "transfers");
}
