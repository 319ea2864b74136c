//! The outbox: messages waiting to be delivered, written in the caller's transaction, with their
//! delivery state (attempts, next attempt, sent, last error).

use ledger::time;
use sqlx::{AnyConnection, Row};

/// A message to write to the outbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// What it is about: `password_reset`, `invitation`, …
    pub kind: &'static str,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A message of the outbox and where its delivery stands.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: i64,
    /// The left part of the Message-ID (`<message_id@domain of the sender>`), the same at every
    /// attempt.
    pub message_id: String,
    pub kind: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub attempts: i64,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_error: Option<String>,
}

/// Where a message's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not tried yet.
    Pending,
    /// Accepted by the transport.
    Sent,
    /// Tried and refused at least once; tried again later.
    Failing,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Sent => "sent",
            State::Failing => "failing",
        }
    }
}

impl Stored {
    pub fn state(&self) -> State {
        match (self.sent_at, self.attempts) {
            (Some(_), _) => State::Sent,
            (None, 0) => State::Pending,
            (None, _) => State::Failing,
        }
    }
}

/// How many messages are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending: i64,
    pub sent: i64,
    pub failing: i64,
}

/// Writes a message in the caller's transaction: it is sent only if that transaction commits.
/// Returns its message id.
pub async fn enqueue(conn: &mut AnyConnection, m: &NewMessage) -> Result<String, sqlx::Error> {
    let message_id = format!("{}.passerelle", hex::encode(rand::random::<[u8; 16]>()));
    let now = time::to_micros(time::now());
    sqlx::query(
        "INSERT INTO outbox_messages (message_id, kind, recipients, subject, body_text, body_html, created_at, \
         next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&message_id)
    .bind(m.kind)
    .bind(m.to.join("\n"))
    .bind(&m.subject)
    .bind(&m.text)
    .bind(&m.html)
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(message_id)
}

const COLUMNS: &str = "SELECT id, message_id, kind, recipients, subject, body_text, body_html, created_at, attempts, \
                       next_attempt_at, sent_at, last_error FROM outbox_messages";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Stored, sqlx::Error> {
    let recipients: String = r.try_get(3)?;
    Ok(Stored {
        id: r.try_get(0)?,
        message_id: r.try_get(1)?,
        kind: r.try_get(2)?,
        to: recipients.lines().map(str::to_owned).collect(),
        subject: r.try_get(4)?,
        text: r.try_get(5)?,
        html: r.try_get(6)?,
        created_at: time::from_micros(r.try_get(7)?),
        attempts: r.try_get(8)?,
        next_attempt_at: time::from_micros(r.try_get(9)?),
        sent_at: r.try_get::<Option<i64>, _>(10)?.map(time::from_micros),
        last_error: r.try_get(11)?,
    })
}

/// Messages not sent whose next attempt is due at `now`, oldest first.
pub async fn due(db: &ledger::Db, now: chrono::DateTime<chrono::Utc>, limit: i64) -> Result<Vec<Stored>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{COLUMNS} WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2"
    )))
    .bind(time::to_micros(now))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Takes a due message for `lease` (another sender sharing the database leaves it alone
/// meanwhile; a sender that dies holding it gives it back when the lease ends). False when
/// another sender took it first or it was sent meanwhile.
pub async fn claim(
    db: &ledger::Db,
    id: i64,
    now: chrono::DateTime<chrono::Utc>,
    lease: chrono::Duration,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE outbox_messages SET next_attempt_at = $1 WHERE id = $2 AND sent_at IS NULL AND next_attempt_at <= $3",
    )
    .bind(time::to_micros(now + lease))
    .bind(id)
    .bind(time::to_micros(now))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// Records that the transport accepted the message.
pub async fn mark_sent(db: &ledger::Db, id: i64, now: chrono::DateTime<chrono::Utc>) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE outbox_messages SET sent_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2")
        .bind(time::to_micros(now))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Records a failed attempt and when to try again.
pub async fn mark_failed(
    db: &ledger::Db,
    id: i64,
    next_attempt_at: chrono::DateTime<chrono::Utc>,
    error: &str,
) -> Result<(), sqlx::Error> {
    let error: String = error.chars().take(1000).collect();
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE outbox_messages SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 \
         WHERE id = $3 AND sent_at IS NULL",
    )
    .bind(time::to_micros(next_attempt_at))
    .bind(error)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// The most recent messages first, at most `limit`.
pub async fn list(db: &ledger::Db, limit: i64) -> Result<Vec<Stored>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} ORDER BY id DESC LIMIT $1")))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// One message by its row id.
pub async fn get(db: &ledger::Db, id: i64) -> Result<Option<Stored>, sqlx::Error> {
    let row =
        sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id = $1"))).bind(id).fetch_optional(db.pool()).await?;
    row.as_ref().map(from_row).transpose()
}

/// How many messages are pending, sent and failing.
pub async fn counts(db: &ledger::Db) -> Result<Counts, sqlx::Error> {
    let (pending, sent, failing): (i64, i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN sent_at IS NULL AND attempts = 0 THEN 1 ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN sent_at IS NULL AND attempts > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM outbox_messages",
    )
    .fetch_one(db.pool())
    .await?;
    Ok(Counts { pending, sent, failing })
}
