"""Published figure tables: the long format of `pool_performance.parquet` and
`waterfall.parquet` in an investor package.

The package layout (outputs.md) has one Parquet file for pool performance and
one for the waterfall, yet the report shows many tables (roll-forward,
ratios, trends, delinquency, stratifications, vintages, roll rates; the
statement, triggers, notes, reserve). Each file therefore holds every figure
of its part of the report, one row per cell, typed by unit, with the order
in which the report lays sections, rows and columns out. The report renders
from these rows only, so every number it shows equals a Parquet figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import polars as pl

UNITS = ("usd", "ratio", "count", "text")
RATIO_SCALE = 12

FIGURE_SCHEMA: dict[str, pl.DataType] = {
    "section": pl.String(),
    "section_order": pl.Int64(),
    "title": pl.String(),
    "row": pl.String(),
    "row_order": pl.Int64(),
    "column": pl.String(),
    "column_order": pl.Int64(),
    "unit": pl.String(),
    "amount": pl.Decimal(18, 2),  # usd
    "ratio": pl.Decimal(38, RATIO_SCALE),  # a fraction of 1 (0.09 = 9%)
    "count": pl.Int64(),
    "text": pl.String(),
}


def cents_to_amount(cents: pl.Expr) -> pl.Expr:
    """Integer cents as an exact DECIMAL(18,2) currency amount (Polars' decimal
    division rounds to the dividend's scale, so multiply by 0.01 instead)."""
    return (cents.cast(pl.Int64).cast(pl.Decimal(38, 2)) * pl.lit(Decimal("0.01"))).cast(
        pl.Decimal(18, 2)
    )


def section_frame(
    section: str,
    section_order: int,
    title: str,
    table: pl.DataFrame,
    row_column: str,
    columns: Mapping[str, tuple[str, str]],
    missing: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """One report table as figure rows.

    `table` is wide: one row per report row, labelled by `row_column`;
    `columns` maps a source column to (displayed column name, unit). Money
    columns are integer cents; ratio columns are exact decimal text or
    Decimal; count columns integers; text columns strings. `missing` maps a
    source column to the text its null values are published as (e.g. "n/a
    (needs 3 months)"), so the reader sees why there is no number.
    """
    missing = missing or {}
    pieces = []
    for column_order, (source, (label, unit)) in enumerate(columns.items(), start=1):
        if unit not in UNITS:
            raise ValueError(f"section {section}: unknown unit {unit!r} for column {source}")
        value = pl.col(source)
        piece = table.select(
            pl.col(row_column).cast(pl.String).alias("row"),
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("row_order"),
            cents_to_amount(value).alias("amount")
            if unit == "usd"
            else pl.lit(None, pl.Decimal(18, 2)).alias("amount"),
            _ratio(value, table.schema[source]).alias("ratio")
            if unit == "ratio"
            else pl.lit(None, pl.Decimal(38, RATIO_SCALE)).alias("ratio"),
            value.cast(pl.Int64).alias("count")
            if unit == "count"
            else pl.lit(None, pl.Int64).alias("count"),
            value.cast(pl.String).alias("text")
            if unit == "text"
            else pl.lit(None, pl.String).alias("text"),
        ).with_columns(
            pl.lit(section).alias("section"),
            pl.lit(section_order, pl.Int64).alias("section_order"),
            pl.lit(title).alias("title"),
            pl.lit(label).alias("column"),
            pl.lit(column_order, pl.Int64).alias("column_order"),
            pl.lit(unit).alias("unit"),
        )
        if source in missing:
            absent = table.select(value.is_null().alias("_absent")).to_series()
            piece = piece.with_columns(
                pl.when(absent).then(pl.lit("text")).otherwise("unit").alias("unit"),
                pl.when(absent).then(pl.lit(missing[source])).otherwise("text").alias("text"),
            )
        pieces.append(piece.select(list(FIGURE_SCHEMA)))
    if not pieces:
        return pl.DataFrame(schema=FIGURE_SCHEMA)
    return pl.concat(pieces).sort("row_order", "column_order")


def _ratio(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String():
        return (
            value.str.to_decimal(scale=RATIO_SCALE + 6)
            .round(RATIO_SCALE)
            .cast(pl.Decimal(38, RATIO_SCALE))
        )
    return (
        value.cast(pl.Decimal(38, RATIO_SCALE + 6))
        .round(RATIO_SCALE)
        .cast(pl.Decimal(38, RATIO_SCALE))
    )


def combine(sections: Sequence[pl.DataFrame]) -> pl.DataFrame:
    frames = [s for s in sections if s.height]
    if not frames:
        return pl.DataFrame(schema=FIGURE_SCHEMA)
    return pl.concat(frames).sort("section_order", "row_order", "column_order")


def format_value(
    unit: str, amount: Decimal | None, ratio: Decimal | None, count: int | None, text: str | None
) -> str:
    """How the report prints a figure; tests parse the HTML back with this."""
    if unit == "usd":
        return "" if amount is None else f"{amount:,.2f}"
    if unit == "ratio":
        if ratio is None:
            return ""
        shown = f"{ratio * 100:.2f}%"
        return "0.00%" if shown == "-0.00%" else shown  # a share that rounds to nothing has no sign
    if unit == "count":
        return "" if count is None else f"{count:,}"
    if unit == "text":
        return text or ""
    raise ValueError(f"unknown unit {unit!r}")
