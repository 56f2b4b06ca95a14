"""The ratios the engine derives for its triggers from the vehicle's own
figures (funding.md, "Triggers"): excess spread, its 3-month average, the
seller's interest over the invested amount and the borrowing base
deficiency; they override same-named entries of the period's inputs."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from funding.structure.triggers import (
    BORROWING_BASE_DEFICIENCY,
    EXCESS_SPREAD,
    EXCESS_SPREAD_3M_AVG,
    SELLER_INTEREST_TO_INVESTED,
    RatioValue,
)
from funding.structure.waterfall.state import PeriodInputs


def trigger_ratios(
    inputs: PeriodInputs, spread: Fraction | None, spread_3m: Fraction | None, invested: int
) -> dict[str, RatioValue]:
    ratios: dict[str, RatioValue] = dict(inputs.ratios)
    ratios[EXCESS_SPREAD] = spread
    ratios[EXCESS_SPREAD_3M_AVG] = spread_3m
    ratios[SELLER_INTEREST_TO_INVESTED] = seller_interest_ratio(inputs.pool, invested)
    if inputs.borrowing_base_cents is not None:
        ratios[BORROWING_BASE_DEFICIENCY] = max(0, invested - inputs.borrowing_base_cents)
    else:
        # no borrowing base (a trust): the deficiency has no value, so it cannot breach
        ratios.setdefault(BORROWING_BASE_DEFICIENCY, None)
    return ratios


def after_waterfall_ratios(
    inputs: PeriodInputs, balances: Mapping[str, int]
) -> dict[str, RatioValue]:
    """The ratios the waterfall changes, on the balances after its cure steps."""
    if inputs.borrowing_base_cents is None:
        return {}
    return {BORROWING_BASE_DEFICIENCY: max(0, sum(balances.values()) - inputs.borrowing_base_cents)}


def seller_interest_ratio(pool: Mapping[str, int], invested_cents: int) -> Fraction | None:
    """The seller's interest at the period end over the invested amount: (pool
    principal at the period end - the invested amount the period started
    with) / that invested amount. Tested before the waterfall, so against the
    invested amount before this period's payments. None when nothing is
    invested or the pool's ending principal is not given."""
    if invested_cents <= 0 or "ending_principal" not in pool:
        return None
    return Fraction(pool["ending_principal"] - invested_cents, invested_cents)
