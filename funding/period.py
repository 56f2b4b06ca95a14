"""The reporting period: one calendar month, named by its last day (ledger.md,
"Conventions") and keyed `YYYY-MM` (partitions, lake files, package folders).

Every layer passes a `Period`; this is the only module that does calendar
arithmetic on months.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

_KEY = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month. Ordered by time; equal months are equal periods."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9999:
            raise ValueError(f"no such month: {self.year:04d}-{self.month:02d}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """`YYYY-MM`, or a period end `YYYY-MM-DD` (the month's last day)."""
        text = str(text).strip()
        if match := _KEY.match(text):
            return cls(int(match.group(1)), int(match.group(2)))
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a period: expected YYYY-MM") from None
        period = cls.containing(day)
        if day != period.end:
            raise ValueError(f"{text!r} is not a period end: the month ends on {period.end}")
        return period

    @classmethod
    def containing(cls, day: date) -> Period:
        """The month `day` falls in."""
        return cls(day.year, day.month)

    @classmethod
    def ending(cls, period_end: date) -> Period:
        """The period whose last day is `period_end` (an error for any other day)."""
        period = cls.containing(period_end)
        if period_end != period.end:
            raise ValueError(f"{period_end} is not a month end: the month ends on {period.end}")
        return period

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        return self.next().start - timedelta(days=1)

    @property
    def days(self) -> int:
        return self.end.day

    def next(self) -> Period:
        return Period(self.year + 1, 1) if self.month == 12 else Period(self.year, self.month + 1)

    def previous(self) -> Period:
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    def plus(self, months: int) -> Period:
        index = self.year * 12 + self.month - 1 + months
        return Period(index // 12, index % 12 + 1)

    def months_since(self, other: Period) -> int:
        """Whole months from `other` to this period (0 for the same month)."""
        return (self.year - other.year) * 12 + self.month - other.month

    def __str__(self) -> str:
        return self.key


def periods(first: Period, last: Period) -> Iterator[Period]:
    """Every period from `first` to `last`, both included, oldest first."""
    current = first
    while current <= last:
        yield current
        current = current.next()
