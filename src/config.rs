//! Configuration: an optional `passerelle.toml`, overridden by environment variables.
//! Invalid configuration stops startup with one message naming the setting.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The settings of one deployment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: `sqlite:./passerelle.db` (default) or `postgres://…`.
    pub database_url: String,
    /// `PASSERELLE_LISTEN`: address the HTTP server binds.
    pub listen: SocketAddr,
    /// `PASSERELLE_PUBLIC_URL`: the address people and QR codes use.
    pub public_url: String,
    /// `PASSERELLE_KEY_DIR`: directory of the signing keys.
    pub key_dir: PathBuf,
    /// `PASSERELLE_DB_MAX_CONNECTIONS` (default 4 on SQLite, 16 on PostgreSQL).
    pub db_max_connections: u32,
    /// `PASSERELLE_BODY_LIMIT_BYTES`: largest request body accepted.
    pub body_limit_bytes: usize,
    /// `PASSERELLE_REQUEST_TIMEOUT_SECS`.
    pub request_timeout: Duration,
    /// `PASSERELLE_LOG_FORMAT`: `text` or `json`.
    pub log_json: bool,
    /// `PASSERELLE_ISSUANCE_FEE_BPS`: fee charged to funders on issuance, in basis points.
    pub issuance_fee_bps: u32,
    /// `PASSERELLE_REDEMPTION_FEE_BPS`: fee deducted from site payouts, in basis points.
    pub redemption_fee_bps: u32,
    /// `PASSERELLE_SEAL_INTERVAL_MS`: how often the ledger seals new transactions.
    pub seal_interval: Duration,
    /// `PASSERELLE_STATISTICS_INTERVAL_MS`: how often the server folds new events into the
    /// statistics; `None` (0) leaves it to another instance.
    pub statistics_interval: Option<Duration>,
    /// `PASSERELLE_OFFLINE_MAX_AGE_DAYS`: oldest offline scan accepted in a sync.
    pub offline_max_age_days: u32,
    /// `PASSERELLE_TOKEN_CACHE_SECONDS`: how long a token found valid is trusted without being
    /// looked up again (0: looked up at every request). A token revoked through another server
    /// process sharing the database stops working here at the latest that much later.
    pub token_cache: Duration,
    /// `PASSERELLE_SCANS_PER_MINUTE_PER_USER`: verify and redeem calls a minute per user.
    pub scans_per_minute_per_user: u32,
    /// `PASSERELLE_SCANS_PER_MINUTE_PER_SITE`: verify and redeem calls a minute per site.
    pub scans_per_minute_per_site: u32,
    /// `PASSERELLE_SETTLEMENT_SCHEDULE`: the periods the server prepares settlement runs for
    /// (`monthly`, `weekly`, or `off`: on demand only).
    pub settlement_schedule: Option<settlement::runs::Period>,
    /// `PASSERELLE_SETTLEMENT_MODE`: `custody` (the operator pays the sites) or `direct` (each
    /// funder pays the sites its share from its own account).
    pub settlement_mode: settlement::runs::Mode,
    /// `PASSERELLE_SETTLEMENT_MINIMUM`: the smallest payout, in euros (`10,00`).
    pub settlement_minimum: ledger::Cents,
    /// `PASSERELLE_OPERATOR_IBAN` and `PASSERELLE_OPERATOR_BIC`: the account payouts leave from
    /// (needed for the SEPA files of custody mode).
    pub operator_account: Option<(redeemer::bank::Iban, Option<redeemer::bank::Bic>)>,
    /// `PASSERELLE_OPERATOR_ADDRESS` (lines separated by `\n`), `PASSERELLE_OPERATOR_SIRET`,
    /// `PASSERELLE_VAT_NUMBER`: the operator as invoices name it.
    pub operator_address: String,
    pub operator_siret: Option<issuer::Siret>,
    pub vat_number: Option<String>,
    /// `PASSERELLE_VAT_RATE_BPS`: VAT included in the issuance fee (basis points; 0: none).
    pub vat_rate_bps: u32,
    /// `PASSERELLE_PAYMENT_TERMS_DAYS`: days to pay an invoice.
    pub payment_terms_days: u32,
    /// `PASSERELLE_SMTP_URL`: the SMTP server (`smtp://` with STARTTLS, `smtps://` with TLS,
    /// credentials in the URL); none: messages are written as `.eml` files in `mail_dir`.
    pub smtp_url: Option<Secret>,
    /// `PASSERELLE_MAIL_FROM`: the sender of every message (`Nom <adresse>`).
    pub mail_from: lettre::message::Mailbox,
    /// `PASSERELLE_MAIL_DIR`: where messages are written when no SMTP server is configured
    /// (default: `mail/` beside the SQLite database, `./mail` with PostgreSQL).
    pub mail_dir: PathBuf,
}

