//! Where messages go: an SMTP server (STARTTLS or TLS, with credentials, from
//! `PASSERELLE_SMTP_URL`), or `.eml` files in a folder when none is configured (the embedded
//! default and the demo). Errors never carry the SMTP password.

use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::{Path, PathBuf};

/// A configured transport. Cheap to clone.
#[derive(Clone)]
pub enum Transport {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, server: String },
    Files(PathBuf),
}

/// Why a message was not accepted, in words safe to log and to show the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

impl Transport {
    /// The transport of a configuration: SMTP when `PASSERELLE_SMTP_URL` is set, files otherwise.
    pub fn from_config(config: &crate::config::Config) -> Result<Transport, TransportError> {
        match &config.smtp_url {
            None => Ok(Transport::Files(config.mail_dir.clone())),
            Some(url) => Transport::smtp(url.expose()),
        }
    }

    /// An SMTP transport from lettre's URL form: `smtps://user:pass@host:465` (TLS from the
    /// first byte), `smtp://user:pass@host:587?tls=required` (STARTTLS, refused if the server
    /// cannot), `smtp://host:25` (plain text, for a relay on the same machine).
    pub fn smtp(url: &str) -> Result<Transport, TransportError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| TransportError("adresse du serveur SMTP invalide".into()))?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        Ok(Transport::Smtp { transport, server: server_of(url) })
    }

    /// Where messages go, without credentials (for logs and the operator's page).
    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp { server, .. } => format!("serveur SMTP {server}"),
            Transport::Files(dir) => format!("fichiers .eml dans {}", dir.display()),
        }
    }

    /// Hands a message over; `Ok` only once the server accepted it (or the file is written
    /// whole). `file_stem` names the file of the file transport (the message id: writing the
    /// same message twice leaves one file).
    pub async fn send(&self, message: &Message, file_stem: &str) -> Result<(), TransportError> {
        match self {
            Transport::Smtp { transport, .. } => {
                transport.send(message.clone()).await.map(|_| ()).map_err(|e| TransportError(describe_smtp(&e)))
            }
            Transport::Files(dir) => write_file(dir, file_stem, &message.formatted())
                .await
                .map_err(|e| TransportError(format!("écriture dans {} impossible : {e}", dir.display()))),
        }
    }
}

/// The host and port of an SMTP URL, never its credentials.
fn server_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    host.split(['/', '?']).next().unwrap_or_default().to_owned()
}

/// An SMTP error in words: lettre's messages name the failure (connection refused, permanent
/// refusal with the server's code and text), never the credentials.
fn describe_smtp(e: &lettre::transport::smtp::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(" : ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Writes `<dir>/<stem>.eml` through a temporary file and a rename: a reader never sees half a
/// message.
async fn write_file(dir: &Path, stem: &str, bytes: &[u8]) -> std::io::Result<()> {
    let stem: String = stem.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect();
    tokio::fs::create_dir_all(dir).await?;
    let partial = dir.join(format!(".{stem}.eml.part"));
    tokio::fs::write(&partial, bytes).await?;
    tokio::fs::rename(&partial, dir.join(format!("{stem}.eml"))).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_server_is_named_without_credentials() {
        assert_eq!(super::server_of("smtps://moi:secret@smtp.example.fr:465"), "smtp.example.fr:465");
        assert_eq!(super::server_of("smtp://localhost:2525?tls=none"), "localhost:2525");
    }
}
