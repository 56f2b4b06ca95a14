"""Reconciliations of a vehicle's period before publication: the loan tape
to the pool performance figures, and this period's beginning to the last
published ending."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from checks.outcome import CheckOutcome, offending_rows
from funding.outputs.publish.layout import latest_manifest
from funding.period import Period
from funding.storage.objects import ObjectStore

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
    label: str, target: ObjectStore, vehicle_id: str, previous: Period, performance: Mapping
) -> CheckOutcome:
    """This period's beginning equals last period's published ending; when it
    does not, the previous period has changed since it was published and must
    be restated first (nothing is counted twice or lost)."""
    previous_key = previous.key
    manifest = latest_manifest(target, vehicle_id, previous)
    if manifest is None:
        return CheckOutcome(
            "continuity_with_published",
            True,
            f"{label}: no published package for {previous_key} to continue from",
        )
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
