//! The window's History view through the façade: balances over time and spending
//! per month, already aggregated (a point a day, a bar a month: the webview never
//! gets raw transactions by the thousand), with every amount and date written here,
//! as everywhere else, and privacy mode applied. The charts draw `values` (decimal
//! strings in major units); what a person reads is `texts`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Months, NaiveDate, NaiveTime};
use serde::Serialize;

use super::history::HistoryQuery;
use super::AppService;
use crate::error::{Error, Result};
use crate::history::daily::{DailyBalances, REBUILT_POTS_NOTE};
use crate::history::spending::{month_bounds, parse_month};
use crate::history::uk_day;
use crate::menu::shown;
use crate::money::{Currency, Money};

/// What `history` and the window say when nothing is kept yet.
pub(crate) const NO_HISTORY_YET: &str =
    "No history yet: it is kept from the first poll of a signed-in person (`monzo-tray headless` or the tray app).";

/// How far back the balances chart goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryRange {
    Month,
    ThreeMonths,
    Year,
    All,
}

impl HistoryRange {
    /// `1m`, `3m`, `1y` or `all`, as the window sends them.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "1m" => Ok(Self::Month),
            "3m" => Ok(Self::ThreeMonths),
            "1y" => Ok(Self::Year),
            "all" => Ok(Self::All),
            other => Err(Error::InvalidInput(format!(
                "A range is 1m, 3m, 1y or all; \"{other}\" is not one."
            ))),
        }
    }

    /// The first day shown when today is `today`; `None`: from the first day.
    fn first_day(self, today: NaiveDate) -> Option<NaiveDate> {
        let months = match self {
            Self::Month => 1,
            Self::ThreeMonths => 3,
            Self::Year => 12,
            Self::All => return None,
        };
        today.checked_sub_months(Months::new(months))
    }
}

/// One line of a balances chart: `values[i]` (decimal string, major units) and
/// `texts[i]` (as a person reads it: "£1,234.56", "£•••") for the chart's day `i`;
/// `None` where the line has no value that day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChartSeries {
    pub label: String,
    /// `account`, `pot`, `pot_rebuilt` (a pot's days rebuilt from transfers:
    /// drawn differently) or `household` (everyone's total with pots).
    pub kind: &'static str,
    pub values: Vec<Option<String>>,
    pub texts: Vec<Option<String>>,
}

/// The balances of one currency over days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalanceChart {
    /// ISO 4217 code.
    pub currency: String,
    /// Each day's noon (UTC), in Unix seconds, ascending: the x axis.
    pub x: Vec<i64>,
    /// Each day as text ("1 Nov 2026").
    pub dates: Vec<String>,
    pub series: Vec<ChartSeries>,
    /// A sentence per line for screen readers: "Dana's Current Account: £1,234.56
    /// today, £980.10 a month ago".
    pub summaries: Vec<String>,
}

/// The History view's balances and what is said about them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryView {
    pub privacy: bool,
    /// The people who keep history, for the person picker.
    pub people: Vec<String>,
    /// Per person how far history goes, an import's progress, or the
    /// "Reconnect … to import it" sentence (as `history` prints).
    pub import: Vec<String>,
    /// Said under the charts (the rebuilt pots' caveat).
    pub notes: Vec<String>,
    /// Said instead of charts when there is no history.
    pub empty: Option<String>,
    /// One per currency.
    pub charts: Vec<BalanceChart>,
}

/// One category's bars: `values[i]` and `texts[i]` for the chart's month `i`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryBars {
    /// Monzo's category (`eating_out`).
    pub category: String,
    /// "Eating out".
    pub label: String,
    pub values: Vec<String>,
    pub texts: Vec<String>,
}

/// Spending of one currency per month, per category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpendingChart {
    pub currency: String,
    /// `YYYY-MM`, oldest first.
    pub months: Vec<String>,
    /// "Nov 2026".
    pub month_labels: Vec<String>,
    pub categories: Vec<CategoryBars>,
    /// Each month's whole spending, as text.
    pub totals: Vec<String>,
    /// "Spent £1,234.00 in November 2026 and £1,100.00 in October 2026".
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpendingView {
    pub privacy: bool,
    pub charts: Vec<SpendingChart>,
}

