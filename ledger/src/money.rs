//! Money as integer euro cents.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of money in euro cents. Negative amounts are credits in postings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cents(pub i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    pub fn checked_add(self, other: Cents) -> Option<Cents> {
        self.0.checked_add(other.0).map(Cents)
    }

    pub fn checked_neg(self) -> Option<Cents> {
        self.0.checked_neg().map(Cents)
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// French display: `1 234,56 €` (narrow no-break space between thousands).
    pub fn to_french(self) -> String {
        let negative = self.0 < 0;
        let abs = self.0.unsigned_abs();
        let euros = (abs / 100).to_string();
        let mut grouped = String::new();
        for (i, ch) in euros.chars().enumerate() {
            if i > 0 && (euros.len() - i).is_multiple_of(3) {
                grouped.push('\u{202f}');
            }
            grouped.push(ch);
        }
        format!("{}{},{:02}\u{a0}€", if negative { "-" } else { "" }, grouped, abs % 100)
    }
}

/// Why an amount in euros was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("montant invalide « {0} » : écrivez par exemple 1234,56 (euros, deux décimales au plus)")]
pub struct AmountError(pub String);

impl std::str::FromStr for Cents {
    type Err = AmountError;

    /// Parses euros as people write them: `1234,56`, `1 234.5`, `10`, `10,00 €`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || AmountError(s.chars().take(40).collect());
        let cleaned: String = s
            .trim()
            .trim_end_matches('€')
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}')
            .collect();
        let (negative, digits) = match cleaned.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, cleaned.as_str()),
        };
        let (whole, frac) = match digits.split_once([',', '.']) {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        if whole.is_empty()
            || whole.len() > 13
            || frac.len() > 2
            || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let euros: i64 = whole.parse().map_err(|_| bad())?;
        let cents: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        let total = euros.checked_mul(100).and_then(|e| e.checked_add(cents)).ok_or_else(bad)?;
        Ok(Cents(if negative { -total } else { total }))
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_french())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_euros() {
        assert_eq!("1234,56".parse::<Cents>(), Ok(Cents(123456)));
        assert_eq!("1 234.5".parse::<Cents>(), Ok(Cents(123450)));
        assert_eq!("10".parse::<Cents>(), Ok(Cents(1000)));
        assert_eq!("10,00 €".parse::<Cents>(), Ok(Cents(1000)));
        assert_eq!("-0,05".parse::<Cents>(), Ok(Cents(-5)));
        for bad in ["", ",5", "1,234", "1e3", "abc", "12345678901234"] {
            assert!(bad.parse::<Cents>().is_err(), "{bad}");
        }
    }

    #[test]
    fn french_format() {
        assert_eq!(Cents(1000).to_french(), "10,00\u{a0}€");
        assert_eq!(Cents(123456789).to_french(), "1\u{202f}234\u{202f}567,89\u{a0}€");
        assert_eq!(Cents(-5).to_french(), "-0,05\u{a0}€");
        assert_eq!(Cents(i64::MIN).to_french(), "-92\u{202f}233\u{202f}720\u{202f}368\u{202f}547\u{202f}758,08\u{a0}€");
    }
}