/// A setting that must never be shown (it carries a password): `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The file form: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    listen: Option<String>,
    public_url: Option<String>,
    key_dir: Option<PathBuf>,
    db_max_connections: Option<u32>,
    body_limit_bytes: Option<usize>,
    request_timeout_secs: Option<u64>,
    log_format: Option<String>,
    issuance_fee_bps: Option<u32>,
    redemption_fee_bps: Option<u32>,
    seal_interval_ms: Option<u64>,
    statistics_interval_ms: Option<u64>,
    offline_max_age_days: Option<u32>,
    token_cache_seconds: Option<u64>,
    scans_per_minute_per_user: Option<u32>,
    scans_per_minute_per_site: Option<u32>,
    settlement_schedule: Option<String>,
    settlement_mode: Option<String>,
    settlement_minimum: Option<String>,
    operator_iban: Option<String>,
    operator_bic: Option<String>,
    operator_address: Option<String>,
    operator_siret: Option<String>,
    vat_number: Option<String>,
    vat_rate_bps: Option<u32>,
    payment_terms_days: Option<u32>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    mail_dir: Option<PathBuf>,
}

/// A configuration error names the setting and says what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("configuration invalide — {setting} : {reason}")]
pub struct ConfigError {
    pub setting: String,
    pub reason: String,
}

fn bad(setting: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError { setting: setting.to_owned(), reason: reason.into() }
}

/// Reads a value from the environment, else the file, else the default, and parses it.
fn pick<T: std::str::FromStr>(
    env: &dyn Fn(&str) -> Option<String>,
    var: &str,
    file: Option<String>,
    default: &str,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    let raw = env(var).or(file).unwrap_or_else(|| default.to_owned());
    raw.trim().parse::<T>().map_err(|e| bad(var, format!("« {raw} » n'est pas valide ({e})")))
}

impl Config {
    /// Loads from `file` (if it exists, or if it was named explicitly) and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let explicit = file.is_some() || env("PASSERELLE_CONFIG").is_some();
        let path = file
            .map(Path::to_path_buf)
            .or_else(|| env("PASSERELLE_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("passerelle.toml"));
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => None,
            Err(e) => {
                return Err(bad(&path.display().to_string(), format!("lecture impossible ({e})")));
            }
        };
        Config::from_sources(text.as_deref(), &env).map_err(|mut e| {
            if !e.setting.starts_with(|c: char| c.is_ascii_uppercase()) {
                e.setting = format!("{} dans {}", e.setting, path.display());
            }
            e
        })
    }