/// A merchant's share of a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MerchantSpend {
    pub name: String,
    pub text: String,
}

/// One transaction of a month's spending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpentLine {
    /// "3 Nov".
    pub date: String,
    pub description: String,
    pub category: String,
    /// "-£12.30" (a refund "+£5.00").
    pub text: String,
}

/// What selecting a month shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthDetail {
    /// "November 2026".
    pub month_label: String,
    /// Biggest first, at most [`MERCHANTS_SHOWN`].
    pub merchants: Vec<MerchantSpend>,
    /// Newest first, at most [`TRANSACTIONS_SHOWN`].
    pub transactions: Vec<SpentLine>,
}

/// How many merchants a month lists.
pub const MERCHANTS_SHOWN: usize = 10;
/// How many transactions a month lists (the CSV export has them all).
pub const TRANSACTIONS_SHOWN: usize = 200;

/// "eating_out" → "Eating out".
pub fn category_label(category: &str) -> String {
    let words = category.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Other".to_owned(),
    }
}

/// The chart's x for `day`: its noon, UTC, in Unix seconds.
fn day_x(day: NaiveDate) -> i64 {
    day.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default())
        .and_utc()
        .timestamp()
}

/// A line before it is put on the chart's days.
struct Line {
    label: String,
    /// For its sentence: "Dana's Current Account".
    spoken: String,
    kind: &'static str,
    points: BTreeMap<NaiveDate, Money>,
    /// Whether its sentence is among the chart's summaries.
    summarised: bool,
}

fn chart(currency: &str, lines: Vec<Line>, privacy: bool) -> BalanceChart {
    let days: BTreeSet<NaiveDate> = lines.iter().flat_map(|l| l.points.keys().copied()).collect();
    let days: Vec<NaiveDate> = days.into_iter().collect();
    let mut summaries = Vec::new();
    let series = lines
        .iter()
        .map(|line| {
            if line.summarised {
                if let Some(sentence) = summary(line, privacy) {
                    summaries.push(sentence);
                }
            }
            ChartSeries {
                label: line.label.clone(),
                kind: line.kind,
                values: days
                    .iter()
                    .map(|d| line.points.get(d).map(Money::to_decimal_string))
                    .collect(),
                texts: days
                    .iter()
                    .map(|d| line.points.get(d).map(|m| shown(m, privacy)))
                    .collect(),
            }
        })
        .collect();
    BalanceChart {
        currency: currency.to_owned(),
        x: days.iter().copied().map(day_x).collect(),
        dates: days.iter().map(|d| d.format("%-d %b %Y").to_string()).collect(),
        series,
        summaries,
    }
}

/// "Dana's Current Account: £1,234.56 today, £980.10 a month ago" (the last day
/// shown is today's).
fn summary(line: &Line, privacy: bool) -> Option<String> {
    let (last_day, last) = line.points.iter().next_back()?;
    let mut sentence = format!("{}: {} today", line.spoken, shown(last, privacy));
    let month_ago = last_day.checked_sub_months(Months::new(1));
    if let Some(before) = month_ago.and_then(|d| line.points.range(..=d).next_back()) {
        sentence.push_str(&format!(", {} a month ago", shown(before.1, privacy)));
    }
    Some(sentence)
}

