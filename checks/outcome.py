"""The result of one check, independent of Dagster."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_OFFENDING_ROWS = 20


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    summary: str  # one sentence a person on call can act on
    observed: Any = None
    expected: Any = None
    offending: tuple[dict[str, Any], ...] = ()
    blocking: bool = True
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return "ERROR" if self.blocking else "WARN"


def offending_rows(rows: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    return tuple(dict(r) for r in rows[:MAX_OFFENDING_ROWS])
