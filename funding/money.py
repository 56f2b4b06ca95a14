"""Money is integer cents. Intermediate arithmetic is exact (`Fraction`);
an amount is rounded once, with a named mode, when it becomes cents."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Literal

RoundingMode = Literal["half_up", "truncate"]
ROUNDING_MODES: tuple[str, ...] = ("half_up", "truncate")


def to_cents(amount: Fraction | Decimal | int, mode: RoundingMode = "half_up") -> int:
    """Round an exact amount of cents to whole cents.

    `half_up` means half away from zero (the usual reading in trust documents);
    `truncate` rounds toward zero. Floats are refused: they are never money.
    """
    if isinstance(amount, float):
        raise TypeError("money must not be float; pass Fraction, Decimal or int cents")
    exact = Fraction(amount)
    sign = -1 if exact < 0 else 1
    magnitude = abs(exact)
    whole, remainder = divmod(magnitude.numerator, magnitude.denominator)
    if mode == "half_up":
        if 2 * remainder >= magnitude.denominator:
            whole += 1
    elif mode != "truncate":
        raise ValueError(f"unknown rounding mode {mode!r}; expected one of {ROUNDING_MODES}")
    return sign * whole


def bps(value: int) -> Fraction:
    """Basis points as an exact fraction (150 -> 3/200)."""
    return Fraction(int(value), 10_000)


def dollars(cents: int) -> str:
    """Cents as dollars with thousands separators, exactly (never through a
    float): 123456789 -> '1,234,567.89', -5 -> '-0.05'."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(int(cents)), 100)
    return f"{sign}{whole:,}.{fraction:02d}"
