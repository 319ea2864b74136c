//! Months and periods. Statistics are kept by calendar month in French local time
//! (Europe/Paris), so a period is a range of whole months.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A calendar month, e.g. `2026-09`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Month {
    year: i32,
    month: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("mois invalide : « {0} » (attendu AAAA-MM, par exemple 2026-09)")]
    InvalidMonth(String),
    #[error("période invalide : le premier mois ({from}) est après le dernier ({to})")]
    Reversed { from: Month, to: Month },
}

impl Month {
    /// The month `year-month`, or `None` outside 1..=12 or years 1000..=9999.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        ((1000..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Month { year, month })
    }

    /// The month of an instant, in French local time.
    pub fn of(at: DateTime<Utc>) -> Month {
        let day = issuer::local_time::day(at);
        Month { year: day.year(), month: day.month() }
    }

    /// The month of an instant stored as microseconds since the epoch.
    pub(crate) fn of_micros(micros: i64) -> Month {
        Month::of(ledger::time::from_micros(micros))
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    /// The first day of the month.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    /// The next month.
    pub fn next(self) -> Month {
        if self.month == 12 { Month { year: self.year + 1, month: 1 } } else { Month { month: self.month + 1, ..self } }
    }

    /// The instants (UTC) where the month starts in Paris and where the next one starts.
    pub fn bounds(self) -> (DateTime<Utc>, DateTime<Utc>) {
        (issuer::local_time::at(self.first_day(), 0, 0), issuer::local_time::at(self.next().first_day(), 0, 0))
    }

    /// French label, e.g. « septembre 2026 ».
    pub fn label(self) -> String {
        const NAMES: [&str; 12] = [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ];
        format!("{} {}", NAMES[(self.month as usize).saturating_sub(1) % 12], self.year)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = PeriodError;

    fn from_str(s: &str) -> Result<Month, PeriodError> {
        let invalid = || PeriodError::InvalidMonth(s.chars().take(20).collect());
        let (y, m) = s.trim().split_once('-').ok_or_else(invalid)?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        Month::new(y.parse().map_err(|_| invalid())?, m.parse().map_err(|_| invalid())?).ok_or_else(invalid)
    }
}

impl TryFrom<String> for Month {
    type Error = PeriodError;
    fn try_from(s: String) -> Result<Month, PeriodError> {
        s.parse()
    }
}

impl From<Month> for String {
    fn from(m: Month) -> String {
        m.to_string()
    }
}

/// Whole months from `from` to `to`, both included; or everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    from: Option<Month>,
    to: Option<Month>,
}

impl Period {
    /// The months from `from` to `to` included.
    pub fn months(from: Month, to: Month) -> Result<Period, PeriodError> {
        if from > to {
            return Err(PeriodError::Reversed { from, to });
        }
        Ok(Period { from: Some(from), to: Some(to) })
    }

    /// One month.
    pub fn month(m: Month) -> Period {
        Period { from: Some(m), to: Some(m) }
    }

    /// Everything recorded.
    pub fn all() -> Period {
        Period { from: None, to: None }
    }

    pub fn from(self) -> Option<Month> {
        self.from
    }

    pub fn to(self) -> Option<Month> {
        self.to
    }

    /// The month keys bounding the period, as stored (`YYYY-MM`, compared as text).
    pub(crate) fn keys(self) -> (String, String) {
        (
            self.from.map_or_else(|| "0000-00".to_owned(), |m| m.to_string()),
            self.to.map_or_else(|| "9999-99".to_owned(), |m| m.to_string()),
        )
    }

    /// French label, e.g. « de septembre 2026 à décembre 2026 ».
    pub fn label(self) -> String {
        match (self.from, self.to) {
            (Some(a), Some(b)) if a == b => a.label(),
            (Some(a), Some(b)) => format!("de {} à {}", a.label(), b.label()),
            _ => "depuis le début".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_print() {
        let m: Month = "2026-09".parse().unwrap();
        assert_eq!(m.to_string(), "2026-09");
        assert_eq!(m.label(), "septembre 2026");
        assert_eq!("2026-12".parse::<Month>().unwrap().next().to_string(), "2027-01");
        for bad in ["2026-13", "2026-00", "26-09", "2026-9", "abcd-ef", "", "2026-09-01", "٢٠٢٦-09"] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
        let a: Month = "2026-10".parse().unwrap();
        assert!(Period::months(a, m).is_err());
        assert_eq!(Period::months(m, a).unwrap().keys(), ("2026-09".into(), "2026-10".into()));
    }

    #[test]
    fn months_are_french_local_time() {
        // 30 September 22:30 UTC is 1 October 00:30 in Paris.
        assert_eq!(Month::of("2026-09-30T22:30:00Z".parse().unwrap()).to_string(), "2026-10");
        assert_eq!(Month::of("2026-09-30T21:59:00Z".parse().unwrap()).to_string(), "2026-09");
        let (start, end) = "2026-10".parse::<Month>().unwrap().bounds();
        assert_eq!(start.to_rfc3339(), "2026-09-30T22:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-10-31T23:00:00+00:00");
    }
}
