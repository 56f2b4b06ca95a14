"""Invariants checked on every run (funding.md, "Priority of payments"):
sources = uses to the cent, no balance below zero, paid <= due, seniority
respected, and balances roll forward from the opening state."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from funding.structure.waterfall.cash import (
    PRINCIPAL_ACTIONS,
    reserve_and_facility_sources,
    uses_from_statement,
)
from funding.structure.waterfall.state import StatementRow, WaterfallResult


@dataclass(frozen=True)
class Violation:
    invariant: str
    message: str


def check_sources_equal_uses(result: WaterfallResult) -> list[Violation]:
    """Every cent in is a cent out, each waterfall ends empty, uses match the statement."""
    violations = []
    if result.sources_total != result.uses_total:
        violations.append(
            Violation(
                "sources_equal_uses",
                f"sources {result.sources_total} != uses {result.uses_total} "
                f"(difference {result.sources_total - result.uses_total})",
            )
        )
    if result.uses != uses_from_statement(result.statement):
        violations.append(Violation("sources_equal_uses", "uses do not match the statement"))
    for key, cents in reserve_and_facility_sources(result.statement).items():
        if result.sources.get(key) != cents:
            violations.append(
                Violation("sources_equal_uses", f"source {key} does not match the statement")
            )
    for waterfall in ("interest", "principal"):
        rows = [r for r in result.statement if r.waterfall == waterfall]
        if rows and rows[-1].available_after_cents != 0:
            violations.append(
                Violation(
                    "sources_equal_uses",
                    f"{waterfall} waterfall ends with {rows[-1].available_after_cents} unallocated",
                )
            )
    return violations


def check_no_negative_balances(result: WaterfallResult) -> list[Violation]:
    state = result.state
    amounts: list[tuple[str, int | None]] = [
        ("reserve", state.reserve_cents),
        ("advances", state.advances_cents),
    ]
    for label, mapping in (
        ("note balance", state.note_balances),
        ("unpaid interest", state.unpaid_interest),
        ("unpaid fee", state.unpaid_fees),
        ("unreimbursed charge-off", state.unreimbursed_chargeoffs),
        ("investor charge-off", result.investor_chargeoffs),
    ):
        amounts += [(f"{label} {name}", cents) for name, cents in mapping.items()]
    for row in result.statement:
        where = f"{row.waterfall} step {row.step} {row.action} {row.target}"
        amounts += [
            (f"{where} due", row.due_cents),
            (f"{where} paid", row.paid_cents),
            (f"{where} from reserve", row.from_reserve_cents),
            (f"{where} available after", row.available_after_cents),
        ]
    return [
        Violation("no_negative_balances", f"{label} is negative: {cents}")
        for label, cents in amounts
        if cents is not None and cents < 0
    ]


def check_paid_not_above_due(result: WaterfallResult) -> list[Violation]:
    violations = []
    for row in result.statement:
        where = f"{row.waterfall} step {row.step} {row.action} {row.target}"
        if row.paid_cents > row.due_cents:
            violations.append(
                Violation(
                    "paid_not_above_due", f"{where}: paid {row.paid_cents} > due {row.due_cents}"
                )
            )
        if row.shortfall_cents != row.due_cents - row.paid_cents:
            violations.append(Violation("paid_not_above_due", f"{where}: shortfall != due - paid"))
        if row.from_reserve_cents > row.paid_cents:
            violations.append(
                Violation("paid_not_above_due", f"{where}: drawn from reserve more than paid")
            )
    return violations


def check_seniority(result: WaterfallResult) -> list[Violation]:
    """No payment out of a waterfall's funds while a more senior step of it is short.

    Rows of one pro-rata step rank equally; every other row ranks by order.
    Reserve draws are excluded: the reserve is dedicated to the covered steps.
    """
    violations = []
    for waterfall in ("interest", "principal"):
        rows = [r for r in result.statement if r.waterfall == waterfall and r.step > 0]
        senior_short: StatementRow | None = None
        for _, group in groupby(rows, key=_seniority_rank):
            same_rank = list(group)
            if senior_short is not None:
                violations += [
                    Violation(
                        "seniority",
                        f"{waterfall} step {row.step} {row.action} {row.target} paid "
                        f"{row.paid_cents - row.from_reserve_cents} while step "
                        f"{senior_short.step} {senior_short.action} {senior_short.target} "
                        f"is short {senior_short.shortfall_cents}",
                    )
                    for row in same_rank
                    if row.paid_cents - row.from_reserve_cents > 0
                ]
            else:
                senior_short = next((r for r in same_rank if r.shortfall_cents > 0), None)
    return violations


def _seniority_rank(row: StatementRow) -> tuple[int, str]:
    return (row.step, "" if row.action == "principal_pro_rata" else row.target)


def check_balances_roll_forward(result: WaterfallResult) -> list[Violation]:
    """Closing = opening - principal - charge-offs + reimbursements + draws, per class;
    and the reserve and unreimbursed charge-offs roll forward likewise."""
    violations = []
    rows = result.statement
    opening, closing = result.opening, result.state
    for name, begin in opening.note_balances.items():
        principal = _paid_to(rows, name, PRINCIPAL_ACTIONS)
        reimbursed = _paid_to(rows, name, ("chargeoff_reimbursement",))
        drawn = _paid_to(rows, name, ("draw",))
        charged_off = result.investor_chargeoffs.get(name, 0)
        expected = begin - principal - charged_off + reimbursed + drawn
        if closing.note_balances.get(name) != expected:
            violations.append(
                Violation(
                    "balances_roll_forward",
                    f"class {name}: {begin} - {principal} principal - {charged_off} charged off "
                    f"+ {reimbursed} reimbursed + {drawn} drawn = {expected}, "
                    f"closing is {closing.note_balances.get(name)}",
                )
            )
        unreimbursed = opening.unreimbursed_chargeoffs[name] + charged_off - reimbursed
        if closing.unreimbursed_chargeoffs.get(name) != unreimbursed:
            violations.append(
                Violation("balances_roll_forward", f"class {name}: unreimbursed does not roll")
            )
    reserve = (
        opening.reserve_cents
        - sum(r.from_reserve_cents for r in rows)
        + sum(r.paid_cents for r in rows if r.action in ("reserve_deposit", "release_to_reserve"))
    )
    if closing.reserve_cents != reserve:
        violations.append(
            Violation(
                "balances_roll_forward",
                f"reserve: {reserve} from the statement, closing is {closing.reserve_cents}",
            )
        )
    if closing.advances_cents is not None and closing.advances_cents != closing.invested_cents:
        violations.append(Violation("balances_roll_forward", "advances != the advances class"))
    return violations


def check_invariants(result: WaterfallResult) -> list[Violation]:
    """All invariants of funding.md; an empty list means the period is sound."""
    return [
        *check_sources_equal_uses(result),
        *check_no_negative_balances(result),
        *check_paid_not_above_due(result),
        *check_seniority(result),
        *check_balances_roll_forward(result),
    ]


def _paid_to(rows: tuple[StatementRow, ...], target: str, actions: tuple[str, ...]) -> int:
    return sum(r.paid_cents for r in rows if r.target == target and r.action in actions)
