//! Money: an exact decimal amount in a currency, never a float.
//!
//! Monzo sends integers in minor units; the exponent comes from ISO 4217 (GBP 2,
//! JPY 0, BHD 3), so "1234.56" is never assumed. This is the one place that turns
//! amounts into text, for JSON, Home Assistant and the tray alike.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

/// An ISO 4217 currency: its code and how many decimal places it has.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Currency {
    code: String,
    exponent: u32,
}

impl Currency {
    /// Looks the code up in ISO 4217. An unknown code (Monzo may add currencies
    /// before this table knows them) is kept with 2 decimals, the commonest exponent,
    /// and shown by its code rather than a symbol.
    pub fn from_code(code: &str) -> Self {
        // An unknown code is shown as it came (see `text`).
        let code = crate::text::line(code.trim()).to_ascii_uppercase();
        match iso_currency::Currency::from_code(&code) {
            Some(iso) => {
                // Currencies without minor units (gold, SDRs) have no exponent; they
                // have no business in a bank balance, but 0 is the honest reading.
                let exponent = u32::from(iso.exponent().unwrap_or(0));
                Self { code, exponent }
            }
            None => {
                tracing::warn!(currency = %code, "unknown ISO 4217 currency; assuming 2 decimal places");
                Self { code, exponent: 2 }
            }
        }
    }

    pub(crate) fn code(&self) -> &str {
        &self.code
    }

    pub fn exponent(&self) -> u32 {
        self.exponent
    }

    /// A symbol only where it is unambiguous to a UK reader; otherwise the code is
    /// shown ("CHF 10.00"), since many currencies share `$` or use several letters.
    fn display_symbol(&self) -> Option<&'static str> {
        match self.code.as_str() {
            "GBP" => Some("£"),
            "EUR" => Some("€"),
            "USD" => Some("$"),
            "JPY" => Some("¥"),
            _ => None,
        }
    }
}

