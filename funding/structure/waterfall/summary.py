"""The figures behind a period's waterfall that investors read besides the
statement: the floating allocation of the pool's collections and losses,
the excess spread's parts, the seller's interest, and each class's coupon
and interest period. The waterfall stage writes them to the lake; the
investor package turns them into report sections (`funding.outputs.figures`).

Amounts are integer cents as the engine computed them; the investor
percentage and the engine's ratios are exact decimal text (12 places, as
trigger values are kept).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from funding.daycount import accrual_days
from funding.structure.config import StructureConfig
from funding.structure.triggers import fraction_to_decimal_string
from funding.structure.waterfall.state import PeriodInputs, WaterfallResult
from funding.structure.waterfall.trigger_ratios import seller_interest_ratio

PRINCIPAL_COLLECTIONS = "principal_collections"
DEFAULTED = "chargeoff_principal"

ALLOCATION_SCHEMA = {
    "measure": pl.String,
    "pool_cents": pl.Int64,
    "investor_cents": pl.Int64,
    "seller_cents": pl.Int64,
    "in_interest_funds": pl.Boolean,
}
NOTE_INTEREST_SCHEMA = {
    "class": pl.String,
    "rating": pl.String,
    "index": pl.String,
    "fixing_bps": pl.String,
    "margin_bps": pl.Int64,
    "floor_bps": pl.Int64,
    "fixed_bps": pl.Int64,
    "rate": pl.String,
    "day_count": pl.String,
    "accrual_start": pl.Date,
    "accrual_end": pl.Date,
    "days": pl.Int64,
    "payment_date": pl.Date,
    "interest_accrued_cents": pl.Int64,
}


def _text(value) -> str | None:
    return None if value is None else fraction_to_decimal_string(value)


def investor_allocation(
    config: StructureConfig, inputs: PeriodInputs, result: WaterfallResult
) -> pl.DataFrame:
    """Each allocated pool measure: the pool's amount, the investor's share
    (the engine's, rounded once) and the seller's (the rest). The available
    funds measures first, then principal collections and the defaulted
    amount (charged-off principal)."""
    allocation = result.allocation
    if allocation is None:
        raise ValueError("the waterfall result carries no allocation")
    rows = [(m, inputs.pool[m], allocation.interest_funds[m], True) for m in config.available_funds]
    rows.append(
        (
            PRINCIPAL_COLLECTIONS,
            inputs.pool[PRINCIPAL_COLLECTIONS],
            allocation.principal_collections,
            False,
        )
    )
    rows.append((DEFAULTED, inputs.pool[DEFAULTED], allocation.defaulted, False))
    return pl.DataFrame(
        [(m, pool, investor, pool - investor, funds) for m, pool, investor, funds in rows],
        schema=ALLOCATION_SCHEMA,
        orient="row",
    )


def waterfall_summary(
    config: StructureConfig, inputs: PeriodInputs, result: WaterfallResult
) -> pl.DataFrame:
    """One row: invested amounts, pool principal, investor percentage, the
    parts of the excess spread (investor interest funds and recoveries in
    them, accrued note interest, each fee's accrual, the investor defaulted
    amount), the engine's excess spread and its 3-month average, the reserve
    target and the seller's interest ratio of the seller's interest test."""
    allocation = result.allocation
    if allocation is None:
        raise ValueError("the waterfall result carries no allocation")
    invested = result.opening.invested_cents
    row: dict[str, object] = {
        "period_end": inputs.period_end,
        "invested_beginning_cents": invested,
        "invested_ending_cents": result.state.invested_cents,
        "pool_beginning_principal_cents": inputs.pool.get("beginning_principal"),
        "pool_ending_principal_cents": inputs.pool.get("ending_principal"),
        "investor_percentage": _text(allocation.percentage),
        "interest_funds_cents": sum(allocation.interest_funds.values()),
        "recoveries_in_funds_cents": allocation.interest_funds.get("recoveries", 0),
        "interest_accrued_cents": sum(result.interest_accrued.values()),
        "defaulted_cents": allocation.defaulted,
        "investor_chargeoffs_cents": sum(result.investor_chargeoffs.values()),
        "excess_spread": _text(result.excess_spread),
        "excess_spread_3m_avg": _text(result.excess_spread_3m_avg),
        "reserve_target_cents": result.reserve_target_cents
        if config.reserve_account is not None
        else None,
        "seller_interest_to_invested": _text(seller_interest_ratio(inputs.pool, invested)),
    }
    for fee in config.fees:
        row[f"fee_{fee.name}_cents"] = result.fees_accrued[fee.name]
    schema: dict[str, pl.DataType] = {
        name: (
            pl.Date()
            if name == "period_end"
            else pl.Int64()
            if name.endswith("_cents")
            else pl.String()
        )
        for name in row
    }
    return pl.DataFrame([row], schema=schema)


def payment_date(period_end: date, payment_day: int | None) -> date:
    """The day notes are paid for the period: `payment_day` of the next month,
    moved to the Monday after a Saturday or Sunday; the period end without one."""
    if payment_day is None:
        return period_end
    day = (period_end + timedelta(days=1)).replace(day=payment_day)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def note_interest(
    config: StructureConfig, inputs: PeriodInputs, result: WaterfallResult
) -> pl.DataFrame:
    """Each class's coupon for the period (index fixing + margin, floored, or
    fixed), its interest period and day count, the payment date and the
    interest accrued (the engine's)."""
    rows = []
    for note in config.notes:
        rate = note.rate
        fixing = inputs.fixings.get(rate.index) if rate.index is not None else None
        rows.append(
            {
                "class": note.class_,
                "rating": note.rating,
                "index": rate.index,
                "fixing_bps": None if fixing is None else str(fixing),
                "margin_bps": rate.margin_bps,
                "floor_bps": rate.floor_bps,
                "fixed_bps": rate.fixed_bps,
                "rate": _text(result.note_rates[note.class_]),
                "day_count": note.day_count,
                "accrual_start": inputs.previous_period_end,
                "accrual_end": inputs.period_end,
                "days": accrual_days(inputs.previous_period_end, inputs.period_end, note.day_count),
                "payment_date": payment_date(inputs.period_end, config.payment_day),
                "interest_accrued_cents": result.interest_accrued[note.class_],
            }
        )
    return pl.DataFrame(rows, schema=NOTE_INTEREST_SCHEMA)
