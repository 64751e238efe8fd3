//! Monzo's account types (`type` in `GET /accounts`) in words people use, and which
//! ones are not shown. Monzo adds types over the years, so an unknown one gets a
//! readable name made from the type itself, never the wire id.

/// The name an account of `account_type` is shown by: the names Home Assistant's own
/// Monzo integration uses ("Current Account", "Joint Account", "Flex", …; its
/// `sensor.py`), Monzo's product name for the under-16s account, and for a type not
/// known here its words after `uk_`, capitalised ("uk_easy_saver" → "Easy Saver").
pub(crate) fn account_type_name(account_type: &str) -> String {
    let known = match account_type {
        "uk_retail" => "Current Account",
        "uk_retail_joint" => "Joint Account",
        // Monzo's account for 6 to 15 year olds, sold as "Monzo Under 16s".
        "uk_retail_young" => "Under 16s Account",
        "uk_monzo_flex" => "Flex",
        "uk_business" => "Business Account",
        "uk_rewards" => "Cashback",
        "uk_loan" => "Loan",
        "uk_prepaid" => "Prepaid Account",
        "uk_monzo_flex_backing_loan" => "Flex Backing Loan",
        other => return readable_fallback(other),
    };
    known.to_owned()
}

fn readable_fallback(account_type: &str) -> String {
    let words: Vec<String> = account_type
        .trim()
        .trim_start_matches("uk_")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect()
            })
        })
        .collect();
    if words.is_empty() {
        "Account".to_owned()
    } else {
        words.join(" ")
    }
}

/// Account types that are not shown: Home Assistant's integration skips them too
/// (a prepaid card of old, and the loan behind Flex, which `uk_monzo_flex` shows).
pub(crate) fn is_hidden_account_type(account_type: &str) -> bool {
    matches!(account_type, "uk_prepaid" | "uk_monzo_flex_backing_loan")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_a_readable_name_and_never_its_wire_id() {
        for (wire, name) in [
            ("uk_retail", "Current Account"),
            ("uk_retail_joint", "Joint Account"),
            ("uk_retail_young", "Under 16s Account"),
            ("uk_monzo_flex", "Flex"),
            ("uk_business", "Business Account"),
            ("uk_rewards", "Cashback"),
            ("uk_loan", "Loan"),
            ("uk_prepaid", "Prepaid Account"),
            ("uk_monzo_flex_backing_loan", "Flex Backing Loan"),
            ("uk_easy_saver", "Easy Saver"),
            ("uk_instant_access_savings", "Instant Access Savings"),
            ("us_checking", "Us Checking"),
            ("UK_NEW-THING", "Uk New Thing"),
            ("", "Account"),
            ("uk_", "Account"),
            ("uk_ümlaut_konto", "Ümlaut Konto"),
        ] {
            let shown = account_type_name(wire);
            assert_eq!(shown, name, "{wire}");
            assert!(!shown.contains('_'), "{shown}");
        }
        assert!(is_hidden_account_type("uk_prepaid"));
        assert!(!is_hidden_account_type("uk_loan"));
    }
}
