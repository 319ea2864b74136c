-- Funder invoices and credit notes (DESIGN §8), numbered without gaps per series (SQLite).

-- The last number given in each series (e.g. F2026, AV2026); incremented in the transaction that
-- writes the document, so a rolled-back document gives its number back.
CREATE TABLE invoice_counters (
    series      TEXT    PRIMARY KEY,
    last_number INTEGER NOT NULL
);

CREATE TABLE invoices (
    id                 INTEGER PRIMARY KEY,
    kind               TEXT    NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    series             TEXT    NOT NULL,
    number             INTEGER NOT NULL,
    reference          TEXT    NOT NULL UNIQUE,
    funder_id          INTEGER NOT NULL REFERENCES organisations (id),
    order_id           INTEGER NOT NULL REFERENCES orders (id),
    -- The ledger transaction the document states (issuance, expiry or cancellation refund).
    source_transaction INTEGER NOT NULL REFERENCES ledger_transactions (id),
    issued_on          TEXT    NOT NULL,
    due_on             TEXT,
    vouchers           INTEGER NOT NULL,
    face_cents         INTEGER NOT NULL,
    fee_net_cents      INTEGER NOT NULL,
    vat_cents          INTEGER NOT NULL,
    total_cents        INTEGER NOT NULL,
    vat_rate_bps       INTEGER NOT NULL,
    -- Who sold and who bought, as they were when the document was written (JSON).
    seller             TEXT    NOT NULL,
    buyer              TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    UNIQUE (series, number),
    UNIQUE (kind, source_transaction, funder_id)
);
CREATE INDEX invoices_funder ON invoices (funder_id, id);
