"""Receivables extraction: the ledger's state of every account at a closed period.

Flows come from one pass over the lines that newly count at P
(`funding.ledger.window`); balances and charge-off status carry forward from
the previous period's snapshot, so history is read once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import polars as pl

from funding.ledger.closes import LedgerError, PeriodClose, Window, previous_close
from funding.ledger.database import LedgerSession
from funding.ledger.snapshot import MEASURES, SCHEMA, dpd_bucket
from funding.ledger.window import LINES_SCHEMA, WindowLines, account_flows, window_lines

# Columns read from accounts, terms, scores and delinquency, typed as in the snapshot.
ACCOUNTS_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Int64(),
    **{
        name: SCHEMA[name]
        for name in (
            "product_code",
            "opened_on",
            "closed_on",
            "close_reason",
            "origination_fico",
            "origination_income_cents",
            "risk_grade",
            "channel",
            "billing_state",
            "credit_limit_cents",
            "purchase_apr_bps",
            "current_fico",
            "current_score_model",
            "days_past_due",
            "past_due_cents",
        )
    },
}

FLAGS_SCHEMA = {"account_id": pl.Int64(), "flag": pl.String()}
DESIGNATIONS_SCHEMA = {"account_id": pl.Int64(), "vehicle_id": pl.String()}


@dataclass(frozen=True)
class Extraction:
    """A period's snapshot and what its window's lines say (for the checks)."""

    snapshot: pl.DataFrame
    window: Window
    lines: WindowLines


def extract_period(
    session: LedgerSession,
    close: PeriodClose,
    prev: PeriodClose | None,
    prev_snapshot: pl.DataFrame | None,
) -> Extraction:
    """The receivables snapshot of one closed period, with its window's lines.

    `prev_snapshot` is the snapshot of `prev` (the previous closed period) and
    is required whenever `prev` exists: balances are carried from it.
    """
    if prev is not None and prev_snapshot is None:
        raise LedgerError(
            f"receivables snapshot of {prev.period_end:%Y-%m} is missing; "
            f"extract it before {close.period_end:%Y-%m} (balances carry forward)"
        )
    window = Window(close, prev)
    # The window is a small slice of a large table: find its lines through the
    # postings key (a nested loop over the index), never by hashing every posting.
    with session.planner(enable_seqscan="off", enable_hashjoin="off", enable_mergejoin="off"):
        lines = session.frame("window_postings.sql", LINES_SCHEMA, **window.params())
    accounts = session.frame("extract_accounts.sql", ACCOUNTS_SCHEMA, period_end=close.period_end)
    flows = account_flows(lines)
    flags = session.frame("extract_flags.sql", FLAGS_SCHEMA, period_end=close.period_end)
    vehicles_now = session.frame(
        "extract_designations.sql", DESIGNATIONS_SCHEMA, as_of=close.period_end
    )
    vehicles_before = (
        session.frame("extract_designations.sql", DESIGNATIONS_SCHEMA, as_of=prev.period_end)
        if prev
        else pl.DataFrame(schema=DESIGNATIONS_SCHEMA)
    )
    snapshot = assemble_snapshot(
        close.period_end, accounts, flows, flags, vehicles_now, vehicles_before, prev_snapshot
    )
    return Extraction(snapshot, window, window_lines(lines))


def extract_snapshot(
    session: LedgerSession,
    close: PeriodClose,
    prev: PeriodClose | None,
    prev_snapshot: pl.DataFrame | None,
) -> pl.DataFrame:
    """The receivables snapshot of one closed period (see `extract_period`)."""
    return extract_period(session, close, prev, prev_snapshot).snapshot


def extract_periods(session: LedgerSession) -> Iterator[tuple[PeriodClose, pl.DataFrame]]:
    """Every closed period's snapshot, oldest first, each carried from the one before."""
    closes = session.period_closes()
    snapshot = None
    for close in closes:
        snapshot = extract_snapshot(session, close, previous_close(closes, close.period), snapshot)
        yield close, snapshot


def _one_vehicle_per_account(designations: pl.DataFrame, name: str) -> pl.DataFrame:
    # Two vehicles on one date is invalid input that a blocking check reports;
    # the snapshot keeps one row per account (the first vehicle id) meanwhile.
    return designations.group_by("account_id").agg(pl.col("vehicle_id").min().alias(name))


