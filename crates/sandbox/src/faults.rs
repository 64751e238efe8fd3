//! Faults on demand: the failures a real bank API and the network in front of it
//! produce, injected into chosen requests or into a random share of them.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// What goes wrong with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 429 `rate_limited`, with a `Retry-After` header when the rule gives one.
    RateLimited,
    /// 500 `internal_service.*` JSON.
    ServerError,
    /// 502 with an empty body, as a gateway sends.
    BadGateway,
    /// 504 with an HTML body, as a gateway sends.
    GatewayTimeout,
    /// The reply is delayed by `delay_ms` (default 30 s), then answered normally.
    Slow,
    /// 200 with a truncated JSON body.
    MalformedJson,
    /// 200 with well-formed JSON missing what the reply exists for: `{}` from
    /// `/accounts` and `/pots` (as Home Assistant's integration met in the wild,
    /// `KeyError: 'accounts'`), `/balance` without `balance`.
    MissingList,
    /// 200 with the real reply minus the last entry of its list (`accounts`, `pots`):
    /// well-formed, but partial.
    PartialList,
    /// The connection is dropped without a complete reply.
    DropConnection,
    /// The request is carried out (a pot move made), then the connection is
    /// dropped before the reply: the client cannot tell whether it happened.
    DropReply,
    /// The presented access token expires just before the request is handled.
    ExpireToken,
}

/// A fault for the next `times` matching requests (every one when `times` is absent).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    pub kind: FaultKind,
    #[serde(default)]
    pub times: Option<u32>,
    /// Only requests whose path starts with this. Without it, every data endpoint
    /// (`/ping/whoami`, `/accounts`, `/balance`, `/pots`, `/transactions`); the token
    /// endpoint and the pot moves are only hit when named here.
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

/// A random mix of faults on a share (`rate`, 0..=1) of data requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomFaults {
    pub rate: f64,
    pub kinds: Vec<FaultKind>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    #[serde(default)]
    pub retry_after: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    #[serde(default)]
    pub rules: Vec<FaultRule>,
    #[serde(default)]
    pub random: Option<RandomFaults>,
}

pub(crate) const DATA_PATHS: [&str; 5] = ["/ping/whoami", "/accounts", "/balance", "/pots", "/transactions"];

impl FaultPlan {
    /// `kind` for every request whose path starts with `path`, until cleared.
    pub fn every(kind: FaultKind, path: &str) -> Self {
        Self {
            rules: vec![FaultRule {
                kind,
                times: None,
                path: Some(path.to_owned()),
                retry_after: None,
                delay_ms: None,
            }],
            random: None,
        }
    }

    /// The fault for a request to `path`, if any, using up one of its `times`.
    pub fn next_for(&mut self, path: &str) -> Option<FaultRule> {
        let is_data = DATA_PATHS.contains(&path);
        let index = self.rules.iter().position(|rule| match &rule.path {
            Some(prefix) => path.starts_with(prefix.as_str()),
            None => is_data,
        });
        if let Some(index) = index {
            let rule = self.rules[index].clone();
            if let Some(times) = self.rules[index].times.as_mut() {
                *times = times.saturating_sub(1);
                if *times == 0 {
                    self.rules.remove(index);
                }
            }
            return Some(rule);
        }
        let random = self.random.as_ref().filter(|_| is_data)?;
        let mut rng = rand::rng();
        if random.kinds.is_empty() || !rng.random_bool(random.rate.clamp(0.0, 1.0)) {
            return None;
        }
        let kind = random.kinds[rng.random_range(0..random.kinds.len())];
        Some(FaultRule {
            kind,
            times: Some(1),
            path: None,
            retry_after: random.retry_after,
            delay_ms: random.delay_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_rules_run_out_and_skip_the_token_endpoint() {
        let mut plan = FaultPlan {
            rules: vec![FaultRule {
                kind: FaultKind::ServerError,
                times: Some(2),
                path: None,
                retry_after: None,
                delay_ms: None,
            }],
            random: None,
        };
        assert!(plan.next_for("/oauth2/token").is_none());
        assert!(plan.next_for("/accounts").is_some());
        assert!(plan.next_for("/balance").is_some());
        assert!(plan.next_for("/accounts").is_none());
    }

    #[test]
    fn random_rate_is_roughly_honoured() {
        let mut plan = FaultPlan {
            rules: vec![],
            random: Some(RandomFaults {
                rate: 0.2,
                kinds: vec![FaultKind::ServerError, FaultKind::RateLimited],
                delay_ms: None,
                retry_after: None,
            }),
        };
        let hits = (0..10_000).filter(|_| plan.next_for("/pots").is_some()).count();
        assert!((1_600..2_400).contains(&hits), "{hits} faults in 10000");
    }
}
