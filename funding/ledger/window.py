"""The one pass over a period's window: every posting line of the entries
that newly count at P (sql/window_postings.sql), aggregated here into the
account flows of the snapshot and, from the same lines, into what the
reconciliations need: the GL totals of the window, entries that do not
balance and lines on GL accounts outside the chart.

Reading the window's lines once, through the indexes, is what keeps a
period's cost flat in the ledger's age (no query reads the history).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from funding.ledger.snapshot import GL_ACCOUNTS, MEASURES, RECEIVABLE_GL

LINES_SCHEMA: dict[str, pl.DataType] = {
    "entry_id": pl.Int64(),
    "account_id": pl.Int64(),
    "entry_type": pl.Categorical(),  # few distinct values: compared as codes
    "effective_on": pl.Date(),
    "line_no": pl.Int64(),  # null: an entry without lines
    "gl_account": pl.Categorical(),
    "amount_cents": pl.Int64(),
}

MEASURES_FROM_LINES = [m for m in MEASURES if m != "finance_charge_collections"]

FLOWS_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Int64(),
    "principal_flow_cents": pl.Int64(),
    "interest_flow_cents": pl.Int64(),
    "fees_flow_cents": pl.Int64(),
    **{f"{m}_cents": pl.Int64() for m in MEASURES_FROM_LINES},
    "nonzero_lines": pl.Int64(),
    "chargeoff_on": pl.Date(),
    "receivable_lines": pl.Int64(),
    "last_receivable_effective_on": pl.Date(),
}

PRINCIPAL, INTEREST, FEES = (RECEIVABLE_GL[k] for k in ("principal", "interest", "fees"))
COLLECTIONS = ("PAYMENT", "PAYMENT_REVERSAL")

# (measure, sign, entry types or None for any, GL account): ledger.md, "Measures".
MEASURE_LINES: tuple[tuple[str, int, tuple[str, ...] | None, str], ...] = (
    ("principal_flow", 1, None, PRINCIPAL),
    ("interest_flow", 1, None, INTEREST),
    ("fees_flow", 1, None, FEES),
    ("purchases", 1, ("PURCHASE",), PRINCIPAL),
    ("returns", -1, ("RETURN",), PRINCIPAL),
    ("principal_collections", -1, COLLECTIONS, PRINCIPAL),
    ("interest_collections", -1, COLLECTIONS, INTEREST),
    ("fee_collections", -1, COLLECTIONS, FEES),
    ("interest_billed", 1, ("INTEREST_CHARGE",), INTEREST),
    ("fees_billed", 1, ("FEE_CHARGE",), FEES),
    ("interest_waivers", -1, ("WAIVER",), INTEREST),
    ("fee_waivers", -1, ("WAIVER",), FEES),
    ("chargeoff_principal", -1, ("CHARGE_OFF",), PRINCIPAL),
    ("chargeoff_interest", -1, ("CHARGE_OFF",), INTEREST),
    ("chargeoff_fees", -1, ("CHARGE_OFF",), FEES),
    ("recoveries", 1, ("RECOVERY",), "cash:collections"),
)


# The largest amount one posting line may carry: $100 billion. Anything larger
# is not a card receivable, and amounts near the BIGINT limit would overflow
# the pool's sums.
MAX_LINE_CENTS = 10_000_000_000_000


@dataclass(frozen=True)
class WindowLines:
    """What the window's lines say besides the account flows."""

    gl_totals: dict[str, int]  # net amount per GL account over the window
    unbalanced: pl.DataFrame  # entry_id, account_id, imbalance_cents, lines
    unknown_gl: pl.DataFrame  # entry_id, account_id, line_no, gl_account
    entries: int
    lines: int
    # entry_id, account_id, line_no, amount_cents: lines beyond MAX_LINE_CENTS
    oversized: pl.DataFrame | None = None


def account_flows(lines: pl.DataFrame) -> pl.DataFrame:
    """The period flows per account (ledger.md, "Measures per account and period")."""
    posted = lines.filter(pl.col("line_no").is_not_null())
    amount, gl, kind = pl.col("amount_cents"), pl.col("gl_account"), pl.col("entry_type")
    receivable = gl.is_in(list(RECEIVABLE_GL.values())) & (kind != "CHARGE_OFF") & (amount != 0)

    def measure(sign: int, types: tuple[str, ...] | None, account: str) -> pl.Expr:
        where = gl == account if types is None else (gl == account) & kind.is_in(list(types))
        return pl.when(where).then(amount * sign).otherwise(0).sum()

    return (
        posted.group_by("account_id")
        .agg(
            *(measure(s, t, a).alias(f"{m}_cents") for m, s, t, a in MEASURE_LINES),
            (amount != 0).cast(pl.Int64).sum().alias("nonzero_lines"),
            pl.col("effective_on").filter(kind == "CHARGE_OFF").min().alias("chargeoff_on"),
            receivable.cast(pl.Int64).sum().alias("receivable_lines"),
            pl.col("effective_on").filter(receivable).max().alias("last_receivable_effective_on"),
        )
        .select([pl.col(n).cast(t) for n, t in FLOWS_SCHEMA.items()])
        .sort("account_id")
    )


def window_lines(lines: pl.DataFrame) -> WindowLines:
    """GL totals, unbalanced entries, unknown GL lines and shared idempotency
    keys of the window."""
    posted = lines.filter(pl.col("line_no").is_not_null())
    totals = posted.group_by("gl_account").agg(pl.col("amount_cents").sum())
    per_entry = (
        lines.group_by("entry_id", "account_id")
        .agg(
            pl.col("amount_cents").sum().fill_null(0).alias("imbalance_cents"),
            pl.col("line_no").count().alias("lines"),
        )
        .sort("entry_id")
    )
    return WindowLines(
        gl_totals={str(r["gl_account"]): int(r["amount_cents"]) for r in totals.to_dicts()},
        unbalanced=per_entry.filter((pl.col("imbalance_cents") != 0) | (pl.col("lines") == 0)),
        unknown_gl=posted.filter(~pl.col("gl_account").is_in(list(GL_ACCOUNTS)))
        .select("entry_id", "account_id", "line_no", pl.col("gl_account").cast(pl.String))
        .sort("entry_id", "line_no"),
        entries=per_entry.height,
        lines=posted.height,
        oversized=posted.filter(
            (pl.col("amount_cents") > MAX_LINE_CENTS) | (pl.col("amount_cents") < -MAX_LINE_CENTS)
        )
        .select("entry_id", "account_id", "line_no", "amount_cents")
        .sort("entry_id", "line_no"),
    )
