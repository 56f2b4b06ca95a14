"""Running a suite and reading its result: one `CheckOutcome` per named
check, with the offending rows a person on call needs.

What GX sees is a NumPy-backed pandas copy of the frame plus the helper
columns of `checks.row_rules`; column types are those of the Polars frame,
handed to the column-type expectation as a suite parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import polars as pl

from checks.gx_runtime import FRAME_TYPES_PARAMETER, PERSONAL_COLUMNS_PARAMETER, validate
from checks.outcome import MAX_OFFENDING_ROWS, CheckOutcome, offending_rows
from checks.row_rules import (
    HELPER_LABELS,
    HELPER_PREFIX,
    HELPERS,
    PERSONAL_DATA_PATTERNS,
    string_columns,
    with_helpers,
)

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite

SAMPLE_VALUES = 5


@dataclass(frozen=True)
class _Part:
    """One expectation's result, reduced to what an outcome reports."""

    expectation: str
    columns: tuple[str, ...]
    success: bool
    unexpected: int | None
    rows: int | None
    sample: tuple
    index: tuple[int, ...]
    observed: Any
    mismatched: dict
    mismatched_types: dict
    error: str | None

    @property
    def compared(self) -> bool:
        return self.expectation.startswith("expect_column_pair")

    @property
    def target(self) -> str:
        return (" vs " if self.compared else ", ").join(self.columns) if self.columns else "table"


def _exception_message(info: Any) -> str | None:
    """GX reports an exception flat, or per metric when a metric failed."""
    if not isinstance(info, dict):
        return None
    if "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    messages = [
        v.get("exception_message")
        for v in info.values()
        if isinstance(v, dict) and v.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(m for m in messages if m)) or None


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # a NumPy scalar
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an integer column with nulls arrives in pandas as float
    return value


def _part(result, scales: dict[str, int]) -> _Part:
    config = result.expectation_config
    kwargs = config.kwargs
    if "column" in kwargs:
        columns: tuple[str, ...] = (kwargs["column"],)
    elif "column_A" in kwargs:
        columns = (kwargs["column_A"], kwargs["column_B"])
    else:
        columns = tuple(kwargs.get("column_list") or ())
    r = result.result or {}

    def unscaled(value: Any, column: str) -> Any:
        value = _plain(value)
        if column in scales and isinstance(value, Integral):
            return Decimal(int(value)).scaleb(-scales[column])
        return value

    sample = tuple(
        tuple(unscaled(v, c) for v, c in zip(value, columns, strict=False))
        if isinstance(value, tuple)
        else unscaled(value, columns[0] if columns else "")
        for value in [c["value"] for c in r.get("partial_unexpected_counts", []) if "value" in c]
    )[:SAMPLE_VALUES]
    error = _exception_message(result.exception_info)
    return _Part(
        expectation=config.type,
        columns=columns,
        success=bool(result.success) and error is None,
        unexpected=r.get("unexpected_count"),
        rows=r.get("element_count"),
        sample=sample,
        index=tuple(
            int(i) for i in r.get("partial_unexpected_index_list") or [] if isinstance(i, Real)
        ),
        observed=r.get("observed_value"),
        mismatched=(r.get("details") or {}).get("mismatched") or {},
        mismatched_types=(r.get("details") or {}).get("mismatched_types") or {},
        error=error,
    )


def _show(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, datetime) and value.time() == time(0):
        value = value.date()  # a date column arrives in pandas as datetime64
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    return value if isinstance(value, str) else repr(value)


def _personal_offending(rows: pl.DataFrame, id_column: str) -> list[dict]:
    """Which column holds which kind of value: never the value itself."""
    out = []
    columns = string_columns(rows)
    for row in rows.iter_rows(named=True):
        for column in columns:
            value = row[column]
            kind = value and next(
                (k for k, p in PERSONAL_DATA_PATTERNS.items() if re.search(p, value)), None
            )
            if kind:
                out.append(
                    {
                        "row": row["row"],
                        id_column: row.get(id_column),
                        "column": column,
                        "looks_like": kind,
                    }
                )
    return out


def _reason(part: _Part, meta: dict) -> str:
    if part.error:
        return f"{part.target}: not evaluated ({part.error})"
    if meta.get("personal_data_columns") is not None:
        return f"personal-data columns present: {', '.join(part.mismatched.get('unexpected', []))}"
    if part.mismatched:
        return f"missing columns: {', '.join(part.mismatched.get('missing', []))}"
    if part.mismatched_types:
        return "; ".join(
            f"{column} is {m['observed']}, not {m['expected']}"
            for column, m in part.mismatched_types.items()
        )
    if part.unexpected is None:
        return f"{part.target}: observed {_show(part.observed)}"
    if any(c.startswith(HELPER_PREFIX) and c not in HELPER_LABELS for c in part.columns):
        return f"{part.unexpected} of {part.rows} rows"  # a yes/no helper: the rows say why
    names = (" vs " if part.compared else ", ").join(HELPER_LABELS.get(c, c) for c in part.columns)
    values = f", e.g. {', '.join(_show(v) for v in part.sample)}" if part.sample else ""
    return f"{names}: {part.unexpected} of {part.rows} rows{values}"


