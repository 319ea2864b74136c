-- Foundation: identity, audit trail and the double-entry ledger (SQLite).
-- Money is INTEGER cents, instants are INTEGER microseconds since the Unix epoch (UTC).

CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('operator', 'funder', 'prescriber', 'site')),
    name        TEXT    NOT NULL,
    siret       TEXT    UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    email           TEXT    NOT NULL UNIQUE,
    display_name    TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('manager', 'member')),
    password_hash   TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    disabled_at     INTEGER
);
CREATE INDEX users_organisation ON users (organisation_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    actor_user_id   INTEGER REFERENCES users (id),
    organisation_id INTEGER REFERENCES organisations (id),
    action          TEXT    NOT NULL,
    object_type     TEXT    NOT NULL,
    object_id       TEXT    NOT NULL,
    details         TEXT    NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (organisation_id, id);

CREATE TABLE ledger_accounts (
    id            INTEGER PRIMARY KEY,
    code          TEXT    NOT NULL,
    -- Shared accounts (bank, fees, …) keep their balance in several rows so that concurrent
    -- transactions do not queue on one row lock; their balance is the sum of the shards.
    shard         INTEGER NOT NULL DEFAULT 0,
    nature        TEXT    NOT NULL CHECK (nature IN ('asset', 'liability', 'income')),
    balance       INTEGER NOT NULL DEFAULT 0,
    posting_count INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    UNIQUE (code, shard)
);

CREATE TABLE ledger_seals (
    id          INTEGER PRIMARY KEY,
    prev_hash   BLOB    NOT NULL,
    hash        BLOB    NOT NULL,
    leaves      BLOB    NOT NULL,
    first_tx_id INTEGER NOT NULL,
    last_tx_id  INTEGER NOT NULL,
    tx_count    INTEGER NOT NULL,
    sealed_at   INTEGER NOT NULL
);

CREATE TABLE ledger_transactions (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    memo            TEXT    NOT NULL,
    at              INTEGER NOT NULL,
    recorded_at     INTEGER NOT NULL,
    reverses_id     INTEGER UNIQUE REFERENCES ledger_transactions (id),
    content_hash    BLOB    NOT NULL,
    seal_id         INTEGER REFERENCES ledger_seals (id)
);
CREATE INDEX ledger_transactions_unsealed ON ledger_transactions (seal_id, id);
CREATE INDEX ledger_transactions_at ON ledger_transactions (at);

CREATE TABLE ledger_postings (
    id             INTEGER PRIMARY KEY,
    transaction_id INTEGER NOT NULL REFERENCES ledger_transactions (id),
    account_id     INTEGER NOT NULL REFERENCES ledger_accounts (id),
    amount         INTEGER NOT NULL CHECK (amount <> 0),
    balance_after  INTEGER NOT NULL
);
CREATE INDEX ledger_postings_tx ON ledger_postings (transaction_id);
CREATE INDEX ledger_postings_account ON ledger_postings (account_id, id);

-- Entries are append-only: the database itself refuses edits and deletions.
CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger postings are append-only'); END;
CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger postings are append-only'); END;
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
WHEN NEW.id IS NOT OLD.id OR NEW.idempotency_key IS NOT OLD.idempotency_key OR NEW.kind IS NOT OLD.kind
  OR NEW.memo IS NOT OLD.memo OR NEW.at IS NOT OLD.at OR NEW.recorded_at IS NOT OLD.recorded_at
  OR NEW.reverses_id IS NOT OLD.reverses_id OR NEW.content_hash IS NOT OLD.content_hash
  OR (OLD.seal_id IS NOT NULL AND NEW.seal_id IS NOT OLD.seal_id)
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
