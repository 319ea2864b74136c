//! The signed voucher token carried by the QR code (DESIGN §6).
//!
//! 21 bytes of payload — version, key number, code, face value, expiry day, order — followed by
//! the 64-byte Ed25519 signature of `"passerelle-voucher-v1" ‖ payload`, written in base32
//! (136 characters of the QR alphanumeric set). Anyone with the published public key can check
//! a voucher's authenticity and value offline; the server still decides redemption.

use crate::code::{ALPHABET, VoucherCode, decode_char};
use crate::keys::KeyRing;
use chrono::NaiveDate;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};

pub const VERSION: u8 = 1;
const DOMAIN: &[u8] = b"passerelle-voucher-v1";
pub const PAYLOAD_LEN: usize = 21;
pub const TOKEN_LEN: usize = 136;

/// Days are counted from this date in tokens.
fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).expect("valid date")
}

/// What a token says about its voucher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload {
    pub key_number: u16,
    pub code: VoucherCode,
    pub face_value_cents: u32,
    /// Last day of validity (before the grace period).
    pub expires_on: NaiveDate,
    pub order_id: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("jeton de longueur inattendue")]
    Length,
    #[error("caractère impossible dans un jeton")]
    Character,
    #[error("version de jeton inconnue")]
    Version,
    #[error("clé de signature inconnue")]
    UnknownKey,
    #[error("signature invalide : ce chèque n'a pas été émis par l'opérateur")]
    BadSignature,
    #[error("valeur hors limites")]
    OutOfRange,
}

impl Payload {
    pub fn to_bytes(&self) -> Result<[u8; PAYLOAD_LEN], TokenError> {
        let days = (self.expires_on - epoch()).num_days();
        let days = u16::try_from(days).map_err(|_| TokenError::OutOfRange)?;
        let mut b = [0u8; PAYLOAD_LEN];
        b[0] = VERSION;
        b[1..3].copy_from_slice(&self.key_number.to_be_bytes());
        b[3..11].copy_from_slice(&self.code.bits().to_be_bytes());
        b[11..15].copy_from_slice(&self.face_value_cents.to_be_bytes());
        b[15..17].copy_from_slice(&days.to_be_bytes());
        b[17..21].copy_from_slice(&self.order_id.to_be_bytes());
        Ok(b)
    }

    pub fn from_bytes(b: &[u8; PAYLOAD_LEN]) -> Result<Payload, TokenError> {
        if b[0] != VERSION {
            return Err(TokenError::Version);
        }
        let bits = u64::from_be_bytes(b[3..11].try_into().map_err(|_| TokenError::Length)?);
        if bits >> crate::code::BITS != 0 {
            return Err(TokenError::OutOfRange);
        }
        let days = u16::from_be_bytes([b[15], b[16]]);
        Ok(Payload {
            key_number: u16::from_be_bytes([b[1], b[2]]),
            code: VoucherCode::from_bits(bits),
            face_value_cents: u32::from_be_bytes(b[11..15].try_into().map_err(|_| TokenError::Length)?),
            expires_on: epoch() + chrono::Duration::days(i64::from(days)),
            order_id: u32::from_be_bytes(b[17..21].try_into().map_err(|_| TokenError::Length)?),
        })
    }

    /// Signs the payload.
    pub fn sign(&self, key: &SigningKey) -> Result<[u8; 64], TokenError> {
        let bytes = self.to_bytes()?;
        Ok(key.sign(&message(&bytes)).to_bytes())
    }
}

fn message(payload: &[u8; PAYLOAD_LEN]) -> Vec<u8> {
    let mut m = Vec::with_capacity(DOMAIN.len() + PAYLOAD_LEN);
    m.extend_from_slice(DOMAIN);
    m.extend_from_slice(payload);
    m
}

/// Base32 (Crockford alphabet, no padding) of 85 bytes: exactly 136 characters.
pub fn encode(payload: &Payload, signature: &[u8; 64]) -> Result<String, TokenError> {
    let mut bytes = Vec::with_capacity(PAYLOAD_LEN + 64);
    bytes.extend_from_slice(&payload.to_bytes()?);
    bytes.extend_from_slice(signature);
    let mut out = String::with_capacity(TOKEN_LEN);
    let mut acc: u32 = 0;
    let mut nbits = 0;
    for b in bytes {
        acc = (acc << 8) | u32::from(b);
        nbits += 8;
        while nbits >= 5 {
            nbits -= 5;
            out.push(ALPHABET[((acc >> nbits) & 31) as usize] as char);
        }
    }
    debug_assert_eq!(nbits, 0);
    Ok(out)
}

/// A token read from a QR code, not yet checked against the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedToken {
    pub payload: Payload,
    bytes: [u8; PAYLOAD_LEN],
    signature: [u8; 64],
}

