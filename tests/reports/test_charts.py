"""Chart axes a reader can use: tick labels never repeat, whatever the range
(tiny loss rates, money near a scale boundary, more than twelve months)."""

from __future__ import annotations

import itertools

import pytest

from reports.charts import (
    money_formatter,
    nice_ticks,
    percent_formatter,
    period_ticks,
    split_by_scale,
)

# Ranges met in real reports: early vintage losses of a hundredth of a percent,
# delinquency shares, payment rates; money just under and over a scale step.
RATIO_ENDS = [
    0,
    0.0001,
    0.00015,
    0.0002,
    0.0005,
    0.001,
    0.0025,
    0.004,
    0.01,
    0.02,
    0.03,
    0.12,
    0.25,
    0.6,
]
MONEY_ENDS = [0, 10, 999, 1000, 1500, 9999, 10000, 123456, 1e6, 1.25e6, 2.5e6, 1.2e7]


@pytest.mark.parametrize(("lo", "hi"), list(itertools.combinations(RATIO_ENDS, 2)))
def test_percent_ticks_never_repeat(lo, hi):
    ticks = nice_ticks(lo, hi)
    labels = [percent_formatter(ticks)(t) for t in ticks]
    assert len(set(labels)) == len(labels), labels


@pytest.mark.parametrize(("lo", "hi"), list(itertools.combinations(MONEY_ENDS, 2)))
def test_money_ticks_never_repeat(lo, hi):
    ticks = nice_ticks(lo, hi)
    labels = [money_formatter(ticks)(t) for t in ticks]
    assert len(set(labels)) == len(labels), labels


def test_tick_labels_written_out():
    # 0 to 0.01%: steps of 0.002 points need three decimals
    ticks = nice_ticks(0, 0.0001)
    assert [percent_formatter(ticks)(t) for t in ticks] == [
        "0.000%", "0.002%", "0.004%", "0.006%", "0.008%", "0.010%",
    ]  # fmt: skip
    ticks = nice_ticks(0, 0.3)
    assert [percent_formatter(ticks)(t) for t in ticks] == ["0%", "10%", "20%", "30%"]
    # thirteen months from March to March: the second March says its year
    months = [f"2024-{m:02d}" for m in range(3, 13)] + ["2025-01", "2025-02", "2025-03"]
    assert period_ticks(months) == [
        "Mar\n2024", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        "Jan\n2025", "Feb", "Mar\n2025",
    ]  # fmt: skip


def test_trend_series_split_by_scale_keep_averages_with_their_ratio():
    series = [
        ("Monthly payment rate", [0.21, 0.22]),
        ("Net charge-off rate (annualised)", [0.05, None]),
        ("Monthly payment rate, 3-month average", [None, 0.215]),
        ("60+ day delinquency", [0.02, 0.021]),
    ]
    high, low = split_by_scale(series)
    assert [name for name, _ in high] == [
        "Monthly payment rate",
        "Monthly payment rate, 3-month average",
    ]
    assert [name for name, _ in low] == ["Net charge-off rate (annualised)", "60+ day delinquency"]
