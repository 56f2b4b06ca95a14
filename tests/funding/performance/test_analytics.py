"""Stratifications, vintage curves, roll rates and trends (metrics.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from funding.demo import SeedConfig, seed_ledger
from funding.ledger.database import read_ledger
from funding.ledger.extract import extract_periods
from funding.ledger.snapshot import DPD_BUCKETS
from funding.performance.analytics import (
    DIMENSIONS,
    exact_ratio,
    roll_rates,
    stratifications,
    trends,
)
from funding.performance.pool import (
    HEADLINE_RATIOS,
    delinquency_table,
    performance_table,
    pool_measures,
)
from funding.performance.ratios import POOL_MEASURE_NAMES
from funding.performance.vintages import VINTAGE_COLUMNS, vintage_curves
from tests.support.snapshot_rows import snapshot_frame

VEHICLES = (None, "wh1", "trust1")
IDS = ["portfolio", "wh1", "trust1"]


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory) -> list[pl.DataFrame]:
    """Every closed period's snapshot of a small synthetic ledger."""
    url = f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'ledger.sqlite'}"
    seed_ledger(url, SeedConfig(accounts=1_500, months=10, seed=11))
    with read_ledger(url) as session:
        return [snapshot for _, snapshot in extract_periods(session)]


# ------------------------------------------------------------------ stratifications


@pytest.mark.parametrize("vehicle", VEHICLES, ids=IDS)
def test_stratification_shares_sum_to_one_and_totals_to_the_pool(snapshots, vehicle):
    for snapshot in snapshots:
        measures = pool_measures(snapshot, vehicle)
        table = stratifications(snapshot, vehicle)
        assert table["dimension"].unique(maintain_order=True).to_list() == list(DIMENSIONS)
        totals = table.group_by("dimension").agg(
            pl.col("account_count").sum(),
            pl.col("balance_cents").sum(),
            pl.col("pct_count").sum(),
            pl.col("pct_balance").sum(),
        )
        for row in totals.iter_rows(named=True):
            assert row["account_count"] == measures["account_count"], row
            assert row["balance_cents"] == measures["ending_total"], row
            if measures["account_count"]:
                assert row["pct_count"] == Decimal(1), row
            if measures["ending_total"]:
                assert row["pct_balance"] == Decimal(1), row


def test_stratification_bands_and_order(snapshots):
    table = stratifications(snapshots[-1], None)
    fico = table.filter(pl.col("dimension") == "origination_fico")
    assert fico["band"].to_list() == ["<600", "600-659", "660-719", "720-779", "780+", "missing"]
    assert fico["band_order"].to_list() == list(range(6))
    state = table.filter(pl.col("dimension") == "state")
    assert state.height <= 11 and state["band"][-1] == "other"
    top = state.head(state.height - 1)["balance_cents"].to_list()
    assert top == sorted(top, reverse=True)
    assert table.sort("dimension_order", "band_order").equals(table)


def test_stratification_of_an_empty_pool_has_zero_rows_and_null_shares():
    table = stratifications(snapshot_frame(), "wh1")
    assert table["account_count"].sum() == 0
    assert table["pct_count"].null_count() == table.height
    assert table.filter(dimension="state")["band"].to_list() == ["other"]


def test_stratification_edges_and_missing_values():
    snapshot = snapshot_frame(
        {"origination_fico": 599, "credit_limit_cents": 100_000, "principal_cents": -5}
        | {"billing_state": "CA"},
        {"origination_fico": 600, "credit_limit_cents": 100_001, "principal_cents": 50_000}
        | {"billing_state": "CA"},
        {"origination_fico": None, "risk_grade": "Z", "billing_state": None},
    )
    table = stratifications(snapshot, None)

    def bands(dimension: str) -> dict[str, int]:
        rows = table.filter(pl.col("dimension") == dimension, pl.col("account_count") > 0)
        return dict(zip(rows["band"], rows["account_count"], strict=True))

    assert bands("origination_fico") == {"<600": 1, "600-659": 1, "missing": 1}
    assert bands("credit_limit") == {"$0.00-$1,000.00": 2, "$1,000.01-$2,500.00": 1}
    assert bands("balance") == {"credit balance": 1, "zero": 1, "$0.01-$500.00": 1}
    assert bands("risk_grade") == {"missing": 2, "Z": 1}  # unexpected grade kept, sorted last
    assert bands("state") == {"CA": 2, "missing": 1}
    balance = table.filter(pl.col("dimension") == "balance")
    assert balance["pct_balance"].sum() == Decimal(1)
    assert balance.filter(pl.col("band") == "credit balance")["pct_balance"][0] < 0


