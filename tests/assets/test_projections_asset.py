"""The `projections` asset invoked directly on the demo ledger: it writes
every scenario into the lake, and its blocking back-test replays the last
three published waterfalls to the cent, naming any difference."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest

from dagster_project.definitions import build_definitions, resources
from funding.demo import SeedConfig, seed_ledger
from funding.period import Period
from funding.storage.tables import (
    PROJECTION_SCENARIOS,
    PROJECTIONS,
    WATERFALL_STATE,
    WATERFALL_STATEMENT,
)
from tests.assets.test_assets_invoked import invoke
from tests.support.dagster_helpers import settings_for

PERIODS = ("2025-01", "2025-02", "2025-03", "2025-04")
STAGES = (
    "receivables_snapshot",
    "wh1/pool_performance",
    "wh1/eligibility",
    "wh1/borrowing_base",
    "wh1/waterfall",
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("projections")
    url = f"sqlite:///{root / 'ledger.sqlite'}"
    seed_ledger(url, SeedConfig(accounts=300, months=4))
    settings = settings_for(root, url)
    defs = build_definitions(settings)
    for period in PERIODS:
        for key in STAGES:
            result = invoke(defs, key, period)
            assert all(c.passed for c in result.checks), (key, period)
    return defs, resources(settings)["lake"].lake


def test_the_back_test_on_the_demo_ledger_equals_the_published_waterfalls(demo):
    defs, lake = demo
    result = invoke(defs, "wh1/projections", "2025-04")
    (check,) = result.checks
    assert check.check_name == "projection_backtest" and check.passed, check.description
    assert check.asset_key == dg.AssetKey(["wh1", "projections"])  # on the projection only
    assert check.description == (
        "wh1 2025-04: projection_backtest: the projection from 2025-01 over 2025-02..2025-04 "
        "equals the published waterfalls to the cent"
    )
    table = lake.read(PROJECTIONS, "wh1", Period(2025, 4))
    assert table.columns == ["scenario", "month", "measure", "value"]
    assert table["scenario"].unique(maintain_order=True).to_list() == ["base", "stress"]
    months = table["month"].unique().sort().to_list()
    assert months[0] == "2025-04" and months[-1] == "2027-04" and len(months) == 25
    # the projection starts from the published closing advances
    state = lake.read(WATERFALL_STATE, "wh1", Period(2025, 4))
    start = table.filter(
        (pl.col("scenario") == "base") & (pl.col("month") == "2025-04")
        & (pl.col("measure") == "note.ADV.balance_cents")
    )["value"].to_list()  # fmt: skip
    assert start == [state.note_balances["ADV"]]
    scenarios = lake.read(PROJECTION_SCENARIOS, "wh1", Period(2025, 4))
    assert [s["name"] for s in scenarios["scenarios"]] == ["base", "stress"]
    assert scenarios["start_period"] == "2025-04" and scenarios["horizon_months"] == 24


def test_a_published_waterfall_the_projection_cannot_reproduce_fails_the_back_test(demo):
    defs, lake = demo
    march = Period(2025, 3)
    published = lake.read(WATERFALL_STATEMENT, "wh1", march)
    try:
        lake.write(
            WATERFALL_STATEMENT,
            "wh1",
            march,
            published.with_columns(
                pl.when(pl.col("action") == "interest")
                .then(pl.col("due_cents") + 1)
                .otherwise(pl.col("due_cents"))
                .alias("due_cents")
            ),
        )
        (check,) = invoke(defs, "wh1/projections", "2025-04").checks
    finally:
        lake.write(WATERFALL_STATEMENT, "wh1", march, published)
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert "wh1 2025-04: projection_backtest" in check.description
    assert "differs from the published waterfalls in 1 places, first 2025-03 statement row 2" in (
        check.description
    )
    offending = check.metadata["offending_rows"].value
    assert offending[0]["period"] == "2025-03" and offending[0]["item"] == "statement row 2"