/// The lines of one person's accounts and pots (a pot's rebuilt days apart from
/// its observed ones, sharing the day where they meet so the line is unbroken).
fn person_lines(balances: &DailyBalances, person: &str) -> BTreeMap<String, Vec<Line>> {
    let mut by_currency: BTreeMap<String, Vec<Line>> = BTreeMap::new();
    for account in &balances.accounts {
        let lines = by_currency.entry(account.currency.clone()).or_default();
        lines.push(Line {
            label: account.name.clone(),
            spoken: format!("{person}'s {}", account.name),
            kind: "account",
            summarised: true,
            points: account.days.iter().map(|d| (d.date, d.balance.clone())).collect(),
        });
        for pot in &account.pots {
            let observed: BTreeMap<NaiveDate, Money> = pot
                .days
                .iter()
                .filter(|d| !d.rebuilt)
                .map(|d| (d.date, d.balance.clone()))
                .collect();
            let mut rebuilt: BTreeMap<NaiveDate, Money> = pot
                .days
                .iter()
                .filter(|d| d.rebuilt)
                .map(|d| (d.date, d.balance.clone()))
                .collect();
            if !rebuilt.is_empty() {
                if let Some((day, value)) = observed.iter().next() {
                    rebuilt.insert(*day, value.clone());
                }
            }
            // Only rebuilt days (never polled yet): the dashed line alone, which
            // then carries the pot's sentence.
            let only_rebuilt = observed.is_empty();
            if !only_rebuilt {
                lines.push(Line {
                    label: pot.name.clone(),
                    spoken: format!("{person}'s {} pot", pot.name),
                    kind: "pot",
                    points: observed,
                    summarised: true,
                });
            }
            if !rebuilt.is_empty() {
                lines.push(Line {
                    label: format!("{} (rebuilt)", pot.name),
                    spoken: format!("{person}'s {} pot, rebuilt", pot.name),
                    kind: "pot_rebuilt",
                    points: rebuilt,
                    summarised: only_rebuilt,
                });
            }
        }
    }
    by_currency
}

impl AppService {
    /// The History view's balances: with `person`, a line per account and pot of
    /// theirs; without, the household's total with pots; one chart per currency,
    /// over `range`. Errors: an unknown person, or history not kept in this run.
    pub fn history_view(&self, person: Option<&str>, range: HistoryRange) -> Result<HistoryView> {
        let settings = self.household().settings();
        let privacy = settings.privacy_mode;
        let today = uk_day(self.household().clock().now());
        let person = person.map(|name| self.household().person(name)).transpose()?;
        let balances = self.daily_balances(&HistoryQuery {
            person: person.as_ref().map(|p| p.name.clone()),
            from: range.first_day(today).map(|d| d.to_string()),
            ..HistoryQuery::default()
        })?;
        let charts: Vec<BalanceChart> = match &person {
            Some(person) => person_lines(&balances, &person.name)
                .into_iter()
                .map(|(currency, lines)| chart(&currency, lines, privacy))
                .collect(),
            None => balances
                .household
                .iter()
                .map(|(currency, days)| {
                    let line = Line {
                        label: format!("Everyone, with pots ({currency})"),
                        spoken: "Everyone's money, with pots".to_owned(),
                        kind: "household",
                        summarised: true,
                        points: days.iter().map(|d| (d.date, d.total.clone())).collect(),
                    };
                    chart(currency, vec![line], privacy)
                })
                .collect(),
        };
        // The currency most of the household's accounts hold first (then by code).
        let mut charts = charts;
        let accounts_in = |code: &str| balances.accounts.iter().filter(|a| a.currency == code).count();
        charts.sort_by_key(|c| (std::cmp::Reverse(accounts_in(&c.currency)), c.currency.clone()));
        let rebuilt = charts
            .iter()
            .any(|c| c.series.iter().any(|s| s.kind == "pot_rebuilt"));
        Ok(HistoryView {
            privacy,
            people: settings
                .people
                .iter()
                .filter(|p| p.keep_history)
                .map(|p| p.name.clone())
                .collect(),
            import: self.history_notes(),
            notes: if rebuilt {
                vec![REBUILT_POTS_NOTE.to_owned()]
            } else {
                Vec::new()
            },
            empty: balances.accounts.is_empty().then(|| NO_HISTORY_YET.to_owned()),
            charts,
        })
    }

