"""Side reads (`LedgerSession.side_reads`) run on PostgreSQL on a second
connection, in a thread, and see exactly the session's snapshot: an account
written after the session began is in neither the session's reads nor the
side reads, and a new session sees it. On SQLite they run in the session."""

from __future__ import annotations

import threading
from datetime import date

import sqlalchemy as sa

from funding.demo import SeedConfig, seed_ledger
from funding.ledger.database import read_ledger
from funding.ledger.extract import ACCOUNTS_SCHEMA

PERIOD_END = date(2025, 1, 31)
LATE_ACCOUNT = 990_001


def account_ids(frame) -> set[int]:
    return set(frame["account_id"].to_list())


def add_account(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO accounts (account_id, customer_id, product_code, opened_on, channel, "
            f"billing_state, cycle_day) VALUES ({LATE_ACCOUNT}, 1, 'CARD', '2025-01-10', "
            "'DIRECT', 'CA', 5)"
        )
    engine.dispose()


def test_side_reads_share_the_sessions_snapshot_on_postgresql(postgres_url):
    seed_ledger(postgres_url, SeedConfig(accounts=40, months=1))
    with read_ledger(postgres_url) as session:
        before = session.frame("extract_accounts.sql", ACCOUNTS_SCHEMA, period_end=PERIOD_END)
        add_account(postgres_url)  # committed while the session is open
        threads = []
        with session.side_reads() as side:
            beside = side.frame("extract_accounts.sql", ACCOUNTS_SCHEMA, period_end=PERIOD_END)
            main = session.frame("extract_accounts.sql", ACCOUNTS_SCHEMA, period_end=PERIOD_END)
            threads = [t.name for t in threading.enumerate()]
        assert any(name.startswith("ledger side reads") for name in threads)
        assert account_ids(beside.result()) == account_ids(main) == account_ids(before)
        assert LATE_ACCOUNT not in account_ids(main) and len(main) == 40
    with read_ledger(postgres_url) as later:
        assert LATE_ACCOUNT in account_ids(
            later.frame("extract_accounts.sql", ACCOUNTS_SCHEMA, period_end=PERIOD_END)
        )


def test_side_reads_run_in_the_session_on_sqlite(sqlite_url):
    seed_ledger(sqlite_url, SeedConfig(accounts=40, months=1))
    with read_ledger(sqlite_url) as session, session.side_reads() as side:
        beside = side.frame("extract_accounts.sql", ACCOUNTS_SCHEMA, period_end=PERIOD_END)
        assert beside.done()  # already run, on the session's own connection
        assert len(beside.result()) == 40
