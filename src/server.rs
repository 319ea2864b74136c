//! Running the HTTP server: background sealing, statistics and email, graceful shutdown.

use crate::commands::CliError;
use crate::config::Config;
use crate::http::{AppState, app};
use issuer::keys::KeyRing;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Serves until SIGINT or SIGTERM, then finishes in-flight requests, seals what is pending and
/// closes the database.
pub async fn run(config: Config, db: ledger::Db, listener: TcpListener) -> Result<(), CliError> {
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!("arrêt demandé : fin des requêtes en cours");
    };
    serve_until(config, db, listener, shutdown).await
}

/// Serves until `shutdown` completes (tests drive this directly).
pub async fn serve_until(
    config: Config,
    db: ledger::Db,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), CliError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let keys = KeyRing::load(&config.key_dir).map_err(CliError::new)?;
    if keys.is_empty() {
        tracing::warn!(dir = %config.key_dir.display(), "aucune clé de signature : lancez `passerelle init`");
    }
    crate::http::metrics::handle();
    let sealer = tokio::spawn(seal_loop(db.clone(), config.seal_interval, stop_rx.clone()));
    let statistics =
        config.statistics_interval.map(|every| tokio::spawn(statistics_loop(db.clone(), every, stop_rx.clone())));
    let jobs = tokio::spawn(scheduled_jobs(db.clone(), config.clone(), stop_rx.clone()));
    let state = AppState::new(db.clone(), config, keys);
    let mail = tokio::spawn(crate::notify::sender::run(db.clone(), state.config.clone(), stop_rx));
    let addr = listener.local_addr().map_err(CliError::new)?;
    tracing::info!(%addr, engine = db.engine().as_str(), "Passerelle écoute");
    let served = axum::serve(listener, app(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop_tx.send(true);
    let _ = sealer.await;
    let _ = jobs.await;
    let _ = mail.await;
    if let Some(statistics) = statistics {
        let _ = statistics.await;
    }
    if let Err(e) = ledger::seal::seal_all(&db, 5_000).await {
        tracing::warn!(error = %e, "scellement final impossible");
    }
    db.close().await;
    served.map_err(|e| CliError::new(format!("serveur HTTP : {e}")))
}

async fn seal_loop(db: ledger::Db, every: std::time::Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = ledger::seal::seal_all(&db, 5_000).await {
            tracing::warn!(error = %e, "scellement différé");
        }
        if let Err(e) = db.checkpoint().await {
            tracing::warn!(error = %e, "point de reprise SQLite différé");
        }
    }
}

/// Every few seconds: folds what happened into the statistics aggregates (off the redemption
/// path; see docs/architecture.md, « Statistics »).
async fn statistics_loop(db: ledger::Db, every: std::time::Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = statistics::refresh(&db).await {
            tracing::warn!(error = %e, "statistiques non mises à jour");
        }
    }
}

/// Hourly: expires the vouchers of orders past their last day, writes the invoices and credit
/// notes the ledger calls for, and prepares the settlement run of each closed period (the
/// operator inspects and releases it).
async fn scheduled_jobs(db: ledger::Db, config: Config, mut stop: watch::Receiver<bool>) {
    let mut wait = std::time::Duration::from_secs(2);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        wait = std::time::Duration::from_secs(3600);
        match issuer::expiry::expire(&db, redeemer::local_time::day(ledger::time::now())).await {
            Ok(done) => {
                for e in done {
                    tracing::info!(
                        order = e.order_id,
                        vouchers = e.vouchers,
                        value_cents = e.value_cents,
                        "chèques expirés"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "expiration impossible"),
        }
        if let Err(e) = write_invoices(&db, &config).await {
            tracing::warn!(error = %e, "factures et avoirs non écrits");
        }
        let Some(period) = config.settlement_schedule else { continue };
        match settlement::runs::prepare_due(&db, period, config.settlement_minimum, config.settlement_mode).await {
            Ok(Some(run)) => {
                tracing::info!(run = run.id, period_end = %run.period_end, payouts = run.payouts.len(), "règlement préparé, à valider")
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "préparation du règlement impossible"),
        }
    }
}

/// Writes the invoices and credit notes the ledger calls for.
pub async fn write_invoices(db: &ledger::Db, config: &Config) -> Result<usize, CliError> {
    let name = issuer::organisations::operator(db)
        .await
        .map_err(CliError::new)?
        .map_or_else(|| "Passerelle".to_owned(), |o| o.name);
    let written = issuer::invoices::write_pending(db, &config.seller(name)).await.map_err(CliError::new)?;
    Ok(written.len())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
