//! The INSEE code of a commune (code officiel géographique): five characters, the département's
//! two (`01`…`95`, `2A`/`2B` for Corsica, `97`/`98` overseas) and three digits. A well-formed code
//! is not necessarily a commune: `territory::commune` tells whether it is one.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InseeCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("code INSEE mal formé « {0} » : cinq chiffres attendus (2A ou 2B puis trois chiffres en Corse)")]
pub struct InseeCodeError(String);

impl InseeCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for InseeCode {
    type Err = InseeCodeError;

    /// Accepts surrounding spaces and a lower-case `2a`/`2b`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let code = s.trim().to_ascii_uppercase();
        let b = code.as_bytes();
        let departement_ok =
            b.len() == 5 && (b[..2].iter().all(u8::is_ascii_digit) || (b[0] == b'2' && (b[1] == b'A' || b[1] == b'B')));
        if departement_ok && b[2..].iter().all(u8::is_ascii_digit) {
            Ok(InseeCode(code))
        } else {
            // Quoted back in the message: at most 10 characters of what was given.
            Err(InseeCodeError(s.chars().take(10).collect()))
        }
    }
}

/// A code read back from the database that does not parse (written by something else than
/// Passerelle): a decoding error, not a panic.
pub fn stored(e: InseeCodeError) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

impl TryFrom<String> for InseeCode {
    type Error = InseeCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<InseeCode> for String {
    fn from(c: InseeCode) -> String {
        c.0
    }
}

impl AsRef<str> for InseeCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for InseeCode {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for InseeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn forms() {
        for ok in ["33063", "2A004", "2b033", " 97101 ", "75056"] {
            assert!(ok.parse::<InseeCode>().is_ok(), "{ok}");
        }
        assert_eq!("2b033".parse::<InseeCode>().unwrap().as_str(), "2B033");
        for bad in ["", "3306", "330630", "2C004", "A2004", "33O63", "３３０６３", "33 63"] {
            assert!(bad.parse::<InseeCode>().is_err(), "{bad}");
        }
        let e = "abcdefghijklmnop".parse::<InseeCode>().unwrap_err().to_string();
        assert!(e.contains("« abcdefghij »"), "{e}");
    }

    #[test]
    fn serde_as_a_string() {
        let c: InseeCode = serde_json::from_str("\"33063\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"33063\"");
        assert!(serde_json::from_str::<InseeCode>("\"3306\"").is_err());
    }

    proptest! {
        /// Every well-formed code parses to itself; parsing never panics on any input.
        #[test]
        fn well_formed_codes_round_trip(dep in "([0-9]{2}|2A|2B)", rest in "[0-9]{3}") {
            let s = format!("{dep}{rest}");
            let code = s.parse::<InseeCode>().unwrap();
            prop_assert_eq!(code.as_str(), s.as_str());
        }

        #[test]
        fn anything_parses_or_is_refused(s in ".{0,12}") {
            if let Ok(c) = s.parse::<InseeCode>() {
                prop_assert_eq!(c.as_str().len(), 5);
                prop_assert_eq!(c.as_str().parse::<InseeCode>().unwrap(), c);
            }
        }
    }
}
