//! `passerelle init`: database, signing key, first operator administrator.

use crate::audit::{self, Actor};
use crate::commands::CliError;
use crate::commands::connect_and_migrate;
use crate::config::Config;
use crate::identity::{OrgKind, Role, organisations, password, users};
use issuer::keys::KeyRing;

/// What `init` created.
pub struct Initialised {
    pub db: ledger::Db,
    pub operator_id: i64,
    pub admin_email: String,
    pub admin_password: String,
    pub key_id: String,
}

/// Initialises a deployment. Refuses to run twice on the same database.
pub async fn initialise(config: &Config, admin_email: &str, organisation: &str) -> Result<Initialised, CliError> {
    let db = connect_and_migrate(config).await?;
    if organisations::operator(&db).await.map_err(CliError::new)?.is_some() {
        return Err(CliError::new("ce déploiement est déjà initialisé (un opérateur existe)"));
    }
    let ring = KeyRing::load(&config.key_dir).map_err(CliError::new)?;
    let key_id = match ring.active() {
        Some(k) => k.kid.clone(),
        None => KeyRing::generate(&config.key_dir).map_err(CliError::new)?,
    };
    let admin_password = password::generate();
    let mut tx = db.begin().await.map_err(CliError::new)?;
    let org = organisations::create(&mut tx, OrgKind::Operator, organisation, None).await.map_err(CliError::new)?;
    let admin = users::create(&mut tx, org.id, admin_email, "Administrateur", Role::Manager, &admin_password)
        .await
        .map_err(CliError::new)?;
    audit::record(
        &mut tx,
        Actor::SYSTEM,
        "deployment.init",
        "organisation",
        org.id,
        serde_json::json!({"admin_user_id": admin.id, "key_id": key_id}),
    )
    .await
    .map_err(CliError::new)?;
    redeemer::sites::seed_catalogue(&mut tx).await.map_err(CliError::new)?;
    tx.commit().await.map_err(CliError::new)?;
    Ok(Initialised { db, operator_id: org.id, admin_email: admin.email, admin_password, key_id })
}

pub async fn run(config: &Config, admin_email: &str, organisation: &str) -> Result<(), CliError> {
    let done = initialise(config, admin_email, organisation).await?;
    println!("Passerelle est initialisée.");
    println!("  Base de données : {}", config.database_url);
    println!("  Clé de signature : {} (dans {})", done.key_id, config.key_dir.display());
    println!("  Administrateur : {}", done.admin_email);
    println!("  Mot de passe à usage unique : {}", done.admin_password);
    println!("Notez ce mot de passe maintenant : il ne sera plus affiché.");
    done.db.close().await;
    Ok(())
}