# ------------------------------------------------------------------ roll rates


@pytest.mark.parametrize("vehicle", VEHICLES, ids=IDS)
def test_roll_rate_rows_sum_to_the_prior_bucket(snapshots, vehicle):
    for before, now in zip(snapshots, snapshots[1:], strict=False):
        matrix = roll_rates(before, now, vehicle)
        assert matrix.height == len(DPD_BUCKETS) * (len(DPD_BUCKETS) + 1)
        rows = matrix.group_by("from_bucket", maintain_order=True).agg(
            pl.col("balance_cents").sum(),
            pl.col("account_count").sum(),
            pl.col("pct_balance").sum(),
            pl.col("pct_count").sum(),
        )
        prior = delinquency_table(before, vehicle)
        assert rows["from_bucket"].to_list() == prior["bucket"].to_list()
        assert rows["balance_cents"].to_list() == prior["amount_cents"].to_list()
        assert rows["account_count"].to_list() == prior["account_count"].to_list()
        for row in rows.iter_rows(named=True):
            if row["account_count"]:
                assert row["pct_count"] == Decimal(1)
            if row["balance_cents"]:
                assert row["pct_balance"] == Decimal(1)


def test_roll_rates_states():
    before = snapshot_frame(
        {"delinquency_bucket": "current", "principal_cents": 1_000},  # pays off
        {"delinquency_bucket": "150_179", "principal_cents": 2_000},  # charges off
        {"delinquency_bucket": "30_59", "principal_cents": 3_000, "vehicle_id": "wh1"},
        {"delinquency_bucket": "30_59", "principal_cents": 4_000, "is_active": False},
    )
    now = snapshot_frame(
        {"delinquency_bucket": "current", "principal_cents": 0},
        {"delinquency_bucket": "charged_off", "principal_cents": 0},
        {"delinquency_bucket": "60_89", "principal_cents": 3_100},
        {"delinquency_bucket": "60_89", "principal_cents": 4_100},
        period_end=date(2025, 4, 30),
    )
    moved = roll_rates(before, now, None).filter(pl.col("account_count") > 0)
    assert moved.select("from_bucket", "to_bucket", "balance_cents").rows() == [
        ("current", "closed/paid", 1_000),
        ("30_59", "60_89", 3_000),
        ("150_179", "charged_off", 2_000),
    ]
    wh1 = roll_rates(before, now, "wh1").filter(pl.col("account_count") > 0)
    assert wh1.select("from_bucket", "to_bucket").rows() == [("30_59", "60_89")]
    with pytest.raises(ValueError, match="missing from the P snapshot"):
        roll_rates(before, now.head(2), None)
    with pytest.raises(ValueError, match="earlier period"):
        roll_rates(now, before, None)


# ------------------------------------------------------------------ vintage curves


@pytest.mark.parametrize("vehicle", VEHICLES, ids=IDS)
def test_vintage_cumulative_chargeoffs_never_decrease(snapshots, vehicle):
    curves = vintage_curves(snapshots, vehicle)
    assert curves.height > 0
    for vintage, points in curves.group_by("vintage"):
        points = points.sort("months_on_book")
        cumulative = points["cumulative_chargeoffs_cents"].to_list()
        assert cumulative == sorted(cumulative), vintage
        assert cumulative[-1] == points["chargeoff_principal_cents"].sum()
        net = points["cumulative_net_chargeoffs_cents"].to_list()
        assert net[-1] == points["net_chargeoffs_cents"].sum()


def test_portfolio_vintages_hold_every_account_at_every_reported_age(snapshots):
    """Only complete points are reported, so a vintage's size and limit at
    origination are the same at every age, and the curve is comparable."""
    curves = vintage_curves(pl.concat(snapshots), None)
    vintages = curves["vintage"].unique().sort().to_list()
    assert "2025-Q1" in vintages and vintages[0] < "2022"  # new accounts and the back book
    for _, points in curves.group_by("vintage"):
        assert points["account_count"].n_unique() == 1
        assert points["origination_credit_limit_cents"].n_unique() == 1
    assert curves["chargeoff_principal_cents"].sum() > 0
    last = snapshots[-1]
    q1 = last.filter(pl.col("opened_on").is_between(date(2025, 1, 1), date(2025, 3, 31)))
    assert curves.filter(vintage="2025-Q1")["account_count"][0] == q1.height


