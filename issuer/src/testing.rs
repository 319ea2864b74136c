//! Test helpers for this crate and those built on it (feature `testing`): a signing key ring in
//! a temporary directory, organisations in the Gironde.

use crate::keys::KeyRing;
use crate::organisations::OrgKind;
use crate::territory::Territory;
use crate::{Siret, profiles};
use sqlx::AnyConnection;

/// A key ring with one new signing key, in a temporary directory that is removed when the
/// returned guard is dropped: keep the guard as long as the ring.
pub fn key_ring() -> (tempfile::TempDir, KeyRing) {
    let dir = tempfile::tempdir().expect("temporary directory");
    KeyRing::generate(dir.path()).expect("new signing key");
    let ring = KeyRing::load(dir.path()).expect("key ring");
    (dir, ring)
}

/// Creates an organisation of `kind` and `category` whose territory is the Gironde (33), its
/// SIRET completed from the 13 digits `siret_prefix`; returns its id.
pub async fn gironde_organisation(
    conn: &mut AnyConnection,
    kind: OrgKind,
    name: &str,
    siret_prefix: &str,
    category: &str,
) -> i64 {
    let siret = Siret::completing(siret_prefix).expect("13 digits");
    let territory = Territory::new(["33"]).expect("the Gironde");
    profiles::create(conn, kind, name, &siret, category, territory).await.expect("new organisation").organisation.id
}
