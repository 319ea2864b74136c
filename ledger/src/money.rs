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

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_french())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_format() {
        assert_eq!(Cents(1000).to_french(), "10,00\u{a0}€");
        assert_eq!(Cents(123456789).to_french(), "1\u{202f}234\u{202f}567,89\u{a0}€");
        assert_eq!(Cents(-5).to_french(), "-0,05\u{a0}€");
        assert_eq!(Cents(i64::MIN).to_french(), "-92\u{202f}233\u{202f}720\u{202f}368\u{202f}547\u{202f}758,08\u{a0}€");
    }
}
