-- Transactional email (SQLite): the outbox, written in the transaction of the change that causes
-- each message and emptied by the sender; single-use password tokens, kept as SHA-256.

CREATE TABLE outbox_messages (
    id              INTEGER PRIMARY KEY,
    -- The Message-ID of the email (without angle brackets): a redelivery carries the same one.
    message_id      TEXT    NOT NULL UNIQUE,
    -- What the message is about (password_reset, invitation, …).
    kind            TEXT    NOT NULL,
    -- Recipients, one address a line.
    recipients      TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at         INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_messages_due ON outbox_messages (next_attempt_at) WHERE sent_at IS NULL;

CREATE TABLE password_tokens (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT    NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    -- reset (« mot de passe oublié ») or invitation (first password of a new member).
    purpose    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX password_tokens_user ON password_tokens (user_id);
