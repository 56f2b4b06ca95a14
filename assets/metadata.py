"""Metadata the capital markets team reads in the UI."""

from collections.abc import Mapping
from decimal import Decimal

import dagster as dg
import polars as pl

from funding.money import dollars


def pct(value: str | Decimal | None, places: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{Decimal(value) * 100:.{places}f}%"


def usd(cents: int | None) -> str:
    if cents is None:
        return "n/a"
    return f"{'-' if cents < 0 else ''}${dollars(abs(int(cents)))}"


def markdown_table(
    frame: pl.DataFrame, formats: Mapping[str, callable] | None = None
) -> dg.MetadataValue:
    """A frame as a Markdown table; a cents column shown in dollars is headed
    in dollars (`due_cents` -> `due ($)`), so no column says one unit and shows another."""
    formats = formats or {}
    header = "| " + " | ".join(_heading(c, formats.get(c)) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    lines = [header, rule]
    for row in frame.iter_rows(named=True):
        cells = [formats.get(k, str)(v) if v is not None else "" for k, v in row.items()]
        lines.append("| " + " | ".join(cells) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def _heading(column: str, formatter) -> str:
    if formatter is usd and column.endswith("_cents"):
        return f"{column.removesuffix('_cents')} ($)"
    return column
