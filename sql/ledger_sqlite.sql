-- Ledger contract (shared/spec/ledger.md), SQLite: the embedded default.
-- SQLite cannot enforce "the lines of an entry sum to zero"; the extraction's
-- blocking check finds unbalanced entries among the window's lines instead. Timestamps are ISO-8601
-- text whose form varies; queries compare them through strftime, never as text.

CREATE TABLE customers (
    customer_id     INTEGER PRIMARY KEY CHECK (customer_id > 0),
    full_name       TEXT NOT NULL,
    email           TEXT,
    phone           TEXT,
    date_of_birth   DATE,
    ssn             TEXT,
    address_line1   TEXT,
    city            TEXT,
    state           TEXT CHECK (state IS NULL OR length(state) = 2),
    postal_code     TEXT
);

CREATE TABLE accounts (
    account_id                INTEGER PRIMARY KEY CHECK (account_id > 0),
    customer_id               INTEGER NOT NULL REFERENCES customers (customer_id),
    product_code              TEXT NOT NULL,
    opened_on                 DATE NOT NULL,
    closed_on                 DATE,
    close_reason              TEXT CHECK (close_reason IN ('CUSTOMER', 'CREDIT', 'FRAUD', 'CHARGE_OFF')),
    origination_fico          INTEGER,
    origination_income_cents  INTEGER,
    risk_grade                TEXT CHECK (risk_grade IN ('A', 'B', 'C', 'D', 'E')),
    channel                   TEXT NOT NULL CHECK (channel IN ('DIRECT', 'PARTNER', 'REFERRAL')),
    billing_state             TEXT NOT NULL CHECK (length(billing_state) = 2),
    cycle_day                 INTEGER NOT NULL CHECK (cycle_day BETWEEN 1 AND 28)
);

CREATE TABLE account_terms (
    account_id          INTEGER NOT NULL REFERENCES accounts (account_id),
    effective_on        DATE NOT NULL,
    credit_limit_cents  INTEGER NOT NULL,
    purchase_apr_bps    INTEGER NOT NULL,
    PRIMARY KEY (account_id, effective_on)
);

CREATE TABLE account_flags (
    account_id  INTEGER NOT NULL REFERENCES accounts (account_id),
    flag        TEXT NOT NULL CHECK (flag IN ('BANKRUPTCY', 'FRAUD', 'DECEASED', 'HARDSHIP', 'DISPUTE', 'SCRA')),
    raised_on   DATE NOT NULL,
    cleared_on  DATE,
    PRIMARY KEY (account_id, flag, raised_on)
);

CREATE TABLE credit_scores (
    account_id   INTEGER NOT NULL REFERENCES accounts (account_id),
    as_of        DATE NOT NULL,
    fico         INTEGER NOT NULL,
    score_model  TEXT NOT NULL,
    PRIMARY KEY (account_id, as_of)
);

CREATE TABLE journal_entries (
    entry_id           INTEGER PRIMARY KEY CHECK (entry_id > 0),
    account_id         INTEGER NOT NULL REFERENCES accounts (account_id),
    entry_type         TEXT NOT NULL CHECK (entry_type IN ('PURCHASE', 'RETURN', 'INTEREST_CHARGE', 'FEE_CHARGE',
                           'WAIVER', 'PAYMENT', 'PAYMENT_REVERSAL', 'CHARGE_OFF', 'RECOVERY')),
    effective_on       DATE NOT NULL,
    posted_at          TEXT NOT NULL,
    idempotency_key    TEXT NOT NULL UNIQUE,
    reverses_entry_id  INTEGER REFERENCES journal_entries (entry_id)
);

CREATE TABLE postings (
    entry_id      INTEGER NOT NULL REFERENCES journal_entries (entry_id),
    line_no       INTEGER NOT NULL,
    gl_account    TEXT NOT NULL,
    amount_cents  INTEGER NOT NULL,
    PRIMARY KEY (entry_id, line_no)
) WITHOUT ROWID;

CREATE TABLE delinquency_snapshots (
    account_id      INTEGER NOT NULL REFERENCES accounts (account_id),
    as_of           DATE NOT NULL,
    days_past_due   INTEGER NOT NULL CHECK (days_past_due > 0),
    past_due_cents  INTEGER NOT NULL,
    PRIMARY KEY (account_id, as_of)
);

CREATE TABLE vehicle_designations (
    account_id     INTEGER NOT NULL REFERENCES accounts (account_id),
    vehicle_id     TEXT NOT NULL CHECK (length(vehicle_id) BETWEEN 1 AND 40
                                        AND vehicle_id NOT GLOB '*[^a-z0-9_-]*'),
    designated_on  DATE NOT NULL,
    removed_on     DATE,
    PRIMARY KEY (account_id, vehicle_id, designated_on),
    CHECK (removed_on IS NULL OR removed_on > designated_on)
);

CREATE TABLE period_closes (
    period_end  DATE PRIMARY KEY,
    closed_at   TEXT NOT NULL
);
