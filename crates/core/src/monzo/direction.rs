//! Which way a pot move goes, in Monzo's words and with its request (Monzo's docs,
//! pots: "Deposit into a pot", "Withdraw from a pot").

/// Which way the money goes. Serialised as Monzo's word: `"deposit"`, `"withdraw"`
/// (what the window sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the account into the pot: `PUT /pots/{id}/deposit` with
    /// `source_account_id`.
    Deposit,
    /// Out of the pot into the account: `PUT /pots/{id}/withdraw` with
    /// `destination_account_id`.
    Withdraw,
}

impl Direction {
    /// Monzo's word, which is also the last part of the request's path and the
    /// command line's (`monzo-tray pot deposit`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Direction::Deposit => "deposit",
            Direction::Withdraw => "withdraw",
        }
    }

    /// The form field that names the account: where the money comes from on a
    /// deposit, where it goes on a withdrawal.
    pub(crate) fn account_field(self) -> &'static str {
        match self {
            Direction::Deposit => "source_account_id",
            Direction::Withdraw => "destination_account_id",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monzo_words_on_the_wire_and_in_json() {
        assert_eq!(Direction::Deposit.as_str(), "deposit");
        assert_eq!(Direction::Withdraw.account_field(), "destination_account_id");
        assert_eq!(
            serde_json::to_string(&Direction::Withdraw).unwrap(),
            "\"withdraw\""
        );
        let read: Direction = serde_json::from_str("\"deposit\"").unwrap();
        assert_eq!(read, Direction::Deposit);
    }
}
