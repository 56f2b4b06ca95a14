"""Index fixings: lookup rule, errors, and the shipped illustrative SOFR series."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from funding.structure.rates import MissingFixingError, load_fixings, parse_fixings
from tests.support import PROJECT_ROOT

DEMO_SERIES = PROJECT_ROOT / "dagster_project/data/sofr30a_fixings.csv"

TEXT = """index,fixing_date,rate_bps
SOFR30A,2025-01-01,433
SOFR30A,2025-02-01,432.5
TERM1M,2025-01-15,420
SOFR30A,2024-12-01,464
"""


def test_the_fixing_is_the_latest_on_or_before_the_period_start() -> None:
    table = parse_fixings(TEXT)
    assert table.rate_bps("SOFR30A", date(2025, 2, 1)) == Decimal("432.5")  # same day counts
    assert table.rate_bps("SOFR30A", date(2025, 1, 31)) == 433
    assert table.rate_bps("SOFR30A", date(2024, 12, 1)) == 464  # rows need not be sorted
    assert table.for_period(["SOFR30A", "TERM1M"], date(2025, 2, 1)) == {
        "SOFR30A": Decimal("432.5"),
        "TERM1M": Decimal(420),
    }


def test_no_fixing_before_the_period_is_an_error_naming_index_and_date() -> None:
    with pytest.raises(MissingFixingError, match="SOFR30A on or before 2024-11-01"):
        parse_fixings(TEXT).rate_bps("SOFR30A", date(2024, 11, 1))


def test_an_unknown_index_is_an_error_naming_it() -> None:
    with pytest.raises(MissingFixingError, match="EURIBOR3M on or before 2025-01-01"):
        parse_fixings(TEXT).for_period(["EURIBOR3M"], date(2025, 1, 1))


def test_a_stale_fixing_is_missing_not_silently_reused() -> None:
    table = parse_fixings(TEXT)
    with pytest.raises(MissingFixingError, match="SOFR30A within 40 days before 2025-04-01"):
        table.rate_bps("SOFR30A", date(2025, 4, 1))
    assert table.rate_bps("SOFR30A", date(2025, 4, 1), max_age_days=None) == Decimal("432.5")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("index,date,rate\nSOFR30A,2025-01-01,1\n", "header"),
        ("index,fixing_date,rate_bps\nSOFR30A,2025-13-01,1\n", "line 2.*YYYY-MM-DD"),
        ("index,fixing_date,rate_bps\nSOFR30A,2025-01-01,abc\n", "line 2.*not a number"),
        ("index,fixing_date,rate_bps\nSOFR30A,2025-01-01\n", "line 2.*expected 3 fields"),
        (
            "index,fixing_date,rate_bps\nSOFR30A,2025-01-01,1\nSOFR30A,2025-01-01,2\n",
            "line 3.*second fixing",
        ),
    ],
)
def test_malformed_files_are_errors_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fixings(text, source="fixings.csv")


@pytest.mark.parametrize("rate", ["99999999", "2500.5", "-100.5", "-5000"])
def test_implausible_fixings_are_refused_naming_file_line_index_and_value(rate: str) -> None:
    text = f"index,fixing_date,rate_bps\nSOFR30A,2025-01-01,433\nSOFR30A,2025-02-01,{rate}\n"
    with pytest.raises(ValueError) as error:
        parse_fixings(text, source="fixings.csv")
    assert str(error.value) == (
        f"fixings.csv line 3: rate_bps of SOFR30A on 2025-02-01 is {rate}, outside the "
        "plausible range -100..2500 bps (-1% to 25%)"
    )


def test_fixings_at_the_bounds_are_accepted() -> None:
    table = parse_fixings(
        "index,fixing_date,rate_bps\nSOFR30A,2025-01-01,-100\nSOFR30A,2025-02-01,2500\n"
    )
    assert [rate for _, rate in table.series["SOFR30A"]] == [Decimal(-100), Decimal(2500)]


def test_the_demo_series_is_monthly_from_june_2024_to_december_2027() -> None:
    assert DEMO_SERIES.read_text().splitlines()[0] == "index,fixing_date,rate_bps"
    table = load_fixings(DEMO_SERIES)
    assert list(table.series) == ["SOFR30A"]
    dates = [fixing_date for fixing_date, _ in table.series["SOFR30A"]]
    expected = [date(2024 + (5 + i) // 12, (5 + i) % 12 + 1, 1) for i in range(43)]
    assert dates == expected
    assert dates[-1] == date(2027, 12, 1)


def test_the_demo_series_declines_from_about_530_to_about_370_400_bps() -> None:
    rates = dict(load_fixings(DEMO_SERIES).series["SOFR30A"])
    assert all(500 <= rates[date(2024, month, 1)] <= 540 for month in (6, 7, 8, 9))
    assert all(420 <= rates[date(2025, month, 1)] <= 450 for month in range(1, 10))
    later = [rate for day, rate in rates.items() if day >= date(2026, 1, 1)]
    assert all(365 <= rate <= 400 for rate in later)
