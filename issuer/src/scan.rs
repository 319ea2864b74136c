//! The one place where scanned or typed input becomes a voucher reference: the full URL of a QR
//! code, the bare token, or the typed code (with or without dashes, any case, spaces, the O/0
//! and I/1 confusions). It never panics and always ends in a value or a precise, stable reason.

use crate::code::{CodeError, VoucherCode};
use crate::token::{self, SignedToken, TokenError};

/// Longest input considered; anything longer is refused before it is looked at.
pub const MAX_INPUT: usize = 512;

/// What the input designates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scanned {
    /// A signed token (from a QR code): check it with [`SignedToken::verify`].
    Token(SignedToken),
    /// A typed code, check character verified: look it up online.
    Code(VoucherCode),
}

impl Scanned {
    pub fn code(&self) -> VoucherCode {
        match self {
            Scanned::Token(t) => t.payload.code,
            Scanned::Code(c) => *c,
        }
    }
}

/// Why an input is not a voucher reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("rien n'a été saisi")]
    Empty,
    #[error("saisie trop longue")]
    TooLong,
    #[error("ce lien n'est pas celui d'un chèque Passerelle")]
    NotAVoucherUrl,
    #[error("{0}")]
    Code(#[from] CodeError),
    #[error("{0}")]
    Token(#[from] TokenError),
}

impl ScanError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ScanError::Empty => "empty",
            ScanError::TooLong => "too_long",
            ScanError::NotAVoucherUrl => "not_a_voucher_url",
            ScanError::Code(CodeError::Length(_)) => "invalid_length",
            ScanError::Code(CodeError::Character(_)) => "invalid_character",
            ScanError::Code(CodeError::Check) => "invalid_check_character",
            ScanError::Token(TokenError::Length) => "invalid_token_length",
            ScanError::Token(TokenError::Character) => "invalid_token_character",
            ScanError::Token(TokenError::Version) => "unsupported_version",
            ScanError::Token(TokenError::UnknownKey) => "unknown_key",
            ScanError::Token(TokenError::BadSignature) => "bad_signature",
            ScanError::Token(TokenError::OutOfRange) => "malformed_token",
        }
    }
}

/// Reads any scanned or typed input.
pub fn parse(input: &str) -> Result<Scanned, ScanError> {
    if input.len() > MAX_INPUT {
        return Err(ScanError::TooLong);
    }
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(ScanError::Empty);
    }
    let upper = trimmed.to_ascii_uppercase();
    if upper.starts_with("HTTP://") || upper.starts_with("HTTPS://") || upper.contains("/V/") {
        // The token is the path segment after /V/, without query or fragment.
        let Some(at) = upper.rfind("/V/") else {
            return Err(ScanError::NotAVoucherUrl);
        };
        let rest = &trimmed[at + 3..];
        let end = rest.find(['?', '#', '/']).unwrap_or(rest.len());
        let tok = &rest[..end];
        if tok.len() != token::TOKEN_LEN {
            return Err(ScanError::NotAVoucherUrl);
        }
        return Ok(Scanned::Token(token::decode(tok)?));
    }
    let compact_len = trimmed.chars().filter(|c| !(c.is_whitespace() || *c == '-' || *c == '.')).count();
    if compact_len == token::TOKEN_LEN && !trimmed.contains(['-', ' ']) {
        return Ok(Scanned::Token(token::decode(trimmed)?));
    }
    Ok(Scanned::Code(VoucherCode::parse_typed(trimmed)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyRing;
    use crate::token::{Payload, encode};
    use proptest::prelude::*;

    fn sample() -> (tempfile::TempDir, KeyRing, Payload, String) {
        let (dir, ring) = crate::testing::key_ring();
        let p = Payload {
            key_number: 1,
            code: VoucherCode::random(),
            face_value_cents: 1000,
            expires_on: chrono::NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
            order_id: 3,
        };
        let token = encode(&p, &p.sign(&ring.active().unwrap().signing).unwrap()).unwrap();
        (dir, ring, p, token)
    }

    #[test]
    fn every_form_of_input() {
        let (_d, ring, p, token) = sample();
        let url = token::qr_url("https://passerelle.example", &token);
        for input in [url.clone(), url.to_lowercase(), format!("  {url}?utm=x "), token.clone(), token.to_lowercase()] {
            match parse(&input) {
                Ok(Scanned::Token(t)) => assert_eq!(t.verify(&ring).unwrap(), p, "{input}"),
                other => panic!("{input}: {other:?}"),
            }
        }
        let typed = p.code.display();
        for input in
            [typed.clone(), typed.to_lowercase(), typed.replace('-', ""), typed.replace('-', " "), format!(" {typed} ")]
        {
            assert_eq!(parse(&input), Ok(Scanned::Code(p.code)), "{input}");
        }
    }

    #[test]
    fn precise_reasons() {
        assert_eq!(parse("   ").unwrap_err().code(), "empty");
        assert_eq!(parse(&"A".repeat(600)).unwrap_err().code(), "too_long");
        assert_eq!(parse("https://example.org/autre/chose").unwrap_err().code(), "not_a_voucher_url");
        assert_eq!(parse("https://example.org/V/ABC").unwrap_err().code(), "not_a_voucher_url");
        assert_eq!(parse("7KQ2-M9XD").unwrap_err().code(), "invalid_length");
        assert_eq!(parse("7KQ2-M9XD-3TWP-#").unwrap_err().code(), "invalid_character");
        let code = VoucherCode::from_bits(12345);
        let wrong_check = format!("{}{}", code.canonical(), if code.check() == '0' { '1' } else { '0' });
        assert_eq!(parse(&wrong_check).unwrap_err().code(), "invalid_check_character");
        let (_d, _ring, _p, token) = sample();
        let mut v2 = token.clone().into_bytes();
        v2[0] = b'Z'; // first 5 bits belong to the version byte
        assert_eq!(parse(std::str::from_utf8(&v2).unwrap()).unwrap_err().code(), "unsupported_version");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
            let s = String::from_utf8_lossy(&bytes);
            let _ = parse(&s);
        }

        #[test]
        fn arbitrary_urls_never_panic(s in "(https?://)?[a-zA-Z0-9./?#-]{0,20}/[vV]/[0-9A-Za-z#?/é]{0,150}") {
            let _ = parse(&s);
        }
    }
}
