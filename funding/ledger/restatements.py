"""Restatements with a later ledger cutoff (ledger.md, "A restatement of P
re-reads the ledger with a later cutoff C'").

A restatement is recorded durably outside the ledger (which is read-only to
us), in the control store, one create-only record per request:
`restatements/{YYYY-MM}/{n}.json`. From then on C' is P's cutoff, and every
later closed period's cutoff is the later of its own close and C'
(`effective_closes`): each period's flows are measured against the restated
predecessor, so nothing is counted twice or lost. Every run, whoever starts
it, reads the records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from funding.ledger.closes import NO_CUTOFF, PeriodClose
from funding.period import Period
from funding.storage.objects import ObjectStore

CUTOFF_FORMAT = "%Y-%m-%d %H:%M:%S"
PREFIX = "restatements"


class RestatementError(ValueError):
    """A restatement that cannot be made; the message says why."""


@dataclass(frozen=True)
class Restatement:
    period: str  # YYYY-MM
    cutoff: str  # YYYY-MM-DD HH:MM:SS, UTC like the ledger's timestamps
    reason: str
    recorded_at: str  # when it was requested, ISO 8601 UTC
    replaces_cutoff: str  # the period's cutoff before this restatement

    @property
    def cutoff_at(self) -> datetime:
        return datetime.strptime(self.cutoff, CUTOFF_FORMAT)


def parse_cutoff(text: str) -> datetime:
    try:
        return datetime.strptime(text.strip(), CUTOFF_FORMAT)
    except ValueError:
        raise RestatementError(
            f'cutoff {text!r} is not a timestamp: expected "YYYY-MM-DD HH:MM:SS" (UTC)'
        ) from None


def effective_closes(
    closes: Sequence[PeriodClose], restated: Mapping[Period, datetime]
) -> list[PeriodClose]:
    """Each closed period with the cutoff it is read at: the later of its own
    close and every restated cutoff of it or of an earlier period."""
    floor = NO_CUTOFF
    out = []
    for close in sorted(closes, key=lambda c: c.period_end):
        floor = max(floor, restated.get(close.period, NO_CUTOFF))
        out.append(PeriodClose(close.period_end, max(close.closed_at, floor)))
    return out


def check_restatement(
    closes: Sequence[PeriodClose],
    restated: Mapping[Period, datetime],
    period: Period,
    cutoff: datetime,
    now: datetime,
) -> PeriodClose:
    """The period's current effective close, if `cutoff` may restate it; a
    RestatementError naming the problem otherwise."""
    current = {c.period: c for c in effective_closes(closes, restated)}
    if period not in current:
        raise RestatementError(
            f"period {period} is not closed: period_closes has no row for it, so it cannot be restated"
        )
    close = current[period]
    if cutoff <= close.closed_at:
        raise RestatementError(
            f"cutoff {cutoff:{CUTOFF_FORMAT}} is not later than {period}'s current cutoff "
            f"{close.closed_at:{CUTOFF_FORMAT}}: a restatement reads the ledger at a later cutoff"
        )
    if cutoff > now:
        raise RestatementError(
            f"cutoff {cutoff:{CUTOFF_FORMAT}} is in the future (now {now:{CUTOFF_FORMAT}} UTC): "
            "postings made after the restatement would change it again"
        )
    return close


class RestatementLog:
    """The restatement records in a control store."""

    def __init__(self, store: ObjectStore):
        self.store = store

    def records(self, period: Period | None = None) -> list[Restatement]:
        prefix = f"{PREFIX}/{period}/" if period else f"{PREFIX}/"
        out = []
        for key in self.store.list(prefix):
            data = self.store.read(key)
            if data is not None and key.endswith(".json"):
                out.append(Restatement(**json.loads(data)))
        return sorted(out, key=lambda r: (r.period, r.recorded_at))

    def cutoffs(self) -> dict[Period, datetime]:
        """The latest restated cutoff of every restated period."""
        latest: dict[Period, datetime] = {}
        for record in self.records():
            latest[Period.parse(record.period)] = record.cutoff_at
        return latest

    def latest(self, period: Period) -> Restatement | None:
        records = self.records(period)
        return records[-1] if records else None

    def record(self, restatement: Restatement) -> bool:
        """Add the record; False when the period's latest record already
        says the same (a repeated request changes nothing)."""
        period = Period.parse(restatement.period)
        latest = self.latest(period)
        if latest and (latest.cutoff, latest.reason) == (restatement.cutoff, restatement.reason):
            return False
        for number in range(len(self.records(period)) + 1, 10_000):
            key = f"{PREFIX}/{period}/{number:04d}.json"
            payload = json.dumps(asdict(restatement), indent=2, sort_keys=True).encode() + b"\n"
            if self.store.create(key, payload):
                return True
        raise RestatementError(f"cannot record a restatement of {period}: too many records")


def restatement_reason(
    period: Period,
    previous_cutoff: str | None,
    cutoff: str,
    records: Sequence[Restatement],
) -> str | None:
    """Why a package is restated when its ledger cutoff moved since the
    previous version: the restatement that moved it (of this period or an
    earlier one) and its reason; None when the cutoff did not move."""
    if previous_cutoff is None or _at(previous_cutoff) == _at(cutoff):
        return None
    moving = [r for r in records if Period.parse(r.period) <= period and r.cutoff_at == _at(cutoff)]
    if not moving:
        return f"ledger cutoff moved from {previous_cutoff} to {cutoff}"
    record = moving[-1]
    which = "this period" if record.period == period.key else record.period
    return (
        f"ledger cutoff moved from {previous_cutoff} to {cutoff} by the restatement of "
        f"{which}: {record.reason}"
    )


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.strip())
