-- Settlement runs and payouts (DESIGN §8) (SQLite).

CREATE TABLE settlement_runs (
    id            INTEGER PRIMARY KEY,
    -- Last day of the period (Europe/Paris); one run per period.
    period_end    TEXT    NOT NULL UNIQUE,
    -- First day, or NULL for the first run (everything before the end).
    period_start  TEXT,
    status        TEXT    NOT NULL CHECK (status IN ('draft', 'released', 'cancelled')),
    -- custody: the operator pays the sites; direct: each funder pays the sites its share.
    mode          TEXT    NOT NULL DEFAULT 'custody' CHECK (mode IN ('custody', 'direct')),
    minimum_cents INTEGER NOT NULL CHECK (minimum_cents > 0),
    created_at    INTEGER NOT NULL,
    created_by    INTEGER REFERENCES users (id),
    released_at   INTEGER,
    released_by   INTEGER REFERENCES users (id)
);

CREATE TABLE payouts (
    id                 INTEGER PRIMARY KEY,
    run_id             INTEGER NOT NULL REFERENCES settlement_runs (id),
    site_id            INTEGER NOT NULL REFERENCES sites (organisation_id),
    -- direct mode: the funder who pays this part (NULL in custody mode).
    funder_id          INTEGER REFERENCES organisations (id),
    amount_cents       INTEGER NOT NULL CHECK (amount_cents > 0),
    -- The bank details at the time of the run.
    iban               TEXT    NOT NULL,
    bic                TEXT,
    account_holder     TEXT    NOT NULL,
    end_to_end_id      TEXT    NOT NULL UNIQUE,
    status             TEXT    NOT NULL CHECK (status IN ('draft', 'sent', 'confirmed', 'returned')),
    ledger_transaction INTEGER REFERENCES ledger_transactions (id),
    confirmed_at       INTEGER,
    returned_at        INTEGER,
    return_reason      TEXT,
    UNIQUE (run_id, site_id, funder_id)
);
CREATE INDEX payouts_site ON payouts (site_id, id);

-- Funders' bank accounts, from which they pay the sites in direct mode.
CREATE TABLE funder_accounts (
    funder_id      INTEGER PRIMARY KEY REFERENCES organisations (id),
    iban           TEXT    NOT NULL,
    bic            TEXT,
    account_holder TEXT    NOT NULL,
    updated_at     INTEGER NOT NULL
);
