"""A period's investor allocation and accruals (funding.md, "Notes, fees,
reserve"): the investor percentage and its shares of the pool measures, note
rates and interest, fees, the reserve target, and pro rata splits to the
cent. Exact arithmetic; each amount rounded once when it becomes cents."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

from funding.daycount import year_fraction
from funding.money import bps, to_cents
from funding.structure.config import FeeConfig, NoteConfig, StructureConfig
from funding.structure.waterfall.state import InvestorAllocation, PeriodInputs


def investor_percentage(
    allocation: str, invested_cents: int, pool_beginning_cents: int
) -> Fraction:
    """Floating: invested / pool beginning principal, capped at 100%. Full: 100%."""
    if allocation == "full":
        return Fraction(1)
    if invested_cents <= 0:
        return Fraction(0)
    if pool_beginning_cents <= 0:
        return Fraction(1)
    return min(Fraction(1), Fraction(invested_cents, pool_beginning_cents))


def allocate_pool(
    config: StructureConfig, invested: int, pool: Mapping[str, int]
) -> InvestorAllocation:
    pct = investor_percentage(
        config.investor_allocation, invested, pool.get("beginning_principal", 0)
    )

    def share(measure: str) -> int:
        return to_cents(pct * pool[measure], config.rounding)

    return InvestorAllocation(
        percentage=pct,
        interest_funds={measure: share(measure) for measure in config.available_funds},
        principal_collections=share("principal_collections"),
        defaulted=share("chargeoff_principal"),
    )


def note_rate(note: NoteConfig, fixings: Mapping[str, int | Decimal]) -> Fraction:
    """The class's annual rate for the period as an exact fraction."""
    rate = note.rate
    if rate.fixed_bps is not None:
        return bps(rate.fixed_bps)
    if rate.index not in fixings:
        raise KeyError(f"no fixing of index {rate.index} for class {note.class_} in the inputs")
    floating_bps = Fraction(fixings[rate.index]) + (rate.margin_bps or 0)
    if rate.floor_bps is not None:
        floating_bps = max(floating_bps, Fraction(rate.floor_bps))
    return floating_bps / 10_000


def interest_accrual(
    note: NoteConfig, balance_cents: int, inputs: PeriodInputs, rounding: str
) -> int:
    """Beginning balance x rate x year fraction, rounded once, never negative."""
    period = year_fraction(inputs.previous_period_end, inputs.period_end, note.day_count)
    return max(0, to_cents(balance_cents * note_rate(note, inputs.fixings) * period, rounding))


def fee_accrual(fee: FeeConfig, invested_cents: int, inputs: PeriodInputs, rounding: str) -> int:
    if fee.flat_cents is not None:
        return fee.flat_cents
    period = year_fraction(inputs.previous_period_end, inputs.period_end, str(fee.day_count))
    return to_cents(invested_cents * bps(int(fee.rate_bps or 0)) * period, rounding)


def reserve_target(config: StructureConfig, invested_cents: int) -> int:
    if config.reserve_account is None or invested_cents <= 0:
        return 0
    target = config.reserve_account.target
    by_notes = to_cents(bps(target.pct_of_notes_bps) * invested_cents, config.rounding)
    return max(target.floor_cents, by_notes)


def allocate_pro_rata(amount: int, weights: list[int]) -> list[int]:
    """Split `amount` cents in proportion to `weights` so the parts add up exactly.

    Largest remainder: each part is floored, the cents left go one each to
    the largest fractional parts (ties to the earlier, more senior, weight).
    With `amount < sum(weights)` no part exceeds its weight.
    """
    total = sum(weights)
    if total <= 0 or amount <= 0:
        return [0] * len(weights)
    exact = [Fraction(amount * weight, total) for weight in weights]
    parts = [int(share) for share in exact]  # floor: shares are non-negative
    leftover = amount - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in by_remainder[:leftover]:
        parts[i] += 1
    return parts
