"""Day count conventions: the year fraction between two dates, exactly.

Conventions are named values (`DAY_COUNTS`), spelled as trust and facility
documents spell them, so a config file names one and never a magic number.
Results are `fractions.Fraction`, never float: an accrual is rounded once,
when it becomes cents (`funding.money.to_cents`).

Definitions follow the 2006 ISDA Definitions, section 4.16:

- `ACT/360`      (4.16(e)): actual days / 360.
- `ACT/365F`     (4.16(d)): actual days / 365, leap years or not.
- `ACT/ACT-ISDA` (4.16(b)): days falling in a leap year / 366 plus days
  falling in a non-leap year / 365 (the start date counts, the end does not).
- `30/360`       (4.16(f), "Bond Basis", US): D1 = 31 -> 30; D2 = 31 -> 30
  only if D1 (after adjustment) is 30. There is *no* end-of-February rule:
  that belongs to the SIA/PSA variant, which is deliberately not offered
  under this name.
- `30E/360`      (4.16(g), "Eurobond Basis"): D1 = 31 -> 30; D2 = 31 -> 30.

Direction: `start > end` gives the negative of `year_fraction(end, start)`,
so fractions add up along a timeline in either direction
(`yf(a, b) + yf(b, a) == 0`). Equal dates give 0.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime
from fractions import Fraction

ACT_360 = "ACT/360"
ACT_365F = "ACT/365F"
ACT_ACT_ISDA = "ACT/ACT-ISDA"
THIRTY_360 = "30/360"
THIRTY_E_360 = "30E/360"


def _actual_days(start: date, end: date) -> int:
    """Calendar days from start (included) to end (excluded)."""
    return (end - start).days


def _act_360(start: date, end: date) -> Fraction:
    return Fraction(_actual_days(start, end), 360)


def _act_365f(start: date, end: date) -> Fraction:
    return Fraction(_actual_days(start, end), 365)


def _days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def _act_act_isda(start: date, end: date) -> Fraction:
    """Split the period at each 1 January, so every day is divided by the
    length of the calendar year it falls in (ISDA 4.16(b))."""
    total = Fraction(0)
    for year in range(start.year, end.year + 1):
        segment_start = max(start, date(year, 1, 1))
        segment_end = min(end, date(year + 1, 1, 1))
        total += Fraction(_actual_days(segment_start, segment_end), _days_in_year(year))
    return total


def _thirty_360_days(start: date, d1: int, end: date, d2: int) -> int:
    """The 30/360 day count once the convention has adjusted D1 and D2."""
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


def _thirty_360_bond_basis(start: date, end: date) -> Fraction:
    """ISDA 4.16(f): D2 = 31 stays 31 unless D1 is 30 or 31, which is why
    30 Jan -> 31 Mar counts 61 days but 30 Mar -> 31 Mar counts 0."""
    d1 = 30 if start.day == 31 else start.day
    d2 = 30 if end.day == 31 and d1 == 30 else end.day
    return Fraction(_thirty_360_days(start, d1, end, d2), 360)


def _thirty_e_360(start: date, end: date) -> Fraction:
    """ISDA 4.16(g): every 31st is the 30th, on either side."""
    d1 = min(start.day, 30)
    d2 = min(end.day, 30)
    return Fraction(_thirty_360_days(start, d1, end, d2), 360)


_CONVENTIONS: dict[str, Callable[[date, date], Fraction]] = {
    ACT_360: _act_360,
    ACT_365F: _act_365f,
    ACT_ACT_ISDA: _act_act_isda,
    THIRTY_360: _thirty_360_bond_basis,
    THIRTY_E_360: _thirty_e_360,
}

DAY_COUNTS: tuple[str, ...] = tuple(_CONVENTIONS)


def _require_plain_date(value: object, role: str) -> date:
    """A datetime is refused: a time of day would silently vanish from the count."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{role} must be a datetime.date, got {type(value).__name__}")
    return value


def _convention_function(convention: str) -> Callable[[date, date], Fraction]:
    """The year-fraction function for a named convention (for start <= end).

    Raises ValueError naming the unknown convention and the known ones, so a
    typo in a config file is reported where it is made.
    """
    try:
        return _CONVENTIONS[convention]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown day count convention {convention!r}; expected one of {DAY_COUNTS}"
        ) from None


def year_fraction(start: date, end: date, convention: str) -> Fraction:
    """The exact fraction of a year from `start` to `end` under `convention`.

    `start > end` returns `-year_fraction(end, start, convention)` (see the
    module docstring for why negative rather than an error).
    """
    compute = _convention_function(convention)
    start = _require_plain_date(start, "start")
    end = _require_plain_date(end, "end")
    if start > end:
        return -compute(end, start)
    return compute(start, end)


def accrual_days(start: date, end: date, convention: str) -> int:
    """The days a period counts under `convention`, as statements print them:
    30/360 and 30E/360 count 30-day months (`year_fraction` x 360), the
    actual conventions count calendar days."""
    if convention in (THIRTY_360, THIRTY_E_360):
        days = year_fraction(start, end, convention) * 360
        return int(days)  # always whole: 360 x (a count of days / 360)
    _convention_function(convention)
    return _actual_days(_require_plain_date(start, "start"), _require_plain_date(end, "end"))
