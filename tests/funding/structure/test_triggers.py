"""Triggers: tests recorded with value, threshold and result; status rules;
the vehicle excess spread and its 3-month average."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from funding.structure.config import TriggerConfig
from funding.structure.triggers import (
    cash_trap_breached,
    early_amortization_breached,
    evaluate_trigger,
    evaluate_triggers,
    excess_spread_ratio,
    period_status,
    trailing_average,
)


def trigger(op: str, threshold: object, effect: str = "cash_trap") -> TriggerConfig:
    return TriggerConfig.model_validate(
        {"name": "t", "ratio": "r", "op": op, "threshold": threshold, "effect": effect}
    )


@pytest.mark.parametrize(
    ("op", "value", "breached"),
    [
        ("<", Decimal("-0.0001"), True),
        ("<", Decimal("0"), False),
        ("<=", Decimal("0"), True),
        (">", Decimal("0.06"), False),
        (">", Fraction(6001, 100000), True),
        (">=", Decimal("0.06"), True),
        (">=", 0, False),
    ],
)
def test_operators_at_the_threshold(op: str, value: object, breached: bool) -> None:
    threshold = "0" if op in ("<", "<=") else 0.06
    test = evaluate_trigger(trigger(op, threshold), value)
    assert test.breached is breached
    assert test.value == Fraction(value)
    assert test.threshold == Decimal("0" if op in ("<", "<=") else "0.06")


def test_a_ratio_without_value_does_not_breach_and_is_recorded_as_null() -> None:
    test = evaluate_trigger(trigger(">", 0), None)
    assert test.value is None and not test.breached
    assert test.to_dict() == {
        "name": "t",
        "ratio": "r",
        "op": ">",
        "threshold": "0",
        "value": None,
        "breached": False,
        "effect": "cash_trap",
        "tested": "before_waterfall",
        "consecutive_breaches": 0,
        "in_effect": False,
    }


def test_recorded_value_is_shown_as_a_decimal_string() -> None:
    assert evaluate_trigger(trigger("<", 0), Fraction(-1, 3)).to_dict()["value"] == (
        "-0.333333333333"
    )


def test_a_ratio_missing_from_the_inputs_is_an_error_naming_trigger_and_ratio() -> None:
    with pytest.raises(KeyError, match=r"t \(ratio r\)"):
        evaluate_triggers([trigger(">", 0)], {})


def test_floats_are_refused_as_ratio_values() -> None:
    with pytest.raises(TypeError):
        evaluate_trigger(trigger(">", 0), 0.1)


def test_effects_are_read_from_the_breached_tests() -> None:
    tests = evaluate_triggers(
        [trigger(">", 0, "cash_trap"), trigger("<", 0, "early_amortization")], {"r": 1}
    )
    assert cash_trap_breached(tests) and not early_amortization_breached(tests)


END = date(2025, 6, 30)


def test_early_amortization_is_permanent() -> None:
    breach = evaluate_triggers([trigger("<", 0, "early_amortization")], {"r": -1})
    calm = evaluate_triggers([trigger("<", 0, "early_amortization")], {"r": 1})
    assert period_status("revolving", breach, END, None) == "early_amortization"
    assert period_status("early_amortization", calm, END, None) == "early_amortization"
    assert period_status("revolving", calm, END, None) == "revolving"


def test_scheduled_amortization_starts_after_the_revolving_period_end() -> None:
    assert period_status("revolving", (), END, date(2025, 6, 30)) == "revolving"
    assert period_status("revolving", (), END, date(2025, 6, 29)) == "amortizing"
    assert period_status("amortizing", (), END, date(2025, 6, 29)) == "amortizing"


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="paused"):
        period_status("paused", (), END, None)


def test_excess_spread_ratio_annualises_monthly_spread_over_the_invested_amount() -> None:
    # (3,300,000 - 300,000 - 900,000 - 900,000) x 12 / 150,000,000
    assert excess_spread_ratio(3_300_000, 300_000, 900_000, 900_000, 150_000_000) == Fraction(
        12, 125
    )
    assert excess_spread_ratio(0, 0, 1, 0, 12) == -1
    assert excess_spread_ratio(100, 0, 0, 0, 0) is None


def test_three_month_average_is_null_until_three_values_exist() -> None:
    assert trailing_average([]) is None
    assert trailing_average([Fraction(1), Fraction(2)]) is None
    assert trailing_average([Fraction(9), Fraction(1), Fraction(2), Fraction(3)]) == 2
    assert trailing_average([None, Fraction(1), Fraction(2)]) is None
