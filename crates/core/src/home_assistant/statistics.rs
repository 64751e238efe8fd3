//! Years of balances in Home Assistant's long-term statistics: every account's and
//! pot's daily balance history (see [`crate::history::daily`]) imported as external
//! statistics through the websocket command `recorder/import_statistics`, so a
//! Statistics graph card shows the history from the first day, not only from when
//! Home Assistant first saw the sensor.
//!
//! Home Assistant's rules (its `recorder/websocket_api.py`; `../shared/monzo-api.md`):
//! - An external statistic's id is `<source>:<object id>`; ours are
//!   `monzo_tray:<the entity's object id>` (`monzo_tray:monzo_dana_current_account_balance`),
//!   and `source` is `monzo_tray`.
//! - Each point's `start` is hour-aligned; a day's balance is the hour before the UK
//!   day ends, with `mean`, `min` and `max` all that balance.
//! - The metadata differs by version: up to 2025.10 exactly `has_mean`, `has_sum`,
//!   `name`, `source`, `statistic_id`, `unit_of_measurement` (any other key is
//!   refused); from 2025.11 `mean_type` (1: arithmetic) and `unit_class` (none for
//!   a currency) too, without which it warns that they will be required. The version
//!   comes from `GET /api/config`.
//! - Importing the same hours again replaces them: the daily import is idempotent.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::{SinkExt, StreamExt};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::entities::{EntityKind, Platform};
use super::rest::client::HaClient;
use super::wanted::wanted;
use super::HaFailure;
use crate::history::daily::{DailyBalances, Selection};
use crate::history::{end_of_uk_day, HistoryStore};
use crate::household::Household;
use crate::secrets::SecretKind;
use crate::settings::HaTransport;
use crate::snapshot::Snapshot;

/// The `source` of our external statistics (the part before the colon).
pub const STATISTICS_SOURCE: &str = "monzo_tray";

/// How long one websocket exchange may take, at most.
const WEBSOCKET_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// One statistic to import: its id, name, unit and points (hour start, value in
/// major units).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    pub(crate) statistic_id: String,
    pub(crate) name: String,
    /// ISO 4217 code.
    pub(crate) unit: String,
    pub(crate) points: Vec<(DateTime<Utc>, rust_decimal::Decimal)>,
}

/// A Home Assistant version, as `GET /api/config` gives it ("2026.11.0").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct HaVersion {
    pub(crate) year: u32,
    pub(crate) month: u32,
}

impl HaVersion {
    /// The year and month of a version string; `None` for anything else (a dev build
    /// is read by its leading numbers).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let year = parts.next()?.parse().ok()?;
        let month = parts
            .next()?
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()?;
        Some(Self { year, month })
    }

    /// Whether this version takes `mean_type` and `unit_class` (2025.11 on).
    fn takes_mean_type(self) -> bool {
        self >= Self {
            year: 2025,
            month: 11,
        }
    }
}

/// One point as Home Assistant takes it, the value written as the decimal's own
/// text (Home Assistant reads it as a float; no float is made here).
#[derive(serde::Serialize)]
struct Point {
    start: String,
    state: Box<RawValue>,
    mean: Box<RawValue>,
    min: Box<RawValue>,
    max: Box<RawValue>,
}

#[derive(serde::Serialize)]
struct ImportCommand {
    id: u64,
    #[serde(rename = "type")]
    kind: &'static str,
    metadata: Value,
    stats: Vec<Point>,
}

/// The command importing `series`, as `version` takes it (JSON text).
pub(crate) fn import_command(id: u64, series: &Series, version: HaVersion) -> String {
    let mut metadata = json!({
        "has_sum": false,
        "name": series.name,
        "source": STATISTICS_SOURCE,
        "statistic_id": series.statistic_id,
        "unit_of_measurement": series.unit,
    });
    if version.takes_mean_type() {
        metadata["mean_type"] = json!(1);
        metadata["unit_class"] = Value::Null;
    } else {
        metadata["has_mean"] = json!(true);
    }
    let number = |value: &rust_decimal::Decimal| {
        // A decimal's text is a JSON number; the fallback cannot be reached.
        RawValue::from_string(value.normalize().to_string())
            .unwrap_or_else(|_| RawValue::from_string("0".into()).unwrap_or_default())
    };
    let stats = series
        .points
        .iter()
        .map(|(start, value)| Point {
            start: start.to_rfc3339(),
            state: number(value),
            mean: number(value),
            min: number(value),
            max: number(value),
        })
        .collect();
    let command = ImportCommand {
        id,
        kind: "recorder/import_statistics",
        metadata,
        stats,
    };
    serde_json::to_string(&command).unwrap_or_default()
}

