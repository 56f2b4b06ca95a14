"""The validation gate of a vehicle's period: the checks that gate
publication, how a suite's outcomes become one check, and the data quality
summary the report and the manifest carry."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import polars as pl

from checks.outcome import CheckOutcome, offending_rows
from funding.data_quality import GUARD_NAMES
from funding.period import Period
from funding.storage.objects import ObjectStore
from funding.vehicle_config import VehicleConfig

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


GUARD_CHECKS = tuple(
    (g, f"Distribution guard {g} (warns unless listed in blocking_guards).") for g in GUARD_NAMES
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


def data_quality_summary(outcomes: Sequence[CheckOutcome]) -> pl.DataFrame:
    """check, severity, result, observed, threshold, summary (the on-call
    sentence): one row per check."""
    return pl.DataFrame(
        {
            "check": [o.name for o in outcomes],
            "severity": [o.severity for o in outcomes],
            "result": ["passed" if o.passed else "FAILED" for o in outcomes],
            "observed": [_text(o.observed) for o in outcomes],
            "threshold": [_text(o.expected) for o in outcomes],
            "summary": [o.summary for o in outcomes],
        },
        schema={
            "check": pl.String,
            "severity": pl.String,
            "result": pl.String,
            "observed": pl.String,
            "threshold": pl.String,
            "summary": pl.String,
        },
    )


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, sort_keys=True)[:200]
    return str(value)


@dataclass(frozen=True)
class GateResult:
    checks: list[CheckOutcome]  # one per Dagster check of the validation asset
    summary: pl.DataFrame  # the data quality summary: one row per underlying check


def validate_period(
    *,
    label: str,
    pool: pl.DataFrame,
    previous_pool: pl.DataFrame | None,
    tape: pl.DataFrame,
    performance: Mapping,
    config: VehicleConfig,
    published: ObjectStore,
    previous_period: Period,
) -> GateResult:
    """Every check of the gate on one vehicle's period: the suites on the
    pool's snapshot rows and the tape, the reconciliations and the guards."""
    from checks.guards import distribution_guards
    from checks.reconciliations import continuity_with_published, tape_ties_to_pool_performance
    from checks.results import run_suite
    from checks.suites import snapshot_suite, tape_suite

    snapshot_outcomes = run_suite(pool, snapshot_suite(), "account_id", label)
    tape_outcomes = run_suite(
        tape, tape_suite(eligibility=config.eligibility is not None), "account_ref", label
    )
    reconciliations = [
        tape_ties_to_pool_performance(label, tape, performance),
        continuity_with_published(label, published, config.id, previous_period, performance),
    ]
    guards = distribution_guards(pool, previous_pool, config.data_quality, label)
    checks = [
        merge_outcomes("snapshot_expectations", snapshot_outcomes, blocking=True),
        merge_outcomes("snapshot_warnings", snapshot_outcomes, blocking=False),
        merge_outcomes("tape_expectations", tape_outcomes, blocking=True),
        merge_outcomes("tape_warnings", tape_outcomes, blocking=False),
        *reconciliations,
        *guards,
    ]
    summary = data_quality_summary(
        [
            *_prefixed("snapshot", snapshot_outcomes),
            *_prefixed("tape", tape_outcomes),
            *reconciliations,
            *guards,
        ]
    )
    return GateResult(checks, summary)


def _prefixed(prefix: str, outcomes: Sequence[CheckOutcome]) -> list[CheckOutcome]:
    return [replace(o, name=f"{prefix}.{o.name}") for o in outcomes]
