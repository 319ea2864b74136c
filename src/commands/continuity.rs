//! `passerelle export` and `passerelle import`.

use crate::commands::CliError;
use crate::commands::connect_and_migrate;
use crate::config::Config;
use issuer::keys::KeyRing;
use std::path::Path;

fn progress(table: &str, rows: u64) {
    eprintln!("  {table} : {rows} ligne(s)");
}

pub async fn export(config: &Config, out: &Path) -> Result<(), CliError> {
    let db = connect_and_migrate(config).await?;
    let keys = KeyRing::load(&config.key_dir).map_err(CliError::new)?;
    let manifest = crate::continuity::export(&db, &keys, out, &progress).await.map_err(CliError::new)?;
    let rows: u64 = manifest.tables.iter().map(|t| t.rows).sum();
    println!(
        "Export écrit dans {} : {} tables, {rows} lignes, {} clé(s) publique(s) ; manifeste : manifest.json",
        out.display(),
        manifest.tables.len(),
        manifest.public_keys.len()
    );
    db.close().await;
    Ok(())
}

pub async fn import(config: &Config, dir: &Path) -> Result<(), CliError> {
    let db = connect_and_migrate(config).await?;
    let manifest = crate::continuity::import(&db, &config.key_dir, dir, &progress).await.map_err(CliError::new)?;
    let rows: u64 = manifest.tables.iter().map(|t| t.rows).sum();
    let report = ledger::verify::verify(&db).await.map_err(CliError::new)?;
    println!(
        "Import terminé : {rows} lignes ; grand livre {}.",
        if report.is_ok() { "vérifié, tout concorde" } else { "EN ÉCART (passerelle ledger verify)" }
    );
    println!("Générez une clé de signature pour les prochaines émissions : passerelle key rotate");
    db.close().await;
    if report.is_ok() { Ok(()) } else { Err(CliError::new("le grand livre importé ne se vérifie pas")) }
}
