"""The extraction asset in real Dagster runs: reconciliations pass on a
generated ledger, re-runs are byte-identical, and bad ledger data fails a
blocking check that names the offending ids and stops everything downstream."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import replace
from datetime import date, datetime

import dagster as dg
import pytest

from dagster_project.definitions import build_definitions
from funding.demo import SeedConfig, seed_ledger
from tests.support.dagster_helpers import (
    check_results,
    failure_text,
    materialized,
    run_period,
    settings_for,
)
from tests.support.ledger_builder import small_ledger

PERIODS = ["2025-01", "2025-02", "2025-03"]
EXTRACTION = ["receivables_snapshot"]  # the asset and its checks; the rest: test_pipeline_dagster


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen")
    url = f"sqlite:///{path / 'ledger.sqlite'}"
    seed_ledger(url, SeedConfig(accounts=600, months=4))
    return path, url


def test_extraction_runs_pass_every_reconciliation_and_rerun_is_byte_identical(generated, tmp_path):
    _, url = generated
    settings = settings_for(tmp_path, url)
    instance = dg.DagsterInstance.ephemeral()
    for key in PERIODS:
        result = run_period(settings, key, instance, EXTRACTION)
        assert result.success, key
        checks = {
            k: v for k, v in check_results(result).items() if k.startswith("receivables_snapshot:")
        }
        assert len(checks) == 9
        assert all(e.passed for e in checks.values()), {
            k: e.description for k, e in checks.items() if not e.passed
        }
    parquet = tmp_path / "lake" / "receivables_snapshot" / "2025-02.parquet"
    before = parquet.read_bytes()
    assert run_period(settings, "2025-02", instance, EXTRACTION).success
    assert parquet.read_bytes() == before


def test_missing_previous_period_is_named(generated, tmp_path):
    _, url = generated
    result = run_period(settings_for(tmp_path, url), "2025-03", dg.DagsterInstance.ephemeral())
    assert not result.success
    assert "previous closed period 2025-02 is missing" in failure_text(result)


def test_unclosed_months_are_no_partitions_and_are_refused(generated, tmp_path):
    path, url = generated
    settings = settings_for(tmp_path, url)
    keys = (
        build_definitions(settings)
        .resolve_job_def("monthly_close")
        .partitions_def.get_partition_keys()
    )
    assert keys == ["2025-01", "2025-02", "2025-03", "2025-04"]  # the four closed months
    # A close withdrawn after the code loaded: the partition still exists, the run is refused.
    copy = tmp_path / "withdrawn.sqlite"
    shutil.copy(path / "ledger.sqlite", copy)
    job = build_definitions(replace(settings, ledger_url=f"sqlite:///{copy}")).resolve_job_def(
        "monthly_close"
    )
    with sqlite3.connect(copy) as conn:
        conn.execute("DELETE FROM period_closes WHERE period_end = '2025-04-30'")
    result = job.execute_in_process(
        partition_key="2025-04", instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    assert "period 2025-04 (2025-04-30) is not closed" in failure_text(result)


def _drop_unique_idempotency_key(path):
    # A copy of the ledger whose UNIQUE constraint was lost.
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE je2 AS SELECT * FROM journal_entries;
            DROP TABLE journal_entries;
            ALTER TABLE je2 RENAME TO journal_entries;
            """
        )


BAD_LEDGERS = {
    "unbalanced entry": (
        lambda b: b.entry(
            1,
            "PURCHASE",
            date(2025, 1, 6),
            datetime(2025, 1, 6, 9),
            [("receivable:principal", 5_000), ("merchant:settlement", -4_999)],
        ),
        "entries_balance",
        "entry ids [4]",
    ),
    "unknown GL account": (
        lambda b: b.entry(
            2,
            "PURCHASE",
            date(2025, 1, 6),
            datetime(2025, 1, 6, 9),
            [("receivable:principal", 5_000), ("merchant:settlment", -5_000)],
        ),
        "gl_accounts_known",
        "merchant:settlment",
    ),
    "account in two vehicles": (
        lambda b: b.designate(3, "trust1", date(2025, 1, 20)),
        "one_vehicle_per_account",
        "account ids [3]",
    ),
    "period closed before it ended": (
        lambda b: b.closes.__setitem__(
            0, {"period_end": date(2025, 1, 31), "closed_at": datetime(2025, 1, 31, 12)}
        ),
        "period_closes_in_order",
        "closed before the period ended",
    ),
    "duplicate idempotency key": (
        None,
        "idempotency_keys_unique",
        "k-1",
    ),
}


@pytest.mark.parametrize("case", list(BAD_LEDGERS))
def test_bad_ledger_fails_a_blocking_check_with_the_offending_ids(case, tmp_path):
    mutate, check_name, expected_text = BAD_LEDGERS[case]
    b = small_ledger()
    if mutate:
        mutate(b)
    path = tmp_path / "bad.sqlite"
    url = b.write(f"sqlite:///{path}", finish=False)
    if case == "duplicate idempotency key":
        _drop_unique_idempotency_key(path)
        with sqlite3.connect(path) as conn:
            conn.execute(
                "INSERT INTO journal_entries SELECT 99, account_id, entry_type, effective_on, posted_at, "
                "idempotency_key, NULL FROM journal_entries WHERE entry_id = 1"
            )
            conn.execute(
                "INSERT INTO postings SELECT 99, line_no, gl_account, amount_cents FROM postings WHERE entry_id = 1"
            )
    settings = settings_for(tmp_path, url)
    result = run_period(settings, "2025-01", dg.DagsterInstance.ephemeral())
    assert not result.success
    evaluation = check_results(result)[f"receivables_snapshot:{check_name}"]
    assert not evaluation.passed
    assert "period 2025-01" in evaluation.description
    assert expected_text in evaluation.description
    assert evaluation.metadata["offending_rows"].value
    # Nothing downstream of the extraction materialized.
    assert materialized(result) <= {"receivables_snapshot"}


def test_period_closed_before_the_previous_close_fails(tmp_path):
    b = small_ledger()
    b.close(date(2025, 2, 28), datetime(2025, 2, 3, 18))  # before January's close on 2025-02-04
    url = b.write(f"sqlite:///{tmp_path / 'closes.sqlite'}", finish=False)
    result = run_period(settings_for(tmp_path, url), "2025-01", dg.DagsterInstance.ephemeral())
    evaluation = check_results(result)["receivables_snapshot:period_closes_in_order"]
    assert not result.success and not evaluation.passed
    assert "closed before the previous period 2025-01-31" in evaluation.description
