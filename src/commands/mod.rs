//! What each CLI subcommand does.

pub mod backup;
#[cfg(feature = "bench")]
pub mod bench;
pub mod continuity;
pub mod demo;
pub mod dispatch;
mod error;
pub mod init;
pub mod issuer;
pub mod ledger;
#[cfg(feature = "bench")]
pub mod loadtest;
pub mod mail;
pub mod print;
pub mod settle;
pub mod site;

use crate::audit::{self, Actor};
use crate::config::Config;
use crate::identity::{tokens, users};
pub use error::CliError;

/// Connects to the configured database.
pub async fn connect(config: &Config) -> Result<::ledger::Db, CliError> {
    let settings = ::ledger::db::PoolSettings { max_connections: config.db_max_connections, ..Default::default() };
    ::ledger::Db::connect(&config.database_url, &settings).await.map_err(CliError::new)
}

/// The application on the configured database (migrated), with the signing keys.
pub async fn open_app(config: &Config) -> Result<crate::app::App, CliError> {
    let db = connect_and_migrate(config).await?;
    let keys = ::issuer::keys::KeyRing::load(&config.key_dir).map_err(CliError::new)?;
    Ok(crate::app::App::new(db, config.clone(), keys))
}

/// A use case's refusal, as the terminal says it.
pub fn say(e: crate::app::AppError) -> CliError {
    CliError::new(crate::http::problem::sentence(e))
}

/// Connects and brings the schema up to date.
pub async fn connect_and_migrate(config: &Config) -> Result<::ledger::Db, CliError> {
    let db = connect(config).await?;
    db.migrate().await.map_err(|e| CliError::new(format!("migration impossible : {e}")))?;
    Ok(db)
}

pub async fn migrate(config: &Config) -> Result<(), CliError> {
    connect_and_migrate(config).await?;
    println!(
        "Base de données à jour ({}).",
        ::ledger::Engine::from_url(&config.database_url).map(|e| e.as_str()).unwrap_or("?")
    );
    Ok(())
}

pub async fn serve(config: Config) -> Result<(), CliError> {
    let db = connect_and_migrate(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| CliError::new(format!("impossible d'écouter sur {} : {e}", config.listen)))?;
    crate::server::run(config, db, listener).await
}

pub async fn token_create(
    config: &Config,
    email: &str,
    name: &str,
    expires_in_days: Option<u32>,
) -> Result<(), CliError> {
    let db = connect_and_migrate(config).await?;
    let user = users::by_email(&db, email)
        .await
        .map_err(CliError::new)?
        .ok_or_else(|| CliError::new(format!("aucun compte pour {email}")))?;
    if matches!(expires_in_days, Some(0) | Some(3651..)) {
        return Err(CliError::new("--expires-in-days va de 1 à 3650"));
    }
    let expires_at = expires_in_days.map(|d| ::ledger::time::now() + chrono::Duration::days(i64::from(d)));
    let mut tx = db.begin().await.map_err(CliError::new)?;
    let (id, token) = tokens::create(&mut tx, user.id, name, expires_at).await.map_err(CliError::new)?;
    audit::record(
        &mut tx,
        Actor::SYSTEM,
        "token.create",
        "api_token",
        id,
        serde_json::json!({"user_id": user.id, "via": "cli"}),
    )
    .await
    .map_err(CliError::new)?;
    tx.commit().await.map_err(CliError::new)?;
    println!("{token}");
    eprintln!("Jeton n°{id} créé pour {} : conservez-le, il ne sera plus affiché.", user.email);
    Ok(())
}

pub fn key(config: &Config, cmd: crate::cli::KeyCommand) -> Result<(), CliError> {
    use ::issuer::keys::KeyRing;
    if let crate::cli::KeyCommand::Rotate = cmd {
        let kid = KeyRing::generate(&config.key_dir).map_err(CliError::new)?;
        println!("Nouvelle clé de signature : {kid}. Redémarrez le serveur pour la publier.");
    }
    for k in KeyRing::load(&config.key_dir).map_err(CliError::new)?.public_keys() {
        println!("{}  {}  {}", k.kid, k.alg, k.public_key);
    }
    Ok(())
}
