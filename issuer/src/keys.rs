//! The operator's Ed25519 signing keys, kept as owner-only files in a key directory.
//!
//! Each key has an id `k1`, `k2`, … (its number travels in every voucher token); the newest
//! signs new vouchers, older ones keep verifying the vouchers they signed, so rotating a key
//! never invalidates a live voucher.

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("clé de signature illisible dans {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("répertoire des clés {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("aucune clé de signature dans {0}: lancez `passerelle init`")]
    NoKey(PathBuf),
}

/// One signing key.
#[derive(Clone)]
pub struct Key {
    pub kid: String,
    pub number: u16,
    pub signing: SigningKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// A published public key.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PublicKey {
    pub kid: String,
    pub alg: &'static str,
    /// Base64url (no padding) of the 32-byte Ed25519 public key.
    pub public_key: String,
}

/// All keys of a deployment, oldest first: the signing keys, and the public keys of another
/// deployment whose vouchers this one honours (imported with `passerelle import`, files
/// `k<n>.pub`), which verify but never sign.
#[derive(Debug, Clone)]
pub struct KeyRing {
    keys: Vec<Key>,
    verify_only: Vec<(String, u16, VerifyingKey)>,
}

const SUFFIX: &str = ".ed25519";
const PUBLIC_SUFFIX: &str = ".pub";

fn key_number(path: &Path, kid: &str) -> Result<u16, KeyError> {
    kid.strip_prefix('k').and_then(|n| n.parse::<u16>().ok()).ok_or_else(|| KeyError::Unreadable {
        path: path.to_owned(),
        reason: "nom de clé attendu : k<numéro>.ed25519 ou k<numéro>.pub".into(),
    })
}

fn decode_public(s: &str) -> Option<VerifyingKey> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim()).ok()?;
    VerifyingKey::from_bytes(&bytes.try_into().ok()?).ok()
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io { path: path.to_owned(), source }
}

impl KeyRing {
    /// Loads every key file of `dir`, in key-number order.
    pub fn load(dir: &Path) -> Result<KeyRing, KeyError> {
        let mut keys = Vec::new();
        let mut verify_only = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(KeyRing { keys, verify_only }),
            Err(e) => return Err(io(dir)(e)),
        };
        for entry in entries {
            let path = entry.map_err(io(dir))?.path();
            if let Some(kid) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(PUBLIC_SUFFIX)) {
                let number = key_number(&path, kid)?;
                let text = std::fs::read_to_string(&path).map_err(io(&path))?;
                let key = decode_public(&text).ok_or_else(|| KeyError::Unreadable {
                    path: path.clone(),
                    reason: "clé publique Ed25519 en base64url attendue".into(),
                })?;
                verify_only.push((kid.to_owned(), number, key));
                continue;
            }
            let Some(kid) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(SUFFIX)) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            let bytes = hex::decode(text.trim())
                .map_err(|e| KeyError::Unreadable { path: path.clone(), reason: e.to_string() })?;
            let seed: [u8; 32] = bytes
                .try_into()
                .map_err(|_| KeyError::Unreadable { path: path.clone(), reason: "32 octets attendus".into() })?;
            let number = key_number(&path, kid)?;
            keys.push(Key { kid: kid.to_owned(), number, signing: SigningKey::from_bytes(&seed) });
        }
        keys.sort_by_key(|k| k.number);
        verify_only.sort_by_key(|k| k.1);
        Ok(KeyRing { keys, verify_only })
    }

    /// Adds the public keys of another deployment (verification only), as `k<n>.pub` files.
    /// A key already present with the same id must be the same key.
    pub fn import_public(dir: &Path, public: &[PublicKey]) -> Result<(), KeyError> {
        create_private_dir(dir)?;
        let ring = KeyRing::load(dir)?;
        for p in public {
            let path = dir.join(format!("{}{PUBLIC_SUFFIX}", p.kid));
            let number = key_number(&path, &p.kid)?;
            let key = decode_public(&p.public_key)
                .ok_or_else(|| KeyError::Unreadable { path: path.clone(), reason: "clé publique illisible".into() })?;
            match ring.verifying_by_number(number) {
                Some(existing) if existing == key => continue,
                Some(_) => {
                    return Err(KeyError::Unreadable {
                        path,
                        reason: format!("une autre clé porte déjà le numéro {}", p.kid),
                    });
                }
                None => write_private(&path, &p.public_key).map_err(io(&path))?,
            }
        }
        Ok(())
    }

    /// Generates a new key in `dir` (created owner-only if missing) and returns its id.
    /// The new key becomes the one that signs.
    pub fn generate(dir: &Path) -> Result<String, KeyError> {
        create_private_dir(dir)?;
        let existing = KeyRing::load(dir)?;
        let last = existing.keys.iter().map(|k| k.number).chain(existing.verify_only.iter().map(|k| k.1)).max();
        let number = last.map_or(1, |n| n + 1);
        let kid = format!("k{number}");
        let seed: [u8; 32] = rand::random();
        let path = dir.join(format!("{kid}{SUFFIX}"));
        write_private(&path, &hex::encode(seed)).map_err(io(&path))?;
        Ok(kid)
    }

    /// No signing key (this deployment cannot issue).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key that signs new vouchers.
    pub fn active(&self) -> Option<&Key> {
        self.keys.last()
    }

    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn verifying(&self, kid: &str) -> Option<VerifyingKey> {
        self.all().find(|k| k.0 == kid).map(|k| k.2)
    }

    pub fn verifying_by_number(&self, number: u16) -> Option<VerifyingKey> {
        self.all().find(|k| k.1 == number).map(|k| k.2)
    }

    /// Every key that verifies, by number: (kid, number, public key).
    fn all(&self) -> impl Iterator<Item = (&str, u16, VerifyingKey)> {
        let mut all: Vec<(&str, u16, VerifyingKey)> = self
            .keys
            .iter()
            .map(|k| (k.kid.as_str(), k.number, k.signing.verifying_key()))
            .chain(self.verify_only.iter().map(|(kid, n, v)| (kid.as_str(), *n, *v)))
            .collect();
        all.sort_by_key(|k| k.1);
        all.into_iter()
    }

    pub fn public_keys(&self) -> Vec<PublicKey> {
        use base64::Engine as _;
        self.all()
            .map(|(kid, _, key)| PublicKey {
                kid: kid.to_owned(),
                alg: "Ed25519",
                public_key: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes()),
            })
            .collect()
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io(dir))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    std::fs::create_dir_all(dir).map_err(io(dir))
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, Verifier};

    #[test]
    fn generate_rotate_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let keys_dir = dir.path().join("keys");
        let k1 = KeyRing::generate(&keys_dir).unwrap();
        let k2 = KeyRing::generate(&keys_dir).unwrap();
        assert_eq!((k1.as_str(), k2.as_str()), ("k1", "k2"));
        let ring = KeyRing::load(&keys_dir).unwrap();
        assert_eq!(ring.active().unwrap().kid, k2);
        let sig = ring.get(&k1).unwrap().signing.sign(b"bon");
        assert!(ring.verifying(&k1).unwrap().verify(b"bon", &sig).is_ok(), "old keys keep verifying");
        assert_eq!(ring.public_keys().len(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(keys_dir.join(format!("{k1}.ed25519"))).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
