"""Index fixings (funding.md, "Notes, fees, reserve").

A fixings file is a CSV with the header `index,fixing_date,rate_bps`. The
fixing for a period is the latest one dated on or before the period's first
day. A missing fixing is an error that names the index and the date, never
a silent zero.

A fixing older than `max_age_days` (default 40) before the period start is
treated as missing too: a series that stopped being updated would otherwise
keep feeding the last value to every later period without anyone noticing.
Monthly fixings dated on the 1st are at most 0 days old for monthly periods;
the default leaves room for a series dated a few days before month start.

The demo ships `dagster_project/data/sofr30a_fixings.csv`, an *illustrative*
30-day average SOFR series (index `SOFR30A`), not published data.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

HEADER = ("index", "fixing_date", "rate_bps")
# An index fixing outside -1% to 25% is a typo (99,999,999 bps once made the
# interest due on a $1M note $861M): refused when the file is read.
MIN_FIXING_BPS, MAX_FIXING_BPS = -100, 2_500
DEFAULT_MAX_AGE_DAYS = 40


class MissingFixingError(LookupError):
    """No usable fixing of an index for a period; the message names both."""


@dataclass(frozen=True)
class FixingTable:
    """Fixings per index, each a date-sorted tuple of `(fixing_date, rate_bps)`."""

    series: Mapping[str, tuple[tuple[date, Decimal], ...]] = field(default_factory=dict)

    def rate_bps(
        self, index: str, period_start: date, max_age_days: int | None = DEFAULT_MAX_AGE_DAYS
    ) -> Decimal:
        """The latest fixing of `index` dated on or before `period_start`."""
        fixings = self.series.get(index, ())
        position = bisect_right([fixing_date for fixing_date, _ in fixings], period_start)
        if position == 0:
            known = ", ".join(sorted(self.series)) or "none"
            raise MissingFixingError(
                f"no fixing of index {index} on or before {period_start.isoformat()} "
                f"(indices in the fixings file: {known})"
            )
        fixing_date, rate = fixings[position - 1]
        if max_age_days is not None and (period_start - fixing_date).days > max_age_days:
            raise MissingFixingError(
                f"no fixing of index {index} within {max_age_days} days before "
                f"{period_start.isoformat()}; the latest is {fixing_date.isoformat()}"
            )
        return rate

    def for_period(
        self,
        indices: Iterable[str],
        period_start: date,
        max_age_days: int | None = DEFAULT_MAX_AGE_DAYS,
    ) -> dict[str, Decimal]:
        """The fixing of every index a period needs (e.g. `config.floating_indices()`)."""
        return {index: self.rate_bps(index, period_start, max_age_days) for index in indices}


def load_fixings(path: str | Path) -> FixingTable:
    """Read a fixings CSV file; errors name the file and the line."""
    path = Path(path)
    return parse_fixings(path.read_text(encoding="utf-8"), source=str(path))


def parse_fixings(text: str, source: str = "<fixings>") -> FixingTable:
    """Parse fixings CSV text. Duplicate (index, date) pairs are errors, not overrides."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(cell.strip() for cell in header) != HEADER:
        raise ValueError(f"{source}: header must be {','.join(HEADER)}, got {header}")
    by_index: dict[str, dict[date, Decimal]] = {}
    for line_number, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        index, fixing_date, rate = _parse_row(row, f"{source} line {line_number}")
        dated = by_index.setdefault(index, {})
        if fixing_date in dated:
            raise ValueError(
                f"{source} line {line_number}: second fixing of {index} on {fixing_date}"
            )
        dated[fixing_date] = rate
    return FixingTable(
        series={index: tuple(sorted(dated.items())) for index, dated in sorted(by_index.items())}
    )


def _parse_row(row: list[str], where: str) -> tuple[str, date, Decimal]:
    if len(row) != len(HEADER):
        raise ValueError(f"{where}: expected {len(HEADER)} fields, got {len(row)}")
    index, raw_date, raw_rate = (cell.strip() for cell in row)
    if not index:
        raise ValueError(f"{where}: empty index")
    try:
        fixing_date = date.fromisoformat(raw_date)
    except ValueError:
        raise ValueError(f"{where}: fixing_date {raw_date!r} is not YYYY-MM-DD") from None
    try:
        rate = Decimal(raw_rate)
    except InvalidOperation:
        raise ValueError(f"{where}: rate_bps {raw_rate!r} is not a number") from None
    if not rate.is_finite():
        raise ValueError(f"{where}: rate_bps {raw_rate!r} is not finite")
    if not MIN_FIXING_BPS <= rate <= MAX_FIXING_BPS:
        raise ValueError(
            f"{where}: rate_bps of {index} on {fixing_date} is {raw_rate}, outside the plausible "
            f"range {MIN_FIXING_BPS}..{MAX_FIXING_BPS} bps (-1% to 25%)"
        )
    return index, fixing_date, rate
