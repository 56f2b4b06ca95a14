"""`year_fraction` against published day-count examples.

Every case names where its expected value comes from. Expected values are
exact fractions; where the source prints a decimal, the decimal is checked
too (to the places printed), so the table cannot drift from the source.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest

from funding.daycount import DAY_COUNTS, year_fraction

SPEC = "shared/spec/metrics.md, 'Day counts' (ISDA 2006 Definitions 4.16 examples)"
QL_ACTACT = (
    "QuantLib test-suite/daycounters.cpp testActualActual "
    "(ISDA, 'The Actual/Actual Day Count Fraction', 1999)"
)
QL_BOND = (
    "QuantLib test-suite/daycounters.cpp testThirty360_BondBasis "
    "(ISDA, '30/360 Day Count Conventions', 2008-12-22)"
)
QL_EURO = (
    "QuantLib test-suite/daycounters.cpp testThirty360_EurobondBasis "
    "(ISDA, '30/360 Day Count Conventions', 2008-12-22)"
)
STRATA = "OpenGamma Strata basics/date/DayCountTest.java data_yearFraction"


def d(text: str) -> date:
    return date.fromisoformat(text)


def thirty(y1: int, m1: int, d1: int, y2: int, m2: int, d2: int) -> Fraction:
    """Strata's `calc360` helper: the 30/360 formula on already-adjusted days."""
    return Fraction(360 * (y2 - y1) + 30 * (m2 - m1) + (d2 - d1), 360)


def act_act(days_in_365: int, days_in_366: int, whole_years: int = 0) -> Fraction:
    """ACT/ACT-ISDA as the sources write it: days in common years / 365 plus
    days in leap years / 366 (plus whole years in between)."""
    return Fraction(days_in_365, 365) + Fraction(days_in_366, 366) + whole_years


# (source, convention, start, end, exact expected)
CASES: list[tuple[str, str, str, str, Fraction]] = [
    # --- the spec's own examples
    (SPEC, "ACT/360", "2007-12-28", "2008-02-28", Fraction(62, 360)),
    (SPEC, "ACT/365F", "2007-12-28", "2008-02-28", Fraction(62, 365)),
    (SPEC, "ACT/ACT-ISDA", "2007-12-28", "2008-02-28", act_act(4, 58)),
    (SPEC, "30/360", "2007-12-28", "2008-02-28", Fraction(60, 360)),
    (SPEC, "30E/360", "2008-02-01", "2009-05-31", Fraction(479, 360)),
    (SPEC, "30/360", "2008-02-01", "2009-05-31", Fraction(480, 360)),
    # --- ACT/ACT-ISDA, ISDA 1999 paper examples as tabled by QuantLib
    (QL_ACTACT, "ACT/ACT-ISDA", "2003-11-01", "2004-05-01", act_act(61, 121)),
    (QL_ACTACT, "ACT/ACT-ISDA", "1999-02-01", "1999-07-01", Fraction(150, 365)),
    (QL_ACTACT, "ACT/ACT-ISDA", "1999-07-01", "2000-07-01", act_act(184, 182)),
    (QL_ACTACT, "ACT/ACT-ISDA", "2002-08-15", "2003-07-15", Fraction(334, 365)),
    (QL_ACTACT, "ACT/ACT-ISDA", "2003-07-15", "2004-01-15", act_act(170, 14)),
    (QL_ACTACT, "ACT/ACT-ISDA", "1999-07-30", "2000-01-30", act_act(155, 29)),
    (QL_ACTACT, "ACT/ACT-ISDA", "2000-01-30", "2000-06-30", Fraction(152, 366)),
    # --- Strata: actual conventions across the 2012 and 2016 leap days
    (STRATA, "ACT/ACT-ISDA", "2011-12-28", "2012-02-28", act_act(4, 58)),
    (STRATA, "ACT/ACT-ISDA", "2011-12-28", "2012-02-29", act_act(4, 59)),
    (STRATA, "ACT/ACT-ISDA", "2011-12-28", "2012-03-01", act_act(4, 60)),
    (STRATA, "ACT/ACT-ISDA", "2011-12-28", "2016-02-28", act_act(4, 58, whole_years=4)),
    (STRATA, "ACT/ACT-ISDA", "2011-12-28", "2016-02-29", act_act(4, 59, whole_years=4)),
    (STRATA, "ACT/ACT-ISDA", "2011-12-28", "2016-03-01", act_act(4, 60, whole_years=4)),
    (STRATA, "ACT/ACT-ISDA", "2012-02-29", "2012-03-29", Fraction(29, 366)),
    (STRATA, "ACT/ACT-ISDA", "2012-02-29", "2012-03-28", Fraction(28, 366)),
    (STRATA, "ACT/ACT-ISDA", "2012-03-01", "2012-03-28", Fraction(27, 366)),
    (STRATA, "ACT/360", "2011-12-28", "2012-02-29", Fraction(63, 360)),
    (STRATA, "ACT/360", "2011-12-28", "2012-03-01", Fraction(64, 360)),
    (STRATA, "ACT/360", "2011-12-28", "2016-02-28", Fraction(62 + 366 + 365 + 365 + 365, 360)),
    (STRATA, "ACT/360", "2012-02-29", "2012-03-28", Fraction(28, 360)),
    (STRATA, "ACT/365F", "2011-12-28", "2012-02-29", Fraction(63, 365)),
    (STRATA, "ACT/365F", "2011-12-28", "2016-03-01", Fraction(64 + 366 + 365 + 365 + 365, 365)),
    (STRATA, "ACT/365F", "2012-03-01", "2012-03-28", Fraction(27, 365)),
    # --- Strata: 30/360 ISDA (4.16(f)) and 30E/360 at month ends
    (STRATA, "30/360", "2011-02-28", "2012-02-29", thirty(2011, 2, 28, 2012, 2, 29)),
    (STRATA, "30/360", "2012-02-29", "2016-02-29", thirty(2012, 2, 29, 2016, 2, 29)),
    (STRATA, "30/360", "2012-05-29", "2013-08-31", thirty(2012, 5, 29, 2013, 8, 31)),
    (STRATA, "30/360", "2012-05-30", "2013-08-31", thirty(2012, 5, 30, 2013, 8, 30)),
    (STRATA, "30/360", "2012-05-31", "2013-08-30", thirty(2012, 5, 30, 2013, 8, 30)),
    (STRATA, "30/360", "2012-05-31", "2013-08-31", thirty(2012, 5, 30, 2013, 8, 30)),
    (STRATA, "30E/360", "2012-02-29", "2012-03-28", thirty(2012, 2, 29, 2012, 3, 28)),
    (STRATA, "30E/360", "2012-05-29", "2013-08-31", thirty(2012, 5, 29, 2013, 8, 30)),
    (STRATA, "30E/360", "2012-05-30", "2013-08-31", thirty(2012, 5, 30, 2013, 8, 30)),
    (STRATA, "30E/360", "2012-05-31", "2013-08-30", thirty(2012, 5, 30, 2013, 8, 30)),
]

