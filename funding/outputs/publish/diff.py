"""The difference between two versions of a package (the `diff` of a
restatement's manifest): loan by loan from the tapes, and figure by figure
from the published figure files, with the headline figures named before and
after so a reader sees what moved, not only which files."""

from __future__ import annotations

import io
from decimal import Decimal

import polars as pl

from funding.outputs.publish.layout import TAPE_PARQUET

FIGURE_FILES = ("pool_performance.parquet", "waterfall.parquet")
CERTIFICATE_FILE = "borrowing_base.parquet"
# The sections whose every changed cell is listed by name; the other changed
# figures (stratifications, vintages, roll rates, trends) are counted.
HEADLINE_SECTIONS = ("pool", "rollforward", "collections", "ratios", "notes", "reserve", "status")


def tape_diff(before: pl.DataFrame, after: pl.DataFrame, examples: int = 10) -> dict:
    """Loan-level differences between two loan tapes, by `account_ref`.

    Accounts added, removed and changed (any column differs), the number of
    changed accounts per column, and per money column the totals before and
    after in integer cents. `examples` account refs of each kind are listed.
    """
    for name, frame in (("before", before), ("after", after)):
        if "account_ref" not in frame.columns:
            raise ValueError(f"the {name} tape has no account_ref column")
    common = [c for c in after.columns if c in before.columns and c != "account_ref"]
    left = before.select("account_ref")
    right = after.select("account_ref")
    added = (
        right.join(left, on="account_ref", how="anti").sort("account_ref").get_column("account_ref")
    )
    removed = (
        left.join(right, on="account_ref", how="anti").sort("account_ref").get_column("account_ref")
    )
    both = after.select("account_ref", *common).join(
        before.select("account_ref", *common), on="account_ref", how="inner", suffix="__before"
    )
    differs = both.select(
        "account_ref", *(pl.col(c).ne_missing(pl.col(f"{c}__before")).alias(c) for c in common)
    )
    if common:
        differs = differs.with_columns(pl.any_horizontal(common).alias("__changed"))
    else:
        differs = differs.with_columns(pl.lit(False).alias("__changed"))
    changed = differs.filter("__changed").sort("account_ref")
    per_column = {
        c: int(changed.get_column(c).sum()) for c in common if int(changed.get_column(c).sum())
    }
    money = sorted(
        {c for c, t in after.schema.items() if isinstance(t, pl.Decimal)}
        | {c for c, t in before.schema.items() if isinstance(t, pl.Decimal)}
    )
    order = {c: i for i, c in enumerate([*after.columns, *before.columns])}
    totals = {}
    for column in sorted(money, key=lambda c: order[c]):
        b = _total_cents(before, column)
        a = _total_cents(after, column)
        totals[column] = {
            "before_cents": b,
            "after_cents": a,
            "change_cents": None if a is None or b is None else a - b,
        }
    return {
        "key": "account_ref",
        "accounts_before": before.height,
        "accounts_after": after.height,
        "accounts_added": added.len(),
        "accounts_removed": removed.len(),
        "accounts_changed": changed.height,
        "changed_columns": per_column,
        "columns_added": [c for c in after.columns if c not in before.columns],
        "columns_removed": [c for c in before.columns if c not in after.columns],
        "examples": {
            "added": added.head(examples).to_list(),
            "removed": removed.head(examples).to_list(),
            "changed": changed.get_column("account_ref").head(examples).to_list(),
        },
        "totals": totals,
    }


def _total_cents(frame: pl.DataFrame, column: str) -> int | None:
    if column not in frame.columns:
        return None
    value = frame.get_column(column).sum()
    cents = Decimal(0 if value is None else value).scaleb(2)
    if cents != cents.to_integral_value():
        raise ValueError(f"{column} does not sum to whole cents")
    return int(cents)


def _cells(data: bytes | None) -> dict[tuple[str, str, str], tuple[str, str, str]]:
    """(section, row, column) -> (title, unit, value as text) of a figure file."""
    if data is None:
        return {}
    frame = pl.read_parquet(io.BytesIO(data))
    if not {"section", "row", "column", "title", "unit"} <= set(frame.columns):
        return {}  # not a figure table
    cells = {}
    for r in frame.iter_rows(named=True):
        value = {"usd": r["amount"], "ratio": r["ratio"], "count": r["count"], "text": r["text"]}[
            r["unit"]
        ]
        cells[(r["section"], r["row"], r["column"])] = (
            r["title"],
            r["unit"],
            "" if value is None else str(value),
        )
    return cells


def _certificate_lines(data: bytes | None) -> dict[str, str]:
    if data is None:
        return {}
    frame = pl.read_parquet(io.BytesIO(data))
    if not {"line", "bucket", "amount"} <= set(frame.columns):
        return {}
    return {
        r["line"]: str(r["amount"])
        for r in frame.iter_rows(named=True)
        if not r["bucket"] and r["amount"] is not None
    }


def figure_changes(
    before_files: dict[str, bytes | None], after_files: dict[str, bytes | None]
) -> dict:
    """The figures that differ between two versions: every changed cell of the
    headline sections and certificate totals by name, before and after; the
    rest counted."""
    changes, others = [], 0
    for name in FIGURE_FILES:
        before, after = _cells(before_files.get(name)), _cells(after_files.get(name))
        for key in sorted(set(before) | set(after)):
            old, new = before.get(key), after.get(key)
            if old is not None and new is not None and old[2] == new[2]:
                continue
            if key[0] not in HEADLINE_SECTIONS:
                others += 1
                continue
            title, unit = (new or old)[:2]
            changes.append(
                {
                    "file": name,
                    "figure": f"{title}, {key[1]}, {key[2]}",
                    "unit": unit,
                    "before": old[2] if old else "",
                    "after": new[2] if new else "",
                }
            )
    before, after = (
        _certificate_lines(before_files.get(CERTIFICATE_FILE)),
        _certificate_lines(after_files.get(CERTIFICATE_FILE)),
    )
    for line in sorted(set(before) | set(after)):
        if before.get(line) != after.get(line):
            changes.append(
                {
                    "file": CERTIFICATE_FILE,
                    "figure": f"Borrowing base certificate, {line.replace('_', ' ')}",
                    "unit": "usd",
                    "before": before.get(line, ""),
                    "after": after.get(line, ""),
                }
            )
    return {"figures_changed": changes, "other_figures_changed": others}


def package_diff(
    before_files: dict[str, bytes | None], after_files: dict[str, bytes | None], compared_with: str
) -> dict:
    figures = figure_changes(before_files, after_files)
    previous, current = before_files.get(TAPE_PARQUET), after_files.get(TAPE_PARQUET)
    if previous is None or current is None:
        which = "previous" if previous is None else "new"
        return {
            "compared_with": compared_with,
            "note": f"no {TAPE_PARQUET} in the {which} version",
            **figures,
        }
    before = pl.read_parquet(io.BytesIO(previous))
    after = pl.read_parquet(io.BytesIO(current))
    return {"compared_with": compared_with, **tape_diff(before, after), **figures}
