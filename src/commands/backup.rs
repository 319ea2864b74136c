//! `passerelle backup`: a consistent copy of a running SQLite database.

use crate::commands::CliError;
use crate::commands::connect;
use crate::config::Config;
use std::path::Path;

/// Writes a consistent copy of the SQLite database to `out` while the server keeps running
/// (SQLite's `VACUUM INTO`, which reads one snapshot). PostgreSQL is backed up with its own
/// tools (`pg_dump`, see docs/operations.md).
pub async fn run(config: &Config, out: &Path) -> Result<(), CliError> {
    let db = connect(config).await?;
    if db.engine() != ledger::Engine::Sqlite {
        return Err(CliError::new(
            "sauvegarde intégrée pour SQLite seulement ; pour PostgreSQL : pg_dump --format=custom (docs/operations.md)",
        ));
    }
    if out.exists() {
        return Err(CliError::new(format!("{} existe déjà : choisissez un nouveau fichier", out.display())));
    }
    let target = out.to_str().ok_or_else(|| CliError::new("chemin de sauvegarde non UTF-8"))?;
    if target.contains('\'') {
        return Err(CliError::new("le chemin de sauvegarde ne peut pas contenir d'apostrophe"));
    }
    sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{target}'")))
        .execute(db.pool())
        .await
        .map_err(|e| CliError::new(format!("sauvegarde impossible : {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o600)).map_err(CliError::new)?;
    }
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!(
        "Sauvegarde écrite : {} ({:.1} Mo). Restaurer : arrêter le serveur, remplacer le fichier de base, relancer, puis passerelle ledger verify.",
        out.display(),
        size as f64 / 1_048_576.0
    );
    db.close().await;
    Ok(())
}