# ISDA 2008 memo examples as tabled by QuantLib: (start, end, day count).
BOND_BASIS_DAYS: list[tuple[str, str, int]] = [
    # Example 1: end dates not at the end of February
    ("2006-08-20", "2007-02-20", 180),
    ("2007-02-20", "2007-08-20", 180),
    ("2007-08-20", "2008-02-20", 180),
    ("2008-02-20", "2008-08-20", 180),
    ("2008-08-20", "2009-02-20", 180),
    ("2009-02-20", "2009-08-20", 180),
    # Example 2: some end-February dates (no February rule in Bond Basis)
    ("2006-08-31", "2007-02-28", 178),
    ("2007-02-28", "2007-08-31", 183),
    ("2007-08-31", "2008-02-29", 179),
    ("2008-02-29", "2008-08-31", 182),
    ("2008-08-31", "2009-02-28", 178),
    ("2009-02-28", "2009-08-31", 183),
    # Example 3: miscellaneous
    ("2006-01-31", "2006-02-28", 28),
    ("2006-01-30", "2006-02-28", 28),
    ("2006-02-28", "2006-03-03", 5),
    ("2006-02-14", "2006-02-28", 14),
    ("2006-09-30", "2006-10-31", 30),
    ("2006-10-31", "2006-11-28", 28),
    ("2007-08-31", "2008-02-28", 178),
    ("2008-02-28", "2008-08-28", 180),
    ("2008-02-28", "2008-08-30", 182),
    ("2008-02-28", "2008-08-31", 183),
    ("2007-02-26", "2008-02-28", 362),
    ("2007-02-26", "2008-02-29", 363),
    ("2008-02-29", "2009-02-28", 359),
    ("2008-02-28", "2008-03-30", 32),
    ("2008-02-28", "2008-03-31", 33),
]

