"""Exact decimals in configuration: a YAML `0.06` arrives as a binary float,
yet a threshold or percentage must be the number its author wrote."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator


def exact_decimal(value: object) -> Decimal:
    """Read a number exactly: `12.5` stays 12.5, not 12.4999....

    Ints, Decimals and decimal strings are exact. A float can only come from a
    YAML literal such as `12.5`; its shortest repr is that literal, so it is
    parsed from `repr` rather than from its binary value.
    """
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(value, float):
        value = repr(value)
    if not isinstance(value, int | str | Decimal):
        raise ValueError(f"must be an int or a decimal string, got {type(value).__name__}")
    try:
        exact = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not exact.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return exact


ExactDecimal = Annotated[Decimal, BeforeValidator(exact_decimal)]
