//! The sender: takes the messages that are due, hands each to the transport, and records the
//! outcome. A message is marked sent only after the transport accepted it, so a crash in
//! between sends it again — with the same Message-ID, which lets the receiving side see it is
//! the same message (at least once, never lost). A refusal is retried with exponential backoff
//! (30 s, 1 min, 2 min, … at most 1 hour) and its error kept for the operator.

use crate::notify::outbox::{self, Stored};
use crate::notify::transport::Transport;
use chrono::{DateTime, Duration, Utc};
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use tokio::sync::watch;

/// How often the server looks for due messages.
pub const INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
/// How long a sender holds a message it is sending before another may take it.
const LEASE_MINUTES: i64 = 10;
/// Messages taken in one pass.
const BATCH: i64 = 50;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub sent: usize,
    pub failed: usize,
}

/// The wait before the next attempt after `attempts` failed ones: 30 s doubled each time, at
/// most one hour.
pub fn backoff(attempts: i64) -> Duration {
    let doublings = attempts.clamp(1, 8) - 1;
    Duration::seconds((30_i64 << doublings).min(3600))
}

/// The email of a stored message: its Message-ID is `<message_id@domain of the sender>`, the
/// same at every attempt.
pub fn email(m: &Stored, from: &Mailbox) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(m.subject.clone())
        .message_id(Some(format!("<{}@{}>", m.message_id, from.email.domain())))
        .date(m.created_at.into());
    for to in &m.to {
        let to: Mailbox = to.parse().map_err(|_| format!("adresse du destinataire invalide : {to}"))?;
        builder = builder.to(to);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(m.text.clone(), m.html.clone()))
        .map_err(|e| format!("message impossible à former : {e}"))
}

/// Delivers the messages due at `now`, once each.
pub async fn deliver_due(
    db: &ledger::Db,
    transport: &Transport,
    from: &Mailbox,
    now: DateTime<Utc>,
) -> Result<Report, sqlx::Error> {
    let mut report = Report::default();
    for m in outbox::due(db, now, BATCH).await? {
        if !outbox::claim(db, m.id, now, Duration::minutes(LEASE_MINUTES)).await? {
            continue;
        }
        let sent = match email(&m, from) {
            Ok(message) => transport.send(&message, &m.message_id).await.map_err(|e| e.0),
            Err(e) => Err(e),
        };
        match sent {
            Ok(()) => {
                outbox::mark_sent(db, m.id, ledger::time::now()).await?;
                metrics::counter!("mail_delivered_total", "kind" => m.kind.clone()).increment(1);
                tracing::info!(message = %m.message_id, kind = %m.kind, "courriel remis");
                report.sent += 1;
            }
            Err(error) => {
                let attempts = m.attempts + 1;
                outbox::mark_failed(db, m.id, now + backoff(attempts), &error).await?;
                metrics::counter!("mail_delivery_failures_total", "kind" => m.kind.clone()).increment(1);
                tracing::warn!(message = %m.message_id, kind = %m.kind, attempts, %error, "courriel non remis, nouvel essai plus tard");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// The server's loop: every second, delivers what is due, until `stop`.
pub async fn run(db: ledger::Db, config: std::sync::Arc<crate::config::Config>, mut stop: watch::Receiver<bool>) {
    let transport = match Transport::from_config(&config) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "courriels : aucun envoi possible");
            return;
        }
    };
    tracing::info!(transport = %transport.describe(), "courriels : envoi actif");
    loop {
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = deliver_due(&db, &transport, &config.mail_from, ledger::time::now()).await {
            tracing::warn!(error = %e, "courriels : envoi différé");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use chrono::Duration;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(3), Duration::seconds(120));
        assert_eq!(backoff(8), Duration::seconds(3600));
        assert_eq!(backoff(1000), Duration::seconds(3600));
    }
}
