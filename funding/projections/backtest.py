"""The back-test: project from P-3 with the realised pool measures of
P-2 ... P as the scenario, and compare the projected waterfalls with the
published ones, to the cent.

The projection sees only pool-level measures, the index fixings and (for a
warehouse) the borrowing base, the same inputs the actual waterfall had; so
exact inputs must give exactly the published statement, trigger tests and
closing state. Any difference means the projection no longer shares the
actuals' engine, and the check on the projection fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from funding.performance.pool import measures_from_row
from funding.period import Period
from funding.projections.engine import Projection, ProjectionStart, project
from funding.projections.scenarios import BORROWING_BASE, MonthAssumptions, ResolvedScenario
from funding.structure.rates import FixingTable
from funding.structure.waterfall import VehicleState

if TYPE_CHECKING:
    from funding.vehicle_config import VehicleConfig

BACKTEST_MONTHS = 3
BACKTEST = "backtest"


@dataclass(frozen=True)
class PublishedPeriod:
    """What was published for one period: its inputs and its waterfall."""

    period: Period
    performance: Mapping[str, Any]  # the pool_performance row
    borrowing_base_cents: int | None
    statement: pl.DataFrame
    trigger_tests: pl.DataFrame
    state: VehicleState


@dataclass(frozen=True)
class Difference:
    period: Period
    item: str  # "statement row 3", "trigger bb_deficiency", "state reserve_cents", ...
    projected: Any
    published: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.key,
            "item": self.item,
            "projected": self.projected,
            "published": self.published,
        }


def realised_scenario(
    config: VehicleConfig, published: Sequence[PublishedPeriod], fixings: FixingTable
) -> ResolvedScenario:
    """The published periods' pool measures (cents), fixings and borrowing bases."""
    months = []
    for period in published:
        measures = {
            name: value
            for name, value in measures_from_row(period.performance).items()
            if isinstance(value, int)
        }
        if period.borrowing_base_cents is not None:
            measures[BORROWING_BASE] = period.borrowing_base_cents
        months.append(
            MonthAssumptions(
                fixings=fixings.for_period(config.floating_indices(), period.period.start),
                measures=measures,
            )
        )
    return ResolvedScenario(BACKTEST, tuple(months))


def run_backtest(
    config: VehicleConfig,
    start: ProjectionStart,
    published: Sequence[PublishedPeriod],
    fixings: FixingTable,
) -> tuple[Projection, list[Difference]]:
    """Project the published periods from `start` and list every difference."""
    expected = [start.period.plus(n) for n in range(1, len(published) + 1)]
    if [p.period for p in published] != expected:
        raise ValueError(
            f"the back-test needs the periods right after {start.period}: "
            f"{[p.key for p in expected]}, got {[p.period.key for p in published]}"
        )
    projection = project(config, start, realised_scenario(config, published, fixings))
    differences: list[Difference] = []
    for month, actual in zip(projection.months, published, strict=True):
        differences += compare_month(month.period, month.result, actual)
    return projection, differences


def compare_month(period: Period, result: Any, actual: PublishedPeriod) -> list[Difference]:
    """Statement rows, trigger tests and closing state, field by field."""
    differences = []
    projected_rows = [row.to_dict() for row in result.statement]
    published_rows = actual.statement.to_dicts()
    for number in range(max(len(projected_rows), len(published_rows))):
        mine = projected_rows[number] if number < len(projected_rows) else None
        theirs = published_rows[number] if number < len(published_rows) else None
        if mine != theirs:
            differences.append(Difference(period, f"statement row {number + 1}", mine, theirs))
    columns = actual.trigger_tests.columns
    projected_tests = {t.name: t.to_dict() for t in result.trigger_tests}
    for test in actual.trigger_tests.to_dicts():
        mine = projected_tests.pop(test["name"], None)
        mine = None if mine is None else {k: mine.get(k) for k in columns}
        if mine != test:
            differences.append(Difference(period, f"trigger {test['name']}", mine, test))
    differences += [
        Difference(period, f"trigger {name}", test, None) for name, test in projected_tests.items()
    ]
    mine_state, their_state = result.state.to_dict(), actual.state.to_dict()
    differences += [
        Difference(period, f"state {key}", mine_state.get(key), their_state.get(key))
        for key in dict.fromkeys([*mine_state, *their_state])
        if mine_state.get(key) != their_state.get(key)
    ]
    return differences
