"""Operations alerts by email, received by a real SMTP server on loopback:
a trigger breach and a borrowing base deficiency from a run, a failed
blocking check and the failed run itself, each naming vehicle, period and
cause, and each sent once even when the run is repeated or the daemon's
failure sensor sees the same failure."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import dagster as dg
import pytest
import yaml

from dagster_project.alerting import run_failure_alerts
from dagster_project.definitions import resources
from dagster_project.runner import run_periods
from dagster_project.settings import PACKAGE_DIR
from funding.demo import SeedConfig, seed_ledger
from funding.period import Period
from tests.support.dagster_helpers import settings_for
from tests.support.smtp_server import running_smtp

OPS = "ops-oncall@lender.example"


def alert_vehicles(folder: Path) -> Path:
    """wh1 with its first draw above its first borrowing base (a deficiency) and a
    cash-trap trigger that a 60+ delinquency share of zero or more always breaches."""
    folder.mkdir()
    wh1 = yaml.safe_load((PACKAGE_DIR / "vehicles" / "wh1.yaml").read_text())
    del wh1["notes"][0]["initial_pct_of_pool_bps"]
    wh1["notes"][0]["initial_balance_cents"] = 500_000_000
    wh1["triggers"].append(
        {
            "name": "dq60_watch",
            "ratio": "delinquency_60_plus",
            "op": ">=",
            "threshold": 0,
            "effect": "cash_trap",
        }
    )
    (folder / "wh1.yaml").write_text(yaml.safe_dump(wh1, sort_keys=False))
    return folder


@pytest.fixture
def smtp():
    with running_smtp() as server:
        yield server


def test_alerts_name_vehicle_period_and_cause_once_each(tmp_path, smtp):
    smtp_url, inbox = smtp
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    seed_ledger(url, SeedConfig(accounts=300, months=3))
    settings = settings_for(
        tmp_path,
        url,
        vehicles_dir=alert_vehicles(tmp_path / "vehicles"),
        smtp_url=smtp_url,
        alert_to=(OPS,),
    )
    instance = dg.DagsterInstance.ephemeral()
    quiet = {"say": lambda _: None, "instance": instance}

    # wh1 reports from 2025-02 (January is its closing)
    january, february = run_periods(
        settings, [Period(2025, 1), Period(2025, 2)], rerun=True, **quiet
    )
    assert january.success and february.success
    alerts = {
        m["Subject"]: m.get_content()
        for r in inbox.received
        if r.recipients == [OPS]
        for m in [r.message]
    }
    assert "[funding] trigger breach: wh1 2025-02" in alerts
    assert (
        "trigger dq60_watch breached: delinquency_60_plus >= 0"
        in alerts["[funding] trigger breach: wh1 2025-02"]
    )
    deficiency = alerts["[funding] borrowing base deficiency: wh1 2025-02"]
    assert "advances outstanding 5,000,000.00 exceed the borrowing base" in deficiency
    first = len(inbox.received)

    # The same period again: the same events, nothing sent twice.
    assert run_periods(settings, [Period(2025, 2)], rerun=True, **quiet)[0].success
    assert len(inbox.received) == first

    # A failed run: an unbalanced entry in March fails a blocking check.
    with sqlite3.connect(tmp_path / "ledger.sqlite") as conn:
        entry = conn.execute(
            "SELECT entry_id FROM journal_entries WHERE effective_on >= '2025-03-01' LIMIT 1"
        ).fetchone()[0]
        conn.execute(
            f"UPDATE postings SET amount_cents = amount_cents + 1 WHERE entry_id = {entry} AND line_no = 1"
        )
    (march,) = run_periods(settings, [Period(2025, 3)], rerun=True, **quiet)
    assert not march.success
    new = {r.message["Subject"]: r.message.get_content() for r in inbox.received[first:]}
    assert set(new) == {
        "[funding] check failed: all vehicles 2025-03",
        "[funding] run failed: all vehicles 2025-03",
    }
    assert f"entry ids [{entry}]" in new["[funding] check failed: all vehicles 2025-03"]
    assert march.run_id in new["[funding] run failed: all vehicles 2025-03"]

    # The daemon's failure sensor sees the same failed run: nothing more is sent.
    run = instance.get_run_by_id(march.run_id)
    failure = next(
        e.dagster_event
        for e in instance.all_logs(march.run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "PIPELINE_FAILURE"
    )
    bound = resources(settings)
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alerts",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure,
        resources={"mail": bound["mail"], "control": bound["control"]},
    ).for_run_failure()
    sent = len(inbox.received)
    run_failure_alerts(context)
    assert len(inbox.received) == sent
