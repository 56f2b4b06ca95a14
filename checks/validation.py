"""Reconciliations and the data quality summary of a vehicle's period (the
gate before publication). Expectation suites live in checks/expectations.py."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import polars as pl

from checks.outcome import CheckOutcome, offending_rows

VALIDATION_CHECKS = (
    (
        "snapshot_expectations",
        "Data-integrity expectations on the pool's snapshot rows (blocking).",
    ),
    ("snapshot_warnings", "Warning expectations on the pool's snapshot rows."),
    ("tape_expectations", "Data-integrity expectations on the loan tape (blocking)."),
    ("tape_warnings", "Warning expectations on the loan tape."),
    ("tape_ties_to_pool_performance", "Loan tape totals equal the pool performance figures."),
    ("continuity_with_published", "Beginning balances equal last period's published ending."),
)


def merge_outcomes(name: str, outcomes: Sequence[CheckOutcome], blocking: bool) -> CheckOutcome:
    """One Dagster check out of a suite's blocking (or warning) expectations:
    the failed ones are listed with their observed values and offending rows."""
    mine = [o for o in outcomes if o.blocking == blocking]
    failed = [o for o in mine if not o.passed]
    if not failed:
        return CheckOutcome(
            name,
            True,
            f"all {len(mine)} expectations met: {', '.join(o.name for o in mine)}",
            blocking=blocking,
        )
    rows = [{"expectation": o.name, **row} for o in failed for row in o.offending]
    return CheckOutcome(
        name,
        False,
        " | ".join(o.summary for o in failed),
        observed={o.name: o.observed for o in failed},
        expected={o.name: o.expected for o in failed},
        offending=offending_rows(rows),
        blocking=blocking,
    )


TIE_OUTS = {
    "account_count": ("account_count", lambda t: t.height),
    "principal_cents": ("ending_principal_cents", lambda t: _cents(t, "principal_balance")),
    "total_receivables_cents": ("ending_total_cents", lambda t: _cents(t, "total_balance")),
    "principal_collections_cents": (
        "principal_collections_cents",
        lambda t: _cents(t, "principal_collections"),
    ),
    "chargeoff_principal_cents": (
        "chargeoff_principal_cents",
        lambda t: _cents(t, "chargeoff_principal"),
    ),
    "recoveries_cents": ("recoveries_cents", lambda t: _cents(t, "recoveries")),
}


def _cents(tape: pl.DataFrame, column: str) -> int:
    total = tape[column].sum()
    return int(total * 100) if total is not None else 0


def tape_ties_to_pool_performance(
    label: str, tape: pl.DataFrame, performance: Mapping
) -> CheckOutcome:
    """The tape's totals equal the pool performance figures the report prints."""
    off = []
    for name, (measure, of_tape) in TIE_OUTS.items():
        tape_value, figure = of_tape(tape), int(performance[measure])
        if tape_value != figure:
            off.append(
                {
                    "total": name,
                    "tape": tape_value,
                    "pool_performance": figure,
                    "difference": tape_value - figure,
                }
            )
    passed = not off
    return CheckOutcome(
        "tape_ties_to_pool_performance",
        passed,
        f"{label}: loan tape totals "
        + ("equal the pool performance figures" if passed else f"differ: {off}"),
        offending=offending_rows(off),
    )


def continuity_with_published(
    label: str, target, vehicle_id: str, previous_key: str, performance: Mapping
) -> CheckOutcome:
    """This period's beginning equals last period's published ending; when it
    does not, the previous period has changed since it was published and must
    be restated first (nothing is counted twice or lost)."""
    latest = target.read(f"{vehicle_id}/{previous_key}/latest.json")
    if latest is None:
        return CheckOutcome(
            "continuity_with_published",
            True,
            f"{label}: no published package for {previous_key} to continue from",
        )
    pointer = json.loads(latest)
    manifest = json.loads(target.read(f"{vehicle_id}/{previous_key}/{pointer['manifest']}"))
    published = manifest["control_totals"]
    pairs = {
        "principal": (performance["beginning_principal_cents"], published["principal_cents"]),
        "total receivables": (
            performance["beginning_total_cents"],
            published["total_receivables_cents"],
        ),
    }
    off = [
        {
            "figure": k,
            "beginning_cents": int(a),
            "published_ending_cents": int(b),
            "published_version": manifest["version"],
        }
        for k, (a, b) in pairs.items()
        if int(a) != int(b)
    ]
    passed = not off
    return CheckOutcome(
        "continuity_with_published",
        passed,
        f"{label}: beginning balances "
        + (
            f"equal the ending of {previous_key} v{manifest['version']} as published"
            if passed
            else f"differ from the ending of {previous_key} v{manifest['version']} as published {off}; "
            f"restate {previous_key} first"
        ),
        offending=offending_rows(off),
    )


def data_quality_summary(outcomes: Sequence[CheckOutcome]) -> pl.DataFrame:
    """check, severity, result, observed, threshold: one row per check."""
    return pl.DataFrame(
        {
            "check": [o.name for o in outcomes],
            "severity": [o.severity for o in outcomes],
            "result": ["passed" if o.passed else "FAILED" for o in outcomes],
            "observed": [_text(o.observed) for o in outcomes],
            "threshold": [_text(o.expected) for o in outcomes],
        },
        schema={
            "check": pl.String,
            "severity": pl.String,
            "result": pl.String,
            "observed": pl.String,
            "threshold": pl.String,
        },
    )


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, sort_keys=True)[:200]
    return str(value)