    /// Builds a configuration from a TOML text and an environment lookup.
    pub fn from_sources(toml_text: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let file: FileConfig = match toml_text {
            Some(t) => toml::from_str(t).map_err(|e| bad("passerelle.toml", e.message().to_owned()))?,
            None => FileConfig::default(),
        };
        let database_url = env("DATABASE_URL").or(file.database_url).unwrap_or_else(|| "sqlite:./passerelle.db".into());
        if ledger::Engine::from_url(&database_url).is_none() {
            return Err(bad("DATABASE_URL", format!("« {database_url} » : sqlite:chemin.db ou postgres://… attendu")));
        }
        let listen: SocketAddr = pick(env, "PASSERELLE_LISTEN", file.listen, "127.0.0.1:8080")?;
        let public_url = env("PASSERELLE_PUBLIC_URL").or(file.public_url).unwrap_or_else(|| format!("http://{listen}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(bad("PASSERELLE_PUBLIC_URL", "doit commencer par http:// ou https://"));
        }
        let key_dir = env("PASSERELLE_KEY_DIR")
            .map(PathBuf::from)
            .or(file.key_dir)
            .unwrap_or_else(|| PathBuf::from("./passerelle-keys"));
        // SQLite has one writer and every connection is a thread with its own page cache, which
        // each commit invalidates: a few connections serve it best (measured in bench/redeem.sh).
        let default_connections = match ledger::Engine::from_url(&database_url) {
            Some(ledger::Engine::Sqlite) => "4",
            _ => "16",
        };
        let db_max_connections: u32 = pick(
            env,
            "PASSERELLE_DB_MAX_CONNECTIONS",
            file.db_max_connections.map(|v| v.to_string()),
            default_connections,
        )?;
        if !(1..=1000).contains(&db_max_connections) {
            return Err(bad("PASSERELLE_DB_MAX_CONNECTIONS", "entre 1 et 1000"));
        }
        let body_limit_bytes: usize =
            pick(env, "PASSERELLE_BODY_LIMIT_BYTES", file.body_limit_bytes.map(|v| v.to_string()), "1048576")?;
        if !(1024..=256 * 1024 * 1024).contains(&body_limit_bytes) {
            return Err(bad("PASSERELLE_BODY_LIMIT_BYTES", "entre 1024 et 268435456 octets"));
        }
        let timeout: u64 =
            pick(env, "PASSERELLE_REQUEST_TIMEOUT_SECS", file.request_timeout_secs.map(|v| v.to_string()), "30")?;
        if !(1..=3600).contains(&timeout) {
            return Err(bad("PASSERELLE_REQUEST_TIMEOUT_SECS", "entre 1 et 3600 secondes"));
        }
        let log_json = match env("PASSERELLE_LOG_FORMAT").or(file.log_format).as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(bad("PASSERELLE_LOG_FORMAT", format!("« {other} » : text ou json attendu")));
            }
        };
        let issuance_fee_bps: u32 =
            pick(env, "PASSERELLE_ISSUANCE_FEE_BPS", file.issuance_fee_bps.map(|v| v.to_string()), "0")?;
        let redemption_fee_bps: u32 =
            pick(env, "PASSERELLE_REDEMPTION_FEE_BPS", file.redemption_fee_bps.map(|v| v.to_string()), "0")?;
        for (name, v) in
            [("PASSERELLE_ISSUANCE_FEE_BPS", issuance_fee_bps), ("PASSERELLE_REDEMPTION_FEE_BPS", redemption_fee_bps)]
        {
            if v > 10_000 {
                return Err(bad(name, "au plus 10000 points de base (100 %)"));
            }
        }
        let seal_ms: u64 =
            pick(env, "PASSERELLE_SEAL_INTERVAL_MS", file.seal_interval_ms.map(|v| v.to_string()), "500")?;
        if !(10..=3_600_000).contains(&seal_ms) {
            return Err(bad("PASSERELLE_SEAL_INTERVAL_MS", "entre 10 et 3600000 ms"));
        }
        let statistics_ms: u64 =
            pick(env, "PASSERELLE_STATISTICS_INTERVAL_MS", file.statistics_interval_ms.map(|v| v.to_string()), "5000")?;
        if statistics_ms != 0 && !(100..=3_600_000).contains(&statistics_ms) {
            return Err(bad("PASSERELLE_STATISTICS_INTERVAL_MS", "0 (jamais) ou entre 100 et 3600000 ms"));
        }
        let offline_max_age_days: u32 =
            pick(env, "PASSERELLE_OFFLINE_MAX_AGE_DAYS", file.offline_max_age_days.map(|v| v.to_string()), "60")?;
        if !(1..=366).contains(&offline_max_age_days) {
            return Err(bad("PASSERELLE_OFFLINE_MAX_AGE_DAYS", "entre 1 et 366 jours"));
        }
        let token_cache_seconds: u64 =
            pick(env, "PASSERELLE_TOKEN_CACHE_SECONDS", file.token_cache_seconds.map(|v| v.to_string()), "2")?;
        if token_cache_seconds > 60 {
            return Err(bad("PASSERELLE_TOKEN_CACHE_SECONDS", "entre 0 (aucun cache) et 60 secondes"));
        }
        let scans_per_minute_per_user: u32 = pick(
            env,
            "PASSERELLE_SCANS_PER_MINUTE_PER_USER",
            file.scans_per_minute_per_user.map(|v| v.to_string()),
            "600",
        )?;
        let scans_per_minute_per_site: u32 = pick(
            env,
            "PASSERELLE_SCANS_PER_MINUTE_PER_SITE",
            file.scans_per_minute_per_site.map(|v| v.to_string()),
            "3000",
        )?;
        for (name, v) in [
            ("PASSERELLE_SCANS_PER_MINUTE_PER_USER", scans_per_minute_per_user),
            ("PASSERELLE_SCANS_PER_MINUTE_PER_SITE", scans_per_minute_per_site),
        ] {
            if !(1..=10_000_000).contains(&v) {
                return Err(bad(name, "entre 1 et 10000000"));
            }
        }
        let settlement_schedule = match env("PASSERELLE_SETTLEMENT_SCHEDULE").or(file.settlement_schedule).as_deref() {
            None | Some("monthly") => Some(settlement::runs::Period::Monthly),
            Some("weekly") => Some(settlement::runs::Period::Weekly),
            Some("off") => None,
            Some(other) => {
                return Err(bad(
                    "PASSERELLE_SETTLEMENT_SCHEDULE",
                    format!("« {other} » : monthly, weekly ou off attendu"),
                ));
            }
        };
        let mode = env("PASSERELLE_SETTLEMENT_MODE").or(file.settlement_mode).unwrap_or_else(|| "custody".into());
        let settlement_mode = settlement::runs::Mode::parse(&mode)
            .ok_or_else(|| bad("PASSERELLE_SETTLEMENT_MODE", format!("« {mode} » : custody ou direct attendu")))?;
        let minimum =
            env("PASSERELLE_SETTLEMENT_MINIMUM").or(file.settlement_minimum).unwrap_or_else(|| "10,00".into());
        let settlement_minimum = minimum.parse::<ledger::Cents>().ok().filter(|c| c.0 > 0).ok_or_else(|| {
            bad(
                "PASSERELLE_SETTLEMENT_MINIMUM",
                format!("« {minimum} » : un montant positif en euros attendu (ex. 10,00)"),
            )
        })?;
        let operator_account = match env("PASSERELLE_OPERATOR_IBAN").or(file.operator_iban) {
            None => None,
            Some(iban) => {
                let iban = iban.parse().map_err(|e| bad("PASSERELLE_OPERATOR_IBAN", format!("{e}")))?;
                let bic = env("PASSERELLE_OPERATOR_BIC")
                    .or(file.operator_bic)
                    .map(|b| b.parse().map_err(|e| bad("PASSERELLE_OPERATOR_BIC", format!("{e}"))))
                    .transpose()?;
                Some((iban, bic))
            }
        };
        let operator_address = env("PASSERELLE_OPERATOR_ADDRESS")
            .or(file.operator_address)
            .unwrap_or_else(|| "Adresse à configurer (PASSERELLE_OPERATOR_ADDRESS)".into())
            .replace("\\n", "\n");
        let operator_siret = env("PASSERELLE_OPERATOR_SIRET")
            .or(file.operator_siret)
            .map(|s| s.parse().map_err(|e| bad("PASSERELLE_OPERATOR_SIRET", format!("{e}"))))
            .transpose()?;
        let vat_number = env("PASSERELLE_VAT_NUMBER").or(file.vat_number);
        let vat_rate_bps: u32 = pick(env, "PASSERELLE_VAT_RATE_BPS", file.vat_rate_bps.map(|v| v.to_string()), "2000")?;
        if vat_rate_bps > 10_000 {
            return Err(bad("PASSERELLE_VAT_RATE_BPS", "au plus 10000 points de base (100 %)"));
        }
        let payment_terms_days: u32 =
            pick(env, "PASSERELLE_PAYMENT_TERMS_DAYS", file.payment_terms_days.map(|v| v.to_string()), "30")?;
        if !(1..=60).contains(&payment_terms_days) {
            return Err(bad("PASSERELLE_PAYMENT_TERMS_DAYS", "entre 1 et 60 jours (code de commerce, art. L441-10)"));
        }
        let smtp_url = env("PASSERELLE_SMTP_URL").or(file.smtp_url).map(Secret);
        if let Some(url) = &smtp_url {
            // The URL carries the password: the message never repeats it.
            let scheme_ok = url.0.starts_with("smtp://") || url.0.starts_with("smtps://");
            if !scheme_ok || lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&url.0).is_err() {
                return Err(bad(
                    "PASSERELLE_SMTP_URL",
                    "smtp://utilisateur:motdepasse@hôte:587 (STARTTLS) ou smtps://…@hôte:465 (TLS) attendu",
                ));
            }
        }
        let from = env("PASSERELLE_MAIL_FROM")
            .or(file.mail_from)
            .unwrap_or_else(|| "Passerelle <passerelle@localhost>".into());
        let mail_from: lettre::message::Mailbox = from
            .parse()
            .map_err(|_| bad("PASSERELLE_MAIL_FROM", format!("« {from} » : Nom <adresse@domaine> attendu")))?;
        let mail_dir = env("PASSERELLE_MAIL_DIR").map(PathBuf::from).or(file.mail_dir).unwrap_or_else(|| {
            let sqlite_file = database_url.strip_prefix("sqlite://").or_else(|| database_url.strip_prefix("sqlite:"));
            match sqlite_file.map(|f| Path::new(f.split('?').next().unwrap_or(f))) {
                Some(file) => file.parent().unwrap_or(Path::new(".")).join("mail"),
                None => PathBuf::from("./mail"),
            }
        });
        Ok(Config {
            smtp_url,
            mail_from,
            mail_dir,
            settlement_mode,
            operator_address,
            operator_siret,
            vat_number,
            vat_rate_bps,
            payment_terms_days,
            settlement_schedule,
            settlement_minimum,
            operator_account,
            scans_per_minute_per_user,
            scans_per_minute_per_site,
            offline_max_age_days,
            token_cache: Duration::from_secs(token_cache_seconds),
            database_url,
            listen,
            public_url: public_url.trim_end_matches('/').to_owned(),
            key_dir,
            db_max_connections,
            body_limit_bytes,
            request_timeout: Duration::from_secs(timeout),
            log_json,
            issuance_fee_bps,
            redemption_fee_bps,
            seal_interval: Duration::from_millis(seal_ms),
            statistics_interval: (statistics_ms > 0).then(|| Duration::from_millis(statistics_ms)),
        })
    }
}

