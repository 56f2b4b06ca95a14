"""How the demo book compares with what real card trusts report: the
headline ratios of every vehicle (and of the whole portfolio) for every
reported period, computed the way the pipeline computes them (extraction,
pool measures, the vehicle's own ratio definitions), and the ranges a
reader of card master trust reports expects them in."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import polars as pl

from funding.ledger.database import read_ledger
from funding.ledger.extract import extract_periods
from funding.performance.pool import performance_table, pool_measures
from funding.vehicle_config import PORTFOLIO, VehicleConfig, portfolio_view

# Monthly payment rate, annualised yield and net charge-offs, 60+ day
# delinquency: the ranges real credit card trusts report (issue 14).
REALISTIC_RANGES: dict[str, tuple[Decimal, Decimal]] = {
    "payment_rate": (Decimal("0.15"), Decimal("0.45")),
    "portfolio_yield": (Decimal("0.15"), Decimal("0.30")),
    "net_chargeoff_rate": (Decimal("0.02"), Decimal("0.10")),
    "delinquency_60_plus": (Decimal("0.01"), Decimal("0.05")),
}


def headline_ratios(url: str, vehicles: Mapping[str, VehicleConfig]) -> pl.DataFrame:
    """vehicle, period_end and each ratio of `REALISTIC_RANGES` (exact
    decimal text, null when undefined) for the portfolio and every vehicle,
    every period it reports."""
    views = {PORTFOLIO: portfolio_view(), **vehicles}
    history: dict[str, list] = {v: [] for v in views}
    with read_ledger(url) as session:
        for close, snapshot in extract_periods(session):
            for vehicle, config in views.items():
                if config.reports(close.period):
                    members = None if vehicle == PORTFOLIO else vehicle
                    history[vehicle].append((close.period_end, pool_measures(snapshot, members)))
    frames = []
    for vehicle, config in views.items():
        if not history[vehicle]:
            continue
        table = performance_table(history[vehicle], config.ratios)
        frames.append(
            table.select(
                pl.lit(vehicle).alias("vehicle"),
                "period_end",
                *(
                    pl.col(n) if n in table.columns else pl.lit(None, pl.String).alias(n)
                    for n in REALISTIC_RANGES
                ),
            )
        )
    return pl.concat(frames)


def outside_ranges(ratios: pl.DataFrame) -> list[str]:
    """Each ratio of a period outside its range, or undefined, as a sentence."""
    problems = []
    for row in ratios.iter_rows(named=True):
        for name, (low, high) in REALISTIC_RANGES.items():
            value = row[name]
            where = f"{row['vehicle']} {row['period_end']} {name}"
            if value is None:
                problems.append(f"{where} has no value")
            elif not low <= Decimal(value) <= high:
                problems.append(
                    f"{where} = {Decimal(value) * 100:.2f}%, not in {low * 100}%-{high * 100}%"
                )
    return problems
