"""Vintage curves built one period at a time equal the curves computed from
every snapshot at once, including when the basis goes through the lake's
Parquet between periods (as the analytics step carries it), for the
portfolio and each vehicle, at every period of a generated ledger.

The oracle below is an independent whole-history computation: one group-by
over every account-period, with the limit at origination taken as the
credit limit of each account's earliest row (metrics.md, "Curves and
tables")."""

from __future__ import annotations

import io
from datetime import date

import polars as pl
import pytest

from funding.demo import SeedConfig, seed_ledger
from funding.ledger.database import read_ledger
from funding.ledger.extract import extract_periods
from funding.performance.vintages import VINTAGE_COLUMNS, VintageBasis, vintage_curves

BUCKETS_30_PLUS = ["30_59", "60_89", "90_119", "120_149", "150_179", "180_plus"]


def whole_history_curves(snapshots: list[pl.DataFrame], vehicle: str | None) -> pl.DataFrame:
    history = pl.concat(snapshots, how="vertical_relaxed")
    observed = set(
        history.select(pl.col("period_end").dt.year() * 12 + pl.col("period_end").dt.month() - 1)
        .to_series()
        .to_list()
    )
    rows = history.filter(pl.col("opened_on").is_not_null()).with_columns(
        pl.col("credit_limit_cents").sort_by("period_end").first().over("account_id").alias("lim"),
        pl.format("{}-Q{}", pl.col("opened_on").dt.year(), pl.col("opened_on").dt.quarter()).alias(
            "vintage"
        ),
        (pl.col("opened_on").dt.year() * 12 + (pl.col("opened_on").dt.quarter() - 1) * 3).alias(
            "start"
        ),
    )
    if vehicle is not None:  # its pool; the portfolio keeps every account in its static pool
        rows = rows.filter(pl.col("is_active") & (pl.col("vehicle_id") == vehicle))
    points = rows.group_by("vintage", "start", "months_on_book").agg(
        pl.len().alias("account_count"),
        pl.col("lim").sum().alias("origination_credit_limit_cents"),
        pl.col("chargeoff_principal_cents").sum(),
        pl.col("recoveries_cents").sum(),
        pl.col("total_cents")
        .filter(pl.col("delinquency_bucket").is_in(BUCKETS_30_PLUS))
        .sum()
        .alias("delinquent_30_plus_cents"),
    )
    age = pl.col("start") + pl.col("months_on_book")
    return (
        points.filter(pl.all_horizontal((age + k).is_in(list(observed)) for k in range(3)))
        .select(pl.exclude("start"))
        .cast({c: pl.Int64 for c in points.columns if c not in ("vintage", "start")})
        .sort("vintage", "months_on_book")
    )


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory) -> list[pl.DataFrame]:
    url = f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'ledger.sqlite'}"
    seed_ledger(url, SeedConfig(accounts=800, months=8, seed=5))
    with read_ledger(url) as session:
        return [snapshot.select(VINTAGE_COLUMNS) for _, snapshot in extract_periods(session)]


def through_parquet(frame: pl.DataFrame) -> pl.DataFrame:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return pl.read_parquet(buffer.getvalue())


COMPARED = [
    "vintage",
    "months_on_book",
    "account_count",
    "origination_credit_limit_cents",
    "chargeoff_principal_cents",
    "recoveries_cents",
    "delinquent_30_plus_cents",
]


@pytest.mark.parametrize("vehicle", [None, "wh1", "trust1"], ids=["portfolio", "wh1", "trust1"])
def test_period_by_period_through_the_lake_equals_the_whole_history(snapshots, vehicle):
    basis = None
    for count in range(1, len(snapshots) + 1):
        if basis is None:  # the entity's first period: every snapshot so far
            basis = VintageBasis.of(snapshots[:count], vehicle)
        else:
            stored = VintageBasis(
                through_parquet(basis.contributions), through_parquet(basis.origination_limits)
            )
            basis = stored.extended(snapshots[count - 1], vehicle)
        curves = basis.curves()
        assert curves.equals(vintage_curves(snapshots[:count], vehicle)), count
        expected = whole_history_curves(snapshots[:count], vehicle)
        assert curves.select(COMPARED).equals(expected), count
    assert curves.height > 10 and curves["chargeoff_principal_cents"].sum() > 0


def test_the_limit_at_origination_is_the_one_first_observed():
    months = [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30)]
    limits = [10_000, 50_000, 50_000, 50_000]  # raised in February
    basis = VintageBasis.empty()
    for month, limit in zip(months, limits, strict=True):
        basis = basis.extended(snapshot_of(month, "wh1", limit), "wh1")
    curves = basis.curves()
    # ages 0 and 1 are complete (Jan-Mar and Feb-Apr observed); both at the January limit
    assert curves["months_on_book"].to_list() == [0, 1]
    assert curves["origination_credit_limit_cents"].to_list() == [10_000, 10_000]
    assert basis.origination_limits.to_dicts() == [
        {"account_id": 7, "origination_limit_cents": 10_000}
    ]


def test_a_period_without_pool_members_still_counts_as_observed():
    """Age 1 of the 2025-Q1 vintage needs February, March and April
    observed. In March the account is out of wh1's pool: no contribution,
    but the month was observed, so the point is complete."""
    months = [date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30)]
    basis = VintageBasis.empty()
    for month in months:
        vehicle = None if month.month == 3 else "wh1"
        basis = basis.extended(snapshot_of(month, vehicle), "wh1")
    assert basis.curves()["months_on_book"].to_list() == [1]


def snapshot_of(period_end: date, vehicle: str | None, limit: int = 10_000) -> pl.DataFrame:
    """Account 7, opened 2025-01-03, alone in a snapshot."""
    return pl.DataFrame(
        {
            "period_end": [period_end],
            "account_id": [7],
            "opened_on": [date(2025, 1, 3)],
            "months_on_book": [period_end.month - 1],
            "credit_limit_cents": [limit],
            "is_active": [True],
            "vehicle_id": pl.Series([vehicle], dtype=pl.String),
            "delinquency_bucket": ["current"],
            **{c: [0] for c in VINTAGE_COLUMNS[8:]},
        }
    )
