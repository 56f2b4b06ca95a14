"""The units the simulation computes in: integer day numbers (days since
1970-01-01) for dates, and whole integers (cents) for money."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

EPOCH = date(1970, 1, 1)


def day_number(day: date) -> int:
    return (day - EPOCH).days


def to_date(day_number: int) -> date:
    return EPOCH + timedelta(days=int(day_number))


def date_series(day_numbers) -> pl.Series:
    return pl.Series(np.asarray(day_numbers, dtype=np.int64).astype("datetime64[D]")).cast(pl.Date)


def rounded(values) -> np.ndarray:
    """Round half to even to int64: amounts to whole cents (or whole dollars of income)."""
    return np.rint(values).astype(np.int64)
