"""What the figure sections share: a two-column table of labelled values, exact
ratio text, and the report's month and day labels."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import polars as pl

from funding.period import Period
from funding.structure.triggers import fraction_to_decimal_string


def rows(pairs: list[tuple[str, object]], value_name: str = "value") -> pl.DataFrame:
    return pl.DataFrame(
        {"row": [p[0] for p in pairs], value_name: [p[1] for p in pairs]},
        schema_overrides={"row": pl.String},
    )


def ratio_text(value: Fraction | None) -> str | None:
    return None if value is None else fraction_to_decimal_string(value)


def month_label(period: Period) -> str:
    """`2025-03` as "Mar 2025"."""
    return f"{MONTH_ABBREVIATIONS[period.month - 1]} {period.year}"


MONTH_ABBREVIATIONS = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip


def day_label(day: date) -> str:
    """2025-03-17 as "17 Mar 2025"."""
    return f"{day.day} {MONTH_ABBREVIATIONS[day.month - 1]} {day.year}"