EUROBOND_BASIS_DAYS: list[tuple[str, str, int]] = [
    # Example 1
    ("2006-08-20", "2007-02-20", 180),
    ("2007-02-20", "2007-08-20", 180),
    ("2007-08-20", "2008-02-20", 180),
    ("2008-02-20", "2008-08-20", 180),
    ("2008-08-20", "2009-02-20", 180),
    ("2009-02-20", "2009-08-20", 180),
    # Example 2
    ("2006-02-28", "2006-08-31", 182),
    ("2006-08-31", "2007-02-28", 178),
    ("2007-02-28", "2007-08-31", 182),
    ("2007-08-31", "2008-02-29", 179),
    ("2008-02-29", "2008-08-31", 181),
    ("2008-08-31", "2009-02-28", 178),
    ("2009-02-28", "2009-08-31", 182),
    ("2009-08-31", "2010-02-28", 178),
    ("2010-02-28", "2010-08-31", 182),
    ("2010-08-31", "2011-02-28", 178),
    ("2011-02-28", "2011-08-31", 182),
    ("2011-08-31", "2012-02-29", 179),
    # Example 3
    ("2006-01-31", "2006-02-28", 28),
    ("2006-01-30", "2006-02-28", 28),
    ("2006-02-28", "2006-03-03", 5),
    ("2006-02-14", "2006-02-28", 14),
    ("2006-09-30", "2006-10-31", 30),
    ("2006-10-31", "2006-11-28", 28),
    ("2007-08-31", "2008-02-28", 178),
    ("2008-02-28", "2008-08-28", 180),
    ("2008-02-28", "2008-08-30", 182),
    ("2008-02-28", "2008-08-31", 182),
    ("2007-02-26", "2008-02-28", 362),
    ("2007-02-26", "2008-02-29", 363),
    ("2008-02-29", "2009-02-28", 359),
    ("2008-02-28", "2008-03-30", 32),
    ("2008-02-28", "2008-03-31", 32),
]

CASES += [(QL_BOND, "30/360", s, e, Fraction(n, 360)) for s, e, n in BOND_BASIS_DAYS]
CASES += [(QL_EURO, "30E/360", s, e, Fraction(n, 360)) for s, e, n in EUROBOND_BASIS_DAYS]


@pytest.mark.parametrize(
    ("source", "convention", "start", "end", "expected"),
    CASES,
    ids=[f"{c}:{s}->{e}" for _, c, s, e, _ in CASES],
)
def test_year_fraction_matches_published_value(source, convention, start, end, expected):
    assert year_fraction(d(start), d(end), convention) == expected, source


@pytest.mark.parametrize(
    ("source", "convention", "start", "end", "expected"),
    CASES,
    ids=[f"{c}:{e}->{s}" for _, c, s, e, _ in CASES],
)
def test_reversed_dates_give_the_negative(source, convention, start, end, expected):
    # Strata test_relativeYearFraction_reverse: reversed dates, negated value.
    assert year_fraction(d(end), d(start), convention) == -expected, source


# QuantLib prints the ACT/ACT-ISDA results to 12 places; check them as printed.
QL_PRINTED: list[tuple[str, str, str]] = [
    ("2003-11-01", "2004-05-01", "0.497724380567"),
    ("1999-02-01", "1999-07-01", "0.410958904110"),
    ("1999-07-01", "2000-07-01", "1.001377348600"),
    ("2002-08-15", "2003-07-15", "0.915068493151"),
    ("2003-07-15", "2004-01-15", "0.504004790778"),
    ("1999-07-30", "2000-01-30", "0.503892506924"),
    ("2000-01-30", "2000-06-30", "0.415300546448"),
]


@pytest.mark.parametrize(("start", "end", "printed"), QL_PRINTED)
def test_act_act_isda_matches_quantlib_printed_decimals(start, end, printed):
    value = year_fraction(d(start), d(end), "ACT/ACT-ISDA")
    expected = Decimal(printed)
    with localcontext() as ctx:
        ctx.prec = 34
        exact = Decimal(value.numerator) / Decimal(value.denominator)
    # QuantLib compares with a 1e-10 tolerance; the printed value is rounded.
    assert abs(exact - expected) < Decimal("1e-10"), QL_ACTACT


@pytest.mark.parametrize("convention", DAY_COUNTS)
def test_same_date_is_zero(convention):
    assert year_fraction(date(2012, 1, 2), date(2012, 1, 2), convention) == 0


def test_results_are_exact_fractions():
    value = year_fraction(date(2007, 12, 28), date(2008, 2, 28), "ACT/ACT-ISDA")
    assert isinstance(value, Fraction)


def test_thirty_360_has_no_end_of_february_rule():
    # Under the SIA/PSA variant 28 Feb 2006 -> 31 Mar 2006 would be 30 days.
    # ISDA 4.16(f) leaves D1 = 28 and hence D2 = 31: 33 days.
    assert year_fraction(date(2006, 2, 28), date(2006, 3, 31), "30/360") == Fraction(33, 360)


def test_unknown_convention_names_it_and_the_known_ones():
    with pytest.raises(ValueError) as info:
        year_fraction(date(2020, 1, 1), date(2020, 2, 1), "ACT/365")
    message = str(info.value)
    assert "'ACT/365'" in message
    for known in DAY_COUNTS:
        assert known in message


def test_datetime_is_refused():
    with pytest.raises(TypeError):
        year_fraction(datetime(2020, 1, 1, 12), date(2020, 2, 1), "ACT/360")
