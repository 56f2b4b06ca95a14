"""Outcomes as Dagster asset check results, with the rows a person needs."""

from __future__ import annotations

import json
from collections.abc import Sequence

import dagster as dg

from checks.outcome import CheckOutcome
from funding.period import Period


def check_specs(asset_key: dg.AssetKey, checks: Sequence[tuple[str, str]], blocking=True):
    return [
        dg.AssetCheckSpec(name, asset=asset_key, description=text, blocking=blocking)
        for name, text in checks
    ]


def to_check_result(
    outcome: CheckOutcome, asset_key: dg.AssetKey | None = None, period: Period | None = None
) -> dg.AssetCheckResult:
    """The outcome as a check result; its metadata names the period evaluated,
    so a check's history can be read month by month."""
    metadata = {"summary": dg.MetadataValue.text(outcome.summary)}
    if period is not None:
        metadata["period"] = dg.MetadataValue.text(period.key)
    for key, value in (
        ("observed", outcome.observed),
        ("expected", outcome.expected),
        *outcome.details.items(),
    ):
        if value is not None:
            metadata[key] = _metadata_value(value)
    if outcome.offending:
        metadata["offending_rows"] = dg.MetadataValue.json(_jsonable(list(outcome.offending)))
    return dg.AssetCheckResult(
        check_name=outcome.name,
        asset_key=asset_key,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.blocking else dg.AssetCheckSeverity.WARN,
        description=outcome.summary,
        metadata=metadata,
    )


def _metadata_value(value) -> dg.MetadataValue:
    value = _jsonable(value)
    if isinstance(value, dict | list):
        return dg.MetadataValue.json(value)
    return dg.MetadataValue.text(str(value))


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))
