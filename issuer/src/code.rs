//! Voucher codes: 60 random bits, written as 12 Crockford base32 characters and a check
//! character, in groups for typing: `7KQ2-M9XD-3TWP-A`.
//!
//! The check character is a weighted sum over GF(32) (`Σ aᵢ·αⁱ⁺¹`, α a primitive element of
//! GF(2⁵) modulo x⁵ + x² + 1): since the weights are distinct and non-zero, it catches every
//! single-character mistake and every swap of two adjacent different characters, including a
//! swap with the check character itself. (Luhn mod 32 misses some swaps.)

use serde::{Deserialize, Serialize};
use std::fmt;

/// Crockford's base32 alphabet (no I, L, O, U).
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Number of random bits in a code.
pub const BITS: u32 = 60;
const MASK: u64 = (1 << BITS) - 1;

/// The value of a Crockford character, with the confusions it allows (O→0, I/L→1), or `None`.
pub fn decode_char(c: u8) -> Option<u8> {
    let c = c.to_ascii_uppercase();
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'O' => Some(0),
        b'I' | b'L' => Some(1),
        b'A'..=b'Z' => ALPHABET.iter().position(|&a| a == c).map(|p| p as u8),
        _ => None,
    }
}

/// A voucher's code: 60 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VoucherCode(u64);

/// Why a typed code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("le code doit compter 13 caractères (12 plus la clé), il en compte {0}")]
    Length(usize),
    #[error("caractère « {0} » impossible dans un code")]
    Character(char),
    #[error("la clé de contrôle ne correspond pas : vérifiez la saisie")]
    Check,
}

/// Multiplication in GF(2⁵) modulo x⁵ + x² + 1.
fn gf32_mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            product ^= a;
        }
        b >>= 1;
        a <<= 1;
        if a & 0x20 != 0 {
            a ^= 0b10_0101;
        }
    }
    product
}

/// The check symbol of 12 symbols: `Σ aᵢ·α^(i+1)` with α = x (the element 2).
fn check_symbol(symbols: &[u8]) -> u8 {
    let mut weight = 2u8; // α¹
    let mut sum = 0u8;
    for &v in symbols {
        sum ^= gf32_mul(v, weight);
        weight = gf32_mul(weight, 2);
    }
    sum
}

impl VoucherCode {
    /// A fresh random code.
    pub fn random() -> Self {
        VoucherCode(rand::random::<u64>() & MASK)
    }

    /// From raw bits (only the low 60 are kept).
    pub fn from_bits(bits: u64) -> Self {
        VoucherCode(bits & MASK)
    }

    pub fn bits(self) -> u64 {
        self.0
    }

    fn symbols(self) -> [u8; 12] {
        let mut out = [0u8; 12];
        for (i, s) in out.iter_mut().enumerate() {
            *s = ((self.0 >> (55 - 5 * i)) & 31) as u8;
        }
        out
    }

    /// The stored form: the 60 bits as a (non-negative) 64-bit integer.
    pub fn db(self) -> i64 {
        self.0 as i64
    }

    /// From the stored form.
    pub fn from_db(v: i64) -> Self {
        VoucherCode::from_bits(v as u64)
    }

    /// The 12 characters without check character or dashes.
    pub fn canonical(self) -> String {
        self.symbols().iter().map(|&v| ALPHABET[v as usize] as char).collect()
    }

    /// The check character.
    pub fn check(self) -> char {
        ALPHABET[check_symbol(&self.symbols()) as usize] as char
    }

    /// The printed form: `7KQ2-M9XD-3TWP-A`.
    pub fn display(self) -> String {
        let c = self.canonical();
        format!("{}-{}-{}-{}", &c[0..4], &c[4..8], &c[8..12], self.check())
    }

    /// The last characters, for statements that mask codes: `…3TWP`.
    pub fn masked(self) -> String {
        format!("…{}", &self.canonical()[8..12])
    }

    /// Parses a stored canonical code (12 characters, no check).
    pub fn from_canonical(s: &str) -> Option<Self> {
        if s.len() != 12 {
            return None;
        }
        let mut bits = 0u64;
        for b in s.bytes() {
            bits = (bits << 5) | u64::from(decode_char(b)?);
        }
        Some(VoucherCode(bits))
    }

