"""Triggers, vehicle status and the vehicle excess spread (funding.md,
"Triggers and status").

Triggers are tested at the period end, before the waterfall runs, on ratio
values known at that point; each test records value, threshold and result.

- `early_amortization` is permanent: once breached the vehicle amortizes
  from that period on (the period of the breach included).
- `cash_trap` holds for the periods in which it is breached.
- A ratio with no value (null, e.g. a 3-month average before three months
  exist, or a zero denominator) does not breach: a trigger needs evidence.
- Cures (funding.md): a trigger with `cure: after_waterfall` is tested on the
  state after the period's cure steps instead (the engine supplies that
  value); one with `cure_periods: N` takes effect only in the N-th
  consecutive breached period. A test records whether the ratio breached
  this period (`breached`), for how many consecutive periods
  (`consecutive_breaches`) and whether its effect holds (`in_effect`). With
  the defaults (before the waterfall, one period) `in_effect == breached`.

The vehicle's excess spread for a period is

    (available interest funds - fees - interest - defaulted amount) x 12
    / beginning invested amount

with every term known before the waterfall: the investor's share of the
available-funds measures (reserve releases are not spread), the fees and
note interest *accrued for the period* (amounts due, not amounts paid; a
shortfall carried from an earlier period already lowered that period's
value and is not counted twice) and the investor defaulted amount. The
trigger on the 3-month average therefore includes this period's value: a
deterioration shows in the period it happens. Null when nothing is invested.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from funding.structure.config import BEFORE_WATERFALL, TriggerConfig

RatioValue = Fraction | Decimal | int | None

_OPERATORS: dict[str, Callable[[Fraction, Fraction], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

REVOLVING = "revolving"
AMORTIZING = "amortizing"  # after the revolving period ends as scheduled
EARLY_AMORTIZATION = "early_amortization"
STATUSES = (REVOLVING, AMORTIZING, EARLY_AMORTIZATION)

# Ratios the waterfall engine derives itself (they override same-named inputs).
EXCESS_SPREAD = "excess_spread"
EXCESS_SPREAD_3M_AVG = "excess_spread_3m_avg"
BORROWING_BASE_DEFICIENCY = "borrowing_base_deficiency"
# (pool principal at the period end - invested amount) / invested amount: the
# minimum seller's interest test is a trigger on it (e.g. `< 0.07`).
SELLER_INTEREST_TO_INVESTED = "seller_interest_to_invested"
AVERAGE_WINDOW = 3


@dataclass(frozen=True)
class TriggerTest:
    """One trigger tested for one period."""

    name: str
    ratio: str
    op: str
    threshold: Decimal
    value: Fraction | None
    breached: bool
    effect: str
    tested: str = BEFORE_WATERFALL
    consecutive_breaches: int = 0
    in_effect: bool = False

    @property
    def headroom(self) -> Fraction | None:
        """How far the value is from breaching, in the value's unit: positive
        while it passes, zero or negative once it breaches (None: no value)."""
        if self.value is None:
            return None
        return headroom(self.op, self.value, Fraction(self.threshold))

    def to_dict(self) -> dict[str, object]:
        """Plain values for metadata and Parquet: the value as a 12-place decimal string."""
        return {
            "name": self.name,
            "ratio": self.ratio,
            "op": self.op,
            "threshold": str(self.threshold),
            "value": None if self.value is None else fraction_to_decimal_string(self.value),
            "breached": self.breached,
            "effect": self.effect,
            "tested": self.tested,
            "consecutive_breaches": self.consecutive_breaches,
            "in_effect": self.in_effect,
        }


def headroom(op: str, value: Fraction, threshold: Fraction) -> Fraction:
    """threshold - value for `>`/`>=` triggers, value - threshold for `<`/`<=`."""
    return threshold - value if op in (">", ">=") else value - threshold


def fraction_to_decimal_string(value: Fraction, places: int = 12) -> str:
    """Show an exact ratio; the rounding is for display only (half even)."""
    scaled = Decimal(value.numerator) / Decimal(value.denominator)
    return str(scaled.quantize(Decimal(1).scaleb(-places)))


def as_fraction(value: RatioValue) -> Fraction | None:
    if value is None:
        return None
    if isinstance(value, bool | float):
        raise TypeError(f"ratio values must be exact (Fraction, Decimal, int), got {value!r}")
    return Fraction(value)


def evaluate_trigger(
    trigger: TriggerConfig, value: RatioValue, previous_breaches: int = 0
) -> TriggerTest:
    """Test one trigger; `previous_breaches` is its run of consecutive breached
    periods up to the previous period (the state's `trigger_breaches`)."""
    exact = as_fraction(value)
    breached = exact is not None and _OPERATORS[trigger.op](exact, Fraction(trigger.threshold))
    consecutive = previous_breaches + 1 if breached else 0
    return TriggerTest(
        name=trigger.name,
        ratio=trigger.ratio,
        op=trigger.op,
        threshold=trigger.threshold,
        value=exact,
        breached=breached,
        effect=trigger.effect,
        tested=trigger.cure,
        consecutive_breaches=consecutive,
        in_effect=breached and consecutive >= trigger.cure_periods,
    )


def evaluate_triggers(
    triggers: Sequence[TriggerConfig],
    ratios: Mapping[str, RatioValue],
    previous_breaches: Mapping[str, int] | None = None,
) -> tuple[TriggerTest, ...]:
    """Test every trigger; a ratio missing from `ratios` is an error (None means no value)."""
    missing = [t for t in triggers if t.ratio not in ratios]
    if missing:
        names = ", ".join(f"{t.name} (ratio {t.ratio})" for t in missing)
        raise KeyError(f"no value supplied for the ratio of trigger(s): {names}")
    runs = previous_breaches or {}
    return tuple(evaluate_trigger(t, ratios[t.ratio], runs.get(t.name, 0)) for t in triggers)


def breach_runs(tests: Sequence[TriggerTest]) -> dict[str, int]:
    """The consecutive breached periods of the triggers breached now (state to carry)."""
    return {t.name: t.consecutive_breaches for t in tests if t.consecutive_breaches}


def early_amortization_breached(tests: Sequence[TriggerTest]) -> bool:
    return any(t.in_effect and t.effect == "early_amortization" for t in tests)


def cash_trap_breached(tests: Sequence[TriggerTest]) -> bool:
    return any(t.in_effect and t.effect == "cash_trap" for t in tests)


def period_status(
    previous_status: str,
    tests: Sequence[TriggerTest],
    period_end: date,
    revolving_period_end: date | None,
) -> str:
    """The status the period's principal waterfall runs under (and the state keeps).

    Early amortization is absorbing. Otherwise a period ending after
    `revolving_period_end` amortizes as scheduled.
    """
    if previous_status not in STATUSES:
        raise ValueError(f"unknown vehicle status {previous_status!r}; expected one of {STATUSES}")
    if previous_status == EARLY_AMORTIZATION or early_amortization_breached(tests):
        return EARLY_AMORTIZATION
    if revolving_period_end is not None and period_end > revolving_period_end:
        return AMORTIZING
    return REVOLVING


def excess_spread_ratio(
    interest_funds_cents: int,
    fees_cents: int,
    interest_cents: int,
    defaulted_cents: int,
    invested_cents: int,
) -> Fraction | None:
    """funding.md's vehicle excess spread, annualised x12; None when nothing is invested."""
    if invested_cents <= 0:
        return None
    spread = interest_funds_cents - fees_cents - interest_cents - defaulted_cents
    return Fraction(spread * 12, invested_cents)


def trailing_average(
    values: Sequence[Fraction | None], window: int = AVERAGE_WINDOW
) -> Fraction | None:
    """Simple mean of the last `window` values (metrics.md); None until `window` exist.

    A null inside the window makes the average null rather than a mean of fewer values.
    """
    if len(values) < window:
        return None
    recent = values[-window:]
    if any(v is None for v in recent):
        return None
    return sum(recent, Fraction(0)) / window