impl Config {
    /// The operator as it appears on invoices (its name comes from the database).
    pub fn seller(&self, name: String) -> issuer::invoices::Seller {
        issuer::invoices::Seller {
            name,
            siret: self.operator_siret.as_ref().map(|s| s.as_str().to_owned()),
            address: self.operator_address.clone(),
            vat_number: self.vat_number.clone(),
            vat_rate_bps: self.vat_rate_bps,
            payment_days: self.payment_terms_days,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(toml: Option<&str>, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_sources(toml, &move |k| vars.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = load(None, &[]).unwrap();
        assert_eq!(c.database_url, "sqlite:./passerelle.db");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.redemption_fee_bps, 0);
    }

    #[test]
    fn environment_overrides_file() {
        let c = load(
            Some("listen = \"0.0.0.0:9000\"\nredemption_fee_bps = 150"),
            &[("PASSERELLE_LISTEN", "127.0.0.1:7000")],
        )
        .unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(c.redemption_fee_bps, 150);
    }

    #[test]
    fn errors_name_the_setting() {
        let e = load(None, &[("PASSERELLE_LISTEN", "nowhere")]).unwrap_err();
        assert_eq!(e.setting, "PASSERELLE_LISTEN");
        let e = load(None, &[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(e.setting, "DATABASE_URL");
        let e = load(Some("unknown_key = 1"), &[]).unwrap_err();
        assert!(e.reason.contains("unknown_key"), "{e}");
        let e = load(None, &[("PASSERELLE_REDEMPTION_FEE_BPS", "20000")]).unwrap_err();
        assert_eq!(e.setting, "PASSERELLE_REDEMPTION_FEE_BPS");
        assert!(e.to_string().starts_with("configuration invalide — PASSERELLE_REDEMPTION_FEE_BPS"));
    }

    #[test]
    fn token_cache() {
        assert_eq!(load(None, &[]).unwrap().token_cache, Duration::from_secs(2));
        assert_eq!(load(Some("token_cache_seconds = 0"), &[]).unwrap().token_cache, Duration::ZERO);
        let e = load(None, &[("PASSERELLE_TOKEN_CACHE_SECONDS", "3600")]).unwrap_err();
        assert_eq!(e.setting, "PASSERELLE_TOKEN_CACHE_SECONDS");
    }

    #[test]
    fn mail() {
        let c = load(None, &[("DATABASE_URL", "sqlite:/srv/passerelle/base.db")]).unwrap();
        assert_eq!(c.mail_dir, PathBuf::from("/srv/passerelle/mail"));
        assert!(c.smtp_url.is_none());
        assert_eq!(c.mail_from.email.to_string(), "passerelle@localhost");
        let c = load(None, &[("PASSERELLE_SMTP_URL", "smtps://moi:tr%C3%A8s-secret@smtp.example.fr:465")]).unwrap();
        assert!(!format!("{c:?}").contains("secret"), "the password never shows");
        let e = load(None, &[("PASSERELLE_SMTP_URL", "http://moi:secret@x")]).unwrap_err();
        assert_eq!(e.setting, "PASSERELLE_SMTP_URL");
        assert!(!e.to_string().contains("secret"));
        let e = load(None, &[("PASSERELLE_MAIL_FROM", "pas une adresse")]).unwrap_err();
        assert_eq!(e.setting, "PASSERELLE_MAIL_FROM");
    }

    #[test]
    fn statistics_interval() {
        assert_eq!(load(None, &[]).unwrap().statistics_interval, Some(Duration::from_secs(5)));
        let off = load(Some("statistics_interval_ms = 0"), &[]).unwrap();
        assert_eq!(off.statistics_interval, None);
        let e = load(None, &[("PASSERELLE_STATISTICS_INTERVAL_MS", "5")]).unwrap_err();
        assert_eq!(e.setting, "PASSERELLE_STATISTICS_INTERVAL_MS");
    }
}
