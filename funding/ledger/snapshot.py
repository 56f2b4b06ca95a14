"""The receivables snapshot: one row per account and closed period.

This is the contract between extraction and every computation after it.
All money columns are Int64 cents. Each period's file is the full state of
every account opened by the period end, so that balances and charge-off
status carry forward from one period to the next without rereading history.
"""

from __future__ import annotations

import polars as pl

# The chart of accounts and the entry types (ledger.md).
RECEIVABLE_GL: dict[str, str] = {
    "principal": "receivable:principal",
    "interest": "receivable:interest",
    "fees": "receivable:fees",
}
GL_ACCOUNTS: tuple[str, ...] = (
    *RECEIVABLE_GL.values(),
    "cash:collections",
    "merchant:settlement",
    "income:interest",
    "income:fees",
    "income:recoveries",
    "chargeoff:principal",
    "chargeoff:interest",
    "chargeoff:fees",
)
ENTRY_TYPES: tuple[str, ...] = (
    "PURCHASE",
    "RETURN",
    "INTEREST_CHARGE",
    "FEE_CHARGE",
    "WAIVER",
    "PAYMENT",
    "PAYMENT_REVERSAL",
    "CHARGE_OFF",
    "RECOVERY",
)

# Period flows per account (ledger.md, "Measures per account and period").
MEASURES: tuple[str, ...] = (
    "purchases",
    "returns",
    "principal_collections",
    "interest_collections",
    "fee_collections",
    "finance_charge_collections",
    "interest_billed",
    "fees_billed",
    "interest_waivers",
    "fee_waivers",
    "chargeoff_principal",
    "chargeoff_interest",
    "chargeoff_fees",
    "recoveries",
)


DPD_BUCKETS: tuple[str, ...] = (
    "current",
    "1_29",
    "30_59",
    "60_89",
    "90_119",
    "120_149",
    "150_179",
    "180_plus",
    "charged_off",
)

STATUSES: tuple[str, ...] = ("OPEN", "CLOSED", "CHARGED_OFF")

SCHEMA: dict[str, pl.DataType] = {
    "period_end": pl.Date(),
    "account_id": pl.Int64(),
    "product_code": pl.String(),
    "opened_on": pl.Date(),
    "closed_on": pl.Date(),
    "close_reason": pl.String(),
    "origination_fico": pl.Int64(),
    "origination_income_cents": pl.Int64(),
    "risk_grade": pl.String(),
    "channel": pl.String(),
    "billing_state": pl.String(),
    "months_on_book": pl.Int64(),
    # terms and scores as of the period end
    "credit_limit_cents": pl.Int64(),
    "purchase_apr_bps": pl.Int64(),
    "current_fico": pl.Int64(),
    "current_score_model": pl.String(),
    # delinquency and status at the period end
    "days_past_due": pl.Int64(),
    "past_due_cents": pl.Int64(),
    "delinquency_bucket": pl.String(),
    "status": pl.String(),
    "charged_off_on": pl.Date(),  # effective date of the CHARGE_OFF entry, if it counts
    "flags": pl.String(),  # active flags, sorted, ';'-separated, '' if none
    # funding vehicle designation at this period end and at the previous one
    "vehicle_id": pl.String(),
    "prev_vehicle_id": pl.String(),
    # membership (ledger.md, "Pool membership at P")
    "is_active": pl.Boolean(),
    "was_active": pl.Boolean(),
    # balances at the previous closed period (begin) and at this one (end)
    "begin_principal_cents": pl.Int64(),
    "begin_interest_cents": pl.Int64(),
    "begin_fees_cents": pl.Int64(),
    "principal_cents": pl.Int64(),
    "interest_cents": pl.Int64(),
    "fees_cents": pl.Int64(),
    "total_cents": pl.Int64(),
    **{f"{m}_cents": pl.Int64() for m in MEASURES},
    # a receivable posting first counting at P after the account's charge-off
    "posted_after_chargeoff": pl.Boolean(),
}


def dpd_bucket(days_past_due: pl.Expr, charged_off: pl.Expr) -> pl.Expr:
    """The DPD bucket of metrics.md; charged-off accounts are `charged_off`."""
    return (
        pl.when(charged_off)
        .then(pl.lit("charged_off"))
        .when(days_past_due <= 0)
        .then(pl.lit("current"))
        .when(days_past_due < 30)
        .then(pl.lit("1_29"))
        .when(days_past_due < 60)
        .then(pl.lit("30_59"))
        .when(days_past_due < 90)
        .then(pl.lit("60_89"))
        .when(days_past_due < 120)
        .then(pl.lit("90_119"))
        .when(days_past_due < 150)
        .then(pl.lit("120_149"))
        .when(days_past_due < 180)
        .then(pl.lit("150_179"))
        .otherwise(pl.lit("180_plus"))
    )


def pool_members(snapshot: pl.DataFrame, vehicle_id: str | None) -> pl.DataFrame:
    """Accounts in a vehicle's pool at P (`None` = the whole portfolio)."""
    in_pool = pl.col("is_active")
    if vehicle_id is not None:
        in_pool = in_pool & (pl.col("vehicle_id") == vehicle_id)
    return snapshot.filter(in_pool)
