"""The reporting period: months named by their last day and keyed YYYY-MM.
Expected values are calendar facts written out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from funding.period import Period, periods


@pytest.mark.parametrize(
    ("key", "start", "end", "days"),
    [
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), 29),  # leap year
        ("2025-02", date(2025, 2, 1), date(2025, 2, 28), 28),
        ("2025-04", date(2025, 4, 1), date(2025, 4, 30), 30),
        ("2025-12", date(2025, 12, 1), date(2025, 12, 31), 31),
        ("2100-02", date(2100, 2, 1), date(2100, 2, 28), 28),  # divisible by 100, not 400
    ],
)
def test_a_period_knows_its_days(key, start, end, days):
    period = Period.parse(key)
    assert (period.key, period.start, period.end, period.days) == (key, start, end, days)
    assert str(period) == key


def test_neighbours_cross_year_ends():
    assert Period(2025, 12).next() == Period(2026, 1)
    assert Period(2026, 1).previous() == Period(2025, 12)
    assert Period(2025, 11).plus(14) == Period(2027, 1)
    assert Period(2025, 3).plus(-15) == Period(2023, 12)
    assert Period(2027, 1).months_since(Period(2025, 11)) == 14


def test_periods_order_and_ranges():
    assert Period(2025, 9) < Period(2025, 10) < Period(2026, 1)
    assert [p.key for p in periods(Period(2025, 11), Period(2026, 2))] == [
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
    ]
    assert list(periods(Period(2026, 2), Period(2025, 11))) == []


def test_parse_takes_a_key_or_a_month_end_only():
    assert Period.parse("2025-03-31") == Period(2025, 3)
    assert Period.ending(date(2024, 2, 29)) == Period(2024, 2)
    assert Period.containing(date(2025, 3, 14)) == Period(2025, 3)
    with pytest.raises(ValueError, match="not a period end: the month ends on 2025-03-31"):
        Period.parse("2025-03-30")
    with pytest.raises(ValueError, match="not a month end"):
        Period.ending(date(2025, 3, 1))
    for bad in ("2025-13", "2025-3", "March 2025", ""):
        with pytest.raises(ValueError):
            Period.parse(bad)
