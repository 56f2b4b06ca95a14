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


def next_due_day(due_days: np.ndarray, cycle_day: np.ndarray) -> np.ndarray:
    """The due date a month after each of `due_days` (day numbers) on the
    account's cycle day, or the month's last day when it is shorter; 0 stays 0."""
    day = np.asarray(due_days, dtype=np.int64).astype("datetime64[D]")
    next_month = day.astype("datetime64[M]") + 1
    first = next_month.astype("datetime64[D]")
    length = ((next_month + 1).astype("datetime64[D]") - first).astype(np.int64)
    due = first.astype(np.int64) + np.minimum(cycle_day, length) - 1
    return np.where(np.asarray(due_days) == 0, 0, due)
