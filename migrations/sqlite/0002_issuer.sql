-- Issuer: funder and prescriber profiles, orders, books, vouchers, funder payments (SQLite).

CREATE TABLE organisation_profiles (
    organisation_id INTEGER PRIMARY KEY REFERENCES organisations (id),
    category        TEXT    NOT NULL,
    territory       TEXT    NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE orders (
    id                 INTEGER PRIMARY KEY,
    label              TEXT    NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('draft', 'confirmed', 'issuing', 'issued', 'cancelled')),
    books              INTEGER NOT NULL CHECK (books > 0),
    vouchers_per_book  INTEGER NOT NULL CHECK (vouchers_per_book > 0),
    face_value_cents   INTEGER NOT NULL CHECK (face_value_cents > 0),
    valid_from         TEXT    NOT NULL,
    valid_until        TEXT    NOT NULL,
    grace_days         INTEGER NOT NULL,
    territory          TEXT    NOT NULL,
    allowed_categories TEXT,
    unused_policy      TEXT    NOT NULL CHECK (unused_policy IN ('refund', 'breakage')),
    issuance_fee_bps   INTEGER NOT NULL,
    redemption_fee_bps INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    created_by         INTEGER REFERENCES users (id),
    confirmed_at       INTEGER,
    issued_at          INTEGER,
    cancelled_at       INTEGER,
    issue_transaction  INTEGER REFERENCES ledger_transactions (id)
);

CREATE TABLE order_funders (
    order_id  INTEGER NOT NULL REFERENCES orders (id),
    funder_id INTEGER NOT NULL REFERENCES organisations (id),
    share_bps INTEGER NOT NULL CHECK (share_bps > 0 AND share_bps <= 10000),
    PRIMARY KEY (order_id, funder_id)
);
CREATE INDEX order_funders_funder ON order_funders (funder_id);

CREATE TABLE books (
    id              INTEGER PRIMARY KEY,
    order_id        INTEGER NOT NULL REFERENCES orders (id),
    number          INTEGER NOT NULL,
    serial          TEXT    NOT NULL UNIQUE,
    status          TEXT    NOT NULL CHECK (status IN ('issued', 'assigned', 'distributed', 'cancelled')),
    prescriber_id   INTEGER REFERENCES organisations (id),
    assigned_at     INTEGER,
    distributed_at  INTEGER,
    distributed_by  INTEGER REFERENCES users (id),
    cancelled_at    INTEGER,
    cancel_reason   TEXT,
    age_band        TEXT,
    commune_insee   TEXT,
    autonomy        TEXT CHECK (autonomy IS NULL OR autonomy IN ('excluded', 'beginner', 'advanced')),
    referral_reason TEXT,
    UNIQUE (order_id, number)
);
CREATE INDEX books_prescriber ON books (prescriber_id, status);

CREATE TABLE vouchers (
    id               INTEGER PRIMARY KEY,
    book_id          INTEGER NOT NULL REFERENCES books (id),
    order_id         INTEGER NOT NULL REFERENCES orders (id),
    position         INTEGER NOT NULL,
    code             INTEGER NOT NULL UNIQUE,
    face_value_cents INTEGER NOT NULL,
    key_number       INTEGER NOT NULL,
    signature        BLOB    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('active', 'redeemed', 'expired', 'cancelled')),
    status_at        INTEGER
);
CREATE INDEX vouchers_book ON vouchers (book_id, position);
CREATE INDEX vouchers_order_status ON vouchers (order_id, status);

CREATE TABLE funder_payments (
    id                 INTEGER PRIMARY KEY,
    funder_id          INTEGER NOT NULL REFERENCES organisations (id),
    amount_cents       INTEGER NOT NULL CHECK (amount_cents > 0),
    received_on        TEXT    NOT NULL,
    bank_reference     TEXT    NOT NULL,
    ledger_transaction INTEGER NOT NULL REFERENCES ledger_transactions (id),
    created_at         INTEGER NOT NULL,
    created_by         INTEGER REFERENCES users (id),
    UNIQUE (funder_id, bank_reference)
);
