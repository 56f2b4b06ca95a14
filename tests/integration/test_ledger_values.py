"""Every ledger value the extraction reads is validated: a date or timestamp
that is not canonical, a date far in the past or future, an amount at the
BIGINT limit or text that is not UTF-8 is named (table, row, value) and
nothing is published. On PostgreSQL the column types refuse malformed text
themselves; what they still accept (`infinity`, year 9999) is checked."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import sqlalchemy as sa

from tests.support.dagster_helpers import (
    check_results,
    failure_text,
    materialized,
    run_period,
    settings_for,
)
from tests.support.ledger_builder import small_ledger

BIGINT_MAX = 2**63 - 1


def _sqlite_ledger(tmp_path) -> tuple[str, object]:
    path = tmp_path / "ledger.sqlite"
    return small_ledger().write(f"sqlite:///{path}", finish=False), path


def _run(tmp_path, url):
    settings = settings_for(tmp_path, url)
    return run_period(settings, "2025-01", dg.DagsterInstance.ephemeral()), settings


def _blocking_text(result) -> str:
    """The failed values check's description, or the run's error when the
    read itself could not go on."""
    evaluations = check_results(result)
    if evaluations:
        evaluation = evaluations["receivables_snapshot:ledger_values_valid"]
        assert not evaluation.passed
        assert evaluation.metadata["offending_rows"].value
        return evaluation.description
    return failure_text(result)


def _published_files(settings) -> list:
    root = Path(settings.publish_uri)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_clean_ledger_passes_the_values_check(tmp_path):
    url, _ = _sqlite_ledger(tmp_path)
    result, _ = _run(tmp_path, url)
    assert result.success
    assert check_results(result)["receivables_snapshot:ledger_values_valid"].passed


# Entry 2 is account 2's purchase of $100.00 on 2025-01-05.
BAD_SQLITE_VALUES = [
    ("posted_at", "2025/05/25 10:00:00"),
    ("posted_at", "not a date"),
    ("posted_at", 1748167200),
    ("posted_at", "2025-5-25 10:00:00"),
    ("posted_at", "2025-01-05 25:00:00"),
    ("effective_on", "2025-5-25"),
    ("effective_on", "2025/01/05"),
    ("effective_on", "2025-02-30"),
    ("effective_on", "0001-01-05"),
    ("effective_on", "9999-01-05"),
]


@pytest.mark.parametrize(("column", "value"), BAD_SQLITE_VALUES)
def test_sqlite_value_not_canonical_blocks_and_is_named(tmp_path, column, value):
    url, path = _sqlite_ledger(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE journal_entries SET {column} = ? WHERE entry_id = 2", (value,))
    result, settings = _run(tmp_path, url)
    assert not result.success
    text = _blocking_text(result)
    assert f"journal_entries.{column} entry_id=2: {str(value)!r}" in text
    assert materialized(result) <= {"receivables_snapshot"}
    assert _published_files(settings) == []


@pytest.mark.parametrize("closed_at", ["garbage", "2025/02/04 18:00", 1738692000])
def test_garbage_closed_at_names_table_and_row_without_a_traceback(tmp_path, closed_at):
    url, path = _sqlite_ledger(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE period_closes SET closed_at = ?", (closed_at,))
    from funding.ledger.closes import LedgerError
    from funding.ledger.database import read_ledger

    with read_ledger(url) as session, pytest.raises(LedgerError) as info:
        session.period_closes()
    message = str(info.value)
    assert "period_closes row period_end=2025-01-31: closed_at" in message
    assert repr(closed_at) in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize("amount", [BIGINT_MAX, 10**14])
def test_amount_beyond_bounds_is_refused_on_both_engines(ledger_url, tmp_path, amount):
    b = small_ledger()
    b.entry(
        1,
        "PURCHASE",
        date(2025, 1, 6),
        datetime(2025, 1, 6, 9),
        [("receivable:principal", amount), ("merchant:settlement", -amount)],
    )
    url = b.write(ledger_url, finish=ledger_url.startswith("postgresql"))
    result, settings = _run(tmp_path, url)
    assert not result.success
    # Where the ledger's own sum overflows, the run stops naming the lines.
    text = _blocking_text(result)
    assert f"postings.amount_cents entry_id=4 line_no=1: '{amount}'" in text
    assert f"postings.amount_cents entry_id=4 line_no=2: '{-amount}'" in text
    assert _published_files(settings) == []


def test_non_utf8_text_is_refused_with_the_table_named(tmp_path):
    url, path = _sqlite_ledger(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE accounts SET product_code = CAST(X'434cff5354' AS TEXT) WHERE account_id = 2"
        )
    result, settings = _run(tmp_path, url)
    assert not result.success
    text = failure_text(result)
    assert "not UTF-8" in text and "extract_accounts.sql" in text
    assert _published_files(settings) == []


# PostgreSQL: the types refuse what SQLite stores as text.
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("posted_at", "2025/05/25 10:00:00x"),
        ("posted_at", "not a date"),
        ("posted_at", "1748167200"),
        ("effective_on", "2025-02-30"),
    ],
)
def test_postgresql_types_refuse_malformed_values(postgres_url, column, value):
    small_ledger().write(postgres_url)
    engine = sa.create_engine(postgres_url)
    with pytest.raises(sa.exc.DataError), engine.begin() as conn:
        conn.execute(
            sa.text(f"UPDATE journal_entries SET {column} = :v WHERE entry_id = 2"), {"v": value}
        )
    engine.dispose()


def test_postgresql_non_utf8_text_is_refused_by_the_server(postgres_url):
    small_ledger().write(postgres_url)
    url = postgres_url.replace("postgresql+psycopg", "postgresql")
    with (
        psycopg.connect(url) as conn,
        pytest.raises(psycopg.errors.CharacterNotInRepertoire),
    ):
        conn.execute("UPDATE accounts SET product_code = convert_from('\\x434cff'::bytea, 'UTF8')")


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("effective_on", "infinity", "'infinity'"),
        ("effective_on", "9999-01-05", "'9999-01-05'"),
        ("posted_at", "-infinity", "'-infinity'"),
        ("posted_at", "1066-10-14 09:00", "'1066-10-14 09:00:00'"),
    ],
)
def test_postgresql_dates_far_in_the_past_or_future_block(
    postgres_url, tmp_path, column, value, shown
):
    small_ledger().write(postgres_url)
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"UPDATE journal_entries SET {column} = :v WHERE entry_id = 2"), {"v": value}
        )
    engine.dispose()
    result, settings = _run(tmp_path, postgres_url)
    assert not result.success
    text = _blocking_text(result)
    assert f"journal_entries.{column} entry_id=2: {shown}" in text
    assert _published_files(settings) == []
