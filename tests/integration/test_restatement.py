"""Restatement with a later ledger cutoff (ledger.md, "restatement"), end to
end on SQLite and on a real PostgreSQL server: three periods run, a purchase
effective in the second (the vehicles' first reporting month; the first is
their closing) is posted after every close, and restating that period with a
cutoff after it publishes new versions of it and the next that count it
once, in that period, with the reason and the figures that changed.

The vehicle is wh1 alone: restating is the same for every vehicle (the
extraction's cutoff, the waterfall state carried from the restated period,
the publisher's versions), and wh1 has all three.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from dagster_project.cli import main as funding_cli
from dagster_project.runner import restate, run_periods
from funding.demo import SeedConfig, seed_ledger
from funding.ledger.writer import LedgerWriter
from funding.period import Period
from tests.support.dagster_helpers import demo_vehicles, settings_for
from tests.support.ledger_builder import LedgerBuilder

PERIODS = [Period(2025, 1), Period(2025, 2), Period(2025, 3)]
RESTATED = PERIODS[1:]  # from the vehicles' first reporting month
NEW_ACCOUNT = 900_001
AMOUNT_CENTS = 12_345  # one purchase of 123.45
REASON = "Late card purchase of 2025-02-20 booked after the February close"


def v1_files(publish: Path) -> dict[str, str]:
    return {
        str(p.relative_to(publish)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(publish.rglob("v1/*"))
    }


def messages(outbox: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    ]


def snapshot_row(root: Path, period: Period, account_id: int) -> dict:
    frame = pl.read_parquet(root / "lake" / "receivables_snapshot" / f"{period}.parquet")
    return frame.filter(pl.col("account_id") == account_id).to_dicts()[0]


def manifest(root: Path, vehicle: str, period: Period, version: int) -> dict:
    return json.loads(
        (root / "publish" / vehicle / period.key / f"v{version}" / "manifest.json").read_text()
    )


def three_periods(ledger_url: str, tmp_path: Path):
    seed_ledger(ledger_url, SeedConfig(accounts=300, months=3))
    settings = settings_for(tmp_path, ledger_url, vehicles_dir=demo_vehicles(tmp_path, "wh1"))
    reports = run_periods(settings, PERIODS, rerun=False, say=lambda _: None)
    assert all(r.success for r in reports), [r.failures for r in reports]
    return tmp_path, settings


# One class per engine: `make test` (`--dist loadscope`) may run each on its own worker.
class TestOnSQLite:
    def test_restating_a_period_counts_a_late_posting_once_and_publishes_what_changed(
        self, sqlite_url, tmp_path
    ):
        # Restating again is engine-independent (the control log and the
        # publisher decide); the PostgreSQL run proves it.
        restating_counts_a_late_posting_once(sqlite_url, tmp_path, then_again=False)


class TestOnPostgreSQL:
    def test_restating_a_period_counts_a_late_posting_once_and_publishes_what_changed(
        self, postgres_url, tmp_path
    ):
        restating_counts_a_late_posting_once(postgres_url, tmp_path, then_again=True)


def restating_counts_a_late_posting_once(ledger_url: str, tmp_path: Path, then_again: bool) -> None:
    root, settings = three_periods(ledger_url, tmp_path)
    before_v1 = v1_files(root / "publish")
    sent_before = len(messages(root / "var" / "outbox"))

    # A purchase effective in February, posted after every close: no period counts it yet.
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    late = LedgerBuilder(next_entry=90_000_001)
    late.account(NEW_ACCOUNT, date(2025, 2, 5))
    late.designate(NEW_ACCOUNT, "wh1", date(2025, 2, 5))
    late.simple(
        NEW_ACCOUNT, "PURCHASE", AMOUNT_CENTS, date(2025, 2, 20), now - timedelta(minutes=10)
    )
    LedgerWriter(settings.ledger_url).load(late.batches())

    cutoff = f"{now - timedelta(minutes=1):%Y-%m-%d %H:%M:%S}"
    reports = restate(settings, "2025-02", cutoff, REASON, say=lambda _: None)
    assert [r.period for r in reports] == RESTATED and all(r.success for r in reports)
    assert {r.packages["wh1"].splitlines()[0] for r in reports} == {"restated v2 (restates v1)"}

    # Counted once, in February: March carries it as a balance, not a flow.
    feb = snapshot_row(root, RESTATED[0], NEW_ACCOUNT)
    assert (feb["purchases_cents"], feb["principal_cents"]) == (AMOUNT_CENTS, AMOUNT_CENTS)
    for period in RESTATED[1:]:
        row = snapshot_row(root, period, NEW_ACCOUNT)
        assert row["begin_principal_cents"] == AMOUNT_CENTS
        assert (row["purchases_cents"], row["principal_cents"]) == (0, AMOUNT_CENTS)

    # Each period's beginning is the restated previous ending (wh1's pool figures).
    for before, after in zip(RESTATED, RESTATED[1:], strict=False):
        ending = manifest(root, "wh1", before, 2)["control_totals"]["principal_cents"]
        performance = pl.read_parquet(
            root / "lake" / "wh1" / "pool_performance" / f"{after}.parquet"
        )
        assert performance["beginning_principal_cents"][0] == ending

    feb_v2 = manifest(root, "wh1", RESTATED[0], 2)
    assert feb_v2["restates"] == "v1" and feb_v2["ledger_cutoff"] == cutoff
    assert REASON in feb_v2["reason"] and "restatement of this period" in feb_v2["reason"]
    assert "restatement of 2025-02" in manifest(root, "wh1", RESTATED[1], 2)["reason"]
    changed = {c["figure"]: c for c in feb_v2["diff"]["figures_changed"]}
    principal = next(
        c
        for f, c in changed.items()
        if f.startswith("Pool roll-forward") and f.endswith(", Principal, Ending")
    )
    assert principal["unit"] == "usd"
    # Ending principal moved by the purchase and by late postings the later cutoff now counts.
    assert principal["before"] != principal["after"]
    assert feb_v2["diff"]["accounts_added"] >= 1
    # `funding restate` prints the changed figures under the vehicle's line.
    first = feb_v2["diff"]["figures_changed"][0]
    shown = f"{first['figure']}: {first['before'] or '-'} -> {first['after'] or '-'}"
    assert shown in reports[0].packages["wh1"].splitlines()[1]

    # v1 untouched; one message per new version, naming the reason and what changed.
    assert v1_files(root / "publish") == before_v1
    new = messages(root / "var" / "outbox")[sent_before:]
    # One message per version to wh1's one investor.
    assert sorted(m["Subject"] for m in new) == [
        f"Warehouse Facility 1 (First Demo Bank): investor package {p} v2 (restates v1)"
        for p in RESTATED
    ]
    body = next(m for m in new if m["Subject"].startswith("Warehouse")).get_content()
    assert REASON in body and "What changed (before -> after):" in body

    if not then_again:
        return
    # The same restatement again records nothing and publishes nothing.
    again = restate(settings, "2025-02", cutoff, REASON, say=lambda _: None)
    assert {r.packages["wh1"] for r in again} == {"unchanged (v2 kept)"}
    assert len(messages(root / "var" / "outbox")) == sent_before + len(new)


def test_a_cutoff_not_after_the_close_or_an_unclosed_period_exits_2(
    ledger_url, tmp_path, monkeypatch, capsys
):
    # Refused before anything runs: a closed ledger is all it needs.
    seed_ledger(ledger_url, SeedConfig(accounts=20, months=1))
    root, settings = tmp_path, settings_for(tmp_path, ledger_url)
    env = {
        "LEDGER_URL": settings.ledger_url,
        "LAKE_URI": settings.lake_uri,
        "PUBLISH_URI": settings.publish_uri,
        "CONTROL_URI": settings.control_uri,
        "DAGSTER_HOME": str(settings.dagster_home),
        "FUNDING_VAR_DIR": str(root / "var"),
        "FUNDING_DEMO": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    engine = sa.create_engine(ledger_url)
    with engine.connect() as conn:
        close = conn.exec_driver_sql(
            "SELECT closed_at FROM period_closes WHERE period_end = '2025-01-31'"
        ).scalar_one()
    engine.dispose()
    close = str(close)[:19]  # a datetime on PostgreSQL, its text on SQLite
    code = funding_cli(["restate", "--period", "2025-01", "--cutoff", close, "--reason", "x"])
    assert code == 2
    assert "is not later than 2025-01's current cutoff" in capsys.readouterr().out
    code = funding_cli(
        ["restate", "--period", "2025-09", "--cutoff", "2025-10-10 00:00:00", "--reason", "x"]
    )
    assert code == 2
    assert "period 2025-09 is not closed" in capsys.readouterr().out
    assert not (root / "control" / "restatements").exists()
