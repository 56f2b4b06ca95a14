"""What a vehicle's period feeds the waterfall: the opening state (the
previous period's closing state, or the config's initial values at the
vehicle's first period) and the period's inputs from its pool performance,
index fixings and borrowing base."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import polars as pl

from funding.performance.pool import measures_from_row
from funding.period import Period
from funding.structure.config import StructureConfig
from funding.structure.rates import FixingTable
from funding.structure.triggers import TriggerTest
from funding.structure.waterfall.state import (
    MissingPredecessorError,
    PeriodInputs,
    VehicleState,
    initial_state,
)

TRIGGER_TESTS_SCHEMA = {
    "name": pl.String,
    "ratio": pl.String,
    "op": pl.String,
    "threshold": pl.String,
    "value": pl.String,
    "breached": pl.Boolean,
    "effect": pl.String,
    "tested": pl.String,
    "consecutive_breaches": pl.Int64,
    "in_effect": pl.Boolean,
}


def opening_state_for(
    config: StructureConfig,
    vehicle_id: str,
    period: Period,
    first_period: Period | None,
    previous_state: VehicleState | None,
    pool_at_closing_cents: int | None = None,
) -> VehicleState:
    """The state `period` starts from: the config's initial values at the
    vehicle's first period, else the previous period's closing state.

    At the first period, balances stated as shares of the pool are sized on
    `pool_at_closing_cents`: the pool's principal at its closing, the end of
    the period before the first (the first period's beginning principal)."""
    previous = period.previous()
    if period == first_period:
        if not config.sized_at_closing:
            if pool_at_closing_cents is None:
                raise ValueError(
                    f"{vehicle_id} sizes its notes on the pool at closing: "
                    f"the pool's principal at {previous.end} is needed"
                )
            config = config.size_at_closing(pool_at_closing_cents)
        return initial_state(config, previous.end)
    if previous_state is None:
        raise MissingPredecessorError(
            f"{vehicle_id} waterfall {period}: the state of the previous period {previous} is "
            f"missing; materialize {vehicle_id}/waterfall for {previous} first (periods run in order)"
        )
    return previous_state


def period_inputs(
    config: StructureConfig,
    period: Period,
    performance: Mapping[str, Any],
    fixings: FixingTable,
    borrowing_base_cents: int | None,
    draw_policy: str = "max_available",
) -> PeriodInputs:
    """The period's inputs from its `pool_performance` row (measures in cents,
    ratios as exact decimal text)."""
    pool = measures_from_row(performance)
    ratios = {
        name: (None if performance.get(name) is None else Decimal(performance[name]))
        for name in (t.ratio for t in config.triggers)
        if name in performance
    }
    return PeriodInputs(
        period_start=period.start,
        period_end=period.end,
        previous_period_end=period.previous().end,
        pool={k: int(v) for k, v in pool.items() if isinstance(v, int)},
        fixings=fixings.for_period(config.floating_indices(), period.start),
        ratios=ratios,
        borrowing_base_cents=borrowing_base_cents,
        draw_policy=draw_policy,
    )


def trigger_tests_frame(tests: Sequence[TriggerTest]) -> pl.DataFrame:
    return pl.DataFrame([t.to_dict() for t in tests], schema=TRIGGER_TESTS_SCHEMA)