def _outcome(
    check: str,
    metas: list[dict],
    parts: list[_Part],
    frame: pl.DataFrame,
    id_column: str,
    label: str,
) -> CheckOutcome:
    meta = metas[0]
    blocking = bool(meta["blocking"])
    expect = meta["expect"]
    failed = [p for p in parts if not p.success]
    row_level = all(p.unexpected is not None for p in parts)
    observed: Any = (
        sum(p.unexpected or 0 for p in parts)
        if row_level
        else {p.target: p.error or p.observed for p in failed}
    )
    details = {
        "expectations": [
            {
                "expectation": p.expectation,
                "column": p.target,
                "success": p.success,
                "unexpected_count": p.unexpected,
                "element_count": p.rows,
                "error": p.error,
            }
            for p in parts
        ]
    }
    if not failed:
        return CheckOutcome(
            check,
            True,
            f"{label}: {check} passed: {expect}"
            + (f" (0 of {parts[0].rows} rows unexpected)" if row_level and parts else ""),
            observed=observed,
            expected=expect,
            blocking=blocking,
            details=details,
        )

    index = sorted({i for p in failed for i in p.index if i < frame.height})[:MAX_OFFENDING_ROWS]
    columns = [id_column]
    for p in parts:
        columns += [c for c in p.columns if not c.startswith(HELPER_PREFIX)]
    for m in metas:
        columns += m["show"]
    columns = [c for c in dict.fromkeys(columns) if c in frame.columns]
    rows = (frame[index] if index else frame.clear()).with_columns(
        pl.Series("row", index, pl.Int64)
    )
    if meta.get("personal_data_values"):
        offending = _personal_offending(rows, id_column)
    else:
        offending = rows.select("row", *columns).to_dicts()

    reasons = [_reason(p, meta) for p in failed]
    if meta.get("personal_data_values") and offending:
        found = dict.fromkeys(f"{r['column']} ({r['looks_like']})" for r in offending)
        reasons.append(f"values that look like personal data in {', '.join(found)}")
    ids = list(dict.fromkeys(r.get(id_column) for r in offending if id_column in r))
    where = f"; {id_column}s {', '.join(_show(i) for i in ids)}" if ids else ""
    severity = "" if blocking else " (warning)"
    return CheckOutcome(
        check,
        False,
        f"{label}: {check} failed{severity}: expected {expect}; {'; '.join(reasons)}{where}",
        observed=observed,
        expected=expect,
        offending=offending_rows(offending),
        blocking=blocking,
        details=details,
    )


def run_suite(
    frame: pl.DataFrame, suite: ExpectationSuite, id_column: str, label: str
) -> list[CheckOutcome]:
    """Validate `frame` against `suite` in one GX call: one outcome per check
    of `suite_checks(suite)`, in that order.

    `id_column` names offending rows (`account_id`; `account_ref` on a tape);
    `label` names vehicle and period in every summary (e.g. "wh1 2025-03")."""
    expectations = list(suite.expectations)
    referenced = [
        value
        for e in expectations
        for key in ("column", "column_A", "column_B")
        if isinstance(value := e.configuration.kwargs.get(key), str) and value in HELPERS
    ]
    own = frame.drop([c for c in frame.columns if c.startswith(HELPER_PREFIX)])
    prepared = with_helpers(own, referenced)
    personal = next(
        (
            e.meta["personal_data_columns"]
            for e in expectations
            if "personal_data_columns" in e.meta
        ),
        [],
    )
    parameters = {
        PERSONAL_COLUMNS_PARAMETER: [c for c in prepared.columns if c not in personal],
        FRAME_TYPES_PARAMETER: {c: str(t) for c, t in prepared.schema.items()},
    }
    result, scales = validate(prepared, suite, parameters)

    checks: dict[str, tuple[list[dict], list[_Part]]] = {}
    for e in expectations:
        checks.setdefault(e.meta["check"], ([], []))[0].append(dict(e.meta))
    for r in result.results:
        checks[r.expectation_config.meta["check"]][1].append(_part(r, scales))
    return [
        _outcome(check, metas, parts, prepared, id_column, label)
        for check, (metas, parts) in checks.items()
    ]
