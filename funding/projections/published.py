"""What the projections stage reads back from the lake: a period's published
position (the projection's start) and the published periods the back-test
replays."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

import polars as pl

from funding.period import Period
from funding.projections.backtest import BACKTEST_MONTHS, PublishedPeriod
from funding.projections.engine import ProjectionStart
from funding.storage.lake import PeriodTables
from funding.storage.tables import (
    BORROWING_BASE_LINES,
    POOL_PERFORMANCE,
    TRIGGER_TESTS,
    WATERFALL_OPENING,
    WATERFALL_STATE,
    WATERFALL_STATEMENT,
)
from funding.structure.borrowing_base import borrowing_base_of, certificate_totals

if TYPE_CHECKING:
    from funding.vehicle_config import VehicleConfig

HISTORY_PERIODS = 3  # the period and the two before it: the base scenario's window


def reads(config: VehicleConfig) -> list:
    """The lake tables the projections stage reads."""
    tables = [
        POOL_PERFORMANCE,
        WATERFALL_OPENING,
        WATERFALL_STATE,
        WATERFALL_STATEMENT,
        TRIGGER_TESTS,
    ]
    if config.facility is not None:
        tables.append(BORROWING_BASE_LINES)
    return tables


def _reported(config: VehicleConfig, tables: PeriodTables, period: Period) -> bool:
    """Whether the vehicle published period P. Without `first_period_end`, a
    vehicle starts at the first period it ran, so an earlier month has no
    state in the lake and was never published."""
    if config.first_period_end is not None:
        return config.reports(period)
    return tables.exists(WATERFALL_STATE, period)


def published_start(config: VehicleConfig, tables: PeriodTables, period: Period) -> ProjectionStart:
    """Period P's closing state and published figures; for the month before
    the vehicle's first period (its closing), the state that first period
    opened with, as published (balances sized on the pool at closing), and
    nothing else published."""
    if not _reported(config, tables, period):
        opening = tables.read(WATERFALL_OPENING, period.next())
        return ProjectionStart(period, opening, ())
    performance = []
    for back in range(HISTORY_PERIODS - 1, -1, -1):
        earlier = period.plus(-back)
        if _reported(config, tables, earlier):
            frame = tables.read_optional(POOL_PERFORMANCE, earlier)
            if frame is not None:
                performance.append(frame.to_dicts()[0])
    share = None
    if config.facility is not None:
        line = certificate_totals(tables.read(BORROWING_BASE_LINES, period))
        pool = line["pool_principal"]
        share = Fraction(line["net_eligible_balance"], pool) if pool > 0 else Fraction(0)
    tests = tables.read(TRIGGER_TESTS, period)
    values = {
        r["name"]: None if r["value"] is None else Fraction(r["value"]) for r in tests.to_dicts()
    }
    return ProjectionStart(
        period=period,
        state=tables.read(WATERFALL_STATE, period),
        performance=tuple(performance),
        net_eligible_share=share,
        trigger_values=values,
    )


def published_periods(
    config: VehicleConfig, tables: PeriodTables, period: Period
) -> list[PublishedPeriod]:
    """The last `BACKTEST_MONTHS` periods up to P the vehicle reported, oldest first."""
    periods = [period.plus(-back) for back in range(BACKTEST_MONTHS - 1, -1, -1)]
    return [_published(config, tables, p) for p in periods if _reported(config, tables, p)]


def _published(config: VehicleConfig, tables: PeriodTables, period: Period) -> PublishedPeriod:
    lines: pl.DataFrame | None = (
        tables.read(BORROWING_BASE_LINES, period) if config.facility is not None else None
    )
    return PublishedPeriod(
        period=period,
        performance=tables.read(POOL_PERFORMANCE, period).to_dicts()[0],
        borrowing_base_cents=None if lines is None else borrowing_base_of(lines),
        statement=tables.read(WATERFALL_STATEMENT, period),
        trigger_tests=tables.read(TRIGGER_TESTS, period),
        state=tables.read(WATERFALL_STATE, period),
    )