def test_vintage_points_and_ratios_on_a_hand_made_history():
    def account(period_end: date, opened: date, **values: Any) -> dict[str, Any]:
        mob = (period_end.year * 12 + period_end.month) - (opened.year * 12 + opened.month)
        return {"opened_on": opened, "months_on_book": mob, "credit_limit_cents": 10_000} | values

    jan, feb, mar, apr = (date(2025, m, d) for m, d in ((1, 31), (2, 28), (3, 31), (4, 30)))
    history = [
        snapshot_frame(account(jan, date(2025, 1, 5), principal_cents=1_000), period_end=jan),
        snapshot_frame(
            account(feb, date(2025, 1, 5), begin_principal_cents=1_000, principal_cents=0)
            | {"chargeoff_principal_cents": 1_000, "delinquency_bucket": "charged_off"},
            period_end=feb,
        ),
        snapshot_frame(
            account(mar, date(2025, 1, 5), recoveries_cents=100, credit_limit_cents=99_999),
            period_end=mar,
        ),
        snapshot_frame(account(apr, date(2025, 1, 5)), period_end=apr),
    ]
    curves = vintage_curves(history, None)
    # ages 0 and 1 need Jan..Mar and Feb..Apr observed; age 2 would need May
    assert curves["months_on_book"].to_list() == [0, 1]
    age1 = curves.row(1, named=True)
    assert age1["origination_credit_limit_cents"] == 10_000  # the limit when first seen
    assert age1["cumulative_net_chargeoffs_cents"] == 1_000
    assert age1["cumulative_net_chargeoff_rate"] == Decimal("0.1")
    assert age1["net_chargeoff_rate"] == Decimal(12)  # 1,000 x 12 / 1,000
    assert curves.row(0, named=True)["net_chargeoff_rate"] is None  # no beginning principal
    assert vintage_curves([], None).height == 0


@pytest.mark.parametrize(
    ("numerator", "denominator", "multiplier", "expected"),
    [
        (1, 3, 1, "0.333333333333333333"),
        (2, 3, 1, "0.666666666666666667"),
        (-2, 3, 1, "-0.666666666666666667"),
        (1, -3, 1, "-0.333333333333333333"),
        (1, 8, 12, "1.5"),
        (7, 0, 1, None),
    ],
)
def test_exact_ratio_rounds_once_half_even(numerator, denominator, multiplier, expected):
    frame = pl.DataFrame(
        {"n": [numerator], "d": [denominator]}, schema={"n": pl.Int64, "d": pl.Int64}
    )
    value = frame.select(exact_ratio(pl.col("n"), pl.col("d"), multiplier))[0, 0]
    assert value == (None if expected is None else Decimal(expected))


@pytest.mark.parametrize(
    ("numerator", "expected"),
    [(1, "0.00"), (3, "0.02"), (5, "0.02"), (-3, "-0.02"), (7, "0.04")],
)
def test_exact_ratio_ties_go_to_even(numerator, expected):
    frame = pl.DataFrame({"n": [numerator]})
    value = frame.select(exact_ratio(pl.col("n"), pl.lit(200), scale=2))[0, 0]
    assert value == Decimal(expected)  # n / 200 = x.xx5 exactly


# ------------------------------------------------------------------ trends


def test_trends_are_the_last_periods_of_the_headline_ratios(snapshots):
    history = [(s["period_end"][0], pool_measures(s, None)) for s in snapshots]
    table = performance_table(history)
    trend = trends(table, periods=4)
    assert trend["period_end"].to_list() == table["period_end"].tail(4).to_list()
    assert trend.columns == [
        "period_end",
        *(n for r in HEADLINE_RATIOS for n in (r, f"{r}_3m_avg")),
    ]
    assert trend["payment_rate_3m_avg"].null_count() == 0  # history reaches back
    assert trend.equals(trends(table.reverse(), periods=4))
    assert trends(table).height == len(snapshots)  # fewer than 13 periods: all of them


def test_trends_show_an_undefined_headline_ratio_as_nulls():
    history = pl.DataFrame(
        {"period_end": [date(2025, 1, 31)], "payment_rate": ["0.25"]},
    )
    trend = trends(history)
    assert trend["payment_rate"].to_list() == ["0.25"]
    assert trend["portfolio_yield"].to_list() == [None]
    with pytest.raises(ValueError, match="more than one row"):
        trends(pl.concat([history, history]))


def test_measure_names_cover_the_pool():
    """The performance frame carries one column per pool measure."""
    m = {n: 0 for n in POOL_MEASURE_NAMES}
    table = performance_table([(date(2025, 1, 31), m)])
    assert {"account_count", "ending_total_cents", "delinquent_60_89_cents"} <= set(table.columns)


def test_vintage_curves_need_only_the_listed_columns(snapshots):
    full = vintage_curves(snapshots, "wh1")
    narrow = vintage_curves([s.select(VINTAGE_COLUMNS) for s in snapshots], "wh1")
    assert narrow.equals(full)
