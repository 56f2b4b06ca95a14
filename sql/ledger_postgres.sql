-- Ledger contract (shared/spec/ledger.md), PostgreSQL.
-- Tables, keys and domain checks. Foreign keys, secondary indexes and the
-- balanced-entry constraint trigger are in ledger_postgres_after_load.sql so
-- that a bulk load can run before them (the usual order for COPY loads).

CREATE TABLE customers (
    customer_id     BIGINT PRIMARY KEY CHECK (customer_id > 0),
    full_name       TEXT NOT NULL,
    email           TEXT,
    phone           TEXT,
    date_of_birth   DATE,
    ssn             TEXT,
    address_line1   TEXT,
    city            TEXT,
    state           CHAR(2),
    postal_code     TEXT
);

CREATE TABLE accounts (
    account_id                BIGINT PRIMARY KEY CHECK (account_id > 0),
    customer_id               BIGINT NOT NULL,
    product_code              TEXT NOT NULL,
    opened_on                 DATE NOT NULL,
    closed_on                 DATE,
    close_reason              TEXT CHECK (close_reason IN ('CUSTOMER', 'CREDIT', 'FRAUD', 'CHARGE_OFF')),
    origination_fico          INTEGER,
    origination_income_cents  BIGINT,
    risk_grade                CHAR(1) CHECK (risk_grade IN ('A', 'B', 'C', 'D', 'E')),
    channel                   TEXT NOT NULL CHECK (channel IN ('DIRECT', 'PARTNER', 'REFERRAL')),
    billing_state             CHAR(2) NOT NULL,
    cycle_day                 SMALLINT NOT NULL CHECK (cycle_day BETWEEN 1 AND 28)
);

CREATE TABLE account_terms (
    account_id          BIGINT NOT NULL,
    effective_on        DATE NOT NULL,
    credit_limit_cents  BIGINT NOT NULL,
    purchase_apr_bps    INTEGER NOT NULL,
    PRIMARY KEY (account_id, effective_on)
);

CREATE TABLE account_flags (
    account_id  BIGINT NOT NULL,
    flag        TEXT NOT NULL CHECK (flag IN ('BANKRUPTCY', 'FRAUD', 'DECEASED', 'HARDSHIP', 'DISPUTE', 'SCRA')),
    raised_on   DATE NOT NULL,
    cleared_on  DATE,
    PRIMARY KEY (account_id, flag, raised_on)
);

CREATE TABLE credit_scores (
    account_id   BIGINT NOT NULL,
    as_of        DATE NOT NULL,
    fico         INTEGER NOT NULL,
    score_model  TEXT NOT NULL,
    PRIMARY KEY (account_id, as_of)
);

CREATE TABLE journal_entries (
    entry_id           BIGINT PRIMARY KEY CHECK (entry_id > 0),
    account_id         BIGINT NOT NULL,
    entry_type         TEXT NOT NULL CHECK (entry_type IN ('PURCHASE', 'RETURN', 'INTEREST_CHARGE', 'FEE_CHARGE',
                           'WAIVER', 'PAYMENT', 'PAYMENT_REVERSAL', 'CHARGE_OFF', 'RECOVERY')),
    effective_on       DATE NOT NULL,
    posted_at          TIMESTAMP NOT NULL,
    idempotency_key    TEXT NOT NULL UNIQUE,
    reverses_entry_id  BIGINT
);

CREATE TABLE postings (
    entry_id      BIGINT NOT NULL,
    line_no       SMALLINT NOT NULL,
    gl_account    TEXT NOT NULL,
    amount_cents  BIGINT NOT NULL,
    PRIMARY KEY (entry_id, line_no)
);

CREATE TABLE delinquency_snapshots (
    account_id      BIGINT NOT NULL,
    as_of           DATE NOT NULL,
    days_past_due   INTEGER NOT NULL CHECK (days_past_due > 0),
    past_due_cents  BIGINT NOT NULL,
    PRIMARY KEY (account_id, as_of)
);

CREATE TABLE vehicle_designations (
    account_id     BIGINT NOT NULL,
    vehicle_id     TEXT NOT NULL CHECK (vehicle_id ~ '^[a-z0-9_-]{1,40}$'),
    designated_on  DATE NOT NULL,
    removed_on     DATE,
    PRIMARY KEY (account_id, vehicle_id, designated_on),
    CHECK (removed_on IS NULL OR removed_on > designated_on)
);

CREATE TABLE period_closes (
    period_end  DATE PRIMARY KEY,
    closed_at   TIMESTAMP NOT NULL
);
