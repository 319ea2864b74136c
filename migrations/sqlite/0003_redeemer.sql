-- Redeemer: catalogue, sites, places, accreditation history, redemptions (SQLite).

CREATE TABLE catalogue_services (
    code             TEXT    PRIMARY KEY,
    label            TEXT    NOT NULL,
    category         TEXT    NOT NULL,
    format           TEXT    NOT NULL CHECK (format IN ('individual', 'collective', 'remote')),
    duration_minutes INTEGER NOT NULL,
    price_vouchers   INTEGER NOT NULL CHECK (price_vouchers > 0),
    retired_at       INTEGER
);

CREATE TABLE sites (
    organisation_id  INTEGER PRIMARY KEY REFERENCES organisations (id),
    iban             TEXT,
    bic              TEXT,
    account_holder   TEXT,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'accredited', 'suspended', 'revoked')),
    accredited_until TEXT,
    bank_review      INTEGER NOT NULL DEFAULT 0,
    updated_at       INTEGER NOT NULL
);

CREATE TABLE site_accreditations (
    id               INTEGER PRIMARY KEY,
    site_id          INTEGER NOT NULL REFERENCES sites (organisation_id),
    status           TEXT    NOT NULL,
    accredited_until TEXT,
    decided_by       INTEGER REFERENCES users (id),
    decided_at       INTEGER NOT NULL,
    comment          TEXT    NOT NULL
);
CREATE INDEX site_accreditations_site ON site_accreditations (site_id, id);

CREATE TABLE site_places (
    id            INTEGER PRIMARY KEY,
    site_id       INTEGER NOT NULL REFERENCES sites (organisation_id),
    name          TEXT    NOT NULL,
    address       TEXT    NOT NULL,
    commune_insee TEXT    NOT NULL,
    opening_hours TEXT    NOT NULL
);
CREATE INDEX site_places_site ON site_places (site_id);

CREATE TABLE site_services (
    site_id      INTEGER NOT NULL REFERENCES sites (organisation_id),
    service_code TEXT    NOT NULL REFERENCES catalogue_services (code),
    PRIMARY KEY (site_id, service_code)
);

CREATE TABLE redemptions (
    id                 INTEGER PRIMARY KEY,
    idempotency_key    TEXT    NOT NULL UNIQUE,
    request_hash       BLOB    NOT NULL,
    site_id            INTEGER NOT NULL REFERENCES sites (organisation_id),
    place_id           INTEGER NOT NULL REFERENCES site_places (id),
    service_code       TEXT    NOT NULL REFERENCES catalogue_services (code),
    scanned_by         INTEGER REFERENCES users (id),
    performed_at       INTEGER NOT NULL,
    recorded_at        INTEGER NOT NULL,
    voucher_count      INTEGER NOT NULL,
    value_cents        INTEGER NOT NULL,
    fee_cents          INTEGER NOT NULL,
    ledger_transaction INTEGER NOT NULL REFERENCES ledger_transactions (id),
    outcome            TEXT,
    autonomy_before    INTEGER,
    autonomy_after     INTEGER
);
CREATE INDEX redemptions_site ON redemptions (site_id, performed_at);

CREATE TABLE redemption_vouchers (
    redemption_id INTEGER NOT NULL REFERENCES redemptions (id),
    voucher_id    INTEGER NOT NULL UNIQUE REFERENCES vouchers (id),
    PRIMARY KEY (redemption_id, voucher_id)
);
