-- Statistics (DESIGN §9): aggregates folded in incrementally by `statistics::refresh`, so that
-- dashboards never scan the raw tables (SQLite).

-- One row. `last_seal_id`: the ledger has been folded in up to this seal (seals are written in
-- commit order, so no transaction is ever skipped). Every refresh updates this row first: on
-- PostgreSQL the row lock, on SQLite the write lock, make concurrent refreshers take turns.
CREATE TABLE stats_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    last_seal_id INTEGER NOT NULL,
    refreshed_at INTEGER NOT NULL,
    -- Incremented by every refresh step: a step prepared from an older state is discarded.
    generation   INTEGER NOT NULL
);
INSERT INTO stats_state (id, last_seal_id, refreshed_at, generation) VALUES (1, 0, 0, 0);

-- Book status changes (assigned, distributed, cancelled) move no money, so they are not in the
-- ledger: a trigger queues them here, and a refresh deletes the rows it folds in.
CREATE TABLE stats_book_events (
    id      INTEGER PRIMARY KEY,
    book_id INTEGER NOT NULL,
    status  TEXT    NOT NULL
);
CREATE TRIGGER stats_books_status AFTER UPDATE OF status ON books
WHEN NEW.status <> OLD.status
BEGIN INSERT INTO stats_book_events (book_id, status) VALUES (NEW.id, NEW.status); END;

-- What happened before this migration.
INSERT INTO stats_book_events (book_id, status) SELECT id, 'assigned' FROM books WHERE assigned_at IS NOT NULL ORDER BY id;
INSERT INTO stats_book_events (book_id, status) SELECT id, 'distributed' FROM books WHERE distributed_at IS NOT NULL ORDER BY id;
INSERT INTO stats_book_events (book_id, status) SELECT id, 'cancelled' FROM books WHERE status = 'cancelled' ORDER BY id;

-- The state of each book handed over or used, as statistics last saw it: its contribution to
-- the cohort figures is a function of this row (see statistics::fold).
CREATE TABLE stats_books (
    book_id           INTEGER PRIMARY KEY,
    order_id          INTEGER NOT NULL,
    vouchers          INTEGER NOT NULL,
    face_value_cents  INTEGER NOT NULL,
    distributed_at    INTEGER,
    prescriber_id     INTEGER,
    commune_insee     TEXT,
    age_band          TEXT,
    autonomy          TEXT,
    first_used_at     INTEGER,
    first_site_id     INTEGER,
    used_vouchers     INTEGER NOT NULL,
    used_value_cents  INTEGER NOT NULL
);

-- The aggregates: one row per metric, breakdown dimension and value, order, site and month
-- (Europe/Paris, YYYY-MM). Every column after the key is an additive measure. Each fact is kept
-- at the levels queries read, so that none sums more than it shows: all orders and sites
-- (order_id 0, site_id 0: the operator), each order over all sites (site_id 0: funders), each
-- site over all orders (order_id 0: a site), and each order at each site (dimension `total`
-- only: a funder's table by site).
CREATE TABLE stats_cells (
    metric              TEXT    NOT NULL,
    dim                 TEXT    NOT NULL,
    month               TEXT    NOT NULL,
    order_id            INTEGER NOT NULL,
    site_id             INTEGER NOT NULL,
    dim_value           TEXT    NOT NULL,
    n                   INTEGER NOT NULL,
    vouchers            INTEGER NOT NULL,
    value_cents         INTEGER NOT NULL,
    minutes             INTEGER NOT NULL,
    started             INTEGER NOT NULL,
    finished            INTEGER NOT NULL,
    used_vouchers       INTEGER NOT NULL,
    used_value_cents    INTEGER NOT NULL,
    procedure_completed INTEGER NOT NULL,
    skill_acquired      INTEGER NOT NULL,
    referred            INTEGER NOT NULL,
    not_completed       INTEGER NOT NULL,
    autonomy_pairs      INTEGER NOT NULL,
    autonomy_before     INTEGER NOT NULL,
    autonomy_after      INTEGER NOT NULL,
    autonomy_improved   INTEGER NOT NULL,
    PRIMARY KEY (metric, dim, order_id, site_id, month, dim_value)
) WITHOUT ROWID; -- stored in key order: a query reads one contiguous range
