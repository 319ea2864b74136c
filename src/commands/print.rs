//! `passerelle order print`: print-ready PDF files, at most 100 books each, two at a time.

use crate::commands::CliError;
use crate::config::Config;
use std::path::{Path, PathBuf};

pub async fn order_files(
    db: &ledger::Db,
    config: &Config,
    id: i64,
    from: Option<u32>,
    to: Option<u32>,
    out: &Path,
) -> Result<Vec<PathBuf>, CliError> {
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{spinner} impression [{bar:40}] {pos}/{len} carnets (reste {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let files = issuer::print_run::write_files(db, id, &config.public_url, from, to, out, &progress)
        .await
        .map_err(CliError::new)?;
    bar.finish_and_clear();
    eprintln!("{} fichier(s) PDF écrit(s) dans {}", files.len(), out.display());
    Ok(files)
}