/// The hour a UK day's balance is filed under: the last one of the day.
fn hour_of(day: chrono::NaiveDate) -> DateTime<Utc> {
    end_of_uk_day(day) - Duration::hours(1)
}

/// Every account's balance and every pot's, as statistics of the entities the
/// REST push made for them (`ids` as in settings; new ones chosen as the push
/// would, and added).
pub(crate) fn series_for(
    snapshot: &Snapshot,
    ids: &mut super::entities::EntityIds,
    days: &DailyBalances,
) -> Vec<Series> {
    let mut out = Vec::new();
    for entity in wanted(snapshot, ids, &[Platform::Sensor]) {
        let Some(account) = days.accounts.iter().find(|a| a.account_id == entity.account_id) else {
            continue;
        };
        let object_id = entity
            .entity_id
            .split_once('.')
            .map_or(entity.entity_id.as_str(), |(_, o)| o);
        let points: Vec<(DateTime<Utc>, rust_decimal::Decimal)> = match entity.key.kind {
            EntityKind::Balance => account
                .days
                .iter()
                .map(|d| (hour_of(d.date), d.balance.amount()))
                .collect(),
            EntityKind::TotalBalance => account
                .days
                .iter()
                .map(|d| (hour_of(d.date), d.total.amount()))
                .collect(),
            EntityKind::PotBalance => match account.pots.iter().find(|p| p.pot_id == entity.key.monzo_id) {
                Some(pot) => pot
                    .days
                    .iter()
                    .map(|d| (hour_of(d.date), d.balance.amount()))
                    .collect(),
                None => continue,
            },
            EntityKind::SpendToday | EntityKind::Transaction => continue,
        };
        let unit = match entity.value.as_ref() {
            Some(value) => value.currency().code().to_owned(),
            None => account.currency.clone(),
        };
        out.push(Series {
            statistic_id: format!("{STATISTICS_SOURCE}:{object_id}"),
            name: entity.friendly_name(),
            unit,
            points,
        });
    }
    out
}

/// Imports every live person's daily balance history (accounts and pots) into
/// the Home Assistant the REST push goes to or, with the MQTT transport, the one
/// whose address and long-lived token were also given (MQTT cannot carry
/// statistics). Returns how many statistics were imported; `Ok(0)` when Home
/// Assistant is switched off or, with MQTT, no token was given.
///
/// Errors: Home Assistant unreachable, the token refused, or a command refused
/// (with Home Assistant's message).
pub async fn import_balance_history(
    household: &Household,
    store: &Arc<HistoryStore>,
    snapshot: &Snapshot,
    now: DateTime<Utc>,
) -> Result<usize, HaFailure> {
    let settings = household.settings();
    let ha = &settings.home_assistant;
    let (true, Some(url)) = (ha.enabled, ha.url.as_deref()) else {
        return Ok(0);
    };
    let token = household
        .secrets()
        .get(super::link::SECRET_OWNER, SecretKind::HomeAssistantToken)
        .await
        .map_err(|e| HaFailure::Rejected(e.to_string()))?;
    let token = match (token, ha.transport) {
        (Some(token), _) => token,
        // Over MQTT the token is optional: without it, no statistics.
        (None, HaTransport::Mqtt) => return Ok(0),
        (None, HaTransport::Rest) => {
            return Err(HaFailure::Rejected("no Home Assistant token is stored".into()))
        }
    };
    let client =
        HaClient::new(url, &token, ha.ca_file.as_deref()).map_err(|e| HaFailure::Rejected(e.to_string()))?;
    let version = client.version().await?;
    let keeping: Vec<String> = settings
        .people
        .iter()
        .filter(|p| p.keep_history)
        .map(|p| p.id.clone())
        .collect();
    let days = store
        .daily_balances(
            &Selection {
                people: keeping,
                ..Selection::default()
            },
            now,
        )
        .map_err(|e| HaFailure::Rejected(e.to_string()))?;
    let mut ids = ha.entities.clone();
    let series = series_for(snapshot, &mut ids, &days);
    if ids != ha.entities {
        // The push chooses the same ids the same way; keep them so it finds them.
        let chosen = ids.clone();
        let _ = household.update(|s| {
            for (key, id) in chosen {
                s.home_assistant.entities.entry(key).or_insert(id);
            }
        });
    }
    if series.is_empty() {
        return Ok(0);
    }
    let socket_url = websocket_url(client.base());
    import_over_websocket(&socket_url, &token, &series, version, ha.ca_file.as_deref()).await?;
    Ok(series.len())
}

