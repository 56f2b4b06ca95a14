"""Period closes and the bitemporal window of a period (ledger.md, "What a
period contains").

A posting counts at P when `posted_at <= C(P)` and `effective_on <= E(P)`;
the flows of P are what counts at P and did not count at the previous
closed period. `Window` carries the four bounds every window query takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from funding.period import Period

NO_PERIOD_END = date(1, 1, 1)
NO_CUTOFF = datetime(1, 1, 1)


class LedgerError(RuntimeError):
    """The ledger cannot be read or breaks its contract."""


@dataclass(frozen=True)
class PeriodClose:
    period_end: date
    closed_at: datetime

    @property
    def period(self) -> Period:
        return Period.ending(self.period_end)


def previous_close(closes: Sequence[PeriodClose], period: Period) -> PeriodClose | None:
    """P-1: the latest closed period before `period`."""
    earlier = [c for c in closes if c.period_end < period.end]
    return max(earlier, key=lambda c: c.period_end) if earlier else None


def require_close(closes: Sequence[PeriodClose], period: Period) -> PeriodClose:
    for close in closes:
        if close.period_end == period.end:
            return close
    raise LedgerError(
        f"period {period} ({period.end}) is not closed: period_closes has no row for it, "
        "so it must not be reported. Run it after the accounting close."
    )


@dataclass(frozen=True)
class Window:
    """What newly counts at a period: cutoff and period end of P and of P-1."""

    close: PeriodClose
    previous: PeriodClose | None

    @property
    def period(self) -> Period:
        return self.close.period

    def params(self) -> dict[str, Any]:
        return {
            "period_end": self.close.period_end,
            "cutoff": self.close.closed_at,
            "prev_period_end": self.previous.period_end if self.previous else NO_PERIOD_END,
            "prev_cutoff": self.previous.closed_at if self.previous else NO_CUTOFF,
        }

    def record(self) -> dict[str, str | None]:
        """The window as stored beside the snapshot (manifests read its cutoff)."""
        return {
            "period_end": str(self.close.period_end),
            "cutoff": self.close.closed_at.isoformat(sep=" "),
            "previous_period_end": str(self.previous.period_end) if self.previous else None,
            "previous_cutoff": self.previous.closed_at.isoformat(sep=" ")
            if self.previous
            else None,
        }
