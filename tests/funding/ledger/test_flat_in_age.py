"""Extraction reads the period's window and a bounded sample, never the
ledger's history: on PostgreSQL, the rows read from `postings` and
`journal_entries` (pg_stat_user_tables deltas) while a late period of a
two-year ledger is extracted and reconciled stay within 1.5x of the rows of
its window, as they do for an early period."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from checks.extraction import extraction_checks
from funding.demo import SeedConfig, seed_ledger
from funding.ledger.closes import previous_close
from funding.ledger.database import read_ledger
from funding.ledger.extract import extract_period
from tests.support.postgres_server import ledger_rows_read


def rows_read(url: str) -> int:
    return sum(ledger_rows_read(url).values())


def read_after(url: str, before: int) -> int:
    # A backend publishes its table statistics when its session ends; allow for that.
    for _ in range(50):
        count = rows_read(url) - before
        if count:
            return count
        time.sleep(0.1)
    return 0


@pytest.fixture(scope="module")
def two_year_ledger(postgres_server):
    url = f"{postgres_server}/flat_{int(time.time())}"
    admin = sa.create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {url.rsplit('/', 1)[1]}")
    admin.dispose()
    seed_ledger(url, SeedConfig(accounts=4_000, months=24, seed=5))
    return url


def test_reads_per_period_stay_near_the_window_as_the_ledger_ages(two_year_ledger):
    url = two_year_ledger
    with read_ledger(url) as session:
        closes = session.period_closes()
    snapshot, trial_balance, ratios = None, None, {}
    for close in closes:
        before = rows_read(url)
        with read_ledger(url) as session:
            extraction = extract_period(
                session, close, previous_close(closes, close.period), snapshot
            )
            outcomes, trial_balance = extraction_checks(session, extraction, closes, trial_balance)
        assert all(o.passed for o in outcomes), [o.summary for o in outcomes if not o.passed]
        read = read_after(url, before)
        window = extraction.lines.entries + extraction.lines.lines
        ratios[close.period.key] = read / window
        snapshot = extraction.snapshot
    # Period 24 sits on 23 periods of history, yet reads no more than period 3.
    assert ratios["2026-12"] <= 1.5, ratios
    assert ratios["2026-12"] <= ratios["2025-03"] + 0.1, ratios