/// Decodes a 136-character token (upper or lower case).
pub fn decode(token: &str) -> Result<SignedToken, TokenError> {
    if token.len() != TOKEN_LEN {
        return Err(TokenError::Length);
    }
    let mut bytes = [0u8; PAYLOAD_LEN + 64];
    let mut acc: u32 = 0;
    let mut nbits = 0;
    let mut i = 0;
    for c in token.bytes() {
        // Tokens are scanned, not typed: no confusions allowed.
        let c = c.to_ascii_uppercase();
        if !ALPHABET.contains(&c) {
            return Err(TokenError::Character);
        }
        let v = decode_char(c).ok_or(TokenError::Character)?;
        acc = (acc << 5) | u32::from(v);
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            bytes[i] = ((acc >> nbits) & 0xff) as u8;
            i += 1;
        }
    }
    let payload_bytes: [u8; PAYLOAD_LEN] = bytes[..PAYLOAD_LEN].try_into().map_err(|_| TokenError::Length)?;
    let signature: [u8; 64] = bytes[PAYLOAD_LEN..].try_into().map_err(|_| TokenError::Length)?;
    Ok(SignedToken { payload: Payload::from_bytes(&payload_bytes)?, bytes: payload_bytes, signature })
}

impl SignedToken {
    /// Checks the signature with the key the token names.
    pub fn verify(&self, keys: &KeyRing) -> Result<Payload, TokenError> {
        let key = keys.verifying_by_number(self.payload.key_number).ok_or(TokenError::UnknownKey)?;
        key.verify(&message(&self.bytes), &Signature::from_bytes(&self.signature))
            .map_err(|_| TokenError::BadSignature)?;
        Ok(self.payload)
    }
}

/// The URL a QR code carries: upper case so that the QR code uses alphanumeric mode.
pub fn qr_url(public_url: &str, token: &str) -> String {
    format!("{}/V/{}", public_url.trim_end_matches('/').to_uppercase(), token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn payload() -> Payload {
        Payload {
            key_number: 1,
            code: VoucherCode::from_bits(0x0ABC_DEF0_1234_5678),
            face_value_cents: 1000,
            expires_on: NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
            order_id: 42,
        }
    }

    #[test]
    fn sign_encode_decode_verify() {
        let (_d, ring) = crate::testing::key_ring();
        let key = ring.active().unwrap();
        let p = payload();
        let sig = p.sign(&key.signing).unwrap();
        let token = encode(&p, &sig).unwrap();
        assert_eq!(token.len(), TOKEN_LEN);
        assert!(token.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
        let decoded = decode(&token).unwrap();
        assert_eq!(decoded.verify(&ring).unwrap(), p);
        assert_eq!(decode(&token.to_lowercase()).unwrap().verify(&ring).unwrap(), p);
        let url = qr_url("https://passerelle.example/", &token);
        assert!(url.starts_with("HTTPS://PASSERELLE.EXAMPLE/V/"));
    }

    #[test]
    fn forged_tokens_fail() {
        let (_d, ring) = crate::testing::key_ring();
        let key = ring.active().unwrap();
        let p = payload();
        let token = encode(&p, &p.sign(&key.signing).unwrap()).unwrap();
        // Raise the face value: the signature no longer matches.
        let richer = Payload { face_value_cents: 100_000, ..p };
        let forged = encode(&richer, &p.sign(&key.signing).unwrap()).unwrap();
        assert_eq!(decode(&forged).unwrap().verify(&ring), Err(TokenError::BadSignature));
        // A key that is not ours.
        let other = SigningKey::from_bytes(&[7u8; 32]);
        let foreign = encode(&p, &p.sign(&other).unwrap()).unwrap();
        assert_eq!(decode(&foreign).unwrap().verify(&ring), Err(TokenError::BadSignature));
        let unknown_key = Payload { key_number: 9, ..p };
        let t = encode(&unknown_key, &unknown_key.sign(&key.signing).unwrap()).unwrap();
        assert_eq!(decode(&t).unwrap().verify(&ring), Err(TokenError::UnknownKey));
        assert_eq!(decode(&token[..135]), Err(TokenError::Length));
        let mut bad = token.clone();
        bad.replace_range(10..11, "U");
        assert_eq!(decode(&bad), Err(TokenError::Character));
    }

    proptest! {
        #[test]
        fn any_single_character_change_is_refused(pos in 0usize..TOKEN_LEN, delta in 1u8..32) {
            let (_d, ring) = crate::testing::key_ring();
            let p = payload();
            let token = encode(&p, &p.sign(&ring.active().unwrap().signing).unwrap()).unwrap();
            let mut bytes = token.into_bytes();
            let v = decode_char(bytes[pos]).unwrap();
            bytes[pos] = ALPHABET[((v + delta) % 32) as usize];
            let altered = String::from_utf8(bytes).unwrap();
            let result = decode(&altered).and_then(|t| t.verify(&ring));
            prop_assert!(result.is_err());
        }

        #[test]
        fn decoding_arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = decode(&s);
        }
    }
}
