"""Waterfall records: the statement rows, the state a vehicle carries from
period to period, a period's inputs and its result (funding.md, "State
across periods"). The engine (`engine.py`) produces them; the invariants
(`invariants.py`) check them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from funding.structure.config import StructureConfig
from funding.structure.triggers import REVOLVING, STATUSES, RatioValue, TriggerTest


class MissingPredecessorError(LookupError):
    """The previous period's state is not the one this period starts from."""


# ---------------------------------------------------------------------------
# records


@dataclass(frozen=True)
class StatementRow:
    """One step (or one class of a multi-class step) of a period's statement.

    `waterfall` is `interest`, `principal` or `facility`; `step` is the
    1-based position in the configured list (0: the reserve excess release
    before step 1). `available_after_cents` is what is left of that
    waterfall's funds after the row.
    """

    waterfall: str
    step: int
    action: str
    target: str
    due_cents: int
    paid_cents: int
    shortfall_cents: int
    from_reserve_cents: int
    available_after_cents: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "waterfall": self.waterfall,
            "step": self.step,
            "action": self.action,
            "target": self.target,
            "due_cents": self.due_cents,
            "paid_cents": self.paid_cents,
            "shortfall_cents": self.shortfall_cents,
            "from_reserve_cents": self.from_reserve_cents,
            "available_after_cents": self.available_after_cents,
        }


