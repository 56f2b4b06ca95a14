"""Portfolio analytics investors expect (metrics.md, "Curves and tables").

Stratifications, roll rates and trends (the vintage curves are
`funding.performance.vintages`), per vehicle (`vehicle_id`) or for the whole
portfolio (`None`). All of it is Polars over snapshot frames: no Python loop
touches an account row.

Representation (same rules as `funding.pool`):

- Money is Int64 cents.
- Shares of a total (`pct_*`) are fractions of 1 (0.25 = 25%, as every
  ratio in metrics.md) in Decimal(38, 12), allocated by largest remainder so
  each table's shares sum to exactly 1; null when the total is zero.
- Curve ratios (vintage rates) are fractions in Decimal(38, 18), computed in
  integer arithmetic and rounded once, half-even, at the 18th place (1e-16
  of a percent: far below anything shown); null on a zero denominator.
- Trends carry the performance table's ratio columns unchanged (exact
  Decimal text, see `funding.pool`).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from funding.ledger.snapshot import DPD_BUCKETS, pool_members
from funding.performance.pool import HEADLINE_RATIOS, single_period, units_to_decimal, with_shares

RATIO_SCALE = 18
MISSING = "missing"
OTHER_STATES = "other"
TOP_STATES = 10

# Bands: (label, inclusive upper bound in the column's unit; None = no bound).
FICO_BANDS = (("<600", 599), ("600-659", 659), ("660-719", 719), ("720-779", 779), ("780+", None))
CREDIT_LIMIT_BANDS = (  # cents
    ("$0.00-$1,000.00", 100_000),
    ("$1,000.01-$2,500.00", 250_000),
    ("$2,500.01-$5,000.00", 500_000),
    ("$5,000.01-$10,000.00", 1_000_000),
    ("$10,000.01-$20,000.00", 2_000_000),
    ("over $20,000.00", None),
)
BALANCE_BANDS = (  # total receivables, cents
    ("credit balance", -1),
    ("zero", 0),
    ("$0.01-$500.00", 50_000),
    ("$500.01-$1,000.00", 100_000),
    ("$1,000.01-$2,500.00", 250_000),
    ("$2,500.01-$5,000.00", 500_000),
    ("$5,000.01-$10,000.00", 1_000_000),
    ("over $10,000.00", None),
)
APR_BANDS = (  # basis points
    ("<15.00%", 1499),
    ("15.00%-19.99%", 1999),
    ("20.00%-24.99%", 2499),
    ("25.00%-29.99%", 2999),
    ("30.00%+", None),
)
MONTHS_ON_BOOK_BANDS = (
    ("0-2", 2),
    ("3-5", 5),
    ("6-11", 11),
    ("12-23", 23),
    ("24-35", 35),
    ("36-59", 59),
    ("60+", None),
)
RISK_GRADES = ("A", "B", "C", "D", "E")

# Delinquency buckets of the vintage curves; `charged_off` counts in none.
BUCKETS_30_PLUS = ("30_59", "60_89", "90_119", "120_149", "150_179", "180_plus")
BUCKETS_60_PLUS = BUCKETS_30_PLUS[1:]
CLOSED_OR_PAID = "closed/paid"
ROLL_TO_STATES = (*DPD_BUCKETS, CLOSED_OR_PAID)


# ------------------------------------------------------------------ exact ratios


def exact_ratio(
    numerator: pl.Expr, denominator: pl.Expr, multiplier: int = 1, scale: int = RATIO_SCALE
) -> pl.Expr:
    """numerator x multiplier / denominator as Decimal(38, scale), rounded
    once half-even; null when the denominator is zero or null.

    Int128 floor division plus an explicit remainder test: Polars' Decimal
    division truncates to the dividend's scale, and float is never used.
    """
    den = denominator.cast(pl.Int128)
    sign = pl.when(den < 0).then(-1).otherwise(1).cast(pl.Int128)
    factor = pl.lit(multiplier * 10**scale, dtype=pl.Int128)
    num = numerator.cast(pl.Int128) * sign * factor
    den = den * sign
    quotient = num // den
    twice_rest = (num - quotient * den) * 2
    round_up = (twice_rest > den) | ((twice_rest == den) & (quotient % 2 != 0))
    units = quotient + round_up.cast(pl.Int128)
    return pl.when(den != 0).then(units_to_decimal(units, scale))


# ------------------------------------------------------------------ stratifications


def _band_label(column: str, bands: Sequence[tuple[str, int | None]]) -> pl.Expr:
    expr = pl.when(pl.col(column).is_null()).then(pl.lit(MISSING))
    for label, upper in bands:
        expr = expr.when(pl.col(column) <= upper) if upper is not None else expr.when(True)
        expr = expr.then(pl.lit(label))
    return expr


def _category_label(column: str) -> pl.Expr:
    return pl.col(column).fill_null(MISSING)


# dimension name -> (snapshot column, bands or categories, whether "missing" is listed)
_BANDED = {
    "origination_fico": ("origination_fico", FICO_BANDS, True),
    "current_fico": ("current_fico", FICO_BANDS, True),
    "credit_limit": ("credit_limit_cents", CREDIT_LIMIT_BANDS, False),
    "balance": ("total_cents", BALANCE_BANDS, False),
    "apr": ("purchase_apr_bps", APR_BANDS, False),
    "months_on_book": ("months_on_book", MONTHS_ON_BOOK_BANDS, False),
}
_CATEGORICAL = {
    "delinquency_bucket": ("delinquency_bucket", DPD_BUCKETS, False),
    "risk_grade": ("risk_grade", RISK_GRADES, True),
}
DIMENSIONS: tuple[str, ...] = (
    "origination_fico",
    "current_fico",
    "credit_limit",
    "balance",
    "apr",
    "months_on_book",
    "state",
    "delinquency_bucket",
    "risk_grade",
)
STRAT_SCHEMA = {
    "dimension": pl.String,
    "dimension_order": pl.Int64,
    "band": pl.String,
    "band_order": pl.Int64,
}


def _listed_bands() -> pl.DataFrame:
    """Every fixed band of every dimension, so a table keeps its shape (a
    band with no accounts shows zeros) and renders in band order. The state
    table always has its `other` row."""
    rows = [("state", OTHER_STATES, TOP_STATES)]
    for dimension, (_, bands, with_missing) in {**_BANDED, **_CATEGORICAL}.items():
        labels = [b[0] if isinstance(b, tuple) else b for b in bands]
        labels += [MISSING] if with_missing else []
        rows += [(dimension, label, i) for i, label in enumerate(labels)]
    return pl.DataFrame(
        rows,
        schema={"dimension": pl.String, "band": pl.String, "band_order": pl.Int64},
        orient="row",
    )


def _long_bands(pool: pl.DataFrame) -> pl.DataFrame:
    """One row per account and dimension: its band label and balance."""
    parts = [
        pool.select(dimension=pl.lit(dimension), band=_band_label(column, bands))
        for dimension, (column, bands, _) in _BANDED.items()
    ]
    parts += [
        pool.select(dimension=pl.lit(dimension), band=_category_label(column))
        for dimension, (column, _, _) in _CATEGORICAL.items()
    ]
    balances = pool.select("total_cents")
    fixed = [part.hstack(balances) for part in parts]
    return pl.concat([*fixed, _state_bands(pool)], how="diagonal_relaxed")


def _state_bands(pool: pl.DataFrame) -> pl.DataFrame:
    """Billing state per account: the ten states with the largest balance
    (ties by code) are bands in that order (`state_order`); the rest are
    `other`, and a null state is `missing` (sorted last)."""
    states = pool.select(pl.col("billing_state").fill_null(MISSING).alias("band"), "total_cents")
    top = (
        states.filter(pl.col("band") != MISSING)
        .group_by("band")
        .agg(pl.col("total_cents").sum())
        .sort(["total_cents", "band"], descending=[True, False])
        .head(TOP_STATES)
        .select("band", pl.int_range(pl.len(), dtype=pl.Int64).alias("state_order"))
    )
    ranked = states.join(top, on="band", how="left")
    other = pl.col("state_order").is_null() & (pl.col("band") != MISSING)
    return ranked.select(
        dimension=pl.lit("state"),
        band=pl.when(other).then(pl.lit(OTHER_STATES)).otherwise("band"),
        total_cents="total_cents",
        state_order=pl.when(pl.col("band") == MISSING)
        .then(pl.lit(TOP_STATES + 1, dtype=pl.Int64))
        .otherwise(pl.col("state_order").fill_null(TOP_STATES)),
    )


def stratifications(snapshot: pl.DataFrame, vehicle_id: str | None) -> pl.DataFrame:
    """The pool at P stratified by each dimension, by count and by balance.

    Long format, one row per dimension and band: `dimension`,
    `dimension_order`, `band`, `band_order` (sort by the two orders to
    render), `account_count`, `balance_cents` (total receivables at P),
    `pct_count`, `pct_balance` (fractions of 1 in Decimal(38, 12), summing
    to exactly 1 per dimension; null when the pool's count or balance is 0).

    Dimensions (`DIMENSIONS`): origination and current FICO, credit limit,
    balance (total receivables), APR, months on book, billing state (top 10
    by balance + `other`), delinquency bucket, risk grade. A null value is
    band `missing`; listed bands with no accounts show zeros; a value outside
    the listed ones (e.g. an unexpected grade) is kept and sorts after them.
    """
    pool = pool_members(single_period(snapshot), vehicle_id)
    observed = (
        _long_bands(pool)
        .group_by("dimension", "band")
        .agg(
            pl.len().cast(pl.Int64).alias("account_count"),
            pl.col("total_cents").sum().cast(pl.Int64).alias("balance_cents"),
            pl.col("state_order").first(),
        )
    )
    table = _listed_bands().join(observed, on=["dimension", "band"], how="full", coalesce=True)
    band_order = pl.coalesce("band_order", "state_order")
    table = (
        table.with_columns(
            band_order.fill_null(band_order.max().over("dimension") + 1).alias("band_order"),
            pl.col("dimension")
            .replace_strict(DIMENSIONS, range(len(DIMENSIONS)), return_dtype=pl.Int64)
            .alias("dimension_order"),
            pl.col("account_count", "balance_cents").fill_null(0),
        )
        .select(*STRAT_SCHEMA, "account_count", "balance_cents")
        .sort("dimension_order", "band_order", "band")
    )
    table = with_shares(table, "account_count", "pct_count", ["dimension"])
    return with_shares(table, "balance_cents", "pct_balance", ["dimension"])


# ------------------------------------------------------------------ roll rates


def _to_state() -> pl.Expr:
    """Where an account of the P-1 pool stands at P: its DPD bucket, or
    `charged_off`, or `closed/paid` when nothing is owed any more (total
    receivables zero or a credit balance) and it was not charged off. A
    closed account that still owes keeps rolling through the buckets."""
    return (
        pl.when(pl.col("to_bucket") == "charged_off")
        .then(pl.lit("charged_off"))
        .when(pl.col("to_total_cents") <= 0)
        .then(pl.lit(CLOSED_OR_PAID))
        .otherwise(pl.col("to_bucket"))
    )


def _roll_grid() -> pl.DataFrame:
    from_buckets = pl.DataFrame(
        {"from_bucket": list(DPD_BUCKETS), "from_order": range(len(DPD_BUCKETS))},
        schema={"from_bucket": pl.String, "from_order": pl.Int64},
    )
    to_states = pl.DataFrame(
        {"to_bucket": list(ROLL_TO_STATES), "to_order": range(len(ROLL_TO_STATES))},
        schema={"to_bucket": pl.String, "to_order": pl.Int64},
    )
    return from_buckets.join(to_states, how="cross")


def roll_rates(
    previous_snapshot: pl.DataFrame, snapshot: pl.DataFrame, vehicle_id: str | None
) -> pl.DataFrame:
    """The transition matrix from the P-1 bucket to the P state.

    The population is the vehicle's pool at P-1 (from `previous_snapshot`,
    the snapshot of P-1); each account is followed to P whether or not it is
    still in the pool, so every row sums to its bucket's P-1 figures (and
    equals the P-1 `delinquent_<bucket>` pool measure). Weights: the
    account's P-1 total receivables (balance) and 1 (count).

    Long format, the full grid (zeros included): `from_bucket`,
    `from_order`, `to_bucket` (a DPD bucket, `charged_off`, `closed/paid`),
    `to_order`, `account_count`, `balance_cents`, `pct_count`,
    `pct_balance` (Decimal(38, 12) fractions of the from-row, summing to
    exactly 1 per row; null for an empty row).
    """
    before, now = single_period(previous_snapshot, "previous_snapshot"), single_period(snapshot)
    if before.height and now.height and before["period_end"].max() >= now["period_end"].min():
        raise ValueError("previous_snapshot must be of an earlier period than snapshot")
    pool = pool_members(before, vehicle_id).select(
        "account_id", pl.col("delinquency_bucket").alias("from_bucket"), "total_cents"
    )
    followed = pool.join(
        now.select(
            "account_id",
            pl.col("delinquency_bucket").alias("to_bucket"),
            pl.col("total_cents").alias("to_total_cents"),
        ),
        on="account_id",
        how="left",
    )
    lost = followed.filter(pl.col("to_bucket").is_null())
    if lost.height:
        raise ValueError(
            f"{lost.height} accounts of the P-1 pool are missing from the P snapshot "
            f"(e.g. account {lost['account_id'][0]}); a snapshot holds every account"
        )
    moves = (
        followed.with_columns(_to_state().alias("to_bucket"))
        .group_by("from_bucket", "to_bucket")
        .agg(
            pl.len().cast(pl.Int64).alias("account_count"),
            pl.col("total_cents").sum().cast(pl.Int64).alias("balance_cents"),
        )
    )
    matrix = (
        _roll_grid()
        .join(moves, on=["from_bucket", "to_bucket"], how="left")
        .with_columns(pl.col("account_count", "balance_cents").fill_null(0))
        .sort("from_order", "to_order")
    )
    matrix = with_shares(matrix, "account_count", "pct_count", ["from_bucket"])
    return with_shares(matrix, "balance_cents", "pct_balance", ["from_bucket"])


# ------------------------------------------------------------------ trends


def trends(performance_history: pl.DataFrame, periods: int = 13) -> pl.DataFrame:
    """The last `periods` periods of the headline ratios and their 3-month
    averages, oldest first, from a performance table (`funding.pool.
    performance_table`): `period_end`, then `<ratio>`, `<ratio>_3m_avg` for
    each of `HEADLINE_RATIOS`, as the table holds them (exact Decimal text).
    A headline ratio the vehicle does not define is an all-null column, so
    every trend table has the same shape.
    """
    if periods < 1:
        raise ValueError(f"periods must be at least 1, got {periods}")
    if performance_history["period_end"].is_duplicated().any():
        raise ValueError("performance history has more than one row for a period")
    names = [n for ratio in HEADLINE_RATIOS for n in (ratio, f"{ratio}_3m_avg")]
    present = set(performance_history.columns)
    return (
        performance_history.sort("period_end")
        .tail(periods)
        .select(
            "period_end",
            *(
                pl.col(n).cast(pl.String) if n in present else pl.lit(None, pl.String).alias(n)
                for n in names
            ),
        )
    )


__all__ = [
    "DIMENSIONS",
    "exact_ratio",
    "roll_rates",
    "stratifications",
    "trends",
]