    /// The spending chart: the last `months` UK months (this one last), per
    /// category and currency, for `person` (their own accounts; a joint account's
    /// spending is the joint account's, as in `spending`) or everyone. Errors: an
    /// unknown person, history not kept.
    pub fn spending_view(&self, person: Option<&str>, months: u32) -> Result<SpendingView> {
        let privacy = self.privacy_mode();
        let spender = person
            .map(|name| self.household().person(name))
            .transpose()?
            .map(|p| p.name);
        let today = uk_day(self.household().clock().now());
        let this_month = today.with_day(1).unwrap_or(today);
        let months = months.clamp(1, 120);
        let firsts: Vec<NaiveDate> = (0..months)
            .rev()
            .filter_map(|back| this_month.checked_sub_months(Months::new(back)))
            .collect();
        // Per currency, per category, per month index: minor units.
        let mut totals: BTreeMap<String, BTreeMap<String, Vec<i64>>> = BTreeMap::new();
        for (i, first) in firsts.iter().enumerate() {
            let month = self.spending(Some(&first.format("%Y-%m").to_string()))?;
            let categories = match &spender {
                Some(name) => month
                    .spenders
                    .into_iter()
                    .find(|s| s.name == *name)
                    .map(|s| s.categories)
                    .unwrap_or_default(),
                None => month.categories,
            };
            for spent in categories {
                let Some(minor) = spent.amount.to_minor() else {
                    continue;
                };
                totals
                    .entry(spent.currency)
                    .or_default()
                    .entry(spent.category)
                    .or_insert_with(|| vec![0; firsts.len()])[i] += minor;
            }
        }
        let mut charts: Vec<SpendingChart> = totals
            .into_iter()
            .map(|(code, categories)| spending_chart(&code, &firsts, categories, privacy))
            .collect();
        // As the balances: the currency most of the household's accounts hold first.
        let snapshot = self.engine.snapshot();
        let accounts: BTreeSet<(&str, &str)> = snapshot
            .people
            .iter()
            .flat_map(|p| p.accounts.iter().map(|a| (a.id.as_str(), a.currency.as_str())))
            .collect();
        let accounts_in = |code: &str| accounts.iter().filter(|(_, c)| *c == code).count();
        charts.sort_by_key(|c| (std::cmp::Reverse(accounts_in(&c.currency)), c.currency.clone()));
        Ok(SpendingView { privacy, charts })
    }

    /// A month's biggest merchants and its spending, newest first, for `person` or
    /// everyone. `month` is `YYYY-MM`. Errors: a month that is not one, an unknown
    /// person, history not kept.
    pub fn spending_month(&self, person: Option<&str>, month: &str) -> Result<MonthDetail> {
        let privacy = self.privacy_mode();
        let first = parse_month(month)?;
        let spender = person
            .map(|name| self.household().person(name))
            .transpose()?
            .map(|p| p.name);
        let (start, end) = month_bounds(first);
        let store = self
            .engine
            .history()
            .ok_or_else(|| Error::InvalidInput("History is not kept in this run.".into()))?;
        let mut spent = store.spent_between(start, end)?;
        spent.retain(|s| spender.as_ref().is_none_or(|name| s.spender == *name));
        let mut by_merchant: BTreeMap<(String, String), i64> = BTreeMap::new();
        for s in &spent {
            let name = s.merchant.clone().unwrap_or_else(|| s.description.clone());
            *by_merchant.entry((name, s.currency.clone())).or_default() += s.spent;
        }
        let mut merchants: Vec<((String, String), i64)> = by_merchant.into_iter().collect();
        merchants.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(MonthDetail {
            month_label: first.format("%B %Y").to_string(),
            merchants: merchants
                .into_iter()
                .take(MERCHANTS_SHOWN)
                .map(|((name, code), minor)| MerchantSpend {
                    name,
                    text: shown(&Money::from_minor(minor, Currency::from_code(&code)), privacy),
                })
                .collect(),
            transactions: spent
                .iter()
                .rev()
                .take(TRANSACTIONS_SHOWN)
                .map(|s| {
                    let money = Money::from_minor(-s.spent, Currency::from_code(&s.currency));
                    SpentLine {
                        date: uk_day(s.created).format("%-d %b").to_string(),
                        description: s.merchant.clone().unwrap_or_else(|| s.description.clone()),
                        category: category_label(&s.category),
                        text: if privacy {
                            money.hidden()
                        } else {
                            money.display_signed()
                        },
                    }
                })
                .collect(),
        })
    }
}

