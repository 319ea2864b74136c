-- Anomaly flags for operator review (DESIGN §7), and the counters they are computed from (SQLite).

-- Redemptions per site and local day (Europe/Paris), kept in the redemption's transaction.
CREATE TABLE site_daily_redemptions (
    site_id     INTEGER NOT NULL REFERENCES sites (organisation_id),
    day         TEXT    NOT NULL,
    redemptions INTEGER NOT NULL,
    -- Fixed at the first look of the day from the four weeks before (see redeemer::anomalies).
    burst_threshold    INTEGER,
    active_days_before INTEGER,
    redemptions_before INTEGER,
    PRIMARY KEY (site_id, day)
);

-- Inputs refused as not being a valid voucher (unreadable, forged, unknown), per account.
CREATE TABLE scan_rejections (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER REFERENCES users (id),
    site_id INTEGER NOT NULL REFERENCES sites (organisation_id),
    at      INTEGER NOT NULL,
    reason  TEXT    NOT NULL,
    input   TEXT    NOT NULL
);
CREATE INDEX scan_rejections_user ON scan_rejections (user_id, at);
CREATE INDEX scan_rejections_site ON scan_rejections (site_id, at);

CREATE TABLE anomalies (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL CHECK (kind IN ('burst', 'book_many_sites', 'outside_opening_hours', 'repeated_invalid_codes')),
    -- One flag per subject and period: a second detection of the same thing updates nothing.
    dedup_key    TEXT    NOT NULL UNIQUE,
    site_id      INTEGER REFERENCES sites (organisation_id),
    detected_at  INTEGER NOT NULL,
    evidence     TEXT    NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'dismissed')),
    dismissed_by INTEGER REFERENCES users (id),
    dismissed_at INTEGER,
    comment      TEXT
);
CREATE INDEX anomalies_status ON anomalies (status, id);

-- The book, site and time of each redeemed voucher (copied from the voucher and the
-- redemption, never changed), to find a book's uses in one single-table indexed lookup.
ALTER TABLE redemption_vouchers ADD COLUMN book_id INTEGER REFERENCES books (id);
ALTER TABLE redemption_vouchers ADD COLUMN site_id INTEGER REFERENCES sites (organisation_id);
ALTER TABLE redemption_vouchers ADD COLUMN performed_at INTEGER;
CREATE INDEX redemption_vouchers_book ON redemption_vouchers (book_id);
