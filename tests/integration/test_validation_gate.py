"""The validation gate in real Dagster runs: a failing blocking check of one
vehicle stops every downstream asset of that vehicle and period and leaves
the other vehicle's package alone; checks show in the run's events with the
metadata a person needs; and the vehicle-level checks name vehicle, period,
check and rows for a broken waterfall or a roll-forward off by one cent."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import replace

import dagster as dg
import polars as pl
import pytest
import yaml

from checks.vehicle import pool_rollforward_outcome, waterfall_outcome
from dagster_project.settings import PACKAGE_DIR
from funding.demo import SeedConfig, seed_ledger
from tests.support.dagster_helpers import check_results, materialized, run_period, settings_for


@pytest.fixture(scope="module")
def gate(tmp_path_factory):
    """A 3-month ledger in which one wh1 account has an impossible FICO of 900;
    trust1 reports from 2025-03 (its first cut)."""
    root = tmp_path_factory.mktemp("gate")
    url = f"sqlite:///{root / 'ledger.sqlite'}"
    seed_ledger(url, SeedConfig(accounts=400, months=3))
    with sqlite3.connect(root / "ledger.sqlite") as conn:
        (bad_account,) = conn.execute(
            "SELECT account_id FROM vehicle_designations WHERE vehicle_id = 'wh1' AND removed_on IS NULL "
            "ORDER BY account_id LIMIT 1"
        ).fetchone()
        conn.execute(
            "UPDATE accounts SET origination_fico = 900 WHERE account_id = ?", (bad_account,)
        )
    vehicles = root / "vehicles"
    shutil.copytree(PACKAGE_DIR / "vehicles", vehicles)
    trust = yaml.safe_load((vehicles / "trust1.yaml").read_text())
    trust["first_period_end"] = "2025-03-31"
    (vehicles / "trust1.yaml").write_text(yaml.safe_dump(trust, sort_keys=False))
    settings = settings_for(root, url, vehicles_dir=vehicles)
    instance = dg.DagsterInstance.ephemeral()
    results = {
        key: run_period(settings, key, instance) for key in ("2025-01", "2025-02", "2025-03")
    }
    return root, bad_account, results


def test_failing_check_stops_only_that_vehicles_downstream_assets(gate):
    root, bad_account, results = gate
    result = results["2025-03"]
    assert not result.success
    evaluation = check_results(result)["wh1/validation:snapshot_expectations"]
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "wh1 2025-03" in evaluation.description and "fico_in_range" in evaluation.description
    offending = evaluation.metadata["offending_rows"].value
    assert any(row.get("account_id") == bad_account for row in offending)
    done = materialized(result)
    assert "wh1/investor_package" not in done and "wh1/delivery" not in done
    assert {"trust1/investor_package", "trust1/delivery"} <= done
    assert (root / "publish" / "trust1" / "2025-03" / "latest.json").exists()
    assert not (root / "publish" / "wh1" / "2025-03").exists()


def test_checks_show_in_the_run_events_with_their_metadata(gate):
    _, _, results = gate
    evaluations = check_results(results["2025-03"])
    trust = evaluations["trust1/validation:tape_expectations"]
    assert trust.passed and "expectations met" in trust.metadata["summary"].value
    assert (
        evaluations["trust1/validation:pool_balance_change"].severity == dg.AssetCheckSeverity.WARN
    )
    assert (
        evaluations["trust1/validation:missing_fico_share"].severity == dg.AssetCheckSeverity.ERROR
    )
    assert {
        "receivables_snapshot:trial_balance",
        "wh1/pool_performance:pool_rollforward",
        "wh1/borrowing_base_certificate:certificate_ties_to_allocation",
        "trust1/waterfall:waterfall_invariants",
    } <= set(evaluations)


def test_roll_forward_off_by_one_cent_names_vehicle_period_and_rows():
    rollforward = pl.DataFrame(
        {"receivable": ["principal", "interest", "fees"], "difference_cents": [1, 0, 0]}
    )
    outcome = pool_rollforward_outcome("wh1", "2025-04", rollforward)
    assert not outcome.passed and outcome.blocking
    assert outcome.summary == "wh1 2025-04: pool_rollforward is off: principal by 1 cents"
    assert outcome.offending == ({"receivable": "principal", "difference_cents": 1},)


def test_unbalanced_waterfall_names_vehicle_period_and_the_broken_invariant():
    from datetime import date

    from funding.structure.waterfall import PeriodInputs, initial_state, run_waterfall
    from funding.vehicle_config import load_vehicle

    config = load_vehicle(PACKAGE_DIR / "vehicles" / "trust1.yaml")
    sized = config.size_at_closing(900_000_000)  # notes as shares of the pool at closing
    inputs = PeriodInputs(
        period_start=date(2025, 8, 1),
        period_end=date(2025, 8, 31),
        previous_period_end=date(2025, 7, 31),
        pool={
            "finance_charge_collections": 9_000_000,
            "recoveries": 10_000,
            "principal_collections": 80_000_000,
            "chargeoff_principal": 300_000,
            "beginning_principal": 900_000_000,
        },
        fixings={"SOFR30A": 430},
        ratios={"delinquency_60_plus_3m_avg": None},
    )
    result = run_waterfall(config, initial_state(sized, date(2025, 7, 31)), inputs)
    assert waterfall_outcome("trust1", "2025-08", result).passed
    # Pay the senior fee one cent more than the funds allow: sources no longer equal uses.
    first = result.statement[1]
    tampered = replace(
        result,
        statement=(
            result.statement[0],
            replace(first, paid_cents=first.paid_cents + 1),
            *result.statement[2:],
        ),
    )
    outcome = waterfall_outcome("trust1", "2025-08", tampered)
    assert not outcome.passed and outcome.blocking
    assert outcome.summary.startswith("trust1 2025-08: waterfall_invariants broken:")
    assert outcome.offending and all("invariant" in row for row in outcome.offending)