/// An amount of money in a currency, exact, with the currency's number of decimals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// From Monzo's integer minor units: 123456 GBP → 1234.56.
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        let amount = Decimal::new(minor, currency.exponent);
        Self { amount, currency }
    }

    /// Parses an amount as people type it, in major units: "1234.56", "-12.3",
    /// "£50", "GBP 50", normalised to the currency's exponent.
    ///
    /// Errors ([`crate::Error::InvalidField`] for the field `amount`): not a number,
    /// or more decimals than the currency has (ISO 4217: GBP 2, JPY 0).
    pub(crate) fn parse(text: &str, currency: Currency) -> Result<Self, crate::Error> {
        let invalid = |message: String| crate::Error::InvalidField {
            field: "amount",
            message,
        };
        let trimmed = text.trim();
        let (sign, rest) = match trimmed.strip_prefix('-') {
            Some(rest) => ("-", rest.trim_start()),
            None => ("", trimmed),
        };
        let rest = currency
            .display_symbol()
            .and_then(|symbol| rest.strip_prefix(symbol))
            .or_else(|| {
                rest.get(..currency.code.len())
                    .filter(|head| head.eq_ignore_ascii_case(&currency.code))
                    .map(|_| &rest[currency.code.len()..])
            })
            .unwrap_or(rest)
            .trim();
        // Digits with at most one decimal point, as people write money: rust_decimal
        // would also read `1e3` and `1_000`, where one slip of a key is £1,000.
        let plain = {
            let mut parts = rest.splitn(2, '.');
            let whole = parts.next().unwrap_or_default();
            let fraction = parts.next();
            let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
            digits(whole)
                && fraction.is_none_or(digits)
                && !(whole.is_empty() && fraction.is_none_or(str::is_empty))
        };
        let not_money = || {
            invalid(format!(
                "\"{}\" is not an amount of money, e.g. 50.00",
                text.trim()
            ))
        };
        if !plain {
            return Err(not_money());
        }
        let amount: Decimal = format!("{sign}{rest}").parse().map_err(|_| not_money())?;
        if amount.scale() > currency.exponent {
            return Err(invalid(format!(
                "{} has {} decimal places; \"{}\" has more",
                currency.code,
                currency.exponent,
                text.trim()
            )));
        }
        let mut amount = amount;
        amount.rescale(currency.exponent);
        Ok(Self { amount, currency })
    }

    /// The amount in minor units (what Monzo's API takes), if it fits.
    pub(crate) fn to_minor(&self) -> Option<i64> {
        let mut minor = self.amount;
        minor.rescale(self.currency.exponent);
        i64::try_from(minor.mantissa()).ok()
    }

    pub(crate) fn zero(currency: Currency) -> Self {
        Self::from_minor(0, currency)
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub(crate) fn currency(&self) -> &Currency {
        &self.currency
    }

    /// The amount without its sign ("12.30" for -12.30), in the same currency.
    pub(crate) fn abs(&self) -> Money {
        Money {
            amount: self.amount.abs(),
            currency: self.currency.clone(),
        }
    }

    pub(crate) fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    /// The sum of two amounts in the same currency; `None` across currencies.
    pub(crate) fn checked_add(&self, other: &Money) -> Option<Money> {
        (self.currency == other.currency).then(|| {
            let mut amount = self.amount + other.amount;
            amount.rescale(self.currency.exponent);
            Money {
                amount,
                currency: self.currency.clone(),
            }
        })
    }

    /// The plain decimal string in major units with exactly the currency's decimals:
    /// "1234.56", "-12.30", "0.00". Used in JSON and Home Assistant states.
    pub fn to_decimal_string(&self) -> String {
        let mut amount = self.amount;
        amount.rescale(self.currency.exponent);
        if amount.is_zero() {
            amount.set_sign_positive(true);
        }
        amount.to_string()
    }

    /// For people: `£1,234.56`, `-£12.30`, `€12,500.75`, or `CHF 10.00` where the
    /// currency has no common one-character symbol.
    pub fn display(&self) -> String {
        let plain = self.to_decimal_string();
        let (sign, digits) = match plain.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", plain.as_str()),
        };
        let (whole, fraction) = match digits.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (digits, None),
        };
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, ch) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        let number = match fraction {
            Some(f) => format!("{grouped}.{f}"),
            None => grouped,
        };
        match self.currency.display_symbol() {
            Some(symbol) => format!("{sign}{symbol}{number}"),
            None => format!("{sign}{} {number}", self.currency.code),
        }
    }

    /// With its sign in front, as a movement of money: `-£12.30`, `+£2,500.00`,
    /// `£0.00`. The minus is the same ASCII `-` as [`Self::display`]'s everywhere
    /// (the terminal, the tray, notifications): one sign for one meaning, and what
    /// is copied from the terminal is read back by [`Self::parse`], a shell and a
    /// spreadsheet alike.
    pub(crate) fn display_signed(&self) -> String {
        if self.amount.is_zero() || self.is_negative() {
            self.display()
        } else {
            format!("+{}", self.display())
        }
    }

    /// What privacy mode shows instead of the amount: `£•••`.
    pub(crate) fn hidden(&self) -> String {
        match self.currency.display_symbol() {
            Some(symbol) => format!("{symbol}•••"),
            None => format!("{} •••", self.currency.code),
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// Serialised as the plain decimal string ("1234.56"), as the JSON contracts fix.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_decimal_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbp(minor: i64) -> Money {
        Money::from_minor(minor, Currency::from_code("GBP"))
    }

    #[test]
    fn minor_units_follow_the_iso_exponent() {
        assert_eq!(gbp(123456).to_decimal_string(), "1234.56");
        assert_eq!(gbp(-1230).to_decimal_string(), "-12.30");
        assert_eq!(gbp(0).to_decimal_string(), "0.00");
        assert_eq!(gbp(5).to_decimal_string(), "0.05");
        assert_eq!(
            Money::from_minor(1234, Currency::from_code("JPY")).to_decimal_string(),
            "1234"
        );
        assert_eq!(
            Money::from_minor(1234, Currency::from_code("BHD")).to_decimal_string(),
            "1.234"
        );
        assert_eq!(
            Money::from_minor(1250075, Currency::from_code("EUR")).to_decimal_string(),
            "12500.75"
        );
        assert_eq!(
            Money::from_minor(-99, Currency::from_code("usd")).to_decimal_string(),
            "-0.99"
        );
    }

    #[test]
    fn display_groups_thousands_and_puts_minus_first() {
        assert_eq!(gbp(123456).display(), "£1,234.56");
        assert_eq!(gbp(-1230).display(), "-£12.30");
        assert_eq!(gbp(100000000).display(), "£1,000,000.00");
        assert_eq!(gbp(99999).display(), "£999.99");
        assert_eq!(
            Money::from_minor(1250075, Currency::from_code("EUR")).display(),
            "€12,500.75"
        );
        assert_eq!(
            Money::from_minor(-5, Currency::from_code("USD")).display(),
            "-$0.05"
        );
        assert_eq!(
            Money::from_minor(1000, Currency::from_code("CHF")).display(),
            "CHF 10.00"
        );
        assert_eq!(
            Money::from_minor(123456, Currency::from_code("JPY")).display(),
            "¥123,456"
        );
        assert_eq!(gbp(-1230).hidden(), "£•••");
    }

    #[test]
    fn parse_round_trips_and_rejects_extra_decimals() {
        let gbp_c = Currency::from_code("GBP");
        assert_eq!(Money::parse("1234.5", gbp_c.clone()).unwrap(), gbp(123450));
        assert_eq!(Money::parse("-12.30", gbp_c.clone()).unwrap(), gbp(-1230));
        assert_eq!(
            Money::parse("7", gbp_c.clone()).unwrap().to_decimal_string(),
            "7.00"
        );
        assert!(Money::parse("1.234", gbp_c.clone()).is_err());
        assert!(Money::parse("twelve", gbp_c.clone()).is_err());
        assert!(Money::parse("1,000", gbp_c.clone()).is_err());
        // What a decimal parser reads but nobody writes for money: one slip of a
        // key would be £1,000.
        for odd in [
            "1e3", "1E2", "1.5e1", "1e-2", "1_000", "5_", "1.2.3", ".", "+5", "0x10", "5 0",
        ] {
            assert!(Money::parse(odd, gbp_c.clone()).is_err(), "{odd}");
        }
        assert_eq!(Money::parse(".5", gbp_c.clone()).unwrap(), gbp(50));
        assert!(Money::parse("", gbp_c.clone()).is_err());
        for (typed, minor) in [
            ("£50", 5000),
            (" gbp 12.5 ", 1250),
            ("-£12.30", -1230),
            ("- 3", -300),
        ] {
            assert_eq!(Money::parse(typed, gbp_c.clone()).unwrap(), gbp(minor), "{typed}");
        }
        assert_eq!(gbp(-1230).to_minor(), Some(-1230));
        let jpy = Currency::from_code("JPY");
        assert_eq!(Money::parse("¥1200", jpy.clone()).unwrap().to_minor(), Some(1200));
        assert!(Money::parse("12.5", jpy).is_err());
    }

    #[test]
    fn negative_zero_prints_as_zero() {
        let a = gbp(-100);
        let b = gbp(100);
        assert_eq!(a.checked_add(&b).unwrap().to_decimal_string(), "0.00");
        assert!(!a.checked_add(&b).unwrap().is_negative());
    }

    #[test]
    fn signed_display_shows_the_direction() {
        assert_eq!(gbp(-1230).display_signed(), "-£12.30");
        assert_eq!(
            gbp(-1230).display_signed(),
            gbp(-1230).display(),
            "one minus sign"
        );
        assert_eq!(gbp(250000).display_signed(), "+£2,500.00");
        assert_eq!(gbp(0).display_signed(), "£0.00");
    }

    #[test]
    fn abs_drops_the_sign_and_keeps_the_exponent() {
        assert_eq!(gbp(-1230).abs().to_decimal_string(), "12.30");
        assert_eq!(gbp(1230).abs().to_decimal_string(), "12.30");
        assert_eq!(gbp(0).abs().to_decimal_string(), "0.00");
    }

    #[test]
    fn adding_across_currencies_is_refused() {
        let eur = Money::from_minor(1, Currency::from_code("EUR"));
        assert!(gbp(1).checked_add(&eur).is_none());
    }

    #[test]
    fn unknown_currency_keeps_its_code() {
        let m = Money::from_minor(150, Currency::from_code("XYZ"));
        assert_eq!(m.display(), "XYZ 1.50");
    }

    #[test]
    fn serialises_as_a_decimal_string() {
        assert_eq!(serde_json::to_string(&gbp(-1230)).unwrap(), "\"-12.30\"");
    }
}
