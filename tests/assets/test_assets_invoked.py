"""Assets invoked directly with real resources (no job run): each reads its
declared tables, calls the domain core and writes its own."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import pytest

from dagster_project.definitions import build_definitions, resources
from funding.demo import SeedConfig, seed_ledger
from funding.period import Period
from funding.storage.lake import SHARED
from funding.storage.tables import (
    POOL_PERFORMANCE,
    POOL_ROLLFORWARD,
    SNAPSHOT,
    SNAPSHOT_WINDOW,
    WATERFALL_OPENING,
    WATERFALL_STATE,
)
from funding.structure.waterfall import MissingPredecessorError
from tests.support.dagster_helpers import settings_for


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    root = tmp_path_factory.mktemp("assets")
    url = f"sqlite:///{root / 'ledger.sqlite'}"
    seed_ledger(url, SeedConfig(accounts=300, months=4))
    settings = settings_for(root, url)
    defs = build_definitions(settings)
    # Every test starts from the first two snapshots, whichever runs first
    # (and on whichever worker): the extraction test asserts on these runs.
    extractions = {p: invoke(defs, "receivables_snapshot", p) for p in ("2025-01", "2025-02")}
    return settings, defs, resources(settings), extractions


@dataclass
class Invoked:
    materialization: dg.MaterializeResult | None  # None: the asset did not materialize
    checks: list[dg.AssetCheckResult]


def invoke(defs: dg.Definitions, key: str, period: str) -> Invoked:
    """Call the asset as a function; the definitions bound its resources."""
    asset = defs.resolve_assets_def(dg.AssetKey.from_user_string(key))
    with dg.build_asset_context(partition_key=period) as context:
        result = asset(context)
        events = [result] if isinstance(result, dg.MaterializeResult) else list(result)
    materialized = [e for e in events if isinstance(e, dg.MaterializeResult)]
    checks = [e for e in events if isinstance(e, dg.AssetCheckResult)]
    for e in materialized:
        checks += list(e.check_results or ())
    return Invoked(materialized[0] if materialized else None, checks)


def test_extraction_writes_the_snapshot_and_its_window(deployment):
    _, _, bound, extractions = deployment
    for result in extractions.values():
        assert result.checks and all(c.passed for c in result.checks), [
            c.description for c in result.checks if not c.passed
        ]
    lake = bound["lake"].lake
    snapshot = lake.read(SNAPSHOT, SHARED, Period(2025, 2))
    assert snapshot["period_end"].unique().to_list() == [Period(2025, 2).end]
    window = lake.read(SNAPSHOT_WINDOW, SHARED, Period(2025, 2))
    assert window["period_end"] == "2025-02-28" and window["previous_period_end"] == "2025-01-31"


def test_pool_performance_writes_its_tables_and_checks_the_rollforward(deployment):
    _, defs, bound, _ = deployment
    (check,) = invoke(defs, "wh1/pool_performance", "2025-02").checks
    assert check.check_name == "pool_rollforward" and check.passed
    assert "wh1 2025-02: pool_rollforward holds to the cent" in check.description
    lake = bound["lake"].lake
    row = lake.read(POOL_PERFORMANCE, "wh1", Period(2025, 2)).to_dicts()[0]
    rollforward = lake.read(POOL_ROLLFORWARD, "wh1", Period(2025, 2))
    principal = rollforward.filter(rollforward["receivable"] == "principal").to_dicts()[0]
    assert principal["end_cents"] == row["ending_principal_cents"]


def test_a_vehicle_reports_nothing_before_its_first_period(deployment):
    _, defs, bound, _ = deployment
    key = dg.AssetKey(["trust1", "pool_performance"])
    result = defs.resolve_job_def("monthly_close").execute_in_process(
        partition_key="2025-01", asset_selection=[key], instance=dg.DagsterInstance.ephemeral()
    )
    # No materialization, so the month never shows as published; the check says why.
    assert result.success and result.get_asset_materialization_events() == []
    (check,) = result.get_asset_check_evaluations()
    assert check.passed
    assert "trust1 reports from 2025-02" in check.description
    assert bound["lake"].lake.read_optional(POOL_PERFORMANCE, "trust1", Period(2025, 1)) is None


def test_the_waterfall_starts_from_the_config_at_the_first_period_and_then_needs_the_state(
    deployment,
):
    _, defs, bound, _ = deployment
    for key in ("wh1/pool_performance", "wh1/eligibility", "wh1/borrowing_base"):
        invoke(defs, key, "2025-02")
    result = invoke(defs, "wh1/waterfall", "2025-02")
    assert [c.passed for c in result.checks] == [True]
    lake = bound["lake"].lake
    opening = lake.read(WATERFALL_OPENING, "wh1", Period(2025, 2))
    assert opening.period_end.isoformat() == "2025-01-31"
    # wh1.yaml's first draw: 60% of the pool's principal at closing (the end of
    # January), rounded down to whole $1,000
    closing = lake.read(POOL_PERFORMANCE, "wh1", Period(2025, 2))["beginning_principal_cents"][0]
    assert closing > 0
    assert opening.note_balances == {"ADV": closing * 6 // 10 // 100_000 * 100_000}
    assert lake.read(WATERFALL_STATE, "wh1", Period(2025, 2)).period_end == Period(2025, 2).end

    # 2025-04 has no 2025-03 state to start from: the error names the period.
    for key in ("receivables_snapshot",):
        invoke(defs, key, "2025-03")
        invoke(defs, key, "2025-04")
    for key in ("wh1/pool_performance", "wh1/eligibility", "wh1/borrowing_base"):
        invoke(defs, key, "2025-04")
    with pytest.raises(MissingPredecessorError, match="previous period 2025-03 is missing"):
        invoke(defs, "wh1/waterfall", "2025-04")


def test_the_loan_tape_refuses_to_run_without_a_key_outside_the_demo(deployment, tmp_path):
    settings, defs, _, _ = deployment
    for key in ("wh1/eligibility", "wh1/borrowing_base"):  # what the tape reads first
        invoke(defs, key, "2025-02")
    production = settings_for(tmp_path, settings.ledger_url, demo=False, lake_uri=settings.lake_uri)
    with pytest.raises(dg.Failure, match="TAPE_HMAC_KEY is not set"):
        invoke(build_definitions(production), "wh1/loan_tape", "2025-02")