    /// Parses what a person typed: case, spaces, dashes and the O/0, I/1, L/1 confusions do
    /// not matter; the check character must match.
    pub fn parse_typed(input: &str) -> Result<Self, CodeError> {
        let mut symbols = Vec::with_capacity(13);
        for ch in input.chars() {
            if ch.is_whitespace() || ch == '-' || ch == '.' {
                continue;
            }
            let v = if ch.is_ascii() { decode_char(ch as u8) } else { None };
            match v {
                Some(v) => symbols.push(v),
                None => return Err(CodeError::Character(ch)),
            }
            if symbols.len() > 13 {
                break;
            }
        }
        if symbols.len() != 13 {
            let total = input.chars().filter(|c| !(c.is_whitespace() || *c == '-' || *c == '.')).count();
            return Err(CodeError::Length(total));
        }
        if check_symbol(&symbols[..12]) != symbols[12] {
            return Err(CodeError::Check);
        }
        let bits = symbols[..12].iter().fold(0u64, |acc, &v| (acc << 5) | u64::from(v));
        Ok(VoucherCode(bits))
    }
}

impl fmt::Display for VoucherCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

impl Serialize for VoucherCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.display())
    }
}

impl<'de> Deserialize<'de> for VoucherCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        VoucherCode::parse_typed(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn format_and_parse() {
        let code = VoucherCode::from_bits(0x0123_4567_89AB_CDEF);
        let shown = code.display();
        assert_eq!(shown.len(), 16);
        assert_eq!(VoucherCode::parse_typed(&shown).unwrap(), code);
        assert_eq!(VoucherCode::parse_typed(&shown.to_lowercase().replace('-', " ")).unwrap(), code);
        assert_eq!(VoucherCode::from_canonical(&code.canonical()), Some(code));
        assert!(code.masked().ends_with(&code.canonical()[8..]));
    }

    #[test]
    fn crockford_confusions_are_accepted() {
        let code = VoucherCode::from_bits(0); // 000000000000 + check
        let typed = format!("OOOO-oooo-0000-{}", code.check());
        assert_eq!(VoucherCode::parse_typed(&typed).unwrap(), code);
        let ones = VoucherCode::from_canonical("111111111111").unwrap();
        let typed = format!("IiLl-1111-1111-{}", ones.check());
        assert_eq!(VoucherCode::parse_typed(&typed).unwrap(), ones);
    }

    #[test]
    fn refusals() {
        assert_eq!(VoucherCode::parse_typed(""), Err(CodeError::Length(0)));
        assert_eq!(VoucherCode::parse_typed("ABC"), Err(CodeError::Length(3)));
        assert_eq!(VoucherCode::parse_typed("7KQ2-M9XD-3TWP-U"), Err(CodeError::Character('U')));
        assert_eq!(VoucherCode::parse_typed("7KQ2-M9XD-3TWP-é"), Err(CodeError::Character('é')));
    }

    proptest! {
        #[test]
        fn every_single_substitution_and_adjacent_swap_is_caught(bits in any::<u64>(), pos in 0usize..13, delta in 1u8..32, swap in 0usize..12) {
            let code = VoucherCode::from_bits(bits);
            let mut s: Vec<u8> = format!("{}{}", code.canonical(), code.check()).into_bytes();
            let original = s.clone();
            let v = decode_char(s[pos]).unwrap();
            s[pos] = ALPHABET[((v + delta) % 32) as usize];
            prop_assert!(VoucherCode::parse_typed(std::str::from_utf8(&s).unwrap()).is_err());
            let mut t = original.clone();
            t.swap(swap, swap + 1);
            if t != original {
                prop_assert!(VoucherCode::parse_typed(std::str::from_utf8(&t).unwrap()).is_err());
            }
        }

        #[test]
        fn round_trip(bits in any::<u64>()) {
            let code = VoucherCode::from_bits(bits);
            prop_assert_eq!(VoucherCode::parse_typed(&code.display()), Ok(code));
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = VoucherCode::parse_typed(&s);
        }
    }
}