fn spending_chart(
    code: &str,
    firsts: &[NaiveDate],
    categories: BTreeMap<String, Vec<i64>>,
    privacy: bool,
) -> SpendingChart {
    let currency = Currency::from_code(code);
    let money = |minor: i64| Money::from_minor(minor, currency.clone());
    let month_totals: Vec<i64> = (0..firsts.len())
        .map(|i| categories.values().map(|v| v[i]).sum())
        .collect();
    // The biggest categories over the months first: they sit at the bottom.
    let mut ordered: Vec<(String, Vec<i64>)> = categories.into_iter().collect();
    ordered.sort_by_key(|(category, v)| (std::cmp::Reverse(v.iter().sum::<i64>()), category.clone()));
    let said: Vec<String> = firsts
        .iter()
        .zip(&month_totals)
        .rev()
        .take(2)
        .map(|(first, minor)| format!("{} in {}", shown(&money(*minor), privacy), first.format("%B %Y")))
        .collect();
    SpendingChart {
        currency: code.to_owned(),
        months: firsts.iter().map(|d| d.format("%Y-%m").to_string()).collect(),
        month_labels: firsts.iter().map(|d| d.format("%b %Y").to_string()).collect(),
        categories: ordered
            .into_iter()
            .map(|(category, values)| CategoryBars {
                label: category_label(&category),
                values: values.iter().map(|m| money(*m).to_decimal_string()).collect(),
                texts: values.iter().map(|m| shown(&money(*m), privacy)).collect(),
                category,
            })
            .collect(),
        totals: month_totals.iter().map(|m| shown(&money(*m), privacy)).collect(),
        summary: format!("Spent {}", said.join(" and ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_category_labels() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        assert_eq!(
            HistoryRange::parse("1m").unwrap().first_day(today),
            NaiveDate::from_ymd_opt(2026, 2, 28)
        );
        assert_eq!(
            HistoryRange::parse("1y").unwrap().first_day(today),
            NaiveDate::from_ymd_opt(2025, 3, 31)
        );
        assert_eq!(HistoryRange::parse("all").unwrap().first_day(today), None);
        assert!(HistoryRange::parse("2w").is_err());
        assert_eq!(category_label("eating_out"), "Eating out");
        assert_eq!(category_label(""), "Other");
    }

    #[test]
    fn a_line_says_today_and_a_month_ago_and_privacy_hides_both() {
        let gbp = Currency::from_code("GBP");
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let line = Line {
            label: "Current Account".into(),
            spoken: "Dana's Current Account".into(),
            kind: "account",
            summarised: true,
            points: [
                (
                    NaiveDate::from_ymd_opt(2026, 10, 2).unwrap(),
                    Money::from_minor(98_010, gbp.clone()),
                ),
                (day(2), Money::from_minor(123_456, gbp.clone())),
            ]
            .into_iter()
            .collect(),
        };
        assert_eq!(
            summary(&line, false).unwrap(),
            "Dana's Current Account: £1,234.56 today, £980.10 a month ago"
        );
        let hidden = chart("GBP", vec![line], true);
        assert_eq!(
            hidden.summaries,
            ["Dana's Current Account: £••• today, £••• a month ago"]
        );
        assert_eq!(
            hidden.series[0].texts,
            [Some("£•••".to_owned()), Some("£•••".to_owned())]
        );
        // The shape stays: the values are there to draw.
        assert_eq!(hidden.series[0].values[1].as_deref(), Some("1234.56"));
        assert_eq!(hidden.dates, ["2 Oct 2026", "2 Nov 2026"]);
    }
}
