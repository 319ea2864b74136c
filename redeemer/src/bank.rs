//! A site's payout account: IBAN (ISO 13616, mod-97 checked) and BIC (ISO 9362).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    #[error("IBAN : longueur invalide")]
    IbanLength,
    #[error("IBAN : caractère invalide")]
    IbanCharacter,
    #[error("IBAN : la clé de contrôle est fausse")]
    IbanChecksum,
    #[error("BIC : 8 ou 11 caractères (banque, pays, lieu, agence)")]
    Bic,
}

/// An IBAN, stored compact and upper case: `FR7630006000011234567890189`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Iban(String);

impl FromStr for Iban {
    type Err = BankError;

    /// Accepts spaces and lower case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
        if !(15..=34).contains(&compact.len()) {
            return Err(BankError::IbanLength);
        }
        let b = compact.as_bytes();
        let shape =
            b[0].is_ascii_uppercase() && b[1].is_ascii_uppercase() && b[2].is_ascii_digit() && b[3].is_ascii_digit();
        if !shape || !b.iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) {
            return Err(BankError::IbanCharacter);
        }
        if compact.starts_with("FR") && compact.len() != 27 {
            return Err(BankError::IbanLength);
        }
        // Move the first four characters to the end, letters become 10..35, the number mod 97 is 1.
        let mut remainder: u32 = 0;
        for &c in b[4..].iter().chain(&b[..4]) {
            let v = if c.is_ascii_digit() { u32::from(c - b'0') } else { u32::from(c - b'A') + 10 };
            remainder = if v >= 10 { (remainder * 100 + v) % 97 } else { (remainder * 10 + v) % 97 };
        }
        if remainder != 1 {
            return Err(BankError::IbanChecksum);
        }
        Ok(Iban(compact))
    }
}

impl Iban {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Printed in groups of four: `FR76 3000 6000 0112 3456 7890 189`.
    pub fn grouped(&self) -> String {
        self.0.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
    }

    /// Only the last four characters, for screens and logs.
    pub fn masked(&self) -> String {
        format!("{}…{}", &self.0[..4], &self.0[self.0.len() - 4..])
    }
}

impl TryFrom<String> for Iban {
    type Error = BankError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Iban> for String {
    fn from(i: Iban) -> String {
        i.0
    }
}

impl fmt::Display for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

/// A BIC: 4 letters (bank), 2 letters (country), 2 letters or digits (location), and an optional
/// 3-character branch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Bic(String);

impl FromStr for Bic {
    type Err = BankError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.trim().to_ascii_uppercase();
        let bytes = b.as_bytes();
        let ok = (bytes.len() == 8 || bytes.len() == 11)
            && bytes[..6].iter().all(u8::is_ascii_uppercase)
            && bytes[6..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if ok { Ok(Bic(b)) } else { Err(BankError::Bic) }
    }
}

impl TryFrom<String> for Bic {
    type Error = BankError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Bic> for String {
    fn from(b: Bic) -> String {
        b.0
    }
}

impl Bic {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ibans() {
        // The example IBAN published by the Banque de France's documentation style.
        let iban: Iban = "fr76 3000 6000 0112 3456 7890 189".parse().unwrap();
        assert_eq!(iban.as_str(), "FR7630006000011234567890189");
        assert_eq!(iban.grouped(), "FR76 3000 6000 0112 3456 7890 189");
        assert_eq!(iban.masked(), "FR76…0189");
        assert_eq!("DE89370400440532013000".parse::<Iban>().unwrap().as_str(), "DE89370400440532013000");
        assert_eq!("FR7630006000011234567890188".parse::<Iban>(), Err(BankError::IbanChecksum));
        assert_eq!("FR763000600001123456789018".parse::<Iban>(), Err(BankError::IbanLength));
        assert_eq!("FR76-3000-6000-0112-3456-7890-189".parse::<Iban>(), Err(BankError::IbanCharacter));
        assert_eq!("".parse::<Iban>(), Err(BankError::IbanLength));
    }

    #[test]
    fn bics() {
        assert_eq!("bnpafrpp".parse::<Bic>().unwrap().as_str(), "BNPAFRPP");
        assert!("AGRIFRPP882".parse::<Bic>().is_ok());
        for bad in ["BNPAFR", "BNP1FRPP", "BNPAFRPP88", "BNPAFRP!"] {
            assert!(bad.parse::<Bic>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = s.parse::<Iban>();
            let _ = s.parse::<Bic>();
        }

        #[test]
        fn a_single_changed_digit_is_caught(pos in 4usize..27, delta in 1u8..10) {
            let mut b = b"FR7630006000011234567890189".to_vec();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            prop_assert!(String::from_utf8(b).unwrap().parse::<Iban>().is_err());
        }
    }
}