@dataclass(frozen=True)
class VehicleState:
    """A vehicle's closing position for a period; the next period starts from it.

    Class-keyed mappings follow the config's note order (most senior first).
    Treat the mappings as read-only. `excess_spread_history` holds the last
    values of the vehicle excess spread, oldest first (None: no value).
    `trigger_breaches` holds, for each trigger breached in this period, its
    run of consecutive breached periods (for `cure_periods`).
    """

    period_end: date
    status: str
    cash_trap: bool
    note_balances: dict[str, int]
    unpaid_interest: dict[str, int]
    unpaid_fees: dict[str, int]
    unreimbursed_chargeoffs: dict[str, int]
    reserve_cents: int
    excess_spread_history: tuple[Fraction | None, ...] = ()
    advances_cents: int | None = None
    trigger_breaches: dict[str, int] = field(default_factory=dict)

    @property
    def invested_cents(self) -> int:
        return sum(self.note_balances.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, keys in a fixed order; fractions exact as 'n/d' strings."""
        return {
            "period_end": self.period_end.isoformat(),
            "status": self.status,
            "cash_trap": self.cash_trap,
            "note_balances": dict(self.note_balances),
            "unpaid_interest": dict(self.unpaid_interest),
            "unpaid_fees": dict(self.unpaid_fees),
            "unreimbursed_chargeoffs": dict(self.unreimbursed_chargeoffs),
            "reserve_cents": self.reserve_cents,
            "advances_cents": self.advances_cents,
            "excess_spread_history": [
                None if v is None else str(v) for v in self.excess_spread_history
            ],
            "trigger_breaches": dict(self.trigger_breaches),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VehicleState:
        status = data["status"]
        if status not in STATUSES:
            raise ValueError(f"unknown vehicle status {status!r}; expected one of {STATUSES}")
        advances = data.get("advances_cents")
        return cls(
            period_end=date.fromisoformat(data["period_end"]),
            status=status,
            cash_trap=_require_bool(data["cash_trap"], "cash_trap"),
            note_balances=_cents_map(data["note_balances"], "note_balances"),
            unpaid_interest=_cents_map(data["unpaid_interest"], "unpaid_interest"),
            unpaid_fees=_cents_map(data["unpaid_fees"], "unpaid_fees"),
            unreimbursed_chargeoffs=_cents_map(
                data["unreimbursed_chargeoffs"], "unreimbursed_chargeoffs"
            ),
            reserve_cents=require_cents(data["reserve_cents"], "reserve_cents"),
            advances_cents=None if advances is None else require_cents(advances, "advances"),
            excess_spread_history=tuple(
                None if v is None else Fraction(v) for v in data.get("excess_spread_history", [])
            ),
            trigger_breaches=_count_map(data.get("trigger_breaches", {}), "trigger_breaches"),
        )

    @classmethod
    def from_json(cls, text: str) -> VehicleState:
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True)
class PeriodInputs:
    """What one period's waterfall needs besides config and previous state.

    `pool`: pool measures in cents (metrics.md names): every
    `available_funds` measure, `principal_collections`, `chargeoff_principal`
    and, for floating allocation, `beginning_principal`.
    `fixings`: index -> rate in bps for the period (`FixingTable.for_period`).
    `ratios`: values of the ratios the triggers name (None = no value).
    `borrowing_base_cents`: the period's borrowing base (warehouses only).
    """

    period_start: date
    period_end: date
    previous_period_end: date
    pool: Mapping[str, int]
    fixings: Mapping[str, int | Decimal] = field(default_factory=dict)
    ratios: Mapping[str, RatioValue] = field(default_factory=dict)
    borrowing_base_cents: int | None = None
    draw_policy: str = "max_available"


@dataclass(frozen=True)
class InvestorAllocation:
    """The investor's share of the period's pool measures (each share rounded once)."""

    percentage: Fraction
    interest_funds: dict[str, int]  # per available-funds measure
    principal_collections: int
    defaulted: int  # the investor share of charged-off principal


@dataclass(frozen=True)
class WaterfallResult:
    """A period's statement, trigger tests and closing state, with the figures behind them.

    `fees_accrued` and `interest_accrued` are this period's accruals (without
    amounts carried from earlier periods); `note_rates` each class's annual
    rate for the period.
    """

    statement: tuple[StatementRow, ...]
    trigger_tests: tuple[TriggerTest, ...]
    state: VehicleState
    opening: VehicleState
    sources: dict[str, int]
    uses: dict[str, int]
    investor_chargeoffs: dict[str, int]
    investor_percentage: Fraction
    excess_spread: Fraction | None
    excess_spread_3m_avg: Fraction | None
    reserve_target_cents: int
    # the status the principal waterfall ran under; the closing state's status
    # differs when a trigger tested after the waterfall ended revolving
    waterfall_status: str = REVOLVING
    allocation: InvestorAllocation | None = None
    fees_accrued: dict[str, int] = field(default_factory=dict)
    interest_accrued: dict[str, int] = field(default_factory=dict)
    note_rates: dict[str, Fraction] = field(default_factory=dict)

    @property
    def sources_total(self) -> int:
        return sum(self.sources.values())

    @property
    def uses_total(self) -> int:
        return sum(self.uses.values())


# ---------------------------------------------------------------------------
# opening state


def initial_state(
    config: StructureConfig, period_end_before_first: date, *, warehouse: bool | None = None
) -> VehicleState:
    """The state before the first period, from the config's initial values.

    `warehouse` defaults to whether the (composed) config has a `facility`.
    """
    if warehouse is None:
        warehouse = getattr(config, "facility", None) is not None
    if not config.sized_at_closing:
        raise ValueError(
            "the config states balances at closing as shares of the pool: "
            "size it first (StructureConfig.size_at_closing)"
        )
    balances = {note.class_: int(note.initial_balance_cents or 0) for note in config.notes}
    return VehicleState(
        period_end=period_end_before_first,
        status=REVOLVING,
        cash_trap=False,
        note_balances=balances,
        unpaid_interest=dict.fromkeys(balances, 0),
        unpaid_fees=dict.fromkeys(config.fee_names, 0),
        unreimbursed_chargeoffs=dict.fromkeys(balances, 0),
        reserve_cents=int(config.reserve_account.initial_cents or 0)
        if config.reserve_account
        else 0,
        advances_cents=sum(balances.values()) if warehouse else None,
    )


def opening_state(
    config: StructureConfig, previous: VehicleState | None, inputs: PeriodInputs
) -> VehicleState:
    if previous is None:
        return initial_state(
            config, inputs.previous_period_end, warehouse=inputs.borrowing_base_cents is not None
        )
    if previous.period_end != inputs.previous_period_end:
        raise MissingPredecessorError(
            f"period ending {inputs.period_end.isoformat()} starts from the state of the period "
            f"ending {inputs.previous_period_end.isoformat()}, which is missing; the state given "
            f"is for {previous.period_end.isoformat()}"
        )
    _require_same_keys(previous.note_balances, config.class_names, "note classes")
    _require_same_keys(previous.unpaid_fees, config.fee_names, "fees")
    return previous


# ---------------------------------------------------------------------------
# small validators


def require_cents(value: object, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{label} must be integer cents, got {value!r}")
    if value < 0:
        raise ValueError(f"{label} must not be negative, got {value}")
    return value


def _require_bool(value: object, label: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{label} must be a boolean, got {value!r}")
    return value


def _count_map(mapping: Mapping[str, object], label: str) -> dict[str, int]:
    counts = {}
    for key, value in mapping.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{label}[{key}] must be a positive count of periods, got {value!r}")
        counts[str(key)] = value
    return counts


def _cents_map(mapping: Mapping[str, object], label: str) -> dict[str, int]:
    return {str(k): require_cents(v, f"{label}[{k}]") for k, v in mapping.items()}


def _require_same_keys(mapping: Mapping[str, int], expected: tuple[str, ...], label: str) -> None:
    if tuple(mapping) != expected:
        raise ValueError(
            f"previous state {label} {list(mapping)} do not match the config's {list(expected)}"
        )
