//! SIRET: the 14-digit French establishment number, Luhn-checked.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Siret(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiretError {
    #[error("un SIRET compte 14 chiffres")]
    Length,
    #[error("un SIRET ne contient que des chiffres")]
    NotDigits,
    #[error("la clé de contrôle du SIRET est fausse")]
    Checksum,
}

/// Luhn check over ASCII digits.
fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let v = u32::from(d - b'0');
            if i % 2 == 1 {
                let dbl = v * 2;
                if dbl > 9 { dbl - 9 } else { dbl }
            } else {
                v
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

impl Siret {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SIREN (first nine digits): the legal unit.
    pub fn siren(&self) -> &str {
        &self.0[..9]
    }

    /// The SIRET made of these 13 digits and the check digit that makes it valid, for made-up
    /// organisations (the demo, benchmarks, tests).
    pub fn completing(prefix13: &str) -> Result<Siret, SiretError> {
        if !prefix13.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SiretError::NotDigits);
        }
        if prefix13.len() != 13 {
            return Err(SiretError::Length);
        }
        (0..10).find_map(|d| format!("{prefix13}{d}").parse().ok()).ok_or(SiretError::Checksum)
    }
}

impl FromStr for Siret {
    type Err = SiretError;

    /// Accepts spaces between groups (`123 456 789 00012`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if !compact.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SiretError::NotDigits);
        }
        if compact.len() != 14 {
            return Err(SiretError::Length);
        }
        // La Poste's establishments (SIREN 356 000 000) use a sum-of-digits rule instead.
        let poste =
            compact.starts_with("356000000") && compact.bytes().map(|b| u32::from(b - b'0')).sum::<u32>() % 5 == 0;
        if !poste && !luhn(compact.as_bytes()) {
            return Err(SiretError::Checksum);
        }
        Ok(Siret(compact))
    }
}

impl TryFrom<String> for Siret {
    type Error = SiretError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Siret> for String {
    fn from(s: Siret) -> String {
        s.0
    }
}

impl fmt::Display for Siret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid() {
        // SIRET of a real public body (DINUM): 130 025 265 00013.
        assert_eq!("130 025 265 00013".parse::<Siret>().unwrap().as_str(), "13002526500013");
        assert_eq!("13002526500014".parse::<Siret>(), Err(SiretError::Checksum));
        assert_eq!("1300252650001".parse::<Siret>(), Err(SiretError::Length));
        assert_eq!("1300252650001X".parse::<Siret>(), Err(SiretError::NotDigits));
        assert_eq!("".parse::<Siret>(), Err(SiretError::Length));
        assert!("35600000000048".parse::<Siret>().is_ok(), "La Poste rule");
    }

    #[test]
    fn completing_a_prefix() {
        assert_eq!(Siret::completing("1300252650001").unwrap().as_str(), "13002526500013");
        assert!(Siret::completing("3560000000004").is_ok(), "La Poste rule");
        assert_eq!(Siret::completing("130025265000"), Err(SiretError::Length));
        assert_eq!(Siret::completing("13002526500013"), Err(SiretError::Length));
        assert_eq!(Siret::completing("130025265000X"), Err(SiretError::NotDigits));
        for n in [0u64, 1, 4_242_424_242_424, 9_999_999_999_999] {
            let prefix = format!("{n:013}");
            assert!(Siret::completing(&prefix).unwrap().as_str().starts_with(&prefix));
        }
    }
}
