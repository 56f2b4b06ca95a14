"""Pool performance of one funding vehicle, or of the whole portfolio, per period.

Everything here reads one receivables snapshot (`funding.snapshot`), which
already holds, per account, the balances at P-1 (`begin_*`), at P, the
period's flows, `is_active`/`was_active` and the designation at both period
ends. So the pool at P and the pool at P-1 both come out of the same frame,
and the roll-forward `end = begin + additions - removals + flows` is an
identity over it, checked to the cent rather than assumed.

Representation:

- Money is integer cents (`int` / Int64). The one exception is
  `average_principal`, (beginning + ending) / 2, kept exact as a `Decimal`
  with at most one decimal place of a cent (never rounded).
- Shares of a total (delinquency %, stratification %) are exact fractions of
  1 in `Decimal(38, 12)`, allocated by largest remainder so that each table's
  shares sum to exactly 1 (each share is within 1e-12 of the true fraction).
  A zero total gives null shares, as a zero denominator gives a null ratio.
- Ratios from `compute_ratios` are kept as strings holding the exact
  `Decimal` it returned (34 significant digits, plain notation, null where a
  denominator is zero). No fixed-scale Polars Decimal can hold every such
  value losslessly; `Decimal(text)` gives the value back exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from funding.ledger.snapshot import DPD_BUCKETS, MEASURES
from funding.performance.ratios import (
    DEFAULT_RATIO_SCHEDULE,
    POOL_MEASURE_NAMES,
    RatioSchedule,
    compute_ratios,
    ratio_definitions_for,
)

# The ratios every report leads with, and whose 3-month averages it shows.
HEADLINE_RATIOS: tuple[str, ...] = (
    "payment_rate",
    "net_chargeoff_rate",
    "portfolio_yield",
    "delinquency_60_plus",
)
RECEIVABLES: tuple[str, ...] = ("principal", "interest", "fees")
# Pool measures that count accounts; every other measure is an amount in cents.
COUNT_MEASURES: tuple[str, ...] = ("account_count", "active_account_count")
SHARE_SCALE = 12

Measures = Mapping[str, int | Decimal]


# ------------------------------------------------------------------ pool membership


def single_period(snapshot: pl.DataFrame, what: str = "snapshot") -> pl.DataFrame:
    """Refuse a frame of several periods: summing two periods' balances is
    a plausible-looking number that means nothing."""
    periods = snapshot["period_end"].n_unique() if snapshot.height else 0
    if periods > 1:
        raise ValueError(f"{what} holds {periods} periods; pass one period's snapshot")
    return snapshot


def with_membership(snapshot: pl.DataFrame, vehicle_id: str | None) -> pl.DataFrame:
    """Add `in_pool` (pool at P) and `in_prev_pool` (pool at P-1).

    ledger.md, "Pool membership at P": the pool is the active accounts
    designated to the vehicle at the period end; `None` (the portfolio) is
    every active account. P-1's pool uses `was_active`/`prev_vehicle_id`, so
    it is exactly the pool the previous period reported.
    """
    now, before = pl.col("is_active"), pl.col("was_active")
    if vehicle_id is not None:
        now = now & (pl.col("vehicle_id") == vehicle_id)
        before = before & (pl.col("prev_vehicle_id") == vehicle_id)
    return snapshot.with_columns(
        now.fill_null(False).alias("in_pool"), before.fill_null(False).alias("in_prev_pool")
    )


# ------------------------------------------------------------------ measures


def _sum_over(column: str, members: pl.Expr, name: str) -> pl.Expr:
    return pl.col(column).filter(members).sum().cast(pl.Int64).alias(name)


def _balance_exprs() -> list[pl.Expr]:
    """Beginning/ending balances and additions/removals, per receivable.

    Additions and removals are taken at their P-1 balances (ledger.md), so
    the pool's beginning balance plus additions less removals is exactly the
    P-1 balance of the accounts in the pool at P.
    """
    now, before = pl.col("in_pool"), pl.col("in_prev_pool")
    exprs = []
    for part in RECEIVABLES:
        begin = f"begin_{part}_cents"
        suffix = "" if part == "principal" else f"_{part}"
        exprs += [
            _sum_over(begin, before, f"beginning_{part}"),
            _sum_over(f"{part}_cents", now, f"ending_{part}"),
            _sum_over(begin, now & ~before, f"additions{suffix}"),
            _sum_over(begin, before & ~now, f"removals{suffix}"),
        ]
    return exprs


def _delinquency_exprs() -> list[pl.Expr]:
    in_pool = pl.col("in_pool")
    return [
        _sum_over("total_cents", in_pool & (pl.col("delinquency_bucket") == b), f"delinquent_{b}")
        for b in DPD_BUCKETS
    ]


def _nonzero_balance() -> pl.Expr:
    """Any receivable non-zero: an overpaid principal offset by fees is still
    a balance the servicer carries, though the total is zero."""
    return pl.any_horizontal(pl.col(f"{part}_cents") != 0 for part in RECEIVABLES)


def pool_measures(snapshot: pl.DataFrame, vehicle_id: str | None) -> dict[str, int | Decimal]:
    """Every pool measure of metrics.md for one vehicle (`None`: portfolio) at P.

    Keys are `POOL_MEASURE_NAMES`, in that order, so the result feeds
    `compute_ratios` directly. Amounts are int cents; `average_principal` is
    an exact Decimal (it can end in half a cent). An empty pool gives zeros.
    """
    frame = with_membership(single_period(snapshot), vehicle_id)
    in_pool = pl.col("in_pool")
    row = frame.select(
        *(_sum_over(f"{m}_cents", in_pool, m) for m in MEASURES),
        *_balance_exprs(),
        *_delinquency_exprs(),
        in_pool.sum().cast(pl.Int64).alias("account_count"),
        (in_pool & _nonzero_balance()).sum().cast(pl.Int64).alias("active_account_count"),
    ).row(0, named=True)
    values: dict[str, Any] = {name: int(value) for name, value in row.items()}
    for when in ("beginning", "ending"):
        values[f"{when}_total"] = sum(values[f"{when}_{part}"] for part in RECEIVABLES)
    # x 5 / 10 instead of / 2: exact whatever the Decimal context's precision.
    both = values["beginning_principal"] + values["ending_principal"]
    values["average_principal"] = Decimal(both * 5).scaleb(-1)
    values["net_chargeoffs"] = values["chargeoff_principal"] - values["recoveries"]
    return {name: values[name] for name in POOL_MEASURE_NAMES}


# ------------------------------------------------------------------ roll-forward

# Per receivable: the measure names filling each roll-forward column ("" = none).
_ROLLFORWARD_LINES: dict[str, dict[str, str]] = {
    "principal": {
        "begin": "beginning_principal",
        "additions": "additions",
        "removals": "removals",
        "billed": "purchases",
        "returns": "returns",
        "collections": "principal_collections",
        "waivers": "",
        "chargeoffs": "chargeoff_principal",
        "end": "ending_principal",
    },
    "interest": {
        "begin": "beginning_interest",
        "additions": "additions_interest",
        "removals": "removals_interest",
        "billed": "interest_billed",
        "returns": "",
        "collections": "interest_collections",
        "waivers": "interest_waivers",
        "chargeoffs": "chargeoff_interest",
        "end": "ending_interest",
    },
    "fees": {
        "begin": "beginning_fees",
        "additions": "additions_fees",
        "removals": "removals_fees",
        "billed": "fees_billed",
        "returns": "",
        "collections": "fee_collections",
        "waivers": "fee_waivers",
        "chargeoffs": "chargeoff_fees",
        "end": "ending_fees",
    },
}


def rollforward_from_measures(measures: Measures) -> pl.DataFrame:
    """The roll-forward table of already computed pool measures."""
    columns = list(_ROLLFORWARD_LINES["principal"])
    rows = [
        [part, *(int(measures[name]) if name else 0 for name in lines.values())]
        for part, lines in _ROLLFORWARD_LINES.items()
    ]
    frame = pl.DataFrame(
        rows,
        schema={"receivable": pl.String, **{f"{c}_cents": pl.Int64 for c in columns}},
        orient="row",
    )
    expected = (
        pl.col("begin_cents")
        + pl.col("additions_cents")
        - pl.col("removals_cents")
        + pl.col("billed_cents")
        - pl.col("returns_cents")
        - pl.col("collections_cents")
        - pl.col("waivers_cents")
        - pl.col("chargeoffs_cents")
    )
    return frame.with_columns((pl.col("end_cents") - expected).alias("difference_cents"))


def pool_rollforward(snapshot: pl.DataFrame, vehicle_id: str | None) -> pl.DataFrame:
    """The pool's roll-forward per receivable, with the difference that must be 0.

    Rows `principal`, `interest`, `fees`; columns `receivable`, `begin_cents`,
    `additions_cents`, `removals_cents`, `billed_cents` (purchases for
    principal, interest/fees billed), `returns_cents` (principal only),
    `collections_cents`, `waivers_cents` (interest and fees only),
    `chargeoffs_cents`, `end_cents`, and `difference_cents` = end minus
    (begin + additions - removals + billed - returns - collections - waivers
    - chargeoffs). A non-zero difference means the snapshot is inconsistent,
    which a blocking check reports; it is shown, not hidden.
    """
    return rollforward_from_measures(pool_measures(snapshot, vehicle_id))


# ------------------------------------------------------------------ exact shares


def _over(expr: pl.Expr, by: Sequence[str]) -> pl.Expr:
    return expr.over(list(by)) if by else expr


def with_shares(
    frame: pl.DataFrame, amount: str, share: str, by: Sequence[str] = ()
) -> pl.DataFrame:
    """Add `share` = `amount` / its total within `by`, as Decimal(38, 12)
    fractions that sum to exactly 1 per group (largest remainder method).

    Each share is the floor of the true fraction in units of 1e-12, and the
    units still missing from 1 go to the rows with the largest remainders
    (ties: the earlier row), so a table never shows 99.999...%. Works for
    negative amounts (credit balances); a zero total gives null shares.
    Integer arithmetic in Int128 throughout: no float, no rounding drift.
    """
    one = 10**SHARE_SCALE
    total = _over(pl.col(amount).cast(pl.Int128).sum(), by)
    sign = pl.when(total < 0).then(-1).otherwise(1).cast(pl.Int128)
    work = frame.with_columns(
        (pl.col(amount).cast(pl.Int128) * sign * one).alias("_num"),
        (total * sign).alias("_den"),
    )
    work = work.with_columns((pl.col("_num") // pl.col("_den")).alias("_floor"))
    work = work.with_columns(
        (pl.col("_num") - pl.col("_floor") * pl.col("_den")).alias("_rem"),
        (one - _over(pl.col("_floor").sum(), by)).alias("_missing"),
    )
    rank = _over(pl.col("_rem").rank("ordinal", descending=True), by)
    units = pl.col("_floor") + (rank <= pl.col("_missing")).cast(pl.Int128)
    return work.with_columns(
        pl.when(pl.col("_den") != 0).then(units_to_decimal(units, SHARE_SCALE)).alias(share)
    ).drop("_num", "_den", "_floor", "_rem", "_missing")


def units_to_decimal(units: pl.Expr, scale: int) -> pl.Expr:
    """An integer count of 10^-scale units as Decimal(38, scale), exactly
    (a product with scale 0 + scale; a division would round)."""
    step = pl.lit(Decimal(1).scaleb(-scale), dtype=pl.Decimal(38, scale))
    return units.cast(pl.Decimal(38, 0)) * step


# ------------------------------------------------------------------ delinquency


def delinquency_table(snapshot: pl.DataFrame, vehicle_id: str | None) -> pl.DataFrame:
    """Delinquency of the pool at P by DPD bucket.

    Columns: `bucket`, `bucket_order` (0 = current ... 8 = charged_off),
    `amount_cents` (total receivables), `account_count`, and
    `pct_of_total_receivables` (Decimal(38, 12) fraction of the pool's total
    receivables; sums to exactly 1; null when that total is zero). Every
    bucket has a row, with zeros where the pool has none.
    """
    pool = with_membership(single_period(snapshot), vehicle_id).filter("in_pool")
    observed = pool.group_by(pl.col("delinquency_bucket").alias("bucket")).agg(
        pl.col("total_cents").sum().cast(pl.Int64).alias("amount_cents"),
        pl.len().cast(pl.Int64).alias("account_count"),
    )
    buckets = pl.DataFrame(
        {"bucket": list(DPD_BUCKETS), "bucket_order": range(len(DPD_BUCKETS))},
        schema={"bucket": pl.String, "bucket_order": pl.Int64},
    )
    unknown = observed.join(buckets, on="bucket", how="anti")
    if unknown.height:
        raise ValueError(f"snapshot has unknown delinquency buckets {unknown['bucket'].to_list()}")
    table = buckets.join(observed, on="bucket", how="left").with_columns(
        pl.col("amount_cents", "account_count").fill_null(0)
    )
    return with_shares(table.sort("bucket_order"), "amount_cents", "pct_of_total_receivables")


# ------------------------------------------------------------------ performance rows


def _column_name(measure: str) -> str:
    return measure if measure in COUNT_MEASURES else f"{measure}_cents"


def measures_from_row(row: Mapping[str, Any]) -> dict[str, int | Decimal]:
    """The pool measures of one `performance_table` row, by measure name."""
    return {
        name: row[_column_name(name)] for name in POOL_MEASURE_NAMES if _column_name(name) in row
    }


def _measure_series(name: str, values: list[Any]) -> pl.Series:
    """Int64 when every value is an int; otherwise an exact Decimal column
    with as many places as the values need (`average_principal`: one)."""
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values if v is not None):
        return pl.Series(name, values, dtype=pl.Int64)
    places = [max(-Decimal(v).as_tuple().exponent, 0) for v in values if v is not None]
    scale = max(places, default=0)
    if scale > 20:
        raise ValueError(f"measure {name!r} has {scale} decimal places; not an amount")
    return pl.Series(name, values, dtype=pl.Decimal(38, scale))


def _ratio_text(value: Decimal | None) -> str | None:
    # Plain notation ('0.00000001', not '1E-8') so Polars' str.to_decimal reads it too.
    return None if value is None else format(value, "f")


def definitions_with_headline_averages(
    schedules: Sequence[RatioSchedule], period_end: date
) -> dict[str, Any]:
    """The vehicle's definitions for the period, plus `<name>_3m_avg` for each
    headline ratio it defines and does not already average itself."""
    definitions: dict[str, Any] = dict(ratio_definitions_for(schedules, period_end))
    for name in HEADLINE_RATIOS:
        average = f"{name}_3m_avg"
        if name in definitions and average not in definitions:
            definitions[average] = {"average_of_last": 3, "ratio": name}
    return definitions


def _check_history(history: Sequence[tuple[date, Measures]]) -> None:
    ends = [period_end for period_end, _ in history]
    if any(later <= earlier for earlier, later in zip(ends, ends[1:], strict=False)):
        raise ValueError(
            "performance history must be in period order, oldest first, one per period"
        )


def performance_table(
    history: Sequence[tuple[date, Measures]],
    schedules: Sequence[RatioSchedule] = (DEFAULT_RATIO_SCHEDULE,),
) -> pl.DataFrame:
    """Measures and ratios of a vehicle, one row per period.

    `history`: (period_end, measures) per closed period, oldest first;
    measures are `pool_measures` output, optionally merged with the
    vehicle's own measures (waterfall amounts) that its ratios name.
    `schedules`: the vehicle's effective-dated ratio definitions (default:
    the portfolio's). Each period's ratios use the definitions in force at
    its period end and the previous periods' ratio values as history, so
    `average_of_last` (and the added `<headline>_3m_avg`) spans periods.

    Columns: `period_end` (Date), `days_in_period` (calendar days of the
    month, for act/365 and act/360), one column per measure (`<name>_cents`
    Int64; `account_count`, `active_account_count` Int64;
    `average_principal_cents` Decimal(38, 1)), then one String column per
    ratio with its exact Decimal text (see module docstring), null where
    the ratio is undefined (zero denominator, not yet three periods, or not
    defined in that period's schedule).
    """
    _check_history(history)
    measure_names: list[str] = []
    ratio_names: list[str] = []
    ratio_rows: list[dict[str, Decimal | None]] = []
    for period_end, measures in history:
        definitions = definitions_with_headline_averages(schedules, period_end)
        ratios = compute_ratios(measures, period_end.day, definitions, history=ratio_rows)
        ratio_rows.append(ratios)
        measure_names += [n for n in measures if n not in measure_names]
        ratio_names += [n for n in ratios if n not in ratio_names]
    columns = [
        pl.Series("period_end", [p for p, _ in history], dtype=pl.Date),
        pl.Series("days_in_period", [p.day for p, _ in history], dtype=pl.Int64),
        *(_measure_series(_column_name(n), [m.get(n) for _, m in history]) for n in measure_names),
        *(
            pl.Series(n, [_ratio_text(r.get(n)) for r in ratio_rows], dtype=pl.String)
            for n in ratio_names
        ),
    ]
    return pl.DataFrame(columns)


def performance_row(
    history: Sequence[tuple[date, Measures]],
    schedules: Sequence[RatioSchedule] = (DEFAULT_RATIO_SCHEDULE,),
) -> pl.DataFrame:
    """The one-row frame of the last period of `history` (the period being
    reported), computed with the earlier periods as ratio history."""
    if not history:
        raise ValueError("performance_row needs at least the reported period's measures")
    return performance_table(history, schedules).tail(1)