/// `ws://host/api/websocket` (or `wss://`) for Home Assistant at `base`.
fn websocket_url(base: &url::Url) -> String {
    let scheme = if base.scheme() == "https" { "wss" } else { "ws" };
    let mut url = base.clone();
    let _ = url.set_scheme(scheme);
    // Behind a proxy Home Assistant may live under a path: the websocket is beside
    // its REST API there.
    let path = format!("{}/api/websocket", base.path().trim_end_matches('/'));
    url.set_path(&path);
    url.to_string()
}

fn failure(what: &str, err: impl std::fmt::Display) -> HaFailure {
    HaFailure::Unreachable(format!("{what}: {err}"))
}

async fn import_over_websocket(
    url: &str,
    token: &str,
    series: &[Series],
    version: HaVersion,
    ca_file: Option<&std::path::Path>,
) -> Result<(), HaFailure> {
    let connector = if url.starts_with("wss://") {
        let config = super::mqtt::broker::tls_config(ca_file).map_err(|e| failure("TLS", e))?;
        Some(tokio_tungstenite::Connector::Rustls(Arc::new(config)))
    } else {
        None
    };
    let exchange = async {
        let (mut socket, _) = tokio_tungstenite::connect_async_tls_with_config(url, None, false, connector)
            .await
            .map_err(|e| failure("the websocket", e))?;
        let hello = read_text(&mut socket).await?;
        if hello["type"] != "auth_required" {
            return Err(HaFailure::Rejected(
                "the websocket did not ask for the token".into(),
            ));
        }
        socket
            .send(Message::text(
                json!({"type": "auth", "access_token": token}).to_string(),
            ))
            .await
            .map_err(|e| failure("the websocket", e))?;
        let reply = read_text(&mut socket).await?;
        if reply["type"] != "auth_ok" {
            return Err(HaFailure::Rejected(
                "Home Assistant refused the token on its websocket".into(),
            ));
        }
        for (n, one) in series.iter().enumerate() {
            let id = n as u64 + 1;
            socket
                .send(Message::text(import_command(id, one, version)))
                .await
                .map_err(|e| failure("the websocket", e))?;
            let reply = read_text(&mut socket).await?;
            if reply["success"] != true {
                let message = reply["error"]["message"]
                    .as_str()
                    .unwrap_or("no reason given")
                    .to_owned();
                return Err(HaFailure::Rejected(format!(
                    "Home Assistant refused the statistics of {}: {}",
                    one.statistic_id,
                    crate::text::line(&message)
                )));
            }
        }
        let _ = socket.close(None).await;
        Ok(())
    };
    tokio::time::timeout(WEBSOCKET_TIMEOUT, exchange)
        .await
        .map_err(|_| failure("the websocket", "no answer in time"))?
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn read_text(socket: &mut Socket) -> Result<Value, HaFailure> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str::<Value>(&text).map_err(|e| failure("a websocket reply", e))
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(failure("the websocket", e)),
            None => return Err(failure("the websocket", "closed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Series {
        Series {
            statistic_id: "monzo_tray:monzo_dana_current_account_balance".into(),
            name: "Dana Current Account Balance".into(),
            unit: "GBP".into(),
            points: vec![(
                hour_of(chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()),
                rust_decimal::Decimal::new(123_456, 2),
            )],
        }
    }

    #[test]
    fn the_metadata_is_what_each_version_takes() {
        let parse = |text: String| serde_json::from_str::<Value>(&text).unwrap();
        let old = parse(import_command(
            1,
            &series(),
            HaVersion::parse("2024.3.3").unwrap(),
        ));
        let keys: Vec<&str> = old["metadata"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "has_mean",
                "has_sum",
                "name",
                "source",
                "statistic_id",
                "unit_of_measurement"
            ]
        );
        let new = parse(import_command(
            1,
            &series(),
            HaVersion::parse("2026.11.0").unwrap(),
        ));
        assert_eq!(new["metadata"]["mean_type"], 1);
        assert!(new["metadata"]["unit_class"].is_null() && new["metadata"].get("unit_class").is_some());
        assert!(new["metadata"].get("has_mean").is_none());
        assert_eq!(
            HaVersion::parse("2025.11.0b3").unwrap(),
            HaVersion {
                year: 2025,
                month: 11
            }
        );
        assert!(HaVersion::parse("dev").is_none());
    }

    #[test]
    fn a_day_is_filed_under_its_last_hour_in_uk_time() {
        let text = import_command(1, &series(), HaVersion { year: 2024, month: 3 });
        // The amount goes as the decimal's own text.
        assert!(text.contains(r#""mean":1234.56"#), "{text}");
        let command: Value = serde_json::from_str(&text).unwrap();
        // 1 July is summer time: the day ends at 23:00 UTC.
        assert_eq!(command["stats"][0]["start"], "2026-07-01T22:00:00+00:00");
    }
}