def assemble_snapshot(
    period_end: date,
    accounts: pl.DataFrame,
    flows: pl.DataFrame,
    flags: pl.DataFrame,
    vehicles_now: pl.DataFrame,
    vehicles_before: pl.DataFrame,
    prev_snapshot: pl.DataFrame | None,
) -> pl.DataFrame:
    """Join the period's reads with the carried state into the snapshot frame."""
    if prev_snapshot is None:
        prev_snapshot = pl.DataFrame(schema=SCHEMA)
    carried = prev_snapshot.select(
        "account_id",
        pl.col("principal_cents").alias("begin_principal_cents"),
        pl.col("interest_cents").alias("begin_interest_cents"),
        pl.col("fees_cents").alias("begin_fees_cents"),
        pl.col("charged_off_on").alias("prev_charged_off_on"),
        pl.col("is_active").alias("was_active"),
    )
    active_flags = flags.group_by("account_id").agg(
        pl.col("flag").unique().sort().str.join(";").alias("flags")
    )
    # Accounts with flows but no accounts row (or opened after the period end)
    # still carry balances: keep every id that appears anywhere.
    ids = pl.concat(
        [accounts.select("account_id"), flows.select("account_id"), carried.select("account_id")]
    ).unique()
    frame = (
        ids.join(accounts, on="account_id", how="left")
        .join(flows, on="account_id", how="left")
        .join(carried, on="account_id", how="left")
        .join(active_flags, on="account_id", how="left")
        .join(_one_vehicle_per_account(vehicles_now, "vehicle_id"), on="account_id", how="left")
        .join(
            _one_vehicle_per_account(vehicles_before, "prev_vehicle_id"),
            on="account_id",
            how="left",
        )
    )
    zero_filled = [
        "principal_flow_cents",
        "interest_flow_cents",
        "fees_flow_cents",
        "nonzero_lines",
        "receivable_lines",
        "begin_principal_cents",
        "begin_interest_cents",
        "begin_fees_cents",
        "days_past_due",
        "past_due_cents",
        *[f"{m}_cents" for m in MEASURES if m != "finance_charge_collections"],
    ]
    frame = frame.with_columns(
        [pl.col(c).fill_null(0) for c in zero_filled]
        + [pl.col("was_active").fill_null(False), pl.col("flags").fill_null("")]
    )
    end_of_period = pl.lit(period_end)
    charged_off_on = pl.coalesce("prev_charged_off_on", "chargeoff_on")
    frame = frame.with_columns(
        pl.lit(period_end).alias("period_end"),
        (pl.col("begin_principal_cents") + pl.col("principal_flow_cents")).alias("principal_cents"),
        (pl.col("begin_interest_cents") + pl.col("interest_flow_cents")).alias("interest_cents"),
        (pl.col("begin_fees_cents") + pl.col("fees_flow_cents")).alias("fees_cents"),
        (pl.col("interest_collections_cents") + pl.col("fee_collections_cents")).alias(
            "finance_charge_collections_cents"
        ),
        charged_off_on.alias("charged_off_on"),
        (
            (end_of_period.dt.year() * 12 + end_of_period.dt.month())
            - (pl.col("opened_on").dt.year() * 12 + pl.col("opened_on").dt.month())
        )
        .cast(pl.Int64)
        .alias("months_on_book"),
        (
            (pl.col("prev_charged_off_on").is_not_null() & (pl.col("receivable_lines") > 0))
            | (
                pl.col("chargeoff_on").is_not_null()
                & (pl.col("last_receivable_effective_on") > pl.col("chargeoff_on"))
            )
        )
        .fill_null(False)
        .alias("posted_after_chargeoff"),
    )
    frame = frame.with_columns(
        (pl.col("principal_cents") + pl.col("interest_cents") + pl.col("fees_cents")).alias(
            "total_cents"
        ),
        pl.when(pl.col("charged_off_on").is_not_null())
        .then(pl.lit("CHARGED_OFF"))
        .when(pl.col("closed_on").is_not_null())
        .then(pl.lit("CLOSED"))
        .otherwise(pl.lit("OPEN"))
        .alias("status"),
        dpd_bucket(pl.col("days_past_due"), pl.col("charged_off_on").is_not_null()).alias(
            "delinquency_bucket"
        ),
        (
            (pl.col("principal_cents") != 0)
            | (pl.col("interest_cents") != 0)
            | (pl.col("fees_cents") != 0)
            | (pl.col("nonzero_lines") > 0)
        ).alias("is_active"),
    )
    return frame.select([pl.col(n).cast(t) for n, t in SCHEMA.items()]).sort("account_id")
